-- risk.sql: a simple, transparent risk score, and the population ranked
-- into the tiers of the Kaiser Permanente pyramid.
--
-- Parameter $1: the as-of date.
--
-- Population: people alive and registered with a practice on $1.
--
-- Score (higher means more likely to need care soon):
--   age on $1:   0-39 -> 0, 40-59 -> 1, 60-69 -> 2, 70-79 -> 3, 80+ -> 4 points
--                (unknown age -> 0)
--   + 1 point per long-term condition recorded by $1 (ltc_at; each
--     condition once, however often coded)
--   + 2 points per emergency admission in the 12 months before $1, counting
--     at most 3 admissions: spells (see views.sql) of class inpatient with
--     admission method emergency, starting after $1 minus 12 months and on
--     or before $1. A&E attendances that did not lead to admission do not
--     count.
--
-- Tiers: people are ranked by score, highest first; ties are broken by
-- person key, which is a keyed hash and so an arbitrary but repeatable
-- order. With N people ranked, positions up to ceil(0.5% of N) form tier 1,
-- up to ceil(5% of N) tier 2, up to ceil(20% of N) tier 3 and the rest
-- tier 4: the top 0.5%, the next 4.5%, the next 15% and the remaining 80%.
--
-- One row per tier, empty tiers included. Columns:
--   tier, label
--   people                people in the tier
--   conditions            long-term conditions summed over the tier
--   emergency_admissions  emergency admissions in the 12 months, summed (uncapped)
--   aged_75_plus          people aged 75 or over on $1
--   min_score, max_score  the score range of the tier (NULL when empty)
--
-- These are exact counts: the engine suppresses them before any report
-- shows them. No person key leaves this query.
WITH population AS (
    SELECT person_key, age
    FROM person_at($1::DATE)
    WHERE alive AND registered
), conditions AS (
    SELECT person_key, count(*) AS conditions
    FROM ltc_at($1::DATE)
    GROUP BY person_key
), admissions AS (
    SELECT person_key, count(*) AS emergency_admissions
    FROM spell
    WHERE class = 'inpatient'
      AND admission_method = 'emergency'
      AND start_date > $1::DATE - INTERVAL 12 MONTH
      AND start_date <= $1::DATE
    GROUP BY person_key
), scored AS (
    SELECT p.person_key,
           p.age,
           coalesce(c.conditions, 0) AS conditions,
           coalesce(a.emergency_admissions, 0) AS emergency_admissions,
           CASE
               WHEN p.age >= 80 THEN 4
               WHEN p.age >= 70 THEN 3
               WHEN p.age >= 60 THEN 2
               WHEN p.age >= 40 THEN 1
               ELSE 0
           END
           + coalesce(c.conditions, 0)
           + 2 * least(coalesce(a.emergency_admissions, 0), 3) AS score
    FROM population p
    LEFT JOIN conditions c USING (person_key)
    LEFT JOIN admissions a USING (person_key)
), ranked AS (
    SELECT *,
           row_number() OVER (ORDER BY score DESC, person_key) AS position,
           count(*) OVER () AS ranked_people
    FROM scored
), tiered AS (
    SELECT *,
           CASE
               WHEN position <= ceil(ranked_people * 0.005) THEN 1
               WHEN position <= ceil(ranked_people * 0.05) THEN 2
               WHEN position <= ceil(ranked_people * 0.20) THEN 3
               ELSE 4
           END AS tier
    FROM ranked
), tiers AS (
    SELECT *
    FROM (VALUES (1, 'Very high (top 0.5%)'),
                 (2, 'High (next 4.5%)'),
                 (3, 'Moderate (next 15%)'),
                 (4, 'Low (remaining 80%)')) AS t(tier, label)
)
SELECT t.tier,
       t.label,
       count(x.person_key) AS people,
       coalesce(sum(x.conditions), 0)::BIGINT AS conditions,
       coalesce(sum(x.emergency_admissions), 0)::BIGINT AS emergency_admissions,
       count(x.person_key) FILTER (WHERE x.age >= 75) AS aged_75_plus,
       min(x.score) AS min_score,
       max(x.score) AS max_score
FROM tiers t
LEFT JOIN tiered x USING (tier)
GROUP BY t.tier, t.label
ORDER BY t.tier;
