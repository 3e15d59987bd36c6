package link

import (
	"hash/maphash"
	"slices"
	"sync"
)

// A blockingRule names the records that are compared: two records are a
// candidate pair when the rule gives both the same non-empty key. The
// rules are a union: a pair is compared when any rule blocks it, once.
type blockingRule struct {
	name string
	key  func(p *prepared) key
	// parts is how many parts the key has; all must be present.
	parts int
}

// blockingRules are the default rules. Each needs all its fields: a record
// lacking one is not blocked by that rule (another may block it).
var blockingRules = []blockingRule{
	{"nhs_number", func(p *prepared) key { return key{p.nhs} }, 1},
	{"birth_date", func(p *prepared) key { return key{p.dob} }, 1},
	{"birth_date+sex+postcode_district", func(p *prepared) key { return key{p.dob, p.sex, p.pcDistr} }, 3},
	{"family_phonetic+birth_year", func(p *prepared) key { return key{p.familyPh, year(p.dob)} }, 2},
	// Sorted, so that names written in each other's place block too.
	{"name_phonetics", func(p *prepared) key { return key{min(p.givenPh, p.familyPh), max(p.givenPh, p.familyPh)} }, 2},
	{"given_phonetic+postcode", func(p *prepared) key { return key{p.givenPh, p.postcode} }, 2},
	{"family_phonetic+postcode", func(p *prepared) key { return key{p.familyPh, p.postcode} }, 2},
	{"family_phonetic+locality", func(p *prepared) key { return key{p.familyPh, p.locality} }, 2},
	{"given_phonetic+locality", func(p *prepared) key { return key{p.givenPh, p.locality} }, 2},
	{"identifier", func(p *prepared) key { return key{p.ident} }, 1},
	{"email", func(p *prepared) key { return key{p.email} }, 1},
}

// key is a blocking key: up to three field values, all of which must be
// present ("" in a used part means the record is not blocked).
type key [3]string

// hash returns a hash of the key's first parts values, or 0 when one is
// missing.
func (k key) hash(h *maphash.Hash, parts int) uint64 {
	h.Reset()
	for _, v := range k[:parts] {
		if v == "" {
			return 0
		}
		h.WriteString(v)
		h.WriteByte(0)
	}
	return h.Sum64() | 1
}

func year(dob string) string {
	if len(dob) < 4 {
		return ""
	}
	return dob[:4]
}

// pair is a candidate pair of records (indices, a < b) with its
// comparison levels.
type pair struct {
	a, b int32
	p    pattern
}

// blocker generates candidate pairs.
type blocker struct {
	recs []prepared
	// keys[r][i] is a hash of rule r's key of record i, 0 for none.
	keys [][]uint64
	// active[i] says record i needs comparing: it has no usable NHS
	// number, or it is new in an incremental run. anchored[i] says it is
	// linked by its NHS number: two anchored records are never compared
	// (equal numbers are linked already, different numbers are different
	// people).
	active, anchored []bool
	maxBlock         int
	workers          int
}

// blockKeys hashes every rule's key of recs with seed: keys[r][i] is rule
// r's key of record i, 0 for none.
func blockKeys(recs []prepared, seed maphash.Seed) [][]uint64 {
	keys := make([][]uint64, len(blockingRules))
	var wg sync.WaitGroup
	for r := range blockingRules {
		wg.Go(func() {
			var h maphash.Hash
			h.SetSeed(seed)
			rule := blockingRules[r]
			ks := make([]uint64, len(recs))
			for i := range recs {
				ks[i] = rule.key(&recs[i]).hash(&h, rule.parts)
			}
			keys[r] = ks
		})
	}
	wg.Wait()
	return keys
}

func newBlocker(recs []prepared, keys [][]uint64, active, anchored []bool, maxBlock, workers int) *blocker {
	return &blocker{recs: recs, keys: keys, active: active, anchored: anchored, maxBlock: maxBlock, workers: workers}
}

// BlockStats counts what one blocking rule did.
type BlockStats struct {
	Rule string `json:"rule"`
	// Pairs is the number of pairs this rule added (not blocked by an
	// earlier rule).
	Pairs int64 `json:"pairs"`
	// SkippedBlocks counts blocks larger than the limit, left out (a
	// value too common to narrow anything, such as a default date).
	SkippedBlocks int64 `json:"skipped_blocks"`
}

// pairs returns every candidate pair with an active member, each once,
// with its comparison levels computed, in chunks (one per worker and rule:
// never copied into one slice, which would double the peak memory).
func (b *blocker) pairs() ([][]pair, []BlockStats) {
	var out [][]pair
	stats := make([]BlockStats, len(blockingRules))
	for r := range blockingRules {
		stats[r].Rule = blockingRules[r].name
		groups := b.groups(r, &stats[r])
		results := make([][]pair, b.workers)
		var wg sync.WaitGroup
		for w := 0; w < b.workers; w++ {
			wg.Go(func() {
				var ps []pair
				for g := w; g < len(groups); g += b.workers {
					ps = b.groupPairs(r, groups[g], ps)
				}
				results[w] = ps
			})
		}
		wg.Wait()
		for _, ps := range results {
			stats[r].Pairs += int64(len(ps))
			out = append(out, ps)
		}
	}
	return out, stats
}

// groups returns rule r's blocks with at least one active member and two
// members, as lists of record indices.
func (b *blocker) groups(r int, st *BlockStats) [][]int32 {
	type kv struct {
		k uint64
		i int32
	}
	ks := b.keys[r]
	// Only blocks holding an active record matter: collect their keys.
	want := map[uint64]bool{}
	for i, k := range ks {
		if k != 0 && b.active[i] {
			want[k] = true
		}
	}
	var members []kv
	for i, k := range ks {
		if k != 0 && want[k] {
			members = append(members, kv{k, int32(i)})
		}
	}
	slices.SortFunc(members, func(x, y kv) int {
		switch {
		case x.k < y.k:
			return -1
		case x.k > y.k:
			return 1
		}
		return int(x.i - y.i)
	})
	var groups [][]int32
	for s := 0; s < len(members); {
		e := s + 1
		for e < len(members) && members[e].k == members[s].k {
			e++
		}
		switch n := e - s; {
		case n > b.maxBlock:
			st.SkippedBlocks++
		case n >= 2:
			g := make([]int32, n)
			for k := range g {
				g[k] = members[s+k].i
			}
			groups = append(groups, g)
		}
		s = e
	}
	return groups
}

// groupPairs appends the pairs of one block of rule r that no earlier rule
// blocks.
func (b *blocker) groupPairs(r int, g []int32, out []pair) []pair {
	for x := 0; x < len(g); x++ {
		i := g[x]
		for y := x + 1; y < len(g); y++ {
			j := g[y]
			if !b.active[i] && !b.active[j] {
				continue
			}
			if b.anchored[i] && b.anchored[j] {
				continue
			}
			if b.blockedEarlier(r, i, j) {
				continue
			}
			out = append(out, pair{a: i, b: j, p: comparePair(&b.recs[i], &b.recs[j])})
		}
	}
	return out
}

func (b *blocker) blockedEarlier(r int, i, j int32) bool {
	for e := 0; e < r; e++ {
		if k := b.keys[e][i]; k != 0 && k == b.keys[e][j] {
			return true
		}
	}
	return false
}

// blocked reports whether any rule blocks records i and j.
func (b *blocker) blocked(i, j int32) bool { return b.blockedEarlier(len(blockingRules), i, j) }
