package queries

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// purposePerson is a person row as a purpose materialises it: its own
// pseudonym, an age band instead of year and month of birth, no lineage.
type purposePerson struct {
	PersonKey string `parquet:"person_key"`
	AgeBand   string `parquet:"age_band"`
	Sex       string `parquet:"sex"`
}

func TestOpenFolder_ReadsTheFolderAndSaysWhichColumnsItLacks(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "person"), 0o750))
	rows := []purposePerson{{"x1", "40-44", "female"}, {"x2", "90+", "male"}, {"x3", "40-44", "male"}}
	must(t, parquet.WriteFile(filepath.Join(dir, "person", "part-0.parquet"), rows))
	l, err := lake.Open(t.TempDir())
	must(t, err)
	e, err := OpenFolder(t.Context(), l, dir)
	must(t, err)
	defer e.Close()

	res, err := e.Query(t.Context(), "SELECT count(*), count(year_of_birth), count(*) FILTER (WHERE sex = 'male') FROM person")
	must(t, err)
	if got := res.Rows[0]; got[0] != int64(3) || got[1] != int64(0) || got[2] != int64(2) {
		t.Errorf("person over the folder: %v, want [3 0 2]", got)
	}
	for _, c := range []struct {
		table models.Table
		cols  []string
		want  []string
	}{
		{models.TablePerson, []string{"person_key", "year_of_birth", "sex", "month_of_birth"}, []string{"year_of_birth", "month_of_birth"}},
		{models.TablePerson, []string{"person_key", "sex"}, nil},
		{models.TableDiagnosis, []string{"person_key", "code"}, []string{"person_key", "code"}},
	} {
		if got := e.Missing(c.table, c.cols...); !slices.Equal(got, c.want) {
			t.Errorf("Missing(%s, %v) = %v, want %v", c.table, c.cols, got, c.want)
		}
	}
	// The folder's files and nothing else are readable.
	if _, err := e.Query(t.Context(), "SELECT * FROM read_parquet('"+filepath.Join(dir, "*", "*.parquet")+"')"); err == nil {
		t.Error("globbing the folder was allowed")
	}
}

func TestOpen_LakeEngineMissesNoColumn(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	must(t, err)
	e, err := Open(t.Context(), l)
	must(t, err)
	defer e.Close()
	if got := e.Missing(models.TablePerson, "year_of_birth", "deprivation_decile"); got != nil {
		t.Errorf("Missing over the lake = %v", got)
	}
}
