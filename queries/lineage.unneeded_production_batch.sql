-- id: lineage.unneeded_production_batch
-- severity: low
-- family: lineage
-- citation: Metrc Production Batch guidance
-- description: a production batch whose sources all have its own category (repackaging resets lab testing)
-- tables: package_sources, packages
WITH judged AS (
  SELECT s.license, s.label, MIN(c.category) AS category, MIN(s.source_label) AS related_label,
         MIN(c.source_file) AS source_file, MIN(c.record) AS record,
         COUNT(*) AS n_sources,
         SUM(CASE WHEN p.source_file IS NOT NULL AND p.category IS NOT NULL AND c.category IS NOT NULL
                       AND LOWER(p.category) = LOWER(c.category) THEN 1 ELSE 0 END) AS n_same
  FROM package_sources s
  JOIN packages c ON c.license = s.license AND c.label = s.label
  LEFT JOIN packages p ON p.license = s.license AND p.label = s.source_label
  WHERE c.is_local AND c.is_production_batch
  GROUP BY s.license, s.label
)
SELECT license, label AS package_label, related_label,
       'production batch of ' || category || ' made only from ' || category ||
       ' (repackaging: the flag resets lab testing to NotSubmitted)' AS detail,
       source_file, record
FROM judged
WHERE n_sources > 0 AND n_same = n_sources
