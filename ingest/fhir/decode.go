package fhir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// reader decodes a resource into a projection struct in two steps. First
// jsontext (github.com/go-json-experiment/json, the future
// encoding/json/v2) checks that the bytes are valid JSON as RFC 7493 has
// it: syntax, UTF-8, and no duplicate member names, which would make a
// resource ambiguous. Then the projection's read method walks the now
// known-good bytes with the scanning methods below, reading the members it
// names and skipping the rest without building them. This is about twice
// as fast as decoding the projection by reflection (BenchmarkDecode).
//
// The scanning methods may assume valid JSON: each is called with the
// reader at the start of a value, and reads or skips it whole. A reader is
// reused from one resource to the next; it is not safe for concurrent use.
type reader struct {
	raw []byte // the resource being read, known to be valid JSON
	pos int    // the offset in raw of the next byte to read
	// typ prefixes the paths in error messages, e.g. "Patient".
	typ string
	// scratch holds an object member name that had to be unescaped.
	scratch []byte
	// interned holds values that repeat from one resource to the next
	// (code systems, codes, units, statuses), so that they are allocated
	// once rather than for every resource.
	interned map[string]string
	// dec explains invalid JSON and finds the path of a member of the
	// wrong type, and walks Bundles and broken resources leniently.
	dec *jsontext.Decoder
	buf bytes.Buffer
}

// Bounds on reader.interned, so that a feed of unique values cannot grow
// it without limit.
const (
	maxInterned    = 4096
	maxInternedLen = 64
)

func newReader() *reader {
	r := &reader{interned: make(map[string]string)}
	r.dec = jsontext.NewDecoder(&r.buf)
	return r
}

// decode reads raw, which must be one JSON object, through read. It
// reports why it cannot: invalid JSON, or a member of the wrong JSON type,
// named by its path ("Patient.birthDate: want string, got number").
func (r *reader) decode(raw []byte, typ string, read func(*reader) error) error {
	if !jsontext.Value(raw).IsValid() {
		return r.syntaxError(raw)
	}
	r.raw, r.pos, r.typ = raw, 0, typ
	if c := r.peek(); c != '{' {
		return fmt.Errorf("want a JSON object, got %s", kindName(c))
	}
	return read(r)
}

// syntaxError explains why raw is not valid JSON.
func (r *reader) syntaxError(raw []byte) error {
	r.resetDecoder(raw, false)
	err := r.dec.SkipValue()
	if err == nil {
		if _, err = r.dec.ReadToken(); err == nil {
			return errors.New("invalid JSON: data after the top-level value")
		}
	}
	return describe(err)
}

// describe turns the decoder's errors into quarantine reasons.
func describe(err error) error {
	var syn *jsontext.SyntacticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(syn.Error(), "jsontext: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errors.New("invalid JSON: unexpected end of input")
	}
	return err
}

// peek skips whitespace and returns the first byte of the next value.
func (r *reader) peek() byte {
	r.pos += leadingSpace(r.raw[r.pos:])
	return r.raw[r.pos]
}

// object reads an object, calling member with each member's name; member
// must read or skip the value. A null is taken as an absent object.
func (r *reader) object(member func(name []byte) error) error {
	switch r.peek() {
	case '{':
	case 'n':
		return r.skip()
	default:
		return r.mismatch("object")
	}
	r.pos++
	for {
		switch r.peek() {
		case '}':
			r.pos++
			return nil
		case ',':
			r.pos++
			r.peek()
		}
		name := r.name()
		r.peek() // the colon
		r.pos++
		if err := member(name); err != nil {
			return err
		}
	}
}

// name reads an object member name and returns it without its quotes,
// unescaped; it is valid until the next call.
func (r *reader) name() []byte {
	start := r.pos
	end, escaped := endOfString(r.raw, start)
	r.pos = end
	if !escaped {
		return r.raw[start+1 : end-1]
	}
	r.scratch, _ = jsontext.AppendUnquote(r.scratch[:0], r.raw[start:end])
	return r.scratch
}

// array reads an array, calling elem for each element; elem must read or
// skip it. A null is taken as an empty array.
func (r *reader) array(elem func() error) error {
	switch r.peek() {
	case '[':
	case 'n':
		return r.skip()
	default:
		return r.mismatch("array")
	}
	r.pos++
	for {
		switch r.peek() {
		case ']':
			r.pos++
			return nil
		case ',':
			r.pos++
		}
		if err := elem(); err != nil {
			return err
		}
	}
}

