package cohort

import (
	"fmt"
	"os"
	"testing"

	"github.com/pophealth/pophealth/internal/synthlake"
	"github.com/pophealth/pophealth/queries"
)

// engineWithExample opens a synthetic lake of n people and compiles the
// example spec and its hand-written equivalent.
func engineWithExample(tb testing.TB, n int) (eng *queries.Engine, compiled, handwritten string) {
	tb.Helper()
	l, err := synthlake.Build(tb.Context(), tb.TempDir(), n, 5)
	if err != nil {
		tb.Fatal(err)
	}
	eng, err = queries.Open(tb.Context(), l)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	s, err := Load("examples/t2d-poor-control.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	q, err := Compile(s)
	if err != nil {
		tb.Fatal(err)
	}
	hand, err := os.ReadFile("examples/t2d-poor-control.handwritten.sql")
	if err != nil {
		tb.Fatal(err)
	}
	return eng, "SELECT person_key, index_date, exit_date FROM (" + q.Members() + ") ORDER BY person_key", string(hand)
}

// rowsText renders a result for comparison.
func rowsText(tb testing.TB, eng *queries.Engine, sql string) string {
	tb.Helper()
	res, err := eng.Query(tb.Context(), sql)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprint(res.Rows)
}

// The compiled example must select exactly the people, index and exit
// dates that the hand-written query does, on realistic synthetic data.
func TestCompile_AgreesWithHandWrittenSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the synthetic pipeline")
	}
	eng, compiled, hand := engineWithExample(t, 4000)
	got, want := rowsText(t, eng, compiled), rowsText(t, eng, hand)
	if got != want {
		t.Errorf("compiled cohort differs from the hand-written one:\ncompiled %s\nhand     %s", got, want)
	}
	if want == "[]" {
		t.Error("the hand-written cohort is empty: the comparison proves nothing")
	}
}

// BenchmarkCohort runs the example cohort compiled and hand-written on the
// same lake; the ratio of the two is the cohort language's overhead.
func BenchmarkCohort(b *testing.B) {
	eng, compiled, hand := engineWithExample(b, 20000)
	for _, bc := range []struct{ name, sql string }{{"compiled", compiled}, {"handwritten", hand}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := eng.Query(b.Context(), bc.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
