package hl7v2

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// a40 is a merge message: PID-3 names the surviving patient, MRG-1 the
// retired one.
func a40(groups ...string) []string {
	segs := []string{
		msh(map[int]string{3: "PAS", 4: "RGT01", 7: "20240315100000", 9: "ADT^A40^ADT_A39", 10: "M0001", 11: "P", 12: "2.4"}),
		seg("EVN", map[int]string{1: "A40", 2: "20240315100000"}),
	}
	return append(segs, groups...)
}

func TestParse_A40MergeRecordsTheRetiredIdentifier(t *testing.T) {
	pidA := seg("PID", map[int]string{3: "9434765919^^^NHS^NH~RGT0000001^^^RGT^MR", 5: "DOE^JOHN", 7: "19800229", 8: "M"})
	pidB := seg("PID", map[int]string{3: "RGT0000002^^^RGT^MR", 5: "ROE^JANE", 8: "F"})
	type merge struct{ survivor, retired, retiredNHS string }
	tests := []struct {
		name   string
		segs   []string
		want   []merge
		reason string // quarantine reason prefix; "" when accepted
	}{
		{"MR retired", a40(pidA, "MRG|RGT0000009^^^RGT^MR"), []merge{{"RGT0000001", "RGT0000009", ""}}, ""},
		{"PD1 between PID and MRG", a40(pidA, "PD1|||SURGERY^^B86001", "MRG|RGT0000009^^^RGT^MR"), []merge{{"RGT0000001", "RGT0000009", ""}}, ""},
		{"untyped retired id (Epic)", a40(pidA, "MRG|40800000^^^MRENTR"), []merge{{"RGT0000001", "40800000", ""}}, ""},
		{"retired NHS number and MRN", a40(pidA, "MRG|943 476 5870^^^NHS^NH~RGT0000009^^^RGT^MR"), []merge{{"RGT0000001", "RGT0000009", "9434765870"}}, ""},
		{"retired NHS number only", a40(pidA, "MRG|9434765870^^^NHS^NH"), []merge{{"RGT0000001", "", "9434765870"}}, ""},
		{"two groups", a40(pidA, "MRG|RGT0000009^^^RGT^MR", pidB, "MRG|RGT0000008^^^RGT^MR"),
			[]merge{{"RGT0000001", "RGT0000009", ""}, {"RGT0000002", "RGT0000008", ""}}, ""},
		{"PID without MRG", a40(pidA), nil, "MRG: missing after PID group 1"},
		{"second PID without MRG", a40(pidA, "MRG|RGT0000009^^^RGT^MR", pidB), nil, "MRG: missing after PID group 2"},
		{"MRG without PID", a40("MRG|RGT0000009^^^RGT^MR"), nil, "MRG: segment 3 has no PID"},
		{"empty MRG-1", a40(pidA, "MRG|^^^RGT^MR"), nil, "MRG-1: no prior patient identifier"},
		{"no PID at all", a40(), nil, "PID: missing segment"},
		{"bad surviving birth date", a40(strings.Replace(pidA, "19800229", "19810229", 1), "MRG|X1"), nil, "PID-7: impossible date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rec := parse(t, wire(tt.segs...))
			if tt.reason != "" {
				if st.Quarantined != 1 || !strings.HasPrefix(rec.quarantined[0].Reason, tt.reason) {
					t.Fatalf("stats %+v, quarantined %+v; want quarantined with %q", st, rec.quarantined, tt.reason)
				}
				return
			}
			if st.Accepted != 1 {
				t.Fatalf("stats %+v, quarantined %+v; want accepted", st, rec.quarantined)
			}
			var got []merge
			for _, m := range recordsOf[*models.Merge](rec) {
				got = append(got, merge{m.PatientID, m.RetiredID, m.RetiredNHSNumber})
				if m.Ref.RecordID != "M0001" {
					t.Errorf("merge RecordID %q, want MSH-10", m.Ref.RecordID)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("merges %+v, want %+v", got, tt.want)
			}
			if n := len(rec.patients()); n != len(tt.want) {
				t.Errorf("%d surviving patient records, want one per group (%d)", n, len(tt.want))
			}
			if len(rec.encounters()) != 0 {
				t.Errorf("a merge yielded encounters: %+v", rec.encounters())
			}
		})
	}
}

func TestParse_SharedA40Samples(t *testing.T) {
	tests := []struct {
		file string
		want []models.Merge
	}{
		{"handmade/uk_a40_merge.hl7", []models.Merge{{PatientID: "RGT1234567", RetiredID: "RGT7654321"}}},
		{"uclh-emap/generic/A40.txt", []models.Merge{{PatientID: "40800001", RetiredID: "40800000"}}},
		{"fhir-converter/ADT-A40-01.hl7", []models.Merge{{PatientID: "12345", RetiredID: "56789"}}},
		{"fhir-converter/ADT-A40-02.hl7", []models.Merge{{PatientID: "12345", RetiredID: "56789"}, {PatientID: "145", RetiredID: "569"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			st, rec := parse(t, readSample(t, tt.file))
			if st.Read != 1 || st.Accepted != 1 {
				t.Fatalf("stats %+v, quarantined %+v; want one accepted message", st, rec.quarantined)
			}
			got := recordsOf[*models.Merge](rec)
			if len(got) == 0 {
				t.Fatalf("no merge recorded")
			}
			if tt.want == nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d merges, want %d", len(got), len(tt.want))
			}
			for i, m := range got {
				w := tt.want[i]
				if m.PatientID != w.PatientID || m.RetiredID != w.RetiredID || m.RetiredNHSNumber != w.RetiredNHSNumber {
					t.Errorf("merge %d = %+v, want %+v", i, *m, w)
				}
			}
		})
	}
}

func TestParse_KeepsUnmappedMessagesWhole(t *testing.T) {
	tests := []struct {
		name, kind string
		segs       []string
	}{
		{"A17 bed swap", "event:A17", append(set(ukA01(), "MSH", 9, "ADT^A17^ADT_A17"), ukA01()[2:]...)},
		{"A29 delete person", "event:A29", set(drop(ukA01(), "PV1"), "MSH", 9, "ADT^A29^ADT_A21")},
		{"ORU result", "message:ORU", set(drop(ukA01(), "PV1"), "MSH", 9, "ORU^R01")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := wire(tt.segs...)
			st, rec := parse(t, msg)
			unread := recordsOf[*models.Unread](rec)
			if st.Accepted != 1 || len(rec.records) != 1 || len(unread) != 1 {
				t.Fatalf("stats %+v, records %+v; want one accepted message kept as Unread", st, rec.records)
			}
			u := unread[0]
			if u.Kind != tt.kind || st.Skipped[tt.kind] != 1 || string(u.Raw) != string(msg) {
				t.Errorf("kept %q (%d bytes), skipped %v; want kind %s and the message's bytes", u.Kind, len(u.Raw), st.Skipped, tt.kind)
			}
		})
	}
}
