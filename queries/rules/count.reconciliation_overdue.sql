-- id: count.reconciliation_overdue
-- severity: high
-- family: count
-- citation: §15051(a)
-- description: a license's latest known count is more than 30 calendar days before its as-of time, or two consecutive known counts are more than 30 calendar days apart (one finding per gap)
-- tables: known_counts, duty_as_of
-- Calendar days are local dates: a later moment after `due_end` (the end of the 30th local
-- day after a count's date) is more than 30 calendar days later. A license without a known
-- count has no row here (not checked, never overdue by guess).
WITH ranked AS (
  SELECT license, counted_date, counted_at, day, due_end, source_file, record,
         ROW_NUMBER() OVER (PARTITION BY license ORDER BY counted_date) AS n
  FROM known_counts
),
following AS (
  SELECT license, counted_date, counted_at, day, source_file, record, n - 1 AS previous_n
  FROM ranked
),
latest AS (
  SELECT license, MAX(n) AS n FROM ranked GROUP BY license
)
SELECT r.license,
       CAST(r.counted_date AS STRING) || ' to ' || CAST(f.counted_date AS STRING) AS reference,
       r.counted_at AS occurred_at, f.counted_at AS recorded_at,
       'the count of ' || CAST(r.counted_date AS STRING) || ' was followed by the next known count only on ' ||
       CAST(f.counted_date AS STRING) || ', ' || CAST(f.day - r.day AS STRING) ||
       ' calendar days later (at most 30)' AS detail,
       f.source_file, f.record
FROM ranked r
JOIN following f ON f.license = r.license AND f.previous_n = r.n
WHERE f.counted_at > r.due_end
UNION ALL
SELECT r.license,
       'since ' || CAST(r.counted_date AS STRING) AS reference,
       r.counted_at AS occurred_at, a.as_of AS recorded_at,
       'the latest known count, of ' || CAST(r.counted_date AS STRING) ||
       ', is more than 30 calendar days before the as-of time (the latest recorded activity, or --as-of)' AS detail,
       r.source_file, r.record
FROM ranked r
JOIN latest l ON l.license = r.license AND l.n = r.n
JOIN duty_as_of a ON a.license = r.license
WHERE a.as_of > r.due_end
