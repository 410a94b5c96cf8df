-- id: lineage.missing_production_batch
-- severity: medium
-- family: lineage
-- citation: Metrc Production Batch guidance
-- description: a locally created package changes category from a source but is not flagged as a production batch
-- tables: source_edges
SELECT license, label AS package_label, MIN(source_label) AS related_label,
       'category ' || MIN(child_category) || ' differs from its source category ' || MIN(parent_category) ||
       ' but IsProductionBatch is false' AS detail,
       MIN(child_source_file) AS source_file, MIN(child_record) AS record
FROM source_edges
WHERE child_is_local AND NOT child_is_production_batch
  AND parent_source_file IS NOT NULL
  AND child_category IS NOT NULL AND parent_category IS NOT NULL
  AND LOWER(child_category) <> LOWER(parent_category)
GROUP BY license, label
