package pseudonymise

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"
	"unicode/utf8"
)

// keyBytes is the number of HMAC output bytes kept in a pseudonym. 128 bits
// keep the chance of two of 100 million people colliding below 1e-20 while
// halving the lake's key columns.
const keyBytes = 16

// Pseudonymiser derives keyed pseudonyms. It reuses one HMAC state, so it
// is not safe for concurrent use; create one per goroutine.
type Pseudonymiser struct {
	mac hash.Hash
	sum []byte
	buf []byte
}

// New returns a Pseudonymiser keyed by k.
func New(k Key) *Pseudonymiser {
	return &Pseudonymiser{mac: hmac.New(sha256.New, k.b[:]), sum: make([]byte, 0, sha256.Size)}
}

// PersonKey returns the lake pseudonym of a linked person id.
func (p *Pseudonymiser) PersonKey(personID string) string {
	return p.derive("person", personID)
}

// EncounterKey returns the lake pseudonym of a source's visit or encounter
// number. The feed is part of the input so that two sources' equal visit
// numbers do not collide.
func (p *Pseudonymiser) EncounterKey(feed, encounterID string) string {
	return p.derive("encounter:"+feed, encounterID)
}

// Derive returns the pseudonym of an arbitrary value in a domain (for
// example a purpose re-pseudonymising person keys). Different domains never
// give the same pseudonym for the same value.
func (p *Pseudonymiser) Derive(domain, value string) string {
	return p.derive(domain, value)
}

func (p *Pseudonymiser) derive(domain, value string) string {
	// The domain is length-prefixed so that no (domain, value) pair can
	// encode to the same bytes as another.
	p.mac.Reset()
	p.buf = binary.AppendUvarint(p.buf[:0], uint64(len(domain)))
	p.buf = append(p.buf, domain...)
	p.buf = append(p.buf, value...)
	p.mac.Write(p.buf)
	p.sum = p.mac.Sum(p.sum[:0])
	return hex.EncodeToString(p.sum[:keyBytes])
}

// PostcodeDistrict returns the outward code of a UK postcode ("LS1 4AP" ->
// "LS1"), the generalisation the lake keeps. It returns "" for input that
// does not look like a postcode, so a malformed value never passes through
// unchanged. Spaces anywhere are ignored and letters may be lower case.
func PostcodeDistrict(postcode string) string {
	// ASCII input, the usual case, is read in place; other input goes
	// through Unicode case mapping and white space (a no-break space, or a
	// dotless i that upper-cases to I).
	var buf [7]byte
	n := 0
	for i := 0; i < len(postcode); i++ {
		c := postcode[i]
		switch {
		case c >= utf8.RuneSelf:
			return district([]byte(strings.ToUpper(strings.Join(strings.Fields(postcode), ""))))
		case c == ' ' || ('\t' <= c && c <= '\r'):
			continue
		case n == len(buf):
			return ""
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return district(buf[:n])
}

// district returns the outward code of an upper-case postcode without
// spaces, or "".
func district(pc []byte) string {
	// A full postcode is an outward code of 2-4 characters and an inward
	// code of digit + two letters.
	if len(pc) < 5 || len(pc) > 7 {
		return ""
	}
	in := pc[len(pc)-3:]
	if in[0] < '0' || in[0] > '9' || !isLetter(in[1]) || !isLetter(in[2]) {
		return ""
	}
	out := pc[:len(pc)-3]
	if !isLetter(out[0]) {
		return ""
	}
	for i := 1; i < len(out); i++ {
		if !isLetter(out[i]) && (out[i] < '0' || out[i] > '9') {
			return ""
		}
	}
	return string(out)
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }
