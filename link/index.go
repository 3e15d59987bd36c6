package link

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/pophealth/pophealth/models"
)

// Index is the ingest-time master person index: it links each patient
// record to a person id as the record arrives, so that every lake row can
// be keyed at once. It is not safe for concurrent use.
//
// It is the one part of ingest whose memory grows with the number of
// source patients rather than being bounded by buffers, so it holds only
// what linking needs, in fixed-size, pointer-free entries (which the
// garbage collector need not scan):
//
//   - a source patient (feed and local id) as a 128-bit hash under two
//     random seeds of the process;
//   - a usable NHS number as a uint64;
//   - a person's id as the 12 random bytes behind "P" + 24 hex digits.
//
// That is about 80 bytes a source patient (the maps' load factor
// included), against about 500 bytes with string keys. Two source
// patients whose hashes collide would share a person; with n patients the
// chance is about n²/2¹²⁹ (below 10⁻²¹ for a billion). Names, dates of
// birth and the other details probabilistic linkage compares are not kept:
// Link returns the entry to persist (Linked.Row) and the caller writes it
// to the batch straight away.
type Index struct {
	seeds    [2]maphash.Seed
	bySource map[sourceHash]personID
	byNHS    map[uint64]personID
	// otherNHS holds usable NHS numbers that are not digit strings of
	// at most 17 digits; parsers normalise numbers to 10 digits, so it
	// stays empty unless a caller does not.
	otherNHS map[string]personID
	// named holds the ids that are not of the form randomID makes (from
	// tests, or lakes written by other versions): their personID is the
	// position in named, after 8 zero bytes.
	named   []string
	byName  map[string]personID
	newID   func() (string, error)
	stats   Stats
	lastHit lookup
	lastID  struct {
		p  personID
		id string
	}
}

// lookup caches the most recent source lookup (Resolve), and lastID the
// string form of the most recent person: feeds list a patient's records
// together, so most lookups repeat the one before.
type lookup struct {
	feed    models.Feed
	localID string
	p       personID
	found   bool
}

// sourceHash identifies a source patient (feed and local id) by hash.
type sourceHash [16]byte

// personID is a person id in 12 bytes: the random bytes behind "P" + 24
// hex digits, or, after 8 zero bytes, a position in Index.named.
type personID [12]byte

// sourceKey identifies a patient within one feed.
type sourceKey struct {
	feed    models.Feed
	localID string
}

// Stats counts what Link did since the index was loaded.
type Stats struct {
	Records        int64 `json:"records"`
	KnownSource    int64 `json:"known_source"`    // source patient seen before
	ByNHSNumber    int64 `json:"by_nhs_number"`   // joined a person through the NHS number
	NewPeople      int64 `json:"new_people"`      // new person with a usable NHS number
	Unmatched      int64 `json:"unmatched"`       // new singleton without a usable NHS number
	NHSConflicts   int64 `json:"nhs_conflicts"`   // known source patient now sending another person's NHS number
	IndexedSources int   `json:"indexed_sources"` // size of the index after linking
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		bySource: make(map[sourceHash]personID),
		byNHS:    make(map[uint64]personID),
		otherNHS: make(map[string]personID),
		byName:   make(map[string]personID),
		newID:    randomID,
	}
}

// Entry is one persisted index entry: the columns of models.LinkRow that
// loading the index needs. Reading only these (parquet-go reads the
// columns a struct names) keeps the patients' details out of memory.
type Entry struct {
	Feed            string `parquet:"feed"`
	LocalID         string `parquet:"local_id"`
	PersonID        string `parquet:"person_id"`
	NHSNumber       string `parquet:"nhs_number,optional"`
	NHSNumberStatus string `parquet:"nhs_number_status"`
}

// Load adds persisted entries (from earlier batches) to the index. The
// first entry of an NHS number decides its person, as it did when the
// entries were made.
func (ix *Index) Load(entries []Entry) {
	ix.forget()
	for _, e := range entries {
		p := ix.personOf(e.PersonID)
		ix.bySource[ix.hash(models.Feed(e.Feed), e.LocalID)] = p
		if usable(models.NHSNumberStatus(e.NHSNumberStatus)) && e.NHSNumber != "" {
			if _, ok := ix.ownerOf(e.NHSNumber); !ok {
				ix.setOwner(e.NHSNumber, p)
			}
		}
	}
}

// personOf returns the binary form of a person id.
func (ix *Index) personOf(id string) personID {
	var p personID
	if len(id) == 1+2*len(p) && id[0] == 'P' {
		_, err := hex.Decode(p[:], []byte(id[1:]))
		// Only lower-case hex turns back into the same string, and 8 zero
		// bytes mark a named id.
		if err == nil && hex.EncodeToString(p[:]) == id[1:] && binary.LittleEndian.Uint64(p[:8]) != 0 {
			return p
		}
	}
	if p, ok := ix.byName[id]; ok {
		return p
	}
	id = strings.Clone(id) // the caller's may point into a reused buffer
	p = personID{}
	binary.LittleEndian.PutUint32(p[8:], uint32(len(ix.named)))
	ix.named = append(ix.named, id)
	ix.byName[id] = p
	return p
}

// id returns the string form of a person id.
func (ix *Index) id(p personID) string {
	c := &ix.lastID
	if c.id != "" && c.p == p {
		return c.id
	}
	if binary.LittleEndian.Uint64(p[:8]) == 0 {
		c.id = ix.named[binary.LittleEndian.Uint32(p[8:])]
	} else {
		c.id = "P" + hex.EncodeToString(p[:])
	}
	c.p = p
	return c.id
}

