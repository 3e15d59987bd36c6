// Package link maintains the master person index (MPI): the mapping from
// each source's patients to linked person ids.
//
// This version links deterministically. A record joins an existing person
// when the same source patient was seen before (its id is stable across
// runs) or when it carries a Modulus-11-valid NHS number that the index
// already holds. A record with a missing or invalid NHS number never links
// on that number: it becomes a singleton person marked "unmatched", for the
// probabilistic linkage that will follow.
//
// The index is identifiable and lives in the lake's restricted zone
// (lake/mpi); the ingest job persists the entries Index.Pending returns in
// the same atomic batch as the pseudonymised rows they key.
package link
