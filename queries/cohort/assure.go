package cohort

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

// Timelines are hand-written patients with the membership a spec should
// give them: assurance tests in the manner of ehrQL's.
type Timelines struct {
	Patients []Patient `yaml:"patients"`
}

// Patient is one made-up person. Codes are written "system:code"
// (snomed:44054006, icd10:E11.9, dmd:325278002).
type Patient struct {
	ID             string `yaml:"id"`
	Sex            string `yaml:"sex"`
	Born           string `yaml:"born"` // YYYY-MM
	Practice       string `yaml:"practice"`
	RegisteredFrom string `yaml:"registered_from"`
	RegisteredTo   string `yaml:"registered_to"`
	Died           string `yaml:"died"` // YYYY-MM
	// DeprivationDecile is the IMD decile of the patient's area (1-10).
	DeprivationDecile int8    `yaml:"deprivation_decile"`
	Events            []Event `yaml:"events"`
	Expect            Expect  `yaml:"expect"`
}

// Event is one coded record of a timeline; exactly one of Diagnosis,
// Observation and Medication is set.
type Event struct {
	Date        string   `yaml:"date"`
	Diagnosis   string   `yaml:"diagnosis"`
	Observation string   `yaml:"observation"`
	Medication  string   `yaml:"medication"`
	Value       *float64 `yaml:"value"`
}

// Expect is what the spec should say about the patient.
type Expect struct {
	Member    bool   `yaml:"member"`
	IndexDate string `yaml:"index_date"`
	ExitDate  string `yaml:"exit_date"`
}

// Outcome is the verdict on one patient.
type Outcome struct {
	ID     string
	Pass   bool
	Detail string
}

// ParseTimelines decodes a timelines file, refusing unknown keys.
func ParseTimelines(b []byte) (*Timelines, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var t Timelines
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("cohort: timelines: %w", err)
	}
	seen := map[string]bool{}
	for i, p := range t.Patients {
		if p.ID == "" || seen[p.ID] {
			return nil, fmt.Errorf("cohort: timelines: patient %d: id %q empty or repeated", i+1, p.ID)
		}
		seen[p.ID] = true
	}
	return &t, nil
}

// Assure writes the timelines into a new lake in a temporary folder, runs
// the compiled spec on it with the real engine and compares each patient's
// membership (and index and exit dates where given) with the expectation.
func Assure(ctx context.Context, q *Query, t *Timelines) ([]Outcome, error) {
	dir, err := os.MkdirTemp("", "pophealth-cohort-test-")
	if err != nil {
		return nil, fmt.Errorf("cohort: %w", err)
	}
	defer os.RemoveAll(dir)
	l, err := lake.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cohort: %w", err)
	}
	if err := writeTimelines(l, t); err != nil {
		return nil, err
	}
	eng, err := queries.Open(ctx, l)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	members, err := Members(ctx, eng, q)
	if err != nil {
		return nil, err
	}
	got := map[string][]Member{}
	for _, m := range members {
		got[m.PersonKey] = append(got[m.PersonKey], m)
	}
	var out []Outcome
	for _, p := range t.Patients {
		o := Outcome{ID: p.ID, Pass: true}
		ms := got[p.ID]
		var problems []string
		if (len(ms) > 0) != p.Expect.Member {
			problems = append(problems, fmt.Sprintf("member %v, want %v", len(ms) > 0, p.Expect.Member))
		}
		if p.Expect.IndexDate != "" || p.Expect.ExitDate != "" {
			var idx, exit []string
			for _, m := range ms {
				idx = append(idx, m.IndexDate.String())
				exit = append(exit, m.ExitDate.String())
			}
			if p.Expect.IndexDate != "" && strings.Join(idx, ",") != p.Expect.IndexDate {
				problems = append(problems, fmt.Sprintf("index date %s, want %s", strings.Join(idx, ","), p.Expect.IndexDate))
			}
			if p.Expect.ExitDate != "" && strings.Join(exit, ",") != p.Expect.ExitDate {
				problems = append(problems, fmt.Sprintf("exit date %s, want %s", strings.Join(exit, ","), p.Expect.ExitDate))
			}
		}
		if len(problems) > 0 {
			o.Pass, o.Detail = false, strings.Join(problems, "; ")
		}
		out = append(out, o)
	}
	return out, nil
}

