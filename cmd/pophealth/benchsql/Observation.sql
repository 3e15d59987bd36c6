-- DuckDB reference for FHIR Observation NDJSON: the members ingest reads.
COPY (
  SELECT id, code.coding[1].system AS system, code.coding[1].code AS code,
         subject.reference AS subject, effectiveDateTime,
         valueQuantity.value AS value, valueQuantity.unit AS unit
  FROM read_ndjson({{input}}, ignore_errors = true)
) TO {{output}} (FORMAT parquet, COMPRESSION zstd);
