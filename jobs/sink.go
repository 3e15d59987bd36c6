package jobs

import (
	"fmt"
	"time"

	"github.com/pophealth/pophealth/deprivation"
	"github.com/pophealth/pophealth/lake"
	"github.com/pophealth/pophealth/link"
	"github.com/pophealth/pophealth/models"
	"github.com/pophealth/pophealth/pseudonymise"
)

// Directories of the lake's restricted zone that the ingest job writes.
const (
	mpiDir        = "mpi/links"
	mergeDir      = "mpi/merges"
	unreadDir     = quarantineDir + "/unread"
	quarantineDir = "quarantine"
)

// batchSink is the feed.Sink of one ingest batch: it links each patient
// record, resolves clinical records to their person, pseudonymises them and
// appends lake rows to the open batch.
type batchSink struct {
	b       *lake.Batch
	ix      *link.Index
	ps      *pseudonymise.Pseudonymiser
	batchID string
	feed    models.Feed
	// deferred holds clinical records that arrived before their patient.
	deferred []deferredRecord
	// patientsDone is set while reading a file after which no patient
	// record of its feed can arrive in this batch (a GP events file after
	// the patients files): a record whose patient is unknown then is
	// quarantined at once instead of deferred, so that the orphans of a
	// large extract are not held until the end.
	patientsDone bool
	// moved counts, per file, source records that the parser accepted but
	// the sink quarantined for want of their patient; lastOrphan is the
	// most recent one, as one source record may yield several records.
	moved      map[string]int64
	lastOrphan models.SourceRef
	// seqBase is the batch's start in Unix nanoseconds: EncounterRow.Seq
	// is seqBase plus the arrival position (handled).
	seqBase int64
	rows    map[string]int64
	// handled counts Record and Quarantine calls: the arrival position.
	handled int64
	// imd turns a patient record's LSOA into its deprivation decile; nil
	// when the workspace has no lookup.
	imd *deprivation.Lookup
	dep DeprivationStats
	// parts caches lake.PseudoDir by table, feed and month (building the
	// path for every row cost a tenth of a GP ingest), with the
	// partition's copies of its rows' dates and values.
	parts map[partition]*partitionOut
	// lastPerson and lastKey cache the most recent pseudonym: feeds list a
	// patient's records together, and the HMAC is the sink's largest cost.
	lastPerson, lastKey string
	// lastSubject is the most recent clinical record's subject that
	// resolved to lastSubjectID: the index's source map costs a hash of the
	// feed and id per record otherwise. A resolved subject never changes
	// person within a batch.
	lastSubject   sourceSubject
	lastSubjectID string

	// lastEncounter and lastEncounterKey cache the most recent encounter
	// pseudonym: an HL7 v2 message's diagnoses and procedures name its
	// visit.
	lastEncounter    sourceSubject
	lastEncounterKey string
	// tableRows counts rows written per table (models.Tables order); the
	// result's Rows map is built from it once, not updated per row.
	tableRows [len(tableIndex)]int64
}

// sourceSubject is an identifier within one feed.
type sourceSubject struct {
	feed models.Feed
	id   string
}

// tableIndex numbers the pseudonymised tables for batchSink.tableRows.
var tableIndex = [...]models.Table{
	models.TablePerson, models.TableEncounter, models.TableDiagnosis,
	models.TableObservation, models.TableMedication, models.TableProcedure,
}

// Positions in tableIndex.
const (
	rowsPerson = iota
	rowsEncounter
	rowsDiagnosis
	rowsObservation
	rowsMedication
	rowsProcedure
)

// partition identifies a lake directory of a pseudonymised table.
type partition struct {
	table models.Table
	feed  models.Feed
	month int // year*12 + month, or -1 for no date
}

// DeprivationStats counts what became of the LSOAs of a batch's patient
// records (docs/deprivation.md): the lake keeps the decile, never the LSOA.
type DeprivationStats struct {
	// WithLSOA counts patient records that carried an LSOA code.
	WithLSOA int64 `json:"with_lsoa"`
	// Matched counts those the lookup gave a decile.
	Matched int64 `json:"matched"`
	// Unmatched counts LSOAs the lookup does not hold (or all of them when
	// there is no lookup): those people have no decile.
	Unmatched int64 `json:"unmatched"`
}

