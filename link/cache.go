package link

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pophealth/pophealth/lake"
)

// The index cache keeps the master person index as linkage needs it, each
// source patient's details with their prepared (normalised, phonetically
// coded) form and the person in force, so that an incremental run reads one
// compact file instead of decoding and preparing every Parquet row of
// mpi/links and mpi/persons again. It is a cache, never the record: it is
// derived from the lake files it lists, a run that cannot use it reads the
// lake as before, and deleting the directory loses nothing.
//
// Layout, in the restricted zone (it holds names and dates of birth):
//
//	mpi/cache/current.json             the state: segment files, checksums, lake files covered
//	mpi/cache/records-<batch>.bin      source patients: a base, then deltas of new and changed ones
//	mpi/cache/assignments-<batch>.bin  the person of every source patient after run <batch>
//
// A run writes its files as *.partial, commits its lake batch, then renames
// them and replaces current.json (under a lock of its own), so the cache
// never claims a run the lake does not hold. The cache is used only when
// every lake file it covers is still committed; lake files committed since
// (new ingest batches, or a run whose cache update failed) are read and
// applied on top, as the full read would apply them.
const cacheDir = "mpi/cache"

const (
	cacheVersion  = 1
	cacheState    = "current.json"
	cacheLock     = "lock"
	recordsMagic  = "pophealth mpi cache: records v1\n"
	assignMagic   = "pophealth mpi cache: assignments v1\n"
	partialSuffix = ".partial"
	// maxDeltas and deltaShare bound the delta segments: past either, a
	// run writes a new base, so reads stay one large sequential file.
	maxDeltas  = 16
	deltaShare = 4 // deltas may hold up to 1/deltaShare of the base's records
	// staleAfter is when a partial file left by a crashed run is removed.
	staleAfter = 24 * time.Hour
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheFile is one file of the cache with what it must hold.
type cacheFile struct {
	Name    string `json:"name"`
	Bytes   int64  `json:"bytes"`
	CRC32C  uint32 `json:"crc32c"`
	Records int    `json:"records"`
}

// cacheStateFile is current.json.
type cacheStateFile struct {
	Version int `json:"version"`
	// Run is the linkage batch that wrote this state.
	Run string `json:"run"`
	// Sources is the number of source patients the state holds.
	Sources int `json:"sources"`
	// Segments are the records files: BaseParts files holding every
	// source once between them (read in parallel), then deltas whose
	// entries replace earlier ones.
	Segments    []cacheFile `json:"segments"`
	BaseParts   int         `json:"base_parts"`
	Assignments cacheFile   `json:"assignments"`
	// LinksFiles and PersonsFiles are the lake files (relative to the
	// root) whose rows the state reflects.
	LinksFiles   []string `json:"links_files"`
	PersonsFiles []string `json:"persons_files"`
}

func (st *cacheStateFile) deltaRecords() int {
	n := 0
	for _, s := range st.Segments[st.BaseParts:] {
		n += s.Records
	}
	return n
}

func (st *cacheStateFile) baseRecords() int {
	n := 0
	for _, s := range st.Segments[:st.BaseParts] {
		n += s.Records
	}
	return n
}

// basePart is how many sources a base part holds at most.
const basePart = 1 << 18

// The fields of Record and prepared the cache stores, in file order. A
// test checks that every string field of both is listed.
func recordFields(r *Record) [12]*string {
	return [12]*string{&r.NHSNumber, (*string)(&r.NHSStatus), &r.GivenName, &r.FamilyName, &r.BirthDate, &r.Sex,
		&r.Postcode, &r.HouseNumber, &r.Address, &r.Locality, &r.Email, &r.Identifier}
}

func preparedFields(p *prepared) [17]*string {
	return [17]*string{&p.nhs, &p.given, &p.family, &p.givenPh, &p.familyPh, &p.dob, &p.sex, &p.postcode,
		&p.pcSector, &p.pcDistr, &p.pcArea, &p.house, &p.address, &p.locality, &p.email, &p.emailUser, &p.ident}
}

const flagNHSUsable = 1

// cacheWriter writes one cache file as <name>.partial with its checksum.
type cacheWriter struct {
	path    string // final path
	f       *os.File
	bw      *bufio.Writer
	crc     hash.Hash32
	n       int64
	records int
	buf     []byte
}

func newCacheWriter(dir, name, magic string) (*cacheWriter, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("index cache: %w", err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path+partialSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("index cache: %w", err)
	}
	w := &cacheWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}
	w.buf = append(w.buf, magic...)
	return w, w.flushEntry()
}

