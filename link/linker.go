package link

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pophealth/pophealth/models"
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
		MaxBlock:     500,
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
	Review []Pair
	Model  *Model
	Stats  LinkStats
	// JoinedBy[i] says how record i joined its cluster ("nhs_number",
	// "probabilistic" or a must-link's reason), "" when it did not (it
	// founded the cluster, or is alone).
	JoinedBy []string
	recs     []prepared
	blocker  *blocker
	anchored []bool
}

// LinkStats counts what Link did.
type LinkStats struct {
	Records int `json:"records"`
	// Anchored counts records linked deterministically by a usable NHS
	// number; Detached those whose NHS-number link was rejected because
	// their other details disagree with every other record of the number.
	Anchored int `json:"anchored"`
	Detached int `json:"detached"`
	// CandidatePairs is the number of pairs compared after blocking.
	CandidatePairs int          `json:"candidate_pairs"`
	Blocking       []BlockStats `json:"blocking"`
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
	return link(ctx, linkJob{recs: recs}, s)
}

// linkJob is one linkage: a full one (all records active, model trained)
// or an incremental one (only new records active, the model given, earlier
// clusters kept).
type linkJob struct {
	recs []Record
	// model, when set, is used as it is (its term frequencies are
	// recomputed); else it is trained on recs.
	model *Model
	// active, when set, marks the records to compare (the new ones); the
	// others are compared only with active records and their clusters
	// come from mustLink.
	active []bool
	// mustLink pairs are joined before scoring (earlier clusters, HL7
	// merges, clerical matches); cannotLink pairs are never put in one
	// cluster (clerical non-matches). Must-links that contradict a
	// cannot-link are dropped.
	mustLink, cannotLink [][2]int32
	// reasons[i], for mustLink[i], is recorded in Result.JoinedBy.
	reasons []string
	// clusters, when set, are the clusters records start in: clusters[i]
	// is the smallest index of record i's cluster (Result.Cluster's form).
	// It is how an incremental run keeps earlier clusters, cheaper than
	// one must-link per record.
	clusters []int
	// prep and keys, when set, are recs already prepared and their
	// blocking keys (a Resident index keeps them between batches).
	prep []prepared
	keys [][]uint64
	// tf, when set, holds the term-frequency counts of prep.
	tf *tfCounts
}

// validate reports settings that cannot work (a zero Settings among them:
// start from DefaultSettings).
func (s Settings) validate() error {
	var problems []string
	if !(s.Threshold > 0 && s.Threshold < 1) {
		problems = append(problems, fmt.Sprintf("threshold %v not in (0, 1)", s.Threshold))
	}
	if !(s.ReviewBelow > 0 && s.ReviewBelow <= s.ReviewAbove && s.ReviewAbove < 1) {
		problems = append(problems, fmt.Sprintf("review band [%v, %v) not within (0, 1)", s.ReviewBelow, s.ReviewAbove))
	}
	if s.GuardMean < 0 || s.GuardMean >= 1 {
		problems = append(problems, fmt.Sprintf("guard %v not in [0, 1)", s.GuardMean))
	}
	if s.RandomPairs < 1 || s.EMIterations < 1 || s.MaxBlock < 2 || s.MaxNHSGroup < 2 {
		problems = append(problems, fmt.Sprintf("random pairs %d, EM iterations %d, max block %d, max NHS group %d: want positive (blocks and groups at least 2)",
			s.RandomPairs, s.EMIterations, s.MaxBlock, s.MaxNHSGroup))
	}
	if len(problems) > 0 {
		return fmt.Errorf("link settings: %s", strings.Join(problems, "; "))
	}
	return nil
}

