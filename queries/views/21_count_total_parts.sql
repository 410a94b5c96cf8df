-- view: count_total_parts
-- description: what each license × quantity type total is made of: the system quantity of every expected package (counted or not) and every counted quantity (except counts in an incompatible unit)
SELECT license, system_quantity_type AS quantity_type, system_quantity AS sys, 0.0 AS cnt
FROM count_checks
WHERE expected AND system_quantity_type IS NOT NULL
UNION ALL
SELECT license, system_quantity_type AS quantity_type, system_quantity AS sys, 0.0 AS cnt
FROM uncounted_expected
WHERE system_quantity_type IS NOT NULL
UNION ALL
SELECT license, effective_quantity_type AS quantity_type, 0.0 AS sys, counted_quantity AS cnt
FROM count_checks
WHERE NOT unit_incompatible AND effective_quantity_type IS NOT NULL
