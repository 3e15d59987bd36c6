package gpcsv

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/pophealth/pophealth/ingest/feed"
)

// FuzzParse checks that no input makes Parse fail, lose a row or point
// outside the input: every row read is accepted or quarantined, every
// SourceRef's line matches its offset, and every Raw is the input's bytes
// there. It also checks that the result does not depend on how the reader
// splits the input, nor on whether rows go through the fast path for plain
// lines (plainRow) or all through csv.Reader. The seed corpus is in testdata/fuzz/FuzzParse.
//
//	go test -run='^$' -fuzz=FuzzParse -fuzztime=3m ./ingest/gpcsv/
func FuzzParse(f *testing.F) {
	for _, name := range []string{"patients.csv", "events.csv", "events-mixed.csv", "events-broken-quote.csv",
		"events-reordered.csv", "patients-cp1252.csv", "patients-utf8-bom-crlf.csv"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, stats, err := run(t, bytes.NewReader(data), data, maxRecordBytes)
		var herr *HeaderError
		if errors.As(err, &herr) {
			if !reflect.DeepEqual(stats, feed.Stats{}) || len(want.records)+len(want.quarantined) > 0 {
				t.Fatalf("header error %v, yet stats %+v", err, stats)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if stats.Read != stats.Accepted+stats.Quarantined {
			t.Fatalf("accounting: %+v", stats)
		}

		got, gotStats, err := run(t, iotest.OneByteReader(bytes.NewReader(data)), data, maxRecordBytes)
		if err != nil || !reflect.DeepEqual(gotStats, stats) || !reflect.DeepEqual(got, want) {
			t.Fatalf("read a byte at a time: %+v, %v\nwhole: %+v", gotStats, err, stats)
		}
		got, gotStats, err = runCSVOnly(t, data, maxRecordBytes)
		if err != nil || !reflect.DeepEqual(gotStats, stats) || !reflect.DeepEqual(got, want) {
			t.Fatalf("csv.Reader alone: %+v, %v\nwith the fast path: %+v", gotStats, err, stats)
		}

		// A bound just above the longest header makes the fuzzer's short
		// inputs reach the code for overlong records.
		_, small, err := run(t, iotest.HalfReader(bytes.NewReader(data)), data, 160)
		if err != nil && !errors.As(err, &herr) {
			t.Fatalf("Parse with a 160-byte bound: %v", err)
		}
		if small.Read != small.Accepted+small.Quarantined {
			t.Fatalf("accounting with a 160-byte bound: %+v", small)
		}
		fast, fastStats, ferr := run(t, bytes.NewReader(data), data, 160)
		slow, slowStats, serr := runCSVOnly(t, data, 160)
		if (ferr == nil) != (serr == nil) || !reflect.DeepEqual(fastStats, slowStats) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("160-byte bound: csv.Reader alone %+v, %v; with the fast path %+v, %v", slowStats, serr, fastStats, ferr)
		}
	})
}
