-- id: count.unit_incompatible
-- severity: medium
-- family: count
-- citation: §15049(c)(2)
-- description: the counted unit is of another quantity type than the package (weight vs each)
-- tables: count_checks
SELECT license, label AS package_label, counted_at AS occurred_at,
       system_quantity, quantity AS counted_quantity, system_unit AS unit,
       'counted ' || CAST(ROUND(quantity, 3) AS STRING) || ' ' || count_unit || ' (' || count_quantity_type ||
       ') but the package is measured by ' || system_quantity_type || ': the system holds ' ||
       CAST(ROUND(system_quantity, 3) AS STRING) || ' ' || COALESCE(system_unit, '') AS detail,
       source_file, record
FROM count_checks
WHERE unit_incompatible
