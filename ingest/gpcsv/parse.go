package gpcsv

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

var _ feed.Parser = Parse

// Parse reads one GP extract file, a patients file or an events file as
// its header says, and passes each row to sink as one record or one
// quarantine entry. It implements feed.Parser.
//
// Parse returns a *HeaderError, with zero Stats, when the header does not
// make the file either kind; otherwise it returns an error only when it
// cannot go on: the reader or the sink failed, or ctx was cancelled. The
// Stats it returns then count the rows handled so far.
func Parse(ctx context.Context, r io.Reader, file string, sink feed.Sink) (feed.Stats, error) {
	return parse(ctx, r, file, sink, time.Now(), maxRecordBytes)
}

// parse is Parse with its clock and its bound on a record's length made
// explicit for tests.
func parse(ctx context.Context, r io.Reader, file string, sink feed.Sink, now time.Time, maxRecord int) (feed.Stats, error) {
	return newParser(ctx, r, file, sink, now, maxRecord).run()
}

// parser is the state of one Parse call.
type parser struct {
	ctx         context.Context
	file        string
	sink        feed.Sink
	stats       feed.Stats
	latestBirth models.Date
	head        *header

	tape *tape
	csv  *csv.Reader
	// csvBase is the input offset at which csv started reading: its
	// InputOffset counts from there.
	csvBase int64
	// next is the offset just past the last record handled, where the next
	// one (or the blank lines before it) begins, and line its line number.
	next int64
	line int64

	// stale is set once the fast path (plainRow) has read past where csv
	// stands: csv must restart at next before its next Read.
	stale bool
	// fields, rec and ends are the fast path's buffers, reused.
	fields []string
	rec    []byte
	ends   []int
	// csvOnly turns the fast path off, for tests that compare the two.
	csvOnly bool
}

func newParser(ctx context.Context, r io.Reader, file string, sink feed.Sink, now time.Time, maxRecord int) *parser {
	return &parser{
		ctx:  ctx,
		file: file,
		sink: sink,
		// The UK's date is never behind UTC's and at most one day ahead.
		latestBirth: models.DateOf(now.UTC()).AddDays(1),
		tape:        newTape(r, maxRecord),
		line:        1,
	}
}

func (p *parser) run() (feed.Stats, error) {
	if err := p.header(); err != nil {
		return feed.Stats{}, err
	}
	err := p.rows()
	return p.stats, err
}

// restart starts a new csv.Reader at offset off, the first byte of line
// number line, which must lie in the tape's window.
func (p *parser) restart(off, line int64) {
	p.tape.rewind(off)
	p.csv = csv.NewReader(p.tape)
	p.csv.FieldsPerRecord = -1 // rows are checked against the header here, so one bad row does not end the file
	p.csv.ReuseRecord = true
	p.csvBase, p.next, p.line = off, off, line
	p.stale = false
}

// advance moves past a record that ends at offset end, before line number line.
func (p *parser) advance(end, line int64) {
	p.next, p.line = end, line
	p.tape.release(end)
}

func (p *parser) errorf(line int64, format string, args ...any) error {
	return fmt.Errorf("gpcsv: %s:%d: %w", p.file, line, fmt.Errorf(format, args...))
}

// Byte-order marks.
const (
	utf8BOM    = "\xEF\xBB\xBF"
	utf16LEBOM = "\xFF\xFE"
	utf16BEBOM = "\xFE\xFF"
)

// header reads the header row, after a UTF-8 byte-order mark if there is
// one, and decides the kind of file.
func (p *parser) header() error {
	if err := p.ctx.Err(); err != nil {
		return p.errorf(1, "%w", err)
	}
	switch prefix := string(p.tape.prefix(len(utf8BOM))); {
	case prefix == utf8BOM:
		p.restart(int64(len(utf8BOM)), 1)
	case strings.HasPrefix(prefix, utf16LEBOM), strings.HasPrefix(prefix, utf16BEBOM):
		return &HeaderError{File: p.file, Reason: "UTF-16 text: re-export the file as UTF-8"}
	default:
		p.restart(0, 1)
	}
	fields, err := p.csv.Read()
	for errors.Is(err, errRecordTooLong) {
		start, line := p.recordStart()
		if start == p.next {
			break
		}
		p.restart(start, line) // the bound was spent on blank lines
		fields, err = p.csv.Read()
	}
	switch {
	case err == io.EOF:
		return &HeaderError{File: p.file, Reason: "empty file"}
	case errors.Is(err, errRecordTooLong):
		return &HeaderError{File: p.file, Reason: fmt.Sprintf("no end of line in the first %d bytes", p.tape.bound)}
	case asParseError(err) != nil:
		return &HeaderError{File: p.file, Reason: "malformed CSV: " + err.Error()}
	case err != nil:
		return p.errorf(1, "read: %w", err)
	}
	h, err := parseHeader(p.file, fields)
	if err != nil {
		return err
	}
	p.head = h
	for _, kind := range h.unused {
		p.stats.Skip(kind)
	}
	start, line := p.recordStart()
	end := p.csvBase + p.csv.InputOffset()
	p.advance(end, line+int64(bytes.Count(p.tape.window(start, end), []byte{'\n'})))
	return nil
}

