-- DuckDB reference for FHIR Encounter NDJSON: the members ingest reads.
COPY (
  SELECT id, class.code AS class, subject.reference AS subject,
         period.start AS period_start, period."end" AS period_end
  FROM read_ndjson({{input}}, ignore_errors = true)
) TO {{output}} (FORMAT parquet, COMPRESSION zstd);
