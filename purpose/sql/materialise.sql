-- materialise.sql: the rules that decide what of the lake reaches a
-- purpose's data. The materialiser (purpose/materialise.go) creates these
-- tables before running this file, in a DuckDB that reads only the lake's
-- committed pseudonymised files:
--
--   person, encounter, diagnosis, observation, medication, procedure
--       the lake tables (queries.LakeViews), one row per source row
--   population(person_key, pseudonym)
--       the people the purpose may see (opted-out people already left
--       out) and each one's purpose pseudonym, computed in Go with the
--       purpose key: the key itself never enters DuckDB
--   encounter_map(encounter_key, pseudonym)
--       the purpose pseudonym of every encounter key of those people
--   excluded_code(code_system, code)
--       the codes (codelists/sensitive.csv) of every sensitive category the
--       purpose does not admit
--
-- Each table of the purpose is then written with
--   COPY (SELECT <its columns> FROM <table> t JOIN population p ...
--         WHERE NOT is_excluded(t.code_system, t.code)) TO ... (FORMAT parquet)
-- where the columns are the purpose's, generalised as it says.


-- code_keys(rec_system, rec_code): the keys a record's code matches
-- excluded_code by, as 'system:code'. ICD-10 codes match by prefix after
-- removing dots and upper-casing (F32 matches F32.1 and F321), so an ICD-10
-- code gives one key per prefix of three or more characters; other systems
-- match exactly.
CREATE MACRO code_keys(rec_system, rec_code) AS CASE
    WHEN rec_system = 'icd10' THEN list_transform(
        range(3, length(upper(replace(rec_code, '.', ''))) + 1),
        n -> 'icd10:' || left(upper(replace(rec_code, '.', '')), n))
    ELSE [rec_system || ':' || rec_code]
END;


-- is_excluded(rec_system, rec_code): the record's code belongs to a
-- sensitive category the purpose does not admit. (An uncorrelated list,
-- not a correlated EXISTS: DuckDB 1.5.5 mis-evaluates a correlated EXISTS
-- macro in a WHERE over UNION ALL.)
CREATE MACRO is_excluded(rec_system, rec_code) AS
    list_has_any(code_keys(rec_system, rec_code), (SELECT list(code_system || ':' || code) FROM excluded_code));


-- excluded_encounter: encounters with a diagnosis or procedure in an
-- excluded category. The encounter itself is left out too, so that an
-- admission does not reveal what its coding would.
CREATE TABLE excluded_encounter AS
SELECT DISTINCT person_key, encounter_key
FROM (
    SELECT person_key, encounter_key, code_system, code FROM diagnosis
    UNION ALL
    SELECT person_key, encounter_key, code_system, code FROM procedure
)
WHERE encounter_key IS NOT NULL AND is_excluded(code_system, code);


-- age_band5(year_of_birth, month_of_birth, as_of): five-year age band on
-- as_of ('0-4', ..., '85-89', '90+'), NULL when the year is unknown or the
-- person is not yet born. As in the lake's views, a person is taken to
-- have their birthday on the 1st of their birth month (January if unknown).
CREATE MACRO age_band5(yob, mob, as_of) AS (
    WITH a AS (SELECT year(as_of) - yob - CASE WHEN month(as_of) < coalesce(mob, 1) THEN 1 ELSE 0 END AS age)
    SELECT CASE
        WHEN age IS NULL OR age < 0 THEN NULL
        WHEN age >= 90 THEN '90+'
        ELSE CAST(age // 5 * 5 AS VARCHAR) || '-' || CAST(age // 5 * 5 + 4 AS VARCHAR)
    END
    FROM a
);


-- postcode_area(district): the letters of a postcode district ('LS1' ->
-- 'LS', 'EC1A' -> 'EC').
CREATE MACRO postcode_area(district) AS nullif(regexp_extract(district, '^[A-Z]+'), '');