// deferredRecord is a record waiting for its patient, with its arrival
// position.
type deferredRecord struct {
	rec models.Record
	seq int64
}

func newBatchSink(b *lake.Batch, ix *link.Index, ps *pseudonymise.Pseudonymiser, batchID string, start time.Time) *batchSink {
	return &batchSink{b: b, ix: ix, ps: ps, batchID: batchID, rows: map[string]int64{}, seqBase: start.UnixNano(), parts: map[partition]*partitionOut{}, moved: map[string]int64{}}
}

// part returns the lake partition of a table's row for feed f dated d.
func (s *batchSink) part(t models.Table, f models.Feed, d *models.Date) *partitionOut {
	p := partition{table: t, feed: f, month: -1}
	if d != nil && t != models.TablePerson {
		y, m, _ := d.Time().Date()
		p.month = y*12 + int(m)
	}
	out, ok := s.parts[p]
	if !ok {
		out = &partitionOut{dir: lake.PseudoDir(t, f, d)}
		s.parts[p] = out
	}
	return out
}

// partitionOut is a lake partition the batch writes to. Its rows point to
// copies of their records' dates and values, kept per partition: a row
// pointing into the parser's record would keep the whole record alive
// while the row waits in the lake writer's buffers (tens of MB on a large
// extract), and slabs shared by all partitions would be kept alive by the
// rows of the slowest.
type partitionOut struct {
	dir    string
	dates  slab[models.Date]
	values slab[float64]
}

// rowCounts returns the rows written per table or restricted dataset.
func (s *batchSink) rowCounts() map[string]int64 {
	for i, n := range s.tableRows {
		if n > 0 {
			s.rows[string(tableIndex[i])] += n
		}
	}
	s.tableRows = [len(tableIndex)]int64{}
	return s.rows
}

// resolve returns the person id of a clinical record's subject, if its
// patient has been linked.
func (s *batchSink) resolve(f models.Feed, subject string) (string, bool) {
	if k := (sourceSubject{f, subject}); k == s.lastSubject && subject != "" {
		return s.lastSubjectID, true
	}
	id, ok := s.ix.Resolve(f, subject)
	if ok {
		s.lastSubject, s.lastSubjectID = sourceSubject{f, subject}, id
	}
	return id, ok
}

// personKey returns the pseudonym of a person id.
func (s *batchSink) personKey(id string) string {
	if id != s.lastPerson {
		s.lastPerson, s.lastKey = id, s.ps.PersonKey(id)
	}
	return s.lastKey
}

// startFile is called before each file; patientsDone says whether a
// patient record of feed f can still arrive in this batch (see the field).
func (s *batchSink) startFile(f models.Feed, patientsDone bool) {
	s.feed, s.patientsDone = f, patientsDone
}

// Record implements feed.Sink.
func (s *batchSink) Record(r models.Record) error {
	s.handled++
	if p, ok := r.(*models.PatientRecord); ok {
		l, err := s.ix.Link(p)
		if err != nil {
			return err
		}
		if l.Added() {
			// Persisted as it is made, in the same batch: held until the
			// end, the entries (with the details linkage compares) were the
			// largest part of an ingest's memory.
			s.rows["mpi"]++
			if err := lake.Append(s.b, mpiDir, l.Row(p, s.batchID)); err != nil {
				return err
			}
		}
		return s.writePerson(p, s.personKey(l.PersonID))
	}
	if u, ok := r.(*models.Unread); ok {
		s.rows["unread"]++
		return lake.Append(s.b, unreadDir, models.UnreadRow{
			BatchID: s.batchID, Feed: string(u.Ref.Feed), File: u.Ref.File, Line: u.Ref.Line,
			Offset: u.Ref.Offset, RecordID: u.Ref.RecordID, Kind: u.Kind, Raw: u.Raw,
		})
	}
	if m, ok := r.(*models.Merge); ok {
		// Merges are for linkage (link/ reads mpi/merges); they hold
		// identifiers and stay in the restricted zone.
		s.rows["merge"]++
		return lake.Append(s.b, mergeDir, models.MergeRow{
			Feed: string(m.Ref.Feed), LocalID: m.PatientID, RetiredLocalID: m.RetiredID,
			RetiredNHSNumber: m.RetiredNHSNumber, Event: "A40", RecordID: m.Ref.RecordID, BatchID: s.batchID,
		})
	}
	id, ok := s.resolve(r.Source().Feed, r.Subject())
	if !ok {
		if s.patientsDone {
			if ref := *r.Source(); ref != s.lastOrphan {
				s.lastOrphan = ref
				return s.orphan(r)
			}
			return nil
		}
		s.deferred = append(s.deferred, deferredRecord{r, s.seqBase + s.handled})
		return nil
	}
	return s.write(r, s.personKey(id), s.seqBase+s.handled)
}

