package fhir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/models"
)

// Limits that bound the memory one file can take.
const (
	// lineLimit is the longest NDJSON line accepted, in bytes. A longer
	// line is quarantined without being held in memory whole.
	lineLimit = 16 << 20
	// documentLimit is the largest JSON document (typically a
	// pretty-printed Bundle) accepted. A document is read whole, because a
	// Bundle's members may come in any order; a larger one is quarantined
	// as a single record and should be exported as NDJSON instead.
	documentLimit = 64 << 20
	// oversizedRaw is how much of an oversized record quarantine keeps:
	// enough to recognise it; Line and Offset locate the rest in the file.
	oversizedRaw = 64 << 10
	// readBuffer is the reader's buffer, and the window in which Parse
	// looks at the start of a file to tell NDJSON from a document.
	readBuffer = 64 << 10
	// cancelEvery is how many records pass between checks of the context.
	cancelEvery = 256
)

var _ feed.Parser = Parse

// Parse reads one FHIR R4 file and passes the records derived from it to
// sink, in file order. It implements feed.Parser.
//
// The file is either Bulk Data NDJSON (one resource per line, of one type or
// mixed) or a single JSON document such as a pretty-printed Bundle; Parse
// tells them apart from the first lines. Each resource — each NDJSON line,
// or each entry of a Bundle — is one source record: it is accepted and
// mapped as the package documentation describes, or quarantined with its
// raw bytes and a reason. Parse returns an error only for a failed read, a
// cancelled ctx or an error from sink; the Stats returned then count what
// was done before it.
func Parse(ctx context.Context, r io.Reader, file string, sink feed.Sink) (feed.Stats, error) {
	p := newParser(ctx, file, sink)
	err := p.parse(r)
	return p.stats, err
}

func newParser(ctx context.Context, file string, sink feed.Sink) *parser {
	return &parser{
		ctx:         ctx,
		file:        file,
		sink:        sink,
		today:       models.DateOf(time.Now()),
		maxLine:     lineLimit,
		maxDocument: documentLimit,
		r:           newReader(),
	}
}

// parser holds the state of one Parse call.
type parser struct {
	ctx   context.Context
	file  string
	sink  feed.Sink
	stats feed.Stats
	// today bounds birth dates and tells current addresses from ended ones.
	today models.Date
	// r decodes resources; out collects the records mapped from one
	// source record. Both are reused.
	r   *reader
	out []models.Record
	// long accumulates NDJSON lines longer than the read buffer; it is reused.
	long                 []byte
	maxLine, maxDocument int
	// aliases maps the fullUrls of the Bundle being read to "Type/id"
	// (bundleAliases).
	aliases map[string]string
	ticks   int
}

// position locates a source record's first byte in the file.
type position struct {
	line, offset int64
}

// utf8BOM is the byte-order mark some exporters write at the start of a file.
const utf8BOM = "\ufeff"

func (p *parser) parse(r io.Reader) error {
	if err := p.ctx.Err(); err != nil {
		return fmt.Errorf("fhir: %s: %w", p.file, err)
	}
	br := bufio.NewReaderSize(r, readBuffer)
	var offset int64
	if head, _ := br.Peek(len(utf8BOM)); string(head) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
		offset = int64(len(utf8BOM))
	}
	head, err := br.Peek(readBuffer)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("fhir: reading %s: %w", p.file, err)
	}
	if isDocument(head) {
		return p.document(br, offset)
	}
	return p.lines(br, offset)
}

// isDocument reports whether a file starting with head holds JSON spread
// over many lines rather than NDJSON. An NDJSON line is a whole object, so
// it ends with '}', and the next line starts at the margin with '{'. A
// pretty-printed document's first line is an unfinished object, and the
// lines after it are indented or start with something else. (Looking at
// the second line keeps a truncated first line of NDJSON from turning the
// whole file into one bad document.)
func isDocument(head []byte) bool {
	first, rest, ok := nextLine(head)
	first = trimSpace(first)
	if !ok || first[len(first)-1] == '}' {
		return false
	}
	second, _, _ := nextLine(rest)
	second = bytes.TrimPrefix(second, []byte(utf8BOM))
	return len(second) > 0 && second[0] != '{'
}

