package queries

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/parquet-go/parquet-go"
)

// WriteParquet writes the report's table as one Parquet file, for tools
// that read Parquet (DuckDB, pandas, Power BI). Columns keep the table's
// order, named in snake_case ("Share of entry (%)" becomes
// share_of_entry_pct). A column whose cells are all numbers is a nullable
// DOUBLE with a companion BOOLEAN <name>_suppressed that is true where a
// small number was withheld: the value is then null, as it is where a value
// does not apply. Other columns are strings as shown. The title, as-of date,
// notes and the suppression rule are in the file's key/value metadata.
//
// Like the other renderings it is built from the cells, which are
// suppressed when they are made, so it holds nothing the table does not.
func (r *Report) WriteParquet(w io.Writer) error {
	type col struct {
		name    string
		numeric bool
	}
	cols := make([]col, len(r.Columns))
	used := map[string]int{}
	for i, c := range r.Columns {
		name := snakeCase(c)
		if name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		if used[name]++; used[name] > 1 {
			name += "_" + strconv.Itoa(used[name])
		}
		cols[i] = col{name: name, numeric: len(r.Rows) > 0}
		for _, row := range r.Rows {
			if i < len(row) && row[i].kind == kindLabel {
				cols[i].numeric = false
			}
		}
	}
	var fields []reflect.StructField
	for i, c := range cols {
		if c.numeric {
			fields = append(fields,
				reflect.StructField{Name: "V" + strconv.Itoa(i), Type: reflect.TypeFor[*float64](), Tag: reflect.StructTag(`parquet:"` + c.name + `,optional"`)},
				reflect.StructField{Name: "S" + strconv.Itoa(i), Type: reflect.TypeFor[bool](), Tag: reflect.StructTag(`parquet:"` + c.name + `_suppressed"`)})
		} else {
			fields = append(fields, reflect.StructField{Name: "V" + strconv.Itoa(i), Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`parquet:"` + c.name + `"`)})
		}
	}
	typ := reflect.StructOf(fields)
	pw := parquet.NewWriter(w, parquet.SchemaOf(reflect.New(typ).Interface()), parquet.Compression(&parquet.Zstd))
	pw.SetKeyValueMetadata("pophealth.title", r.Title)
	pw.SetKeyValueMetadata("pophealth.as_of", r.AsOf.String())
	pw.SetKeyValueMetadata("pophealth.notes", strings.Join(r.Notes, "\n"))
	pw.SetKeyValueMetadata("pophealth.suppression", profileNote(r.Profile))
	for _, row := range r.Rows {
		v := reflect.New(typ).Elem()
		f := 0
		for i, c := range cols {
			cell := Cell{kind: kindEmpty}
			if i < len(row) {
				cell = row[i]
			}
			if c.numeric {
				if x, ok := cell.value(); ok {
					v.Field(f).Set(reflect.ValueOf(&x))
				}
				v.Field(f + 1).SetBool(cell.kind == kindSuppressed)
				f += 2
				continue
			}
			v.Field(f).SetString(cell.text)
			f++
		}
		if err := pw.Write(v.Addr().Interface()); err != nil {
			return fmt.Errorf("queries: parquet report %q: %w", r.Title, err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("queries: parquet report %q: %w", r.Title, err)
	}
	return nil
}

// snakeCase turns a column heading into a Parquet column name: lower-case
// ASCII letters and digits, "%" as pct, other runs as one underscore.
func snakeCase(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.ReplaceAll(s, "%", " pct ")) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
