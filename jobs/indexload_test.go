package jobs

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/models"
)

// TestReadIndexFile_ReadsTheColumnsTheIndexLoads writes index files of
// several shapes (many pages and row groups, null and empty values) and
// checks that readIndexFile returns, in order, exactly the link.Entry
// fields of every row.
func TestReadIndexFile_ReadsTheColumnsTheIndexLoads(t *testing.T) {
	born := models.NewDate(1970, 1, 2)
	row := func(i int) models.LinkRow {
		r := models.LinkRow{
			Feed: []string{"gp", "fhir", "hl7v2"}[i%3], LocalID: fmt.Sprintf("L%07d", i), PersonID: fmt.Sprintf("P%024x", i*7919),
			NHSNumberStatus: string(models.NHSValid), Method: models.LinkNew, BatchID: "b1",
			GivenName: "Ann", FamilyName: "Smith", BirthDate: &born, Sex: "F", Postcode: "LS1 4AP",
		}
		switch i % 5 {
		case 0:
			r.NHSNumberStatus = string(models.NHSMissing) // no number: null
		case 1:
			r.NHSNumber, r.NHSNumberStatus = "", string(models.NHSInvalid)
		default:
			r.NHSNumber = fmt.Sprintf("9%09d", i)
		}
		return r
	}
	tests := []struct {
		name    string
		rows    int
		options []parquet.WriterOption
	}{
		{"empty file", 0, nil},
		{"one row", 1, nil},
		{"one row group of many pages", 5000, []parquet.WriterOption{parquet.PageBufferSize(1024)}},
		{"many row groups", 5000, []parquet.WriterOption{parquet.PageBufferSize(2048), parquet.MaxRowsPerRowGroup(700)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := make([]models.LinkRow, tt.rows)
			for i := range want {
				want[i] = row(i)
			}
			path := filepath.Join(t.TempDir(), "links.parquet")
			if err := parquet.WriteFile(path, want, tt.options...); err != nil {
				t.Fatal(err)
			}
			var got []link.Entry
			var calls int
			if _, err := readIndexFile(path, nil, func(rows []link.Entry) {
				calls++
				got = append(got, rows...)
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("read %d rows in %d calls, wrote %d", len(got), calls, len(want))
			}
			for i, w := range want {
				e := link.Entry{Feed: w.Feed, LocalID: w.LocalID, PersonID: w.PersonID, NHSNumber: w.NHSNumber, NHSNumberStatus: w.NHSNumberStatus}
				if g := got[i]; g != e {
					t.Fatalf("row %d: got %+v, want %+v", i, g, e)
				}
			}
		})
	}
}

// TestReadIndexFile_RefusesAFileWithoutTheIndexColumns checks that a file
// of another table is an error, not an empty index.
func TestReadIndexFile_RefusesAFileWithoutTheIndexColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "person.parquet")
	if err := parquet.WriteFile(path, []models.PersonRow{{PersonKey: "k", Source: "gp"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := readIndexFile(path, nil, func([]link.Entry) { t.Error("rows passed to load") }); err == nil {
		t.Fatal("no error for a file without the index columns")
	}
}
