package suppress

import (
	"fmt"
	"strings"
)

// Profile names a suppression rule. Purpose configs name one (output:
// suppression); reports for commissioners use NHSD.
type Profile string

// The profiles pophealth implements.
const (
	NHSD       Profile = "nhsd"
	OpenSAFELY Profile = "opensafely"
)

// Threshold is the largest count either profile withholds, and RoundTo the
// base every published count is rounded to.
const (
	Threshold = 7
	RoundTo   = 5
)

// Profiles lists every profile, for help texts and validation.
func Profiles() []Profile { return []Profile{NHSD, OpenSAFELY} }

// ParseProfile returns the profile called name.
func ParseProfile(name string) (Profile, error) {
	for _, p := range Profiles() {
		if string(p) == name {
			return p, nil
		}
	}
	return "", fmt.Errorf("suppress: unknown profile %q (want one of %s)", name, strings.Join([]string{string(NHSD), string(OpenSAFELY)}, ", "))
}

// Small reports whether the profile withholds count n. A negative n cannot
// be a count and is always withheld.
func (p Profile) Small(n int64) bool {
	if p == OpenSAFELY {
		return n <= Threshold
	}
	return n < 0 || n > 0 && n <= Threshold
}

// Publish returns the cell showing count n on its own (no secondary
// suppression): withheld when Small, else rounded to the nearest RoundTo.
// A profile this package does not know withholds everything.
func (p Profile) Publish(n int64) Cell {
	if p != NHSD && p != OpenSAFELY || p.Small(n) {
		return withheld
	}
	return countCell(Round(n))
}

// Round rounds a non-negative count to the nearest RoundTo (halves cannot
// occur for whole numbers).
func Round(n int64) int64 { return (n + RoundTo/2) / RoundTo * RoundTo }

// Rule describes the profile in one sentence, for the notes under a table.
func (p Profile) Rule() string {
	if p == OpenSAFELY {
		return "Small numbers (OpenSAFELY): counts of 7 or fewer, including 0, are redacted as *; other counts are rounded to the nearest 5; " +
			"totals are the sums of the published counts; cells that would let a redacted count be worked out from totals are redacted too."
	}
	return "Small numbers (NHS Digital): counts of 1 to 7 are shown as *; other counts are rounded to the nearest 5 and totals are rounded separately; " +
		"cells that would let a withheld count be worked out from totals are withheld too."
}
