package synth

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/pophealth/pophealth/models"
)

// MaxPeople is the largest population Generate accepts. NHS numbers are
// drawn from ranges starting 999, 998, ... (never issued to patients), and
// each range holds about 909,000 valid numbers.
const MaxPeople = 5_000_000

// Options configures Generate. The zero value is not useful; start from
// DefaultOptions and change what you need.
//
// The dirt shares are probabilities in [0, 1]. MissingNHS, WrongNHS and
// NameVariant apply to each person's record in each non-GP feed (the
// community trust's FHIR Patient and the hospital's PAS record behind every
// HL7 message); MovedPostcode applies to each person; Malformed applies to
// each record (line or message) of every feed file.
type Options struct {
	// People is the size of the registered population.
	People int
	// Seed selects the population: the same Seed and Options give
	// byte-identical output.
	Seed uint64
	// OutDir is the directory the feeds are written under.
	OutDir string
	// Start and End bound the study period (inclusive). Events are dated
	// within it; diagnoses may be older.
	Start, End models.Date

	MissingNHS    float64 // record without an NHS number
	WrongNHS      float64 // record with a mistyped or mis-selected NHS number
	NameVariant   float64 // record with a nickname, a typo or a surname variant
	MovedPostcode float64 // person who moved house: one feed has the old postcode
	Malformed     float64 // line or message deliberately broken

	// Workers is the number of goroutines generating people; 0 means
	// GOMAXPROCS. It does not change the output.
	Workers int
}

// DefaultOptions returns the options of "pophealth synth" without flags:
// 10,000 people, seed 1, the study period 2023-04-01 to 2026-03-31 (three
// NHS financial years) and modest dirt.
func DefaultOptions() Options {
	return Options{
		People:        10_000,
		Seed:          1,
		OutDir:        "feeds",
		Start:         models.NewDate(2023, time.April, 1),
		End:           models.NewDate(2026, time.March, 31),
		MissingNHS:    0.05,
		WrongNHS:      0.01,
		NameVariant:   0.05,
		MovedPostcode: 0.05,
		Malformed:     0.001,
	}
}

// validate checks o and fills in Workers.
func (o *Options) validate() error {
	var problems []string
	if o.People < 1 || o.People > MaxPeople {
		problems = append(problems, fmt.Sprintf("people %d: want 1 to %d", o.People, MaxPeople))
	}
	if o.OutDir == "" {
		problems = append(problems, "output directory is empty")
	}
	if o.End <= o.Start {
		problems = append(problems, fmt.Sprintf("study period %s to %s is empty", o.Start, o.End))
	}
	for _, s := range []struct {
		name  string
		share float64
	}{
		{"missing NHS number", o.MissingNHS},
		{"wrong NHS number", o.WrongNHS},
		{"name variant", o.NameVariant},
		{"moved postcode", o.MovedPostcode},
		{"malformed", o.Malformed},
	} {
		if !(s.share >= 0 && s.share <= 1) {
			problems = append(problems, fmt.Sprintf("%s share %v: want 0 to 1", s.name, s.share))
		}
	}
	if o.MissingNHS+o.WrongNHS > 1 {
		problems = append(problems, fmt.Sprintf("missing %v and wrong %v NHS number shares add up to more than 1", o.MissingNHS, o.WrongNHS))
	}
	if o.Workers < 0 {
		problems = append(problems, fmt.Sprintf("workers %d: want 0 or more", o.Workers))
	}
	if len(problems) > 0 {
		return fmt.Errorf("synth: invalid options: %s", strings.Join(problems, "; "))
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// optionsJSON is the JSON form of Options. OutDir and Workers are left
// out: they do not change the data, and synth.json must not differ between
// two runs that produce the same feeds.
type optionsJSON struct {
	People        int     `json:"people"`
	Seed          uint64  `json:"seed"`
	Start         string  `json:"start"`
	End           string  `json:"end"`
	MissingNHS    float64 `json:"missing_nhs"`
	WrongNHS      float64 `json:"wrong_nhs"`
	NameVariant   float64 `json:"name_variant"`
	MovedPostcode float64 `json:"moved_postcode"`
	Malformed     float64 `json:"malformed"`
}

// MarshalJSON writes the options that determine the output, with dates as
// YYYY-MM-DD.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{
		People: o.People, Seed: o.Seed,
		Start: o.Start.String(), End: o.End.String(),
		MissingNHS: o.MissingNHS, WrongNHS: o.WrongNHS, NameVariant: o.NameVariant,
		MovedPostcode: o.MovedPostcode, Malformed: o.Malformed,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (o *Options) UnmarshalJSON(data []byte) error {
	var j optionsJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	start, err := models.ParseDate(j.Start)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	end, err := models.ParseDate(j.End)
	if err != nil {
		return fmt.Errorf("end: %w", err)
	}
	*o = Options{
		People: j.People, Seed: j.Seed, Start: start, End: end,
		MissingNHS: j.MissingNHS, WrongNHS: j.WrongNHS, NameVariant: j.NameVariant,
		MovedPostcode: j.MovedPostcode, Malformed: j.Malformed,
	}
	return nil
}
