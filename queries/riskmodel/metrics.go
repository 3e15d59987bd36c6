package riskmodel

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// AUROC is the area under the ROC curve with its DeLong standard error.
type AUROC struct {
	AUC float64 `json:"auc"`
	SE  float64 `json:"se"`
	// Lower and Upper are the 95% confidence interval AUC ± 1.96 SE,
	// clipped to [0, 1].
	Lower float64 `json:"ci95_lower"`
	Upper float64 `json:"ci95_upper"`
}

// ROC computes the AUROC of scores against outcomes, counting a tie
// between a positive and a negative as one half (Mann-Whitney), with the
// DeLong et al. (Biometrics 1988) variance computed from mid-ranks in
// O(n log n) (Sun and Xu, IEEE Signal Process Lett 2014).
func ROC(y []bool, score []float64) (AUROC, error) {
	if len(y) != len(score) {
		return AUROC{}, fmt.Errorf("riskmodel: %d outcomes, %d scores", len(y), len(score))
	}
	var pos, neg []float64
	for i, s := range score {
		if math.IsNaN(s) {
			return AUROC{}, fmt.Errorf("riskmodel: score %d is NaN", i)
		}
		if y[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	m, n := float64(len(pos)), float64(len(neg))
	if m == 0 || n == 0 {
		return AUROC{}, fmt.Errorf("riskmodel: AUROC needs both outcomes (%d positive, %d negative)", len(pos), len(neg))
	}
	all := append(append([]float64{}, pos...), neg...)
	rAll := midranks(all)
	rPos := midranks(pos)
	rNeg := midranks(neg)
	// V10[i]: share of negatives below positive i (ties half);
	// V01[j]: share of positives above negative j.
	v10 := make([]float64, len(pos))
	v01 := make([]float64, len(neg))
	sum := 0.0
	for i := range pos {
		v10[i] = (rAll[i] - rPos[i]) / n
		sum += rAll[i]
	}
	for j := range neg {
		v01[j] = 1 - (rAll[len(pos)+j]-rNeg[j])/m
	}
	auc := (sum - m*(m+1)/2) / (m * n)
	se := math.Sqrt(variance(v10)/m + variance(v01)/n)
	return AUROC{AUC: auc, SE: se, Lower: max(0, auc-1.959964*se), Upper: min(1, auc+1.959964*se)}, nil
}

// midranks returns the 1-based rank of each value with ties given their
// average rank.
func midranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j averaged
		for k := i; k < j; k++ {
			r[idx[k]] = mid
		}
		i = j
	}
	return r
}

// variance is the sample variance (n-1 denominator), 0 for fewer than two.
func variance(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - mean) * (v - mean)
	}
	return s / float64(len(x)-1)
}

// CalibrationGroup is one risk group of a calibration table.
type CalibrationGroup struct {
	Group     int     `json:"group"`
	People    int64   `json:"people"`
	Events    int64   `json:"events"`
	Predicted float64 `json:"mean_predicted"`
	Observed  float64 `json:"observed_rate"`
}

// Calibration splits people into groups of (nearly) equal size by
// predicted risk, lowest first, and compares the mean predicted risk with
// the observed rate in each. Order ties by the order key (for example the
// pseudonymous key) so the grouping is repeatable.
func Calibration(y []bool, pred []float64, order []string, groups int) []CalibrationGroup {
	idx := rankOrder(pred, order, false)
	n := len(idx)
	out := make([]CalibrationGroup, 0, groups)
	for g := 0; g < groups; g++ {
		lo, hi := g*n/groups, (g+1)*n/groups
		cg := CalibrationGroup{Group: g + 1, People: int64(hi - lo)}
		for _, i := range idx[lo:hi] {
			cg.Predicted += pred[i]
			if y[i] {
				cg.Events++
			}
		}
		if cg.People > 0 {
			cg.Predicted /= float64(cg.People)
			cg.Observed = float64(cg.Events) / float64(cg.People)
		}
		out = append(out, cg)
	}
	return out
}

// rankOrder returns indices sorted by score (descending when desc), ties
// broken by key ascending.
func rankOrder(score []float64, key []string, desc bool) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		c := cmp.Compare(score[a], score[b])
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		if key != nil {
			return cmp.Compare(key[a], key[b])
		}
		return cmp.Compare(a, b)
	})
	return idx
}

// TopPPV is the positive predictive value of flagging the highest-risk
// share of the population.
type TopPPV struct {
	Share   float64 `json:"share"`
	Flagged int64   `json:"flagged"`
	Events  int64   `json:"events"`
	PPV     float64 `json:"ppv"`
	// Sensitivity is the share of all events among the flagged.
	Sensitivity float64 `json:"sensitivity"`
}

// PPVAtTop flags the ceil(share*N) people with the highest predicted risk
// (ties by key) and reports how many had the outcome.
func PPVAtTop(y []bool, pred []float64, key []string, share float64) TopPPV {
	idx := rankOrder(pred, key, true)
	k := topCount(share, len(idx))
	t := TopPPV{Share: share, Flagged: int64(k)}
	var total int64
	for r, i := range idx {
		if y[i] {
			total++
			if r < k {
				t.Events++
			}
		}
	}
	if k > 0 {
		t.PPV = float64(t.Events) / float64(k)
	}
	if total > 0 {
		t.Sensitivity = float64(t.Events) / float64(total)
	}
	return t
}

// Brier is the mean squared difference between predicted risk and outcome.
func Brier(y []bool, pred []float64) float64 {
	s := 0.0
	for i, p := range pred {
		o := 0.0
		if y[i] {
			o = 1
		}
		s += (p - o) * (p - o)
	}
	return s / float64(max(len(pred), 1))
}
