-- id: lineage.unneeded_production_batch
-- severity: low
-- family: lineage
-- citation: Metrc Production Batch guidance
-- description: a production batch whose sources all have its own category (repackaging resets lab testing)
-- tables: source_edges
WITH judged AS (
  SELECT license, label, MIN(child_category) AS category, MIN(source_label) AS related_label,
         MIN(child_source_file) AS source_file, MIN(child_record) AS record,
         COUNT(*) AS n_sources,
         SUM(CASE WHEN parent_source_file IS NOT NULL AND parent_category IS NOT NULL
                       AND child_category IS NOT NULL
                       AND LOWER(parent_category) = LOWER(child_category) THEN 1 ELSE 0 END) AS n_same
  FROM source_edges
  WHERE child_is_local AND child_is_production_batch
  GROUP BY license, label
)
SELECT license, label AS package_label, related_label,
       'production batch of ' || category || ' made only from ' || category ||
       ' (repackaging: the flag resets lab testing to NotSubmitted)' AS detail,
       source_file, record
FROM judged
WHERE n_sources > 0 AND n_same = n_sources
