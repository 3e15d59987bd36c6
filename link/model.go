package link

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Model holds the Fellegi-Sunter parameters: for each comparison level the
// probability m that two records of the same person reach it and the
// probability u that two records of different people do, and the prior
// probability that two records drawn at random are the same person. A
// level's match weight is log2(m/u); a pair's total is the prior's log-odds
// plus its levels' weights plus term-frequency adjustments, and its match
// probability is 1 / (1 + 2^-total).
type Model struct {
	// Prior is the probability that two records drawn at random match.
	Prior float64 `json:"prior"`
	// M and U are indexed [comparison][level]; level 0 (field missing)
	// has no parameters and weighs nothing.
	M [][]float64 `json:"m"`
	U [][]float64 `json:"u"`
	// tf holds, per comparison with term-frequency adjustment, each
	// value's share of the records that have one.
	tf []map[string]float64
}

// weights of a pattern, without term-frequency adjustments.
func (m *Model) weight(c, level int) float64 {
	if level == 0 {
		return 0
	}
	return math.Log2(m.M[c][level] / m.U[c][level])
}

// priorWeight is the log2 odds of the prior.
func (m *Model) priorWeight() float64 { return math.Log2(m.Prior / (1 - m.Prior)) }

// tfAdjust is the term-frequency adjustment of an exact agreement on
// value v of comparison c: log2(u / tf(v)), positive for rare values and
// negative for common ones (Smith, a big postcode).
func (m *Model) tfAdjust(c int, v string) float64 {
	if m.tf == nil || m.tf[c] == nil || v == "" {
		return 0
	}
	f, ok := m.tf[c][v]
	if !ok {
		return 0
	}
	return math.Log2(m.U[c][1] / f)
}

// score returns the total match weight of a pair.
func (m *Model) score(a, b *prepared, p pattern) float64 {
	w := m.priorWeight()
	for c := range comparisons {
		l := p.level(c)
		if l == 0 {
			continue
		}
		w += m.weight(c, l)
		if l == 1 && comparisons[c].value != nil {
			w += m.tfAdjust(c, comparisons[c].value(a))
		}
	}
	return w
}

// Probability converts a total match weight into a match probability.
func Probability(weight float64) float64 { return 1 / (1 + math.Exp2(-weight)) }

// Weight converts a match probability into a total match weight.
func Weight(probability float64) float64 { return math.Log2(probability / (1 - probability)) }

// newParams returns a [comparison][level] table of zeros.
func newParams() [][]float64 {
	t := make([][]float64, len(comparisons))
	for c := range comparisons {
		t[c] = make([]float64, len(comparisons[c].levels)+1)
	}
	return t
}

// estimateU sets U from pairs of records drawn at random, nearly all of
// which are of different people: all pairs when there are at most
// maxPairs, else maxPairs drawn with a fixed seed (results repeat).
func (m *Model) estimateU(recs []prepared, maxPairs, workers int) {
	n := len(recs)
	all := n*(n-1)/2 <= maxPairs
	parts := make([][][]float64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			counts := newParams()
			add := func(i, j int) {
				p := comparePair(&recs[i], &recs[j])
				for c := range comparisons {
					counts[c][p.level(c)]++
				}
			}
			if all {
				for i := w; i < n; i += workers {
					for j := i + 1; j < n; j++ {
						add(i, j)
					}
				}
			} else {
				r := rand.New(rand.NewPCG(0x6c696e6b, uint64(n)*uint64(workers)+uint64(w)))
				for range maxPairs / workers {
					i, j := r.IntN(n), r.IntN(n-1)
					if j >= i {
						j++
					}
					add(i, j)
				}
			}
			parts[w] = counts
		})
	}
	wg.Wait()
	counts := newParams()
	for _, part := range parts {
		for c := range part {
			for l := range part[c] {
				counts[c][l] += part[c][l]
			}
		}
	}
	m.U = normalise(counts, 1)
}

// normalise turns level counts into probabilities over the non-missing
// levels, adding pseudo to every count so that no level has probability
// zero (a level never seen in training must not weigh infinitely).
func normalise(counts [][]float64, pseudo float64) [][]float64 {
	out := newParams()
	for c := range counts {
		total := 0.0
		for l := 1; l < len(counts[c]); l++ {
			total += counts[c][l] + pseudo
		}
		for l := 1; l < len(counts[c]); l++ {
			out[c][l] = (counts[c][l] + pseudo) / total
		}
	}
	return out
}

// tfCounts counts, per comparison with term-frequency adjustment, the
// records holding each value and the records holding any.
type tfCounts struct {
	counts []map[string]int
	totals []int
}

func newTFCounts() *tfCounts {
	return &tfCounts{counts: make([]map[string]int, len(comparisons)), totals: make([]int, len(comparisons))}
}

// add counts recs' values.
func (t *tfCounts) add(recs []prepared) {
	for c, cmp := range comparisons {
		if cmp.value == nil {
			continue
		}
		if t.counts[c] == nil {
			t.counts[c] = map[string]int{}
		}
		for i := range recs {
			if v := cmp.value(&recs[i]); v != "" {
				t.counts[c][v]++
				t.totals[c]++
			}
		}
	}
}

// remove uncounts recs' values (counted by add).
func (t *tfCounts) remove(recs []prepared) {
	for c, cmp := range comparisons {
		if cmp.value == nil {
			continue
		}
		for i := range recs {
			if v := cmp.value(&recs[i]); v != "" {
				t.counts[c][v]--
				t.totals[c]--
			}
		}
	}
}