// nextLine returns the first non-blank line of b, without its line end,
// and what follows it; ok is false when there is no such line or it runs
// to the end of b unterminated.
func nextLine(b []byte) (line, rest []byte, ok bool) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return b, nil, false
		}
		line, b = b[:i], b[i+1:]
		if len(trimSpace(line)) > 0 {
			return line, b, true
		}
	}
	return nil, nil, false
}

// lines reads NDJSON: each non-blank line is one source record. Blank
// lines are not records and are not counted.
func (p *parser) lines(br *bufio.Reader, offset int64) error {
	for lineNo := int64(1); ; lineNo++ {
		line, n, tooLong, err := p.readLine(br)
		if err != nil && err != io.EOF {
			return fmt.Errorf("fhir: reading %s:%d: %w", p.file, lineNo, err)
		}
		lead := leadingSpace(line)
		if bytes.HasPrefix(line[lead:], []byte(utf8BOM)) {
			// Files joined with cat keep their byte-order marks.
			lead += len(utf8BOM)
		}
		record := trimSpace(line[lead:])
		at := position{line: lineNo, offset: offset + int64(lead)}
		switch {
		case tooLong:
			if err := p.tick(); err != nil {
				return err
			}
			p.stats.Read++
			ref := p.ref(at)
			reason := fmt.Sprintf("line longer than %d bytes (quarantine keeps its first %d)", p.maxLine, oversizedRaw)
			if err := p.quarantine(record[:min(len(record), oversizedRaw)], ref, reason); err != nil {
				return err
			}
		case len(record) > 0:
			if err := p.value(record, at, "", false); err != nil {
				return err
			}
		}
		offset += n
		if err == io.EOF {
			return nil
		}
	}
}

