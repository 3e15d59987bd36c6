package cohort

import "testing"

func TestIsConceptID(t *testing.T) {
	for id, want := range map[string]bool{
		"44054006":        true,  // type 2 diabetes mellitus
		"999791000000106": true,  // HbA1c IFCC, UK extension (partition 10)
		"73211009":        true,  // diabetes mellitus
		"38341003":        true,  // hypertension
		"44054007":        false, // last digit changed
		"44050406":        false, // digits swapped
		"1000001":         false, // a test code, not a concept
		"44054016":        false, // partition 01: a description id
		"12345":           false,
	} {
		if got := isConceptID(id); got != want {
			t.Errorf("isConceptID(%s) = %v, want %v", id, got, want)
		}
	}
}