func (w *cacheWriter) uvarint(v uint64) {
	for v >= 0x80 {
		w.buf = append(w.buf, byte(v)|0x80)
		v >>= 7
	}
	w.buf = append(w.buf, byte(v))
}

func (w *cacheWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// flushEntry writes the buffered entry.
func (w *cacheWriter) flushEntry() error {
	w.crc.Write(w.buf)
	n, err := w.bw.Write(w.buf)
	w.n += int64(n)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("index cache %s: %w", w.path, err)
	}
	return nil
}

// record writes source i with its details (raw, the block read from the
// cache, or r when raw is "") prepared as p.
func (w *cacheWriter) record(i int, s *source, r *Record, raw string, p *prepared) error {
	w.encodeRecord(i, s, r, raw, p)
	w.records++
	return w.flushEntry()
}

// encodeRecord appends the entry of source i to the buffer. The details
// as sent are one length-prefixed block, so that a reader can keep it
// undecoded until it needs it (few runs look at more than the prepared
// details of earlier patients).
func (w *cacheWriter) encodeRecord(i int, s *source, r *Record, raw string, p *prepared) {
	w.uvarint(uint64(i))
	var flags byte
	if p.nhsUsable {
		flags |= flagNHSUsable
	}
	w.buf = append(w.buf, flags)
	w.uvarint(uint64(len(s.feed)))
	w.str(s.id)
	w.str(s.ingestID)
	if raw == "" {
		raw = encodeRaw(r)
	}
	w.str(raw)
	for _, f := range preparedFields(p) {
		w.str(*f)
	}
	w.uvarint(uint64(uint32(p.dobDay)))
}

// encodeRaw encodes a record's details as a raw block.
func encodeRaw(r *Record) string {
	var w cacheWriter
	for _, f := range recordFields(r) {
		w.str(*f)
	}
	return string(w.buf)
}

// decodeRaw decodes a raw block checked by checkRaw into r.
func decodeRaw(raw string, r *Record) {
	d := &cacheDecoder{s: raw}
	for _, f := range recordFields(r) {
		*f = d.str()
	}
}

// checkRaw reports whether a raw block holds exactly its fields, without
// building them, so that decodeRaw cannot fail later.
func checkRaw(raw string) bool {
	d := &cacheDecoder{s: raw}
	for range len(recordFields(&Record{})) {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.s)-d.off) {
			return false
		}
		d.off += int(n)
	}
	return d.off == len(d.s)
}

// assignment writes the person of source i, whose ingest id is ingest and
// whose cluster's smallest index is rep: 0 for the ingest id itself, else
// the id's length plus one and the id; then i - rep.
func (w *cacheWriter) assignment(i int, ingest, person string, rep int) error {
	if person == ingest && person != "" {
		w.uvarint(0)
	} else {
		w.uvarint(uint64(len(person)) + 1)
		w.buf = append(w.buf, person...)
	}
	w.uvarint(uint64(i - rep))
	w.records++
	if len(w.buf) < 4096 {
		return nil
	}
	return w.flushEntry()
}

// finish flushes and closes the partial file and describes it.
func (w *cacheWriter) finish() (cacheFile, error) {
	err := w.flushEntry()
	if err == nil {
		err = w.bw.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cacheFile{}, fmt.Errorf("index cache %s: %w", w.path, err)
	}
	return cacheFile{Name: filepath.Base(w.path), Bytes: w.n, CRC32C: w.crc.Sum32(), Records: w.records}, nil
}

// discard removes the partial file.
func (w *cacheWriter) discard() {
	w.f.Close()
	os.Remove(w.path + partialSuffix)
}

// readCacheFile reads a cache file whole, checking its size, checksum and
// magic; it returns the text after the magic. The text is one string whose
// substrings become the index's strings, so loading allocates little.
func readCacheFile(dir string, cf cacheFile, magic string) (string, error) {
	f, err := os.Open(filepath.Join(dir, cf.Name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	b.Grow(int(cf.Bytes))
	crc := crc32.New(castagnoli)
	n, err := io.Copy(&b, io.TeeReader(f, crc))
	if err != nil {
		return "", fmt.Errorf("%s: %w", cf.Name, err)
	}
	if n != cf.Bytes || crc.Sum32() != cf.CRC32C {
		return "", fmt.Errorf("%s: %d bytes with CRC-32C %08x, state says %d bytes with %08x", cf.Name, n, crc.Sum32(), cf.Bytes, cf.CRC32C)
	}
	text, ok := strings.CutPrefix(b.String(), magic)
	if !ok {
		return "", fmt.Errorf("%s: not a %q file", cf.Name, strings.TrimSpace(magic))
	}
	return text, nil
}

// cacheDecoder reads entries from a cache file's text.
type cacheDecoder struct {
	s   string
	off int
	err error
}

var errTruncated = errors.New("truncated entry")

func (d *cacheDecoder) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			d.err = errTruncated
			return 0
		}
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.err = errors.New("malformed number")
	return 0
}

