package synth

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
)

// TruthRow is one row of truth.csv: a person-bearing source record and the
// true person it describes.
type TruthRow struct {
	Feed     string
	RecordID string
	LocalID  string
	PersonID string
}

// ReadTruth reads the truth.csv that Generate wrote under dir, so that
// linkage can be scored against it.
func ReadTruth(dir string) ([]TruthRow, error) {
	path := filepath.Join(dir, TruthFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("synth truth: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 4
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("synth truth %s: %w", path, err)
	}
	if len(rows) == 0 || rows[0][0] != "feed" {
		return nil, fmt.Errorf("synth truth %s: no header row", path)
	}
	out := make([]TruthRow, 0, len(rows)-1)
	for _, row := range rows[1:] {
		out = append(out, TruthRow{Feed: row[0], RecordID: row[1], LocalID: row[2], PersonID: row[3]})
	}
	return out, nil
}
