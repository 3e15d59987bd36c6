package link

import (
	"context"
	"runtime"
	"slices"
	"sort"
)

// Settings are the linkage model's settings. The defaults (DefaultSettings)
// are used for every data set pophealth is measured on; nothing is tuned
// to one of them.
type Settings struct {
	// Threshold is the match probability at or above which a pair links.
	Threshold float64
	// ReviewBelow is the lower end of the clerical review band: pairs with
	// probability in [ReviewBelow, ReviewAbove) are listed for review.
	ReviewBelow, ReviewAbove float64
	// GuardMean is the clustering guard: two clusters join only when the
	// mean match probability of all pairs across them is at least
	// GuardMean, so that one strong link cannot chain two people
	// together. 0 turns the guard off (plain connected components).
	GuardMean float64
	// RandomPairs is how many random pairs u is estimated from.
	RandomPairs int
	// EMIterations bounds expectation maximisation.
	EMIterations int
	// MaxBlock is the largest block compared; larger ones (a value shared
	// by too many records to narrow anything) are left out and counted.
	MaxBlock int
	// MaxNHSGroup is the largest number of records one NHS number may
	// link deterministically; a number shared by more is treated as junk.
	MaxNHSGroup int
	// Workers is the number of goroutines comparing pairs (0: GOMAXPROCS).
	Workers int
}

// DefaultSettings returns the settings "pophealth link" and "link eval" use.
func DefaultSettings() Settings {
	return Settings{
		Threshold:    0.5,
		ReviewBelow:  0.05,
		ReviewAbove:  0.95,
		GuardMean:    0.5,
		RandomPairs:  250_000,
		EMIterations: 50,
		MaxBlock:     2000,
		MaxNHSGroup:  100,
	}
}

// Pair is a scored candidate pair of records, by index into the input.
type Pair struct {
	A, B int
	// Weight is the total match weight (log2 odds); Probability the
	// match probability it gives.
	Weight      float64
	Probability float64
}

// Result is the outcome of linking a set of records.
type Result struct {
	// Cluster[i] is the cluster (person) of record i: the smallest index
	// of a record in the same cluster.
	Cluster []int
	// Review lists pairs in the review band, highest probability first.
	Review   []Pair
	Model    *Model
	Stats    Stats2
	pairs    []pair
	recs     []prepared
	blocker  *blocker
	anchored []bool
}

// Stats2 counts what Link did.
type Stats2 struct {
	Records int `json:"records"`
	// Anchored counts records linked deterministically by a usable NHS
	// number; Detached those whose NHS-number link was rejected because
	// their other details disagree with every other record of the number.
	Anchored int `json:"anchored"`
	Detached int `json:"detached"`
	// CandidatePairs is the number of pairs compared after blocking.
	CandidatePairs int          `json:"candidate_pairs"`
	Blocking       []blockStats `json:"blocking"`
	// Links is the number of pairs at or above the threshold;
	// GuardRefused the cluster joins the guard refused.
	Links        int `json:"links"`
	GuardRefused int `json:"guard_refused"`
	Clusters     int `json:"clusters"`
	// EMIterations and Prior report training.
	EMIterations int     `json:"em_iterations"`
	Prior        float64 `json:"prior"`
	// DeterministicPrior is the prior the deterministic rules alone give
	// (pairs they link over all pairs), for comparison with Prior.
	DeterministicPrior float64 `json:"deterministic_prior"`
}

