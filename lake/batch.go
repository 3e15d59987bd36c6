package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// ErrBatchDone is returned when a batch that was already committed, rolled
// back or aborted is used again.
var ErrBatchDone = errors.New("lake: batch already finished")

// Batch is a set of data files that become part of the lake together, at
// Commit. It is not safe for concurrent use.
type Batch struct {
	l       *Lake
	id      string
	started time.Time
	lock    *os.File
	codec   *zstd.Codec

	writers map[string]fileWriter // by directory
	order   []string              // directories in the order first appended to
	held    int64                 // rows buffered across writers, not yet handed to enc
	encs    []*encoder            // encode and write row groups, each on its own goroutine
	pools   map[reflect.Type]any  // a *chunkPool[T] per row type
	pages   parquet.BufferPool    // the files' compressed pages of open row groups
	// syncDirs are directories whose entries this batch changed: the
	// parents of directories it created and the directories of its files.
	syncDirs map[string]bool
	// madeDirs are directories known to exist, so that mkdirs tries only
	// the new ones: a partition's parents are shared by its siblings.
	madeDirs map[string]bool

	// direct counts the directories written straight to Parquet; past
	// cfg.maxOpenFiles new directories go to spill (see spill.go).
	direct int
	spill  *spillFile

	err  error // first write failure; the batch can then only be aborted
	done bool
}

// commitStep names the boundaries between Commit's steps, where tests
// inject crashes.
type commitStep int

const (
	stepDataSynced      commitStep = iota + 1 // data complete under temporary names; no manifest
	stepManifestWritten                       // manifest written under its temporary name
	stepCommitted                             // manifest renamed into place: the commit point
	stepFirstRenamed                          // the first data file has its final name
	stepRenamed                               // every data file has its final name
)

func (s commitStep) String() string {
	switch s {
	case stepDataSynced:
		return "data-synced"
	case stepManifestWritten:
		return "manifest-written"
	case stepCommitted:
		return "committed"
	case stepFirstRenamed:
		return "first-renamed"
	case stepRenamed:
		return "renamed"
	}
	return fmt.Sprintf("step(%d)", int(s))
}

// Begin starts a batch. It takes the lake's writer lock (failing with
// ErrLocked if another writer holds it) and recovers any batch a crashed
// writer left behind, so that the new batch starts from a clean lake.
// batchID names the batch's files and manifest; it must be unique, made of
// letters, digits, '-' and '_', and not already committed.
func (l *Lake) Begin(batchID string) (*Batch, error) {
	if err := validBatchID(batchID); err != nil {
		return nil, err
	}
	lk, err := l.lock()
	if err != nil {
		return nil, err
	}
	rep, err := l.recover()
	l.noteRecovery(rep)
	if err != nil {
		unlock(lk)
		return nil, err
	}
	switch _, exists, err := l.manifest(batchID); {
	case err != nil:
		unlock(lk)
		return nil, err
	case exists:
		unlock(lk)
		return nil, fmt.Errorf("lake: batch %s is already committed", batchID)
	}
	return &Batch{
		l:        l,
		id:       batchID,
		started:  time.Now().UTC(),
		lock:     lk,
		codec:    &zstd.Codec{Level: zstd.SpeedFastest},
		writers:  map[string]fileWriter{},
		syncDirs: map[string]bool{},
		madeDirs: map[string]bool{},
		encs:     startEncoders(l.cfg),
		pools:    map[reflect.Type]any{},
		pages:    parquet.NewChunkBufferPool(l.cfg.pageChunkBytes),
	}, nil
}

// ID returns the batch id.
func (b *Batch) ID() string { return b.id }

// Append adds rows to the batch's file in dir, a directory relative to the
// lake root such as PseudoDir(models.TablePerson, models.FeedGP, nil) or
// "mpi/links". Each directory gets one file per batch (more for a very
// large batch: see writer.go), and every row
// appended to it must have the same type T, a struct Parquet can encode
// (the models row types).
//
// Rows are copied; values they point to must not change until Commit.
// Append buffers rows and writes them in row groups of bounded size, on a
// goroutine of the batch's own, so a batch's memory stays bounded whatever
// its size and encoding overlaps with the caller's work. After a write
// error the batch can only be aborted; the error may surface at a later
// Append or at Commit.
func Append[T any](b *Batch, dir string, rows ...T) error {
	if err := b.usable(); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	fw, ok := b.writers[dir]
	if !ok {
		w, err := newWriter[T](b, dir)
		if err != nil {
			return err
		}
		b.writers[dir] = w
		b.order = append(b.order, dir)
		fw = w
	}
	w, ok := fw.(*writer[T])
	if !ok {
		return fmt.Errorf("lake: batch %s: %s holds %s rows, cannot append %s", b.id, dir, fw.rowType(), reflect.TypeFor[T]())
	}
	if err := w.append(rows); err != nil {
		b.err = err
		return err
	}
	return b.bound()
}

