-- views.sql: the building blocks every pophealth query uses.
--
-- The engine creates these before running this file:
--
--   person, encounter, diagnosis, observation, medication
--       One view per lake table: one row per source row, columns exactly as
--       in models/lake.go. Only committed batches are read.
--   lake_batch(batch_id, committed_at)
--       One row per committed batch, from the lake's manifests; it orders
--       rows by recency.
--   ltc_codes(condition, code_system, code, term)
--   observation_codes(measure, code_system, code, unit, term)
--   medication_codes(condition, code_system, code, term)
--       The code lists in codelists/*.csv.
--
-- This file adds:
--
--   age_band(age)      the report age bands
--   person_at(as_of)   one row per person as known on as_of
--   spell              hospital spells folded from encounter events
--   ltc_at(as_of)      one row per person and long-term condition recorded by as_of
--
-- Dates: the lake keeps month of birth, not the day, and the month of death.
-- A person is taken to have their birthday on the 1st of their birth month
-- (January when the month is unknown), and to have died on the 1st of their
-- death month.


-- age_band(age): the bands reports group ages into. NULL or negative ages
-- (unknown year of birth) give 'unknown'. Report SQL lists the same bands in
-- the same order; a test checks the two agree.
CREATE MACRO age_band(age) AS CASE
    WHEN age IS NULL OR age < 0 THEN 'unknown'
    WHEN age < 18 THEN '0-17'
    WHEN age < 40 THEN '18-39'
    WHEN age < 60 THEN '40-59'
    WHEN age < 70 THEN '60-69'
    WHEN age < 80 THEN '70-79'
    ELSE '80+'
END;


-- person_at(as_of): one row per person_key, combining that person's source
-- rows (several feeds, several batches) as follows:
--
--   * demographics (year/month of birth, sex, postcode district, NHS number
--     status) come from the most recent row that has them: rows of later
--     batches win; within a batch a GP row wins;
--   * practice and registration dates (from, to) come from the most recent
--     GP row with a practice, else from the most recent row of any feed
--     with one;
--   * deprivation_decile (IMD, 1 most deprived) comes from the most recent
--     row that has one (only GP rows carry an LSOA to derive it from);
--   * death_month is the earliest reported by any feed (a death recorded by
--     the hospital counts even if the GP extract has not caught up).
--
-- Derived columns:
--   age         whole years on as_of (see the birthday rule above)
--   age_band    age_band(age)
--   alive       born on or before as_of and not dead by as_of
--   registered  has a practice, registered on or before as_of (or date
--               unknown) and not deregistered by as_of
--   sources     the feeds that describe the person
CREATE MACRO person_at(as_of) AS TABLE
WITH ranked AS (
    SELECT p.*,
           row_number() OVER (
               PARTITION BY p.person_key
               ORDER BY b.committed_at NULLS FIRST, p.batch_id, p.source = 'gp', p.source,
                        p.year_of_birth, p.month_of_birth, p.sex, p.postcode_district,
                        p.practice_code, p.registered_from, p.registered_to, p.deprivation_decile,
                        p.death_month, p.nhs_number_status
           ) AS recency
    FROM person p
    LEFT JOIN lake_batch b USING (batch_id)
), folded AS (
    SELECT person_key,
           arg_max({'year': year_of_birth, 'month': month_of_birth}, recency)
               FILTER (WHERE year_of_birth IS NOT NULL) AS birth,
           coalesce(arg_max(sex, recency) FILTER (WHERE sex IN ('female', 'male', 'other')), 'unknown') AS sex,
           arg_max(postcode_district, recency) FILTER (WHERE postcode_district IS NOT NULL) AS postcode_district,
           coalesce(
               arg_max({'practice': practice_code, 'since': registered_from, 'until': registered_to}, recency)
                   FILTER (WHERE source = 'gp' AND practice_code IS NOT NULL),
               arg_max({'practice': practice_code, 'since': registered_from, 'until': registered_to}, recency)
                   FILTER (WHERE practice_code IS NOT NULL)
           ) AS registration,
           arg_max(deprivation_decile, recency) FILTER (WHERE deprivation_decile IS NOT NULL) AS deprivation_decile,
           min(death_month) AS death_month,
           arg_max(nhs_number_status, recency) AS nhs_number_status,
           list_sort(list_distinct(list(source))) AS sources
    FROM ranked
    GROUP BY person_key
), aged AS (
    SELECT *,
           year(as_of) - birth.year
               - CASE WHEN month(as_of) < coalesce(birth.month, 1) THEN 1 ELSE 0 END AS age
    FROM folded
)
SELECT person_key,
       birth.year AS year_of_birth,
       birth.month AS month_of_birth,
       age,
       age_band(age) AS age_band,
       sex,
       postcode_district,
       registration.practice AS practice_code,
       registration.since AS registered_from,
       registration.until AS registered_to,
       deprivation_decile,
       death_month,
       coalesce(age >= 0, true) AND (death_month IS NULL OR death_month > as_of) AS alive,
       registration.practice IS NOT NULL
           AND (registration.since IS NULL OR registration.since <= as_of)
           AND (registration.until IS NULL OR registration.until > as_of) AS registered,
       nhs_number_status,
       sources
FROM aged;


-- spell: one row per hospital spell or other encounter, folding the events a
-- feed sent about it (HL7 v2 sends admit, transfer, update, discharge and
-- cancellation events; FHIR sends the encounter's current state, once per
-- version). Events fold by (source, person_key, encounter_key), in arrival
-- order (encounter.seq), because a cancellation undoes what came before it:
--
--   * an HL7 A11 (cancel admit), or a FHIR version cancelled or entered in
--     error, undoes every event before it: an admission sent again
--     afterwards (A01 after A11) starts the spell afresh;
--   * an A13 (cancel discharge) reopens the spell until a later A03;
--   * an A12 (cancel transfer) changes nothing here.
--
--   start_date        earliest start of a live, non-cancelled event
--   end_date          end given by the last discharge (A03), or NULL (still
--                     open) when an A13 came after it; for sources without
--                     A03, the latest end of a live event
--   class             the most acute class any live event gave:
--                     inpatient > emergency > outpatient > community > other
--   admission_method  as given by the admitting event (A01, A04, A05), else
--                     by any live event; NULL when none says
--   events            every event received for the spell, cancellations
--                     and undone events included
--
-- A spell with no live, non-cancelled event is dropped.
CREATE VIEW spell AS
WITH numbered AS (
    SELECT *,
           row_number() OVER (PARTITION BY source, person_key, encounter_key ORDER BY seq, batch_id) AS n,
           cancelled AND coalesce(event, '') NOT IN ('A12', 'A13') AS undoes_spell
    FROM encounter
), marked AS (
    SELECT *,
           coalesce(max(CASE WHEN undoes_spell THEN n END) OVER spell_events, 0) AS last_undo,
           count(*) OVER spell_events AS received
    FROM numbered
    WINDOW spell_events AS (PARTITION BY source, person_key, encounter_key)
), live AS (
    SELECT * FROM marked WHERE n > last_undo
)
SELECT source,
       person_key,
       encounter_key,
       min(start_date) FILTER (WHERE NOT cancelled) AS start_date,
       CASE
           WHEN coalesce(max(n) FILTER (WHERE event = 'A13'), 0) > coalesce(max(n) FILTER (WHERE event = 'A03'), 0)
               THEN NULL
           WHEN count(*) FILTER (WHERE event = 'A03') > 0
               THEN arg_max(end_date, n) FILTER (WHERE event = 'A03')
           ELSE max(end_date) FILTER (WHERE NOT cancelled)
       END AS end_date,
       arg_max(class, CASE class
                          WHEN 'inpatient' THEN 5
                          WHEN 'emergency' THEN 4
                          WHEN 'outpatient' THEN 3
                          WHEN 'community' THEN 2
                          ELSE 1
                      END) FILTER (WHERE NOT cancelled) AS class,
       coalesce(
           max(admission_method) FILTER (WHERE NOT cancelled AND event IN ('A01', 'A04', 'A05')),
           max(admission_method) FILTER (WHERE NOT cancelled)
       ) AS admission_method,
       any_value(received) AS events
FROM live
GROUP BY source, person_key, encounter_key
HAVING count(*) FILTER (WHERE NOT cancelled) > 0;


-- ltc_at(as_of): one row per person and long-term condition (ltc_codes)
-- with a diagnosis recorded on or before as_of. Diagnoses without a date
-- count as recorded before as_of: a coded problem with no date is still a
-- condition the person has.
--
-- SNOMED CT codes match ltc_codes exactly. ICD-10 codes match by prefix, so
-- the list's E11 matches E11, E119 and E11.9: each diagnosis code is tried
-- with every prefix of three or more characters, after removing dots and
-- upper-casing.
--
--   first_recorded  earliest dated diagnosis of the condition (NULL if none dated)
CREATE MACRO ltc_at(as_of) AS TABLE
WITH dx AS (
    SELECT person_key,
           code_system,
           CASE WHEN code_system = 'icd10' THEN upper(replace(code, '.', '')) ELSE code END AS code,
           recorded_date
    FROM diagnosis
    WHERE recorded_date IS NULL OR recorded_date <= as_of
), candidates AS (
    SELECT person_key, code_system, code AS match_code, recorded_date
    FROM dx
    WHERE code_system <> 'icd10'
    UNION ALL
    SELECT person_key, code_system,
           unnest(list_transform(range(3, length(code) + 1), n -> left(code, n))) AS match_code,
           recorded_date
    FROM dx
    WHERE code_system = 'icd10'
)
SELECT c.person_key,
       l.condition,
       min(c.recorded_date) AS first_recorded
FROM candidates c
JOIN ltc_codes l ON l.code_system = c.code_system AND l.code = c.match_code
GROUP BY c.person_key, l.condition;
