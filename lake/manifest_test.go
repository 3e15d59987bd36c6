package lake

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseManifest_RefusesPathsOutsideTheZones(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"pseudo/person/source=gp/part-B1.parquet", true},
		{"mpi/links/part-B1.parquet", true},
		{"quarantine/part-B1.parquet", true},
		{"../outside/part-B1.parquet", false},
		{"/etc/passwd", false},
		{"pseudo/../../etc/passwd", false},
		{"manifest/B0.json", false},
		{".lock", false},
		{"", false},
		{"pseudo/./person/part-B1.parquet", false},
	} {
		body := `{"version":1,"batch_id":"B1","files":[{"path":` + quoteJSON(tc.path) + `}]}`
		_, err := parseManifest([]byte(body), "B1")
		if (err == nil) != tc.ok {
			t.Errorf("parseManifest with file %q: err = %v, want ok %v", tc.path, err, tc.ok)
		}
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzParseManifest checks that whatever a manifest file holds, an accepted
// manifest names its own batch and lists only files inside the lake's
// zones (Recover renames them), and survives a round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"batch_id":"B1","files":[{"path":"pseudo/person/source=gp/part-B1.parquet","rows":3}]}`), "B1")
	f.Fuzz(func(t *testing.T, data []byte, id string) {
		m, err := parseManifest(data, id)
		if err != nil {
			return
		}
		if m.BatchID != id {
			t.Fatalf("accepted manifest of batch %q as %q", m.BatchID, id)
		}
		for _, file := range m.Files {
			zone, _, _ := strings.Cut(file.Path, "/")
			if !filepath.IsLocal(file.Path) || (zone != pseudoZone && zone != mpiZone && zone != quarantineZone) {
				t.Fatalf("accepted file path %q outside the zones", file.Path)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseManifest(again, id); err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, again)
		}
	})
}