// usable reports why the batch cannot take more rows, if it cannot.
func (b *Batch) usable() error {
	switch {
	case b.done:
		return fmt.Errorf("batch %s: %w", b.id, ErrBatchDone)
	case b.err != nil:
		return fmt.Errorf("lake: batch %s failed earlier: %w", b.id, b.err)
	}
	for _, e := range b.encs {
		if err := e.failed(); err != nil {
			b.err = err
			return fmt.Errorf("lake: batch %s failed earlier: %w", b.id, err)
		}
	}
	return nil
}

// bound hands the largest buffers to the encoder until the batch holds no
// more rows in memory than the configured limit.
func (b *Batch) bound() error {
	for b.held > b.l.cfg.maxHeldRows {
		var largest fileWriter
		for _, dir := range b.order {
			if w := b.writers[dir]; largest == nil || w.held() > largest.held() {
				largest = w
			}
		}
		if err := largest.handoff(); err != nil {
			b.err = err
			return err
		}
	}
	return nil
}

// Commit makes the batch part of the lake: it finishes the data files,
// writes the manifest (the commit point) and moves the files to their final
// names, fsyncing as it goes (see the package documentation). m supplies the
// batch's inputs; Commit fills in the rest of the manifest. m.BatchID may be
// empty or the batch's id.
//
// Commit refuses a manifest whose input counts do not balance or whose
// input content was committed by an earlier batch. It releases the writer
// lock in every case except a validation failure, after which the batch is
// still open and the caller should Abort it. A write that failed earlier
// (on the batch's encoder, perhaps unseen by Append) makes Commit remove
// the batch's files and fail.
//
// If Commit fails before the commit point it removes the batch's files and
// the lake is unchanged. If it fails after, the batch is committed (Ingested
// and Manifests show it) and the next Recover, Begin or Open finishes it.
func (b *Batch) Commit(m Manifest) error {
	if err := b.usable(); err != nil {
		if !b.done { // a write failed: nothing of the batch can be kept
			return b.rollback(err)
		}
		return err
	}
	if m.BatchID != "" && m.BatchID != b.id {
		return fmt.Errorf("lake: batch %s: manifest names batch %q", b.id, m.BatchID)
	}
	if err := m.validateInputs(); err != nil {
		return fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	for _, in := range m.Inputs {
		switch prev, ok, err := b.l.Ingested(in.SHA256); {
		case err != nil:
			return err
		case ok:
			return fmt.Errorf("lake: batch %s: input %s was already committed by batch %s", b.id, in.Path, prev.BatchID)
		}
	}

	// 1. Finish the data files under their temporary names.
	m.Version, m.BatchID, m.StartedAt = manifestVersion, b.id, b.started
	m.Files, m.Counts = make([]DataFile, 0, len(b.order)), map[string]int64{}
	// Open files first, so that their memory is free before the spilled
	// directories' files are written.
	for _, spilled := range []bool{false, true} {
		for _, dir := range b.order {
			if w := b.writers[dir]; w.spilled() == spilled {
				if err := w.finish(); err != nil {
					return b.rollback(fmt.Errorf("lake: batch %s: %w", b.id, err))
				}
			}
		}
	}
	for _, e := range b.encs {
		if err := e.wait(); err != nil {
			return b.rollback(fmt.Errorf("lake: batch %s: %w", b.id, err))
		}
	}
	if err := b.removeSpill(); err != nil {
		return b.rollback(fmt.Errorf("lake: batch %s: %w", b.id, err))
	}
	for _, dir := range b.order {
		for _, f := range b.writers[dir].results() {
			m.Files = append(m.Files, f)
			m.Counts[dataset(dir)] += f.Rows
		}
	}
	if err := b.syncAll(); err != nil {
		return b.rollback(err)
	}
	if err := b.step(stepDataSynced); err != nil {
		return err
	}

	// 2. Write the manifest and rename it into place: the commit point.
	m.CommittedAt = time.Now().UTC()
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return b.rollback(fmt.Errorf("lake: batch %s manifest: %w", b.id, err))
	}
	mdir := filepath.Join(b.l.root, manifestDir)
	final := filepath.Join(mdir, b.id+".json")
	if err := writeFileSync(final+".tmp", append(body, '\n'), 0o640); err != nil {
		return b.rollback(fmt.Errorf("lake: batch %s manifest: %w", b.id, err))
	}
	if err := b.step(stepManifestWritten); err != nil {
		return err
	}
	if err := os.Rename(final+".tmp", final); err != nil {
		return b.rollback(fmt.Errorf("lake: batch %s manifest: %w", b.id, err))
	}
	b.l.mu.Lock()
	b.l.manifests[b.id] = &m
	b.l.mu.Unlock()
	if err := syncDir(mdir); err != nil {
		return b.release(fmt.Errorf("lake: batch %s committed but its manifest may not be durable: %w", b.id, err))
	}
	if err := b.step(stepCommitted); err != nil {
		return err
	}

	// 3. Move the data files to their final names.
	for i, f := range m.Files {
		name := b.l.abs(f.Path)
		if err := os.Rename(tempName(name, b.id), name); err != nil {
			return b.release(fmt.Errorf("lake: batch %s committed but not finalised (Recover will finish it): %w", b.id, err))
		}
		if i == 0 {
			if err := b.step(stepFirstRenamed); err != nil {
				return err
			}
		}
	}
	if err := b.step(stepRenamed); err != nil {
		return err
	}
	if err := b.syncAll(); err != nil {
		return b.release(fmt.Errorf("lake: batch %s committed but not finalised (Recover will finish it): %w", b.id, err))
	}
	return b.release(nil)
}

