package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInit_CreatesWorkspaceWithPrivateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	ws, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{ws.KeysDir(): 0o700, ws.LakeKeyPath(): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode %#o, want %#o", path, got, want)
		}
	}
	if _, err := ws.LakeKey(); err != nil {
		t.Errorf("LakeKey: %v", err)
	}
	if !strings.HasPrefix(ws.LakeDir(), dir) {
		t.Errorf("lake %s outside workspace", ws.LakeDir())
	}
	opened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Config != ws.Config {
		t.Errorf("opened config %+v, want %+v", opened.Config, ws.Config)
	}
}

func TestInit_RefusesExistingWorkspace(t *testing.T) {
	dir := t.TempDir()
	ws, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(ws.LakeKeyPath())
	if _, err := Init(dir); err == nil {
		t.Fatal("second Init succeeded")
	}
	after, _ := os.ReadFile(ws.LakeKeyPath())
	if string(before) != string(after) {
		t.Error("second Init replaced the key")
	}
}

func TestOpen_NotInitialised(t *testing.T) {
	_, err := Open(t.TempDir())
	if !errors.Is(err, ErrNotInitialised) || !strings.Contains(err.Error(), "pophealth init") {
		t.Errorf("Open of empty dir: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"example", string(exampleConfig), ""},
		{"unknown field", "version: 1\nlakes: x\n", "field lakes not found"},
		{"bad version", "version: 2\n", "version 2"},
		{"empty lake", "version: 1\nlake: \"\"\n", "lake: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tt.yaml))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestInit_WritesTheSyntheticDeprivationLookup(t *testing.T) {
	ws, err := Init(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ws.DeprivationLookup()
	if err != nil {
		t.Fatal(err)
	}
	if l == nil || !l.IsSynthetic() || l.Len() != 1388 {
		t.Fatalf("lookup %v: want the synthetic one", l)
	}
	if err := os.Remove(ws.DeprivationLookupPath()); err != nil {
		t.Fatal(err)
	}
	if l, err := ws.DeprivationLookup(); l != nil || err != nil {
		t.Errorf("without the file: %v, %v; want nil, nil", l, err)
	}
	if err := os.WriteFile(ws.DeprivationLookupPath(), []byte("lsoa_code,imd_decile\nE01000001,12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.DeprivationLookup(); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad lookup: err %v, want the line named", err)
	}
}