func (d *cacheDecoder) byte() byte {
	if d.off >= len(d.s) {
		d.err = errTruncated
		return 0
	}
	d.off++
	return d.s[d.off-1]
}

func (d *cacheDecoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.s)-d.off) {
		if d.err == nil {
			d.err = errTruncated
		}
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// cachedIndex is what the cache holds: the sources in index order, their
// details and prepared details, and their persons.
type cachedIndex struct {
	state   cacheStateFile
	sources []source
	// raw[i] is source i's details, still encoded (decodeRaw).
	raw      []string
	prep     []prepared
	assigned []string
	// rep[i] is the smallest index of source i's cluster, which is its
	// person's: an incremental run starts from these clusters.
	rep []int32
}

// readCache reads the cache state and the files it names, given the lake
// files committed now (relative, sorted). It fails when the state is
// missing, of another version, reflects a file the lake no longer holds, or
// a file does not match it.
func readCache(dir string, links, persons []string) (*cachedIndex, error) {
	data, err := os.ReadFile(filepath.Join(dir, cacheState))
	if err != nil {
		return nil, err
	}
	c := &cachedIndex{}
	if err := json.Unmarshal(data, &c.state); err != nil {
		return nil, fmt.Errorf("%s: %w", cacheState, err)
	}
	st := &c.state
	if st.Version != cacheVersion || st.BaseParts < 1 || st.BaseParts > len(st.Segments) ||
		st.baseRecords() > st.Sources || st.Assignments.Records != st.Sources {
		return nil, fmt.Errorf("%s: version %d with %d base parts of %d segments and %d assignments for %d sources: not usable",
			cacheState, st.Version, st.BaseParts, len(st.Segments), st.Assignments.Records, st.Sources)
	}
	if err := st.covers(links, persons); err != nil {
		return nil, err
	}
	// Room for the new sources of a typical incremental run.
	n := st.Sources
	extra := n/8 + 1024
	c.sources = make([]source, n, n+extra)
	c.raw = make([]string, n)
	c.prep = make([]prepared, n, n+extra)
	seen := make([]bool, n)
	// The base parts hold different sources: decode them in parallel.
	// Deltas follow in order.
	errs := make([]error, st.BaseParts)
	parallel(st.BaseParts, runtime.GOMAXPROCS(0), func(k int) { errs[k] = c.readSegment(dir, st.Segments[k], seen) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, seg := range st.Segments[st.BaseParts:] {
		if err := c.readSegment(dir, seg, seen); err != nil {
			return nil, err
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		return nil, fmt.Errorf("the segments hold no entry for source %d of %d", i, n)
	}
	text, err := readCacheFile(dir, st.Assignments, assignMagic)
	if err != nil {
		return nil, err
	}
	c.assigned = make([]string, n, n+extra)
	c.rep = make([]int32, n)
	d := &cacheDecoder{s: text}
	for i := range n {
		switch k := d.uvarint(); {
		case d.err != nil:
		case k == 0:
			c.assigned[i] = c.sources[i].ingestID
		case k-1 > uint64(len(d.s)-d.off):
			d.err = errTruncated
		default:
			c.assigned[i] = d.s[d.off : d.off+int(k-1)]
			d.off += int(k - 1)
		}
		back := d.uvarint()
		if d.err == nil && back > uint64(i) {
			d.err = fmt.Errorf("cluster representative %d before the first source", int64(i)-int64(back))
		}
		c.rep[i] = int32(i - int(back))
		if d.err == nil && c.assigned[c.rep[i]] != c.assigned[i] {
			d.err = fmt.Errorf("source %d's cluster representative %d has another person", i, c.rep[i])
		}
		if d.err != nil {
			return nil, fmt.Errorf("%s entry %d: %w", st.Assignments.Name, i, d.err)
		}
	}
	if d.off != len(d.s) {
		return nil, fmt.Errorf("%s: %d bytes after its %d entries", st.Assignments.Name, len(d.s)-d.off, n)
	}
	return c, nil
}

// readSegment reads one records file into c.
func (c *cachedIndex) readSegment(dir string, seg cacheFile, seen []bool) error {
	text, err := readCacheFile(dir, seg, recordsMagic)
	if err != nil {
		return err
	}
	d := &cacheDecoder{s: text}
	for k := 0; k < seg.Records; k++ {
		if err := c.decodeRecord(d, seen); err != nil {
			return fmt.Errorf("%s entry %d: %w", seg.Name, k, err)
		}
	}
	if d.off != len(d.s) {
		return fmt.Errorf("%s: %d bytes after its %d entries", seg.Name, len(d.s)-d.off, seg.Records)
	}
	return nil
}

func (c *cachedIndex) decodeRecord(d *cacheDecoder, seen []bool) error {
	i := d.uvarint()
	flags := d.byte()
	feedLen := d.uvarint()
	if d.err != nil {
		return d.err
	}
	if i >= uint64(len(c.sources)) {
		return fmt.Errorf("source %d beyond the %d the state holds", i, len(c.sources))
	}
	id := d.str()
	if d.err == nil && feedLen >= uint64(len(id)) {
		return fmt.Errorf("feed length %d of source id %q", feedLen, id)
	}
	ingest := d.str()
	raw := d.str()
	if d.err == nil && !checkRaw(raw) {
		return fmt.Errorf("source %q: malformed details", id)
	}
	// Decoded in place: a failure discards the whole cache.
	p := &c.prep[i]
	for _, f := range preparedFields(p) {
		*f = d.str()
	}
	p.dobDay = int32(uint32(d.uvarint()))
	if d.err != nil {
		return d.err
	}
	p.nhsUsable = flags&flagNHSUsable != 0
	c.sources[i] = source{id: id, feed: id[:feedLen], localID: id[feedLen+1:], ingestID: ingest}
	c.raw[i], seen[i] = raw, true
	return nil
}

// covers reports whether every lake file the state reflects is among
// those committed (relative paths), so that the state is part of the
// lake's history.
func (st *cacheStateFile) covers(links, persons []string) error {
	for _, set := range []struct {
		want, have []string
	}{{st.LinksFiles, links}, {st.PersonsFiles, persons}} {
		for _, f := range set.want {
			if _, found := slices.BinarySearch(set.have, f); !found {
				return fmt.Errorf("the cache reflects %s, which the lake no longer holds", f)
			}
		}
	}
	return nil
}

// missing returns the files of have that the state does not reflect.
func missing(want, have []string) []string {
	var out []string
	for _, f := range have {
		if _, found := slices.BinarySearch(want, f); !found {
			out = append(out, f)
		}
	}
	return out
}

// cacheUpdate is a run's contribution to the cache, written as partial
// files until the run's lake batch commits.
type cacheUpdate struct {
	dir   string
	state cacheStateFile
	files []*cacheWriter
}

// discard removes the update's partial files.
func (u *cacheUpdate) discard() {
	for _, w := range u.files {
		w.discard()
	}
}

// commit makes the update the cache's state, after the run's batch has
// committed: persons are the lake files of the batch's person assignments.
func (u *cacheUpdate) commit(persons []string) error {
	u.state.PersonsFiles = slices.Sorted(slices.Values(append(u.state.PersonsFiles, persons...)))
	u.state.PersonsFiles = slices.Compact(u.state.PersonsFiles)
	lock, err := os.OpenFile(filepath.Join(u.dir, cacheLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("index cache: lock: %w", err)
	}
	for _, w := range u.files {
		if err := os.Rename(w.path+partialSuffix, w.path); err != nil {
			return fmt.Errorf("index cache: %w", err)
		}
	}
	data, err := json.MarshalIndent(u.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(u.dir, cacheState+partialSuffix)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(u.dir, cacheState)); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	return u.prune()
}

// prune removes the files the state no longer names, and partial files a
// crashed run left.
func (u *cacheUpdate) prune() error {
	keep := map[string]bool{cacheState: true, cacheLock: true, u.state.Assignments.Name: true}
	for _, s := range u.state.Segments {
		keep[s.Name] = true
	}
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if keep[name] || e.IsDir() {
			continue
		}
		if strings.HasSuffix(name, partialSuffix) {
			info, err := e.Info()
			if err != nil || time.Since(info.ModTime()) < staleAfter {
				continue // perhaps another run's, still being written
			}
		}
		if err := os.Remove(filepath.Join(u.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// relFiles returns lake files relative to the lake's root, sorted.
func relFiles(lk *lake.Lake, files []string) ([]string, error) {
	out := make([]string, len(files))
	for i, f := range files {
		rel, err := filepath.Rel(lk.Root(), f)
		if err != nil {
			return nil, err
		}
		out[i] = filepath.ToSlash(rel)
	}
	slices.Sort(out)
	return out, nil
}
