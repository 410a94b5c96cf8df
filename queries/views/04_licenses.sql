-- view: licenses
-- materialize: yes
-- description: licenses present in the export (every folder that gave rows)
SELECT DISTINCT license
FROM (
  SELECT license FROM packages_all
  UNION ALL SELECT license FROM adjustments
  UNION ALL SELECT license FROM transfers
  UNION ALL SELECT license FROM sales
  UNION ALL SELECT license FROM history
) AS present
