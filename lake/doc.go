// Package lake stores pophealth's data as Parquet files under one root
// directory and makes each batch of files visible all at once or not at all.
//
// # Layout
//
//	manifest/<batch>.json                       one per committed batch: the commit record
//	pseudo/<table>/source=<feed>/year=YYYY/month=MM/part-<batch>.parquet
//	pseudo/person/source=<feed>/part-<batch>.parquet   (no date partition)
//	mpi/<name>/part-<batch>.parquet            restricted zone: identifiable
//	mpi/cache/                                 restricted zone: package link's index cache, outside batches
//	mpi/spill.tmp-<batch>                      restricted zone: a batch's spilled rows, until it commits
//	quarantine/part-<batch>.parquet            restricted zone: identifiable
//
// A batch usually writes one file per directory; a large batch may go on
// in part-<batch>.1.parquet, part-<batch>.2.parquet, ... (see Append).
// A batch writing more directories than it keeps files open for (64: a
// GP extract spanning decades has a monthly partition for each month)
// spills the rows of the later ones to mpi/spill.tmp-<batch> and writes
// their files at Commit, one at a time, so memory does not grow with the
// number of partitions; the spill needs disk space about the size of the
// spilled rows, uncompressed, while the batch runs.
// Readers take the file list from the manifests.
//
// PseudoDir builds the pseudonymised partition paths. Rows without a date
// go to year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__,
// the name Hive-style tools read as NULL. Files in the restricted zones are
// created readable by their owner only.
//
// # Batches and the commit point
//
// A writer calls Lake.Begin, then Append any number of times, then
// Batch.Commit (or Batch.Abort). Append writes each directory's rows to a
// file named <final>.tmp-<batch>, which no reader looks for. Commit then
//
//  1. finishes and fsyncs every data file and the directories holding them;
//  2. writes manifest/<batch>.json.tmp, fsyncs it and renames it to
//     manifest/<batch>.json, then fsyncs the manifest directory: this
//     rename is the commit point;
//  3. renames each data file to its final name and fsyncs the directories.
//
// A crash before the commit point leaves temporary files and no manifest:
// Recover deletes them (roll back). A crash after it leaves a manifest whose
// files may still carry temporary names: Recover renames them (roll
// forward). Open runs Recover, so after a crash the lake shows either the
// whole batch or nothing of it.
//
// Readers never list directories: Files answers from the manifests and
// leaves out a batch whose renames are still under way, so a query sees a
// batch whole or not at all even while a writer is committing it.
//
// # One writer at a time
//
// Begin takes an exclusive flock(2) on <root>/.lock, held until Commit or
// Abort returns; a second Begin, from this or another process, fails with
// ErrLocked rather than waiting. Recover takes the same lock, and Open skips
// recovery while another writer holds it (that writer recovered the lake in
// its own Begin). Reading (Files, Manifests, Ingested) needs no lock, and a
// Lake is safe for concurrent use by several goroutines; a Batch is not.
//
// # Manifests
//
// A manifest records the batch's input files (path, SHA-256, size, record
// counts) and the data files it wrote (path, rows, bytes, SHA-256), which
// lets Ingested answer "was this feed file loaded already?" and Verify
// detect a damaged file. Manifests hold file paths, hashes and counts only,
// never record contents, so they can be shown to operators who may not see
// the restricted zones.
package lake
