package risk

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

//go:embed tables/*.csv
var tableFiles embed.FS

// TableCSV returns the raw bytes of an embedded code or weight table by
// file name (for example "charlson_icd10.csv"), for documentation or for
// loading into a database.
func TableCSV(name string) ([]byte, error) {
	b, err := tableFiles.ReadFile("tables/" + name)
	if err != nil {
		return nil, fmt.Errorf("risk: no table %q", name)
	}
	return b, nil
}

// record is one CSV row addressed by column name.
type record struct {
	file string
	line int
	cols map[string]int
	row  []string
}

func (r record) get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.row) {
		return ""
	}
	return strings.TrimSpace(r.row[i])
}

// errorf names the table file and line, so a bad edit to a table points at
// itself.
func (r record) errorf(format string, args ...any) error {
	return fmt.Errorf("risk: tables/%s line %d: %s", r.file, r.line, fmt.Sprintf(format, args...))
}

// readTable parses an embedded CSV table, checking that the named columns
// exist.
func readTable(name string, need ...string) ([]record, error) {
	data, err := tableFiles.ReadFile("tables/" + name)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	return parseTable(name, data, need...)
}

func parseTable(name string, data []byte, need ...string) ([]record, error) {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("risk: tables/%s: %w", name, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("risk: tables/%s: no rows", name)
	}
	cols := map[string]int{}
	for i, h := range rows[0] {
		cols[strings.TrimSpace(h)] = i
	}
	for _, n := range need {
		if _, ok := cols[n]; !ok {
			return nil, fmt.Errorf("risk: tables/%s: header %v lacks %q", name, rows[0], n)
		}
	}
	out := make([]record, 0, len(rows)-1)
	for i, r := range rows[1:] {
		out = append(out, record{file: name, line: i + 2, cols: cols, row: r})
	}
	return out, nil
}

// optionalFloat parses an empty cell as "no bound".
func optionalFloat(r record, col string) (*float64, error) {
	s := r.get(col)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, r.errorf("%s %q: %v", col, s, err)
	}
	return &v, nil
}

func atoi(r record, col string) (int, error) {
	s := r.get(col)
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, r.errorf("%s %q is not a whole number", col, s)
	}
	return v, nil
}
