package gpcsv

import (
	"bytes"
	"errors"
	"io"
	"slices"
)

// maxRecordBytes bounds how far one record may run: the input the parser
// holds at any time, and how much it re-reads after a malformed record. A
// GP extract row is a few hundred bytes; only an unterminated quote, or a
// file that is not CSV at all, comes near the bound.
const maxRecordBytes = 64 << 10

// errRecordTooLong is what a tape returns, instead of more input, once the
// current record has run past the tape's bound.
var errRecordTooLong = errors.New("record too long")

// tape is the io.Reader under the parser's csv.Reader. It keeps a window of
// the input from the start of the current record to the last byte read
// from the source, so that the parser can:
//
//   - cut a record's original bytes out of the input by offset, for
//     Quarantined.Raw;
//   - rewind to any offset in the window and read again from there with a
//     new csv.Reader, after a malformed record has swallowed the lines that
//     follow it;
//   - bound memory, because the tape refuses to return more than bound bytes
//     past the start of the current record (errRecordTooLong), where a
//     csv.Reader alone would buffer an unterminated quoted field to the end
//     of the file. Whether it refuses depends only on the input, never on
//     how the source splits its reads.
//
// Offsets are byte offsets in the source. The window is compacted lazily,
// when it needs room, so each input byte is copied about once.
type tape struct {
	src   io.Reader
	err   error  // the source's first error, returned once the window is drained
	buf   []byte // buf[i] is the input byte at offset base+i
	base  int64
	pos   int   // index in buf of the next byte Read returns
	mark  int64 // offset of the start of the current record; bytes before it may be dropped
	bound int   // how many bytes past mark Read will return
}

func newTape(src io.Reader, bound int) *tape {
	return &tape{src: src, buf: make([]byte, 0, 16<<10), bound: bound}
}

// Read implements io.Reader: it returns bytes from the window after a
// rewind, and reads from the source once the window is exhausted. At the
// bound it returns errRecordTooLong, unless the input ends there.
func (t *tape) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	limit := int(t.mark + int64(t.bound) - t.base) // index in buf of the first byte past the bound
	if t.pos >= limit {
		if t.pos == len(t.buf) {
			// Whether the input goes on past the bound takes a read to know.
			if err := t.fill(1); err != nil {
				return 0, err
			}
		}
		return 0, errRecordTooLong
	}
	if t.pos == len(t.buf) {
		if err := t.fill(min(len(p), limit-t.pos)); err != nil {
			return 0, err
		}
	}
	n := copy(p, t.buf[t.pos:min(len(t.buf), limit)])
	t.pos += n
	return n, nil
}

// fill reads up to want more bytes from the source into the window. It
// returns nil once at least one byte was added.
func (t *tape) fill(want int) error {
	if t.err != nil {
		return t.err
	}
	if cap(t.buf)-len(t.buf) < want {
		t.compact()
		t.buf = slices.Grow(t.buf, want)
	}
	// Like bufio.Reader, give up on a source that keeps returning nothing.
	for range 100 {
		n, err := t.src.Read(t.buf[len(t.buf) : len(t.buf)+want])
		t.buf = t.buf[:len(t.buf)+n]
		if err != nil {
			t.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	t.err = io.ErrNoProgress
	return t.err
}

// compact drops the bytes before mark.
func (t *tape) compact() {
	dead := int(t.mark - t.base)
	if dead <= 0 {
		return
	}
	n := copy(t.buf, t.buf[dead:])
	t.buf = t.buf[:n]
	t.pos -= dead
	t.base = t.mark
}

// end returns the offset just past the last byte read from the source.
func (t *tape) end() int64 { return t.base + int64(len(t.buf)) }

// prefix returns the first n bytes of the input, or all of it if shorter,
// without consuming them. It is only valid before the first Read.
func (t *tape) prefix(n int) []byte {
	for len(t.buf) < n && t.fill(n-len(t.buf)) == nil {
	}
	return t.buf[:min(n, len(t.buf))]
}

// release declares off the start of the current record: bytes before it
// are no longer needed, and the bound counts from there.
func (t *tape) release(off int64) { t.mark = off }

// rewind makes off, which must lie in the window, both the next byte Read
// returns and the start of the current record.
func (t *tape) rewind(off int64) {
	t.pos = int(off - t.base)
	t.mark = off
}

// window returns the input from offset from to offset to, both in the
// window. The slice is valid until the next Read.
func (t *tape) window(from, to int64) []byte {
	return t.buf[from-t.base : to-t.base]
}

// line returns the input from off, which must lie in the window at or
// after mark, through the next newline, reading on from the source as it
// must. ok is false when no newline comes within the bound from mark, or
// before the input ends or the source fails (a Read will then say so). Like
// Read, it never reads past the bound. The slice is valid until the next
// Read or line; Read is unaffected.
func (t *tape) line(off int64) (line []byte, ok bool) {
	searched := off // the window holds no newline in [off, searched)
	for {
		if i := bytes.IndexByte(t.buf[searched-t.base:], '\n'); i >= 0 {
			end := searched + int64(i) + 1
			if end > t.mark+int64(t.bound) {
				return nil, false
			}
			return t.buf[off-t.base : end-t.base], true
		}
		// Never read past the bound: what a record that reaches it becomes
		// depends on the window ending there (parser.cutBack).
		searched = t.end()
		room := t.mark + int64(t.bound) - searched
		if room <= 0 || t.fill(int(min(room, 16<<10))) != nil {
			return nil, false
		}
	}
}

// skipLine discards the input from off, which must lie in the window,
// through the next newline, reading on from the source as far as it must
// without keeping what it reads. It returns the offset after the newline,
// or of the end of the input, and makes it the next byte Read returns.
func (t *tape) skipLine(off int64) (int64, error) {
	for {
		if i := bytes.IndexByte(t.buf[off-t.base:], '\n'); i >= 0 {
			off += int64(i) + 1
			t.rewind(off)
			return off, nil
		}
		off = t.end()
		t.base, t.buf, t.pos, t.mark = off, t.buf[:0], 0, off
		if err := t.fill(cap(t.buf)); err == io.EOF {
			return off, nil
		} else if err != nil {
			return off, err
		}
	}
}
