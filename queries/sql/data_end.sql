-- data_end.sql: the latest date any clinical record in the lake carries,
-- which reports use as their as-of date when none is given.
--
-- Dates later than the day the newest batch was committed are ignored:
-- a feed cannot report what has not happened yet, so such a date is a
-- planned event (a booked admission) or an error (a mistyped year), and
-- either would leave the most recent real activity outside the report.
--
-- One row, one column: the date, or NULL when the lake holds no dated
-- records.
WITH cap AS (
    SELECT max(committed_at)::DATE AS day FROM lake_batch
), dates AS (
    SELECT start_date AS d FROM encounter
    UNION ALL SELECT end_date FROM encounter
    UNION ALL SELECT recorded_date FROM diagnosis
    UNION ALL SELECT effective_date FROM observation
    UNION ALL SELECT authored_date FROM medication
)
SELECT max(d) FROM dates, cap WHERE d <= cap.day;
