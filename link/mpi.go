package link

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

// The master person index's directories. All but KeyMapDir are in the
// lake's restricted zone; KeyMapDir holds only pseudonyms.
const (
	LinksDir        = "mpi/links"
	MergesDir       = "mpi/merges"
	personsDir      = "mpi/persons"
	personMergesDir = "mpi/person_merges"
	LabelsDir       = "mpi/labels"
	reviewDir       = "mpi/review"
	modelDir        = "mpi/model"
	KeyMapDir       = "pseudo/person_key_map"
)

// RunOptions configures a linkage run over the lake.
type RunOptions struct {
	// BatchID names the lake batch the run commits.
	BatchID string
	// Key is the lake key person pseudonyms derive from.
	Key pseudonymise.Key
	// Full retrains the model and relinks every source patient; otherwise
	// a run with an earlier model links only the source patients new since
	// the last run, those whose details changed since (an NHS number that
	// arrived later) and those a clerical decision names, against the
	// index.
	Full     bool
	Settings Settings
	Logger   *slog.Logger
	// Progress, when set, is told each step as it starts, for displays.
	Progress func(step string)
	// cachePart is how many sources an index cache base part holds
	// (0: basePart); tests make it small.
	cachePart int
}

// RunResult summarises a linkage run; it is what "pophealth link --json"
// prints.
type RunResult struct {
	BatchID string `json:"batch_id,omitempty"`
	// Mode is "full" or "incremental".
	Mode string `json:"mode"`
	// Sources counts source patients in the index; New those linked for
	// the first time; Moved those whose person changed.
	Sources int `json:"sources"`
	New     int `json:"new"`
	// Updated counts source patients linked before whose details (an NHS
	// number that arrived later, say) changed since the last run: they
	// are compared again; their earlier links stand.
	Updated int `json:"updated"`
	Moved   int `json:"moved"`
	Persons int `json:"persons"`
	// Merges counts persons merged into another this run.
	Merges int `json:"merges"`
	// A40 and Labels count the HL7 merges and clerical decisions honoured.
	A40    int `json:"a40_merges"`
	Labels int `json:"labels"`
	Review int `json:"review_pairs"`
	// NHSConflicts counts the review pairs (among Review) of source
	// patients that sent an NHS number another person holds; ingest kept
	// them apart.
	NHSConflicts int `json:"nhs_conflicts"`
	// IndexCache is "hit" when the run read the index cache (and only
	// the lake files committed since), "miss" when it read the whole index
	// from the lake.
	IndexCache string    `json:"index_cache"`
	Stats      LinkStats `json:"linkage"`
	Seconds    float64   `json:"seconds"`
}

// source is one source patient of the index.
type source struct {
	id       string // feed/local_id
	feed     string
	localID  string
	ingestID string
}

// SourceID names a source patient as commands show it: feed/local_id.
func SourceID(feed, localID string) string { return feed + "/" + localID }

// index is the master person index as read from the lake.
type index struct {
	sources []source
	// recs[i] is source i's details as linkage compares them; for
	// sources read from the cache, raw[i] holds them still encoded until
	// rec(i) decodes them.
	recs []Record
	raw  []string
	// rep[i], from the cache, is the smallest index of source i's
	// cluster after the last run; nil when the lake has changed
	// assignments since.
	rep []int32
	// prep holds the prepared details of the first sources, read from
	// the index cache (nil without it), except those whose details
	// changed since (dirty).
	prep   []prepared
	cached int // sources read from the cache
	dirty  map[int]bool
	// updated marks the source patients known before whose details a row
	// committed after the last run (batch since) changed: they are
	// linked again.
	updated map[int]bool
	// conflicts are the rows of known source patients that sent an NHS
	// number linked to another person (models.LinkNHSConflict), in order.
	conflicts []nhsConflict
	since     string
	byID      map[string]int
	// assigned[i] is source i's person id in force, "" if never linked.
	assigned []string
	merges   []models.MergeRow
	labels   map[[2]string]models.LinkLabelRow
	model    *Model
	review   []models.LinkReviewRow
	// linksFiles and personsFiles are the lake files (relative to the
	// root, sorted) whose rows the index reflects.
	linksFiles, personsFiles []string
	// cache is the cache state the index was read from, nil when it was
	// read from the lake alone; cacheErr says why it was not used.
	cache    *cacheStateFile
	cacheErr error
}

