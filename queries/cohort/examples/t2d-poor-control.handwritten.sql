-- The cohort of examples/t2d-poor-control.yaml written by hand in DuckDB
-- SQL, as an analyst would without the cohort language: the reference the
-- compiled SQL is checked and benchmarked against.
WITH first_t2d AS (
    SELECT person_key, min(recorded_date) AS index_date
    FROM diagnosis
    WHERE code_system = 'snomed' AND code = '44054006'
      AND recorded_date BETWEEN DATE '2023-04-01' AND DATE '2026-03-31'
    GROUP BY person_key
), people AS (
    SELECT f.person_key, f.index_date, p.death_month,
           year(f.index_date) - p.year_of_birth
               - CASE WHEN month(f.index_date) < coalesce(p.month_of_birth, 1) THEN 1 ELSE 0 END AS age
    FROM first_t2d f
    JOIN person_at(DATE '2026-03-31') p USING (person_key)
    WHERE (p.death_month IS NULL OR p.death_month > f.index_date)
      AND p.practice_code IS NOT NULL
      AND p.registered_from <= f.index_date - 365
), other_ltc AS (
    SELECT DISTINCT x.person_key, x.index_date
    FROM people x
    JOIN diagnosis d ON d.person_key = x.person_key AND d.recorded_date <= x.index_date
    WHERE d.code_system = 'snomed'
      AND d.code IN ('38341003', '59621000', '709044004', '22298006', '414545008', '84114007')
), latest_hba1c AS (
    SELECT x.person_key, x.index_date, arg_max(o.value, {'date': o.effective_date, 'value': o.value}) AS hba1c
    FROM people x
    JOIN observation o ON o.person_key = x.person_key
    WHERE o.code_system = 'snomed' AND o.code = '999791000000106' AND o.value IS NOT NULL
      AND o.effective_date BETWEEN x.index_date - 365 AND x.index_date
    GROUP BY ALL
), t1d AS (
    SELECT DISTINCT x.person_key
    FROM people x
    JOIN diagnosis d ON d.person_key = x.person_key AND d.recorded_date <= x.index_date
    WHERE d.code_system = 'snomed' AND d.code = '46635009'
)
SELECT x.person_key, x.index_date,
       least(DATE '2026-03-31', coalesce(x.death_month, DATE '2026-03-31'), x.index_date + 365)::DATE AS exit_date
FROM people x
JOIN other_ltc USING (person_key, index_date)
JOIN latest_hba1c h USING (person_key, index_date)
WHERE x.age >= 18 AND h.hba1c > 58
  AND x.person_key NOT IN (SELECT person_key FROM t1d)
ORDER BY x.person_key
