-- id: lineage.missing_production_batch
-- severity: medium
-- family: lineage
-- citation: Metrc Production Batch guidance
-- description: a locally created package changes category from a source but is not flagged as a production batch
-- tables: package_sources, packages
SELECT s.license, s.label AS package_label, MIN(s.source_label) AS related_label,
       'category ' || MIN(c.category) || ' differs from its source category ' || MIN(p.category) ||
       ' but IsProductionBatch is false' AS detail,
       MIN(c.source_file) AS source_file, MIN(c.record) AS record
FROM package_sources s
JOIN packages c ON c.license = s.license AND c.label = s.label
JOIN packages p ON p.license = s.license AND p.label = s.source_label
WHERE c.is_local AND NOT c.is_production_batch
  AND c.category IS NOT NULL AND p.category IS NOT NULL
  AND LOWER(c.category) <> LOWER(p.category)
GROUP BY s.license, s.label
