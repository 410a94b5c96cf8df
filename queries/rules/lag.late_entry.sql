-- id: lag.late_entry
-- severity: medium
-- family: lag
-- citation: §15049(b)
-- description: an activity (history entry, sale, transfer receipt) recorded more than 24 h after it occurred (high beyond 72 h)
-- tables: activities, settings, outage_activities
-- An activity that occurred during a documented loss of access and was recorded within the
-- grace after restoration is not late (§15050(c)(1)); `outage_activities` is empty
-- without --outages.
WITH excused AS (
  SELECT license, kind, source_file, record, label_key, reference_key
  FROM outage_activities
  WHERE excused
),
late AS (
  SELECT l.*, COALESCE(l.label, '') AS label_key, COALESCE(l.reference, '') AS reference_key
  FROM activities l
)
SELECT a.license, a.label AS package_label, a.reference,
       a.occurred_at_end AS occurred_at, a.recorded_at, a.lag_hours,
       CASE WHEN a.lag_hours > s.high_hours THEN 'high' ELSE 'medium' END AS severity,
       REPLACE(a.kind, '_', ' ') || ' recorded ' || CAST(ROUND(a.lag_hours, 1) AS STRING) ||
       ' h after it occurred (limit ' || CAST(s.late_hours AS STRING) || ' h)' AS detail,
       a.source_file, a.record
FROM late a CROSS JOIN settings s
WHERE a.lag_hours > s.late_hours
  AND NOT EXISTS (
    SELECT 1 FROM excused x
    WHERE x.license = a.license AND x.source_file = a.source_file AND x.record = a.record
      AND x.kind = a.kind AND x.label_key = a.label_key AND x.reference_key = a.reference_key
  )
