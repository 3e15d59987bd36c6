package mllp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MLLP framing bytes.
const (
	startBlock     = 0x0B
	endBlock       = 0x1C
	carriageReturn = 0x0D
)

// errTooLarge reports a frame longer than the limit. The frame has been
// consumed, so the connection can carry on with the next one.
var errTooLarge = errors.New("message too large")

// errGarbage reports too many bytes outside any frame.
var errGarbage = errors.New("too many bytes outside an MLLP frame")

// frameReader reads MLLP frames from a stream with bounded memory.
type frameReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, 16<<10), max: max}
}

// waitStart discards bytes up to and including the next start block. It
// returns io.EOF when the stream ends cleanly between frames.
func (f *frameReader) waitStart() error {
	skipped := 0
	for {
		c, err := f.br.ReadByte()
		if err != nil {
			return err
		}
		if c == startBlock {
			return nil
		}
		if skipped++; skipped > f.max {
			return errGarbage
		}
	}
}

// readBody reads the rest of a frame after its start block, up to the end
// block 0x1C 0x0D, and returns the message. A body longer than the limit is
// read to its end and discarded, and errTooLarge returned with its first
// bytes (enough to acknowledge it). The returned slice is valid until the
// next call.
func (f *frameReader) readBody() ([]byte, error) {
	f.buf = f.buf[:0]
	tooLarge := false
	for {
		chunk, err := f.br.ReadSlice(endBlock)
		body := chunk
		if err == nil {
			body = chunk[:len(chunk)-1]
		}
		if !tooLarge {
			if len(f.buf)+len(body) > f.max {
				tooLarge = true
				f.buf = append(f.buf, body[:f.max-len(f.buf)]...)
			} else {
				f.buf = append(f.buf, body...)
			}
		}
		switch {
		case err == nil:
			next, err := f.br.ReadByte()
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			if err != nil {
				return nil, fmt.Errorf("frame: after end block: %w", err)
			}
			if next != carriageReturn {
				// A lone 0x1C inside the message: keep it and read on.
				switch {
				case tooLarge:
				case len(f.buf) < f.max:
					f.buf = append(f.buf, endBlock)
				default:
					tooLarge = true
				}
				if err := f.br.UnreadByte(); err != nil {
					return nil, err
				}
				continue
			}
			if tooLarge {
				return f.buf, errTooLarge
			}
			return f.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