// rows reads the rows after the header.
func (p *parser) rows() error {
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := p.ctx.Err(); err != nil {
				return p.errorf(p.line, "%w", err)
			}
		}
		if fields, end, ok := p.plainRow(); ok {
			if err := p.row(fields, nil, end); err != nil {
				return err
			}
			continue
		}
		if p.stale {
			p.restart(p.next, p.line)
		}
		fields, err := p.csv.Read()
		if err == io.EOF {
			return nil
		}
		if err := p.row(fields, err, p.csvBase+p.csv.InputOffset()); err != nil {
			return err
		}
	}
}

// plainRow is the fast path for the usual row: one line, with no carriage
// return but its line ending, whose fields are plain or quoted without a
// line break. It splits such a line, which starts at next, exactly as
// csv.Reader would, and returns its fields and the offset past its line
// ending; for anything else (a quote csv.Reader would refuse or that runs
// on to the next line, a blank line, a line without an end in the window's
// bound, the end of the input) it returns ok false and csv.Reader reads
// the record. Splitting a line in place costs a third of csv.Reader's
// byte-by-byte state machine, which was half of parsing.
func (p *parser) plainRow() (fields []string, end int64, ok bool) {
	if p.csvOnly {
		return nil, 0, false
	}
	raw, ok := p.tape.line(p.next)
	if !ok {
		return nil, 0, false
	}
	body := raw[:len(raw)-1]
	if n := len(body); n > 0 && body[n-1] == '\r' {
		body = body[:n-1]
	}
	if len(body) == 0 || bytes.IndexByte(body, '\r') >= 0 {
		return nil, 0, false
	}
	if bytes.IndexByte(body, '"') < 0 {
		// No quote, the usual row: the fields lie between the commas. A
		// byte loop, as fields are short.
		line := string(body) // one allocation, as csv.Reader makes per record
		fields, start := p.fields[:0], 0
		for i := 0; i < len(line); i++ {
			if line[i] == ',' {
				fields = append(fields, line[start:i])
				start = i + 1
			}
		}
		p.fields = append(fields, line[start:])
	} else {
		f, ok := p.splitQuoted(body)
		if !ok {
			return nil, 0, false
		}
		p.fields = f
	}
	p.stale = true
	return p.fields, p.next + int64(len(raw)), true
}

// splitQuoted splits a line holding quotes as csv.Reader would, or returns
// ok false for one csv.Reader must read: a quoted field that runs on to the
// next line, or a quote it refuses.
func (p *parser) splitQuoted(body []byte) (fields []string, ok bool) {
	// The fields' text goes to rec, unquoted, and ends[i] is where field i
	// ends in it.
	rec, ends := p.rec[:0], p.ends[:0]
	for i := 0; ; {
		if i < len(body) && body[i] == '"' {
			for i++; ; {
				j := bytes.IndexByte(body[i:], '"')
				if j < 0 {
					return nil, false // the field runs on: csv.Reader's to read
				}
				rec = append(rec, body[i:i+j]...)
				if i += j + 1; i < len(body) && body[i] == '"' {
					rec = append(rec, '"') // "" is a quote
					i++
					continue
				}
				break
			}
			if i < len(body) && body[i] != ',' {
				return nil, false // text after the closing quote: malformed
			}
		} else {
			j := bytes.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			if bytes.IndexByte(body[i:i+j], '"') >= 0 {
				return nil, false // a quote inside a field: malformed
			}
			rec = append(rec, body[i:i+j]...)
			i += j
		}
		ends = append(ends, len(rec))
		if i == len(body) {
			break
		}
		if i++; i == len(body) {
			ends = append(ends, len(rec)) // a comma ends the line: one more, empty, field
			break
		}
	}
	line := string(rec) // one allocation, as csv.Reader makes per record
	fields = p.fields[:0]
	start := 0
	for _, e := range ends {
		fields = append(fields, line[start:e])
		start = e
	}
	p.rec, p.ends = rec, ends
	return fields, true
}

