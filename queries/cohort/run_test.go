package cohort

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/queries"
)

// The example's timelines, counted step by step: 8 patients have a type 2
// diabetes code in the study period; one registered too recently, one is
// a child, one has no other condition, two have no HbA1c above 58 in the
// year to index, one has type 1 diabetes.
func TestRun_AttritionAndCountsOnTheExampleTimelines(t *testing.T) {
	s, err := Load("examples/t2d-poor-control.yaml")
	if err != nil {
		t.Fatal(err)
	}
	q, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("examples/t2d-poor-control.test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ParseTimelines(b)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lake.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTimelines(l, tl); err != nil {
		t.Fatal(err)
	}
	eng, err := queries.Open(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	res, err := Run(t.Context(), eng, s.Name, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, st := range res.Attrition {
		got = append(got, st.People)
	}
	if want := []int64{8, 7, 6, 5, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("attrition %v, want %v (steps %v)", got, want, q.Steps)
	}
	if want := []AgeSexCount{{"70-79", "female", 1}, {"80+", "male", 1}}; !slices.Equal(res.ByAgeSex, want) {
		t.Errorf("by age and sex %v, want %v", res.ByAgeSex, want)
	}
	// The nine timelines are all registered with A81001 and alive at the
	// end of the study but one who died in 2025.
	if want := []PracticeCount{{"A81001", 2, 8}}; !slices.Equal(res.ByPractice, want) {
		t.Errorf("by practice %v, want %v", res.ByPractice, want)
	}
	if want := []GroupCount{{"unknown", 2}}; !slices.Equal(res.ByDeprivation, want) {
		t.Errorf("by deprivation %v, want %v", res.ByDeprivation, want)
	}
	var text strings.Builder
	for _, r := range res.Report(models.NewDate(2026, 3, 31)) {
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
	}
	// Every count here is 1 to 8: the reports must show none of them.
	for _, line := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(line, "include: aged") && !strings.Contains(line, "*") {
			t.Errorf("small count shown: %q", line)
		}
	}
	if strings.Contains(text.String(), " 2\n") || !strings.Contains(text.String(), "A81001") {
		t.Errorf("report shows small counts or lacks practices:\n%s", text.String())
	}
}
