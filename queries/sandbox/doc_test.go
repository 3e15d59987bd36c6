package sandbox

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the escape-attempt tables in docs/sandbox.md from this run")

const (
	docPath  = "../../docs/sandbox.md"
	docBegin = "<!-- escape-attempts:begin (go test ./queries/sandbox -run TestDoc -update) -->"
	docEnd   = "<!-- escape-attempts:end -->"
)

// TestDoc_ListsEveryAttemptWithItsOutcome keeps docs/sandbox.md honest: its
// tables are what this run's attempts actually produced. Run with -update
// after changing an attempt.
func TestDoc_ListsEveryAttemptWithItsOutcome(t *testing.T) {
	f := newFixture(t)
	s := openSession(t, Config{Dir: f.purpose})
	hide := strings.NewReplacer(f.purpose, "{purpose}", f.other, "{other}", f.root, "{root}")
	var b strings.Builder
	b.WriteString(docBegin + "\n\n")
	fmt.Fprintf(&b, "### Queries (%d attempts, all refused before DuckDB runs them)\n\n", len(escapeAttempts))
	b.WriteString("| # | attempt | query | outcome |\n|---|---|---|---|\n")
	for i, a := range escapeAttempts {
		_, err := s.Query(context.Background(), expand(a.query, f))
		fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", i+1, a.name, cell(a.query), cell(hide.Replace(outcome(err))))
	}
	fmt.Fprintf(&b, "\n### Links and names planted in the purpose folder (%d attempts, the session does not open)\n\n", len(linkAttempts))
	b.WriteString("| # | attempt | outcome |\n|---|---|---|\n")
	for i, a := range linkAttempts {
		g := newFixture(t)
		if err := a.plant(g); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), Config{Dir: g.purpose})
		h := strings.NewReplacer(g.purpose, "{purpose}", g.other, "{other}", g.root, "{root}")
		fmt.Fprintf(&b, "| %d | %s | %s |\n", i+1, a.name, cell(h.Replace(outcome(err))))
	}
	b.WriteString("\n" + docEnd)
	generated := b.String()

	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), docBegin)
	_, after, ok2 := strings.Cut(rest, docEnd)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q and %q", docPath, docBegin, docEnd)
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(before+generated+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if current := docBegin + rest[:len(rest)-len(after)]; current != generated {
		t.Fatalf("%s is out of date; run go test ./queries/sandbox -run TestDoc -update", docPath)
	}
}

func outcome(err error) string {
	if err == nil {
		return "**not refused**"
	}
	return strings.TrimPrefix(err.Error(), "sandbox: ")
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "\x00", `\0`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return strings.ReplaceAll(s, "|", `\|`)
}
