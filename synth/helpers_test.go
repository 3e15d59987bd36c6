package synth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/models"
)

// generate runs Generate into a temporary directory with the default
// options changed by edit.
func generate(t testing.TB, edit func(*Options)) (string, Summary) {
	t.Helper()
	opts := DefaultOptions()
	opts.OutDir = t.TempDir()
	if edit != nil {
		edit(&opts)
	}
	sum, err := Generate(context.Background(), opts, nil)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return opts.OutDir, sum
}

// feeds is a test's parsed view of a generated directory.
type feeds struct {
	dir      string
	patients map[string][]string // GP rows by patient_id, well-formed rows only
	patHdr   map[string]int
	// truth[feed][record_id] is the true person id; local[feed][record_id]
	// the local id.
	truth, local map[models.Feed]map[string]string
	// gpByPerson maps a person id to their GP patient_id.
	gpByPerson map[string]string
	// malformed is keyed by file and line.
	malformed map[string]map[int64]malformedRow
}

type malformedRow struct {
	offset   int64
	recordID string
	reason   string
}

func readFeeds(t testing.TB, dir string) *feeds {
	t.Helper()
	f := &feeds{
		dir:        dir,
		patients:   map[string][]string{},
		truth:      map[models.Feed]map[string]string{},
		local:      map[models.Feed]map[string]string{},
		gpByPerson: map[string]string{},
		malformed:  map[string]map[int64]malformedRow{},
	}
	for _, row := range readCSV(t, filepath.Join(dir, MalformedFile))[1:] {
		line, _ := strconv.ParseInt(row[2], 10, 64)
		off, _ := strconv.ParseInt(row[3], 10, 64)
		if f.malformed[row[1]] == nil {
			f.malformed[row[1]] = map[int64]malformedRow{}
		}
		f.malformed[row[1]][line] = malformedRow{off, row[4], row[5]}
	}
	for _, row := range readCSV(t, filepath.Join(dir, TruthFile))[1:] {
		feed := models.Feed(row[0])
		if f.truth[feed] == nil {
			f.truth[feed], f.local[feed] = map[string]string{}, map[string]string{}
		}
		if _, dup := f.truth[feed][row[1]]; dup {
			t.Errorf("truth: %s record %s twice", feed, row[1])
		}
		f.truth[feed][row[1]] = row[3]
		f.local[feed][row[1]] = row[2]
		if feed == models.FeedGP {
			f.gpByPerson[row[3]] = row[1]
		}
	}
	rows := readCSV(t, filepath.Join(dir, "gp", "patients.csv"))
	f.patHdr = map[string]int{}
	for i, h := range rows[0] {
		f.patHdr[h] = i
	}
	for i, row := range rows[1:] {
		if _, bad := f.malformed["gp/patients.csv"][int64(i+2)]; bad {
			continue
		}
		f.patients[row[0]] = row
	}
	return f
}

// patient returns a GP column of the person's well-formed GP row.
func (f *feeds) patient(personID, column string) (string, bool) {
	row, ok := f.patients[f.gpByPerson[personID]]
	if !ok {
		return "", false
	}
	return row[f.patHdr[column]], true
}

// isMalformed reports whether line of file is listed in malformed.csv.
func (f *feeds) isMalformed(file string, line int64) bool {
	_, ok := f.malformed[file][line]
	return ok
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// lines calls fn with each newline-terminated line of a file and its
// 1-based number, without the newline but with any carriage return (which
// ends HL7 segments).
func lines(t testing.TB, path string, fn func(n int64, line []byte)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	n := int64(0)
	for sc.Scan() {
		n++
		fn(n, sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// hl7Message is a parsed HL7 message for tests: segments by id, each as
// fields numbered as in the standard (MSH-1 is the field separator).
type hl7Message map[string][][]string

func parseHL7(msg string) hl7Message {
	m := hl7Message{}
	for _, seg := range strings.Split(strings.TrimSuffix(msg, "\r"), "\r") {
		fields := strings.Split(seg, "|")
		if fields[0] == "MSH" {
			fields = append([]string{"MSH", "|"}, fields[1:]...)
		}
		m[fields[0]] = append(m[fields[0]], fields)
	}
	return m
}

// field returns field n of the first segment id, or "".
func (m hl7Message) field(id string, n int) string {
	segs := m[id]
	if len(segs) == 0 || len(segs[0]) <= n {
		return ""
	}
	return segs[0][n]
}

// fhirResource holds the fields of the generated resources that tests
// look at.
type fhirResource struct {
	ResourceType string
	ID           string
	Identifier   []struct {
		System, Value string
		Extension     []struct {
			URL                  string
			ValueCodeableConcept struct{ Coding []fhirCoding }
		}
	}
	Name []struct {
		Family string
		Given  []string
	}
	Address                   []struct{ PostalCode string }
	Subject                   struct{ Reference string }
	Class                     fhirCoding
	Period                    struct{ Start, End string }
	Code                      struct{ Coding []fhirCoding }
	MedicationCodeableConcept struct{ Coding []fhirCoding }
	ValueQuantity             *struct {
		Value  float64
		System string
	}
}

type fhirCoding struct{ System, Code string }

// readFHIR decodes the well-formed lines of an NDJSON file.
func readFHIR(t testing.TB, f *feeds, name string, fn func(res fhirResource)) {
	t.Helper()
	rel := "fhir/" + name + ".ndjson"
	lines(t, filepath.Join(f.dir, "fhir", name+".ndjson"), func(n int64, line []byte) {
		if f.isMalformed(rel, n) {
			return
		}
		var res fhirResource
		if err := json.Unmarshal(line, &res); err != nil {
			t.Fatalf("%s:%d: %v", rel, n, err)
		}
		fn(res)
	})
}

// ageAtStart returns the age at the study start of the person born on dob
// (YYYY-MM-DD).
func ageAtStart(t testing.TB, dob string) int {
	t.Helper()
	d, err := models.ParseDate(dob)
	if err != nil {
		t.Fatalf("date of birth %q: %v", dob, err)
	}
	return models.AgeOn(d, DefaultOptions().Start)
}
