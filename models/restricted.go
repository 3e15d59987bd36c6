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
}

// Link methods recorded in LinkRow.Method.
const (
	LinkByNHSNumber = "nhs_number"
	LinkNew         = "new"
	LinkUnmatched   = "unmatched"
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