// useTF sets the model's term frequencies from t: for every value, or,
// when only some records will be compared (active set), for their values.
func (m *Model) useTF(t *tfCounts, recs []prepared, active []bool) {
	m.tf = make([]map[string]float64, len(comparisons))
	for c, cmp := range comparisons {
		if cmp.value == nil || t.totals[c] == 0 {
			continue
		}
		total := float64(t.totals[c])
		f := map[string]float64{}
		if active == nil {
			for v, k := range t.counts[c] {
				f[v] = float64(k) / total
			}
		} else {
			for i := range recs {
				if active[i] {
					if v := cmp.value(&recs[i]); v != "" {
						f[v] = float64(t.counts[c][v]) / total
					}
				}
			}
		}
		m.tf[c] = f
	}
}

// estimateTF sets the model's term frequencies from recs (see useTF).
// With active set, only the active records' values are counted (over all
// records), which in an incremental run is a few thousand values rather
// than every value of the index.
func (m *Model) estimateTF(recs []prepared, active []bool) {
	if active == nil {
		t := newTFCounts()
		t.add(recs)
		m.useTF(t, recs, nil)
		return
	}
	m.tf = make([]map[string]float64, len(comparisons))
	for c, cmp := range comparisons {
		if cmp.value == nil {
			continue
		}
		counts := map[string]int{}
		for i := range recs {
			if active[i] {
				if v := cmp.value(&recs[i]); v != "" {
					counts[v] = 0
				}
			}
		}
		total := 0
		for i := range recs {
			if v := cmp.value(&recs[i]); v != "" {
				total++
				if k, ok := counts[v]; ok {
					counts[v] = k + 1
				}
			}
		}
		if total == 0 {
			continue
		}
		f := make(map[string]float64, len(counts))
		for v, k := range counts {
			f[v] = float64(k) / float64(total)
		}
		m.tf[c] = f
	}
}

// emResult reports what expectation maximisation found.
type emResult struct {
	iterations int
	// blockedMatches is the expected number of matching pairs among the
	// pairs trained on.
	blockedMatches float64
	pairs          float64
}

// estimateM runs expectation maximisation over the histogram of training
// pairs' patterns, starting from m0 (from deterministic matches) and u0.
// It estimates m and the share of matches among the pairs; u is estimated
// alongside (the blocked pairs' u differs from the population's, which
// estimateU gives), and only m is kept.
func (m *Model) estimateM(hist map[pattern]float64, m0, u0 [][]float64, maxIter int) emResult {
	type entry struct {
		p pattern
		n float64
	}
	entries := make([]entry, 0, len(hist))
	total := 0.0
	for p, n := range hist {
		entries = append(entries, entry{p, n})
		total += n
	}
	mm, uu := clone(m0), clone(u0)
	lambda := 0.1
	res := emResult{pairs: total}
	for it := 0; it < maxIter; it++ {
		mc, uc := newParams(), newParams()
		matches := 0.0
		for _, e := range entries {
			pm, pu := lambda, 1-lambda
			for c := range comparisons {
				if l := e.p.level(c); l != 0 {
					pm *= mm[c][l]
					pu *= uu[c][l]
				}
			}
			post := pm / (pm + pu)
			matches += e.n * post
			for c := range comparisons {
				l := e.p.level(c)
				mc[c][l] += e.n * post
				uc[c][l] += e.n * (1 - post)
			}
		}
		newLambda := matches / total
		mm, uu = normalise(mc, 1e-3), normalise(uc, 1e-3)
		res.iterations = it + 1
		res.blockedMatches = matches
		if math.Abs(newLambda-lambda) < 1e-7 {
			lambda = newLambda
			break
		}
		lambda = newLambda
	}
	m.M = mm
	return res
}

func clone(t [][]float64) [][]float64 {
	out := make([][]float64, len(t))
	for i := range t {
		out[i] = append([]float64(nil), t[i]...)
	}
	return out
}

// defaultM is the starting m when a data set has no deterministic matches
// to learn from: most matches agree exactly, few disagree.
func defaultM() [][]float64 {
	m := newParams()
	for c := range comparisons {
		k := len(comparisons[c].levels)
		rest := 0.1 / float64(k-1)
		m[c][1] = 0.9
		for l := 2; l <= k; l++ {
			m[c][l] = rest
		}
	}
	return m
}

// Check validates a model read from storage.
func (m *Model) Check() error {
	if !(m.Prior > 0 && m.Prior < 1) {
		return fmt.Errorf("link model: prior %v not in (0, 1)", m.Prior)
	}
	if len(m.M) != len(comparisons) || len(m.U) != len(comparisons) {
		return fmt.Errorf("link model: %d m and %d u comparisons, want %d", len(m.M), len(m.U), len(comparisons))
	}
	for c := range comparisons {
		want := len(comparisons[c].levels) + 1
		if len(m.M[c]) != want || len(m.U[c]) != want {
			return fmt.Errorf("link model: comparison %s has %d m and %d u levels, want %d", comparisons[c].name, len(m.M[c]), len(m.U[c]), want)
		}
		for l := 1; l < want; l++ {
			if !(m.M[c][l] > 0 && m.M[c][l] <= 1 && m.U[c][l] > 0 && m.U[c][l] <= 1) {
				return fmt.Errorf("link model: comparison %s level %d: m %v, u %v not in (0, 1]", comparisons[c].name, l, m.M[c][l], m.U[c][l])
			}
		}
	}
	return nil
}
