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
