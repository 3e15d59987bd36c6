package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Acknowledgement codes (HL7 table 0008, original mode).
const (
	codeAccept = "AA"
	codeError  = "AE"
	codeReject = "AR"
)

// header is what an ACK needs from the message's MSH segment, as raw
// field values in the sender's delimiters.
type header struct {
	field byte
	enc   []byte // MSH-2, the encoding characters
	// sending/receiving application and facility: MSH-3 to MSH-6.
	sendApp, sendFac, recvApp, recvFac []byte
	trigger                            []byte // MSH-9.2
	controlID                          []byte // MSH-10
	processing                         []byte // MSH-11
	version                            []byte // MSH-12
}

// standardHeader is used to reject a frame whose own MSH cannot be read.
var standardHeader = header{field: '|', enc: []byte(`^~\&`), processing: []byte("P"), version: []byte("2.4")}

// readHeader reads the MSH segment at the start of msg. It fails, with the
// reason an AR gives, when msg is not an HL7 v2 message that can be
// acknowledged.
func readHeader(msg []byte) (header, error) {
	msg = bytes.TrimPrefix(msg, []byte("\xEF\xBB\xBF"))
	msg = bytes.TrimLeft(msg, "\r\n")
	if len(msg) < 8 || string(msg[:3]) != "MSH" {
		return header{}, errors.New("not an HL7 v2 message: no MSH segment at the start of the frame")
	}
	seg := msg
	if i := bytes.IndexAny(seg, "\r\n"); i >= 0 {
		seg = seg[:i]
	}
	if len(seg) < 8 {
		return header{}, errors.New("MSH: segment too short to hold MSH-1 and MSH-2")
	}
	h := header{field: seg[3]}
	if !isDelimiter(h.field) {
		return header{}, fmt.Errorf("MSH-1: %q cannot be a field separator", h.field)
	}
	fields := bytes.Split(seg[4:], []byte{h.field}) // fields[0] is MSH-2
	h.enc = fields[0]
	if len(h.enc) < 4 || len(h.enc) > 5 {
		return header{}, fmt.Errorf("MSH-2: want 4 encoding characters, got %q", truncate(h.enc))
	}
	seen := map[byte]bool{h.field: true}
	for _, c := range h.enc {
		if !isDelimiter(c) || seen[c] {
			return header{}, fmt.Errorf("MSH-2: encoding characters %q are not distinct punctuation", truncate(h.enc))
		}
		seen[c] = true
	}
	get := func(n int) []byte { // MSH-n, n >= 2
		if n-2 < len(fields) {
			return fields[n-2]
		}
		return nil
	}
	h.sendApp, h.sendFac, h.recvApp, h.recvFac = get(3), get(4), get(5), get(6)
	comp := h.enc[0]
	if parts := bytes.Split(get(9), []byte{comp}); len(parts) > 1 {
		h.trigger = parts[1]
	}
	h.controlID, h.processing = get(10), get(11)
	h.version = bytes.Split(get(12), []byte{comp})[0]
	switch {
	case len(bytes.TrimSpace(h.controlID)) == 0:
		return h, errors.New("MSH-10: missing message control ID")
	case len(h.version) < 3 || h.version[0] != '2' || h.version[1] != '.':
		return h, fmt.Errorf("MSH-12: unsupported version %q (want 2.x)", truncate(h.version))
	}
	return h, nil
}

func isDelimiter(c byte) bool {
	return c > ' ' && c < 0x7f && !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z')
}

func truncate(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// ack builds a framed acknowledgement of a message with header h. text is
// the reason for AE and AR; it is escaped for h's delimiters and also sent
// in ERR-8 (v2.5+ user message), where senders' engines look for it.
func ack(h header, code, text, id string, now time.Time) []byte {
	fs := h.field
	var b bytes.Buffer
	b.WriteByte(startBlock)
	b.WriteString("MSH")
	b.WriteByte(fs)
	b.Write(h.enc)
	for _, f := range [][]byte{h.recvApp, h.recvFac, h.sendApp, h.sendFac} {
		b.WriteByte(fs)
		writeClean(&b, f)
	}
	b.WriteByte(fs)
	b.WriteString(now.UTC().Format("20060102150405"))
	b.WriteByte(fs) // MSH-8 security
	b.WriteByte(fs)
	b.WriteString("ACK")
	if len(h.trigger) > 0 {
		b.WriteByte(h.enc[0])
		writeClean(&b, h.trigger)
	}
	b.WriteByte(fs)
	b.WriteString(id)
	b.WriteByte(fs)
	if len(h.processing) > 0 {
		writeClean(&b, h.processing)
	} else {
		b.WriteString("P")
	}
	b.WriteByte(fs)
	writeClean(&b, h.version)
	b.WriteByte(carriageReturn)
	b.WriteString("MSA")
	b.WriteByte(fs)
	b.WriteString(code)
	b.WriteByte(fs)
	writeClean(&b, h.controlID)
	if text != "" {
		b.WriteByte(fs)
		b.WriteString(escape(text, h))
		b.WriteByte(carriageReturn)
		// ERR: 1-7 empty, 4 severity E, 8 user message.
		b.WriteString("ERR")
		for i := 1; i <= 8; i++ {
			b.WriteByte(fs)
			if i == 4 {
				b.WriteByte('E')
			}
		}
		b.WriteString(escape(text, h))
	}
	b.WriteByte(carriageReturn)
	b.WriteByte(endBlock)
	b.WriteByte(carriageReturn)
	return b.Bytes()
}

// writeClean copies a field of the message into the ACK, with control
// bytes (which could end a segment or the frame early) made spaces.
func writeClean(b *bytes.Buffer, f []byte) {
	for _, c := range f {
		if c < ' ' || c == 0x7f {
			c = ' '
		}
		b.WriteByte(c)
	}
}

// escape encodes text for an HL7 field in h's delimiters, and drops
// control characters that would break the frame.
func escape(text string, h header) string {
	esc := h.enc[2]
	names := map[byte]byte{h.field: 'F', h.enc[0]: 'S', h.enc[1]: 'R', esc: 'E', h.enc[3]: 'T'}
	var b bytes.Buffer
	for i := 0; i < len(text); i++ {
		c := text[i]
		if n, ok := names[c]; ok {
			b.WriteByte(esc)
			b.WriteByte(n)
			b.WriteByte(esc)
			continue
		}
		if c < ' ' || c == 0x7f {
			c = ' '
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ackID makes the ACK's own control ID: unique per server run.
func ackID(prefix string, seq uint64) string {
	return prefix + strconv.FormatUint(seq, 10)
}
