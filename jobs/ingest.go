package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/ingest/feed"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

// IngestOptions configures one ingest run.
type IngestOptions struct {
	// Paths are feed files or directories (walked recursively).
	Paths []string
	// Key is the lake key that person and encounter pseudonyms derive from.
	Key pseudonymise.Key
	// Logger receives progress and warnings; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called as input bytes are consumed and
	// records read.
	Progress func(p Progress)
	// Replaces names quarantine entries (QuarantineEntry.ID) that the one
	// input file of this run corrects ("pophealth quarantine replay"). The
	// run then fails unless the file is new and holds exactly one source
	// record per entry, and the batch marks the entries replayed, so that
	// each quarantined record is accounted for once: either outstanding in
	// quarantine or replaced by what this batch accepted or quarantined anew.
	Replaces []string
	// Deprivation maps patient records' LSOAs to the IMD decile the lake
	// keeps; nil leaves every decile unknown.
	Deprivation *deprivation.Lookup
}

// Progress is a snapshot of an ingest run for progress displays.
type Progress struct {
	DoneBytes, TotalBytes int64
	// Records counts records handled so far in the run: canonical
	// records emitted plus quarantine entries.
	Records int64
}

// FileResult is what happened to one input file.
type FileResult struct {
	Path   string `json:"path"`
	Feed   string `json:"feed"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Status is "ingested", "already-ingested" (the same content was
	// committed by an earlier batch: nothing is added) or "duplicate" (the
	// same content appears twice in this run).
	Status string `json:"status"`
	// PreviousBatch names the batch that already holds the content.
	PreviousBatch string `json:"previous_batch,omitempty"`
	feed.Stats
}

// Totals sums FileResults.
type Totals struct {
	Files       int   `json:"files"`
	Ingested    int   `json:"files_ingested"`
	Unchanged   int   `json:"files_already_ingested"`
	Read        int64 `json:"read"`
	Accepted    int64 `json:"accepted"`
	Quarantined int64 `json:"quarantined"`
}

// IngestResult summarises an ingest run. It is what "pophealth ingest
// --json" prints; field names are a stable interface.
type IngestResult struct {
	BatchID string           `json:"batch_id,omitempty"`
	Files   []FileResult     `json:"files"`
	Ignored []string         `json:"ignored,omitempty"`
	Totals  Totals           `json:"totals"`
	Link    link.Stats       `json:"link"`
	Rows    map[string]int64 `json:"rows"`
	// Replayed lists the quarantine entries this batch replaced.
	Replayed []string `json:"replayed,omitempty"`
	Seconds  float64  `json:"seconds"`

	// Deprivation counts the LSOAs patient records carried and how many
	// the lookup knew.
	Deprivation DeprivationStats `json:"deprivation"`
}

// Ingest reads feed files, links their patients, pseudonymises every record
// and commits the result to the lake as one atomic batch. Files whose
// content was committed before are skipped, so running Ingest twice on the
// same files adds nothing.
//
// Every source record read ends up either in the lake or in quarantine, and
// the per-file counts prove it: Ingest fails rather than commit a batch
// whose counts do not balance.
func Ingest(ctx context.Context, lk *lake.Lake, opts IngestOptions) (IngestResult, error) {
	start := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inputs, ignored, err := collectInputs(opts.Paths)
	if err != nil {
		return IngestResult{}, err
	}
	res := IngestResult{Ignored: ignored, Rows: map[string]int64{}}
	for _, p := range ignored {
		log.Info("ignoring file of unknown feed type", "file", p)
	}

	// Hash first: the content hash decides whether a file is new.
	var todo []*input
	seen := map[string]string{}
	var totalBytes int64
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := in.hash(); err != nil {
			return res, err
		}
		fr := FileResult{Path: in.path, Feed: string(in.feed), SHA256: in.sha256, Bytes: in.size}
		switch m, ok, err := lk.Ingested(in.sha256); {
		case err != nil:
			return res, err
		case ok:
			fr.Status, fr.PreviousBatch = "already-ingested", m.BatchID
		case seen[in.sha256] != "":
			fr.Status = "duplicate"
			fr.PreviousBatch = "this run: " + seen[in.sha256]
		default:
			fr.Status = "ingested"
			seen[in.sha256] = in.path
			in.result = len(res.Files)
			todo = append(todo, in)
			totalBytes += in.size
		}
		res.Files = append(res.Files, fr)
	}
	if len(opts.Replaces) > 0 {
		switch {
		case len(inputs) != 1:
			return res, fmt.Errorf("replay: want one corrected file, got %d", len(inputs))
		case len(todo) != 1:
			f := res.Files[0]
			return res, fmt.Errorf("replay: %s has the content of a file already ingested (%s): nothing to replay", f.Path, f.PreviousBatch)
		}
		if err := checkReplays(lk, opts.Replaces); err != nil {
			return res, err
		}
	}
	if len(todo) == 0 {
		res.Totals = totals(res.Files)
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}

	batchID, err := newBatchID(start)
	if err != nil {
		return res, err
	}
	ix, err := loadIndex(lk)
	if err != nil {
		return res, err
	}
	b, err := lk.Begin(batchID)
	if err != nil {
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := b.Abort(); err != nil {
				log.Error("abort batch", "batch", batchID, "err", err)
			}
		}
	}()

	sink := newBatchSink(b, ix, pseudonymise.New(opts.Key), batchID, time.Now())
	sink.imd = opts.Deprivation
	var doneBytes, doneRecords int64
	for i, in := range todo {
		fr := &res.Files[in.result]
		log.Info("ingest file", "file", in.path, "feed", in.feed, "bytes", in.size)
		sink.startFile(in.feed, patientsDone(todo[i:]))
		stats, n, err := in.parse(ctx, sink, func(n, records int64) {
			if opts.Progress != nil {
				opts.Progress(Progress{DoneBytes: doneBytes + n, TotalBytes: totalBytes, Records: doneRecords + records})
			}
		})
		if err != nil {
			return res, err
		}
		doneBytes += in.size
		doneRecords += n
		fr.Stats = stats
	}
	// Records whose patient came later in the batch (another file) are
	// resolved now; those still without a patient are quarantined, and
	// their files' counts move from accepted to quarantined.
	moved, err := sink.resolveDeferred()
	if err != nil {
		return res, err
	}
	for i := range res.Files {
		if n := moved[res.Files[i].Path]; n > 0 {
			res.Files[i].Accepted -= n
			res.Files[i].Quarantined += n
		}
	}
	for _, fr := range res.Files {
		if fr.Status != "ingested" {
			continue
		}
		if err := fr.Stats.Balanced(); err != nil {
			return res, fmt.Errorf("ingest %s: %w", fr.Path, err)
		}
	}
	if n := len(opts.Replaces); n > 0 {
		in := res.Files[todo[0].result]
		if in.Read != int64(n) {
			return res, fmt.Errorf("replay %s: holds %d source records for %d quarantine entries; put exactly one corrected record per entry replaced", in.Path, in.Read, n)
		}
		rows := make([]models.QuarantineReplayRow, n)
		for i, id := range opts.Replaces {
			rows[i] = models.QuarantineReplayRow{EntryID: id, BatchID: batchID, File: in.Path, SHA256: in.SHA256}
		}
		if err := lake.Append(b, replayDir, rows...); err != nil {
			return res, err
		}
		sink.rows["quarantine_replayed"] = int64(n)
		res.Replayed = opts.Replaces
	}

	res.BatchID = batchID
	res.Link = ix.Stats()
	res.Rows = sink.rowCounts()
	res.Deprivation = sink.dep
	if d := sink.dep; d.Unmatched > 0 {
		log.Warn("patient records with an LSOA the deprivation lookup does not hold have no deprivation decile",
			"records", d.Unmatched, "with_lsoa", d.WithLSOA, "lookup", opts.Deprivation != nil)
	}
	res.Totals = totals(res.Files)
	manifest := lake.Manifest{BatchID: batchID}
	for _, fr := range res.Files {
		if fr.Status != "ingested" {
			continue
		}
		manifest.Inputs = append(manifest.Inputs, lake.InputFile{
			Path: fr.Path, SHA256: fr.SHA256, Feed: fr.Feed, Size: fr.Bytes,
			Read: fr.Read, Accepted: fr.Accepted, Quarantined: fr.Quarantined,
			Emitted: fr.Emitted, Skipped: fr.Skipped,
		})
	}
	if err := b.Commit(manifest); err != nil {
		return res, fmt.Errorf("commit batch %s: %w", batchID, err)
	}
	committed = true
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func totals(files []FileResult) Totals {
	var t Totals
	for _, f := range files {
		t.Files++
		switch f.Status {
		case "ingested":
			t.Ingested++
		default:
			t.Unchanged++
		}
		t.Read += f.Read
		t.Accepted += f.Accepted
		t.Quarantined += f.Quarantined
	}
	return t
}

// newBatchID returns a sortable, unique batch id such as
// 20261121T230102Z-1a2b3c.
func newBatchID(t time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("batch id: %w", err)
	}
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// hash computes the file's SHA-256 and size.
func (in *input) hash() error {
	f, err := os.Open(in.path)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", in.path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", in.path, err)
	}
	in.sha256, in.size = hex.EncodeToString(h.Sum(nil)), n
	return nil
}

// parse runs the feed's parser over the file, with the sink on a goroutine
// of its own (see pipeline). It returns the parser's counts and the number
// of records (Record and Quarantine calls) the sink received.
func (in *input) parse(ctx context.Context, sink *batchSink, progress func(bytes, records int64)) (feed.Stats, int64, error) {
	f, err := os.Open(in.path)
	if err != nil {
		return feed.Stats{}, 0, fmt.Errorf("ingest %s: %w", in.path, err)
	}
	defer f.Close()
	pipe := startPipeline(sink)
	r := &countingReader{r: f, report: func(n int64) { progress(n, pipe.sent) }}
	stats, err := in.parser(ctx, r, in.path, pipe)
	if cerr := pipe.close(); err == nil && cerr != nil {
		err = fmt.Errorf("sink: %w", cerr)
	}
	if err != nil {
		return stats, pipe.sent, fmt.Errorf("ingest %s: %w", in.path, err)
	}
	return stats, pipe.sent, nil
}

// countingReader reports bytes read, at most every 4 MiB, for progress bars.
type countingReader struct {
	r      io.Reader
	n      int64
	last   int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n-c.last >= 4<<20 || (err != nil && c.n != c.last) {
		c.last = c.n
		c.report(c.n)
	}
	return n, err
}

// unresolved wraps a record that could not be tied to a patient, for the
// quarantine entry's raw bytes.
type unresolved struct {
	Type   string        `json:"type"`
	Record models.Record `json:"record"`
}

func encodeUnresolved(r models.Record) []byte {
	b, err := json.Marshal(unresolved{Type: fmt.Sprintf("%T", r), Record: r})
	if err != nil {
		return []byte(errors.Join(errors.New("unencodable record"), err).Error())
	}
	return b
}
