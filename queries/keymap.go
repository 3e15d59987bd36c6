package queries

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/models"
)

// loadKeyMap creates person_key_map(from_key, to_key), the key map linkage
// keeps in force (link.KeyMap): lake rows written under from_key belong to
// the person whose key is to_key. It reports whether the map has rows.
func (e *Engine) loadKeyMap(ctx context.Context, l *lake.Lake) (bool, error) {
	m, err := link.KeyMap(l)
	if err != nil {
		return false, fmt.Errorf("queries: person key map: %w", err)
	}
	rows := make([][]any, 0, len(m))
	for _, from := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, []any{from, m[from]})
	}
	if err := e.createTable(ctx, "person_key_map", "from_key VARCHAR PRIMARY KEY, to_key VARCHAR", rows); err != nil {
		return false, err
	}
	return len(rows) > 0, nil
}

// remappedViewDDL is viewDDL with person_key replaced through
// person_key_map when remap is set, so that rows written before a merge
// follow it without being rewritten.
func remappedViewDDL(t models.Table, cols []column, files []string, remap bool) string {
	ddl := viewDDL(t, cols, files)
	if !remap || !slices.ContainsFunc(cols, func(c column) bool { return c.name == "person_key" }) {
		return ddl
	}
	prefix := fmt.Sprintf("CREATE VIEW %s AS ", ident(string(t)))
	base := strings.TrimPrefix(ddl, prefix)
	return prefix + "SELECT base.* REPLACE (coalesce(km.to_key, base.person_key) AS person_key) FROM (" + base +
		") AS base LEFT JOIN person_key_map AS km ON km.from_key = base.person_key"
}

// keyMapStatements returns the statements that create person_key_map and
// fill it with the key map in force, for a DuckDB other than the engine's
// (LakeViews). Keys are hex pseudonyms, written as quoted literals in
// INSERTs of up to 1,000 rows.
func keyMapStatements(l *lake.Lake) ([]string, error) {
	m, err := link.KeyMap(l)
	if err != nil {
		return nil, fmt.Errorf("queries: person key map: %w", err)
	}
	stmts := []string{"CREATE TABLE person_key_map (from_key VARCHAR PRIMARY KEY, to_key VARCHAR)"}
	from := slices.Sorted(maps.Keys(m))
	for chunk := range slices.Chunk(from, 1000) {
		var b strings.Builder
		b.WriteString("INSERT INTO person_key_map VALUES ")
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%s, %s)", literal(k), literal(m[k]))
		}
		stmts = append(stmts, b.String())
	}
	return stmts, nil
}
