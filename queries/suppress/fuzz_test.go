package suppress

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzGate gates a two-column result built from arbitrary text: a label
// and a value per row, the value also tried as an integer. Whatever the
// input, Gate must not panic and must never publish a count of 1 to 7 or
// one that is not a multiple of 5 (NHS Digital) or any count of 7 or less
// (OpenSAFELY).
func FuzzGate(f *testing.F) {
	f.Add("18-44,3;45-64,25;All,28")
	f.Add("a,9f86d081884c7d659a2feaa0c55ad015;b,10")
	f.Add(",0;x,7;y, 12 ;Total,19")
	f.Add("a,1.5;b,2;c,1e3")
	f.Fuzz(func(t *testing.T, input string) {
		var rows [][]any
		for _, line := range strings.Split(input, ";") {
			label, value, _ := strings.Cut(line, ",")
			var v any = value
			if n, err := strconv.ParseInt(value, 10, 64); err == nil {
				v = n
			} else if x, err := strconv.ParseFloat(value, 64); err == nil {
				v = x
			}
			var l any = label
			if label == "" {
				l = nil
			}
			rows = append(rows, []any{l, v})
		}
		for _, p := range Profiles() {
			tab, err := Gate(p, []string{"band", "n"}, nil, rows)
			if err != nil {
				continue
			}
			for _, row := range tab.Rows {
				for _, c := range row {
					if c.Kind() != KindCount {
						continue
					}
					n, err := strconv.ParseInt(c.String(), 10, 64)
					if err != nil {
						t.Fatalf("%s: count cell %q is not a number", p, c)
					}
					if p.Small(n) || n%RoundTo != 0 {
						t.Fatalf("%s published %d from %q", p, n, input)
					}
				}
			}
		}
	})
}
