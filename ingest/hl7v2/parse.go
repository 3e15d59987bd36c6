package hl7v2

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

var _ feed.Parser = Parse

// Parse reads a file of HL7 v2 messages and passes what it yields to sink,
// one message at a time and in file order. It implements feed.Parser.
//
// Each message (MSH to the next MSH, batch segment or end of file) is one
// source record: accepted, when its records (if any) go to sink.Record,
// or quarantined, when its bytes and a reason naming the segment and field
// at fault (e.g. "PID-7: impossible date 20230230") go to
// sink.Quarantine. Lines before the first MSH form one quarantined record.
// The returned Stats therefore always balance.
//
// Parse holds one message in memory at a time (at most 1 MiB; a larger
// one is quarantined truncated). It returns an error only for a read
// error, a cancelled ctx or an error from sink, with the Stats so far.
func Parse(ctx context.Context, r io.Reader, file string, sink feed.Sink) (feed.Stats, error) {
	var st feed.Stats
	sc := newScanner(r)
	c := converter{
		file:        file,
		latestBirth: models.DateOf(time.Now().UTC()).AddDays(1),
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("hl7v2: %s: line %d: %w", file, sc.line, err)
		}
		b, err := sc.next()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("hl7v2: %s: line %d: read: %w", file, sc.line, err)
		}
		st.Read++
		ref, reason := c.convert(b)
		if reason != nil {
			st.Quarantined++
			q := models.Quarantined{Ref: ref, Reason: reason.Error(), Raw: bytes.Clone(b.bytes())}
			if err := sink.Quarantine(q); err != nil {
				return st, fmt.Errorf("hl7v2: %s: line %d: quarantine: %w", file, ref.Line, err)
			}
			continue
		}
		st.Accepted++
		for _, kind := range c.skips {
			st.Skip(kind)
		}
		for _, rec := range c.records {
			if err := sink.Record(rec); err != nil {
				return st, fmt.Errorf("hl7v2: %s: line %d: record: %w", file, ref.Line, err)
			}
			st.Emitted++
		}
	}
}
