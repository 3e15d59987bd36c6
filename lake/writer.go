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
//     handoffRows, or the largest buffer when the batch holds more than
//     maxHeldRows, is handed to the encoder.
//   - The encoder goroutine writes each buffer into its directory's Parquet
//     writer, which encodes and compresses it page by page and keeps the
//     compressed pages of the open row group in memory (a column chunk must
//     be contiguous in the file). A row group is cut at rowGroupRows; when
//     the open row groups of all files together pass maxOpenRows, the
//     largest is cut early. There are cfg.encoders encoder goroutines (two
//     by default: encoding was half a GP ingest's work, too much for one
//     goroutine on two cores); each directory belongs to one of them, in
//     turn as directories appear, so a file's rows stay in order, and the
//     bounds below are divided among them. A finished file's fsync and
//     close run on goroutines of their own (syncClose).
//
// So memory is bounded by the rows buffered (maxHeldRows, as Go structs),
// the buffers queued for the encoder, the open row groups (maxOpenRows,
// compressed: tens of bytes a row) and a cost per open file (page and
// write buffers, pageBufferBytes a column plus writeBufferBytes, and the
// open row group's compressed pages in chunks of pageChunkBytes), which
// with hundreds of monthly partitions open matters: parquet-go's defaults
// (256 KiB and 32 KiB chunks a column, 32 KiB a file) cost 0.5-2 MB a file,
// which made 1,100 partitions of a 1.5 GB GP extract hold 170 MB of mostly
// empty chunks. Holding rows compressed rather than as structs is what lets
// row groups stay large (thousands of rows, not hundreds) within the bound:
// small row groups cost time.
//
// A file's footer (row group and page index metadata, a few bytes a row)
// stays in memory until the file is closed, so it grows with the feed: when
// the open files together hold more than maxFileRows rows, the largest is
// finished and its directory continues in a new file of the same batch
// (part-<batch>.<n>.parquet). A 2 GB GP extract without this held 230 MB
// of footers at the end.
//
// The cost per open file is why at most maxOpenFiles directories are
// written directly: later ones spill to disk until Commit (spill.go).

// encoder runs a batch's file work in order on one goroutine. After the
// first failing job it skips the rest; the batch can then only be aborted.
type encoder struct {
	jobs chan encoderJob
	done chan struct{}

	// Only the encoder goroutine touches these.
	maxOpenRows int64
	openRows    int64 // rows in the files' open row groups
	maxFileRows int64
	fileRows    int64        // rows in the open files
	files       []fileWriter // writers with rows written, to find the largest

	failing atomic.Bool // set once err is, so Append checks without locking
	mu      sync.Mutex
	err     error

	// syncs counts the finished files being fsynced and closed by
	// goroutines of their own (at most syncSlots at a time), so that the
	// encoder goes on to the next file meanwhile: a batch finishes
	// hundreds of partition files at commit, and their fsyncs one after
	// another were most of the commit's time on a busy disk.
	syncs     sync.WaitGroup
	syncSlots chan struct{}
}

// syncConcurrency bounds the fsyncs in flight.
const syncConcurrency = 8

type encoderJob struct {
	run     func() error
	barrier chan struct{} // closed when reached, for wait
}

// startEncoders starts a batch's encoders, dividing cfg's bounds among
// them.
func startEncoders(cfg writerConfig) []*encoder {
	n := max(1, cfg.encoders)
	encs := make([]*encoder, n)
	for i := range encs {
		encs[i] = startEncoder(max(1, cfg.queueDepth/n), max(1, cfg.maxOpenRows/int64(n)), max(1, cfg.maxFileRows/int64(n)))
	}
	return encs
}

func startEncoder(depth int, maxOpenRows, maxFileRows int64) *encoder {
	e := &encoder{
		jobs: make(chan encoderJob, depth), done: make(chan struct{}), maxOpenRows: maxOpenRows, maxFileRows: maxFileRows,
		syncSlots: make(chan struct{}, syncConcurrency),
	}
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
			e.fail(err)
		}
	}
}

// fail records err unless an earlier error was.
func (e *encoder) fail(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.mu.Unlock()
	e.failing.Store(true)
}

