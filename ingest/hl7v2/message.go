package hl7v2

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// span is a half-open byte range [start, end) of a block's raw bytes.
type span struct{ start, end int }

// message gives access to the segments, fields, components and text values
// of one MSH-headed block. It works on the block's bytes in place: nothing
// is copied until a value is kept as a string by text.
type message struct {
	raw  []byte
	segs []span

	// Delimiters, read from MSH-1 and MSH-2.
	field, comp, rep, esc, sub byte
	// latin1 is set when MSH-18 declares ISO 8859-1: text is converted to
	// UTF-8 as it is kept.
	latin1 bool

	// scratch is reused by text for unescaping and charset conversion.
	scratch []byte

	// fields indexes the fields of the segment last looked into, which
	// fieldOf and mshField usually read several fields of in turn: finding
	// each field from the segment's start again was a third of the parse.
	fields fieldIndex
}

// fieldIndex holds the positions of the field separators of one segment.
type fieldIndex struct {
	seg  []byte
	sep  byte
	ends []int // ends[i] is the end of element i; the last is len(seg)
}

// reset starts reading a new message held in raw.
func (m *message) reset(raw []byte, segs []span) {
	m.raw, m.segs, m.latin1 = raw, segs, false
	m.fields.seg = nil // raw is reused from message to message
}

// seg returns the i-th segment, without its terminator.
func (m *message) seg(i int) []byte {
	s := m.segs[i]
	return m.raw[s.start:s.end]
}

// fieldOf returns field n (1-based, as in "PID-3") of a segment other than
// MSH, or nil when the segment is shorter.
func (m *message) fieldOf(seg []byte, n int) []byte {
	return m.element(seg, n)
}

// element returns seg's n-th (0-based) element split on the field
// separator, or nil when it has fewer, as nth(seg, m.field, n) would.
func (m *message) element(seg []byte, n int) []byte {
	fi := &m.fields
	if len(seg) == 0 || len(fi.seg) != len(seg) || &fi.seg[0] != &seg[0] || fi.sep != m.field {
		fi.seg, fi.sep, fi.ends = seg, m.field, fi.ends[:0]
		// A byte loop: fields are mostly short or empty, too short for
		// bytes.IndexByte's set-up to pay.
		for i, c := range seg {
			if c == m.field {
				fi.ends = append(fi.ends, i)
			}
		}
		fi.ends = append(fi.ends, len(seg))
	}
	switch {
	case n >= len(fi.ends):
		return nil
	case n == 0:
		return seg[:fi.ends[0]]
	}
	return seg[fi.ends[n-1]+1 : fi.ends[n]]
}

// mshField returns MSH-n for n >= 2. MSH-1 is the field separator itself,
// so MSH-n is the (n-1)-th element after splitting on it.
func (m *message) mshField(n int) []byte {
	return m.element(m.seg(0), n-1)
}

// component returns component n (1-based) of a field or repetition.
func (m *message) component(b []byte, n int) []byte { return nth(b, m.comp, n-1) }

// subcomponent returns subcomponent n (1-based) of a component.
func (m *message) subcomponent(b []byte, n int) []byte { return nth(b, m.sub, n-1) }

// repetition returns repetition n (1-based) of a field.
func (m *message) repetition(b []byte, n int) []byte { return nth(b, m.rep, n-1) }

// nextRepetition splits off the first repetition of b: it returns that
// repetition and the rest, with more false when b had no further one.
func (m *message) nextRepetition(b []byte) (head, rest []byte, more bool) {
	i := bytes.IndexByte(b, m.rep)
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+1:], true
}

// nth returns the i-th (0-based) element of b split on sep, or nil when b
// has fewer elements.
func nth(b []byte, sep byte, i int) []byte {
	for ; i > 0; i-- {
		j := bytes.IndexByte(b, sep)
		if j < 0 {
			return nil
		}
		b = b[j+1:]
	}
	if j := bytes.IndexByte(b, sep); j >= 0 {
		return b[:j]
	}
	return b
}

// value trims the spaces that some senders pad fields with and maps the
// HL7 explicit null "" (two double quotes: "delete this value") to empty,
// since pophealth keeps no history to delete from.
func value(b []byte) []byte {
	b = trimBlanks(b)
	if len(b) == 2 && b[0] == '"' && b[1] == '"' {
		return nil
	}
	return b
}

var errInvalidUTF8 = errors.New("text is not valid UTF-8 (is MSH-18 missing?)")

// text returns a field value as a string to keep: trimmed, escape
// sequences decoded, converted to UTF-8. Call it only on leaf values
// (after splitting into repetitions, components and subcomponents),
// since decoding turns \F\, \S\, \R\ and \T\ into the delimiters.
func (m *message) text(b []byte) (string, error) {
	b = value(b)
	if len(b) == 0 {
		return "", nil
	}
	if bytes.IndexByte(b, m.esc) >= 0 {
		m.scratch = m.unescape(m.scratch[:0], b)
		b = trimBlanks(m.scratch)
	}
	if m.latin1 {
		return latin1ToUTF8(b), nil
	}
	if !utf8.Valid(b) {
		return "", errInvalidUTF8
	}
	return string(b), nil
}

