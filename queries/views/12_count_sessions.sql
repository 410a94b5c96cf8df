-- view: count_sessions
-- description: per license whose counts are judged, its latest count time and date (rows without a time are read at this time)
SELECT r.license, MAX(r.counted_at_end) AS session_at, MAX(r.counted_date) AS session_date
FROM count_rows_all r
WHERE EXISTS (
  SELECT 1 FROM count_coverage c WHERE c.license = r.license AND c.count_lacks IS NULL
)
GROUP BY r.license
