package hl7v2

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxMessageSize caps the bytes held for one message. Real ADT messages
// are a few kilobytes; a larger block is a framing fault (a missing MSH, a
// binary file) and is quarantined with its first maxMessageSize bytes while
// the scanner skips ahead to the next MSH. It bounds Parse's memory.
const maxMessageSize = 1 << 20

// utf8BOM is skipped where it precedes an MSH or batch header segment:
// files written by some Windows tools start with it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// A block is one source record: the bytes from an MSH segment up to the
// next MSH or batch segment, or a run of lines that precedes any MSH.
type block struct {
	raw  []byte // bytes read, capped at maxMessageSize
	segs []span // non-blank segments in raw, trailing spaces trimmed
	// end is the length of raw up to the terminator of the last non-blank
	// segment: raw[:end] is the record, without trailing blank lines or
	// MLLP framing.
	end      int
	offset   int64 // of the block's first byte in the file
	line     int64 // 1-based line of the block's first byte
	headed   bool  // begins with an MSH segment
	tooLarge bool  // more than maxMessageSize bytes; raw holds the first part
	open     bool
}

// bytes returns the record's bytes as read.
func (b *block) bytes() []byte { return b.raw[:b.end] }

func (b *block) start(offset, line int64, headed bool) {
	b.raw, b.segs = b.raw[:0], b.segs[:0]
	b.end, b.offset, b.line = 0, offset, line
	b.headed, b.tooLarge, b.open = headed, false, true
}

func (b *block) append(p []byte) {
	if b.tooLarge {
		return
	}
	if room := maxMessageSize - len(b.raw); len(p) > room {
		p = p[:room]
		b.tooLarge = true
	}
	b.raw = append(b.raw, p...)
}

// A scanner splits a stream into blocks. It reads through a bufio.Reader
// and holds one block at a time, so memory is bounded by maxMessageSize
// whatever the file's size.
//
// Segments end at CR, LF or CRLF. MLLP framing bytes (0x0B before a
// message, 0x1C 0x0D after it) end a segment too, so framed and unframed
// streams read alike. Lines are counted as an editor would count them
// with CR, LF and CRLF each ending one line; in a file with CR-only
// terminators that is the segment number.
type scanner struct {
	br   *bufio.Reader
	off  int64 // offset of the next unread byte
	line int64 // line of the next unread byte
	b    block
}

func newScanner(r io.Reader) *scanner {
	return &scanner{br: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// segmentKind classifies a line by its first bytes.
type segmentKind int

const (
	otherSegment segmentKind = iota
	mshSegment
	batchSegment // FHS, BHS, BTS, FTS: batch envelope, not a message
)

// next returns the next block, or io.EOF after the last one. The block
// and its bytes are valid only until the following call.
func (s *scanner) next() (*block, error) {
	s.b.open = false
	for {
		head, err := s.br.Peek(8)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(head) == 0 {
			if s.b.open {
				return &s.b, nil
			}
			return nil, io.EOF
		}
		bom := 0
		if bytes.HasPrefix(head, utf8BOM) {
			bom = len(utf8BOM)
		}
		kind := classify(head[bom:])
		if kind != otherSegment {
			if s.b.open {
				return &s.b, nil
			}
			s.discard(bom)
		}
		switch kind {
		case mshSegment:
			s.b.start(s.off, s.line, true)
		case batchSegment:
			// The envelope is dropped: its header and trailer carry no
			// patient data and are not messages.
			s.b.start(s.off, s.line, false)
			if err := s.readLine(); err != nil {
				return nil, err
			}
			s.b.open = false
			continue
		}
		tentative := !s.b.open
		if tentative {
			s.b.start(s.off, s.line, false)
		}
		if err := s.readLine(); err != nil {
			return nil, err
		}
		if tentative && len(s.b.segs) == 0 {
			s.b.open = false // blank line outside any message
		}
	}
}

// classify reports whether head, the first bytes of a line, starts an MSH
// or a batch envelope segment: the three letters followed by a delimiter
// (the field separator) or the end of the line.
func classify(head []byte) segmentKind {
	if len(head) < 3 || (len(head) > 3 && isAlnum(head[3])) {
		return otherSegment
	}
	switch string(head[:3]) {
	case "MSH":
		return mshSegment
	case "FHS", "BHS", "BTS", "FTS":
		return batchSegment
	}
	return otherSegment
}

// isTerminator reports whether c ends a segment.
func isTerminator(c byte) bool {
	return c == '\r' || c == '\n' || c == 0x0B || c == 0x1C
}

func indexTerminator(b []byte) int {
	for i, c := range b {
		if isTerminator(c) {
			return i
		}
	}
	return -1
}

// readLine consumes one line and its terminator into the open block,
// recording it as a segment unless it is blank.
func (s *scanner) readLine() error {
	b := &s.b
	start := len(b.raw)
	for {
		if s.br.Buffered() == 0 {
			if _, err := s.br.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					s.endLine(start, len(b.raw))
					return nil
				}
				return err
			}
		}
		buf, _ := s.br.Peek(s.br.Buffered())
		i := indexTerminator(buf)
		if i < 0 {
			b.append(buf)
			s.discard(len(buf))
			continue
		}
		b.append(buf[:i])
		contentEnd := len(b.raw)
		term := buf[i]
		b.append(buf[i : i+1])
		s.discard(i + 1)
		switch term {
		case '\r':
			s.line++
			if next, err := s.br.Peek(1); err == nil && next[0] == '\n' {
				b.append(next)
				s.discard(1)
			} else if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
		case '\n':
			s.line++
		}
		s.endLine(start, contentEnd)
		return nil
	}
}

// endLine records raw[start:contentEnd] as a segment unless it is blank.
func (s *scanner) endLine(start, contentEnd int) {
	b := &s.b
	line := b.raw[start:contentEnd]
	line = bytes.TrimRight(line, " \t")
	if len(bytes.TrimLeft(bytes.TrimPrefix(line, utf8BOM), " \t")) == 0 {
		return
	}
	b.end = len(b.raw)
	if b.tooLarge && len(b.segs) > 0 {
		// The block will be quarantined on its first segment alone; not
		// recording the rest keeps memory bounded however many lines follow.
		return
	}
	b.segs = append(b.segs, span{start, start + len(line)})
}

func (s *scanner) discard(n int) {
	d, _ := s.br.Discard(n)
	s.off += int64(d)
}
