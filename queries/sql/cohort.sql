-- cohort.sql: people with type 2 diabetes and at least one other long-term
-- condition, by age band and sex.
--
-- Parameter $1: the as-of date.
--
-- Population: people alive and registered with a practice on $1
-- (person_at). Cohort: members of the population with a diabetes_t2
-- diagnosis and a diagnosis of any other condition in ltc_codes, both
-- recorded by $1 (ltc_at). Type 1 diabetes counts as another condition.
--
-- One row per age band and sex, zero rows included, so that a report's
-- shape never depends on the data; the 'unknown' age band appears only when
-- someone falls in it. Sex is female, male, or other/unknown together.
--
-- Columns:
--   age_band, sex
--   cohort       people in the cohort
--   registered   people in the population (the cohort's denominator)
--
-- These are exact counts: the engine suppresses them before any report
-- shows them.
WITH population AS (
    SELECT person_key,
           age_band,
           CASE WHEN sex IN ('female', 'male') THEN sex ELSE 'other/unknown' END AS sex
    FROM person_at($1::DATE)
    WHERE alive AND registered
), conditions AS (
    SELECT person_key,
           bool_or(condition = 'diabetes_t2') AS type2_diabetes,
           count(*) FILTER (WHERE condition <> 'diabetes_t2') AS other_conditions
    FROM ltc_at($1::DATE)
    GROUP BY person_key
), grid AS (
    SELECT band.label AS age_band, band.ord AS band_ord, sex.label AS sex, sex.ord AS sex_ord
    FROM (VALUES (1, '0-17'), (2, '18-39'), (3, '40-59'), (4, '60-69'), (5, '70-79'), (6, '80+'), (7, 'unknown'))
             AS band(ord, label)
    CROSS JOIN (VALUES (1, 'female'), (2, 'male'), (3, 'other/unknown')) AS sex(ord, label)
)
SELECT g.age_band,
       g.sex,
       count(p.person_key) FILTER (WHERE c.type2_diabetes AND c.other_conditions > 0) AS cohort,
       count(p.person_key) AS registered
FROM grid g
LEFT JOIN population p ON p.age_band = g.age_band AND p.sex = g.sex
LEFT JOIN conditions c ON c.person_key = p.person_key
GROUP BY g.age_band, g.band_ord, g.sex, g.sex_ord
HAVING g.age_band <> 'unknown' OR count(p.person_key) > 0
ORDER BY g.band_ord, g.sex_ord;
