// Package purpose is pophealth's information governance: what may be done
// with the lake's data, by whom, on what legal basis, and the proof that an
// IG lead approved exactly that.
//
// # Configs
//
// A purpose is a YAML file (Config; examples in purpose/examples, reference
// in docs/purposes.md) naming its controller, UK GDPR Article 6 and 9 bases,
// category, the lake tables and exact columns it may see, the sensitive
// categories it admits, how quasi-identifiers are generalised, its output
// rules and the people who may use it. Parse validates it against the lake
// schema in models and reports every problem with the file and line.
//
// # Approval
//
// The ledger (Ledger, in the workspace, itself hash-chained like the audit
// log) records approvals and revocations. An approval binds the SHA-256 of
// the config file's exact bytes, optionally signed with the IG lead's
// Ed25519 key. Authorise is the one gate every run passes: it refuses a
// purpose that is unapproved, whose file changed since approval, that was
// revoked, has expired or is not yet valid, whose approval signature does
// not verify, or that the user may not use, and says which.
//
// # Purpose data
//
// Materialise writes lake/purposes/<id>/<table>/part-0.parquet: only the
// purpose's tables and columns, without records in sensitive categories it
// does not admit, without people who opted out (national data opt-out and
// Type 1, except for direct care), quasi-identifiers generalised, and
// person and encounter keys replaced by per-purpose pseudonyms
// (HMAC-SHA-256 under the purpose's own key), so that two purposes' data
// cannot be joined. The key is used in Go only: it never enters DuckDB,
// Parquet, the audit log, logs or errors.
package purpose