func writeTimelines(l *lake.Lake, t *Timelines) error {
	b, err := l.Begin("cohort-test")
	if err != nil {
		return fmt.Errorf("cohort: %w", err)
	}
	fail := func(p Patient, err error) error {
		_ = b.Abort()
		return fmt.Errorf("cohort: timelines: patient %s: %w", p.ID, err)
	}
	for _, p := range t.Patients {
		row := models.PersonRow{PersonKey: p.ID, Source: string(models.FeedGP), BatchID: "cohort-test", Sex: p.Sex,
			PracticeCode: p.Practice, NHSNumberStatus: "verified"}
		if row.Sex == "" {
			row.Sex = "unknown"
		}
		if p.Born != "" {
			d, err := models.ParseDate(p.Born + "-01")
			if err != nil {
				return fail(p, fmt.Errorf("born: %w", err))
			}
			row.YearOfBirth, row.MonthOfBirth = int16(d.Year()), int8(d.Month())
		}
		if p.RegisteredFrom != "" {
			d, err := models.ParseDate(p.RegisteredFrom)
			if err != nil {
				return fail(p, fmt.Errorf("registered_from: %w", err))
			}
			row.RegisteredFrom = &d
		}
		if p.RegisteredTo != "" {
			d, err := models.ParseDate(p.RegisteredTo)
			if err != nil {
				return fail(p, fmt.Errorf("registered_to: %w", err))
			}
			row.RegisteredTo = &d
		}
		if p.DeprivationDecile < 0 || p.DeprivationDecile > 10 {
			return fail(p, fmt.Errorf("deprivation_decile %d: want 1-10", p.DeprivationDecile))
		}
		row.DeprivationDecile = p.DeprivationDecile
		if p.Died != "" {
			d, err := models.ParseDate(p.Died + "-01")
			if err != nil {
				return fail(p, fmt.Errorf("died: %w", err))
			}
			row.DeathMonth = &d
		}
		if err := lake.Append(b, lake.PseudoDir(models.TablePerson, models.FeedGP, nil), row); err != nil {
			return fail(p, err)
		}
		for i, e := range p.Events {
			if err := appendEvent(b, p.ID, e); err != nil {
				return fail(p, fmt.Errorf("event %d: %w", i+1, err))
			}
		}
	}
	if err := b.Commit(lake.Manifest{}); err != nil {
		return fmt.Errorf("cohort: %w", err)
	}
	return nil
}

func appendEvent(b *lake.Batch, key string, e Event) error {
	d, err := models.ParseDate(e.Date)
	if err != nil {
		return fmt.Errorf("date: %w", err)
	}
	var table, code string
	switch {
	case e.Diagnosis != "" && e.Observation == "" && e.Medication == "":
		table, code = "diagnosis", e.Diagnosis
	case e.Observation != "" && e.Diagnosis == "" && e.Medication == "":
		table, code = "observation", e.Observation
	case e.Medication != "" && e.Diagnosis == "" && e.Observation == "":
		table, code = "medication", e.Medication
	default:
		return fmt.Errorf("set exactly one of diagnosis, observation, medication")
	}
	system, c, ok := strings.Cut(code, ":")
	if !ok || (system != SNOMED && system != ICD10 && system != DMD) {
		return fmt.Errorf("code %q: write system:code with system snomed, icd10 or dmd", code)
	}
	feed := models.FeedGP
	if system == ICD10 {
		feed = models.FeedHL7
	}
	switch table {
	case "diagnosis":
		return lake.Append(b, lake.PseudoDir(models.TableDiagnosis, feed, &d),
			models.DiagnosisRow{PersonKey: key, Source: string(feed), BatchID: "cohort-test", CodeSystem: system, Code: c, RecordedDate: &d})
	case "observation":
		return lake.Append(b, lake.PseudoDir(models.TableObservation, feed, &d),
			models.ObservationRow{PersonKey: key, Source: string(feed), BatchID: "cohort-test", CodeSystem: system, Code: c, Value: e.Value, EffectiveDate: &d})
	default:
		return lake.Append(b, lake.PseudoDir(models.TableMedication, feed, &d),
			models.MedicationRow{PersonKey: key, Source: string(feed), BatchID: "cohort-test", CodeSystem: system, Code: c, AuthoredDate: &d})
	}
}
