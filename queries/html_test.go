package queries

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

// smallCohort is a cohort report over exact counts that include small
// numbers: 3 and 5 must never appear anywhere in any output.
func smallCohort() *Report {
	return cohortReport(models.Date(20000), []cohortRow{
		{"40-59", "female", 3, 40},
		{"40-59", "male", 0, 38},
		{"60-69", "female", 24, 61},
		{"60-69", "male", 5, 57},
		{"60-69", "other/unknown", 0, 0},
	})
}

func TestCohortChart_DrawsOnlyPublishedCells(t *testing.T) {
	r := smallCohort()
	if len(r.Charts) != 1 {
		t.Fatalf("%d charts, want 1", len(r.Charts))
	}
	c := r.Charts[0]
	if want := []string{"40-59", "60-69"}; !slices.Equal(c.Categories, want) {
		t.Errorf("categories %v, want %v", c.Categories, want)
	}
	var names []string
	for _, s := range c.Series {
		names = append(names, s.Name)
	}
	// other/unknown has nobody registered: no empty series in the legend.
	if want := []string{"female", "male"}; !slices.Equal(names, want) {
		t.Errorf("series %v, want %v", names, want)
	}
	g := c.layout()
	// female 40-59 (3 of 40) and male 60-69 (5 of 57) are withheld: two
	// markers, and bars only for the published rates (male 40-59 is 0.0,
	// a real zero, drawn with height 0; female 60-69 is 393.4).
	if len(g.Bars) != 2 {
		t.Errorf("%d bars, want 2: %+v", len(g.Bars), g.Bars)
	}
	var stars int
	for _, x := range g.Texts {
		if x.Class == "suppressed" {
			stars++
		}
	}
	if stars != 2 {
		t.Errorf("%d suppressed markers, want 2", stars)
	}
	for _, b := range g.Bars {
		if b.H < 0 || b.Y+b.H > chartHeight-marginBottom+0.001 {
			t.Errorf("bar %+v leaves the plot", b)
		}
	}
}

func TestWriteHTML_IsSelfContainedAndLeaksNoSmallNumber(t *testing.T) {
	risk := riskReport(models.Date(20000), []riskRow{
		{tier: 1, label: "Very high (top 0.5%)", people: 4, conditions: 9, emergencyAdmissions: 6, aged75Plus: 3},
		{tier: 2, label: "High <b>(next 4.5%)</b>", people: 36, conditions: 70, emergencyAdmissions: 20, aged75Plus: 22},
	})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, "Test & <report>", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), []*Report{smallCohort(), risk}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, banned := range []string{"<script", "http://", "https://", "<link", "@import", "<b>(next"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q: it must be self-contained and escape its text", banned)
		}
	}
	for _, want := range []string{"Test &amp; &lt;report&gt;", "<svg", "Risk pyramid", "Prevalence by age band and sex", suppressionNote[:40]} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every number in a table cell or a chart label is one the text report
	// shows, a tick or a year: the exact small counts (3, 4, 5, 6, 9) never
	// appear as a cell or label of their own.
	for _, m := range regexp.MustCompile(`>([0-9.]+)<`).FindAllStringSubmatch(page, -1) {
		switch m[1] {
		case "3", "4", "5", "6", "9":
			t.Errorf("page shows the exact small number %s", m[1])
		}
	}
	if n := strings.Count(page, `class="num suppressed">*<`); n < 4 {
		t.Errorf("only %d suppressed table cells marked", n)
	}
}

func TestReportWriteCSV_KeepsShownValues(t *testing.T) {
	var buf bytes.Buffer
	if err := smallCohort().WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Age band", "Sex", "People", "Registered", "Per 1,000 registered"},
		{"40-59", "female", "*", "40", "*"},
		{"40-59", "male", "0", "40", "0.0"},
		{"60-69", "female", "25", "60", "393.4"},
		{"60-69", "male", "*", "55", "*"},
		{"60-69", "other/unknown", "0", "0", ""},
		{"All ages", "All", "30", "195", "163.3"},
	}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("csv\n%q\nwant\n%q", recs, want)
	}
}

func TestNiceMax(t *testing.T) {
	tests := []struct{ in, want float64 }{{0, 1}, {0.3, 0.3}, {0.31, 0.4}, {7, 8}, {10, 10}, {11, 15}, {164.6, 200}, {220, 250}, {1647, 2000}, {4999, 5000}, {8001, 10000}}
	for _, tc := range tests {
		if got := niceMax(tc.in); got != tc.want {
			t.Errorf("niceMax(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPage_ShowsKeyFiguresWithSeparatorsAndWithholdsSmallOnes(t *testing.T) {
	p := &Page{Title: "t", Generated: time.Unix(0, 0), Reports: []*Report{smallCohort(), smallCohort()},
		KeyFigures: []KeyFigure{
			{Label: "people", Value: Suppress(12344)},
			{Label: "share", Value: ratio(30, 196, 100), Unit: "%"},
			{Label: "few", Value: Suppress(3), Unit: "%"},
		}}
	var b bytes.Buffer
	if err := p.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<p class="value ">12,345</p>`, `<p class="value ">15.3%</p>`, `<p class="value suppressed">*</p>`,
		`<a href="#report-2">`, `<section id="report-1">`, `<th scope="col" class="num">People</th>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "12344") || strings.Contains(page, "*%") {
		t.Error("page shows an unrounded count or a unit on a withheld value")
	}
}