// Link trains a model on recs and links them: records with the same usable
// NHS number join first, then Fellegi-Sunter scores the blocked pairs and
// pairs at or above the threshold join clusters under the guard.
func Link(ctx context.Context, recs []Record, s Settings) (*Result, error) {
	if s.Workers <= 0 {
		s.Workers = runtime.GOMAXPROCS(0)
	}
	prep := make([]prepared, len(recs))
	for i := range recs {
		prep[i] = prepare(&recs[i])
	}
	res := &Result{recs: prep, Stats: Stats2{Records: len(recs)}}
	uf := newUnionFind(len(prep))

	// Deterministic: usable NHS numbers.
	groups := nhsGroups(prep, s.MaxNHSGroup)
	anchored := make([]bool, len(prep))
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		for _, i := range g {
			anchored[i] = true
		}
	}
	model := &Model{}
	model.estimateU(prep, s.RandomPairs, s.Workers)
	model.estimateTF(prep)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	active := make([]bool, len(prep))
	for i := range active {
		active[i] = !anchored[i]
	}
	bl := newBlocker(prep, active, anchored, s.MaxBlock, s.Workers)
	cands, bstats := bl.pairs()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Train: the deterministic matches (pairs sharing a usable NHS
	// number, and pairs agreeing exactly on names and date of birth) seed
	// m; EM over them and the blocked pairs estimates m and the share of
	// matches.
	hist := map[pattern]float64{}
	seed := newParams()
	seeds := 0.0
	var within []pair
	for _, g := range groups {
		for x := 0; x < len(g); x++ {
			for y := x + 1; y < len(g); y++ {
				p := pair{a: g[x], b: g[y], p: comparePair(&prep[g[x]], &prep[g[y]])}
				within = append(within, p)
			}
		}
	}
	for _, p := range within {
		hist[p.p]++
		addSeed(seed, p.p)
		seeds++
	}
	for _, p := range cands {
		hist[p.p]++
		if deterministic(p.p) {
			addSeed(seed, p.p)
			seeds++
		}
	}
	m0 := defaultM()
	if seeds >= 10 {
		m0 = normalise(seed, 1)
	}
	em := model.estimateM(hist, m0, model.U, s.EMIterations)
	n := float64(len(prep))
	allPairs := n * (n - 1) / 2
	if allPairs < 1 {
		allPairs = 1
	}
	model.Prior = clamp(em.blockedMatches/allPairs, 1e-12, 0.5)
	res.Stats.EMIterations = em.iterations
	res.Stats.Prior = model.Prior
	res.Stats.DeterministicPrior = seeds / allPairs
	res.Model = model

	// Check the deterministic links: a record whose details disagree with
	// every other record of its NHS number is detached from it and linked
	// probabilistically like a record without a number.
	detached := checkGroups(model, prep, groups, within, s.Threshold)
	for _, g := range groups {
		for _, i := range g {
			if !detached[i] && len(g) > 1 {
				uf.union(int(g[0]), int(i))
				res.Stats.Anchored++
			}
		}
	}
	if len(detached) > 0 {
		res.Stats.Detached = len(detached)
		for i := range detached {
			anchored[i] = false
		}
		// Pairs of detached records with anchored ones were not blocked:
		// add them now.
		extra := newBlocker(prep, detachedMask(len(prep), detached), anchored, s.MaxBlock, s.Workers)
		more, _ := extra.pairs()
		for _, p := range more {
			if !active[p.a] && !active[p.b] {
				cands = append(cands, p)
			}
		}
	}
	res.Stats.CandidatePairs = len(cands)
	res.Stats.Blocking = bstats

	// Score and cluster.
	scored := make([]Pair, 0, len(cands)/4)
	threshold := Weight(s.Threshold)
	reviewLow := Weight(s.ReviewBelow)
	for _, p := range cands {
		w := model.score(&prep[p.a], &prep[p.b], p.p)
		if w >= reviewLow {
			scored = append(scored, Pair{A: int(p.a), B: int(p.b), Weight: w, Probability: Probability(w)})
		}
	}
	sort.Slice(scored, func(i, j int) bool { return scored[i].Weight > scored[j].Weight })
	cl := &clusterer{model: model, recs: prep, uf: uf, guard: s.GuardMean}
	for _, p := range scored {
		if p.Weight < threshold {
			break
		}
		res.Stats.Links++
		if !cl.join(p.A, p.B) {
			res.Stats.GuardRefused++
		}
	}
	for _, p := range scored {
		if p.Probability >= s.ReviewBelow && p.Probability < s.ReviewAbove {
			res.Review = append(res.Review, p)
		}
	}
	res.Cluster = make([]int, len(prep))
	for i := range prep {
		res.Cluster[i] = uf.smallest(i)
	}
	res.Stats.Clusters = uf.sets
	res.pairs = cands
	res.blocker, res.anchored = bl, anchored
	return res, nil
}

// deterministic reports whether a pattern passes the deterministic rule
// used besides NHS numbers: names and date of birth all exactly equal.
func deterministic(p pattern) bool {
	return p.level(1) == 1 && p.level(2) == 1 && p.level(3) == 1
}

func addSeed(seed [][]float64, p pattern) {
	for c := range comparisons {
		seed[c][p.level(c)]++
	}
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(hi, v)) }

