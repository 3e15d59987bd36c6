// Package sandbox runs analysts' SQL against one purpose's materialised
// Parquet files and nothing else.
//
// A Session is an in-memory DuckDB database with one view per table
// directory of the purpose folder (Dir/<table>/**/*.parquet). The views
// name the exact files found when the session opened, after every path was
// resolved and checked to lie inside the folder, so a symlink or hard link
// planted there cannot widen what is read.
//
// Two independent layers keep a query inside the purpose:
//
//   - DuckDB's own sandbox: external access disabled, only the view files
//     readable (allowed_paths, never a directory: a directory lets COPY write
//     into it), no extension installed or loaded, no spilling to disk,
//     remote file systems disabled and the configuration locked.
//   - A statement check in front of DuckDB: DuckDB's parser
//     (json_serialize_sql) and its prepared-statement type decide what a
//     query is, never a regular expression. A query must be exactly one
//     SELECT-like statement whose every table reference is a purpose view or
//     a common table expression in scope, whose table functions are only
//     range, generate_series and unnest, and which calls no function that
//     reveals settings, the environment, the catalog or file paths.
//
// Anything else is refused with a *RefusedError before DuckDB runs it.
// Results are cut at Config.MaxRows (Result.Truncated) and each query is
// interrupted after Config.Timeout. docs/sandbox.md lists the escape
// attempts the tests make and their outcomes.
package sandbox
