package link

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/pophealth/pophealth/models"
)

// rows returns the model as lake rows.
func (m *Model) rows(batchID string) []models.LinkModelRow {
	rows := []models.LinkModelRow{{Comparison: "prior", M: m.Prior, BatchID: batchID}}
	for c, cmp := range comparisons {
		for l := 1; l < len(m.M[c]); l++ {
			rows = append(rows, models.LinkModelRow{
				Comparison: cmp.name, Level: int32(l), LevelName: cmp.levels[l-1], M: m.M[c][l], U: m.U[c][l], BatchID: batchID,
			})
		}
	}
	return rows
}

// modelFromRows rebuilds the latest batch's model, or returns nil when
// there is none or the comparisons changed since it was trained (the next
// run then trains afresh).
func modelFromRows(rows []models.LinkModelRow) (*Model, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	latest := slices.MaxFunc(rows, func(a, b models.LinkModelRow) int { return cmp.Compare(a.BatchID, b.BatchID) }).BatchID
	m := &Model{M: newParams(), U: newParams()}
	index := map[string]int{}
	for c, cmp := range comparisons {
		index[cmp.name] = c
	}
	for _, r := range rows {
		if r.BatchID != latest {
			continue
		}
		if r.Comparison == "prior" {
			m.Prior = r.M
			continue
		}
		c, ok := index[r.Comparison]
		if !ok || int(r.Level) >= len(m.M[c]) || r.Level < 1 || comparisons[c].levels[r.Level-1] != r.LevelName {
			return nil, nil
		}
		m.M[c][r.Level], m.U[c][r.Level] = r.M, r.U
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("master person index model of batch %s: %w", latest, err)
	}
	return m, nil
}