// row handles one record: what csv.Reader.Read or plainRow returned, and
// the offset just past it.
func (p *parser) row(fields []string, err error, end int64) error {
	start, line := p.recordStart()
	ref := models.SourceRef{Feed: models.FeedGP, File: p.file, Line: line, Offset: start}
	var reason string
	switch {
	case err == nil:
	case errors.Is(err, errRecordTooLong):
		if start > p.next {
			// The bound was spent on blank lines: read the record afresh.
			p.restart(start, line)
			return nil
		}
		return p.cutBack(ref, fmt.Sprintf("record longer than %d bytes", p.tape.bound))
	default:
		perr := asParseError(err)
		if perr == nil {
			return p.errorf(line, "read: %w", err)
		}
		reason = "malformed CSV: " + perr.Err.Error()
	}

	raw := p.tape.window(start, end)
	lines := int64(bytes.Count(raw, []byte{'\n'}))
	body := trimEOL(raw)
	var rec models.Record
	if reason == "" {
		if len(fields) != p.head.width {
			reason = fmt.Sprintf("%d fields where the header has %d", len(fields), p.head.width)
		} else {
			rec, reason = p.convert(fields, &ref, !utf8.Valid(body))
		}
	}
	if reason != "" && bytes.IndexByte(body, '\n') >= 0 {
		last := line + int64(bytes.Count(body, []byte{'\n'}))
		return p.cutBack(ref, fmt.Sprintf("%s (in a record running from line %d to %d)", reason, line, last))
	}

	p.stats.Read++
	if reason != "" {
		p.stats.Quarantined++
		err = p.sink.Quarantine(models.Quarantined{Ref: ref, Reason: reason, Raw: bytes.Clone(body)})
	} else {
		p.stats.Accepted++
		p.stats.Emitted++
		err = p.sink.Record(rec)
	}
	p.advance(end, line+lines)
	if err != nil {
		return p.errorf(line, "sink: %w", err)
	}
	return nil
}

// cutBack quarantines the first line of a record that spans several lines
// and cannot be accepted, or that runs past the tape's bound, and goes on
// from the line after it. Such a record is most often an unbalanced quote
// that has swallowed the rows after it; re-reading them, instead of
// quarantining them inside one record, gives each its own chance. A record
// that really did span lines costs one quarantine entry per fragment, and
// every byte of it still reaches quarantine.
func (p *parser) cutBack(ref models.SourceRef, reason string) error {
	rest := p.tape.window(ref.Offset, p.tape.end())
	var raw []byte
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		raw = bytes.Clone(trimEOL(rest[:i+1]))
		reason += fmt.Sprintf("; quarantined line %d alone and read on from line %d", ref.Line, ref.Line+1)
		p.restart(ref.Offset+int64(i)+1, ref.Line+1)
	} else {
		raw = bytes.Clone(rest[:min(len(rest), p.tape.bound)])
		reason += fmt.Sprintf("; its first line alone is longer: raw truncated to %d bytes", len(raw))
		next, err := p.tape.skipLine(ref.Offset)
		if err != nil {
			return p.errorf(ref.Line, "read: %w", err)
		}
		p.restart(next, ref.Line+1)
	}
	p.stats.Read++
	p.stats.Quarantined++
	if err := p.sink.Quarantine(models.Quarantined{Ref: ref, Reason: reason, Raw: raw}); err != nil {
		return p.errorf(ref.Line, "sink: %w", err)
	}
	return nil
}

// recordStart returns the offset and line number of the first byte of the
// record csv.Reader has just read, past the empty lines ("\n" or "\r\n")
// it skips before a record.
func (p *parser) recordStart() (off, line int64) {
	b := p.tape.window(p.next, p.tape.end())
	i := 0
	line = p.line
	for i < len(b) {
		if b[i] == '\n' {
			i++
		} else if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i += 2
		} else {
			break
		}
		line++
	}
	return p.next + int64(i), line
}

// asParseError returns the *csv.ParseError in err's chain, or nil. It is a
// function of its own so that the error's variable, which escapes, is only
// allocated on the error path.
func asParseError(err error) *csv.ParseError {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		return perr
	}
	return nil
}

// trimEOL removes the line ending from a record's bytes.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
