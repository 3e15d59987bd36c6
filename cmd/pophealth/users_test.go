package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsersCmd_AddListRemoveAndRefusals(t *testing.T) {
	ws := filepath.Join(t.TempDir(), "ws")
	if _, err := runCLI(t, "--workspace", ws, "init"); err != nil {
		t.Fatal(err)
	}
	users := func(stdin string, args ...string) (string, error) {
		return runCLIInput(t, stdin, append([]string{"--workspace", ws, "users"}, args...)...)
	}
	for _, tc := range []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"purpose for a non-commissioner", "", []string{"add", "ian", "--role", "ig_lead", "--purpose", "p", "--no-password"}, "--purpose is for commissioners"},
		{"unknown role", "", []string{"add", "x", "--role", "admin", "--no-password"}, `unknown role "admin"`},
		{"short password", "short\n", []string{"add", "x", "--role", "operator", "--password-stdin"}, "password too short"},
		{"no role", "", []string{"add", "x", "--no-password"}, `required flag(s) "role" not set`},
		{"remove unknown", "", []string{"remove", "nobody"}, `no user "nobody"`},
	} {
		if _, err := users(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := users(servePassword+"\n", "add", "alice", "--role", "commissioner", "--purpose", "p1,p2", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, err := users("", "add", "ian", "--role", "ig_lead,operator", "--no-password"); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(ws, usersFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	out, err := users("", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Name     string   `json:"name"`
		Roles    []string `json:"roles"`
		Purposes []string `json:"purposes"`
		Password bool     `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice" || strings.Join(list[0].Purposes, ",") != "p1,p2" || !list[0].Password ||
		strings.Join(list[1].Roles, ",") != "ig_lead,operator" || list[1].Password || strings.Contains(out, "$2a$") {
		t.Errorf("users list: %s", out)
	}
	if _, err := users("", "remove", "alice"); err != nil {
		t.Fatal(err)
	}
	if out, _ := users("", "list"); strings.Contains(out, "alice") || !strings.Contains(out, "ian") {
		t.Errorf("after remove:\n%s", out)
	}
}
