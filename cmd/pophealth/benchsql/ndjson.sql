-- DuckDB reference for NDJSON of another resource type (or mixed): all members.
COPY (SELECT * FROM read_ndjson({{input}}, ignore_errors = true))
TO {{output}} (FORMAT parquet, COMPRESSION zstd);
