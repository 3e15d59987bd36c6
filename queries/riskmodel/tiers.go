package riskmodel

import "math"

// Tier is a level of the Kaiser Permanente risk pyramid, 1 (highest risk)
// to 4.
type Tier int

// TierLabel names each tier with its share of the population.
func (t Tier) String() string {
	switch t {
	case 1:
		return "Very high (top 0.5%)"
	case 2:
		return "High (next 4.5%)"
	case 3:
		return "Moderate (next 15%)"
	case 4:
		return "Low (remaining 80%)"
	}
	return "unknown"
}

// AssignTiers ranks people by risk, highest first, ties broken by key
// (a keyed pseudonym: arbitrary but repeatable), and gives positions up to
// ceil(0.5% of N) tier 1, up to ceil(5% of N) tier 2, up to ceil(20% of N)
// tier 3 and the rest tier 4: the rule queries/sql/risk.sql uses. The
// result is indexed like risk.
func AssignTiers(risk []float64, key []string) []Tier {
	idx := rankOrder(risk, key, true)
	// Cumulative shares from the top at which tiers 1, 2 and 3 end.
	ends := [3]int{topCount(0.005, len(idx)), topCount(0.05, len(idx)), topCount(0.20, len(idx))}
	out := make([]Tier, len(risk))
	for pos, i := range idx {
		switch r := pos + 1; {
		case r <= ends[0]:
			out[i] = 1
		case r <= ends[1]:
			out[i] = 2
		case r <= ends[2]:
			out[i] = 3
		default:
			out[i] = 4
		}
	}
	return out
}

// topCount is ceil(share*n), rounded first so that floating-point noise
// (0.05*200 = 10.000000000000002) does not add a person.
func topCount(share float64, n int) int {
	return int(math.Ceil(math.Round(share*float64(n)*1e9) / 1e9))
}
