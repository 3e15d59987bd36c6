package pseudonymise

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustKey(t testing.TB) Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPersonKey_StableAndKeyed(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	p1, p1b, p2 := New(k1), New(k1), New(k2)
	a := p1.PersonKey("person-1")
	if a != p1b.PersonKey("person-1") {
		t.Error("same key and id gave different pseudonyms")
	}
	if a == p1.PersonKey("person-2") {
		t.Error("different ids gave the same pseudonym")
	}
	if a == p2.PersonKey("person-1") {
		t.Error("different keys gave the same pseudonym")
	}
	if len(a) != 2*keyBytes {
		t.Errorf("pseudonym length %d, want %d", len(a), 2*keyBytes)
	}
	if strings.Contains(a, "person-1") {
		t.Error("pseudonym contains the id")
	}
}

func TestDerive_DomainsSeparate(t *testing.T) {
	p := New(mustKey(t))
	if p.PersonKey("x") == p.Derive("purpose", "x") {
		t.Error("person and purpose domains collide")
	}
	// Shifting bytes between domain and value must change the pseudonym.
	if p.Derive("ab", "c") == p.Derive("a", "bc") {
		t.Error("domain/value boundary is ambiguous")
	}
	if p.EncounterKey("gp", "1") == p.EncounterKey("fhir", "1") {
		t.Error("equal visit numbers of two feeds collide")
	}
}

func TestKey_NeverPrinted(t *testing.T) {
	k := mustKey(t)
	hexKey := fmt.Sprintf("%x", k.b[:])
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", "key", k)
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v", k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k),
		fmt.Sprintf("%s", k), fmt.Errorf("wrap: %v", k).Error(), logs.String(),
	} {
		if strings.Contains(s, hexKey) {
			t.Errorf("key leaked in %q", s)
		}
	}
}

func TestKeyFile_RoundTripAndPermissions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lake.key")
	k := mustKey(t)
	if err := WriteKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", info.Mode().Perm())
	}
	got, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != k {
		t.Error("loaded key differs")
	}
	if err := WriteKeyFile(path, mustKey(t)); err == nil {
		t.Error("WriteKeyFile overwrote an existing key")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadKey accepted a world-readable key: %v", err)
	}
}

func TestLoadKeyFrom_EnvironmentWinsAndErrorsRedact(t *testing.T) {
	k := mustKey(t)
	t.Setenv("PH_TEST_KEY", fmt.Sprintf("%x", k.b[:]))
	got, err := LoadKeyFrom("PH_TEST_KEY", "/nonexistent")
	if err != nil || got != k {
		t.Fatalf("LoadKeyFrom env: %v", err)
	}
	secret := "zz" + strings.Repeat("ab", 31)
	t.Setenv("PH_TEST_KEY", secret)
	_, err = LoadKeyFrom("PH_TEST_KEY", "/nonexistent")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("bad env key: err %v must exist and not echo the value", err)
	}
	t.Setenv("PH_TEST_KEY", "")
	if _, err := LoadKeyFrom("PH_TEST_KEY", filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "pophealth init") {
		t.Errorf("missing key file: %v", err)
	}
}

func TestPostcodeDistrict(t *testing.T) {
	for in, want := range map[string]string{
		"LS1 4AP":  "LS1",
		"ls14ap":   "LS1",
		"BD10 9XY": "BD10",
		"EC1A 1BB": "EC1A",
		"W1A 0AX":  "W1A",
		"M1 1AE":   "M1",
		"":         "",
		"UNKNOWN":  "",
		"12345":    "",
		"LS1 4A":   "",
		"LS1-4AP":  "",
		// Spaces anywhere, lower case, other white space and Unicode
		// letters that upper-case to ASCII ones.
		"L S 1 4 A P":   "LS1",
		" ls1\t4ap\n":   "LS1",
		"ls1\u00a04ap":  "LS1",
		"\u0131S1 4AP":  "IS1",
		"LS12 4APX":     "",
		"LS1 4AP LS1 4": "",
		"\u00e9C1A 1BB": "",
	} {
		if got := PostcodeDistrict(in); got != want {
			t.Errorf("PostcodeDistrict(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkPostcodeDistrict(b *testing.B) {
	for b.Loop() {
		_ = PostcodeDistrict("BD10 9XY")
	}
}

func BenchmarkPersonKey(b *testing.B) {
	p := New(mustKey(b))
	for i := 0; b.Loop(); i++ {
		_ = p.PersonKey("p0123456789abcdef")
	}
}
