package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/synth"
)

func TestLinkEval_PrintsPairwiseFigures(t *testing.T) {
	out, err := runCLI(t, "link", "eval", filepath.Join("testdata", "link_eval.csv"), "--truth", "person", "--json")
	if err != nil {
		t.Fatalf("link eval: %v\n%s", err, out)
	}
	var res evalResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("link eval --json: %v\n%s", err, out)
	}
	// a: 3 records (3 pairs), b: 2 (1), d: 2 (1); the others alone.
	if res.Records != 10 || res.TruePairs != 5 {
		t.Errorf("records %d, true pairs %d; want 10 and 5", res.Records, res.TruePairs)
	}
	if res.Columns["given_name"] != "first_name" || res.Columns["family_name"] != "surname" || res.Columns["birth_date"] != "dob" {
		t.Errorf("columns %v, want first_name, surname and dob mapped by name", res.Columns)
	}
	if res.Precision != 1 {
		t.Errorf("precision %v, want 1 (Sarah and Thomas Bell share only a surname and an address)", res.Precision)
	}
	if _, err := runCLI(t, "link", "eval", filepath.Join("testdata", "link_eval.csv"), "--truth", "nope"); err == nil || !strings.Contains(err.Error(), "no truth column") {
		t.Errorf("missing truth column: %v, want an error naming it", err)
	}
	if _, err := runCLI(t, "link", "eval", filepath.Join("testdata", "link_eval.csv"), "--truth", "person", "--map", "shoe_size=id"); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown --map field: %v, want an error listing the fields", err)
	}
}

func TestLinkCommands_ExplainReviewDecide(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	if out, err := runCLI(t, "--workspace", ws, "demo", "--people", "400", "--seed", "3"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	out, err := runCLI(t, "--workspace", ws, "link", "--json")
	if err != nil {
		t.Fatalf("link: %v\n%s", err, out)
	}
	var again link.RunResult
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatal(err)
	}
	if again.Mode != "incremental" || again.New != 0 || again.Moved != 0 {
		t.Errorf("second link run %+v, want incremental with nothing new or moved", again)
	}

	// Two sources of one true person, from synth's truth.
	a, b := sameTruePerson(t, filepath.Join(ws, "feeds"))
	out, err = runCLI(t, "--workspace", ws, "link", "explain", a, b)
	if err != nil {
		t.Fatalf("link explain: %v\n%s", err, out)
	}
	for _, want := range []string{"prior", "birth_date", "total", "match probability", "the last linkage run put them in the same person"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "--workspace", ws, "link", "explain", a, "gp/NOPE"); err == nil || !strings.Contains(err.Error(), `no source patient "gp/NOPE"`) {
		t.Errorf("explain unknown source: %v", err)
	}
	if _, err := runCLI(t, "--workspace", ws, "link", "review", "--json"); err != nil {
		t.Fatalf("link review: %v", err)
	}

	// A confirmed un-merge separates them on the next run.
	if _, err := runCLI(t, "--workspace", ws, "link", "review", "--decide", a, b, "non-match"); err == nil || !strings.Contains(err.Error(), "--by") {
		t.Errorf("decision without --by: %v, want an error asking for it", err)
	}
	if out, err := runCLI(t, "--workspace", ws, "link", "review", "--decide", a, b, "non-match", "--by", "test clerk"); err != nil {
		t.Fatalf("decide: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "--workspace", ws, "link"); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "--workspace", ws, "link", "explain", a, b, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var e link.Explanation
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	if e.Linked {
		t.Errorf("%s and %s still linked after a non-match decision", a, b)
	}
}

// sameTruePerson returns a GP source and an HL7 source of one true person.
func sameTruePerson(t *testing.T, feeds string) (string, string) {
	t.Helper()
	rows, err := synth.ReadTruth(feeds)
	if err != nil {
		t.Fatal(err)
	}
	gp := map[string]string{}
	for _, r := range rows {
		if r.Feed == "gp" {
			gp[r.PersonID] = link.SourceID(r.Feed, r.LocalID)
		}
	}
	for _, r := range rows {
		if r.Feed == "hl7v2" && gp[r.PersonID] != "" {
			return gp[r.PersonID], link.SourceID(r.Feed, r.LocalID)
		}
	}
	t.Fatal("no person with GP and HL7 records in truth.csv")
	return "", ""
}
