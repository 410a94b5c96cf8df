-- view: count_coverage
-- materialize: yes
-- description: per license of the export or of the counts: count rows, rejected rows, and whether the count family is checked
-- Over 1 % of a license's count rows rejected leaves its significance not determined; no
-- count row at all leaves the count family not checked (evidence before verdicts).
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
)
SELECT license, count_rows, count_rows_rejected,
       CASE WHEN count_rows = 0 THEN 'not_checked'
            WHEN count_rows_rejected * 100 > count_rows THEN 'not_determined'
            ELSE 'checked' END AS count_status
FROM rows_per_license
ORDER BY license
