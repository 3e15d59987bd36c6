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