// trimBlanks trims ASCII spaces and tabs and nothing else. bytes.TrimSpace
// would decode the bytes as UTF-8 first, and in an 8859/1 message the
// pair 0xC2 0xA0 (the letter Â and a no-break space) reads as one Unicode
// space, so a letter would be lost.
func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// unescape appends b to dst with HL7 escape sequences decoded:
// \F\ \S\ \T\ \R\ \E\ to the message's own delimiters, \Xhh..\ to the
// bytes it spells, and \.br\ to a line feed. Highlighting (\H\ \N\),
// other formatting commands and character-set switches (\C..\ \M..\) are
// dropped; anything else, including an unterminated sequence, is kept
// as it was sent.
func (m *message) unescape(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, m.esc)
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		b = b[i+1:]
		j := bytes.IndexByte(b, m.esc)
		if j < 0 {
			dst = append(dst, m.esc)
			return append(dst, b...)
		}
		seq := b[:j]
		b = b[j+1:]
		dst = m.decodeEscape(dst, seq)
	}
}

// decodeEscape appends the meaning of one escape sequence (the bytes
// between two escape characters) to dst.
func (m *message) decodeEscape(dst, seq []byte) []byte {
	if len(seq) == 1 {
		switch seq[0] {
		case 'F':
			return append(dst, m.field)
		case 'S':
			return append(dst, m.comp)
		case 'T':
			return append(dst, m.sub)
		case 'R':
			return append(dst, m.rep)
		case 'E':
			return append(dst, m.esc)
		case 'H', 'N':
			return dst
		}
	}
	if len(seq) > 0 {
		switch seq[0] {
		case 'X':
			if out, ok := appendHex(dst, seq[1:]); ok {
				return out
			}
		case '.':
			if string(seq) == ".br" {
				return append(dst, '\n')
			}
			return dst
		case 'C', 'M':
			return dst
		}
	}
	dst = append(dst, m.esc)
	dst = append(dst, seq...)
	return append(dst, m.esc)
}

// appendHex appends the bytes spelled by an even number of hex digits.
func appendHex(dst, hex []byte) ([]byte, bool) {
	if len(hex) == 0 || len(hex)%2 != 0 {
		return dst, false
	}
	for i := 0; i < len(hex); i += 2 {
		hi, ok1 := unhex(hex[i])
		lo, ok2 := unhex(hex[i+1])
		if !ok1 || !ok2 {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
	}
	return dst, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// latin1ToUTF8 converts ISO 8859-1 bytes, where every byte is the code
// point of the same value, to a UTF-8 string.
func latin1ToUTF8(b []byte) string {
	n := len(b)
	for _, c := range b {
		if c >= 0x80 {
			n++
		}
	}
	if n == len(b) {
		return string(b)
	}
	out := make([]byte, 0, n)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

// readDelimiters reads the field separator (MSH-1) and the encoding
// characters (MSH-2) from the MSH segment, which by construction starts
// with "MSH". HL7 lets each message choose its own delimiters, so none is
// assumed. MSH-2 holds the component, repetition, escape and subcomponent
// characters, and from v2.7 a fifth, the truncation character, which
// pophealth does not need.
func (m *message) readDelimiters() error {
	msh := m.seg(0)
	if len(msh) < 4 {
		return errors.New("MSH-1: missing field separator")
	}
	fs := msh[3]
	if !isDelimiter(fs) {
		return fmt.Errorf("MSH-1: %q cannot be a field separator", fs)
	}
	enc := nth(msh[4:], fs, 0)
	if len(enc) < 4 || len(enc) > 5 {
		return fmt.Errorf("MSH-2: want 4 encoding characters, got %q", enc)
	}
	var seen [256]bool
	seen[fs] = true
	for _, c := range enc {
		if !isDelimiter(c) || seen[c] {
			return fmt.Errorf("MSH-2: encoding characters %q are not distinct punctuation", enc)
		}
		seen[c] = true
	}
	m.field, m.comp, m.rep, m.esc, m.sub = fs, enc[0], enc[1], enc[2], enc[3]
	return nil
}

// isDelimiter reports whether c may serve as an HL7 delimiter: printable
// ASCII punctuation, never a letter, digit or space that could be data.
func isDelimiter(c byte) bool {
	return c > ' ' && c < 0x7f && !isAlnum(c)
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// checkSegmentIDs verifies that every segment starts with a three-character
// upper-case alphanumeric ID followed by the field separator or the end of
// the segment, so that a garbled or mis-framed message is quarantined
// rather than half read.
func (m *message) checkSegmentIDs() error {
	for i := range m.segs {
		s := m.seg(i)
		ok := len(s) >= 3 && isSegmentIDChar(s[0]) && isSegmentIDChar(s[1]) && isSegmentIDChar(s[2]) &&
			(len(s) == 3 || s[3] == m.field)
		if !ok {
			return fmt.Errorf("segment %d: not an HL7 segment: %q", i+1, truncate(s, 16))
		}
	}
	return nil
}

func isSegmentIDChar(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' }

// truncate shortens b for quoting in a reason.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
