package queries

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestStoredReport_RoundTripKeepsTableAndCharts(t *testing.T) {
	r := sampleReport()
	r.Charts = []Chart{{Title: "People", Kind: Pyramid, Unit: "people", Categories: []string{"0-17", "80+"},
		Series: []Series{{Name: "People", Values: []Cell{r.Rows[0][1], r.Rows[1][1]}}}}}
	b, err := json.Marshal(Store(r))
	if err != nil {
		t.Fatal(err)
	}
	var s StoredReport
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	var want, have bytes.Buffer
	must(t, r.WriteText(&want))
	must(t, got.WriteText(&have))
	if have.String() != want.String() {
		t.Errorf("text after round trip:\n%s\nwant\n%s", have.String(), want.String())
	}
	wantHTML, err := HTMLFragment(r)
	if err != nil {
		t.Fatal(err)
	}
	gotHTML, err := HTMLFragment(got)
	if err != nil {
		t.Fatal(err)
	}
	if gotHTML != wantHTML || !strings.Contains(string(gotHTML), "<svg") {
		t.Errorf("HTML with charts differs after round trip")
	}
	if got.Rows[0][1].Suppressed() != true || got.Rows[2][2].String() != "-" {
		t.Errorf("cell kinds lost: %q %q", got.Rows[0][1], got.Rows[2][2])
	}
}

func TestCell_UnmarshalJSONAcceptsOnlySuppressedValues(t *testing.T) {
	tests := []struct {
		json, want string
		ok         bool
	}{
		{`0`, "0", true},
		{`10`, "10", true},
		{`1235`, "1235", true},
		{`7.5`, "7.5", true},
		{`0.0`, "0.0", true},
		{`"*"`, "*", true},
		{`null`, "-", true},
		{`"80+"`, "80+", true},
		{`3`, "", false},      // a small count
		{`12`, "", false},     // not rounded to 5
		{`5`, "", false},      // below the smallest published count
		{`-10`, "", false},    // not a count
		{`7.25`, "", false},   // not a published rate
		{`1e3`, "", false},    // not how a count is written
		{`true`, "", false},   // not a cell
		{`[1]`, "", false},    // not a cell
		{`-1.5`, "", false},   // not a rate
		{`12.`, "", false},    // no decimal digit
		{`"\u00"`, "", false}, // broken string
	}
	for _, tc := range tests {
		var c Cell
		err := json.Unmarshal([]byte(tc.json), &c)
		if (err == nil) != tc.ok || (tc.ok && c.String() != tc.want) {
			t.Errorf("Unmarshal(%s) = %q, %v; want %q, ok %v", tc.json, c, err, tc.want, tc.ok)
		}
	}
}

// FuzzCellUnmarshalJSON checks that whatever a stored report file holds,
// a cell decoded from it shows no small count: a whole number it accepts
// is 0 or a multiple of 5 above 7, and it re-encodes to what was read.
func FuzzCellUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`0`, `10`, `7.5`, `"*"`, `null`, `"80+"`, `3`, `1e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Cell
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		var again Cell
		if err := json.Unmarshal(out, &again); err != nil || again != c {
			t.Fatalf("%q -> %q does not decode to the same cell: %v", b, out, err)
		}
		if c.kind == kindNumber && !strings.Contains(c.text, ".") {
			if n := len(c.text); c.text != "0" && (n < 2 || (c.text[n-1] != '0' && c.text[n-1] != '5')) {
				t.Fatalf("accepted count %q", c.text)
			}
		}
	})
}
