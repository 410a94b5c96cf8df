-- view: duty_as_of
-- materialize: yes
-- description: per license with a known count, the moment its reconciliation is judged at: --as-of, else its latest recorded activity in the export (history entry, sale, transfer receipt, adjustment)
WITH counted AS (
  SELECT DISTINCT license FROM known_counts
),
latest AS (
  SELECT license, MAX(t) AS latest_activity
  FROM (
    SELECT e.license, e.recorded_at AS t FROM events e
    WHERE e.license IN (SELECT license FROM counted)
    UNION ALL
    SELECT a.license, a.adjusted_at AS t FROM adjustments a
    WHERE a.license IN (SELECT license FROM counted)
  ) AS r
  GROUP BY license
)
SELECT c.license, COALESCE(s.as_of, l.latest_activity) AS as_of
FROM counted c
CROSS JOIN duty_settings s
LEFT JOIN latest l ON l.license = c.license
