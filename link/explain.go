package link

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// FieldWeight is one comparison's part in a pair's match weight.
type FieldWeight struct {
	Comparison string `json:"comparison"`
	// Level is the level reached ("missing" when either record lacks the
	// field).
	Level string `json:"level"`
	// A and B are the values compared, as normalised for comparison.
	A string `json:"a"`
	B string `json:"b"`
	// Weight is log2(m/u) of the level; TermFrequency the adjustment for
	// how common an exactly agreeing value is.
	Weight        float64 `json:"weight"`
	TermFrequency float64 `json:"term_frequency,omitempty"`
}

// Explanation is why two records would or would not link.
type Explanation struct {
	A string `json:"a"`
	B string `json:"b"`
	// PriorWeight is log2 of the prior odds that two records match.
	PriorWeight float64       `json:"prior_weight"`
	Fields      []FieldWeight `json:"fields"`
	// Total is PriorWeight plus every field's Weight and TermFrequency;
	// Probability = 1 / (1 + 2^-Total).
	Total       float64 `json:"total"`
	Probability float64 `json:"probability"`
	Threshold   float64 `json:"threshold"`
	Linked      bool    `json:"linked"`
}

// explain scores a pair of prepared records field by field.
func (m *Model) explain(a, b *prepared) Explanation {
	e := Explanation{PriorWeight: m.priorWeight()}
	p := comparePair(a, b)
	total := e.PriorWeight
	for c, cmp := range comparisons {
		l := p.level(c)
		fw := FieldWeight{Comparison: cmp.name, Level: "missing", A: fieldText(c, a), B: fieldText(c, b)}
		if l > 0 {
			fw.Level = cmp.levels[l-1]
			fw.Weight = m.weight(c, l)
			if l == 1 && cmp.value != nil {
				fw.TermFrequency = m.tfAdjust(c, cmp.value(a))
			}
		} else if fw.A == "" && fw.B == "" {
			continue // a field neither record has: nothing to show
		}
		total += fw.Weight + fw.TermFrequency
		e.Fields = append(e.Fields, fw)
	}
	e.Total = total
	e.Probability = Probability(total)
	return e
}

// fieldText is the value comparison c compares, for explanations.
func fieldText(c int, p *prepared) string {
	switch comparisons[c].name {
	case "nhs_number":
		return p.nhs
	case "given_name":
		return p.given
	case "family_name":
		return p.family
	case "birth_date":
		return p.dob
	case "sex":
		return p.sex
	case "postcode":
		return p.postcode
	case "house_number":
		return p.house
	case "address":
		return p.address
	case "locality":
		return p.locality
	case "email":
		return p.email
	case "identifier":
		return p.ident
	}
	return ""
}

// Explain explains the pair of records at indices a and b of a linkage
// result.
func (r *Result) Explain(a, b int, threshold float64) Explanation {
	e := r.Model.explain(&r.recs[a], &r.recs[b])
	e.Threshold, e.Linked = threshold, r.Cluster[a] == r.Cluster[b]
	return e
}

// ErrNoModel is returned when the index has not been linked yet.
var ErrNoModel = errors.New("the master person index has no linkage model yet: run \"pophealth link\" first")

// ExplainSources explains how the index's model scores two source
// patients, named feed/local_id.
func ExplainSources(ctx context.Context, lk *lake.Lake, a, b string, s Settings) (Explanation, error) {
	if err := ctx.Err(); err != nil {
		return Explanation{}, err
	}
	ix, err := loadIndex(lk)
	if err != nil {
		return Explanation{}, err
	}
	if ix.model == nil {
		return Explanation{}, ErrNoModel
	}
	ia, ok := ix.byID[a]
	if !ok {
		return Explanation{}, fmt.Errorf("explain: no source patient %q in the index (want feed/local_id, e.g. gp/G0000001)", a)
	}
	ib, ok := ix.byID[b]
	if !ok {
		return Explanation{}, fmt.Errorf("explain: no source patient %q in the index (want feed/local_id, e.g. gp/G0000001)", b)
	}
	prep := ix.prepareAll(defaultWorkers())
	ix.model.estimateTF(prep, nil)
	e := ix.model.explain(&prep[ia], &prep[ib])
	e.A, e.B, e.Threshold = a, b, s.Threshold
	e.Linked = ix.assigned[ia] != "" && ix.assigned[ia] == ix.assigned[ib]
	return e, nil
}

