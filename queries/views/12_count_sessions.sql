-- view: count_sessions
-- description: per counted license, its latest count time and date (rows without a time are read at this time)
SELECT license, MAX(counted_at_end) AS session_at, MAX(counted_date) AS session_date
FROM count_rows_all
GROUP BY license