// hash returns the key of a source patient.
func (ix *Index) hash(f models.Feed, localID string) sourceHash {
	k := sourceKey{f, localID}
	var h sourceHash
	binary.LittleEndian.PutUint64(h[:8], maphash.Comparable(ix.seeds[0], k))
	binary.LittleEndian.PutUint64(h[8:], maphash.Comparable(ix.seeds[1], k))
	return h
}

// nhsKey returns the map key of an NHS number written as up to 17
// decimal digits: the value (below 2⁵⁷), with the number of digits in the
// top five bits so that leading zeros count.
func nhsKey(n string) (uint64, bool) {
	if n == "" || len(n) > 17 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v | uint64(len(n))<<59, true
}

func (ix *Index) ownerOf(nhs string) (personID, bool) {
	if k, ok := nhsKey(nhs); ok {
		p, ok := ix.byNHS[k]
		return p, ok
	}
	p, ok := ix.otherNHS[nhs]
	return p, ok
}

func (ix *Index) setOwner(nhs string, p personID) {
	if k, ok := nhsKey(nhs); ok {
		ix.byNHS[k] = p
		return
	}
	ix.otherNHS[strings.Clone(nhs)] = p // Load's may point into a reused buffer
}

// usable reports whether an NHS number with this status may key a link.
func usable(s models.NHSNumberStatus) bool {
	return s == models.NHSValid || s == models.NHSVerified
}

// Linked is what Link did with a patient record.
type Linked struct {
	// PersonID is the person the record belongs to.
	PersonID string
	// Method is how the index entry this call added was made
	// (models.LinkNew, LinkByNHSNumber or LinkUnmatched), or "" when the
	// index already held the link and nothing needs persisting.
	Method string
}

// Added reports whether Link added an entry, which Row then describes.
func (l Linked) Added() bool { return l.Method != "" }

// Row returns the index entry to persist for patient record p, which Link
// returned l for: with the details probabilistic linkage compares, as the
// source sent them.
func (l Linked) Row(p *models.PatientRecord, batchID string) models.LinkRow {
	return models.LinkRow{
		Feed:            string(p.Ref.Feed),
		LocalID:         p.LocalID,
		PersonID:        l.PersonID,
		NHSNumber:       p.NHSNumber,
		NHSNumberStatus: string(p.NHSNumberStatus),
		Method:          l.Method,
		BatchID:         batchID,
		GivenName:       p.GivenName,
		FamilyName:      p.FamilyName,
		BirthDate:       p.BirthDate,
		Sex:             string(p.Sex),
		Postcode:        p.Postcode,
	}
}

// Link returns the person the patient p describes belongs to, creating a
// person when no link exists. When it adds an entry to the index, the
// caller must persist l.Row with the batch: the index keeps no copy.
func (ix *Index) Link(p *models.PatientRecord) (Linked, error) {
	ix.stats.Records++
	key := ix.hash(p.Ref.Feed, p.LocalID)
	nhs := ""
	if usable(p.NHSNumberStatus) {
		nhs = p.NHSNumber
	}
	if id, ok := ix.bySource[key]; ok {
		ix.stats.KnownSource++
		l := Linked{PersonID: ix.id(id)}
		if nhs != "" {
			owner, known := ix.ownerOf(nhs)
			switch {
			case !known:
				// The patient's number arrived later than the patient:
				// remember it so other sources can link to them.
				ix.setOwner(nhs, id)
				l.Method = models.LinkByNHSNumber
			case owner != id:
				// Keep the stable id; a conflict needs review, not a
				// silent re-link: the row persisted goes to linkage,
				// which lists the pair for review.
				ix.stats.NHSConflicts++
				l.Method = models.LinkNHSConflict
			}
		}
		return l, nil
	}
	ix.forget()
	if nhs != "" {
		if id, ok := ix.ownerOf(nhs); ok {
			ix.stats.ByNHSNumber++
			ix.bySource[key] = id
			return Linked{PersonID: ix.id(id), Method: models.LinkByNHSNumber}, nil
		}
	}
	s, err := ix.newID()
	if err != nil {
		return Linked{}, err
	}
	id := ix.personOf(s)
	ix.bySource[key] = id
	l := Linked{PersonID: s, Method: models.LinkUnmatched}
	if nhs != "" {
		ix.setOwner(nhs, id)
		l.Method = models.LinkNew
		ix.stats.NewPeople++
	} else {
		ix.stats.Unmatched++
	}
	return l, nil
}

// forget drops the cached source lookup, which a new source patient may
// make stale (a cached miss).
func (ix *Index) forget() { ix.lastHit = lookup{} }

// Resolve returns the person id of a source patient already linked.
func (ix *Index) Resolve(feed models.Feed, localID string) (string, bool) {
	c := &ix.lastHit
	if c.localID == "" || c.localID != localID || c.feed != feed {
		c.p, c.found = ix.bySource[ix.hash(feed, localID)]
		c.feed, c.localID = feed, localID
	}
	if !c.found {
		return "", false
	}
	return ix.id(c.p), true
}

// Stats returns counts of what Link has done.
func (ix *Index) Stats() Stats {
	s := ix.stats
	s.IndexedSources = len(ix.bySource)
	return s
}

// randomID returns a new person id. Ids are random rather than sequential
// so that an id reveals nothing about when or where a person was first seen.
func randomID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new person id: %w", err)
	}
	return "P" + hex.EncodeToString(b[:]), nil
}
