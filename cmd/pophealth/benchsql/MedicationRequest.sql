-- DuckDB reference for FHIR MedicationRequest NDJSON: the members ingest reads.
COPY (
  SELECT id, medicationCodeableConcept.coding[1].system AS system,
         medicationCodeableConcept.coding[1].code AS code,
         subject.reference AS subject, authoredOn
  FROM read_ndjson({{input}}, ignore_errors = true)
) TO {{output}} (FORMAT parquet, COMPRESSION zstd);
