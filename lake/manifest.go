package lake

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// manifestVersion is written in every manifest so that a later layout
// change can still read earlier batches.
const manifestVersion = 1

// Manifest is the record of one committed batch. Its presence under
// manifest/ is what makes the batch part of the lake.
//
// The caller of Commit supplies Inputs (and may leave everything else
// empty); Commit fills in BatchID, Version, StartedAt, CommittedAt, Files
// and Counts from what the batch actually wrote, replacing any values the
// caller set there.
type Manifest struct {
	Version     int       `json:"version"`
	BatchID     string    `json:"batch_id"`
	StartedAt   time.Time `json:"started_at"`
	CommittedAt time.Time `json:"committed_at"`
	// Inputs are the feed files the batch read.
	Inputs []InputFile `json:"inputs"`
	// Files are the data files the batch wrote, in the order they were
	// renamed into place.
	Files []DataFile `json:"files"`
	// Counts is rows written per dataset: the directory up to the first
	// partition (pseudo/person, pseudo/encounter, mpi/links, quarantine),
	// which is also what Files accepts.
	Counts map[string]int64 `json:"counts"`
}

// InputFile is one feed file read by a batch, with the account of its
// records: Read == Accepted + Quarantined, which Commit checks.
type InputFile struct {
	// Path is the file's path as given to the ingest job.
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of the file's content; it identifies the
	// file for Ingested regardless of its name.
	SHA256      string           `json:"sha256"`
	Feed        string           `json:"feed"`
	Size        int64            `json:"size"`
	Read        int64            `json:"read"`
	Accepted    int64            `json:"accepted"`
	Quarantined int64            `json:"quarantined"`
	Emitted     int64            `json:"emitted"`
	Skipped     map[string]int64 `json:"skipped,omitempty"`
}

// DataFile is one Parquet file written by a batch.
type DataFile struct {
	// Path is relative to the lake root, slash-separated.
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// batchIDPattern keeps batch ids safe in file names and unambiguous after
// tempMarker (no dots, no separators).
var batchIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)

func validBatchID(id string) error {
	if !batchIDPattern.MatchString(id) {
		return fmt.Errorf("lake: batch id %q: want 1-100 letters, digits, '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

// validateInputs checks the caller-supplied part of a manifest before
// commit: well-formed hashes, balanced counts, no file twice.
func (m *Manifest) validateInputs() error {
	seen := map[string]string{}
	for _, in := range m.Inputs {
		if b, err := hex.DecodeString(in.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("input %s: sha256 %q is not a hex SHA-256", in.Path, in.SHA256)
		}
		if in.Read != in.Accepted+in.Quarantined {
			return fmt.Errorf("input %s: read %d != accepted %d + quarantined %d", in.Path, in.Read, in.Accepted, in.Quarantined)
		}
		sum := strings.ToLower(in.SHA256)
		if prev, dup := seen[sum]; dup {
			return fmt.Errorf("input %s: same content as %s in this batch", in.Path, prev)
		}
		seen[sum] = in.Path
	}
	return nil
}

func (m *Manifest) clone() Manifest {
	c := *m
	c.Inputs = slices.Clone(m.Inputs)
	for i := range c.Inputs {
		c.Inputs[i].Skipped = maps.Clone(c.Inputs[i].Skipped)
	}
	c.Files = slices.Clone(m.Files)
	c.Counts = maps.Clone(m.Counts)
	return c
}

// Manifests returns every committed batch's manifest, oldest first. Each
// call returns fresh copies the caller may modify.
func (l *Lake) Manifests() ([]Manifest, error) {
	dir := filepath.Join(l.root, manifestDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lake manifests: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	present := make(map[string]bool, len(entries))
	out := make([]Manifest, 0, len(entries))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue // including <batch>.json.tmp: not committed
		}
		present[id] = true
		m, ok := l.manifests[id]
		if !ok {
			if m, err = readManifest(filepath.Join(dir, e.Name()), id); err != nil {
				return nil, err
			}
			l.manifests[id] = m
		}
		out = append(out, m.clone())
	}
	// A manifest removed by an operator is no longer part of the lake.
	maps.DeleteFunc(l.manifests, func(id string, _ *Manifest) bool { return !present[id] })
	slices.SortFunc(out, func(a, b Manifest) int {
		if c := a.CommittedAt.Compare(b.CommittedAt); c != 0 {
			return c
		}
		return strings.Compare(a.BatchID, b.BatchID)
	})
	return out, nil
}

// manifest returns the committed manifest of one batch, if there is one.
func (l *Lake) manifest(id string) (*Manifest, bool, error) {
	name := filepath.Join(l.root, manifestDir, id+".json")
	m, err := readManifest(name, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return m, err == nil, err
}

func readManifest(name, id string) (*Manifest, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("lake manifest: %w", err)
	}
	m, err := parseManifest(b, id)
	if err != nil {
		return nil, fmt.Errorf("lake manifest %s: %w", name, err)
	}
	return m, nil
}

// parseManifest decodes the manifest of batch id and checks it can be
// trusted: Recover renames the files it lists, so a path that escapes the
// lake's zones is refused here.
func parseManifest(data []byte, id string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	switch {
	case m.Version < 1 || m.Version > manifestVersion:
		return nil, fmt.Errorf("version %d not understood (want 1-%d)", m.Version, manifestVersion)
	case m.BatchID != id:
		return nil, fmt.Errorf("holds batch %q, not %q", m.BatchID, id)
	}
	for _, f := range m.Files {
		if err := validRelPath(f.Path); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// validRelPath rejects a manifest or Append path that would escape the
// lake or name something other than a zone's data.
func validRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || filepath.ToSlash(filepath.Clean(p)) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q is not a clean path relative to the lake root", p)
	}
	switch zone, _, _ := strings.Cut(p, "/"); zone {
	case pseudoZone, mpiZone, quarantineZone:
		return nil
	}
	return fmt.Errorf("path %q is outside the lake's zones (%s, %s, %s)", p, pseudoZone, mpiZone, quarantineZone)
}

// dataset names the directory of p up to its first partition (a path
// element holding '='): the unit Manifest.Counts and Files speak of.
func dataset(dir string) string {
	parts := strings.Split(dir, "/")
	for i, p := range parts {
		if strings.Contains(p, "=") {
			return strings.Join(parts[:i], "/")
		}
	}
	return dir
}
