-- id: lag.recorded_before_occurred
-- severity: low
-- family: lag
-- citation: §15047.2(d)
-- description: an activity recorded more than 1 h before it occurred
-- tables: activities, settings
SELECT a.license, a.label AS package_label, a.reference,
       a.occurred_at, a.recorded_at_end AS recorded_at, -a.early_hours AS lag_hours,
       REPLACE(a.kind, '_', ' ') || ' recorded ' || CAST(ROUND(a.early_hours, 1) AS STRING) ||
       ' h before it occurred' AS detail,
       a.source_file, a.record
FROM activities a CROSS JOIN settings s
WHERE a.early_hours > s.early_hours
