package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pophealth/pophealth/models"
)

// Directories and files under the lake root.
const (
	manifestDir    = "manifest"
	pseudoZone     = "pseudo"
	mpiZone        = "mpi"
	quarantineZone = "quarantine"
	lockName       = ".lock"

	// tempMarker separates a data file's final name from the batch id in
	// its temporary name: part-B.parquet.tmp-B.
	tempMarker = ".tmp-"

	// spillName is where a batch spills rows (see spill.go), before its
	// temporary-file marker.
	spillName = mpiZone + "/spill"

	// hiveNull is the partition value Hive-style readers take for NULL.
	hiveNull = "__HIVE_DEFAULT_PARTITION__"
)

// ErrLocked is returned by Begin and Recover when another writer holds the
// lake. Writers do not queue: the caller decides whether to retry later.
var ErrLocked = errors.New("lake is locked by another writer")

// Lake is a lake rooted at one directory. It is safe for concurrent use;
// it caches committed manifests, which never change once written.
type Lake struct {
	root string
	cfg  writerConfig

	// hook, when set by tests, runs between the steps of Commit; an error
	// stops Commit there as a crash would.
	hook func(commitStep) error

	mu        sync.Mutex
	manifests map[string]*Manifest // by batch id
	recovered RecoveryReport
}

// writerConfig bounds the memory a batch holds and shapes its files (see
// writer.go for how the pieces fit).
type writerConfig struct {
	// handoffRows is the number of rows a directory's buffer collects
	// before it is handed to the encoder.
	handoffRows int
	// maxHeldRows bounds the rows a batch buffers across all its files;
	// beyond it the largest buffer is handed over early.
	maxHeldRows int64
	// queueDepth is the number of buffers that may wait for the encoders.
	queueDepth int
	// encoders is the number of encoder goroutines a batch's files are
	// shared among (0 means 1); the bounds on open rows, rows in files and
	// queued buffers are divided among them.
	encoders int
	// rowGroupRows is the largest Parquet row group.
	rowGroupRows int
	// maxOpenRows bounds the rows in the files' open row groups, held
	// compressed; beyond it the largest row group is cut early.
	maxOpenRows int64
	// maxFileRows bounds the rows in the open files, whose footers are in
	// memory; beyond it the largest file is finished and its directory
	// continues in a new one.
	maxFileRows int64
	// pageBufferBytes and writeBufferBytes size each column's page buffer
	// and each file's write buffer.
	pageBufferBytes, writeBufferBytes int
	// pageChunkBytes is the allocation unit of the compressed pages that a
	// column's open row group holds.
	pageChunkBytes int
	// dictionaryMaxBytes caps each column's dictionary.
	dictionaryMaxBytes int64
	// maxOpenFiles bounds the directories a batch writes Parquet to
	// directly; later ones spill (see spill.go). 0 means no bound.
	maxOpenFiles int
	// spillBlockBytes is the size of a spilled directory's block.
	spillBlockBytes int
}

func defaultWriterConfig() writerConfig {
	return writerConfig{
		handoffRows:        4 << 10,
		maxHeldRows:        64 << 10,
		queueDepth:         4,
		encoders:           2,
		rowGroupRows:       128 << 10,
		maxOpenRows:        512 << 10,
		maxFileRows:        4 << 20,
		pageBufferBytes:    8 << 10,
		writeBufferBytes:   4 << 10,
		pageChunkBytes:     4 << 10,
		dictionaryMaxBytes: 64 << 10,
		maxOpenFiles:       64,
		spillBlockBytes:    4 << 10,
	}
}

// Open returns the lake rooted at root, creating its directories if needed,
// and runs Recover so that a batch interrupted by a crash is either
// completed or removed before anything reads the lake. When another process
// is writing, recovery is left to that writer and Open still succeeds.
func Open(root string) (*Lake, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", root, err)
	}
	l := &Lake{root: abs, cfg: defaultWriterConfig(), manifests: map[string]*Manifest{}}
	for _, d := range []struct {
		name string
		perm fs.FileMode
	}{
		{"", 0o750},
		{manifestDir, 0o750},
		{pseudoZone, 0o750},
		{mpiZone, 0o700},
		{quarantineZone, 0o700},
	} {
		if err := os.MkdirAll(filepath.Join(abs, d.name), d.perm); err != nil {
			return nil, fmt.Errorf("lake %s: %w", abs, err)
		}
	}
	rep, err := l.Recover()
	if err != nil && !errors.Is(err, ErrLocked) {
		return nil, err
	}
	l.noteRecovery(rep)
	return l, nil
}

// Root returns the lake's absolute root directory.
func (l *Lake) Root() string { return l.root }

