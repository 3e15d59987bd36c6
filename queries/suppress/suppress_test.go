package suppress

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

func TestProfile_Publish(t *testing.T) {
	tests := []struct {
		n                int64
		nhsd, opensafely string
	}{
		{0, "0", "*"},
		{1, "*", "*"},
		{7, "*", "*"},
		{8, "10", "10"},
		{12, "10", "10"},
		{13, "15", "15"},
		{1002, "1000", "1000"},
		{-1, "*", "*"},
	}
	for _, tt := range tests {
		if got := NHSD.Publish(tt.n).String(); got != tt.nhsd {
			t.Errorf("NHSD.Publish(%d) = %q, want %q", tt.n, got, tt.nhsd)
		}
		if got := OpenSAFELY.Publish(tt.n).String(); got != tt.opensafely {
			t.Errorf("OpenSAFELY.Publish(%d) = %q, want %q", tt.n, got, tt.opensafely)
		}
	}
	if got := Profile("none").Publish(100); !got.Suppressed() {
		t.Errorf("an unknown profile published %q; it must withhold everything", got)
	}
	if _, err := ParseProfile("off"); err == nil || !strings.Contains(err.Error(), `unknown profile "off"`) {
		t.Errorf("ParseProfile(off) = %v", err)
	}
}

func TestCell_ZeroIsNotSuppressed(t *testing.T) {
	zero, small := NHSD.Publish(0), NHSD.Publish(3)
	if zero.Suppressed() || zero.Kind() != KindCount || !small.Suppressed() || small.Kind() != KindSuppressed {
		t.Fatalf("zero %v/%v, small %v/%v", zero.Kind(), zero.Suppressed(), small.Kind(), small.Suppressed())
	}
	got, err := json.Marshal([]Cell{zero, small, OpenSAFELY.Publish(0), {kind: KindEmpty}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[0,"*","*",null]`; string(got) != want {
		t.Fatalf("JSON = %s, want %s", got, want)
	}
}

func TestProtect_SuppressesNextSmallestToAFixedPoint(t *testing.T) {
	counts := withTotals([][]int64{{3, 10, 20}, {15, 12, 40}})
	hide, err := Protect(NHSD, Grid{Counts: counts, Lines: gridLines(3, 4)})
	if err != nil {
		t.Fatal(err)
	}
	// 3 is small; its row's next smallest is 10, then 3's column needs 15
	// and 10's column 12: the classic rectangle, where every line has two
	// withheld cells and the totals stay published.
	want := [][]bool{{true, true, false, false}, {true, true, false, false}, {false, false, false, false}}
	if !reflect.DeepEqual(hide, want) {
		t.Fatalf("withheld = %v, want %v", hide, want)
	}
	if got := attack(exactOrWithheld(counts, hide), gridLines(3, 4)); len(got) != 0 {
		t.Fatalf("attacker recovers %v", got)
	}
}

func TestProtect_DifferencingAttackWithoutSecondaryWouldSucceed(t *testing.T) {
	// The attack is real: with primary suppression only, the row total
	// gives the small count away.
	counts := withTotals([][]int64{{3, 10, 20}, {15, 12, 40}})
	primary := [][]bool{{true, false, false, false}, {false, false, false, false}, {false, false, false, false}}
	got := attack(exactOrWithheld(counts, primary), gridLines(3, 4))
	if v := got[Pos{0, 0}]; v == nil || v.Cmp(big.NewRat(3, 1)) != 0 {
		t.Fatalf("attacker got %v, want to recover 3 from the totals", got)
	}
}

func TestProtect_RandomTablesResistExactAttack(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		rows, cols := 1+rng.IntN(6), 1+rng.IntN(5)
		inner := make([][]int64, rows)
		for r := range inner {
			inner[r] = make([]int64, cols)
			for c := range inner[r] {
				switch rng.IntN(4) {
				case 0:
					inner[r][c] = int64(rng.IntN(8)) // small or zero
				default:
					inner[r][c] = int64(8 + rng.IntN(60))
				}
			}
		}
		counts := withTotals(inner)
		lines := gridLines(rows+1, cols+1)
		hide, err := Protect(NHSD, Grid{Counts: counts, Lines: lines})
		if err != nil {
			// Only acceptable when nothing is left to withhold.
			if !strings.Contains(err.Error(), "no cell is left") {
				t.Fatalf("trial %d %v: %v", trial, counts, err)
			}
			continue
		}
		for r := range counts {
			for c, n := range counts[r] {
				if NHSD.Small(n) && !hide[r][c] {
					t.Fatalf("trial %d: small count %d at %d,%d published", trial, n, r, c)
				}
			}
		}
		if got := attack(exactOrWithheld(counts, hide), lines); len(got) != 0 {
			t.Fatalf("trial %d: counts %v withheld %v: attacker recovers %v", trial, counts, hide, got)
		}
	}
}

func TestProtect_SubtotalsTyingMoreThanTwoLines(t *testing.T) {
	// ROLLUP-shaped column: leaves, two subtotals and a grand total, where
	// the grand total is both the sum of the leaves and of the subtotals.
	counts := [][]int64{{3}, {20}, {23}, {30}, {40}, {70}, {93}}
	lines := []Line{
		{Total: Pos{2, 0}, Parts: []Pos{{0, 0}, {1, 0}}},
		{Total: Pos{5, 0}, Parts: []Pos{{3, 0}, {4, 0}}},
		{Total: Pos{6, 0}, Parts: []Pos{{0, 0}, {1, 0}, {3, 0}, {4, 0}}},
	}
	hide, err := Protect(NHSD, Grid{Counts: counts, Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	if got := attack(exactOrWithheld(counts, hide), lines); len(got) != 0 {
		t.Fatalf("withheld %v: attacker recovers %v", hide, got)
	}
	if !hide[0][0] || !hide[1][0] {
		t.Fatalf("withheld %v: want 3 and its sibling 20", hide)
	}
}

// rows builds a query result as the DuckDB driver returns it.
func rows(r ...[]any) [][]any { return r }

func TestGate_RefusesPersonLevelKeys(t *testing.T) {
	tests := []struct {
		name    string
		columns []string
		rows    [][]any
		want    string
	}{
		{"person_key column", []string{"person_key", "n"}, rows([]any{"p1", int64(10)}), `column "person_key" holds person-level keys`},
		{"pseudonym column", []string{"Pseudonym", "n"}, rows([]any{"p1", int64(10)}), `column "Pseudonym" holds person-level keys`},
		{"nhs number column", []string{"NHS Number", "n"}, rows([]any{"x", int64(10)}), "person-level keys"},
		{"renamed key by its values", []string{"band", "n"}, rows([]any{"9f86d081884c7d659a2feaa0c55ad015", int64(10)}), "shaped like a pseudonym"},
		{"prefix of a key", []string{"band", "n"}, rows([]any{"a1b2c3d4", int64(10)}), "shaped like a pseudonym"},
		{"uuid text", []string{"band", "n"}, rows([]any{"123e4567-e89b-12d3-a456-426614174000", int64(10)}), "shaped like a pseudonym"},
		{"base64 key", []string{"band", "n"}, rows([]any{"q83vEjRWeJCrze8SNFZ4kA_x", int64(10)}), "shaped like a pseudonym"},
		{"NHS number as text", []string{"who", "n"}, rows([]any{"943 476 5919", int64(10)}), "shaped like a pseudonym"},
		{"NHS number as bare digits", []string{"who", "n"}, rows([]any{"9434765919", int64(10)}), "shaped like a pseudonym"},
		{"NHS number as an integer", []string{"who", "n"}, rows([]any{int64(9434765919), int64(10)}), "larger than any count"},
		{"hash of a key", []string{"h", "n"}, rows([]any{uint64(18446744073709551000), int64(10)}), "larger than any count"},
		{"binary key", []string{"k", "n"}, rows([]any{[]byte{1, 2, 3}, int64(10)}), "binary values"},
		{"uuid value", []string{"k", "n"}, rows([]any{duckdb.UUID{1}, int64(10)}), "binary values"},
		{"list hiding counts", []string{"k", "n"}, rows([]any{[]any{int64(3)}, int64(10)}), "cannot be checked"},
		{"row-level data without counts", []string{"sex", "age_band"}, rows([]any{"F", "65+"}, []any{"M", "18-44"}), "no count column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Gate(NHSD, tt.columns, nil, tt.rows)
			var refused *RefusedError
			if !errors.As(err, &refused) || !strings.Contains(refused.Reason, tt.want) {
				t.Fatalf("Gate = %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}

func TestGate_RefusesUncheckableColumnTypes(t *testing.T) {
	for _, typ := range []string{"BLOB", "UUID", "STRUCT(a INTEGER)", "INTEGER[]", "MAP(VARCHAR, INTEGER)", "UNION(a INTEGER)"} {
		_, err := Gate(NHSD, []string{"k", "n"}, []string{typ, "BIGINT"}, rows([]any{nil, int64(10)}))
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(refused.Reason, "is of type "+typ) {
			t.Errorf("%s: Gate = %v, want a refusal", typ, err)
		}
	}
	if _, err := Gate(NHSD, []string{"band", "n"}, []string{"VARCHAR", "BIGINT"}, rows([]any{"a", int64(10)})); err != nil {
		t.Errorf("plain types: %v", err)
	}
}

func TestGate_FindsCountsWhateverTheirNameOrType(t *testing.T) {
	dec := func(v int64, scale uint8) duckdb.Decimal {
		return duckdb.Decimal{Width: 18, Scale: scale, Value: big.NewInt(v)}
	}
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"BIGINT named like a label", int64(3), "*"},
		{"INTEGER", int32(5), "*"},
		{"HUGEINT", big.NewInt(6), "*"},
		{"UBIGINT", uint64(2), "*"},
		{"count cast to DOUBLE", float64(4), "*"},
		{"count cast to DECIMAL", dec(700, 2), "*"},
		{"count cast to VARCHAR", "7", "*"},
		{"count cast to VARCHAR, padded", " +3 ", "*"},
		{"large count as text", "1234", "1235"},
		{"zero", int64(0), "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Gate(NHSD, []string{"age_band", "region"}, nil, rows([]any{tt.value, "North"}, []any{int64(100), "South"}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tab.Rows[0][0].String(); got != tt.want {
				t.Fatalf("cell = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGate_TextInACountColumnIsWithheld(t *testing.T) {
	// A column the analyst "suppressed" themselves is still a count column
	// whose exact values would otherwise leave unrounded.
	tab, err := Gate(NHSD, []string{"band", "n"}, nil, rows([]any{"a", "few"}, []any{"b", "123"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{tab.Rows[0][1].String(), tab.Rows[1][1].String()}; !slices.Equal(got, []string{"*", "125"}) {
		t.Fatalf("cells = %v", got)
	}
}

// cohortResult is a result with two count columns, a total column and a
// total row, as an analyst's GROUP BY ... UNION ALL total would give.
func cohortResult() ([]string, [][]any) {
	cols := []string{"age_band", "female", "male", "people"}
	return cols, rows(
		[]any{"18-44", int64(3), int64(40), int64(43)},
		[]any{"45-64", int64(25), int64(31), int64(56)},
		[]any{"65+", int64(60), int64(52), int64(112)},
		[]any{"All ages", int64(88), int64(123), int64(211)},
	)
}

func TestGate_DifferencingThroughTotalsFails(t *testing.T) {
	cols, rs := cohortResult()
	lines := gridLines(4, 3)
	truth := func(q Pos) int64 { return rs[q.Row][q.Col+1].(int64) }
	for _, p := range Profiles() {
		t.Run(string(p), func(t *testing.T) {
			tab, err := Gate(p, cols, nil, rs)
			if err != nil {
				t.Fatal(err)
			}
			if !tab.Rows[0][1].Suppressed() {
				t.Fatalf("the 3 was published: %v", tab.Rows[0])
			}
			// The attacker takes the published totals as true totals. Under
			// NHS Digital no withheld cell may even be determined; under
			// OpenSAFELY totals are sums of published cells, so whatever the
			// equations give is not the withheld value.
			for q, v := range attack(publishedValues(t, tab, []int{1, 2, 3}), lines) {
				if p == NHSD || v.Cmp(big.NewRat(truth(q), 1)) == 0 {
					t.Errorf("attacker recovers %v = %v from %v", q, v, tab.Rows)
				}
			}
		})
	}
}

func TestGate_NHSDWithholdsPartnersAndNotes(t *testing.T) {
	cols, rs := cohortResult()
	tab, err := Gate(NHSD, cols, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range tab.Rows {
		var s []string
		for _, c := range r {
			s = append(s, c.String())
		}
		got = append(got, s)
	}
	// 3 withheld; its row's next smallest (40) and its column's (25), then
	// 25's row partner 31: a rectangle. Totals are rounded exact values.
	want := [][]string{
		{"18-44", "*", "*", "45"},
		{"45-64", "*", "*", "55"},
		{"65+", "60", "50", "110"},
		{"All ages", "90", "125", "210"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("table = %v, want %v", got, want)
	}
	notes := strings.Join(tab.Notes, "\n")
	for _, s := range []string{`Column "people" is the total of "female" + "male"`, "Row 4 totals 3 rows", "4 of 12 count cells withheld"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes %q lack %q", notes, s)
		}
	}
}

func TestGate_OpenSAFELYTotalsFromRoundedCells(t *testing.T) {
	cols, rs := cohortResult()
	tab, err := Gate(OpenSAFELY, cols, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	// Parts: 3 → *, 40 → 40, 25 → 25, 31 → 30, 60 → 60, 52 → 50.
	// Row totals are sums of the published parts: 40, 55, 110; column
	// totals 85, 120; the grand total 205 — not round(211) = 210.
	want := [][]string{
		{"18-44", "*", "40", "40"},
		{"45-64", "25", "30", "55"},
		{"65+", "60", "50", "110"},
		{"All ages", "85", "120", "205"},
	}
	for r, row := range tab.Rows {
		for c, cell := range row {
			if cell.String() != want[r][c] {
				t.Fatalf("row %d = %v, want %v", r, row, want[r])
			}
		}
	}
}

func TestGate_RollupSubtotalsAreLines(t *testing.T) {
	// GROUP BY ROLLUP (region, sex): NULL marks the subtotals.
	cols := []string{"region", "sex", "n"}
	rs := rows(
		[]any{"North", "F", int64(5)},
		[]any{"North", "M", int64(30)},
		[]any{"North", nil, int64(35)},
		[]any{"South", "F", int64(40)},
		[]any{"South", "M", int64(50)},
		[]any{"South", nil, int64(90)},
		[]any{nil, nil, int64(125)},
	)
	tab, err := Gate(NHSD, cols, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	lines := []Line{
		{Total: Pos{2, 0}, Parts: []Pos{{0, 0}, {1, 0}}},
		{Total: Pos{5, 0}, Parts: []Pos{{3, 0}, {4, 0}}},
		{Total: Pos{6, 0}, Parts: []Pos{{0, 0}, {1, 0}, {3, 0}, {4, 0}}},
	}
	if got := attack(publishedValues(t, tab, []int{2}), lines); len(got) != 0 {
		t.Fatalf("attacker recovers %v from %v", got, tab.Rows)
	}
	if !tab.Rows[0][2].Suppressed() || !tab.Rows[1][2].Suppressed() {
		t.Fatalf("rows = %v", tab.Rows)
	}
}

func TestGate_UnlabelledGrandTotalRow(t *testing.T) {
	// A total row with no marker label is still found by its sum.
	cols := []string{"band", "n"}
	rs := rows([]any{"a", int64(4)}, []any{"b", int64(30)}, []any{"c", int64(50)}, []any{"everyone", int64(84)})
	tab, err := Gate(NHSD, cols, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	lines := []Line{{Total: Pos{3, 0}, Parts: []Pos{{0, 0}, {1, 0}, {2, 0}}}}
	if got := attack(publishedValues(t, tab, []int{1}), lines); len(got) != 0 {
		t.Fatalf("attacker recovers %v from %v", got, tab.Rows)
	}
	if got := tab.Rows[1][1].String(); got != "*" {
		t.Fatalf("the next smallest (30) = %q, want *", got)
	}
}

func TestGate_MeasuresOnlyBesidePublishedCounts(t *testing.T) {
	cols := []string{"band", "n", "mean_los"}
	rs := rows([]any{"a", int64(3), 4.5}, []any{"b", int64(30), 2.25}, []any{"c", int64(50), nil})
	tab, err := Gate(NHSD, cols, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tab.Rows[0][2].String(), tab.Rows[1][2].String(), tab.Rows[2][2].String()}
	if want := []string{"*", "2.25", ""}; !slices.Equal(got, want) {
		t.Fatalf("measures = %q, want %q", got, want)
	}
	if tab.Rows[2][2].Kind() != KindEmpty {
		t.Fatalf("NULL measure kind = %v", tab.Rows[2][2].Kind())
	}
}

func TestGate_LabelsPassThrough(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tab, err := Gate(NHSD, []string{"month", "flag", "code", "n"}, nil,
		rows([]any{day, true, "44054006", int64(20)}, []any{day.AddDate(0, 1, 0), false, "1000000000000123", int64(30)}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range tab.Rows {
		for _, c := range row {
			got = append(got, c.String())
		}
	}
	if want := []string{"2025-03-01", "true", "44054006", "20", "2025-04-01", "false", "1000000000000123", "30"}; !slices.Equal(got, want) {
		t.Fatalf("cells = %v, want %v", got, want)
	}
}
