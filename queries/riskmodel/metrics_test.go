package riskmodel

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func referenceRows(t *testing.T, rel string) []map[string]string {
	t.Helper()
	dir := os.Getenv("POPHEALTH_RISK_REFERENCE")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "risk")
	}
	f, err := os.Open(filepath.Join(dir, rel))
	if err != nil {
		t.Skipf("reference data not available (set POPHEALTH_RISK_REFERENCE): %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func TestROC_MatchesDeLongReferenceVector(t *testing.T) {
	rows := referenceRows(t, "literature/auroc_test_vectors.csv")
	if len(rows) == 0 {
		t.Fatal("no AUROC vectors")
	}
	for _, r := range rows {
		var y []bool
		var s []float64
		for _, v := range strings.Split(r["y_true"], "|") {
			y = append(y, v == "1")
		}
		for _, v := range strings.Split(r["y_score"], "|") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, f)
		}
		got, err := ROC(y, s)
		if err != nil {
			t.Fatal(err)
		}
		num := func(col string) float64 {
			f, err := strconv.ParseFloat(r[col], 64)
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			return f
		}
		for _, c := range []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"auc", got.AUC, num("expected_auc"), 5e-7},
			{"se", got.SE, num("expected_delong_se"), 5e-7},
			{"lower", got.Lower, num("expected_ci95_lower"), 5e-5},
			{"upper unclipped", got.AUC + 1.959964*got.SE, num("expected_ci95_upper_unclipped"), 5e-5},
			{"upper clipped", got.Upper, num("expected_ci95_upper_clipped"), 5e-5},
		} {
			if math.Abs(c.got-c.want) > c.tol {
				t.Errorf("%s %s: %.6f, want %.6f", r["case_id"], c.name, c.got, c.want)
			}
		}
	}
}

func TestROC_SeparationTiesAndErrors(t *testing.T) {
	y := []bool{false, false, true, true}
	for _, tc := range []struct {
		name  string
		score []float64
		want  float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, 0.5},
		{"one tie across classes", []float64{0.1, 0.5, 0.5, 0.9}, 0.875},
	} {
		got, err := ROC(y, tc.score)
		if err != nil || math.Abs(got.AUC-tc.want) > 1e-12 || got.Lower < 0 || got.Upper > 1 {
			t.Errorf("%s: %+v, %v; want AUC %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := ROC([]bool{true, true}, []float64{1, 2}); err == nil {
		t.Error("AUROC with no negatives accepted")
	}
	if _, err := ROC([]bool{true}, []float64{1, 2}); err == nil {
		t.Error("mismatched lengths accepted")
	}
}

// The DeLong variance should agree with a bootstrap on a larger sample.
func TestROC_DeLongSEAgreesWithBootstrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 600
	y := make([]bool, n)
	s := make([]float64, n)
	for i := range y {
		y[i] = rng.Float64() < 0.3
		s[i] = rng.NormFloat64()
		if y[i] {
			s[i] += 0.8
		}
	}
	got, err := ROC(y, s)
	if err != nil {
		t.Fatal(err)
	}
	var aucs []float64
	for b := 0; b < 400; b++ {
		by, bs := make([]bool, n), make([]float64, n)
		for i := range by {
			j := rng.IntN(n)
			by[i], bs[i] = y[j], s[j]
		}
		r, err := ROC(by, bs)
		if err != nil {
			t.Fatal(err)
		}
		aucs = append(aucs, r.AUC)
	}
	boot := math.Sqrt(variance(aucs))
	if math.Abs(boot-got.SE)/got.SE > 0.2 {
		t.Errorf("DeLong SE %.4f, bootstrap SE %.4f: differ by more than 20%%", got.SE, boot)
	}
}

func TestCalibration_EqualGroupsByPredictedRisk(t *testing.T) {
	pred := []float64{0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05}
	y := []bool{true, false, true, false, true, false, false, false, true, false}
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	g := Calibration(y, pred, keys, 5)
	want := []struct {
		people, events int64
		pred           float64
	}{{2, 0, 0.075}, {2, 0, 0.25}, {2, 1, 0.45}, {2, 2, 0.65}, {2, 1, 0.85}}
	for i, w := range want {
		if g[i].People != w.people || g[i].Events != w.events || math.Abs(g[i].Predicted-w.pred) > 1e-12 {
			t.Errorf("group %d: %+v, want %+v", i+1, g[i], w)
		}
	}
}

func TestPPVAtTop_FlagsCeilShareWithTiesByKey(t *testing.T) {
	pred := []float64{0.9, 0.9, 0.5, 0.1}
	y := []bool{false, true, true, false}
	keys := []string{"b", "a", "c", "d"}
	// 50% of 4 = 2 flagged: both 0.9s; one admitted.
	got := PPVAtTop(y, pred, keys, 0.5)
	if got.Flagged != 2 || got.Events != 1 || got.PPV != 0.5 || got.Sensitivity != 0.5 {
		t.Errorf("%+v", got)
	}
	// 25% of 4 = 1 flagged: the tie goes to key "a", who was admitted.
	got = PPVAtTop(y, pred, keys, 0.25)
	if got.Flagged != 1 || got.Events != 1 {
		t.Errorf("%+v", got)
	}
}

func TestAssignTiers_MatchKaiserShares(t *testing.T) {
	rows := referenceRows(t, "literature/kaiser_tiers.csv")
	cum := 0.0
	var wantShares []float64
	for _, r := range rows {
		s, _ := strconv.ParseFloat(r["population_share_pct"], 64)
		cum += s
		wantShares = append(wantShares, cum)
	}
	if len(wantShares) != 4 || math.Abs(cum-100) > 1e-9 {
		t.Fatalf("kaiser tiers %v", wantShares)
	}
	for _, n := range []int{1, 7, 199, 200, 201, 1000, 10000, 12345} {
		risk := make([]float64, n)
		keys := make([]string, n)
		for i := range risk {
			risk[i] = float64(i % 17) // many ties
			keys[i] = strconv.Itoa(1000000 + i)
		}
		tiers := AssignTiers(risk, keys)
		var counts [5]int
		for _, tr := range tiers {
			counts[tr]++
		}
		c := 0
		for tr := 1; tr <= 3; tr++ {
			c += counts[tr]
			want := int(math.Ceil(math.Round(wantShares[tr-1]/100*float64(n)*1e9) / 1e9))
			if c != want {
				t.Errorf("n=%d: tiers 1..%d hold %d, want ceil(%.1f%% of n) = %d", n, tr, c, wantShares[tr-1], want)
			}
		}
		// Higher risk never in a lower tier; ties ordered by key.
		for i := range risk {
			for j := range risk {
				if risk[i] > risk[j] && tiers[i] > tiers[j] {
					t.Fatalf("n=%d: risk %v in tier %d below risk %v in tier %d", n, risk[i], tiers[i], risk[j], tiers[j])
				}
			}
			if n > 1000 {
				break
			}
		}
	}
	if got := AssignTiers([]float64{0.5, 0.5}, []string{"b", "a"}); got[1] != 1 || got[0] != 4 {
		t.Errorf("tie not broken by key: %v", got)
	}
}
