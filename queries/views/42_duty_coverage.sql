-- view: duty_coverage
-- materialize: yes
-- description: per license of the export, what the reconciliation duties could be judged on: its latest known count and as-of time, whether the users list names it, whether outages were given, its outages and the late entries they excused
WITH ranked AS (
  SELECT license, counted_at, counted_date,
         ROW_NUMBER() OVER (PARTITION BY license ORDER BY counted_date DESC) AS n
  FROM known_counts
),
listed AS (
  SELECT DISTINCT license FROM users
),
outage_rows AS (
  SELECT license, CAST(COUNT(*) AS BIGINT) AS outages FROM outages GROUP BY license
),
excused AS (
  SELECT license, CAST(COUNT(*) AS BIGINT) AS outage_excused
  FROM outage_activities WHERE excused GROUP BY license
)
SELECT l.license, k.counted_at, k.counted_date, a.as_of,
       CASE WHEN k.license IS NULL THEN 'not_checked' ELSE 'checked' END AS overdue_status,
       CASE WHEN u.license IS NULL THEN 'not_checked' ELSE 'checked' END AS users_status,
       CASE WHEN s.outages_given THEN 'checked' ELSE 'not_checked' END AS outages_status,
       COALESCE(o.outages, CAST(0 AS BIGINT)) AS outages,
       COALESCE(x.outage_excused, CAST(0 AS BIGINT)) AS outage_excused
FROM licenses l
CROSS JOIN duty_settings s
LEFT JOIN (SELECT license, counted_at, counted_date FROM ranked WHERE n = 1) k
  ON k.license = l.license
LEFT JOIN duty_as_of a ON a.license = l.license
LEFT JOIN listed u ON u.license = l.license
LEFT JOIN outage_rows o ON o.license = l.license
LEFT JOIN excused x ON x.license = l.license