// Quarantine implements feed.Sink.
func (s *batchSink) Quarantine(q models.Quarantined) error {
	s.handled++
	return s.quarantine(q)
}

// orphan quarantines the source record of r, whose patient is not in the
// index, and counts it as moved from accepted to quarantined.
func (s *batchSink) orphan(r models.Record) error {
	ref := *r.Source()
	s.moved[ref.File]++
	return s.quarantine(models.Quarantined{
		Ref:    ref,
		Reason: fmt.Sprintf("subject %q not found: no patient record with this id in this batch or earlier ones", r.Subject()),
		Raw:    encodeUnresolved(r),
	})
}

func (s *batchSink) quarantine(q models.Quarantined) error {
	s.rows["quarantine"]++
	return lake.Append(s.b, quarantineDir, models.QuarantineRow{
		BatchID: s.batchID, Feed: string(q.Ref.Feed), File: q.Ref.File, Line: q.Ref.Line,
		Offset: q.Ref.Offset, RecordID: q.Ref.RecordID, Reason: q.Reason, Raw: q.Raw,
	})
}

// resolveDeferred retries records whose patient arrived later in the batch
// and quarantines the rest. It returns, per file, how many source records
// moved from accepted to quarantined, here or when they arrived.
func (s *batchSink) resolveDeferred() (map[string]int64, error) {
	quarantined := map[models.SourceRef]bool{}
	for _, d := range s.deferred {
		r := d.rec
		ref := *r.Source()
		if id, ok := s.resolve(ref.Feed, r.Subject()); ok {
			if err := s.write(r, s.personKey(id), d.seq); err != nil {
				return nil, err
			}
			continue
		}
		// One source record may have yielded several canonical records
		// (FHIR Observation components): count and keep it once.
		if quarantined[ref] {
			continue
		}
		quarantined[ref] = true
		s.handled++
		if err := s.orphan(r); err != nil {
			return nil, err
		}
	}
	s.deferred = nil
	return s.moved, nil
}

func (s *batchSink) writePerson(p *models.PatientRecord, key string) error {
	row := models.PersonRow{
		PersonKey:        key,
		Source:           string(p.Ref.Feed),
		BatchID:          s.batchID,
		Sex:              string(p.Sex),
		PostcodeDistrict: pseudonymise.PostcodeDistrict(p.Postcode),
		PracticeCode:     p.PracticeCode,
		RegisteredFrom:   p.RegisteredFrom,
		NHSNumberStatus:  string(p.NHSNumberStatus),
	}
	if row.Sex == "" {
		row.Sex = string(models.SexUnknown)
	}
	if p.BirthDate != nil {
		row.YearOfBirth = int16(p.BirthDate.Year())
		row.MonthOfBirth = int8(p.BirthDate.Month())
	}
	if p.DeathDate != nil {
		row.DeathMonth = p.DeathDate.FirstOfMonth().Ptr()
	}
	row.RegisteredTo = p.RegisteredTo
	if p.LSOA != "" {
		s.dep.WithLSOA++
		if d, ok := s.imd.Decile(p.LSOA); ok {
			row.DeprivationDecile = d
			s.dep.Matched++
		} else {
			s.dep.Unmatched++
		}
	}
	s.tableRows[rowsPerson]++
	return lake.Append(s.b, s.part(models.TablePerson, p.Ref.Feed, nil).dir, row)
}