func link(ctx context.Context, job linkJob, s Settings) (*Result, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.Workers <= 0 {
		s.Workers = defaultWorkers()
	}
	prep, keys := job.prep, job.keys
	if prep == nil {
		prep = make([]prepared, len(job.recs))
		prepareAll(prep, job.recs, s.Workers)
	}
	if keys == nil {
		keys = blockKeys(prep, maphash.MakeSeed())
	}
	res := &Result{recs: prep, Stats: LinkStats{Records: len(prep)}, JoinedBy: make([]string, len(prep))}
	uf := newUnionFind(len(prep))
	cl := &clusterer{recs: prep, uf: uf, guard: s.GuardMean, cannot: map[[2]int32]bool{}}
	for _, p := range job.cannotLink {
		cl.cannot[ordered(p[0], p[1])] = true
	}

	// Deterministic: usable NHS numbers. A record with one is anchored:
	// two anchored records are never compared (the same number is linked
	// already, different numbers are different people), so only records
	// without a usable number are active in a full run. Only groups with
	// an active record matter in an incremental run.
	groups := nhsGroups(prep, s.MaxNHSGroup, job.active)
	anchored := make([]bool, len(prep))
	for _, g := range groups {
		for _, i := range g {
			anchored[i] = true
		}
	}
	if job.active != nil {
		// Groups were formed for active records only; every other record
		// with a usable number is anchored all the same.
		for i := range prep {
			anchored[i] = anchored[i] || prep[i].nhsUsable && !job.active[i]
		}
	}
	active := job.active
	if active == nil {
		active = make([]bool, len(prep))
		for i := range active {
			active[i] = !anchored[i]
		}
	}
	var within []pair
	for _, g := range groups {
		if job.active != nil && !slices.ContainsFunc(g, func(i int32) bool { return active[i] }) {
			continue
		}
		for x := 0; x < len(g); x++ {
			for y := x + 1; y < len(g); y++ {
				within = append(within, pair{a: g[x], b: g[y], p: comparePair(&prep[g[x]], &prep[g[y]])})
			}
		}
	}
	bl := newBlocker(prep, keys, active, anchored, s.MaxBlock, s.Workers)
	cands, bstats := bl.pairs()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	model := job.model
	if model == nil {
		model = &Model{}
		model.estimateU(prep, s.RandomPairs, s.Workers)
		res.Stats.EMIterations, res.Stats.DeterministicPrior = model.train(prep, within, cands, s)
	}
	if job.tf != nil {
		model.useTF(job.tf, prep, job.active)
	} else {
		model.estimateTF(prep, job.active)
	}
	cl.model = model
	res.Model = model
	res.Stats.Prior = model.Prior
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Earlier clusters and must-links first: they are facts (an earlier
	// run's clusters, HL7 merges, clerical decisions).
	if job.clusters != nil {
		uf.preset(job.clusters)
	}
	for k, p := range job.mustLink {
		if cl.force(int(p[0]), int(p[1])) {
			res.JoinedBy[p[1]] = job.reasons[k]
		}
	}
	// Check the deterministic links: a record whose details disagree with
	// every other record of its NHS number is detached from it and linked
	// probabilistically like a record without a number.
	detached := checkGroups(model, prep, groups, within)
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		for _, i := range g[1:] {
			if detached[i] || detached[g[0]] {
				continue
			}
			if cl.force(int(g[0]), int(i)) && res.JoinedBy[i] == "" {
				res.JoinedBy[i] = models.LinkByNHSNumber
			}
			res.Stats.Anchored++
		}
	}
	if len(detached) > 0 {
		res.Stats.Detached = len(detached)
		for i := range detached {
			anchored[i] = false
		}
		// Pairs of detached records with anchored ones were not blocked:
		// add them now.
		extra := newBlocker(prep, keys, detachedMask(len(prep), detached), anchored, s.MaxBlock, s.Workers)
		more, _ := extra.pairs()
		for _, chunk := range more {
			var keep []pair
			for _, p := range chunk {
				if !active[p.a] && !active[p.b] {
					keep = append(keep, p)
				}
			}
			cands = append(cands, keep)
		}
	}
	for _, chunk := range cands {
		res.Stats.CandidatePairs += len(chunk)
	}
	res.Stats.Blocking = bstats

	// Score, strongest first, and join under the guard.
	scored := make([][]Pair, s.Workers)
	reviewLow := Weight(s.ReviewBelow)
	var wg sync.WaitGroup
	for w := range s.Workers {
		wg.Go(func() {
			var out []Pair
			for k := w; k < len(cands); k += s.Workers {
				for _, p := range cands[k] {
					if wt := model.score(&prep[p.a], &prep[p.b], p.p); wt >= reviewLow {
						out = append(out, Pair{A: int(p.a), B: int(p.b), Weight: wt, Probability: Probability(wt)})
					}
				}
			}
			scored[w] = out
		})
	}
	wg.Wait()
	cands = nil
	all := slices.Concat(scored...)
	sort.Slice(all, func(i, j int) bool {
		if all[i].Weight != all[j].Weight {
			return all[i].Weight > all[j].Weight
		}
		return all[i].A < all[j].A || all[i].A == all[j].A && all[i].B < all[j].B
	})
	threshold := Weight(s.Threshold)
	for _, p := range all {
		if p.Weight < threshold {
			break
		}
		res.Stats.Links++
		switch joined, refused := cl.join(p.A, p.B); {
		case refused:
			res.Stats.GuardRefused++
		case joined:
			if res.JoinedBy[p.B] == "" {
				res.JoinedBy[p.B] = "probabilistic"
			}
		}
	}
	for _, p := range all {
		if p.Probability >= s.ReviewBelow && p.Probability < s.ReviewAbove {
			res.Review = append(res.Review, p)
		}
	}
	res.Cluster = make([]int, len(prep))
	for i := range prep {
		res.Cluster[i] = uf.smallest(i)
	}
	res.Stats.Clusters = uf.sets
	res.blocker, res.anchored = bl, anchored
	return res, nil
}