// readLine returns the next line without its '\n' and the number of bytes
// it took in the file. A line longer than the buffer is gathered in
// p.long; past p.maxLine only its first p.maxLine bytes are kept and
// tooLong is set. The line is valid until the next call.
func (p *parser) readLine(br *bufio.Reader) (line []byte, n int64, tooLong bool, err error) {
	frag, err := br.ReadSlice('\n')
	n = int64(len(frag))
	if !errors.Is(err, bufio.ErrBufferFull) {
		line = bytes.TrimSuffix(frag, []byte{'\n'})
		return line, n, len(line) > p.maxLine, err
	}
	// Keep one byte more than the limit, to tell a line of exactly
	// maxLine bytes from a longer one.
	p.long = p.long[:0]
	for {
		if room := p.maxLine + 1 - len(p.long); room > 0 {
			p.long = append(p.long, frag[:min(len(frag), room)]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
		frag, err = br.ReadSlice('\n')
		n += int64(len(frag))
	}
	line = bytes.TrimSuffix(p.long, []byte{'\n'})
	return line, n, len(line) > p.maxLine, err
}

// document reads a file holding pretty-printed JSON: usually one Bundle
// or one resource, though several top-level values in a row are accepted.
func (p *parser) document(br *bufio.Reader, offset int64) error {
	doc, err := io.ReadAll(io.LimitReader(br, int64(p.maxDocument)+1))
	if err != nil {
		return fmt.Errorf("fhir: reading %s: %w", p.file, err)
	}
	lines := lineCounter{buf: doc, line: 1}
	if len(doc) > p.maxDocument {
		p.stats.Read++
		at := position{line: 1, offset: offset + int64(leadingSpace(doc))}
		reason := fmt.Sprintf("JSON document larger than %d bytes: export it as NDJSON (quarantine keeps its first %d bytes)", p.maxDocument, oversizedRaw)
		raw := trimSpace(doc)
		return p.quarantine(raw[:min(len(raw), oversizedRaw)], p.ref(at), reason)
	}
	dec := jsontext.NewDecoder(bytes.NewBuffer(doc), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	for {
		prev := int(dec.InputOffset())
		v, err := dec.ReadValue()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// The rest of the document cannot be split into records.
			start := prev + leadingSpace(doc[prev:])
			p.stats.Read++
			at := position{line: lines.at(start), offset: offset + int64(start)}
			return p.quarantine(trimSpace(doc[start:]), p.ref(at), describe(err).Error())
		}
		end := int(dec.InputOffset())
		start := end - len(v)
		at := position{line: lines.at(start), offset: offset + int64(start)}
		if err := p.value(doc[start:end], at, "", false); err != nil {
			return err
		}
	}
}

// value handles one JSON value found at at: a Bundle, whose entries are
// the source records, or a resource, which is one. fullURL is the Bundle
// entry's fullUrl, which gives the id of a resource without one.
func (p *parser) value(raw []byte, at position, fullURL string, inBundle bool) error {
	typ := p.resourceType(raw)
	if typ == "Bundle" && !inBundle {
		return p.bundle(raw, at)
	}
	if err := p.tick(); err != nil {
		return err
	}
	p.stats.Read++
	ref := p.ref(at)
	if fullURL != "" && typ != "" {
		if id, err := referenceID(fullURL, typ); err == nil {
			ref.RecordID = id
		}
	}
	p.out = p.out[:0]
	skip, err := p.resource(raw, typ, &ref)
	if err != nil {
		if ref.RecordID == "" {
			ref.RecordID = p.r.memberString(raw, "id")
		}
		return p.quarantine(raw, ref, err.Error())
	}
	p.stats.Accepted++
	if skip != "" {
		p.stats.Skip(skip)
	}
	for i, rec := range p.out {
		p.out[i] = nil
		p.stats.Emitted++
		if err := p.sink.Record(rec); err != nil {
			return fmt.Errorf("fhir: %s:%d: sink: %w", p.file, ref.Line, err)
		}
	}
	return nil
}

// resource maps one resource of type typ, appending to p.out. It returns
// the Stats.Skipped kind when the resource is accepted but not used, or
// the reason it must be quarantined.
func (p *parser) resource(raw []byte, typ string, ref *models.SourceRef) (string, error) {
	switch typ {
	case "Patient":
		return p.patient(raw, ref)
	case "Encounter":
		return p.encounter(raw, ref)
	case "Condition":
		return p.condition(raw, ref)
	case "Observation":
		return p.observation(raw, ref)
	case "MedicationRequest", "MedicationStatement":
		return p.medication(raw, typ, ref)
	case "Procedure":
		return p.procedure(raw, ref)
	case "":
		// Either the JSON is bad, which decoding reports exactly, or the
		// member is absent.
		var h header
		if err := p.r.decode(raw, "", h.read); err != nil {
			return "", err
		}
		return "", errors.New("missing resourceType")
	}
	if !isResourceType(typ) {
		return "", fmt.Errorf("unknown resourceType %q (not FHIR R4)", typ)
	}
	return p.other(raw, typ, ref)
}

// bundle splits a Bundle into its entries, each one source record. A
// Bundle whose structure cannot be read is one quarantined record.
func (p *parser) bundle(raw []byte, at position) error {
	entries, err := p.r.bundleEntries(raw)
	if err != nil {
		if err := p.tick(); err != nil {
			return err
		}
		p.stats.Read++
		return p.quarantine(raw, p.ref(at), err.Error())
	}
	p.aliases = p.bundleAliases(raw, entries)
	defer func() { p.aliases = nil }()
	lines := lineCounter{buf: raw, line: at.line}
	for i, e := range entries {
		if !e.hasResource {
			if err := p.tick(); err != nil {
				return err
			}
			p.stats.Read++
			pos := position{line: lines.at(e.start), offset: at.offset + int64(e.start)}
			if err := p.quarantine(raw[e.start:e.end], p.ref(pos), fmt.Sprintf("Bundle.entry[%d] has no resource", i)); err != nil {
				return err
			}
			continue
		}
		pos := position{line: lines.at(e.resourceStart), offset: at.offset + int64(e.resourceStart)}
		if err := p.value(raw[e.resourceStart:e.resourceEnd], pos, e.fullURL, true); err != nil {
			return err
		}
	}
	return nil
}

// bundleAliases maps the fullUrl of each Bundle entry whose resource has
// its own, different id to "Type/id", so that a reference by fullUrl
// ("urn:uuid:…", the usual form inside transaction Bundles) resolves to
// the id the resource is recorded under. It returns nil when no entry
// needs it.
func (p *parser) bundleAliases(raw []byte, entries []bundleEntry) map[string]string {
	var aliases map[string]string
	for _, e := range entries {
		if !e.hasResource || e.fullURL == "" {
			continue
		}
		res := raw[e.resourceStart:e.resourceEnd]
		typ, id := p.resourceType(res), p.r.memberString(res, "id")
		if typ == "" || id == "" {
			continue
		}
		if fromURL, err := referenceID(e.fullURL, typ); err == nil && fromURL == id {
			continue
		}
		if aliases == nil {
			aliases = map[string]string{}
		}
		aliases[strings.TrimSpace(e.fullURL)] = typ + "/" + id
	}
	return aliases
}

// alias resolves a reference by a Bundle entry's fullUrl to that entry's
// resource; other references are returned unchanged.
func (p *parser) alias(r reference) reference {
	if to, ok := p.aliases[strings.TrimSpace(r.Reference)]; ok {
		r.Reference = to
	}
	return r
}

// resourceType returns the value of a JSON object's resourceType member,
// or "" when there is none or the JSON is too broken to find it (decoding
// then says why). Exporters put resourceType first, where it is read
// without scanning the object.
func (p *parser) resourceType(raw []byte) string {
	name, ok := leadingType(raw)
	if !ok {
		return p.r.memberString(raw, "resourceType")
	}
	switch string(name) { // compiled without allocating
	case "Patient":
		return "Patient"
	case "Encounter":
		return "Encounter"
	case "Condition":
		return "Condition"
	case "Observation":
		return "Observation"
	case "MedicationRequest":
		return "MedicationRequest"
	case "MedicationStatement":
		return "MedicationStatement"
	case "Procedure":
		return "Procedure"
	case "Bundle":
		return "Bundle"
	}
	return string(name)
}

// leadingType reads `{"resourceType":"X"` at the start of raw, allowing
// whitespace, and returns X.
func leadingType(raw []byte) ([]byte, bool) {
	const key = `"resourceType"`
	i := leadingSpace(raw)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i++
	i += leadingSpace(raw[i:])
	if !bytes.HasPrefix(raw[i:], []byte(key)) {
		return nil, false
	}
	i += len(key)
	i += leadingSpace(raw[i:])
	if i >= len(raw) || raw[i] != ':' {
		return nil, false
	}
	i++
	i += leadingSpace(raw[i:])
	if i >= len(raw) || raw[i] != '"' {
		return nil, false
	}
	name := raw[i+1:]
	j := bytes.IndexByte(name, '"')
	if j <= 0 || bytes.IndexByte(name[:j], '\\') >= 0 {
		return nil, false
	}
	return name[:j], true
}

func (p *parser) ref(at position) models.SourceRef {
	return models.SourceRef{Feed: models.FeedFHIR, File: p.file, Line: at.line, Offset: at.offset}
}

func (p *parser) quarantine(raw []byte, ref models.SourceRef, reason string) error {
	p.stats.Quarantined++
	q := models.Quarantined{Ref: ref, Reason: reason, Raw: bytes.Clone(raw)}
	if err := p.sink.Quarantine(q); err != nil {
		return fmt.Errorf("fhir: %s:%d: quarantine: %w", p.file, ref.Line, err)
	}
	return nil
}

// tick checks the context every cancelEvery records.
func (p *parser) tick() error {
	p.ticks++
	if p.ticks%cancelEvery != 0 {
		return nil
	}
	if err := p.ctx.Err(); err != nil {
		return fmt.Errorf("fhir: %s: %w", p.file, err)
	}
	return nil
}

// lineCounter turns byte positions in buf, visited in increasing order,
// into line numbers.
type lineCounter struct {
	buf  []byte
	pos  int
	line int64
}

func (c *lineCounter) at(i int) int64 {
	c.line += int64(bytes.Count(c.buf[c.pos:i], []byte{'\n'}))
	c.pos = i
	return c.line
}

// leadingSpace returns the number of JSON whitespace bytes that start b.
func leadingSpace(b []byte) int {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace removes JSON whitespace (space, tab, CR, LF) from both ends.
func trimSpace(b []byte) []byte {
	b = b[leadingSpace(b):]
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
