// Package jobs composes the pipeline's stages into the jobs operators run,
// and runs them unattended.
//
// The ingest job (Ingest) reads feed files (ingest/...), links their
// patients (link), pseudonymises every record (pseudonymise) and commits
// the rows to the lake (lake) as one atomic batch, with an account of every
// record read.
//
// Job specs (Spec, read from WORKSPACE/jobs/*.yaml by LoadDir) say what to
// run (a Kind from a Registry, with its params), when (a Schedule in a
// time zone, and/or after other jobs) and how hard to try (timeout,
// retries, backoff). A Runner runs one job once, holding the job's flock
// across processes and recording the run in the workspace's History; a
// Scheduler starts runs on their schedules and after their dependencies,
// catches up missed times once, and lets the run in progress finish within
// a grace period on shutdown. Metrics exposes all of it to Prometheus.
// docs/jobs.md is the operator's reference.
//
// The stages themselves stay in their own packages so that each can be
// tested and benchmarked alone.
package jobs
