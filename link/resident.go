package link

import (
	"context"
	"fmt"
	"hash/maphash"
)

// Resident is a linked index held in memory: records prepared for
// comparison, their blocking keys, the model and the clusters. Add links a
// new batch against it without preparing, re-keying or relinking what is
// already there, which is what makes an incremental batch fast in a
// long-running process (a scheduler or server) that keeps the index
// between batches. It is not safe for concurrent use.
type Resident struct {
	s       Settings
	seed    maphash.Seed
	prep    []prepared
	keys    [][]uint64
	model   *Model
	cluster []int
	tf      *tfCounts
}

// NewResident trains a model on recs and links them (as Link does),
// keeping the index for Add.
func NewResident(ctx context.Context, recs []Record, s Settings) (*Resident, *Result, error) {
	r := &Resident{s: s, seed: maphash.MakeSeed(), tf: newTFCounts()}
	// Room to grow, so that batches append without copying the index.
	r.prep = make([]prepared, len(recs), len(recs)+len(recs)/4)
	prepareAll(r.prep, recs, workers(s))
	r.keys = blockKeys(r.prep, r.seed)
	for k, ks := range r.keys {
		r.keys[k] = append(make([]uint64, 0, cap(r.prep)), ks...)
	}
	r.tf.add(r.prep)
	res, err := link(ctx, linkJob{prep: r.prep, keys: r.keys, tf: r.tf}, s)
	if err != nil {
		return nil, nil, err
	}
	r.model, r.cluster = res.Model, res.Cluster
	return r, res, nil
}

// Len returns the number of records in the index.
func (r *Resident) Len() int { return len(r.prep) }

// Add links recs against the index with the index's model: the new records
// are compared with every record in their blocks, earlier clusters stand
// (two may merge through a new record, under the guard). The result covers
// every record, the new ones at indices Len() before the call onward.
func (r *Resident) Add(ctx context.Context, recs []Record) (*Result, error) {
	old := len(r.prep)
	add := make([]prepared, len(recs))
	prepareAll(add, recs, workers(r.s))
	// Appending may reuse the index's arrays; on failure the index keeps
	// its old length, so what lies beyond it is never read.
	prep := append(r.prep, add...)
	newKeys := blockKeys(add, r.seed)
	keys := make([][]uint64, len(blockingRules))
	for k := range keys {
		keys[k] = append(r.keys[k], newKeys[k]...)
	}
	active := make([]bool, len(prep))
	for i := old; i < len(prep); i++ {
		active[i] = true
	}
	clusters := make([]int, len(prep))
	copy(clusters, r.cluster)
	for i := old; i < len(prep); i++ {
		clusters[i] = i
	}
	// The batch's values count towards the shares it is scored with.
	r.tf.add(add)
	job := linkJob{prep: prep, keys: keys, model: r.model, active: active, clusters: clusters, tf: r.tf}
	res, err := link(ctx, job, r.s)
	if err != nil {
		r.tf.remove(add)
		return nil, fmt.Errorf("link batch of %d against %d: %w", len(recs), old, err)
	}
	r.prep, r.keys, r.cluster = prep, keys, res.Cluster
	return res, nil
}

func workers(s Settings) int {
	if s.Workers > 0 {
		return s.Workers
	}
	return defaultWorkers()
}
