package queries

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries/suppress"
)

func TestSuppress(t *testing.T) {
	for _, tc := range []struct {
		n          int64
		want       string
		suppressed bool
	}{
		{0, "0", false},
		{1, "*", true},
		{3, "*", true},
		{7, "*", true},
		{8, "10", false},
		{12, "10", false},
		{13, "15", false},
		{17, "15", false},
		{18, "20", false},
		{20, "20", false},
		{1002, "1000", false},
		{1003, "1005", false},
		{-4, "*", true},
	} {
		c := Suppress(tc.n)
		if c.String() != tc.want || c.Suppressed() != tc.suppressed {
			t.Errorf("Suppress(%d) = %q (suppressed %v), want %q (suppressed %v)", tc.n, c, c.Suppressed(), tc.want, tc.suppressed)
		}
		// No formatting verb shows more than the cell does.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, c); tc.suppressed && strings.Contains(s, fmt.Sprint(tc.n)) {
				t.Errorf("Sprintf(%s, Suppress(%d)) = %q reveals the count", verb, tc.n, s)
			}
		}
	}
}

func TestRatio_WithholdsRatesOfSmallNumbers(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		scale    float64
		want     string
	}{
		{14, 15, 1000, "933.3"},
		{0, 16, 1000, "0.0"},
		{30, 16, 1, "1.9"},
		{10, 16, 100, "62.5"},
		{3, 500, 1000, "*"}, // small numerator
		{8, 7, 100, "*"},    // small denominator
		{0, 7, 100, "*"},    // small denominator, even with nothing counted
		{0, 0, 100, "-"},    // over nobody
		{100, 100, 100, "100.0"},
	} {
		if got := ratio(tc.num, tc.den, tc.scale).String(); got != tc.want {
			t.Errorf("ratio(%d, %d, %v) = %q, want %q", tc.num, tc.den, tc.scale, got, tc.want)
		}
	}
}

func sampleReport() *Report {
	return &Report{
		Title:   "Sample",
		AsOf:    models.NewDate(2024, time.March, 31),
		Columns: []string{"Band", "People", "Rate", "Range"},
		Rows: [][]Cell{
			{label("0-17"), Suppress(3), ratio(3, 40, 1000), scoreRange(sql.NullInt64{Int64: 1, Valid: true}, sql.NullInt64{Int64: 2, Valid: true}, 3)},
			{label("80+"), Suppress(1234), ratio(0, 1234, 1000), scoreRange(sql.NullInt64{Int64: 2, Valid: true}, sql.NullInt64{Int64: 9, Valid: true}, 1234)},
			{label("unknown"), Suppress(0), ratio(0, 0, 1000), scoreRange(sql.NullInt64{}, sql.NullInt64{}, 0)},
		},
		Notes: []string{"Population: everyone."},
	}
}

func TestReport_WriteTextAlignsColumnsAndStatesSuppression(t *testing.T) {
	var b bytes.Buffer
	must(t, sampleReport().WriteText(&b))
	want := `Sample
As at 2024-03-31

Band     People  Rate  Range
-------  ------  ----  -----
0-17          *     *      *
80+        1235   0.0    2-9
unknown       0     -      -

Notes:
- Population: everyone.
- ` + suppressionNote + "\n"
	if b.String() != want {
		t.Errorf("WriteText wrote\n%s\nwant\n%s", b.String(), want)
	}
}

func TestReport_WriteJSONKeepsNumbersAndMarksWithheldValues(t *testing.T) {
	var b bytes.Buffer
	must(t, sampleReport().WriteJSON(&b))
	var got struct {
		Title       string   `json:"title"`
		AsOf        string   `json:"as_of"`
		Columns     []string `json:"columns"`
		Rows        [][]any  `json:"rows"`
		Notes       []string `json:"notes"`
		Suppression string   `json:"suppression"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON wrote invalid JSON: %v\n%s", err, b.String())
	}
	want := `{Sample 2024-03-31 [Band People Rate Range] [[0-17 * * *] [80+ 1235 0 2-9] [unknown 0 <nil> <nil>]] [Population: everyone.] ` + suppressionNote + `}`
	if s := fmt.Sprint(got); s != want {
		t.Errorf("WriteJSON decoded to\n%s\nwant\n%s", s, want)
	}
	// Reports marshalled by encoding/json (a list of them, say) look the same.
	list, err := json.Marshal([]*Report{sampleReport()})
	must(t, err)
	var compact bytes.Buffer
	must(t, json.Compact(&compact, b.Bytes()))
	if want := "[" + compact.String() + "]"; string(list) != want {
		t.Errorf("json.Marshal([]*Report) = %s\nwant %s", list, want)
	}
	for _, c := range []struct {
		row, col int
		want     any
	}{{1, 1, 1235.0}, {1, 2, 0.0}, {0, 1, "*"}, {2, 2, nil}} {
		if v := got.Rows[c.row][c.col]; v != c.want {
			t.Errorf("rows[%d][%d] = %#v, want %#v", c.row, c.col, v, c.want)
		}
	}
}

func TestCohortReport_TotalRowCannotRevealAWithheldCount(t *testing.T) {
	// One small count in the People column: without secondary suppression
	// the total row minus the published cells would give it away.
	r := cohortReport(models.Date(20000), []cohortRow{
		{"40-59", "female", 3, 400},
		{"40-59", "male", 40, 380},
		{"60-69", "female", 240, 610},
	})
	got := texts(r.Rows)
	want := []string{
		"40-59 | female | * | 400 | *",
		"40-59 | male | * | 380 | *",
		"60-69 | female | 240 | 610 | 393.4",
		"All ages | All | 285 | 1390 | 203.6",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows\n%v\nwant\n%v", got, want)
	}
}

func TestMean_WithholdsMeansOverFewPeople(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		n    int64
		want string
	}{{3.14159, 100, "3.1"}, {3.14159, 7, "*"}, {3.14159, 0, "-"}, {2, 8, "2.0"}} {
		if got := Mean(tc.v, tc.n, 1).String(); got != tc.want {
			t.Errorf("Mean(%v, %d) = %q, want %q", tc.v, tc.n, got, tc.want)
		}
	}
}

func TestSuppressAs_ProfilesDifferOnZero(t *testing.T) {
	for _, c := range []struct {
		profile suppress.Profile
		n       int64
		want    string
	}{
		{suppress.NHSD, 0, "0"},
		{suppress.OpenSAFELY, 0, "*"},
		{suppress.NHSD, 7, "*"},
		{suppress.OpenSAFELY, 7, "*"},
		{suppress.NHSD, 8, "10"},
		{suppress.OpenSAFELY, 8, "10"},
		{suppress.OpenSAFELY, -1, "*"},
		{suppress.Profile("none"), 100, "*"},
	} {
		if got := SuppressAs(c.profile, c.n).String(); got != c.want {
			t.Errorf("SuppressAs(%s, %d) = %s, want %s", c.profile, c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		profile  suppress.Profile
		num, den int64
		want     string
	}{
		{suppress.NHSD, 0, 100, "0.0"},
		{suppress.OpenSAFELY, 0, 100, "*"},
		{suppress.OpenSAFELY, 50, 100, "50.0"},
		{suppress.OpenSAFELY, 50, 0, "-"},
		{suppress.NHSD, 5, 100, "*"},
	} {
		if got := RatioAs(c.profile, c.num, c.den, 100).String(); got != c.want {
			t.Errorf("RatioAs(%s, %d, %d) = %s, want %s", c.profile, c.num, c.den, got, c.want)
		}
	}
}
