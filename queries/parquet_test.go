package queries

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestWriteParquet_KeepsColumnOrderAndMarksWithheldValues(t *testing.T) {
	var buf bytes.Buffer
	if err := smallCohort().WriteParquet(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, field := range f.Schema().Fields() {
		names = append(names, field.Name())
	}
	want := []string{"age_band", "sex", "people", "people_suppressed", "registered", "registered_suppressed",
		"per_1_000_registered", "per_1_000_registered_suppressed"}
	if !slices.Equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	if title, _ := f.Lookup("pophealth.title"); title != smallCohort().Title {
		t.Errorf("title metadata %q", title)
	}
	rows := make([]parquet.Row, 10)
	n, err := parquet.NewReader(f).ReadRows(rows)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	// Rows as the table shows them: 40-59 female 3 of 40 is withheld,
	// 60-69 female 24 of 61 is 25 of 60 rounded, rate 393.4.
	type shown struct {
		band, sex      string
		people         any
		peopleWithheld bool
		rate           any
	}
	var got []shown
	for _, r := range rows[:n] {
		val := func(v parquet.Value) any {
			if v.IsNull() {
				return nil
			}
			return v.Double()
		}
		got = append(got, shown{r[0].String(), r[1].String(), val(r[2]), r[3].Boolean(), val(r[6])})
	}
	wantRows := []shown{
		{"40-59", "female", nil, true, nil},
		{"40-59", "male", 0.0, false, 0.0},
		{"60-69", "female", 25.0, false, 393.4},
		{"60-69", "male", nil, true, nil},
		{"60-69", "other/unknown", 0.0, false, nil},
		{"All ages", "All", 30.0, false, 163.3}, // 32 of 196
	}
	if !slices.Equal(got, wantRows) {
		t.Errorf("rows\n got %v\nwant %v", got, wantRows)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Share of entry (%)": "share_of_entry_pct", "Per 1,000 registered": "per_1_000_registered",
		"IMD decile": "imd_decile", "  ": "", "Émigré": "migr",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHBars_GrowWithCategoriesAndNeverDrawWithheldValues(t *testing.T) {
	c := Chart{Title: "t", Kind: HBars, Unit: "people", Categories: []string{"entry event: t2d", "alive and registered 365 days before index", "include: aged 18 or over"},
		Series: []Series{{Name: "People", Values: []Cell{Suppress(1200), Suppress(980), Suppress(4)}}}}
	g := c.layout()
	if len(g.Bars) != 2 {
		t.Fatalf("%d bars, want 2 (the withheld count has none)", len(g.Bars))
	}
	if g.Bars[0].W <= g.Bars[1].W {
		t.Errorf("bar widths %v then %v: want the larger count wider", g.Bars[0].W, g.Bars[1].W)
	}
	var stars, labels int
	for _, x := range g.Texts {
		switch {
		case x.Class == "suppressed" && x.Text == "*":
			stars++
		case x.Class == "category":
			labels++
		}
		if x.Text == "4" {
			t.Error("the withheld count is drawn")
		}
	}
	if stars != 1 || labels != 3 {
		t.Errorf("%d suppressed markers and %d labels, want 1 and 3", stars, labels)
	}
	short := Chart{Kind: HBars, Categories: make([]string, 40), Series: []Series{{Values: make([]Cell, 40)}}}
	if h := short.layout().Height; h <= chartHeight {
		t.Errorf("40 rows drawn in %v units: want the chart to grow", h)
	}
}