// list reads an array of objects, appending each to *dst.
func list[T any](r *reader, dst *[]T, read func(*T, *reader) error) error {
	return r.array(func() error {
		var zero T
		*dst = append(*dst, zero)
		return read(&(*dst)[len(*dst)-1], r)
	})
}

// optional reads an object that may be null into *p, leaving it nil for a
// null.
func optional[T any](r *reader, p **T, read func(*T, *reader) error) error {
	if r.peek() == 'n' {
		return r.skip()
	}
	*p = new(T)
	return read(*p, r)
}

// str reads a string; null reads as "".
func (r *reader) str() (string, error) {
	switch r.peek() {
	case '"':
		start := r.pos
		end, escaped := endOfString(r.raw, start)
		r.pos = end
		if !escaped {
			return string(r.raw[start+1 : end-1]), nil
		}
		b, err := jsontext.AppendUnquote(nil, r.raw[start:end])
		return string(b), err
	case 'n':
		return "", r.skip()
	}
	return "", r.mismatch("string")
}

// code reads a string like str, for values that repeat across resources
// (code systems, codes, units, statuses), which it interns.
func (r *reader) code() (string, error) {
	if r.peek() != '"' {
		return r.str()
	}
	start := r.pos
	end, escaped := endOfString(r.raw, start)
	if escaped || end-start-2 > maxInternedLen {
		return r.str()
	}
	r.pos = end
	v := r.raw[start+1 : end-1]
	if s, ok := r.interned[string(v)]; ok {
		return s, nil
	}
	s := string(v)
	if len(r.interned) < maxInterned {
		r.interned[s] = s
	}
	return s, nil
}

