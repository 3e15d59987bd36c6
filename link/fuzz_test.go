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
