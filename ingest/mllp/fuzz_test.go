package mllp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// FuzzFrames feeds arbitrary streams to the frame reader and acknowledges
// every frame it yields, as a connection would: no panic, no frame over
// the limit, every ACK framed.
func FuzzFrames(f *testing.F) {
	f.Add(frame(ukA01))
	f.Add(append(frame(ukA01), "garbage\x0bMSH|^~\\&|\x1c\x1c\r"...))
	f.Add([]byte("\x0bMSH|$!/@|A|B|C|D|20240101||ADT$A01|X|P|2.5\r\x1c\r"))
	const max = 512
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data), max)
		for i := 0; i < 1000; i++ {
			if err := fr.waitStart(); err != nil {
				return
			}
			msg, err := fr.readBody()
			if err != nil && !errors.Is(err, errTooLarge) {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("readBody: %v", err)
				}
				return
			}
			if len(msg) > max {
				t.Fatalf("frame of %d bytes exceeds the limit %d", len(msg), max)
			}
			h, err := readHeader(msg)
			if err != nil && h.field == 0 {
				h = standardHeader
			}
			a := ack(h, codeReject, "reason with | ^ ~ \\ & \r\n and more", "ID1", time.Unix(0, 0))
			if a[0] != startBlock || !bytes.HasSuffix(a, []byte{endBlock, carriageReturn}) ||
				bytes.IndexByte(a[1:len(a)-2], startBlock) >= 0 || bytes.IndexByte(a[1:len(a)-2], endBlock) >= 0 {
				t.Fatalf("ACK not cleanly framed: %q", a)
			}
		}
	})
}
