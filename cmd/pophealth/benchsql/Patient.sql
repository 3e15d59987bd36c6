-- DuckDB reference for FHIR Patient NDJSON: the members ingest reads.
COPY (
  SELECT id, identifier, gender, birthDate, deceasedDateTime,
         address[1].postalCode AS postcode,
         generalPractitioner[1].identifier.value AS practice
  FROM read_ndjson({{input}}, ignore_errors = true)
) TO {{output}} (FORMAT parquet, COMPRESSION zstd);
