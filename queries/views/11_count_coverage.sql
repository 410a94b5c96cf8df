-- view: count_coverage
-- materialize: yes
-- description: per license of the export or of the counts: count rows, rejected rows, the export files its counts lack, and whether the count family is checked
-- Over 1 % of a license's count rows rejected leaves its significance not determined; no
-- count row at all leaves the count family not checked (evidence before verdicts). So does
-- a counted license whose export lacks what the as-of system needs: its packages file, or
-- an adjustments or sales file that other licenses of the export have while a package of
-- its own changed after its first count time (a change after the count could not be
-- undone, and would read as a discrepancy). Unchanged packages need no rollback. Every
-- license folder of the export has a packages file (ingest requires one), so only a
-- counted license can lack it, and only a counted one can have changed after its count.
WITH rows_per_license AS (
  SELECT license,
         CAST(COUNT(rejected) AS BIGINT) AS count_rows,
         CAST(SUM(CASE WHEN rejected THEN 1 ELSE 0 END) AS BIGINT) AS count_rows_rejected
  FROM (
    SELECT license, rejected FROM count_rows_all
    UNION ALL
    SELECT license, CAST(NULL AS BOOLEAN) AS rejected FROM licenses
  ) AS r
  GROUP BY license
),
files AS (
  SELECT license,
         COUNT(CASE WHEN kind = 'packages' THEN kind END) AS packages_files,
         COUNT(CASE WHEN kind = 'adjustments' THEN kind END) AS adjustments_files,
         COUNT(CASE WHEN kind = 'sales' THEN kind END) AS sales_files
  FROM export_files
  GROUP BY license
),
anywhere AS (
  SELECT MAX(adjustments_files) AS adjustments_files, MAX(sales_files) AS sales_files
  FROM files
),
changed AS (
  SELECT c.license
  FROM (SELECT license, MIN(counted_at_end) AS first_count FROM count_rows_all
        GROUP BY license) AS c
  JOIN (SELECT license, MAX(last_modified) AS last_change FROM packages
        GROUP BY license) AS p ON p.license = c.license
  WHERE p.last_change > c.first_count
),
lacking AS (
  SELECT r.license, r.count_rows, r.count_rows_rejected,
         NULLIF(REPLACE(TRIM(
           CASE WHEN COALESCE(f.packages_files, 0) = 0 THEN 'packages ' ELSE '' END
           || CASE WHEN g.license IS NOT NULL AND a.adjustments_files > 0
                        AND NOT f.adjustments_files > 0
                   THEN 'adjustments ' ELSE '' END
           || CASE WHEN g.license IS NOT NULL AND a.sales_files > 0
                        AND NOT f.sales_files > 0
                   THEN 'sales' ELSE '' END
         ), ' ', ', '), '') AS count_lacks
  FROM rows_per_license r
  LEFT JOIN files f ON f.license = r.license
  LEFT JOIN changed g ON g.license = r.license
  CROSS JOIN anywhere a
)
SELECT license, count_rows, count_rows_rejected, count_lacks,
       CASE WHEN count_rows = 0 OR count_lacks IS NOT NULL THEN 'not_checked'
            WHEN count_rows_rejected * 100 > count_rows THEN 'not_determined'
            ELSE 'checked' END AS count_status
FROM lacking
ORDER BY license
