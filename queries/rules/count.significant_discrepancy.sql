-- id: count.significant_discrepancy
-- severity: critical
-- family: count
-- citation: §15034, §17218(d)
-- description: per license and quantity type, counted and system totals differ by the significance threshold or more (report within 24 h)
-- tables: count_totals
SELECT license, system_total AS system_quantity, counted_total AS counted_quantity, variance, unit,
       quantity_type || ': counted ' || CAST(ROUND(counted_total, 3) AS STRING) || ' vs system ' ||
       CAST(ROUND(system_total, 3) AS STRING) || ' ' || unit || ' (' ||
       COALESCE(CAST(ROUND(variance_pct, 2) AS STRING) || ' %', 'no system inventory') ||
       ', threshold ' || CAST(ROUND(threshold * 100, 2) AS STRING) ||
       ' %): report to the Department within 24 hours' AS detail
FROM count_totals
WHERE significant
