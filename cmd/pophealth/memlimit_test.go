package main

import (
	"math"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"256MiB", 256 << 20, false},
		{"1GiB", 1 << 30, false},
		{"300000000", 300000000, false},
		{"512KiB", 512 << 10, false},
		{"2TiB", 2 << 40, false},
		{"100B", 100, false},
		{" 64MiB ", 64 << 20, false},
		{"off", math.MaxInt64, false},
		{"0", math.MaxInt64, false},
		{"0MiB", math.MaxInt64, false},
		{"256MB", 0, true}, // GOMEMLIMIT has no decimal units
		{"-1MiB", 0, true},
		{"1.5GiB", 0, true},
		{"MiB", 0, true},
		{"", 0, true},
		{"9000000TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseMemoryLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// A malformed limit stops ingest and serve before they touch anything.
func TestMemoryLimitFlag_RejectsBadValues(t *testing.T) {
	ws := t.TempDir()
	for _, args := range [][]string{
		{"ingest", "--workspace", ws, "--memory-limit", "lots", "nowhere"},
		{"serve", "--workspace", ws, "--memory-limit", "1.5GiB"},
	} {
		_, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "memory limit") {
			t.Errorf("%v: err = %v, want one about the memory limit", args, err)
		}
	}
}
