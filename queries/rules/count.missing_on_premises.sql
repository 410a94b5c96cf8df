-- id: count.missing_on_premises
-- severity: high
-- family: count
-- citation: §15051
-- description: a package expected on premises at the license's latest count was not counted
-- tables: uncounted_expected
SELECT license, label AS package_label, session_at AS occurred_at,
       system_quantity, 0.0 AS counted_quantity, -system_quantity AS variance,
       system_unit AS unit,
       'system holds ' || CAST(ROUND(system_quantity, 3) AS STRING) || ' ' || COALESCE(system_unit, '') ||
       ' as of the count; the package was not counted' AS detail,
       source_file, record
FROM uncounted_expected
