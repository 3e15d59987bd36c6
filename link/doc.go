// Package link maintains the master person index (MPI): the mapping from
// each source's patients to linked people.
//
// Linkage happens in two places. At ingest, Index links deterministically
// so that every lake row can be keyed at once: a record joins an existing
// person when the same source patient was seen before or when it carries
// a Modulus-11-valid NHS number the index already holds; otherwise it gets
// an id of its own ("unmatched"). Each entry Link adds (Linked.Row, with
// the details probabilistic linkage compares) is written to the batch as it
// is made and persisted in the same atomic commit; the Index keeps only
// fixed-size keys, so its memory is a small, constant cost per patient.
//
// Run ("pophealth link") then links the whole index: usable NHS numbers
// first (checked against the other details), Fellegi-Sunter match weights
// for the rest (Link: m by EM over blocked pairs, u from random pairs,
// term-frequency adjustments, junk values blanked), blocking by a union of
// rules, and clustering with a guard against chaining. Person ids stay
// stable across runs; merges are recorded; HL7 A40 merges and clerical
// decisions (Decide) are honoured; a pseudonymised key map lets the query
// views follow merges without rewriting the lake. Runs after the first are
// incremental, and Resident keeps a linked index in memory for processes
// that link batch after batch. Explain and ExplainSources say why a pair
// scores as it does; Evaluate and Score measure linkage against truth.
//
// Everything here except the key map is identifiable and lives in the
// lake's restricted zone (lake/mpi). docs/linkage.md describes the model.
package link
