package link

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/pophealth/pophealth/models"
)

// sourceKey identifies a patient within one feed.
type sourceKey struct {
	feed    models.Feed
	localID string
}

// Index is the in-memory master person index. It is not safe for
// concurrent use.
type Index struct {
	bySource map[sourceKey]string
	byNHS    map[string]string
	pending  []models.LinkRow
	newID    func() (string, error)
	stats    Stats
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
		bySource: make(map[sourceKey]string),
		byNHS:    make(map[string]string),
		newID:    randomID,
	}
}

// Load adds persisted entries (from earlier batches) to the index. Entries
// loaded are not returned by Pending.
func (ix *Index) Load(rows []models.LinkRow) {
	for _, r := range rows {
		ix.bySource[sourceKey{models.Feed(r.Feed), r.LocalID}] = r.PersonID
		if usable(models.NHSNumberStatus(r.NHSNumberStatus)) && r.NHSNumber != "" {
			if _, ok := ix.byNHS[r.NHSNumber]; !ok {
				ix.byNHS[r.NHSNumber] = r.PersonID
			}
		}
	}
}

// usable reports whether an NHS number with this status may key a link.
func usable(s models.NHSNumberStatus) bool {
	return s == models.NHSValid || s == models.NHSVerified
}

// Link returns the person id of the patient p describes, creating a person
// when no link exists. It records new index entries for Pending.
func (ix *Index) Link(p *models.PatientRecord, batchID string) (string, error) {
	ix.stats.Records++
	feed := p.Ref.Feed
	key := sourceKey{feed, p.LocalID}
	nhs := ""
	if usable(p.NHSNumberStatus) {
		nhs = p.NHSNumber
	}
	if id, ok := ix.bySource[key]; ok {
		ix.stats.KnownSource++
		if nhs != "" {
			owner, known := ix.byNHS[nhs]
			switch {
			case !known:
				// The patient's number arrived later than the patient:
				// remember it so other sources can link to them.
				ix.byNHS[nhs] = id
				ix.record(p, id, models.LinkByNHSNumber, batchID)
			case owner != id:
				// Keep the stable id; a conflict needs review, not a
				// silent re-link.
				ix.stats.NHSConflicts++
			}
		}
		return id, nil
	}
	if nhs != "" {
		if id, ok := ix.byNHS[nhs]; ok {
			ix.stats.ByNHSNumber++
			ix.bySource[key] = id
			ix.record(p, id, models.LinkByNHSNumber, batchID)
			return id, nil
		}
	}
	id, err := ix.newID()
	if err != nil {
		return "", err
	}
	ix.bySource[key] = id
	method := models.LinkUnmatched
	if nhs != "" {
		ix.byNHS[nhs] = id
		method = models.LinkNew
		ix.stats.NewPeople++
	} else {
		ix.stats.Unmatched++
	}
	ix.record(p, id, method, batchID)
	return id, nil
}

// Resolve returns the person id of a source patient already linked.
func (ix *Index) Resolve(feed models.Feed, localID string) (string, bool) {
	id, ok := ix.bySource[sourceKey{feed, localID}]
	return id, ok
}

// Pending returns the entries added since the index was loaded, to be
// persisted with the batch that produced them.
func (ix *Index) Pending() []models.LinkRow { return ix.pending }

// Stats returns counts of what Link has done.
func (ix *Index) Stats() Stats {
	s := ix.stats
	s.IndexedSources = len(ix.bySource)
	return s
}

func (ix *Index) record(p *models.PatientRecord, personID, method, batchID string) {
	ix.pending = append(ix.pending, models.LinkRow{
		Feed:            string(p.Ref.Feed),
		LocalID:         p.LocalID,
		PersonID:        personID,
		NHSNumber:       p.NHSNumber,
		NHSNumberStatus: string(p.NHSNumberStatus),
		Method:          method,
		BatchID:         batchID,
		GivenName:       p.GivenName,
		FamilyName:      p.FamilyName,
		BirthDate:       p.BirthDate,
		Sex:             string(p.Sex),
		Postcode:        p.Postcode,
	})
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
