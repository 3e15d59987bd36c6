package dataset

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pophealth/pophealth/link"
)

func TestDebugGuard(t *testing.T) {
	dir := linkageData(t)
	febrl := Options{Truth: "rec_id", TruthPattern: `^rec-(\d+)-`}
	for _, f := range []string{"febrl3/dataset3.csv", "fake_1000/fake_1000.csv"} {
		o := febrl
		if f[0] == 'f' && f[1] == 'a' {
			o = Options{Truth: "cluster"}
		}
		t0 := time.Now()
		tb, _ := Load(t.Context(), filepath.Join(dir, f), o)
		t1 := time.Now()
		for _, g := range []float64{0, 0.5, 0.8} {
			s := link.DefaultSettings()
			s.GuardMean = g
			t2 := time.Now()
			res, _ := link.Link(t.Context(), tb.Records, s)
			m := link.Evaluate(res, tb.Truth)
			fmt.Printf("%s guard %.1f: P %.4f R %.4f F1 %.4f refused %d load %v link %v\n", f, g, m.Precision, m.Recall, m.F1, res.Stats.GuardRefused, t1.Sub(t0), time.Since(t2))
		}
	}
}
