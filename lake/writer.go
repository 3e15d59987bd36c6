package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// A batch writes its files in two stages that run on different
// goroutines, so that on a machine with two cores the caller's work
// (parsing, linking, building rows) overlaps with Parquet encoding,
// compression and file writes:
//
//   - Append, on the caller's goroutine, copies rows into a buffer per
//     directory, made of fixed-size chunks recycled through a pool per row
//     type (growing one slice per directory cost a tenth of a GP ingest in
//     copying, and would keep its capacity). A buffer that reaches
//     rowGroupRows, or the largest buffer when the batch holds more than
//     maxHeldRows, is handed to the encoder.
//   - The encoder goroutine turns each buffer into one Parquet row group of
//     its directory's file, then drops it.
//
// Memory is bounded by the rows buffered (maxHeldRows), the buffers queued
// for the encoder (queueDepth of at most rowGroupRows rows each) and a
// cost per open file of about 100-200 KB (column page buffers and
// compressed pages kept for reuse, measured with parquet-go v0.32), which
// with hundreds of monthly partitions is the largest part.

// encoder runs a batch's file work in order on one goroutine. After the
// first failing job it skips the rest; the batch can then only be aborted.
type encoder struct {
	jobs chan encoderJob
	done chan struct{}

	failing atomic.Bool // set once err is, so Append checks without locking
	mu      sync.Mutex
	err     error
}

type encoderJob struct {
	run     func() error
	barrier chan struct{} // closed when reached, for wait
}

func startEncoder(depth int) *encoder {
	e := &encoder{jobs: make(chan encoderJob, depth), done: make(chan struct{})}
	go e.loop()
	return e
}

func (e *encoder) loop() {
	defer close(e.done)
	for job := range e.jobs {
		if job.barrier != nil {
			close(job.barrier)
			continue
		}
		if e.failed() != nil {
			continue
		}
		if err := job.run(); err != nil {
			e.mu.Lock()
			e.err = err
			e.mu.Unlock()
			e.failing.Store(true)
		}
	}
}

