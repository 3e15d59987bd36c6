package suppress

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGate gates results with a total column and a total row, about a
// quarter of whose cells are small, at the sizes an analyst's aggregate
// takes.
func BenchmarkGate(b *testing.B) {
	for _, n := range []int{20, 200, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		cols := []string{"band", "a", "b", "c", "total"}
		var rs [][]any
		var sums [4]int64
		for r := 0; r < n; r++ {
			row := []any{fmt.Sprintf("band %d", r)}
			var total int64
			for c := 0; c < 3; c++ {
				v := int64(8 + rng.IntN(100))
				if rng.IntN(4) == 0 {
					v = int64(1 + rng.IntN(7))
				}
				row = append(row, v)
				total += v
				sums[c] += v
			}
			sums[3] += total
			rs = append(rs, append(row, total))
		}
		rs = append(rs, []any{"Total", sums[0], sums[1], sums[2], sums[3]})
		b.Run(fmt.Sprint(n, "-rows"), func(b *testing.B) {
			for b.Loop() {
				if _, err := Gate(NHSD, cols, nil, rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
