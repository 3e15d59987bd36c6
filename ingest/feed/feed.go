// Package feed is the contract between the feed parsers (ingest/hl7v2,
// ingest/fhir, ingest/gpcsv) and the pipeline that consumes them.
//
// A parser reads one file as a stream of source records (an HL7 message, an
// NDJSON line, a CSV row). Each source record ends in exactly one of two
// ways: accepted, when the parser emits zero or more models.Records for it
// through Sink.Record, or quarantined, when it calls Sink.Quarantine once
// with the record's raw bytes and a reason. Stats counts both, so that for
// every file Read == Accepted + Quarantined, and the pipeline checks it.
package feed

import (
	"context"
	"fmt"
	"io"

	"github.com/pophealth/pophealth/models"
)

// Sink receives what a parser produces, in source order. Records passed to
// Sink are owned by the sink: a parser must not reuse them.
type Sink interface {
	// Record receives one canonical record derived from an accepted source record.
	Record(models.Record) error
	// Quarantine receives one source record that could not be accepted.
	Quarantine(models.Quarantined) error
}

// Stats counts source records in one file.
type Stats struct {
	Read        int64 `json:"read"`
	Accepted    int64 `json:"accepted"`
	Quarantined int64 `json:"quarantined"`
	// Emitted counts canonical records passed to Sink.Record; one source
	// record (an HL7 message) may yield several.
	Emitted int64 `json:"emitted"`
	// Skipped counts, by kind, source records read and accepted but not
	// used (e.g. FHIR resource types pophealth does not read), so that
	// nothing is lost without a trace.
	Skipped map[string]int64 `json:"skipped,omitempty"`
}

// Balanced returns an error unless every record read was either accepted or
// quarantined.
func (s Stats) Balanced() error {
	if s.Read != s.Accepted+s.Quarantined {
		return fmt.Errorf("accounting: read %d != accepted %d + quarantined %d", s.Read, s.Accepted, s.Quarantined)
	}
	return nil
}

// Skip counts one accepted but unused record of the given kind.
func (s *Stats) Skip(kind string) {
	if s.Skipped == nil {
		s.Skipped = make(map[string]int64)
	}
	s.Skipped[kind]++
}

// Parser reads one file of one feed. file is the path recorded in every
// SourceRef; r yields its bytes. A Parser returns an error only when it
// cannot go on (I/O failure, cancelled context, an error from the Sink);
// bad records are quarantined, not returned.
type Parser func(ctx context.Context, r io.Reader, file string, sink Sink) (Stats, error)
