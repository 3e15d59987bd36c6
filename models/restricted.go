package models

// The types in this file are written only to the lake's restricted zone
// (lake/mpi and lake/quarantine): they hold identifiers and raw feed bytes.
// Nothing derived from them may be copied into lake/pseudo or a purpose.

// LinkRow is one entry of the master person index: it binds a source's
// patient (feed + local id) to a linked person id, and records the NHS
// number the source sent and why the link was made, so that linkage can be
// explained and replayed.
type LinkRow struct {
	Feed     string `parquet:"feed"`
	LocalID  string `parquet:"local_id"`
	PersonID string `parquet:"person_id"`
	// NHSNumber is the number the source sent (possibly invalid), kept so
	// that later records with the same number link to the same person.
	NHSNumber       string `parquet:"nhs_number,optional"`
	NHSNumberStatus string `parquet:"nhs_number_status"`
	// Method says how the link was made: "nhs_number" (joined an existing
	// person through a valid NHS number), "new" (first sight of a person)
	// or "unmatched" (no usable NHS number: a singleton awaiting
	// probabilistic linkage).
	Method  string `parquet:"method"`
	BatchID string `parquet:"batch_id"`
	// The details probabilistic linkage compares ("pophealth link"), as
	// the source sent them when the entry was made. Rows written before
	// linkage existed read them as empty.
	GivenName  string `parquet:"given_name,optional"`
	FamilyName string `parquet:"family_name,optional"`
	BirthDate  *Date  `parquet:"birth_date,date,optional"`
	Sex        string `parquet:"sex,optional"`
	Postcode   string `parquet:"postcode,optional"`
}

// Link methods recorded in LinkRow.Method.
const (
	LinkByNHSNumber = "nhs_number"
	LinkNew         = "new"
	LinkUnmatched   = "unmatched"
	// LinkNHSConflict marks the row of a source patient, linked before,
	// that started sending a usable NHS number already linked to another
	// person. Ingest keeps the patient's person; the row carries the new
	// number so that linkage can put the pair to clerical review
	// (LinkReviewRow.Reason) rather than join them silently.
	LinkNHSConflict = "nhs_conflict"
)

// QuarantineRow is a quarantined source record as stored in the lake, with
// the raw bytes an operator needs to fix and replay it.
type QuarantineRow struct {
	BatchID  string `parquet:"batch_id"`
	Feed     string `parquet:"feed"`
	File     string `parquet:"file"`
	Line     int64  `parquet:"line"`
	Offset   int64  `parquet:"offset"`
	RecordID string `parquet:"record_id,optional"`
	Reason   string `parquet:"reason"`
	Raw      []byte `parquet:"raw"`
}

// QuarantineReplayRow records that a quarantined record was fixed and
// ingested again ("pophealth quarantine replay"). It is written in the same
// batch as the corrected records, so the entry and its replacement change
// state together: a replayed entry is never replayed twice, and the
// quarantine's outstanding count is entries without a replay row.
type QuarantineReplayRow struct {
	// EntryID names the quarantine entry replayed: its batch id, a slash,
	// and its 0-based row in that batch's quarantine file.
	EntryID string `parquet:"entry_id"`
	// BatchID is the batch that ingested the corrected records.
	BatchID string `parquet:"batch_id"`
	// File and SHA256 identify the corrected file.
	File   string `parquet:"file"`
	SHA256 string `parquet:"sha256"`
}

// MergeRow is a patient merge (models.Merge) as stored in the restricted
// zone (lake/mpi/merges), one per MRG segment. Linkage reads it to honour
// the merge: records that arrive under (Feed, RetiredLocalID), in earlier
// or later batches, belong to the person of (Feed, LocalID). Rows are
// never removed; an operator undoing a merge does so in linkage.
type MergeRow struct {
	Feed string `parquet:"feed"`
	// LocalID is the surviving patient's local id.
	LocalID string `parquet:"local_id"`
	// RetiredLocalID is the merged-away local id ("" if MRG-1 held only an
	// NHS number).
	RetiredLocalID   string `parquet:"retired_local_id,optional"`
	RetiredNHSNumber string `parquet:"retired_nhs_number,optional"`
	// Event is the trigger that carried the merge (A40).
	Event string `parquet:"event"`
	// RecordID is the source message's id (HL7 MSH-10), for tracing.
	RecordID string `parquet:"record_id"`
	BatchID  string `parquet:"batch_id"`
}

