package compare

import (
	"database/sql"
	"math/rand/v2"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// pairs returns the string pairs the golden tests compare: fixed edge cases
// (empty strings, single bytes, unicode, long strings, transpositions) and
// random mutations of names, so that every branch of both comparators is
// exercised against DuckDB.
func pairs() [][2]string {
	ps := [][2]string{
		{"", ""}, {"", "a"}, {"a", ""}, {"a", "a"}, {"a", "b"}, {"ab", "ba"}, {"abc", "bca"},
		{"martha", "marhta"}, {"dwayne", "duane"}, {"dixon", "dicksonx"}, {"jellyfish", "smellyfish"},
		{"ca", "abc"}, {"a cat", "an abct"}, {"crate", "trace"}, {"café", "cafe"}, {"Zoë", "Zoe"},
		{"Ångström", "Angstrom"}, {"名字", "名子"}, {"😀x", "x😀"}, {"O'Brien", "OBrien"},
		{"MacDonald", "McDonald"}, {"smith-jones", "smith jones"}, {"SW1A 1AA", "SW1A 1AB"},
		{"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789", "bacdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345678"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaa"},
		{"19560409", "19560490"}, {"19560409", "19650409"}, {"1234567890", "1234567809"},
	}
	names := []string{"mitchell", "green", "harley", "mccarthy", "madeline", "mason", "isabelle",
		"robert", "allen", "elizabeth", "catherine", "o'neill", "nguyen", "singh", "kowalczyk",
		"smith", "jones", "williams", "taylor", "brown", "josé", "müller", "zoë", "siobhán"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		a := names[r.IntN(len(names))]
		var b string
		switch r.IntN(4) {
		case 0:
			b = names[r.IntN(len(names))]
		default:
			b = mutate(r, a, 1+r.IntN(3))
		}
		ps = append(ps, [2]string{a, b})
	}
	return ps
}

// mutate applies n random character edits to s, keeping it valid UTF-8
// (DuckDB stores invalid strings as NULL); some inserted characters are
// multi-byte.
func mutate(r *rand.Rand, s string, n int) string {
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzéüñ")
	b := []rune(s)
	for range n {
		if len(b) == 0 {
			b = append(b, 'a')
			continue
		}
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] = alphabet[r.IntN(len(alphabet))]
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]rune{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
		default:
			if i+1 < len(b) {
				b[i], b[i+1] = b[i+1], b[i]
			}
		}
	}
	return string(b)
}

// duckDB opens an in-memory DuckDB database for the golden tests and
// benchmarks.
func duckDB(tb testing.TB) *sql.DB {
	tb.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(c)
	tb.Cleanup(func() { db.Close() })
	return db
}

// loadPairs creates table pairs(i, a, b) in db.
func loadPairs(tb testing.TB, db *sql.DB, ps [][2]string) {
	tb.Helper()
	if _, err := db.Exec(`CREATE OR REPLACE TABLE pairs (i INTEGER, a VARCHAR, b VARCHAR)`); err != nil {
		tb.Fatal(err)
	}
	conn, err := db.Conn(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(*duckdb.Conn), "", "pairs")
		if err != nil {
			return err
		}
		for i, p := range ps {
			if err := app.AppendRow(int32(i), p[0], p[1]); err != nil {
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestJaroWinkler_EqualsDuckDB(t *testing.T) {
	db := duckDB(t)
	ps := pairs()
	loadPairs(t, db, ps)
	rows, err := db.Query(`SELECT i, jaro_winkler_similarity(a, b), damerau_levenshtein(a, b) FROM pairs ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var i int
		var jw sql.NullFloat64
		var dl sql.NullInt64
		if err := rows.Scan(&i, &jw, &dl); err != nil {
			t.Fatal(err)
		}
		a, b := ps[i][0], ps[i][1]
		if !jw.Valid {
			t.Errorf("DuckDB jaro_winkler_similarity(%q, %q) is NULL", a, b)
		} else if got := JaroWinkler(a, b); got != jw.Float64 {
			t.Errorf("JaroWinkler(%q, %q) = %v, DuckDB %v", a, b, got, jw.Float64)
		}
		if !dl.Valid {
			t.Errorf("DuckDB damerau_levenshtein(%q, %q) is NULL", a, b)
		} else if got := DamerauLevenshtein(a, b); int64(got) != dl.Int64 {
			t.Errorf("DamerauLevenshtein(%q, %q) = %d, DuckDB %d", a, b, got, dl.Int64)
		}
		if got, want := WithinOneEdit(a, b), dl.Int64 <= 1; got != want {
			t.Errorf("WithinOneEdit(%q, %q) = %v, DuckDB's distance %d", a, b, got, dl.Int64)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(ps) {
		t.Fatalf("compared %d pairs, want %d", n, len(ps))
	}
}
