// Package queries runs pophealth's analyses with DuckDB over the lake.
//
// Open builds an in-memory DuckDB database whose views read the lake's
// committed pseudonymised Parquet files (the list comes from the lake's
// manifests, so a batch being written is never half-read). It defines:
//
//   - person, encounter, diagnosis, observation, medication: one view per
//     lake table with the columns of models/lake.go, one row per source row;
//   - ltc_codes, observation_codes, medication_codes: the code lists of
//     package codelists;
//   - person_at(as_of), spell, ltc_at(as_of), age_band(age): the derived
//     views and table macros of sql/views.sql, which an analyst can read.
//
// The SQL of every report lives in sql/*.sql, embedded in the binary, each
// file headed by a comment saying what it counts and how.
//
// The database can read the files its views name and nothing else, and its
// settings are locked: no query can reach the restricted zones, write a
// file or load an extension. Query runs a single read-only statement; Each
// streams its rows.
//
// # Suppression
//
// Reports for commissioners (CohortReport, RiskRanking) hold only Cells,
// and the only way to put a count in a Cell is Suppress: 0 stays 0, 1 to 7
// becomes "*", and larger counts are rounded to the nearest 5 (NHS
// Digital's rule, defined once in package suppress). A count that a total
// row would give away is withheld too (suppress.Protect). Rates, means
// and shares are computed on exact counts and withheld when their numerator
// or denominator is 1 to 7 or withheld. The rule is not configurable. Exact counts stay
// inside the package. Reports render as text, JSON, CSV, Parquet
// (WriteParquet) and self-contained HTML (WriteHTML, Page), all from the
// same cells.
package queries
