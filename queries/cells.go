package queries

import (
	"strconv"

	"github.com/pophealth/pophealth/queries/suppress"
)

// Label returns a text cell (a tier name, a feature name) for reports
// built outside this package, such as the risk model's.
func Label(s string) Cell { return label(s) }

// Ratio returns num/den*scale to one decimal place, withheld under the same
// small-number rule as every report (see ratio), for reports built outside
// this package.
func Ratio(num, den int64, scale float64) Cell { return ratio(num, den, scale) }

// RatioAs is Ratio under suppression profile p, for reports made under a
// purpose: the numerator is withheld as p withholds a count.
func RatioAs(p suppress.Profile, num, den int64, scale float64) Cell {
	return ratioAs(p, num, den, scale)
}

// Mean returns v (a mean or modelled value over n people, such as a mean
// predicted risk) to the given decimal places, withheld when n is 1 to 7
// like any rate over a small number, and not applicable over nobody.
func Mean(v float64, n int64, decimals int) Cell {
	switch {
	case n == 0:
		return Cell{kind: kindEmpty, text: "-"}
	case n < 0 || n <= suppressMax:
		return Cell{kind: kindSuppressed, text: "*"}
	}
	return Cell{kind: kindNumber, text: strconv.FormatFloat(v, 'f', decimals, 64)}
}
