package jobs

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
)

// replayDir holds QuarantineReplayRows. It lies under the quarantine zone
// (restricted) but is a dataset of its own: entries are the files directly
// under quarantineDir.
const replayDir = quarantineDir + "/replayed"

// QuarantineEntry is one quarantined source record as an operator sees it:
// where it came from, why it was refused, its raw bytes, and whether a
// corrected version has been replayed.
type QuarantineEntry struct {
	// ID is "<batch id>/<row>", stable for the life of the lake: the
	// handle "pophealth quarantine show" and "replay --replaces" take.
	ID string `json:"id"`
	models.QuarantineRow
	// ReplayedBy is the batch that ingested a corrected version, or "".
	ReplayedBy string `json:"replayed_by,omitempty"`
}

// QuarantineFilter selects entries for ListQuarantine. Empty fields match
// everything.
type QuarantineFilter struct {
	// File matches entries whose source file path contains it.
	File string
	// Reason matches entries whose reason contains it (case-insensitive).
	Reason string
	Batch  string
	Feed   string
	// Outstanding keeps only entries not yet replayed.
	Outstanding bool
}

func (f QuarantineFilter) match(e *QuarantineEntry) bool {
	return (f.File == "" || strings.Contains(e.File, f.File)) &&
		(f.Reason == "" || strings.Contains(strings.ToLower(e.Reason), strings.ToLower(f.Reason))) &&
		(f.Batch == "" || e.BatchID == f.Batch) &&
		(f.Feed == "" || e.Feed == f.Feed) &&
		(!f.Outstanding || e.ReplayedBy == "")
}

// ListQuarantine returns the committed quarantine entries that match f, in
// batch then source order. The entries hold raw feed bytes: they are
// identifiable and for operators only.
func ListQuarantine(lk *lake.Lake, f QuarantineFilter) ([]QuarantineEntry, error) {
	replayed, err := replays(lk)
	if err != nil {
		return nil, err
	}
	files, err := lk.Files(quarantineDir)
	if err != nil {
		return nil, err
	}
	var out []QuarantineEntry
	for _, name := range files {
		if filepath.Dir(name) != filepath.Join(lk.Root(), quarantineDir) {
			continue // a dataset below quarantine/, such as replayed/
		}
		rows, err := parquet.ReadFile[models.QuarantineRow](name)
		if err != nil {
			return nil, fmt.Errorf("quarantine %s: %w", name, err)
		}
		for i, r := range rows {
			e := QuarantineEntry{ID: entryID(r.BatchID, i), QuarantineRow: r}
			e.ReplayedBy = replayed[e.ID]
			if f.match(&e) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// GetQuarantine returns one entry by its ID.
func GetQuarantine(lk *lake.Lake, id string) (QuarantineEntry, error) {
	batch, row, err := parseEntryID(id)
	if err != nil {
		return QuarantineEntry{}, err
	}
	es, err := ListQuarantine(lk, QuarantineFilter{Batch: batch})
	if err != nil {
		return QuarantineEntry{}, err
	}
	if row >= len(es) {
		return QuarantineEntry{}, fmt.Errorf("quarantine entry %s: no such entry (batch %s has %d)", id, batch, len(es))
	}
	return es[row], nil
}

func entryID(batch string, row int) string { return batch + "/" + strconv.Itoa(row) }

func parseEntryID(id string) (batch string, row int, err error) {
	batch, n, ok := strings.Cut(id, "/")
	if ok {
		row, err = strconv.Atoi(n)
	}
	if !ok || err != nil || row < 0 || batch == "" || path.Clean(batch) != batch {
		return "", 0, fmt.Errorf("quarantine entry %q: want BATCH/ROW, as listed by \"pophealth quarantine list\"", id)
	}
	return batch, row, nil
}

// replays maps replayed entry IDs to the batch that replayed them.
func replays(lk *lake.Lake) (map[string]string, error) {
	files, err := lk.Files(replayDir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range files {
		rows, err := parquet.ReadFile[models.QuarantineReplayRow](name)
		if err != nil {
			return nil, fmt.Errorf("quarantine replays %s: %w", name, err)
		}
		for _, r := range rows {
			out[r.EntryID] = r.BatchID
		}
	}
	return out, nil
}

// checkReplays validates, before anything is read, the entries an ingest
// run says it replaces: each must exist, appear once and not have been
// replayed already, so that a fixed record cannot enter the lake twice.
func checkReplays(lk *lake.Lake, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	all, err := ListQuarantine(lk, QuarantineFilter{})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	byID := make(map[string]*QuarantineEntry, len(all))
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return fmt.Errorf("replay: quarantine entry %s named twice", id)
		}
		seen[id] = true
		if _, _, err := parseEntryID(id); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		e, ok := byID[id]
		switch {
		case !ok:
			return fmt.Errorf("replay: quarantine entry %s: no such entry", id)
		case e.ReplayedBy != "":
			return fmt.Errorf("replay: quarantine entry %s was already replayed by batch %s", id, e.ReplayedBy)
		}
	}
	return nil
}
