package link

import "fmt"

// Metrics are pairwise linkage quality figures against ground truth.
type Metrics struct {
	Records   int `json:"records"`
	TruePairs int `json:"true_pairs"`
	// PredictedPairs are the within-cluster pairs of the linkage's
	// clusters; TruePositives those that are true pairs.
	PredictedPairs int     `json:"predicted_pairs"`
	TruePositives  int     `json:"true_positives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	// BlockingRecall is the share of true pairs that were compared at all
	// (blocked by some rule): a pair never compared is a miss whatever the
	// model does.
	BlockingRecall float64 `json:"blocking_recall"`
}

// Evaluate scores res against truth, the true entity of each record.
func Evaluate(res *Result, truth []string) Metrics {
	pred := make([]string, len(res.Cluster))
	for i, c := range res.Cluster {
		pred[i] = fmt.Sprint(c)
	}
	m := Score(pred, truth)
	byTruth := map[string][]int32{}
	for i, t := range truth {
		byTruth[t] = append(byTruth[t], int32(i))
	}
	compared := 0
	for _, g := range byTruth {
		for x := 0; x < len(g); x++ {
			for y := x + 1; y < len(g); y++ {
				if res.compared(g[x], g[y]) {
					compared++
				}
			}
		}
	}
	m.BlockingRecall = ratio(compared, m.TruePairs)
	return m
}

// Score compares a partition of records (pred[i] is record i's predicted
// entity) with the truth, pairwise. BlockingRecall is left zero.
func Score(pred, truth []string) Metrics {
	m := Metrics{Records: len(truth)}
	cell := map[[2]string]int{}
	size := map[string]int{}
	sizeT := map[string]int{}
	for i, t := range truth {
		cell[[2]string{pred[i], t}]++
		size[pred[i]]++
		sizeT[t]++
	}
	for _, n := range size {
		m.PredictedPairs += n * (n - 1) / 2
	}
	for _, n := range sizeT {
		m.TruePairs += n * (n - 1) / 2
	}
	for _, n := range cell {
		m.TruePositives += n * (n - 1) / 2
	}
	m.Precision = ratio(m.TruePositives, m.PredictedPairs)
	m.Recall = ratio(m.TruePositives, m.TruePairs)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}

// compared reports whether linkage compared records i and j: they share a
// usable NHS number, or a blocking rule blocks them and they are not both
// anchored by different NHS numbers.
func (r *Result) compared(i, j int32) bool {
	a, b := &r.recs[i], &r.recs[j]
	if a.nhsUsable && b.nhsUsable && a.nhs == b.nhs {
		return true
	}
	if r.anchored[i] && r.anchored[j] {
		return false
	}
	return r.blocker.blocked(i, j)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}
