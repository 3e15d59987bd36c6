// Package jobs composes the pipeline's stages into the jobs operators run:
// an ingest job reads feed files (ingest/...), links their patients (link),
// pseudonymises every record (pseudonymise) and commits the rows to the lake
// (lake) as one atomic batch, with an account of every record read.
//
// Scheduling (robfig/cron), run history and locking will live here too; the
// stages themselves stay in their own packages so that each can be tested
// and benchmarked alone.
package jobs
