-- DuckDB reference for a GP extract CSV: every column is a field ingest reads.
-- ignore_errors: synthetic feeds hold deliberately malformed lines, which
-- ingest quarantines and DuckDB would reject.
COPY (SELECT * FROM read_csv({{input}}, ignore_errors = true))
TO {{output}} (FORMAT parquet, COMPRESSION zstd);
