package queries

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// column is one column of a lake table as DuckDB sees it.
type column struct {
	name string
	typ  string // DuckDB type name
}

// LakeViews returns the statements creating one view per lake table
// (models.Tables) over the lake's committed pseudonymised files, as the
// engine's views are, and the files they read (for allowed_paths). Other
// packages that read the lake with their own DuckDB (purpose
// materialisation) use it so the lake has one reading.
//
// Like the engine's, the views replace person keys through linkage's key
// map (link.KeyMap), so rows written before a merge belong to the merged
// person: the statements begin with a person_key_map table holding it.
func LakeViews(l *lake.Lake) (stmts, files []string, err error) {
	stmts, err = keyMapStatements(l)
	if err != nil {
		return nil, nil, err
	}
	remap := len(stmts) > 1
	for _, t := range models.Tables {
		cols, err := tableColumns(t)
		if err != nil {
			return nil, nil, err
		}
		tf, err := l.Files("pseudo/" + string(t))
		if err != nil {
			return nil, nil, fmt.Errorf("queries: table %s: %w", t, err)
		}
		stmts = append(stmts, remappedViewDDL(t, cols, tf, remap))
		files = append(files, tf...)
	}
	return stmts, files, nil
}

// tableColumns derives a lake table's columns from its models row struct,
// the one definition of the lake schema.
func tableColumns(t models.Table) ([]column, error) {
	row, err := models.RowOf(t)
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	var cols []column
	for _, f := range parquet.SchemaOf(row).Fields() {
		typ, err := duckType(f)
		if err != nil {
			return nil, fmt.Errorf("queries: table %s column %s: %w", t, f.Name(), err)
		}
		cols = append(cols, column{name: f.Name(), typ: typ})
	}
	return cols, nil
}

// duckType maps a Parquet leaf column onto the type DuckDB's Parquet reader
// gives it.
func duckType(f parquet.Field) (string, error) {
	if !f.Leaf() || f.Repeated() {
		return "", fmt.Errorf("nested or repeated columns are not supported")
	}
	t := f.Type()
	if lt := t.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.StringType:
			return "VARCHAR", nil
		case *format.DateType:
			return "DATE", nil
		case *format.IntType:
			name, ok := map[int8]string{8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[v.BitWidth]
			if !ok {
				return "", fmt.Errorf("integer width %d", v.BitWidth)
			}
			if !v.IsSigned {
				name = "U" + name
			}
			return name, nil
		case *format.TimestampType:
			if v.IsAdjustedToUTC {
				return "TIMESTAMP WITH TIME ZONE", nil
			}
			return "TIMESTAMP", nil
		}
		return "", fmt.Errorf("logical type %s", lt)
	}
	switch t.Kind() {
	case parquet.Boolean:
		return "BOOLEAN", nil
	case parquet.Int32:
		return "INTEGER", nil
	case parquet.Int64:
		return "BIGINT", nil
	case parquet.Float:
		return "FLOAT", nil
	case parquet.Double:
		return "DOUBLE", nil
	case parquet.ByteArray:
		return "BLOB", nil
	}
	return "", fmt.Errorf("physical type %s", t.Kind())
}

// viewDDL returns the statement creating the view of table t over files.
//
// The view always has exactly the models columns, in order and with their
// types, whatever the files hold: with no files it is an empty relation,
// and files written before a column was added read it as NULL (the UNION
// ALL BY NAME with an empty typed relation supplies it). The files are
// listed explicitly, never globbed, so only committed batches are read.
func viewDDL(t models.Table, cols []column, files []string) string {
	var typed, projected []string
	for _, c := range cols {
		typed = append(typed, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.typ, ident(c.name)))
		projected = append(projected, fmt.Sprintf("CAST(%s AS %s) AS %s", ident(c.name), c.typ, ident(c.name)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE VIEW %s AS ", ident(string(t)))
	if len(files) == 0 {
		fmt.Fprintf(&b, "SELECT %s WHERE false", strings.Join(typed, ", "))
		return b.String()
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = literal(f)
	}
	fmt.Fprintf(&b, "SELECT %s FROM (SELECT * FROM read_parquet([%s], hive_partitioning = false, union_by_name = true) UNION ALL BY NAME SELECT %s WHERE false)",
		strings.Join(projected, ", "), strings.Join(quoted, ", "), strings.Join(typed, ", "))
	return b.String()
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident quotes s as an SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
