package hl7v2

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/pophealth/pophealth/models"
)

// FuzzParse feeds arbitrary bytes to Parse. Its seeds are the fixtures in
// testdata/ and the copies of shared samples in testdata/fuzz/FuzzParse.
// Whatever the input, Parse must not panic or fail (the reader and sink
// never fail here), the accounting must balance, every record must point
// back at its bytes, and every string kept must be valid UTF-8 for the lake.
func FuzzParse(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range fixtures {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(wire(ukA01()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		st, err := Parse(context.Background(), bytes.NewReader(data), "fuzz.hl7", rec)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		checkRun(t, data, st, rec)
		for _, r := range rec.records {
			if u, ok := r.(*models.Unread); ok && !bytes.HasPrefix(data[u.Ref.Offset:], u.Raw) {
				t.Fatalf("unread message at offset %d does not hold the input's bytes", u.Ref.Offset)
			}
			for _, s := range keptStrings(r) {
				if !utf8.ValidString(s) {
					t.Fatalf("%T keeps invalid UTF-8 %q", r, s)
				}
			}
		}
	})
}

// keptStrings returns the strings a record carries into the pipeline.
func keptStrings(r models.Record) []string {
	switch v := r.(type) {
	case *models.PatientRecord:
		return []string{v.Ref.RecordID, v.LocalID, v.NHSNumber, v.GivenName, v.FamilyName, v.Postcode, v.PracticeCode}
	case *models.Encounter:
		return []string{v.Ref.RecordID, v.PatientID, v.EncounterID, v.Event}
	case *models.Diagnosis:
		return []string{v.Ref.RecordID, v.PatientID, v.EncounterID, v.Code}
	case *models.Merge:
		return []string{v.Ref.RecordID, v.PatientID, v.RetiredID, v.RetiredNHSNumber}
	}
	return nil
}