// Abort discards the batch: it removes the batch's temporary files and
// releases the writer lock. Aborting a batch that Commit already rolled
// back does nothing; aborting a committed batch returns ErrBatchDone.
func (b *Batch) Abort() error {
	if b.done {
		if b.l != nil && b.committed() {
			return fmt.Errorf("batch %s: %w", b.id, ErrBatchDone)
		}
		return nil
	}
	return b.rollback(nil)
}

// committed reports whether the batch's manifest exists.
func (b *Batch) committed() bool {
	_, ok, _ := b.l.manifest(b.id)
	return ok
}

// rollback removes everything the batch wrote and releases the lock,
// returning cause joined with any cleanup failure.
func (b *Batch) rollback(cause error) error {
	errs := []error{cause}
	b.stopEncoder()
	for _, dir := range b.order {
		errs = append(errs, b.writers[dir].discard())
	}
	errs = append(errs, b.removeSpill())
	tmp := filepath.Join(b.l.root, manifestDir, b.id+".json.tmp")
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return b.release(errors.Join(errs...))
}

// openSpill creates the batch's spill file, if it has none yet.
func (b *Batch) openSpill() error {
	if b.spill != nil {
		return nil
	}
	s, err := createSpill(tempName(b.l.abs(spillName), b.id))
	if err != nil {
		return fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	b.spill = s
	return nil
}

// removeSpill deletes the spill file, once nothing reads it.
func (b *Batch) removeSpill() error {
	if b.spill == nil {
		return nil
	}
	err := b.spill.remove()
	b.spill = nil
	if err != nil {
		return fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	return nil
}

// release ends the batch and drops the writer lock.
func (b *Batch) release(cause error) error {
	b.stopEncoder()
	b.done = true
	err := unlock(b.lock)
	b.lock = nil
	return errors.Join(cause, err)
}

// stopEncoder lets the encoder finish its queued jobs and ends it; after it
// the batch's files are the caller's alone.
func (b *Batch) stopEncoder() {
	for _, e := range b.encs {
		e.stop()
	}
	b.encs = nil
}

// step runs the test hook, if any, at a boundary between Commit's steps. A
// hook error simulates a crash: files and lock are closed and nothing is
// cleaned up.
func (b *Batch) step(s commitStep) error {
	if b.l.hook == nil {
		return nil
	}
	err := b.l.hook(s)
	if err == nil {
		return nil
	}
	b.abandon()
	return fmt.Errorf("lake: batch %s stopped at %s: %w", b.id, s, err)
}

// abandon ends the batch as a crash would: files closed, nothing cleaned
// up, the lock released.
func (b *Batch) abandon() {
	b.stopEncoder()
	for _, dir := range b.order {
		b.writers[dir].close()
	}
	if b.spill != nil {
		b.spill.close()
	}
	b.release(nil)
}

// syncAll fsyncs every directory the batch changed, several at a time.
func (b *Batch) syncAll() error {
	dirs := make(chan string)
	errs := make([]error, syncConcurrency)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			for dir := range dirs {
				if err := syncDir(dir); err != nil && errs[i] == nil {
					errs[i] = fmt.Errorf("lake: batch %s: %w", b.id, err)
				}
			}
		})
	}
	for dir := range b.syncDirs {
		dirs <- dir
	}
	close(dirs)
	wg.Wait()
	return errors.Join(errs...)
}

// mkdirs creates rel's missing directories, remembering their parents for
// syncAll.
func (b *Batch) mkdirs(rel string, perm fs.FileMode) error {
	dir := b.l.root
	for _, part := range splitPath(rel) {
		parent := dir
		dir = filepath.Join(dir, part)
		if b.madeDirs[dir] {
			continue
		}
		switch err := os.Mkdir(dir, perm); {
		case err == nil:
			b.syncDirs[parent] = true
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		b.madeDirs[dir] = true
	}
	return nil
}

func splitPath(rel string) []string {
	var parts []string
	for rel != "." && rel != "" {
		var last string
		rel, last = path.Dir(rel), path.Base(rel)
		parts = append([]string{last}, parts...)
	}
	return parts
}

// writeFileSync writes a file and fsyncs it before closing.
func writeFileSync(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
