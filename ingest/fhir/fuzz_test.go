package fhir

import (
	"bytes"
	"context"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse, which must never panic or fail
// on bad input, and must account for every record and locate it in the
// input (checkContract). Seeds are in testdata/fuzz/FuzzParse:
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=3m ./ingest/fhir/
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var c collector
		stats, err := Parse(context.Background(), bytes.NewReader(data), "test", &c)
		if err != nil {
			t.Fatalf("Parse returned %v: only I/O, context and sink errors may stop it", err)
		}
		checkContract(t, data, stats, &c)
	})
}
