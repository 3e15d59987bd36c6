-- DuckDB reference for FHIR Condition NDJSON: the members ingest reads.
COPY (
  SELECT id, code.coding[1].system AS system, code.coding[1].code AS code,
         subject.reference AS subject, onsetDateTime, recordedDate
  FROM read_ndjson({{input}}, ignore_errors = true)
) TO {{output}} (FORMAT parquet, COMPRESSION zstd);