// nhsGroups groups records by usable NHS number, leaving out numbers
// shared by more than maxGroup records.
func nhsGroups(recs []prepared, maxGroup int) [][]int32 {
	by := map[string][]int32{}
	for i := range recs {
		if recs[i].nhsUsable {
			by[recs[i].nhs] = append(by[recs[i].nhs], int32(i))
		}
	}
	groups := make([][]int32, 0, len(by))
	for _, g := range by {
		if len(g) <= maxGroup {
			groups = append(groups, g)
		}
	}
	slices.SortFunc(groups, func(a, b []int32) int { return int(a[0] - b[0]) })
	return groups
}

// checkGroups returns the records of NHS-number groups whose best match
// within their group, leaving the NHS number's own evidence out, stays
// below the threshold.
func checkGroups(m *Model, recs []prepared, groups [][]int32, within []pair, threshold float64) map[int32]bool {
	best := map[int32]float64{}
	nhs := 0 // index of the nhs_number comparison
	for _, p := range within {
		w := m.score(&recs[p.a], &recs[p.b], p.p) - m.weight(nhs, p.p.level(nhs))
		for _, i := range [2]int32{p.a, p.b} {
			if v, ok := best[i]; !ok || w > v {
				best[i] = w
			}
		}
	}
	cut := Weight(threshold)
	detached := map[int32]bool{}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		bad := 0
		for _, i := range g {
			if best[i] < cut {
				bad++
			}
		}
		// In a pair that disagrees, neither is to blame more than the
		// other: detach both. In larger groups detach the odd ones out.
		if bad == len(g) || len(g) == 2 && bad > 0 {
			for _, i := range g {
				detached[i] = true
			}
			continue
		}
		for _, i := range g {
			if best[i] < cut {
				detached[i] = true
			}
		}
	}
	return detached
}

func detachedMask(n int, d map[int32]bool) []bool {
	m := make([]bool, n)
	for i := range d {
		m[i] = true
	}
	return m
}

// clusterer joins clusters edge by edge, strongest first, under a guard.
type clusterer struct {
	model *Model
	recs  []prepared
	uf    *unionFind
	guard float64
}

// join links records a and b unless they are in one cluster already or
// the guard refuses; it reports false when the guard refused.
func (c *clusterer) join(a, b int) bool {
	ra, rb := c.uf.find(a), c.uf.find(b)
	if ra == rb {
		return true
	}
	if c.guard > 0 && !c.guardOK(ra, rb) {
		return false
	}
	c.uf.union(ra, rb)
	return true
}

// maxGuardPairs bounds the cross pairs the guard scores; past it a
// deterministic sample of the members is used.
const maxGuardPairs = 400

func (c *clusterer) guardOK(ra, rb int) bool {
	ma, mb := c.uf.membersOf(ra), c.uf.membersOf(rb)
	if len(ma) == 1 && len(mb) == 1 {
		return true // the edge itself is the only cross pair
	}
	stepA, stepB := 1, 1
	for (len(ma)/stepA)*(len(mb)/stepB) > maxGuardPairs {
		if len(ma)/stepA > len(mb)/stepB {
			stepA++
		} else {
			stepB++
		}
	}
	sum, n := 0.0, 0
	for x := 0; x < len(ma); x += stepA {
		for y := 0; y < len(mb); y += stepB {
			i, j := ma[x], mb[y]
			pa, pb := &c.recs[i], &c.recs[j]
			sum += Probability(c.model.score(pa, pb, comparePair(pa, pb)))
			n++
		}
	}
	return sum/float64(n) >= c.guard
}

// unionFind is a disjoint-set forest that also keeps each set's members.
type unionFind struct {
	parent  []int32
	members map[int][]int32
	sets    int
}

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n), members: map[int][]int32{}, sets: n}
	for i := range u.parent {
		u.parent[i] = int32(i)
	}
	return u
}

func (u *unionFind) find(i int) int {
	for int(u.parent[i]) != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = int(u.parent[i])
	}
	return i
}

func (u *unionFind) membersOf(r int) []int32 {
	if m, ok := u.members[r]; ok {
		return m
	}
	return []int32{int32(r)}
}

func (u *unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	ma, mb := u.membersOf(ra), u.membersOf(rb)
	if len(ma) < len(mb) {
		ra, rb, ma, mb = rb, ra, mb, ma
	}
	u.parent[rb] = int32(ra)
	u.members[ra] = append(ma, mb...)
	delete(u.members, rb)
	u.sets--
}

// smallest returns the smallest record index in i's set.
func (u *unionFind) smallest(i int) int {
	r := u.find(i)
	m := u.membersOf(r)
	s := int(m[0])
	for _, v := range m {
		s = min(s, int(v))
	}
	return s
}
