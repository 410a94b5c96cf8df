-- id: count.missing_in_system
-- severity: high
-- family: count
-- citation: §15049(a)
-- description: a counted label has no package expected on premises at that license at the count's time
-- tables: count_checks
SELECT license, label AS package_label, counted_at AS occurred_at,
       counted_quantity, base_unit AS unit,
       'counted ' || CAST(ROUND(counted_quantity, 3) AS STRING) || ' ' || COALESCE(base_unit, '') ||
       ' but no package with this label was on premises at ' || license || ' when counted' AS detail,
       source_file, record
FROM count_checks
WHERE NOT expected
