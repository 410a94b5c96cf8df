-- id: record.unauthorized_user
-- severity: high
-- family: record
-- citation: §15051(a)(2)
-- description: with --users: activities recorded under a user name not authorised for the license at the time (history UserName, adjustment AdjustedByUserName); one finding per license and user
-- tables: history, adjustments, users
-- Names match case- and space-insensitively (the users table holds the same key). Only a
-- provable violation: an activity whose time could fall inside an authorised period (a
-- date-only time is its whole local day) is authorised. Licenses absent from the list are
-- not checked (they are not in `users`).
WITH acts AS (
  SELECT h.license, h.user_name, LOWER(REPLACE(h.user_name, ' ', '')) AS user_key,
         h.recorded_at AS t, h.recorded_at_end AS t_end, h.source_file, h.record
  FROM history h
  WHERE h.user_name IS NOT NULL AND TRIM(h.user_name) <> '' AND h.recorded_at IS NOT NULL
    AND h.license IN (SELECT license FROM users)
  UNION ALL
  SELECT a.license, a.adjusted_by AS user_name, LOWER(REPLACE(a.adjusted_by, ' ', '')) AS user_key,
         a.adjusted_at AS t, a.adjusted_at_end AS t_end, a.source_file, a.record
  FROM adjustments a
  WHERE a.adjusted_by IS NOT NULL AND TRIM(a.adjusted_by) <> '' AND a.adjusted_at IS NOT NULL
    AND a.license IN (SELECT license FROM users)
),
covered AS (
  SELECT x.license, x.source_file, x.record
  FROM acts x
  JOIN users u ON u.license = x.license AND u.user_key = x.user_key
  WHERE (u.authorized_from IS NULL OR u.authorized_from <= x.t_end)
    AND (u.authorized_to_end IS NULL OR x.t <= u.authorized_to_end)
),
bad AS (
  SELECT x.license, x.user_name, x.user_key, x.t, x.source_file, x.record
  FROM acts x
  WHERE NOT EXISTS (
    SELECT 1 FROM covered c
    WHERE c.license = x.license AND c.source_file = x.source_file AND c.record = x.record
  )
),
ranked AS (
  SELECT license, user_name, user_key, t, source_file, record,
         ROW_NUMBER() OVER (PARTITION BY license, user_key ORDER BY t, source_file, record) AS first_rank
  FROM bad
),
per_user AS (
  SELECT license, user_key, COUNT(*) AS n, MAX(t) AS last_t FROM bad GROUP BY license, user_key
),
listed AS (
  SELECT DISTINCT license, user_key FROM users
)
SELECT r.license, r.user_name AS reference, r.t AS occurred_at, p.last_t AS recorded_at,
       CAST(p.n AS STRING) || CASE WHEN p.n = 1 THEN ' activity' ELSE ' activities' END ||
       ' recorded under user `' || r.user_name || '`, ' ||
       CASE WHEN s.user_key IS NULL THEN 'who is not on the license''s list of authorised users'
            ELSE 'outside the periods the list authorises them for' END ||
       ' (first at occurred_at, last at recorded_at)' AS detail,
       r.source_file, r.record
FROM ranked r
JOIN per_user p ON p.license = r.license AND p.user_key = r.user_key
LEFT JOIN listed s ON s.license = r.license AND s.user_key = r.user_key
WHERE r.first_rank = 1