// syncClose fsyncs and closes a finished file on a goroutine of its own;
// wait and stop wait for it, and a failure fails the batch.
func (e *encoder) syncClose(f *os.File) {
	e.syncSlots <- struct{}{}
	e.syncs.Add(1)
	go func() {
		defer e.syncs.Done()
		defer func() { <-e.syncSlots }()
		if err := f.Sync(); err != nil {
			f.Close()
			e.fail(fmt.Errorf("fsync %s: %w", f.Name(), err))
			return
		}
		if err := f.Close(); err != nil {
			e.fail(fmt.Errorf("close %s: %w", f.Name(), err))
		}
	}()
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
	e.syncs.Wait()
	return e.failed()
}

// bound cuts the largest open row groups until the open ones hold no more
// than maxOpenRows rows, and finishes the largest open files until they
// hold no more than maxFileRows; it runs on the encoder.
func (e *encoder) bound() error {
	largest := func(size func(fileWriter) int64) (fileWriter, error) {
		var max fileWriter
		for _, f := range e.files {
			if max == nil || size(f) > size(max) {
				max = f
			}
		}
		if max == nil || size(max) == 0 {
			// The counts disagree with the files: stop rather than spin.
			return nil, fmt.Errorf("lake: encoder counts %d open rows and %d rows in open files, but no file holds any", e.openRows, e.fileRows)
		}
		return max, nil
	}
	for e.openRows > e.maxOpenRows {
		f, err := largest(fileWriter.open)
		if err == nil {
			err = f.cut()
		}
		if err != nil {
			return err
		}
	}
	for e.fileRows > e.maxFileRows {
		f, err := largest(fileWriter.inFile)
		if err == nil {
			err = f.rotate()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stop ends the goroutine after the jobs already queued, and waits for
// the files it is fsyncing.
func (e *encoder) stop() {
	close(e.jobs)
	<-e.done
	e.syncs.Wait()
}

// chunkRows is the size of the chunks a directory's buffer is made of:
// small, so that a directory holding a few rows holds little memory.
const chunkRows = 64

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
	// open is the number of rows in the file's open row group and cut ends
	// that row group; inFile is the number of rows in the open file and
	// rotate finishes it, so that the next rows start another. They run on
	// the encoder.
	open() int64
	cut() error
	inFile() int64
	rotate() error
	// handoff queues the buffered rows for the encoder as one row group.
	handoff() error
	// finish queues the completion of the open file (footer, fsync, close)
	// under its temporary name, or for a spilled directory the writing of
	// its file from the spill; results, every file the writer wrote, is
	// valid after the encoder has run it.
	finish() error
	// spilled reports whether the directory's rows go to the spill.
	spilled() bool
	results() []DataFile
	// discard closes and removes the temporary file; the encoder must be
	// idle.
	discard() error
	// close closes the file, leaving it as it is (a simulated crash); the
	// encoder must be idle.
	close()
}

// writer writes one directory's Parquet files for a batch: usually one,
// more when rotate finishes one early. full, cur, n and the batch's held
// count belong to the caller's goroutine; the rest, once the first file is
// open, to the encoder's.
type writer[T any] struct {
	b        *Batch
	enc      *encoder // the one goroutine that writes this directory's files
	dir      string
	filePerm fs.FileMode
	pool     *chunkPool[T]
	full     [][]T // full chunks, then cur
	cur      []T
	n        int // rows in full and cur

	final   string // the open file, relative to the root, slash-separated
	temp    string // the open file's temporary name, absolute
	f       *os.File
	out     hashingWriter
	pw      *parquet.GenericWriter[T] // nil between files
	inGroup int64                     // rows in the open row group
	rows    int64                     // rows in the open file
	listed  bool                      // in the encoder's files
	done    []DataFile                // files finished
	temps   []string                  // temporary names of every file opened
	ended   bool                      // the open file is closed

	// For a directory that spills (see spill.go): the codec, the block
	// being filled and the blocks written, on the encoder.
	spill   *rowCodec
	block   blockEncoder
	extents []spillExtent
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
	// Directories take turns among the encoders in the order they appear.
	w := &writer[T]{b: b, enc: b.encs[len(b.writers)%len(b.encs)], dir: dir, filePerm: filePerm, pool: chunks[T](b)}
	b.syncDirs[b.l.abs(dir)] = true
	if max := b.l.cfg.maxOpenFiles; max > 0 && b.direct >= max {
		c, err := codecFor[T]()
		if err != nil {
			return nil, fmt.Errorf("lake: batch %s: %s: %w", b.id, dir, err)
		}
		if err := b.openSpill(); err != nil {
			return nil, err
		}
		w.spill = c
		return w, nil
	}
	b.direct++
	if err := w.openFile(); err != nil {
		return nil, err
	}
	return w, nil
}

// openFile starts the writer's next file: part-<batch>.parquet, then
// part-<batch>.<n>.parquet (batch ids have no dots, so names never clash).
func (w *writer[T]) openFile() error {
	b := w.b
	w.final = w.dir + "/part-" + b.id + ".parquet"
	if n := len(w.done); n > 0 {
		w.final = fmt.Sprintf("%s/part-%s.%d.parquet", w.dir, b.id, n)
	}
	w.temp = tempName(b.l.abs(w.final), b.id)
	f, err := os.OpenFile(w.temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, w.filePerm)
	if err != nil {
		return fmt.Errorf("lake: batch %s: %w", b.id, err)
	}
	w.temps = append(w.temps, w.temp)
	cfg := b.l.cfg
	w.f, w.ended, w.rows = f, false, 0
	w.out = hashingWriter{w: f, h: sha256.New()}
	w.pw = parquet.NewGenericWriter[T](&w.out,
		parquet.Compression(b.codec),
		parquet.MaxRowsPerRowGroup(int64(cfg.rowGroupRows)),
		parquet.PageBufferSize(cfg.pageBufferBytes),
		parquet.WriteBufferSize(cfg.writeBufferBytes),
		parquet.ColumnPageBuffers(b.pages),
		parquet.DictionaryMaxBytes(cfg.dictionaryMaxBytes),
		// Min and max per page go to the page index only, not also into
		// every page header: readers (DuckDB) use the row groups' and the
		// page index's, and working them out twice was a tenth of encoding.
		parquet.DataPageStatistics(false),
		parquet.KeyValueMetadata("pophealth.batch_id", b.id),
	)
	return nil
}

func (w *writer[T]) rowType() reflect.Type { return reflect.TypeFor[T]() }

func (w *writer[T]) held() int { return w.n }

func (w *writer[T]) append(rows []T) error {
	for len(rows) > 0 {
		if w.cur == nil {
			w.cur = w.pool.get()
		}
		k := min(len(rows), cap(w.cur)-len(w.cur))
		w.cur = append(w.cur, rows[:k]...)
		rows = rows[k:]
		w.n += k
		w.b.held += int64(k)
		if len(w.cur) == cap(w.cur) {
			w.full = append(w.full, w.cur)
			w.cur = nil
		}
		if w.n >= w.b.l.cfg.handoffRows {
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
	return w.enc.submit(func() error { return w.writeGroup(group) })
}

// writeGroup writes the chunks to the file's open row group, or to the
// spill, and recycles them; it runs on the encoder.
func (w *writer[T]) writeGroup(group [][]T) error {
	for _, c := range group {
		var err error
		if w.spill != nil {
			err = w.spillRows(c)
		} else {
			err = w.writeRows(c)
		}
		if err != nil {
			return err
		}
		w.pool.put(c)
	}
	if w.spill != nil {
		return nil
	}
	return w.enc.bound()
}

// writeRows writes rows to the file's open row group, cutting it at
// rowGroupRows; it runs on the encoder, which calls bound after it.
func (w *writer[T]) writeRows(rows []T) error {
	e, limit := w.enc, int64(w.b.l.cfg.rowGroupRows)
	if !w.listed {
		w.listed = true
		e.files = append(e.files, w)
	}
	if w.pw == nil {
		if err := w.openFile(); err != nil {
			return err
		}
	}
	for rest := rows; len(rest) > 0; {
		n := min(int64(len(rest)), limit-w.inGroup)
		if _, err := w.pw.Write(rest[:n]); err != nil {
			return fmt.Errorf("write %s: %w", w.final, err)
		}
		w.inGroup += n
		w.rows += n
		e.openRows += n
		e.fileRows += n
		rest = rest[n:]
		if w.inGroup >= limit {
			if err := w.cut(); err != nil {
				return err
			}
		}
	}
	return nil
}

// spillRows encodes rows into the directory's block, writing the block to
// the spill file each time it fills; it runs on the encoder.
func (w *writer[T]) spillRows(rows []T) error {
	limit := w.b.l.cfg.spillBlockBytes
	if w.block.buf == nil {
		w.block.buf = make([]byte, 0, limit+limit/4)
	}
	for i := range rows {
		w.spill.encode(&w.block, reflect.ValueOf(&rows[i]).Elem())
		if len(w.block.buf) >= limit {
			if err := w.flushBlock(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushBlock writes the block being filled to the spill file.
func (w *writer[T]) flushBlock() error {
	if w.block.rows == 0 {
		return nil
	}
	x, err := w.b.spill.write(w.block.buf, w.block.rows)
	if err != nil {
		return fmt.Errorf("%s: %w", w.dir, err)
	}
	w.extents = append(w.extents, x)
	w.block.reset()
	return nil
}

// writeSpilled writes a spilled directory's file from its blocks, in the
// order they were appended, and finishes it; it runs on the encoder, so
// each encoder has at most one spilled directory's file open at a time.
func (w *writer[T]) writeSpilled() error {
	if err := w.flushBlock(); err != nil {
		return err
	}
	w.block = blockEncoder{} // the block's memory is not needed again
	var buf []byte
	var rows []T
	for _, x := range w.extents {
		var err error
		if buf, err = w.b.spill.read(x, buf); err != nil {
			return fmt.Errorf("%s: %w", w.dir, err)
		}
		if rows, err = decodeBlock(w.spill, buf, int(x.rows), rows[:0]); err != nil {
			return fmt.Errorf("%s: spill at %d: %w", w.dir, x.off, err)
		}
		if err := w.writeRows(rows); err != nil {
			return err
		}
		if err := w.enc.bound(); err != nil {
			return err
		}
	}
	w.extents = nil
	return w.closeFile()
}

func (w *writer[T]) open() int64 { return w.inGroup }

func (w *writer[T]) cut() error {
	if w.inGroup == 0 {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.final, err)
	}
	w.enc.openRows -= w.inGroup
	w.inGroup = 0
	return nil
}

func (w *writer[T]) inFile() int64 { return w.rows }

func (w *writer[T]) rotate() error { return w.closeFile() }

// closeFile completes the open file (footer, then fsync and close on a
// goroutine of their own: see encoder.syncClose) under its temporary name;
// it runs on the encoder.
func (w *writer[T]) closeFile() error {
	if w.pw == nil {
		return nil
	}
	e := w.enc
	e.openRows -= w.inGroup
	e.fileRows -= w.rows
	w.inGroup = 0
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", w.final, err)
	}
	w.pw = nil
	w.ended = true
	e.syncClose(w.f)
	w.done = append(w.done, DataFile{Path: w.final, Rows: w.rows, Bytes: w.out.n, SHA256: hex.EncodeToString(w.out.h.Sum(nil))})
	w.rows = 0 // no file is open until the next rows arrive
	return nil
}

func (w *writer[T]) finish() error {
	if err := w.handoff(); err != nil {
		return err
	}
	if w.spill != nil {
		return w.enc.submit(w.writeSpilled)
	}
	return w.enc.submit(w.closeFile)
}

func (w *writer[T]) spilled() bool { return w.spill != nil }

func (w *writer[T]) results() []DataFile { return w.done }

func (w *writer[T]) discard() error {
	w.close()
	var errs []error
	for _, temp := range w.temps {
		if err := os.Remove(temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *writer[T]) close() {
	w.full, w.cur, w.n = nil, nil, 0
	if !w.ended && w.f != nil {
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
