// Package gpcsv reads GP extract CSV files (docs/feeds/gp-extract.md) into
// pophealth's source records. Parse is its one entry point, a feed.Parser.
//
// # Files
//
// An extract comes as a patients file, whose rows become
// models.PatientRecords, and an events file, whose rows become
// models.Diagnosis (event_type problem), models.Observation (observation)
// or models.Medication (medication). The header decides which: its names
// are matched case-insensitively after trimming, in any order, and the file
// is of the kind whose required columns are all present. A header with
// neither kind's required columns makes Parse return a *HeaderError naming
// what is missing, before any row is read. Columns the kind does not use
// are ignored, each counted once in Stats.Skipped as "column:<name>".
//
// # Rows
//
// Every row after the header is read once and ends either as one record
// (Stats.Accepted) or as one models.Quarantined entry (Stats.Quarantined),
// so that Read == Accepted + Quarantined for every file. A row is
// quarantined, and the file read on, when it is malformed CSV, has a
// different number of fields from the header, leaves a required column
// empty, holds an impossible or unparseable date, a date of birth in the
// future, an unknown sex code, an event_type/code_system pair other than
// problem/snomed, observation/snomed and medication/dmd, a code that is not
// a SNOMED CT or dm+d identifier, or an observation value that is not a
// number. The reason names the column and the value, as in
// "date_of_birth: impossible date 30/02/2023"; when a row has several
// faults, the first in column order is given. Values are trimmed of
// surrounding spaces. An invalid NHS number does not quarantine a row: it
// is kept and flagged NHSInvalid, for linkage to weigh.
//
// Each record's SourceRef has the line (1-based) and byte offset in the
// file where the row starts, its first byte after any blank lines before
// it; offsets count a byte-order mark. RecordID is the row's patient_id in
// a patients file and event_id in an events file. A quarantine entry's Raw
// is the row's original bytes, cut from the input by offset rather than
// re-joined from fields, without its line ending and before any conversion
// from Windows-1252.
//
// # Encodings
//
// Files are UTF-8, with or without a byte-order mark, or Windows-1252, as
// older GP systems and spreadsheets write them. A stream cannot look ahead
// to decide the encoding of a whole file, so it is decided row by row: a
// row whose bytes are valid UTF-8 is read as UTF-8, any other as
// Windows-1252. ASCII rows, the most of any extract, read the same either
// way, so a Windows-1252 file whose first non-ASCII name comes a megabyte
// in is still read right, and one corrupt row in a UTF-8 file does not
// change how the rows after it are read. The one misreading is of
// Windows-1252 text that happens to be valid UTF-8, which takes pairs such
// as "Ã©" that no name holds. A UTF-16 file is refused with a HeaderError.
//
// # Malformed CSV and bounded memory
//
// Fields follow RFC 4180 and are split by encoding/csv; a row on one line
// whose quoting is well formed is split in place instead, with the same
// result (tested against encoding/csv, and fuzzed), at a third of the
// cost. An unbalanced
// quote makes a CSV reader take the rows after it into one quoted field, up
// to the next quote or the end of the file. So that those rows are neither
// lost inside one quarantined record nor held in memory, Parse never lets a
// record run past 64 KiB, and it cuts back any record that spans several
// lines and cannot be accepted (malformed, wrong field count, invalid
// value) or that reaches the bound: the record's first line is quarantined
// alone and reading starts again at the line after it, so the swallowed
// rows are read again as rows. A record that legitimately spans lines but
// is rejected therefore yields one quarantine entry per fragment; every
// byte still reaches quarantine. A single line longer than 64 KiB is
// quarantined with its first 64 KiB as Raw and the rest of it skipped.
//
// Parse reads its input once, through a window that holds the current
// record and a few kilobytes of read-ahead, the bytes Raw and re-reading
// are taken from; its memory does not grow with the file.
package gpcsv
