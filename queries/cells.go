package queries

// Label returns a text cell (a tier name, a feature name) for reports
// built outside this package, such as the risk model's.
func Label(s string) Cell { return label(s) }

// Ratio returns num/den*scale to one decimal place, withheld under the same
// small-number rule as every report (see ratio), for reports built outside
// this package.
func Ratio(num, den int64, scale float64) Cell { return ratio(num, den, scale) }