// write appends the lake row of a clinical record.
func (s *batchSink) write(r models.Record, key string, seq int64) error {
	ref := r.Source()
	switch v := r.(type) {
	case *models.Encounter:
		s.tableRows[rowsEncounter]++
		date := v.Start
		if date == nil {
			date = v.End
		}
		out := s.part(models.TableEncounter, ref.Feed, date)
		return lake.Append(s.b, out.dir, models.EncounterRow{
			PersonKey: key, EncounterKey: s.encounterKey(ref.Feed, v.EncounterID),
			Source: string(ref.Feed), BatchID: s.batchID, Event: v.Event, Class: v.Class,
			AdmissionMethod: v.AdmissionMethod, StartDate: out.dates.copy(v.Start), EndDate: out.dates.copy(v.End), Cancelled: v.Cancelled, Seq: seq,
		})
	case *models.Diagnosis:
		s.tableRows[rowsDiagnosis]++
		out := s.part(models.TableDiagnosis, ref.Feed, v.Date)
		return lake.Append(s.b, out.dir, models.DiagnosisRow{
			PersonKey: key, EncounterKey: s.optionalEncounterKey(ref.Feed, v.EncounterID), Source: string(ref.Feed),
			BatchID: s.batchID, CodeSystem: string(v.System), Code: v.Code, RecordedDate: out.dates.copy(v.Date),
		})
	case *models.Observation:
		s.tableRows[rowsObservation]++
		out := s.part(models.TableObservation, ref.Feed, v.Date)
		return lake.Append(s.b, out.dir, models.ObservationRow{
			PersonKey: key, Source: string(ref.Feed), BatchID: s.batchID,
			CodeSystem: string(v.System), Code: v.Code, Value: out.values.copy(v.Value), Unit: v.Unit, EffectiveDate: out.dates.copy(v.Date),
		})
	case *models.Medication:
		s.tableRows[rowsMedication]++
		out := s.part(models.TableMedication, ref.Feed, v.Date)
		return lake.Append(s.b, out.dir, models.MedicationRow{
			PersonKey: key, Source: string(ref.Feed), BatchID: s.batchID,
			CodeSystem: string(v.System), Code: v.Code, AuthoredDate: out.dates.copy(v.Date),
		})
	case *models.Procedure:
		s.tableRows[rowsProcedure]++
		out := s.part(models.TableProcedure, ref.Feed, v.Date)
		return lake.Append(s.b, out.dir, models.ProcedureRow{
			PersonKey: key, EncounterKey: s.optionalEncounterKey(ref.Feed, v.EncounterID), Source: string(ref.Feed),
			BatchID: s.batchID, CodeSystem: string(v.System), Code: v.Code, PerformedDate: out.dates.copy(v.Date),
		})
	default:
		return fmt.Errorf("ingest %s line %d: unsupported record type %T", ref.File, ref.Line, r)
	}
}

// slab hands out copies of values from arrays of slabSize, so that many
// small copies cost one allocation; an array lives as long as any copy in
// it is referenced, so a slab should serve rows that are released
// together (one partition's, which the lake writes in order).
type slab[T any] []T

const slabSize = 128

// copy returns a pointer to a copy of *p, or nil for nil.
func (sl *slab[T]) copy(p *T) *T {
	if p == nil {
		return nil
	}
	if len(*sl) == cap(*sl) {
		*sl = make([]T, 0, slabSize)
	}
	*sl = append(*sl, *p)
	return &(*sl)[len(*sl)-1]
}

// optionalEncounterKey pseudonymises a record's encounter id, or returns ""
// for a record not tied to an encounter.
func (s *batchSink) optionalEncounterKey(f models.Feed, encounterID string) string {
	if encounterID == "" {
		return ""
	}
	return s.encounterKey(f, encounterID)
}

// encounterKey returns the pseudonym of a source's encounter id.
func (s *batchSink) encounterKey(f models.Feed, encounterID string) string {
	if k := (sourceSubject{f, encounterID}); k != s.lastEncounter || s.lastEncounterKey == "" {
		s.lastEncounter, s.lastEncounterKey = k, s.ps.EncounterKey(string(f), encounterID)
	}
	return s.lastEncounterKey
}