// ReviewPair is a borderline pair awaiting a clerical decision.
type ReviewPair struct {
	A           string  `json:"a"`
	B           string  `json:"b"`
	Weight      float64 `json:"weight"`
	Probability float64 `json:"probability"`
	// Linked says whether the last run put the two in one person.
	Linked bool `json:"linked"`
	// Reason is "" for a pair the model scored in the review band, or
	// "nhs_conflict" when A sent the NHS number B's person holds.
	Reason string `json:"reason,omitempty"`
}

// ReviewList returns the borderline pairs linkage runs found that no
// clerical decision covers, each as its latest run scored it, most
// uncertain (nearest probability 0.5) first.
func ReviewList(ctx context.Context, lk *lake.Lake) ([]ReviewPair, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix, err := loadIndex(lk)
	if err != nil {
		return nil, err
	}
	var out []ReviewPair
	for _, r := range ix.review {
		if _, decided := ix.labels[labelKey(r.A, r.B)]; decided {
			continue
		}
		ia, ib := ix.byID[r.A], ix.byID[r.B]
		out = append(out, ReviewPair{A: r.A, B: r.B, Weight: r.Weight, Probability: r.Probability, Reason: r.Reason,
			Linked: ix.assigned[ia] != "" && ix.assigned[ia] == ix.assigned[ib]})
	}
	slices.SortStableFunc(out, func(x, y ReviewPair) int {
		dx, dy := math.Abs(x.Probability-0.5), math.Abs(y.Probability-0.5)
		switch {
		case dx < dy:
			return -1
		case dx > dy:
			return 1
		}
		return 0
	})
	return out, nil
}

// Decision values of a clerical review.
const (
	DecisionMatch    = "match"
	DecisionNonMatch = "non-match"
)

// Decide records a clerical decision on two source patients as a label in
// its own lake batch. The next "pophealth link" honours it: a match joins
// them, a non-match separates them (an un-merge) and keeps them apart.
func Decide(ctx context.Context, lk *lake.Lake, batchID, a, b, decision, by string, at time.Time) error {
	if decision != DecisionMatch && decision != DecisionNonMatch {
		return fmt.Errorf("review decision %q: want %s or %s", decision, DecisionMatch, DecisionNonMatch)
	}
	if by == "" {
		return errors.New("review decision: --by NAME is required: decisions are attributed")
	}
	if a == b {
		return fmt.Errorf("review decision: %s and %s are the same source patient", a, b)
	}
	ix, err := loadIndex(lk)
	if err != nil {
		return err
	}
	for _, s := range []string{a, b} {
		if _, ok := ix.byID[s]; !ok {
			return fmt.Errorf("review decision: no source patient %q in the index", s)
		}
	}
	batch, err := lk.Begin(batchID)
	if err != nil {
		return err
	}
	row := models.LinkLabelRow{A: a, B: b, Decision: decision, By: by, At: at.UTC().Format(time.RFC3339), BatchID: batchID}
	if err := lake.Append(batch, LabelsDir, row); err != nil {
		return errors.Join(err, batch.Abort())
	}
	if err := batch.Commit(lake.Manifest{BatchID: batchID}); err != nil {
		return fmt.Errorf("commit review decision: %w", err)
	}
	return nil
}

// Persons returns the person in force for every source patient the index
// has linked, by source id (feed/local_id).
func Persons(ctx context.Context, lk *lake.Lake) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix, err := loadIndex(lk)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ix.sources))
	for i, s := range ix.sources {
		if ix.assigned[i] != "" {
			out[s.id] = ix.assigned[i]
		}
	}
	return out, nil
}

// KeyMap returns the pseudonymised key map in force (lake/pseudo/
// person_key_map): each person key lake rows were written under that now
// belongs to another person, mapped to that person's key. Keys mapped back
// to themselves are left out. The map holds pseudonyms only, so the query
// engine may read it.
func KeyMap(lk *lake.Lake) (map[string]string, error) {
	rows, err := readAll[models.PersonKeyMapRow](lk, KeyMapDir)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b models.PersonKeyMapRow) int { return strings.Compare(a.BatchID, b.BatchID) })
	m := map[string]string{}
	for _, r := range rows {
		if r.FromKey == r.ToKey {
			delete(m, r.FromKey)
		} else {
			m[r.FromKey] = r.ToKey
		}
	}
	return m, nil
}
