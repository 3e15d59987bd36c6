// Package dataset reads a person table (CSV or Parquet, through DuckDB)
// into linkage records with a ground-truth entity per record, for
// "pophealth link eval": anyone can measure linkage on their own labelled
// data, and pophealth is measured on public data sets the same way.
package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/pophealth/pophealth/link"
)

// Fields are the record fields a column can map to, with the column names
// each is taken from when no mapping names it (first present wins).
var Fields = []struct {
	Name    string
	Aliases []string
	set     func(r *link.Record, v string)
}{
	{"nhs_number", []string{"nhs_number", "nhs_no", "nhsnumber"}, func(r *link.Record, v string) { r.NHSNumber = v }},
	{"given_name", []string{"given_name", "first_name", "forename", "firstname"}, func(r *link.Record, v string) { r.GivenName = v }},
	{"family_name", []string{"family_name", "surname", "last_name", "lastname"}, func(r *link.Record, v string) { r.FamilyName = v }},
	{"birth_date", []string{"birth_date", "date_of_birth", "dob", "birthdate"}, func(r *link.Record, v string) { r.BirthDate = v }},
	{"sex", []string{"sex", "gender"}, func(r *link.Record, v string) { r.Sex = v }},
	{"postcode", []string{"postcode", "postal_code", "zipcode", "zip"}, func(r *link.Record, v string) { r.Postcode = v }},
	{"house_number", []string{"house_number", "street_number"}, func(r *link.Record, v string) { r.HouseNumber = v }},
	{"address", []string{"address", "address_1", "address_line_1", "street"}, func(r *link.Record, v string) { r.Address = v }},
	{"locality", []string{"locality", "city", "suburb", "town"}, func(r *link.Record, v string) { r.Locality = v }},
	{"email", []string{"email", "email_address"}, func(r *link.Record, v string) { r.Email = v }},
	{"identifier", []string{"identifier", "soc_sec_id", "ssn"}, func(r *link.Record, v string) { r.Identifier = v }},
}

// Options say how to read a table.
type Options struct {
	// Truth is the column holding each record's true entity.
	Truth string
	// TruthPattern, when set, is a regular expression whose first group
	// extracts the entity from the truth column (FEBRL's rec-12-dup-0
	// is entity 12 with '^rec-(\d+)-').
	TruthPattern string
	// Map maps field names (Fields) to column names, overriding the
	// aliases; an empty column name leaves the field out.
	Map map[string]string
}

// Table is a loaded person table.
type Table struct {
	Records []link.Record
	Truth   []string
	// Columns says which column each field was read from.
	Columns map[string]string
}

// Load reads the CSV or Parquet file at path (by its extension: .parquet,
// otherwise CSV). Every value is read as text and trimmed.
func Load(ctx context.Context, path string, o Options) (*Table, error) {
	var pat *regexp.Regexp
	if o.TruthPattern != "" {
		var err error
		if pat, err = regexp.Compile(o.TruthPattern); err != nil {
			return nil, fmt.Errorf("--truth-pattern: %w", err)
		}
		if pat.NumSubexp() < 1 {
			return nil, fmt.Errorf("--truth-pattern %q: want a group, as in '^rec-(\\d+)-'", o.TruthPattern)
		}
	}
	for f := range o.Map {
		if !slices.ContainsFunc(Fields, func(x struct {
			Name    string
			Aliases []string
			set     func(r *link.Record, v string)
		}) bool {
			return x.Name == f
		}) {
			return nil, fmt.Errorf("--map %s: unknown field; fields are %s", f, fieldNames())
		}
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open DuckDB: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	source := fmt.Sprintf("read_csv(%s, all_varchar = true, header = true)", literal(path))
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		source = fmt.Sprintf("read_parquet(%s)", literal(path))
	}
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+source)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	index := map[string]int{}
	for i, c := range cols {
		index[strings.ToLower(strings.TrimSpace(c))] = i
	}
	truthCol, ok := index[strings.ToLower(o.Truth)]
	if !ok {
		return nil, fmt.Errorf("read %s: no truth column %q; columns are %s", path, o.Truth, strings.Join(cols, ", "))
	}
	t := &Table{Columns: map[string]string{}}
	type use struct {
		col int
		set func(r *link.Record, v string)
	}
	var uses []use
	for _, f := range Fields {
		name, mapped := o.Map[f.Name]
		if !mapped {
			for _, a := range f.Aliases {
				if _, ok := index[a]; ok && a != strings.ToLower(o.Truth) {
					name = a
					break
				}
			}
		}
		if name == "" {
			continue
		}
		i, ok := index[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("read %s: --map %s=%s: no such column; columns are %s", path, f.Name, name, strings.Join(cols, ", "))
		}
		uses = append(uses, use{i, f.set})
		t.Columns[f.Name] = strings.TrimSpace(cols[i])
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for line := 2; rows.Next(); line++ {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s record %d: %w", path, line-1, err)
		}
		r := link.Record{ID: fmt.Sprint(line - 1)}
		for _, u := range uses {
			u.set(&r, strings.TrimSpace(vals[u.col].String))
		}
		truth := strings.TrimSpace(vals[truthCol].String)
		if pat != nil {
			m := pat.FindStringSubmatch(truth)
			if m == nil {
				return nil, fmt.Errorf("read %s record %d: truth %q does not match --truth-pattern %q", path, line-1, truth, o.TruthPattern)
			}
			truth = m[1]
		}
		if truth == "" {
			return nil, fmt.Errorf("read %s record %d: empty truth column %q", path, line-1, o.Truth)
		}
		t.Records = append(t.Records, r)
		t.Truth = append(t.Truth, truth)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return t, nil
}

func fieldNames() string {
	var names []string
	for _, f := range Fields {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
