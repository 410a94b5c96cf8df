-- id: count.quantity_mismatch
-- severity: medium
-- family: count
-- citation: §15051
-- description: counted and as-of-count system quantities differ beyond tolerance (after unit conversion)
-- tables: count_checks
SELECT license, label AS package_label, counted_at AS occurred_at,
       system_quantity, counted_quantity, counted_quantity - system_quantity AS variance,
       base_unit AS unit,
       'counted ' || CAST(ROUND(counted_quantity, 3) AS STRING) || ' vs system ' ||
       CAST(ROUND(system_quantity, 3) AS STRING) || ' ' || COALESCE(base_unit, '') ||
       ' as of the count (tolerance ' ||
       CAST(ROUND(GREATEST(abs_tol, rel_tol * ABS(system_quantity)), 3) AS STRING) || ')' AS detail,
       source_file, record
FROM count_checks
WHERE expected AND NOT unit_incompatible
  AND ABS(counted_quantity - system_quantity) > GREATEST(abs_tol, rel_tol * ABS(system_quantity))