// Recovered reports what recovery did since Open: rolled-forward and
// rolled-back batches, for the operator's log. It is empty after a clean
// shutdown.
func (l *Lake) Recovered() RecoveryReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recovered.clone()
}

func (l *Lake) noteRecovery(r RecoveryReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recovered.RolledForward = append(l.recovered.RolledForward, r.RolledForward...)
	l.recovered.RolledBack = append(l.recovered.RolledBack, r.RolledBack...)
	l.recovered.Removed = append(l.recovered.Removed, r.Removed...)
}

// PseudoDir returns the directory, relative to the lake root, of the
// partition of table t holding rows from feed f dated in month's month.
// A nil month (a row without a date) gives the Hive NULL partition. The
// person table is partitioned by feed only, and month is ignored for it.
func PseudoDir(t models.Table, f models.Feed, month *models.Date) string {
	dir := pseudoZone + "/" + string(t) + "/source=" + string(f)
	if t == models.TablePerson {
		return dir
	}
	if month == nil {
		return dir + "/year=" + hiveNull + "/month=" + hiveNull
	}
	return fmt.Sprintf("%s/year=%04d/month=%02d", dir, month.Year(), int(month.Month()))
}

// Files returns the absolute paths, sorted, of the committed data files
// under dir (relative to the root, e.g. "pseudo/person" or "mpi/links").
// The list comes from the manifests, never from listing directories, and
// leaves out any batch whose files are still being renamed into place, so
// a reader sees each batch whole or not at all.
//
// A committed file that exists under neither its final nor its temporary
// name is an error: the lake has lost data and an operator must look.
func (l *Lake) Files(dir string) ([]string, error) {
	dir = strings.Trim(path.Clean(filepath.ToSlash(dir)), "/")
	ms, err := l.Manifests()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		visible, err := l.finalised(&m)
		if err != nil {
			return nil, err
		}
		if !visible {
			continue
		}
		for _, f := range m.Files {
			if within(f.Path, dir) {
				out = append(out, l.abs(f.Path))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// within reports whether the slash-separated relative path p lies under dir.
func within(p, dir string) bool {
	return dir == "." || dir == "" || strings.HasPrefix(p, dir+"/")
}

// finalised reports whether every data file of m has its final name. Commit
// renames files in manifest order, so checking the last one is enough
// while a writer is live; after a crash Open's recovery has run.
func (l *Lake) finalised(m *Manifest) (bool, error) {
	if len(m.Files) == 0 {
		return true, nil
	}
	last := l.abs(m.Files[len(m.Files)-1].Path)
	switch _, err := os.Lstat(last); {
	case err == nil:
		return true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("lake: batch %s: %w", m.BatchID, err)
	}
	switch _, err := os.Lstat(tempName(last, m.BatchID)); {
	case err == nil:
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("lake: batch %s: data file %s is missing", m.BatchID, last)
	default:
		return false, fmt.Errorf("lake: batch %s: %w", m.BatchID, err)
	}
}

// Ingested reports whether an input file with this SHA-256 (hex) was
// committed by an earlier batch, and returns that batch's manifest. The
// ingest job uses it to make loading the same feed file twice a no-op.
func (l *Lake) Ingested(sha256 string) (*Manifest, bool, error) {
	ms, err := l.Manifests()
	if err != nil {
		return nil, false, err
	}
	for i := range ms {
		for _, in := range ms[i].Inputs {
			if strings.EqualFold(in.SHA256, sha256) {
				return &ms[i], true, nil
			}
		}
	}
	return nil, false, nil
}

// Verify re-reads every committed data file and checks its size and SHA-256
// against its manifest. It reports every mismatch, not just the first.
func (l *Lake) Verify(ctx context.Context) error {
	ms, err := l.Manifests()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range ms {
		for _, f := range m.Files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := verifyFile(l.abs(f.Path), f); err != nil {
				errs = append(errs, fmt.Errorf("lake: batch %s: %w", m.BatchID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func verifyFile(name string, want DataFile) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != want.Bytes || got != want.SHA256 {
		return fmt.Errorf("%s: %d bytes with SHA-256 %s, manifest says %d bytes with %s", name, n, got, want.Bytes, want.SHA256)
	}
	return nil
}

// abs turns a slash-separated path relative to the root into an absolute one.
func (l *Lake) abs(rel string) string { return filepath.Join(l.root, filepath.FromSlash(rel)) }

// tempName is the name a data file has until its batch is committed.
func tempName(final, batchID string) string { return final + tempMarker + batchID }

// restricted reports whether a relative path lies in a zone holding
// identifiable data.
func restricted(rel string) bool {
	zone, _, _ := strings.Cut(rel, "/")
	return zone == mpiZone || zone == quarantineZone
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return d.Close()
}