// number reads a number; null reads as nil.
func (r *reader) number() (*float64, error) {
	switch c := r.peek(); {
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.pos
		r.pos = endOfLiteral(r.raw, start)
		f, err := strconv.ParseFloat(string(r.raw[start:r.pos]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: number %s out of range", r.pathAt(start), r.raw[start:r.pos])
		}
		return &f, nil
	case c == 'n':
		return nil, r.skip()
	}
	return nil, r.mismatch("number")
}

// skip reads past a value the projection does not use.
func (r *reader) skip() error {
	switch r.peek() {
	case '"':
		r.pos, _ = endOfString(r.raw, r.pos)
	case '{', '[':
		r.pos = endOfContainer(r.raw, r.pos)
	default:
		r.pos = endOfLiteral(r.raw, r.pos)
	}
	return nil
}

// mismatch reports a value of the wrong JSON type.
func (r *reader) mismatch(want string) error {
	return fmt.Errorf("%s: want %s, got %s", r.pathAt(r.pos), want, kindName(r.raw[r.pos]))
}

// pathAt returns the path of the value starting at offset in r.raw, as a
// FHIRPath-like path: "/identifier/0/value" in a Patient becomes
// "Patient.identifier[0].value". It decodes again up to the offset, which
// is slow, but only error messages need it.
func (r *reader) pathAt(offset int) string {
	r.resetDecoder(r.raw, false)
	for r.dec.InputOffset() <= int64(offset) {
		if _, err := r.dec.ReadToken(); err != nil {
			break
		}
	}
	var b strings.Builder
	b.WriteString(r.typ)
	for tok := range r.dec.StackPointer().Tokens() {
		if digits(tok) {
			b.WriteString("[" + tok + "]")
		} else {
			b.WriteString("." + tok)
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

func kindName(c byte) string {
	switch c {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "number"
}

// endOfString returns the offset just past the JSON string starting at
// raw[start], and whether it holds escapes.
func endOfString(raw []byte, start int) (end int, escaped bool) {
	i := start + 1
	for {
		q := i + bytes.IndexByte(raw[i:], '"')
		if bytes.IndexByte(raw[i:q], '\\') < 0 {
			return q + 1, escaped
		}
		escaped = true
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for raw[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q + 1, true
		}
		i = q + 1
	}
}

// endOfContainer returns the offset just past the object or array
// starting at raw[start].
func endOfContainer(raw []byte, start int) int {
	depth := 0
	for i := start; ; i++ {
		switch raw[i] {
		case '"':
			end, _ := endOfString(raw, i)
			i = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
}

// endOfLiteral returns the offset just past the number, true, false or
// null starting at raw[start].
func endOfLiteral(raw []byte, start int) int {
	i := start
	for i < len(raw) && (raw[i] == '-' || raw[i] == '+' || raw[i] == '.' ||
		(raw[i] >= '0' && raw[i] <= '9') || (raw[i] >= 'a' && raw[i] <= 'z') || raw[i] == 'E') {
		i++
	}
	return i
}

// resetDecoder points the jsontext decoder at raw. A lenient decoder
// allows invalid UTF-8 and duplicate names: it walks structures whose
// parts are checked strictly later, one by one (a Bundle's entries), so
// that one bad entry does not cost the others.
func (r *reader) resetDecoder(raw []byte, lenient bool) {
	r.buf.Reset()
	r.buf.Write(raw)
	if lenient {
		r.dec.Reset(&r.buf, jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	} else {
		r.dec.Reset(&r.buf)
	}
}

// memberString returns the string value of the named top-level member of
// the JSON object in raw, stopping as soon as it is found. It is lenient
// about everything else, so that it finds the resourceType of a resource
// that does not list it first, or the id of one quarantined for bad JSON
// further on; it returns "" when it cannot.
func (r *reader) memberString(raw []byte, name string) string {
	r.resetDecoder(raw, true)
	if tok, err := r.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	for r.dec.PeekKind() != '}' {
		tok, err := r.dec.ReadToken()
		if err != nil {
			return ""
		}
		if tok.String() == name && r.dec.PeekKind() == '"' {
			if tok, err = r.dec.ReadToken(); err != nil {
				return ""
			}
			return tok.String()
		}
		if err := r.dec.SkipValue(); err != nil {
			return ""
		}
	}
	return ""
}

// bundleEntry is where one Bundle entry and its resource lie in the
// Bundle's bytes.
type bundleEntry struct {
	start, end                 int
	resourceStart, resourceEnd int
	fullURL                    string
	hasResource                bool
}

// bundleEntries finds the entries of a Bundle. It checks the Bundle's
// syntax but leaves UTF-8 and duplicate names to the decoding of each
// entry's resource, so that one bad entry does not cost the others.
func (r *reader) bundleEntries(raw []byte) ([]bundleEntry, error) {
	r.resetDecoder(raw, true)
	var entries []bundleEntry
	err := r.walkBundle(func(e bundleEntry) { entries = append(entries, e) })
	if err == nil {
		if _, err = r.dec.ReadToken(); err == io.EOF {
			return entries, nil
		} else if err == nil {
			err = errors.New("invalid JSON: data after the Bundle")
		}
	}
	return nil, describe(err)
}

func (r *reader) walkBundle(entry func(bundleEntry)) error {
	if _, err := r.dec.ReadToken(); err != nil { // '{', as resourceType found it
		return err
	}
	for r.dec.PeekKind() != '}' {
		name, err := r.dec.ReadToken()
		if err != nil {
			return err
		}
		if name.String() != "entry" || r.dec.PeekKind() == 'n' {
			if err := r.dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		if r.dec.PeekKind() != '[' {
			if err := r.dec.SkipValue(); err != nil {
				return err
			}
			return errors.New("Bundle.entry: want array")
		}
		if _, err := r.dec.ReadToken(); err != nil {
			return err
		}
		for r.dec.PeekKind() != ']' {
			e, err := r.bundleEntry()
			if err != nil {
				return err
			}
			entry(e)
		}
		if _, err := r.dec.ReadToken(); err != nil {
			return err
		}
	}
	_, err := r.dec.ReadToken()
	return err
}

// bundleEntry reads one element of Bundle.entry, noting where it and its
// resource lie.
func (r *reader) bundleEntry() (bundleEntry, error) {
	if r.dec.PeekKind() != '{' {
		v, err := r.dec.ReadValue()
		end := int(r.dec.InputOffset())
		return bundleEntry{start: end - len(v), end: end}, err
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return bundleEntry{}, err
	}
	e := bundleEntry{start: int(r.dec.InputOffset()) - 1}
	for r.dec.PeekKind() != '}' {
		tok, err := r.dec.ReadToken()
		if err != nil {
			return e, err
		}
		name := tok.String() // before the token is voided by PeekKind
		switch kind := r.dec.PeekKind(); {
		case name == "resource" && kind == '{':
			v, err := r.dec.ReadValue()
			if err != nil {
				return e, err
			}
			e.resourceEnd = int(r.dec.InputOffset())
			e.resourceStart = e.resourceEnd - len(v)
			e.hasResource = true
		case name == "fullUrl" && kind == '"':
			tok, err := r.dec.ReadToken()
			if err != nil {
				return e, err
			}
			e.fullURL = tok.String()
		default:
			if err := r.dec.SkipValue(); err != nil {
				return e, err
			}
		}
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return e, err
	}
	e.end = int(r.dec.InputOffset())
	return e, nil
}
