-- features.sql: what the emergency-admission risk model knows about each
-- person on an index date, and whether they were admitted as an emergency
-- in the 12 months after it.
--
-- Parameter $1: the index date.
--
-- Population: people alive and registered with a practice on $1
-- (person_at in views.sql).
--
-- One row per person. Columns:
--   person_key       the pseudonymous key (for ranking ties and run output;
--                    never printed in a report)
--   age              whole years on $1 (NULL when the year of birth is unknown)
--   sex              female, male, other or unknown
--   deprivation      IMD decile of the person's area, 1 most deprived to 10
--                    least (NULL when the lake has none; docs/deprivation.md)
--   icd10            distinct ICD-10 codes recorded on or before $1, dots
--                    removed and upper-cased: scored for Charlson in Go
--                    (package risk) so SQL and CLI share one scorer
--   snomed           distinct SNOMED CT diagnosis codes recorded on or
--                    before $1: scored for the eFI in Go
--   measurements     the latest value of each coded observation on or
--                    before $1, as a list of {code, value}: eFI value rules
--   medicines        distinct medication codes prescribed in the 12 months
--                    up to $1 (polypharmacy)
--   emergency_prior  emergency admissions starting in the 12 months up to $1:
--                    spells (views.sql) of class inpatient with admission
--                    method emergency, counted once per start date so an
--                    admission sent by two feeds counts once
--   ae_prior         A&E attendances in the 12 months up to $1: spells of
--                    class emergency, once per start date
--   outcome          true when an emergency admission starts in the 12
--                    months after $1 (meaningful only when the lake covers
--                    that period; risk fit checks it does)
--
-- Undated diagnoses count as recorded before $1; undated observations,
-- prescriptions and spells are ignored (their window cannot be known).
WITH population AS (
    SELECT person_key, age, sex, deprivation_decile
    FROM person_at($1::DATE)
    WHERE alive AND registered
), dx AS (
    SELECT person_key,
           list(DISTINCT upper(replace(code, '.', ''))) FILTER (WHERE code_system = 'icd10') AS icd10,
           list(DISTINCT code) FILTER (WHERE code_system = 'snomed') AS snomed
    FROM diagnosis
    WHERE recorded_date IS NULL OR recorded_date <= $1::DATE
    GROUP BY person_key
), latest_obs AS (
    SELECT person_key, code, arg_max(value, {'date': effective_date, 'value': value}) AS value
    FROM observation
    WHERE value IS NOT NULL AND effective_date <= $1::DATE
    GROUP BY person_key, code
), obs AS (
    SELECT person_key, list({'code': code, 'value': value}) AS measurements
    FROM latest_obs
    GROUP BY person_key
), meds AS (
    SELECT person_key, count(DISTINCT code) AS medicines
    FROM medication
    WHERE authored_date > $1::DATE - INTERVAL 12 MONTH AND authored_date <= $1::DATE
    GROUP BY person_key
), spells AS (
    SELECT person_key,
           count(DISTINCT start_date) FILTER (
               WHERE class = 'inpatient' AND admission_method = 'emergency'
                 AND start_date > $1::DATE - INTERVAL 12 MONTH AND start_date <= $1::DATE
           ) AS emergency_prior,
           count(DISTINCT start_date) FILTER (
               WHERE class = 'emergency'
                 AND start_date > $1::DATE - INTERVAL 12 MONTH AND start_date <= $1::DATE
           ) AS ae_prior,
           bool_or(class = 'inpatient' AND admission_method = 'emergency'
                   AND start_date > $1::DATE AND start_date <= $1::DATE + INTERVAL 12 MONTH) AS outcome
    FROM spell
    WHERE start_date IS NOT NULL
    GROUP BY person_key
)
SELECT p.person_key,
       p.age,
       p.sex,
       p.deprivation_decile AS deprivation,
       coalesce(d.icd10, []) AS icd10,
       coalesce(d.snomed, []) AS snomed,
       coalesce(o.measurements, []) AS measurements,
       coalesce(m.medicines, 0) AS medicines,
       coalesce(s.emergency_prior, 0) AS emergency_prior,
       coalesce(s.ae_prior, 0) AS ae_prior,
       coalesce(s.outcome, false) AS outcome
FROM population p
LEFT JOIN dx d USING (person_key)
LEFT JOIN obs o USING (person_key)
LEFT JOIN meds m USING (person_key)
LEFT JOIN spells s USING (person_key)
ORDER BY p.person_key
