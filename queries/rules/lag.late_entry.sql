-- id: lag.late_entry
-- severity: medium
-- family: lag
-- citation: §15049(b)
-- description: an activity (history entry, sale, transfer receipt) recorded more than 24 h after it occurred (high beyond 72 h)
-- tables: activities, settings
SELECT a.license, a.label AS package_label, a.reference,
       a.occurred_at_end AS occurred_at, a.recorded_at, a.lag_hours,
       CASE WHEN a.lag_hours > s.high_hours THEN 'high' ELSE 'medium' END AS severity,
       REPLACE(a.kind, '_', ' ') || ' recorded ' || CAST(ROUND(a.lag_hours, 1) AS STRING) ||
       ' h after it occurred (limit ' || CAST(s.late_hours AS STRING) || ' h)' AS detail,
       a.source_file, a.record
FROM activities a CROSS JOIN settings s
WHERE a.lag_hours > s.late_hours