// readAll reads every committed row of type T under dir.
func readAll[T any](lk *lake.Lake, dir string) ([]T, error) {
	files, err := lk.Files(dir)
	if err != nil {
		return nil, err
	}
	return readFiles[T](files)
}

// readFiles reads every row of type T in files.
func readFiles[T any](files []string) ([]T, error) {
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			return nil, fmt.Errorf("master person index %s: %w", f, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// loadIndex reads the master person index: from the index cache and the
// lake files committed since it was written when the cache is usable,
// else from the lake's files alone. Both give the same index.
func loadIndex(lk *lake.Lake) (*index, error) {
	linkFiles, err := lk.Files(LinksDir)
	if err != nil {
		return nil, err
	}
	personFiles, err := lk.Files(personsDir)
	if err != nil {
		return nil, err
	}
	ix := &index{labels: map[[2]string]models.LinkLabelRow{}}
	if ix.linksFiles, err = relFiles(lk, linkFiles); err != nil {
		return nil, err
	}
	if ix.personsFiles, err = relFiles(lk, personFiles); err != nil {
		return nil, err
	}
	c, err := readCache(filepath.Join(lk.Root(), cacheDir), ix.linksFiles, ix.personsFiles)
	if err != nil {
		ix.cacheErr = err
		ix.byID = make(map[string]int, 1024)
	} else {
		ix.useCache(c)
		linkFiles = absFiles(lk, missing(c.state.LinksFiles, ix.linksFiles))
		personFiles = absFiles(lk, missing(c.state.PersonsFiles, ix.personsFiles))
	}
	// The assignments are the second largest read: decode them while the
	// links are read and indexed.
	type assignments struct {
		rows []models.PersonAssignmentRow
		err  error
	}
	pending := make(chan assignments, 1)
	go func() {
		rows, err := readFiles[models.PersonAssignmentRow](personFiles)
		pending <- assignments{rows, err}
	}()
	links, err := readFiles[models.LinkRow](linkFiles)
	got := <-pending
	if err != nil {
		return nil, err
	}
	persons, err := got.rows, got.err
	if err != nil {
		return nil, err
	}
	if byBatch := func(a, b models.PersonAssignmentRow) int { return cmp.Compare(a.BatchID, b.BatchID) }; !slices.IsSortedFunc(persons, byBatch) {
		slices.SortStableFunc(persons, byBatch)
	}
	if ix.cache == nil && len(persons) > 0 {
		// The last run that changed an assignment: rows after it are news.
		ix.since = persons[len(persons)-1].BatchID
	}
	ix.addLinks(links)
	if len(persons) > 0 {
		ix.rep = nil // assignments changed since the cache
	}
	var id []byte // the lookup key, built without allocating a string
	for _, p := range persons {
		id = append(append(append(id[:0], p.Feed...), '/'), p.LocalID...)
		if i, ok := ix.byID[string(id)]; ok {
			ix.assigned[i] = p.PersonID
		}
	}
	if ix.merges, err = readAll[models.MergeRow](lk, MergesDir); err != nil {
		return nil, err
	}
	labels, err := readAll[models.LinkLabelRow](lk, LabelsDir)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(labels, func(a, b models.LinkLabelRow) int { return cmp.Compare(a.BatchID, b.BatchID) })
	for _, l := range labels {
		ix.labels[labelKey(l.A, l.B)] = l
	}
	params, err := readAll[models.LinkModelRow](lk, modelDir)
	if err != nil {
		return nil, err
	}
	if ix.model, err = modelFromRows(params); err != nil {
		return nil, err
	}
	review, err := readAll[models.LinkReviewRow](lk, reviewDir)
	if err != nil {
		return nil, err
	}
	// Incremental runs list only pairs with a new record, so the list is
	// every run's, each pair once as its latest run scored it.
	slices.SortStableFunc(review, func(a, b models.LinkReviewRow) int { return cmp.Compare(a.BatchID, b.BatchID) })
	latest := map[[2]string]int{}
	for _, r := range review {
		k := labelKey(r.A, r.B)
		if i, ok := latest[k]; ok {
			ix.review[i] = r
			continue
		}
		latest[k] = len(ix.review)
		ix.review = append(ix.review, r)
	}
	return ix, nil
}

// useCache starts the index from the cache's.
func (ix *index) useCache(c *cachedIndex) {
	ix.cache, ix.cached, ix.since = &c.state, len(c.sources), c.state.Run
	ix.sources, ix.raw, ix.prep, ix.assigned, ix.rep = c.sources, c.raw, c.prep, c.assigned, c.rep
	// Decoded when needed: the pages of records never looked at are
	// never touched.
	ix.recs = make([]Record, len(c.sources), cap(c.sources))
	ix.byID = make(map[string]int, cap(c.sources))
	for i := range ix.sources {
		ix.byID[ix.sources[i].id] = i
	}
}

// addLinks adds index rows to the index: new source patients, and details
// that earlier rows of known ones lacked.
func (ix *index) addLinks(links []models.LinkRow) {
	// Files come in batch order, so the rows usually are already: sorting
	// a million wide rows is then a check, not a move of them all.
	byBatch := func(a, b models.LinkRow) int { return cmp.Compare(a.BatchID, b.BatchID) }
	if !slices.IsSortedFunc(links, byBatch) {
		slices.SortStableFunc(links, byBatch)
	}
	cached := ix.cached
	for _, r := range links {
		id := SourceID(r.Feed, r.LocalID)
		i, known := ix.byID[id]
		if !known {
			i = len(ix.sources)
			ix.byID[id] = i
			ix.sources = append(ix.sources, source{id: id, feed: r.Feed, localID: r.LocalID, ingestID: r.PersonID})
			ix.recs = append(ix.recs, Record{ID: id})
			ix.assigned = append(ix.assigned, "")
		}
		if known && r.Method == models.LinkNHSConflict {
			// The number is another person's: it must not become this
			// patient's (linkage would join the two silently).
			ix.conflicts = append(ix.conflicts, nhsConflict{source: i, nhs: r.NHSNumber})
			continue
		}
		// Later rows add what earlier ones lacked (an NHS number that
		// arrived later).
		rec := ix.rec(i)
		was := *rec
		if r.NHSNumber != "" && (rec.NHSNumber == "" || usable(models.NHSNumberStatus(r.NHSNumberStatus))) {
			rec.NHSNumber, rec.NHSStatus = r.NHSNumber, models.NHSNumberStatus(r.NHSNumberStatus)
		}
		if rec.NHSStatus == "" {
			rec.NHSStatus = models.NHSNumberStatus(r.NHSNumberStatus)
		}
		setIf(&rec.GivenName, r.GivenName)
		setIf(&rec.FamilyName, r.FamilyName)
		setIf(&rec.Sex, r.Sex)
		setIf(&rec.Postcode, r.Postcode)
		if r.BirthDate != nil {
			rec.BirthDate = r.BirthDate.String()
		}
		if *rec == was {
			continue
		}
		if i < cached {
			if ix.dirty == nil {
				ix.dirty = map[int]bool{}
			}
			ix.dirty[i] = true
		}
		if known && r.BatchID > ix.since {
			if ix.updated == nil {
				ix.updated = map[int]bool{}
			}
			ix.updated[i] = true
		}
	}
}

// nhsConflict is a source patient that sent NHS number nhs, which another
// person holds.
type nhsConflict struct {
	source int
	nhs    string
}

// conflictReview returns the review rows of the NHS number conflicts: each
// conflicting source against the first source holding the number as its
// own, once per pair.
func (ix *index) conflictReview(batchID string) []models.LinkReviewRow {
	if len(ix.conflicts) == 0 {
		return nil
	}
	owner := map[string]int{}
	for _, c := range ix.conflicts {
		owner[c.nhs] = -1
	}
	for i := range ix.sources {
		rec := ix.rec(i)
		if j, ok := owner[rec.NHSNumber]; ok && j < 0 && usable(rec.NHSStatus) {
			owner[rec.NHSNumber] = i
		}
	}
	var rows []models.LinkReviewRow
	seen := map[[2]string]bool{}
	for _, c := range ix.conflicts {
		j := owner[c.nhs]
		if j < 0 || j == c.source {
			continue
		}
		a, b := ix.sources[c.source].id, ix.sources[j].id
		if seen[labelKey(a, b)] {
			continue
		}
		seen[labelKey(a, b)] = true
		rows = append(rows, models.LinkReviewRow{A: a, B: b, Probability: 0.5, BatchID: batchID, Reason: models.LinkNHSConflict})
	}
	return rows
}

// rec returns source i's details, decoding them from the cache if need be.
func (ix *index) rec(i int) *Record {
	if i < len(ix.raw) && ix.raw[i] != "" {
		decodeRaw(ix.raw[i], &ix.recs[i])
		ix.recs[i].ID, ix.raw[i] = ix.sources[i].id, ""
	}
	return &ix.recs[i]
}

// rawOf returns source i's details as the cache encoded them, "" once
// decoded (or never cached).
func (ix *index) rawOf(i int) string {
	if i < len(ix.raw) {
		return ix.raw[i]
	}
	return ""
}

// presetClusters sets clusters[i], for each source not active, to the
// smallest index of a source that is not active with the same person:
// the earlier clusters an incremental run starts from. With the cache's
// cluster representatives that needs no map of every person id.
func (ix *index) presetClusters(clusters []int, active []bool) {
	if ix.rep != nil {
		// A representative that is active now leaves its cluster: the
		// smallest member that is not takes its place.
		var moved map[int32]int
		for i := range clusters {
			clusters[i] = i
			if active[i] {
				continue
			}
			r := ix.rep[i]
			if !active[r] {
				clusters[i] = int(r)
				continue
			}
			if nr, ok := moved[r]; ok {
				clusters[i] = nr
			} else {
				if moved == nil {
					moved = map[int32]int{}
				}
				moved[r] = i
			}
		}
		return
	}
	first := make(map[string]int, len(ix.sources))
	for i, p := range ix.assigned {
		clusters[i] = i
		if active[i] {
			continue
		}
		if f, ok := first[p]; ok {
			clusters[i] = f
		} else {
			first[p] = i
		}
	}
}

// prepareAll returns every source's prepared details, preparing only those
// the cache did not hold as they are.
func (ix *index) prepareAll(workers int) []prepared {
	n, cached := len(ix.sources), ix.cached
	prep := slices.Grow(ix.prep, n-cached)[:n]
	prepareAll(prep[cached:], ix.recs[cached:], workers)
	c := phonetics{}
	for i := range ix.dirty {
		prep[i] = c.prepare(&ix.recs[i])
	}
	ix.prep = nil
	return prep
}

// startCacheUpdate writes the records of this run's update of the index
// cache: every source (a new base) after a full run, without a usable
// cache or when the deltas have grown large, else only the sources new or
// changed since the cache (a delta).
func (ix *index) startCacheUpdate(lk *lake.Lake, batchID string, prep []prepared, full bool, part int) (u *cacheUpdate, err error) {
	dir := filepath.Join(lk.Root(), cacheDir)
	n := len(ix.sources)
	u = &cacheUpdate{dir: dir, state: cacheStateFile{
		Version: cacheVersion, Run: batchID, Sources: n, LinksFiles: ix.linksFiles, PersonsFiles: ix.personsFiles,
	}}
	defer func() {
		if err != nil {
			u.discard()
		}
	}()
	delta := n - ix.cached + len(ix.dirty)
	base := full || ix.cache == nil || len(ix.cache.Segments)-ix.cache.BaseParts >= maxDeltas ||
		ix.cache.deltaRecords()+delta > ix.cache.baseRecords()/deltaShare
	// write writes the sources idx gives, from lo to hi, to one file.
	write := func(name string, lo, hi int, idx func(k int) int) error {
		w, err := newCacheWriter(dir, name, recordsMagic)
		if err != nil {
			return err
		}
		u.files = append(u.files, w)
		for k := lo; k < hi; k++ {
			i := idx(k)
			if err := w.record(i, &ix.sources[i], &ix.recs[i], ix.rawOf(i), &prep[i]); err != nil {
				return err
			}
		}
		seg, err := w.finish()
		u.state.Segments = append(u.state.Segments, seg)
		return err
	}
	if base {
		u.state.BaseParts = (n + part - 1) / part
		for k := range u.state.BaseParts {
			name := fmt.Sprintf("records-%s.%d.bin", batchID, k)
			if err := write(name, k*part, min(n, (k+1)*part), func(i int) int { return i }); err != nil {
				return u, err
			}
		}
		return u, nil
	}
	u.state.BaseParts = ix.cache.BaseParts
	u.state.Segments = slices.Clone(ix.cache.Segments)
	changed := slices.Sorted(maps.Keys(ix.dirty))
	for i := ix.cached; i < n; i++ {
		changed = append(changed, i)
	}
	if len(changed) == 0 {
		return u, nil // nothing new: the segments stand
	}
	return u, write("records-"+batchID+".bin", 0, len(changed), func(k int) int { return changed[k] })
}

// writeAssignments writes the person and cluster of every source after
// this run.
func (u *cacheUpdate) writeAssignments(batchID string, sources []source, persons []string, clusters []int) error {
	w, err := newCacheWriter(u.dir, "assignments-"+batchID+".bin", assignMagic)
	if err != nil {
		return err
	}
	u.files = append(u.files, w)
	for i := range sources {
		if err := w.assignment(i, sources[i].ingestID, persons[i], clusters[i]); err != nil {
			return err
		}
	}
	u.state.Assignments, err = w.finish()
	return err
}

func absFiles(lk *lake.Lake, rel []string) []string {
	out := make([]string, len(rel))
	for i, f := range rel {
		out[i] = filepath.Join(lk.Root(), filepath.FromSlash(f))
	}
	return out
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func labelKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Run links the lake's master person index and commits the result as one
// batch: the person of every source patient (stable ids; merges
// recorded), the pseudonymised key map the query views apply, the
// borderline pairs for review and, after training, the model.
func Run(ctx context.Context, lk *lake.Lake, o RunOptions) (RunResult, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	progress("reading the master person index")
	ix, err := loadIndex(lk)
	if err != nil {
		return RunResult{}, err
	}
	res := RunResult{Mode: "incremental", Sources: len(ix.sources)}
	if len(ix.sources) == 0 {
		res.Mode = "full"
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	job := linkJob{recs: ix.recs}
	full := o.Full || ix.model == nil
	if full {
		res.Mode = "full"
	} else {
		job.model = ix.model
		job.active = make([]bool, len(ix.sources))
	}
	// Clerical decisions.
	relink := map[int]bool{}
	for _, l := range ix.labels {
		a, okA := ix.byID[l.A]
		b, okB := ix.byID[l.B]
		if !okA || !okB {
			log.Warn("label names a source patient not in the index", "a", l.A, "b", l.B)
			continue
		}
		res.Labels++
		if l.Decision == "match" {
			job.mustLink = append(job.mustLink, [2]int32{int32(a), int32(b)})
			job.reasons = append(job.reasons, "label")
		} else {
			job.cannotLink = append(job.cannotLink, [2]int32{int32(a), int32(b)})
			if ix.assigned[a] != "" && ix.assigned[a] == ix.assigned[b] {
				// An un-merge: both are linked afresh, apart.
				relink[a], relink[b] = true, true
			}
		}
	}
	// HL7 A40 merges: the retired local id (or, when MRG-1 held only an
	// NHS number, the feed's patients with that number) belongs to the
	// survivor.
	byNHS := map[string][]int{}
	for _, m := range ix.merges {
		if m.RetiredLocalID == "" && m.RetiredNHSNumber != "" {
			byNHS[m.Feed+"/"+m.RetiredNHSNumber] = nil
		}
	}
	if len(byNHS) > 0 {
		for i, s := range ix.sources {
			k := s.feed + "/" + ix.rec(i).NHSNumber
			if _, ok := byNHS[k]; ok {
				byNHS[k] = append(byNHS[k], i)
			}
		}
	}
	for _, m := range ix.merges {
		a, ok := ix.byID[SourceID(m.Feed, m.LocalID)]
		if !ok {
			log.Warn("HL7 merge names a surviving patient not in the index", "feed", m.Feed, "local_id", m.LocalID, "record", m.RecordID)
			continue
		}
		retired := byNHS[m.Feed+"/"+m.RetiredNHSNumber]
		if m.RetiredLocalID != "" {
			b, ok := ix.byID[SourceID(m.Feed, m.RetiredLocalID)]
			if !ok {
				continue // the retired patient never sent a record of its own
			}
			retired = []int{b}
		}
		for _, b := range retired {
			if b != a {
				res.A40++
				job.mustLink = append(job.mustLink, [2]int32{int32(a), int32(b)})
				job.reasons = append(job.reasons, "a40")
			}
		}
	}
	// Before the details are let go: the sources holding the numbers of
	// NHS number conflicts.
	conflicts := ix.conflictReview(o.BatchID)
	res.NHSConflicts = len(conflicts)
	if ix.cache != nil {
		res.IndexCache = "hit"
	} else {
		res.IndexCache = "miss"
		log.Info("index cache not used: reading the whole index from the lake", "reason", ix.cacheErr)
	}
	job.prep = ix.prepareAll(workers(o.Settings))
	cache, err := ix.startCacheUpdate(lk, o.BatchID, job.prep, full, cmp.Or(o.cachePart, basePart))
	if err != nil {
		log.Warn("index cache not updated", "err", err)
		cache = nil
	}
	cacheDone := false
	defer func() {
		if cache != nil && !cacheDone {
			cache.discard()
		}
	}()
	// Prepared, the records are all linkage needs: letting the source
	// strings go lowers the peak memory of a large run.
	job.recs, ix.recs, ix.raw = nil, nil, nil
	if !full {
		// Earlier clusters stand; new, updated and relinked sources are
		// active.
		for i, p := range ix.assigned {
			if p == "" || relink[i] || ix.updated[i] {
				job.active[i] = true
				switch {
				case p == "":
					res.New++
				case ix.updated[i]:
					res.Updated++
				}
			}
		}
		job.clusters = make([]int, len(ix.sources))
		ix.presetClusters(job.clusters, job.active)
	} else {
		for _, p := range ix.assigned {
			if p == "" {
				res.New++
			}
		}
	}
	progress(fmt.Sprintf("linking %d source patients (%s)", len(ix.sources), res.Mode))
	lr, err := link(ctx, job, o.Settings)
	if err != nil {
		return res, err
	}
	res.Stats = lr.Stats
	progress("writing persons, merges and the key map")
	persons, merges := ix.assignIDs(lr)
	res.Merges = len(merges)
	if cache != nil {
		if err := cache.writeAssignments(o.BatchID, ix.sources, persons, lr.Cluster); err != nil {
			log.Warn("index cache not updated", "err", err)
			cache.discard()
			cache = nil
		}
	}

	b, err := lk.Begin(o.BatchID)
	if err != nil {
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			if err := b.Abort(); err != nil {
				log.Error("abort batch", "batch", o.BatchID, "err", err)
			}
		}
	}()
	var assignments []models.PersonAssignmentRow
	for i, s := range ix.sources {
		if persons[i] == ix.assigned[i] {
			continue
		}
		if ix.assigned[i] != "" {
			res.Moved++
		}
		method := lr.JoinedBy[i]
		if method == "" {
			method = "singleton"
		}
		assignments = append(assignments, models.PersonAssignmentRow{
			Feed: s.feed, LocalID: s.localID, IngestPersonID: s.ingestID, PersonID: persons[i], Method: method, BatchID: o.BatchID,
		})
	}
	if err := lake.Append(b, personsDir, assignments...); err != nil {
		return res, err
	}
	for i := range merges {
		merges[i].BatchID = o.BatchID
	}
	if err := lake.Append(b, personMergesDir, merges...); err != nil {
		return res, err
	}
	if err := lake.Append(b, KeyMapDir, ix.keyMapRows(persons, pseudonymise.New(o.Key), o.BatchID)...); err != nil {
		return res, err
	}
	review := conflicts
	for _, p := range lr.Review {
		review = append(review, models.LinkReviewRow{
			A: ix.sources[p.A].id, B: ix.sources[p.B].id, Weight: p.Weight, Probability: p.Probability, BatchID: o.BatchID,
		})
	}
	res.Review = len(review)
	if err := lake.Append(b, reviewDir, review...); err != nil {
		return res, err
	}
	if full {
		if err := lake.Append(b, modelDir, lr.Model.rows(o.BatchID)...); err != nil {
			return res, err
		}
	}
	if err := b.Commit(lake.Manifest{BatchID: o.BatchID}); err != nil {
		return res, fmt.Errorf("commit linkage batch %s: %w", o.BatchID, err)
	}
	committed = true
	res.BatchID = o.BatchID
	if cache != nil {
		cacheDone = true
		if err := commitCache(lk, cache, o.BatchID); err != nil {
			log.Warn("index cache not updated: the next run reads the lake", "err", err)
			cache.discard()
		}
	}
	// assignIDs gives each cluster an id of its own, so persons are
	// clusters: count them without a map of a million ids.
	for i, c := range lr.Cluster {
		if i == c {
			res.Persons++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// commitCache makes a run's cache update current once its batch has
// committed, with the batch's person assignment files.
func commitCache(lk *lake.Lake, u *cacheUpdate, batchID string) error {
	files, err := lk.Files(personsDir)
	if err != nil {
		return err
	}
	rel, err := relFiles(lk, files)
	if err != nil {
		return err
	}
	ours := slices.DeleteFunc(rel, func(f string) bool { return !strings.HasPrefix(path.Base(f), "part-"+batchID+".") })
	return u.commit(ours)
}

// assignIDs gives each cluster a person id, keeping ids stable: a cluster
// keeps the earlier id most of its members had; an earlier id is kept by
// the one cluster holding most of its members; when a cluster holds
// several earlier ids, the one with most members survives and the others
// are recorded as merged into it. A cluster without an earlier id takes
// the ingest id of its first member (lake rows already carry its
// pseudonym), or a new id if that is taken.
func (ix *index) assignIDs(lr *Result) ([]string, []models.PersonMergeRow) {
	type count struct {
		cluster int
		n       int
	}
	// A cluster whose members all had the same earlier id keeps it; only
	// the others need counting. prev[c] is that id, mixed[c] says the
	// cluster holds a new source or several ids.
	n := len(ix.sources)
	prev, mixed := make([]string, n), make([]bool, n)
	for i, p := range ix.assigned {
		c := lr.Cluster[i]
		switch {
		case p == "":
			mixed[c] = true
		case prev[c] == "":
			prev[c] = p
		case prev[c] != p:
			mixed[c] = true
		}
	}
	// An earlier id split over several pure clusters is contested: count
	// those clusters as mixed.
	pure := make(map[string]int, n)
	for c := range n {
		if !mixed[c] && prev[c] != "" {
			pure[prev[c]]++
		}
	}
	for c := range n {
		if !mixed[c] && prev[c] != "" && pure[prev[c]] > 1 {
			mixed[c] = true
		}
	}
	// members[cluster][earlier id] = count, for mixed clusters and the
	// earlier ids they hold.
	members := map[int]map[string]int{}
	for i, p := range ix.assigned {
		c := lr.Cluster[i]
		if p == "" || !mixed[c] {
			continue
		}
		if members[c] == nil {
			members[c] = map[string]int{}
		}
		members[c][p]++
	}
	// An id a pure cluster keeps (pure[p] == 1) is not available to mixed
	// ones; the others go to the mixed cluster holding most of their
	// members.
	owner := map[string]count{}
	for _, c := range slices.Sorted(maps.Keys(members)) {
		for p, n := range members[c] {
			if pure[p] == 1 {
				continue
			}
			if o, ok := owner[p]; !ok || n > o.n {
				owner[p] = count{c, n}
			}
		}
	}
	// clusterID[c] is cluster c's person id, "" until given; taken holds
	// the ids given that neither a pure cluster keeps nor owner names.
	clusterID := make([]string, n)
	taken := map[string]bool{}
	used := func(id string) bool {
		_, owned := owner[id]
		return pure[id] == 1 || owned || taken[id]
	}
	var merges []models.PersonMergeRow
	for c := range n {
		if !mixed[c] && prev[c] != "" {
			clusterID[c] = prev[c]
		}
	}
	for _, c := range slices.Sorted(maps.Keys(members)) {
		var owned []string
		for p := range members[c] {
			if o, ok := owner[p]; ok && o.cluster == c {
				owned = append(owned, p)
			}
		}
		if len(owned) == 0 {
			continue
		}
		slices.SortFunc(owned, func(a, b string) int {
			if d := members[c][b] - members[c][a]; d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		clusterID[c] = owned[0]
		for _, p := range owned[1:] {
			merges = append(merges, models.PersonMergeRow{RetiredPersonID: p, SurvivingPersonID: owned[0], Reason: mergeReason(lr, ix, c, p)})
		}
	}
	persons := make([]string, len(ix.sources))
	for i := range ix.sources {
		c := lr.Cluster[i]
		id := clusterID[c]
		if id == "" {
			id = ix.sources[c].ingestID
			if used(id) {
				id = ix.sources[c].ingestID + "-" + ix.sources[c].id
			}
			taken[id] = true
			clusterID[c] = id
		}
		persons[i] = id
	}
	return persons, merges
}

// mergeReason says why earlier person p joined cluster c: the way its
// first member joined.
func mergeReason(lr *Result, ix *index, c int, p string) string {
	for i, a := range ix.assigned {
		if a == p && lr.Cluster[i] == c && lr.JoinedBy[i] != "" {
			return lr.JoinedBy[i]
		}
	}
	return "probabilistic"
}

// keyMapRows returns the key map rows that change what is in force: for
// each ingest id whose person changed, its pseudonym maps to the person's.
// Sources sharing an ingest id (linked by NHS number at ingest) share lake
// rows: they follow the person most of them are in. What is in force is
// what the same rule gave for the earlier assignments (each run writes
// it), so the map itself need not be read.
func (ix *index) keyMapRows(persons []string, ps *pseudonymise.Pseudonymiser, batchID string) []models.PersonKeyMapRow {
	// Sources by ingest id, for the ingest ids with a source whose person
	// changed; most have one source, so no vote maps are built for them.
	groups := map[string][]int32{}
	for i, s := range ix.sources {
		if persons[i] != ix.assigned[i] {
			groups[s.ingestID] = nil
		}
	}
	for i, s := range ix.sources {
		if g, ok := groups[s.ingestID]; ok {
			groups[s.ingestID] = append(g, int32(i))
		}
	}
	var rows []models.PersonKeyMapRow
	for _, ingest := range slices.Sorted(maps.Keys(groups)) {
		g := groups[ingest]
		to := majority(g, persons)
		from := majority(g, ix.assigned)
		if from == "" {
			from = ingest // never mapped: rows are under the ingest id's own key
		}
		if to != from {
			rows = append(rows, models.PersonKeyMapRow{FromKey: ps.PersonKey(ingest), ToKey: ps.PersonKey(to), BatchID: batchID})
		}
	}
	return rows
}

// majority returns the person most of sources g have in persons (the
// smallest id on a tie; "" persons do not vote), or "" for no votes. Groups
// are usually small (the sources one ingest id stands for), so small ones
// count votes pairwise rather than in a map.
func majority(g []int32, persons []string) string {
	best, n := "", 0
	if len(g) > 32 {
		votes := map[string]int{}
		for _, i := range g {
			if p := persons[i]; p != "" {
				votes[p]++
			}
		}
		for p, k := range votes {
			if k > n || k == n && p < best {
				best, n = p, k
			}
		}
		return best
	}
	for x, i := range g {
		p := persons[i]
		if p == "" || slices.ContainsFunc(g[:x], func(j int32) bool { return persons[j] == p }) {
			continue // no vote, or counted already
		}
		k := 0
		for _, j := range g[x:] {
			if persons[j] == p {
				k++
			}
		}
		if k > n || k == n && p < best {
			best, n = p, k
		}
	}
	return best
}