// UnreadRow is an accepted but unmapped source record (models.Unread) as
// stored in the restricted zone (lake/quarantine/unread), raw bytes and
// position included, so that feeds can be re-read when pophealth learns
// their meaning. It is not a quarantine entry: the record was accepted.
type UnreadRow struct {
	BatchID  string `parquet:"batch_id"`
	Feed     string `parquet:"feed"`
	File     string `parquet:"file"`
	Line     int64  `parquet:"line"`
	Offset   int64  `parquet:"offset"`
	RecordID string `parquet:"record_id,optional"`
	Kind     string `parquet:"kind"`
	Raw      []byte `parquet:"raw"`
}

// PersonAssignmentRow records which person linkage ("pophealth link")
// put a source patient in (lake/mpi/persons). A run writes a row for each
// source patient it linked for the first time or moved; the latest row per
// (Feed, LocalID), by BatchID, is in force.
type PersonAssignmentRow struct {
	Feed    string `parquet:"feed"`
	LocalID string `parquet:"local_id"`
	// IngestPersonID is the id the ingest job gave the source patient
	// (LinkRow.PersonID); lake rows are keyed by its pseudonym.
	IngestPersonID string `parquet:"ingest_person_id"`
	// PersonID is the linked person: stable across runs unless the
	// person's cluster merged into another (see PersonMergeRow).
	PersonID string `parquet:"person_id"`
	// Method is how the source joined its person: "nhs_number",
	// "probabilistic", "a40" (an HL7 merge), "label" (a clerical
	// decision) or "singleton".
	Method  string `parquet:"method"`
	BatchID string `parquet:"batch_id"`
}

// PersonMergeRow records that linkage merged one person into another
// (lake/mpi/person_merges): the retired id's sources now belong to the
// surviving id. Rows are never removed; an un-merge is a later
// assignment.
type PersonMergeRow struct {
	RetiredPersonID   string `parquet:"retired_person_id"`
	SurvivingPersonID string `parquet:"surviving_person_id"`
	// Reason is "probabilistic", "a40", "nhs_number" or "label".
	Reason  string `parquet:"reason"`
	BatchID string `parquet:"batch_id"`
}

// LinkLabelRow is a clerical review decision on two source patients
// (lake/mpi/labels), named as "feed/local_id". Linkage honours it: a match
// joins the two, a non-match keeps them apart (an un-merge). The latest
// decision on a pair, by BatchID, is in force.
type LinkLabelRow struct {
	A        string `parquet:"a"`
	B        string `parquet:"b"`
	Decision string `parquet:"decision"` // "match" or "non-match"
	By       string `parquet:"by"`
	At       string `parquet:"at"` // RFC 3339
	BatchID  string `parquet:"batch_id"`
}

// LinkReviewRow is a borderline pair a linkage run found
// (lake/mpi/review), for clerical review.
type LinkReviewRow struct {
	A           string  `parquet:"a"`
	B           string  `parquet:"b"`
	Weight      float64 `parquet:"weight"`
	Probability float64 `parquet:"probability"`
	BatchID     string  `parquet:"batch_id"`
	// Reason is why the pair needs a decision: "" when the model scored
	// it in the review band (Weight and Probability are its scores), or
	// LinkNHSConflict when A sent the NHS number B's person holds
	// (Weight 0 and Probability 0.5: no score, listed first).
	Reason string `parquet:"reason,optional"`
}

// LinkModelRow is one parameter of the Fellegi-Sunter model a full
// linkage run trained (lake/mpi/model): m and u of one comparison level,
// or, with Comparison "prior", the prior in M. Incremental runs reuse the
// latest batch's model.
type LinkModelRow struct {
	Comparison string  `parquet:"comparison"`
	Level      int32   `parquet:"level"`
	LevelName  string  `parquet:"level_name"`
	M          float64 `parquet:"m"`
	U          float64 `parquet:"u"`
	BatchID    string  `parquet:"batch_id"`
}
