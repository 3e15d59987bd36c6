package link

import (
	"testing"
)

// FuzzPrepare feeds arbitrary field text through normalisation and every
// comparison: nothing may panic, a record compared with itself never
// disagrees on a field it has, and levels stay within their comparison.
func FuzzPrepare(f *testing.F) {
	f.Add("Mary-Jane", "O'Brien", "1980-02-30", "SW1A 1AA", "9434765919", "f")
	f.Add("baby", "unknown", "19000101", "ZZ99 3VZ", "0000000000", "U")
	f.Add("", "", "31/12/1999", "2119", "", "")
	f.Fuzz(func(t *testing.T, given, family, dob, postcode, nhs, sex string) {
		r := Record{GivenName: given, FamilyName: family, BirthDate: dob, Postcode: postcode, NHSNumber: nhs, Sex: sex, Address: given + " " + family}
		p := prepare(&r)
		q := prepare(&Record{GivenName: family, FamilyName: given, BirthDate: dob, Postcode: postcode})
		self := comparePair(&p, &p)
		other := comparePair(&p, &q)
		for c, cmp := range comparisons {
			if l := self.level(c); l > 1 {
				t.Errorf("%s: record against itself at level %d", cmp.name, l)
			}
			if l := other.level(c); l > len(cmp.levels) {
				t.Errorf("%s: level %d of %d", cmp.name, l, len(cmp.levels))
			}
		}
	})
}

// FuzzCacheSegment decodes arbitrary bytes as an index cache records file
// (the checksum is what normally rejects damage; this is what stands behind
// it): decoding may fail but never panics, and what decodes re-encodes to
// an entry that decodes to the same values.
func FuzzCacheSegment(f *testing.F) {
	r := Record{ID: "gp/G1", NHSNumber: "9434765919", NHSStatus: "valid", GivenName: "Mary", FamilyName: "O'Brien", BirthDate: "1980-02-03", Postcode: "SW1A 1AA"}
	p := prepare(&r)
	var w cacheWriter
	w.encodeRecord(0, &source{id: r.ID, feed: "gp", localID: "G1", ingestID: "P1"}, &r, "", &p)
	f.Add(w.buf, 1)
	f.Add([]byte{0, 0, 2, 1, 'x'}, 2)
	f.Fuzz(func(t *testing.T, text []byte, n int) {
		n = max(1, min(n, 8))
		c := newCachedIndex(n)
		d := &cacheDecoder{s: string(text)}
		seen := make([]bool, n)
		for d.off < len(d.s) {
			start := d.off
			if err := c.decodeRecord(d, seen); err != nil {
				return
			}
			i, _ := (&cacheDecoder{s: d.s[start:]}).uvarint(), 0
			var e cacheWriter
			var rec Record
			decodeRaw(c.raw[i], &rec)
			e.encodeRecord(int(i), &c.sources[i], &rec, "", &c.prep[i])
			again := newCachedIndex(n)
			if err := again.decodeRecord(&cacheDecoder{s: string(e.buf)}, make([]bool, n)); err != nil {
				t.Fatalf("re-encoded entry does not decode: %v", err)
			}
			if again.sources[i] != c.sources[i] || again.raw[i] != c.raw[i] || again.prep[i] != c.prep[i] {
				t.Fatalf("entry %d re-decodes differently", i)
			}
		}
	})
}

func newCachedIndex(n int) *cachedIndex {
	return &cachedIndex{sources: make([]source, n), raw: make([]string, n), prep: make([]prepared, n)}
}
