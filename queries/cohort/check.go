package cohort

import (
	"fmt"
	"math"
	"slices"
)

// Problem is one finding of Check.
type Problem struct {
	// Error is true when the spec cannot run as written; otherwise the
	// finding is a warning (it runs, but probably not as meant).
	Error   bool   `json:"error"`
	Where   string `json:"where"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	level := "warning"
	if p.Error {
		level = "error"
	}
	return fmt.Sprintf("%s: %s: %s", level, p.Where, p.Message)
}

// Check reports what is wrong with a loaded spec before anything runs:
// empty or malformed code lists, missing exit, contradictory or vacuous
// rules.
func Check(s *Spec) []Problem {
	var ps []Problem
	add := func(isErr bool, where, format string, args ...any) {
		ps = append(ps, Problem{Error: isErr, Where: where, Message: fmt.Sprintf(format, args...)})
	}
	if s.Name == "" {
		add(false, "name", "the spec has no name")
	}
	if start, end, err := s.period(); err != nil {
		add(true, "study_period", "%v", err)
	} else if end < start {
		add(true, "study_period", "ends (%s) before it starts (%s)", end, start)
	}
	used := map[string]bool{}
	for name, ref := range s.Codelists {
		cl := s.lists[name]
		where := "codelists." + name
		if cl == nil {
			add(true, where, "not loaded")
			continue
		}
		if ref.System != cl.System {
			add(true, where, "system %q does not match the loaded list's %q", ref.System, cl.System)
		}
		if len(cl.Codes) == 0 {
			add(false, where, "empty code list: criteria using it never match")
		}
		if len(cl.Invalid) > 0 {
			add(false, where, "%d codes are not %s codes and are ignored: %v", len(cl.Invalid), cl.System, head(cl.Invalid, 5))
		}
		if len(cl.Unverified) > 0 {
			add(false, where, "%d codes fail the SNOMED CT check digit or are not concept ids (unknown codes, kept): %v",
				len(cl.Unverified), head(cl.Unverified, 5))
		}
		switch {
		case ref.Version == "" && cl.HeaderVersion == "":
			add(false, where, "no version recorded (in the spec or in %s beside the file)", HeaderFile)
		case ref.Version != "" && cl.HeaderVersion != "" && ref.Version != cl.HeaderVersion:
			add(true, where, "version %q in the spec, %q in %s: which list was downloaded?", ref.Version, cl.HeaderVersion, HeaderFile)
		}
	}
	if s.Entry.Codelist == "" {
		add(true, "entry", "no entry code list")
	} else {
		used[s.Entry.Codelist] = true
		if s.lists[s.Entry.Codelist] == nil {
			add(true, "entry.codelist", "unknown code list %q", s.Entry.Codelist)
		}
	}
	if !slices.Contains([]string{"", "first", "latest", "all"}, s.Entry.Occurrence) {
		add(true, "entry.occurrence", "%q: want first, latest or all", s.Entry.Occurrence)
	}
	if !slices.Contains([]string{"", "diagnosis", "medication", "observation"}, s.Entry.Table) {
		add(true, "entry.table", "%q: want diagnosis, medication or observation", s.Entry.Table)
	}
	if s.PriorRegistrationDays < 0 {
		add(true, "prior_registration_days", "negative")
	}
	if !s.Exit.Death && s.Exit.OffsetDays == nil && !s.Exit.EndOfRegistration {
		add(false, "exit", "no exit: follow-up of everyone runs to the end of the study, through death")
	}
	if s.Exit.OffsetDays != nil && *s.Exit.OffsetDays < 0 {
		add(true, "exit.offset_days", "negative")
	}
	names := map[string]bool{}
	for _, group := range []struct {
		label string
		rules []Rule
	}{{"inclusion", s.Inclusion}, {"exclusion", s.Exclusion}} {
		for i, r := range group.rules {
			where := fmt.Sprintf("%s[%d]", group.label, i+1)
			if r.Name == "" {
				add(false, where, "rule has no name (attrition tables show rules by name)")
			} else {
				where += " " + r.Name
				if names[r.Name] {
					add(false, where, "rule name used twice")
				}
				names[r.Name] = true
			}
			checkCriterion(s, r.Criterion, where, used, add)
		}
	}
	var all []Criterion
	for _, r := range s.Inclusion {
		all = append(all, r.Criterion)
	}
	checkContradictions(all, "inclusion", add)
	for name := range s.Codelists {
		if !used[name] {
			add(false, "codelists."+name, "defined but not used")
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Error != b.Error {
			if a.Error {
				return -1
			}
			return 1
		}
		return 0
	})
	return ps
}

func head(xs []string, n int) []string { return xs[:min(n, len(xs))] }

func checkCriterion(s *Spec, k Criterion, where string, used map[string]bool, add func(bool, string, string, ...any)) {
	kind, err := kindOf(k)
	if err != nil {
		add(true, where, "%v", err)
		return
	}
	checkRange := func(field string, r *IntRange) {
		if r != nil && r.Min != nil && r.Max != nil && *r.Min > *r.Max {
			add(true, where, "%s: min %d > max %d: never true", field, *r.Min, *r.Max)
		}
	}
	switch kind {
	case "all", "any":
		items := k.All
		if kind == "any" {
			items = k.Any
		}
		if len(items) == 0 {
			add(true, where, "%s: empty group", kind)
		}
		for i, it := range items {
			checkCriterion(s, it, fmt.Sprintf("%s.%s[%d]", where, kind, i+1), used, add)
		}
		if kind == "all" {
			checkContradictions(items, where, add)
		}
	case "at_least", "at_most":
		n := len(k.Of)
		if n == 0 {
			add(true, where, "%s: empty of", kind)
		}
		if k.AtLeast != nil && *k.AtLeast > n {
			add(true, where, "at_least %d of %d criteria: never true", *k.AtLeast, n)
		}
		if k.AtLeast != nil && *k.AtLeast <= 0 {
			add(false, where, "at_least %d: always true", *k.AtLeast)
		}
		if k.AtMost != nil && *k.AtMost < 0 {
			add(true, where, "at_most %d: never true", *k.AtMost)
		}
		if k.AtMost != nil && *k.AtMost >= n {
			add(false, where, "at_most %d of %d criteria: always true", *k.AtMost, n)
		}
		for i, it := range k.Of {
			checkCriterion(s, it, fmt.Sprintf("%s.of[%d]", where, i+1), used, add)
		}
	case "diagnosis", "medication", "observation":
		name := k.Diagnosis + k.Medication + k.Observation
		used[name] = true
		cl := s.lists[name]
		if cl == nil {
			add(true, where, "unknown code list %q", name)
		} else if kind == "medication" && cl.System != DMD {
			add(false, where, "medication criterion with a %s code list", cl.System)
		} else if kind != "medication" && cl.System == DMD {
			add(false, where, "%s criterion with a dm+d code list", kind)
		}
		if k.Window != nil && k.Window.From != nil && k.Window.To != nil && *k.Window.From > *k.Window.To {
			add(true, where, "window from %d is after to %d: never true", *k.Window.From, *k.Window.To)
		}
		checkRange("count", k.Count)
		if k.Count != nil && k.Count.Max != nil && *k.Count.Max < 1 && (k.Count.Min == nil || *k.Count.Min <= 0) {
			add(false, where, "count max %d: true only when the code is absent (an exclusion may say this more clearly)", *k.Count.Max)
		}
		if k.Value != nil {
			if kind != "observation" {
				add(true, where, "value: only observations carry values")
			}
			lo, hi := math.Inf(-1), math.Inf(1)
			loStrict, hiStrict := false, false
			if k.Value.GT != nil {
				lo, loStrict = *k.Value.GT, true
			}
			if k.Value.GTE != nil && *k.Value.GTE > lo {
				lo, loStrict = *k.Value.GTE, false
			}
			if k.Value.LT != nil {
				hi, hiStrict = *k.Value.LT, true
			}
			if k.Value.LTE != nil && *k.Value.LTE < hi {
				hi, hiStrict = *k.Value.LTE, false
			}
			if lo > hi || (lo == hi && (loStrict || hiStrict)) {
				add(true, where, "value range is empty: never true")
			}
			if k.Value.GT == nil && k.Value.GTE == nil && k.Value.LT == nil && k.Value.LTE == nil {
				add(false, where, "value has no bound")
			}
			if k.Count != nil && (k.Which == "" || k.Which == "latest") {
				add(false, where, "count is ignored when the latest value is tested")
			}
		}
		if k.Which != "" && k.Value == nil {
			add(false, where, "which without value is ignored")
		}
		if k.Which != "" && k.Which != "latest" && k.Which != "any" {
			add(true, where, "which %q: want latest or any", k.Which)
		}
	case "age":
		checkRange("age", k.Age)
	case "sex":
		if !slices.Contains([]string{"female", "male", "other", "unknown"}, k.Sex) {
			add(true, where, "sex %q: want female, male, other or unknown", k.Sex)
		}
	case "practice":
		if len(k.Practice) == 0 {
			add(true, where, "practice: empty list")
		}
	case "deprivation_decile":
		checkRange("deprivation_decile", k.DeprivationDecile)
		if err := checkDecile(k.DeprivationDecile); err != nil {
			add(true, where, "%v", err)
		}
	}
}

// checkContradictions finds leaves of one ALL group that cannot hold
// together: two different sexes, or age ranges that do not overlap.
func checkContradictions(items []Criterion, where string, add func(bool, string, string, ...any)) {
	sexes := map[string]bool{}
	lo, hi := math.MinInt, math.MaxInt
	for _, it := range items {
		if it.Sex != "" {
			sexes[it.Sex] = true
		}
		if it.Age != nil {
			if it.Age.Min != nil {
				lo = max(lo, *it.Age.Min)
			}
			if it.Age.Max != nil {
				hi = min(hi, *it.Age.Max)
			}
		}
	}
	if len(sexes) > 1 {
		add(true, where, "all: requires more than one sex: never true")
	}
	if lo > hi {
		add(true, where, "all: age ranges do not overlap (%d > %d): never true", lo, hi)
	}
}
