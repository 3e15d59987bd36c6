package codelists

import (
	"testing"

	"github.com/pophealth/pophealth/models"
)

func TestEmbeddedListsParse(t *testing.T) {
	ltc := LongTermConditions()
	conditions := map[string]map[models.CodeSystem]bool{}
	for _, e := range ltc {
		if conditions[e.Name] == nil {
			conditions[e.Name] = map[models.CodeSystem]bool{}
		}
		conditions[e.Name][e.System] = true
	}
	// Every condition must be codable in both GP (SNOMED) and hospital (ICD-10) data.
	for name, systems := range conditions {
		if !systems[models.SNOMED] || !systems[models.ICD10] {
			t.Errorf("condition %s lacks SNOMED or ICD-10 codes: %v", name, systems)
		}
	}
	if len(conditions) != 12 {
		t.Errorf("got %d conditions, want 12", len(conditions))
	}
	for _, e := range Observations() {
		if e.Unit == "" {
			t.Errorf("measure %s has no unit", e.Name)
		}
	}
	for _, e := range Medications() {
		if _, ok := conditions[e.Name]; !ok {
			t.Errorf("medication %s treats unknown condition %s", e.Code, e.Name)
		}
	}
}

func TestParseRejectsBadRows(t *testing.T) {
	for name, in := range map[string]string{
		"unknown system": "condition,code_system,code,term\nx,read,C10,term\n",
		"non-numeric":    "condition,code_system,code,term\nx,snomed,abc,term\n",
		"no name column": "code_system,code,term\nsnomed,1,term\n",
		"empty":          "condition,code_system,code,term\n",
	} {
		if _, err := parse([]byte(in)); err == nil {
			t.Errorf("%s: parse succeeded, want error", name)
		}
	}
}

// Mental health medicines in medication.csv (the ones synthetic people are
// prescribed) must be in the sensitive list, or a purpose without mental
// health would still see who takes antidepressants and antipsychotics.
func TestSensitive_CoversMentalHealthMedicines(t *testing.T) {
	sensitive := map[string]string{}
	for _, e := range Sensitive() {
		sensitive[string(e.System)+":"+e.Code] = e.Name
	}
	for _, e := range Medications() {
		if e.Name != "depression" && e.Name != "smi" && e.Name != "dementia" {
			continue
		}
		if sensitive["dmd:"+e.Code] != "mental_health" {
			t.Errorf("%s (%s) is not in sensitive.csv as mental_health", e.Term, e.Code)
		}
	}
	categories := map[string]bool{}
	for _, e := range Sensitive() {
		categories[e.Name] = true
	}
	for _, c := range []string{"mental_health", "sexual_health", "social_care", "safeguarding"} {
		if !categories[c] {
			t.Errorf("no codes for %s", c)
		}
	}
	if len(categories) != 4 {
		t.Errorf("categories %v, want exactly the four", categories)
	}
}