// failed returns the first job error, if any.
func (e *encoder) failed() error {
	if !e.failing.Load() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// submit queues a job, blocking while the queue is full: the encoder's pace
// bounds how far the caller runs ahead.
func (e *encoder) submit(run func() error) error {
	if err := e.failed(); err != nil {
		return err
	}
	e.jobs <- encoderJob{run: run}
	return nil
}

// wait returns once every job submitted before it has run, with the first
// job error.
func (e *encoder) wait() error {
	barrier := make(chan struct{})
	e.jobs <- encoderJob{barrier: barrier}
	<-barrier
	return e.failed()
}

// stop ends the goroutine after the jobs already queued.
func (e *encoder) stop() {
	close(e.jobs)
	<-e.done
}

// chunkRows is the size of the chunks a directory's buffer is made of:
// small, so that a directory holding a few rows holds little memory.
const chunkRows = 256

// chunkPool recycles the row chunks of every file of one row type.
type chunkPool[T any] struct{ p sync.Pool }

// chunks returns the batch's chunk pool for T.
func chunks[T any](b *Batch) *chunkPool[T] {
	t := reflect.TypeFor[T]()
	cp, ok := b.pools[t].(*chunkPool[T])
	if !ok {
		cp = &chunkPool[T]{}
		b.pools[t] = cp
	}
	return cp
}

func (cp *chunkPool[T]) get() []T {
	if c, ok := cp.p.Get().(*[]T); ok {
		return (*c)[:0]
	}
	return make([]T, 0, chunkRows)
}

func (cp *chunkPool[T]) put(c []T) {
	clear(c) // drop references for the garbage collector
	c = c[:0]
	cp.p.Put(&c)
}

// fileWriter is the type-independent face of a writer[T].
type fileWriter interface {
	rowType() reflect.Type
	// held is the number of rows buffered, not yet handed to the encoder.
	held() int
	// handoff queues the buffered rows for the encoder as one row group.
	handoff() error
	// finish queues the completion of the file (footer, fsync, close) under
	// its temporary name; result is valid after the encoder has run it.
	finish() error
	result() DataFile
	// discard closes and removes the temporary file; the encoder must be
	// idle.
	discard() error
	// close closes the file, leaving it as it is (a simulated crash); the
	// encoder must be idle.
	close()
}

// writer writes one directory's Parquet file for a batch. buf, rows and the
// batch's held count belong to the caller's goroutine; the rest, once the
// file is open, to the encoder's.
type writer[T any] struct {
	b     *Batch
	final string // relative to the root, slash-separated
	temp  string // absolute
	pool  *chunkPool[T]
	full  [][]T // full chunks, then cur
	cur   []T
	n     int // rows in full and cur
	rows  int64

	f     *os.File
	out   hashingWriter
	pw    *parquet.GenericWriter[T]
	done  DataFile
	ended bool
}

func newWriter[T any](b *Batch, dir string) (*writer[T], error) {
	if err := validRelPath(dir); err != nil {
		return nil, fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	dirPerm, filePerm := fs.FileMode(0o750), fs.FileMode(0o640)
	if restricted(dir) {
		dirPerm, filePerm = 0o700, 0o600
	}
	if err := b.mkdirs(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	w := &writer[T]{b: b, final: dir + "/part-" + b.id + ".parquet", pool: chunks[T](b)}
	w.temp = tempName(b.l.abs(w.final), b.id)
	f, err := os.OpenFile(w.temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return nil, fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	b.syncDirs[filepath.Dir(w.temp)] = true
	cfg := b.l.cfg
	w.f = f
	w.out = hashingWriter{w: f, h: sha256.New()}
	w.pw = parquet.NewGenericWriter[T](&w.out,
		parquet.Compression(b.codec),
		parquet.MaxRowsPerRowGroup(int64(cfg.rowGroupRows)),
		parquet.PageBufferSize(cfg.pageBufferBytes),
		parquet.DictionaryMaxBytes(cfg.dictionaryMaxBytes),
		parquet.KeyValueMetadata("pophealth.batch_id", b.id),
	)
	return w, nil
}

func (w *writer[T]) rowType() reflect.Type { return reflect.TypeFor[T]() }

func (w *writer[T]) held() int { return w.n }

func (w *writer[T]) append(rows []T) error {
	limit := w.b.l.cfg.rowGroupRows
	for len(rows) > 0 {
		if w.cur == nil {
			w.cur = w.pool.get()
		}
		k := min(len(rows), cap(w.cur)-len(w.cur), limit-w.n)
		w.cur = append(w.cur, rows[:k]...)
		rows = rows[k:]
		w.n += k
		w.rows += int64(k)
		w.b.held += int64(k)
		if len(w.cur) == cap(w.cur) {
			w.full = append(w.full, w.cur)
			w.cur = nil
		}
		if w.n >= limit {
			if err := w.handoff(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *writer[T]) handoff() error {
	if w.n == 0 {
		return nil
	}
	group := w.full
	if len(w.cur) > 0 {
		group = append(group, w.cur)
	}
	w.b.held -= int64(w.n)
	w.full, w.cur, w.n = nil, nil, 0
	return w.b.enc.submit(func() error { return w.writeGroup(group) })
}

// writeGroup writes the chunks as one row group and recycles them; it runs
// on the encoder.
func (w *writer[T]) writeGroup(group [][]T) error {
	for _, c := range group {
		if _, err := w.pw.Write(c); err != nil {
			return fmt.Errorf("write %s: %w", w.final, err)
		}
		w.pool.put(c)
	}
	if err := w.pw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.final, err)
	}
	return nil
}

func (w *writer[T]) finish() error {
	if err := w.handoff(); err != nil {
		return err
	}
	return w.b.enc.submit(func() error {
		if err := w.pw.Close(); err != nil {
			return fmt.Errorf("write %s: %w", w.final, err)
		}
		w.pw = nil
		w.ended = true
		if err := w.f.Sync(); err != nil {
			w.f.Close()
			return fmt.Errorf("fsync %s: %w", w.temp, err)
		}
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", w.temp, err)
		}
		w.done = DataFile{Path: w.final, Rows: w.rows, Bytes: w.out.n, SHA256: hex.EncodeToString(w.out.h.Sum(nil))}
		return nil
	})
}

func (w *writer[T]) result() DataFile { return w.done }

func (w *writer[T]) discard() error {
	w.close()
	if err := os.Remove(w.temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (w *writer[T]) close() {
	w.full, w.cur, w.n = nil, nil, 0
	if !w.ended {
		w.ended = true
		w.f.Close()
	}
}

// hashingWriter counts and hashes the bytes of a data file as they are
// written, so the manifest's checksum costs no second read.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}
