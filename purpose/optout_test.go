package purpose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pophealth/pophealth/models"
)

func TestParseRegister_CheckServiceFile(t *testing.T) {
	f, err := os.Open("testdata/optout/national-cleared.dat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ParseRegister("national-cleared.dat", f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != RegisterNational || r.List != ListCleared || r.AsOf.String() != "2026-11-30" {
		t.Errorf("header = %s %s %s", r.Kind, r.List, r.AsOf)
	}
	if len(r.Numbers) != 3 || !r.Numbers["9000000017"] || !r.Numbers["9000000025"] || !r.Numbers["9000000033"] {
		t.Errorf("numbers = %v", r.Numbers)
	}
}

func TestParseRegister_Errors(t *testing.T) {
	head := "# pophealth opt-out register v1\n# kind: national\n# list: opted-out\n# as-of: 2026-11-30\n"
	for _, tc := range []struct{ name, body, want string }{
		{"no magic", "# kind: national\n9000000017,\n", "not an opt-out register"},
		{"no as-of", "# pophealth opt-out register v1\n# kind: national\n# list: cleared\n", `"# as-of:" missing`},
		{"no kind", "# pophealth opt-out register v1\n# list: cleared\n# as-of: 2026-11-30\n", `"# kind:" missing`},
		{"bad kind", "# pophealth opt-out register v1\n# kind: local\n", "r.dat:2: kind \"local\""},
		{"bad date", "# pophealth opt-out register v1\n# as-of: 30/11/2026\n", "r.dat:2: as-of"},
		{"unknown header", "# pophealth opt-out register v1\n# expires: soon\n", `r.dat:2: unknown header "expires"`},
		{"short number", head + "9000000017,\n900054366,\n", "r.dat:6: \"900054366,\" is not a 10-digit NHS number"},
		{"check digit", head + "9000000018\n", "r.dat:5: NHS number fails its check digit"},
		{"two per line", head + "9000000017,9000000025\n", "r.dat:5:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRegister("r.dat", strings.NewReader(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadRegister_RefusesOldFutureAndWrongKind(t *testing.T) {
	path := "testdata/optout/national-cleared.dat" // as of 2026-11-30
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	if _, err := LoadRegister(path, RegisterNational, 30, at(2026, 12, 30)); err != nil {
		t.Errorf("30 days old with a 30-day limit: %v", err)
	}
	if _, err := LoadRegister(path, RegisterNational, 30, at(2026, 12, 31)); err == nil || !strings.Contains(err.Error(), "is 31 days old (as of 2026-11-30); the limit is 30 days") {
		t.Errorf("31 days old: %v", err)
	}
	if _, err := LoadRegister(path, RegisterNational, 30, at(2026, 11, 29)); err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("future: %v", err)
	}
	if _, err := LoadRegister(path, RegisterType1, 30, at(2026, 12, 1)); err == nil || !strings.Contains(err.Error(), "a national register where the type1 register belongs") {
		t.Errorf("wrong kind: %v", err)
	}
	if _, err := LoadRegister(filepath.Join(t.TempDir(), "none.dat"), RegisterNational, 30, at(2026, 12, 1)); err == nil {
		t.Error("missing register accepted")
	}
	if _, err := LoadRegister("", RegisterNational, 30, at(2026, 12, 1)); err == nil || !strings.Contains(err.Error(), "no national opt-out register configured") {
		t.Errorf("unconfigured: %v", err)
	}
}

func TestRegister_Excludes(t *testing.T) {
	out := &Register{List: ListOptedOut, Numbers: map[string]bool{"9000000017": true}}
	cleared := &Register{List: ListCleared, Numbers: map[string]bool{"9000000017": true}}
	for _, tc := range []struct {
		reg     *Register
		numbers []string
		want    bool
	}{
		{out, []string{"9000000017"}, true},
		{out, []string{"9000000025"}, false},
		{out, []string{"9000000025", "9000000017"}, true},
		{cleared, []string{"9000000017"}, false},
		{cleared, []string{"9000000025"}, true}, // not checked, so not cleared
		{cleared, []string{"9000000017", "9000000025"}, true},
		{cleared, nil, false},
	} {
		if got := tc.reg.excludes(tc.numbers); got != tc.want {
			t.Errorf("%s list excludes(%v) = %v, want %v", tc.reg.List, tc.numbers, got, tc.want)
		}
	}
}

func TestRoundTo5(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 0, 2: 0, 3: 5, 7: 5, 8: 10, 12: 10, 13: 15, 1002: 1000} {
		if got := roundTo5(n); got != want {
			t.Errorf("roundTo5(%d) = %d, want %d", n, got, want)
		}
	}
}

func FuzzParseRegister(f *testing.F) {
	for _, name := range []string{"national-cleared.dat", "type1.dat"} {
		b, err := os.ReadFile(filepath.Join("testdata/optout", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRegister("fuzz.dat", strings.NewReader(string(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.dat") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for n := range r.Numbers {
			if len(n) != 10 {
				t.Fatalf("accepted %q", n)
			}
		}
	})
}

func TestImportRegister_AddsHeaderAndNamesSourceLines(t *testing.T) {
	ws, _ := newWorkspace(t)
	src := filepath.Join(t.TempDir(), "returned.dat")
	os.WriteFile(src, []byte("9000000017,\n9000000018,\n"), 0o600)
	_, err := ImportRegister(ws, src, RegisterNational, ListCleared, 0)
	if err == nil || !strings.Contains(err.Error(), src+":2: NHS number fails its check digit") {
		t.Errorf("bad number: %v", err)
	}
	os.WriteFile(src, []byte("9000000017,\n9000000025,\n"), 0o600)
	asOf := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := ImportRegister(ws, src, RegisterNational, ListCleared, models.DateOf(asOf)); err != nil {
		t.Fatal(err)
	}
	reg, err := LoadRegister(ws.OptOutRegisterPath(RegisterNational), RegisterNational, 30, asOf.AddDate(0, 0, 5))
	if err != nil {
		t.Fatal(err)
	}
	if reg.List != ListCleared || reg.AsOf.String() != "2026-12-01" || len(reg.Numbers) != 2 {
		t.Errorf("register %+v", reg)
	}
	if info, _ := os.Stat(ws.OptOutRegisterPath(RegisterNational)); info.Mode().Perm() != 0o600 {
		t.Errorf("register mode %#o: it holds NHS numbers", info.Mode().Perm())
	}
	if _, err := ImportRegister(ws, src, "local", ListCleared, 0); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestExportNHSNumbers_EveryValidNumberOnce(t *testing.T) {
	g := newGovWorkspace(t)
	var out strings.Builder
	n, err := ExportNHSNumbers(t.Context(), g.ws, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "9000000017,\n9000000025,\n9000000033,\n9000000041,\n9000000068,\n9000000076,\n9000000084,\n9000000092,\n"
	if n != 8 || out.String() != want {
		t.Errorf("exported %d:\n%s", n, out.String())
	}
}