// train estimates m and the prior: the deterministic matches (pairs
// sharing a usable NHS number, and pairs agreeing exactly on names and
// date of birth) seed m, and EM over them and the blocked pairs estimates
// m and the expected number of matches, which over all pairs is the prior.
// It returns EM's iterations and the prior the deterministic rules alone
// would give.
func (m *Model) train(prep []prepared, within []pair, cands [][]pair, s Settings) (int, float64) {
	hist := map[pattern]float64{}
	seed := newParams()
	seeds := 0.0
	for _, p := range within {
		hist[p.p]++
		addSeed(seed, p.p)
		seeds++
	}
	for _, chunk := range cands {
		for _, p := range chunk {
			hist[p.p]++
			if deterministic(p.p) {
				addSeed(seed, p.p)
				seeds++
			}
		}
	}
	m0 := defaultM()
	if seeds >= 10 {
		m0 = normalise(seed, 1)
	}
	em := m.estimateM(hist, m0, m.U, s.EMIterations)
	n := float64(len(prep))
	allPairs := max(n*(n-1)/2, 1)
	m.Prior = clamp(em.blockedMatches/allPairs, 1e-12, 0.5)
	return em.iterations, seeds / allPairs
}

// parallel calls f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

func ordered(a, b int32) [2]int32 {
	if a > b {
		a, b = b, a
	}
	return [2]int32{a, b}
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
//
// With active set, only the groups of numbers an active record has are
// formed.
func nhsGroups(recs []prepared, maxGroup int, active []bool) [][]int32 {
	var wanted map[string]bool
	if active != nil {
		wanted = map[string]bool{}
		for i := range recs {
			if active[i] && recs[i].nhsUsable {
				wanted[recs[i].nhs] = true
			}
		}
	}
	by := map[string][]int32{}
	for i := range recs {
		if recs[i].nhsUsable && (wanted == nil || wanted[recs[i].nhs]) {
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

// detachWeight is how strongly a record's other details must speak
// against every other record of its NHS number for the number's link to
// be rejected: together at least 2^10 (about 1,000) times likelier for
// different people than for one. Missing details are no evidence and
// never detach.
const detachWeight = -10.0

// checkGroups returns the records of NHS-number groups whose best match
// within their group, on the other fields' evidence alone (no prior, no
// NHS number), is below detachWeight.
func checkGroups(m *Model, recs []prepared, groups [][]int32, within []pair) map[int32]bool {
	best := map[int32]float64{}
	nhs := 0 // index of the nhs_number comparison
	for _, p := range within {
		// The other fields' evidence alone: no prior, no NHS number.
		w := m.score(&recs[p.a], &recs[p.b], p.p) - m.priorWeight() - m.weight(nhs, p.p.level(nhs))
		for _, i := range [2]int32{p.a, p.b} {
			if v, ok := best[i]; !ok || w > v {
				best[i] = w
			}
		}
	}
	cut := float64(detachWeight)
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

// clusterer joins clusters edge by edge, strongest first, under a guard
// and the clerical cannot-links.
type clusterer struct {
	model  *Model
	recs   []prepared
	uf     *unionFind
	guard  float64
	cannot map[[2]int32]bool
}

// join links records a and b's clusters unless they are one already, the
// guard refuses or a cannot-link forbids it. joined says the clusters
// were joined now; refused that the guard refused.
func (c *clusterer) join(a, b int) (joined, refused bool) {
	ra, rb := c.uf.find(a), c.uf.find(b)
	if ra == rb || c.forbidden(ra, rb) {
		return false, false
	}
	if c.guard > 0 && !c.guardOK(ra, rb) {
		return false, true
	}
	c.uf.union(ra, rb)
	return true, false
}

// force joins a and b's clusters unless a cannot-link forbids it; it
// reports whether they were joined now.
func (c *clusterer) force(a, b int) bool {
	ra, rb := c.uf.find(a), c.uf.find(b)
	if ra == rb || c.forbidden(ra, rb) {
		return false
	}
	c.uf.union(ra, rb)
	return true
}

// forbidden reports whether a cannot-link joins members of the two sets.
func (c *clusterer) forbidden(ra, rb int) bool {
	if len(c.cannot) == 0 {
		return false
	}
	for p := range c.cannot {
		x, y := c.uf.find(int(p[0])), c.uf.find(int(p[1]))
		if x == ra && y == rb || x == rb && y == ra {
			return true
		}
	}
	return false
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

// preset puts each record i in the set of record clusters[i], which must
// be the smallest index of its set (so clusters[c] == c for every c used).
func (u *unionFind) preset(clusters []int) {
	for i, c := range clusters {
		if c == i {
			continue
		}
		u.parent[i] = int32(c)
		m, ok := u.members[c]
		if !ok {
			m = []int32{int32(c)}
		}
		u.members[c] = append(m, int32(i))
		u.sets--
	}
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

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
