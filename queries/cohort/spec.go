package cohort

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pophealth/pophealth/models"
)

// Spec is a cohort definition as an analyst writes it in YAML.
type Spec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Codelists maps a name used in the spec to an OpenCodelists CSV file
	// (relative to the spec's folder) and its coding system.
	Codelists map[string]CodelistRef `yaml:"codelists"`
	// StudyPeriod bounds the entry events and the exit.
	StudyPeriod Period `yaml:"study_period"`
	Entry       Entry  `yaml:"entry"`
	// PriorRegistrationDays is how many days before the index date a
	// person must have been registered with their practice.
	PriorRegistrationDays int    `yaml:"prior_registration_days"`
	Inclusion             []Rule `yaml:"inclusion"`
	Exclusion             []Rule `yaml:"exclusion"`
	Exit                  Exit   `yaml:"exit"`

	// dir is where relative code list paths start.
	dir   string
	lists map[string]*Codelist
}

// CodelistRef points at a code list file.
type CodelistRef struct {
	File string `yaml:"file"`
	// System is snomed, icd10 or dmd.
	System string `yaml:"system"`
	// Version is the list's version (OpenCodelists shows it on the list's
	// page); recorded in the audit log of each run for provenance. When
	// empty it comes from the header file (codelists.txt) beside the CSV,
	// if that lists the file.
	Version string `yaml:"version"`
}

// Period is an inclusive date range, YYYY-MM-DD.
type Period struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Entry is the event that puts a person in the cohort and sets the index
// date.
type Entry struct {
	Codelist string `yaml:"codelist"`
	// Table is diagnosis (default for snomed and icd10 lists), medication
	// (default for dmd lists) or observation.
	Table string `yaml:"table"`
	// Occurrence is first (default), latest or all (each occurrence is an
	// index date of its own).
	Occurrence string `yaml:"occurrence"`
}

// Rule is a named inclusion or exclusion rule.
type Rule struct {
	Name      string `yaml:"name"`
	Criterion `yaml:",inline"`
}

// Criterion is a test on one person at their index date. Exactly one of
// the group fields (All, Any, AtLeast/AtMost with Of) or the leaf fields
// (Diagnosis, Medication, Observation, Age, Sex, Practice,
// DeprivationDecile) is set.
type Criterion struct {
	All     []Criterion `yaml:"all"`
	Any     []Criterion `yaml:"any"`
	AtLeast *int        `yaml:"at_least"`
	AtMost  *int        `yaml:"at_most"`
	Of      []Criterion `yaml:"of"`

	Diagnosis   string `yaml:"diagnosis"`
	Medication  string `yaml:"medication"`
	Observation string `yaml:"observation"`
	// Window is in days relative to the index date; default: any time up
	// to and including the index date.
	Window *Window `yaml:"window"`
	// Count bounds the number of matching events (default: at least 1).
	Count *IntRange `yaml:"count"`
	// Value bounds an observation's value; Which says whether the latest
	// value in the window (default) or any value must satisfy it.
	Value *ValueRange `yaml:"value"`
	Which string      `yaml:"which"`

	Age      *IntRange `yaml:"age"`
	Sex      string    `yaml:"sex"`
	Practice []string  `yaml:"practice"`
	// DeprivationDecile bounds the English IMD decile of the person's area
	// (1 most deprived, 10 least; docs/deprivation.md). People whose decile
	// the lake does not know never meet it.
	DeprivationDecile *IntRange `yaml:"deprivation_decile"`
}

// Window is a range of days relative to the index date (negative: before).
type Window struct {
	From *int `yaml:"from"`
	To   *int `yaml:"to"`
}

// IntRange is an inclusive range; a missing bound does not constrain.
type IntRange struct {
	Min *int `yaml:"min"`
	Max *int `yaml:"max"`
}

// ValueRange bounds a value; strict (gt, lt) or inclusive (gte, lte).
type ValueRange struct {
	GT  *float64 `yaml:"gt"`
	GTE *float64 `yaml:"gte"`
	LT  *float64 `yaml:"lt"`
	LTE *float64 `yaml:"lte"`
}

// Exit says when follow-up ends: the earliest of the end of the study,
// death (when Death is true), the end of registration (when
// EndOfRegistration is true) and the index date plus OffsetDays.
type Exit struct {
	Death      bool `yaml:"death"`
	OffsetDays *int `yaml:"offset_days"`
	// EndOfRegistration ends follow-up on the day the registration
	// ended (the GP extract's deregistration_date), when it has.
	EndOfRegistration bool `yaml:"end_of_registration"`
}

// Load reads a spec and its code lists. Unknown YAML keys are errors, so a
// misspelt field cannot silently be ignored.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cohort: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("cohort: %s: %w", path, err)
	}
	s.dir = filepath.Dir(path)
	if err := s.loadCodelists(); err != nil {
		return nil, fmt.Errorf("cohort: %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a spec without loading its code lists.
func Parse(b []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty spec")
		}
		return nil, err
	}
	return &s, nil
}

func (s *Spec) loadCodelists() error {
	s.lists = map[string]*Codelist{}
	headers := map[string]map[string]string{} // directory -> header file
	for name, ref := range s.Codelists {
		if ref.File == "" {
			return fmt.Errorf("code list %s: no file", name)
		}
		path := ref.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.dir, path)
		}
		cl, err := ReadCodelistFile(path, ref.System)
		if err != nil {
			return fmt.Errorf("code list %s: %w", name, err)
		}
		dir := filepath.Dir(path)
		if headers[dir] == nil {
			if headers[dir], err = readHeader(dir); err != nil {
				return fmt.Errorf("code list %s: %w", name, err)
			}
		}
		cl.HeaderVersion = headers[dir][strings.TrimSuffix(filepath.Base(path), ".csv")]
		s.lists[name] = cl
	}
	return nil
}

// ListVersions returns each code list's version: the spec's, else the
// header file's, else "".
func (s *Spec) ListVersions() map[string]string {
	out := map[string]string{}
	for name, ref := range s.Codelists {
		out[name] = ref.Version
		if cl := s.lists[name]; ref.Version == "" && cl != nil {
			out[name] = cl.HeaderVersion
		}
	}
	return out
}

// SetCodelist attaches a code list by name (for specs built in code or
// tests).
func (s *Spec) SetCodelist(name string, cl *Codelist) {
	if s.lists == nil {
		s.lists = map[string]*Codelist{}
	}
	s.lists[name] = cl
}

func (s *Spec) period() (models.Date, models.Date, error) {
	start, err := models.ParseDate(s.StudyPeriod.Start)
	if err != nil {
		return 0, 0, fmt.Errorf("study_period.start: %w", err)
	}
	end, err := models.ParseDate(s.StudyPeriod.End)
	if err != nil {
		return 0, 0, fmt.Errorf("study_period.end: %w", err)
	}
	return start, end, nil
}
