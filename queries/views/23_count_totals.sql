-- view: count_totals
-- materialize: yes
-- description: per license × quantity type: system and counted totals, variance, variance % (NULL when the system total is 0), the basis and whether the variance is significant (NULL when not determined)
-- Sums are exact and independent of the order rows arrive in, so a license gets the same
-- verdict whatever the batch, thread count or engine: whole parts are summed as doubles
-- (integers, exact below 2^53) and fractions as integer billionths.
WITH sums AS (
  SELECT license, quantity_type,
         SUM(FLOOR(sys))
           + CAST(SUM(CAST(ROUND((sys - FLOOR(sys)) * 1000000000.0) AS BIGINT)) AS DOUBLE)
             / 1000000000.0 AS system_total,
         SUM(FLOOR(cnt))
           + CAST(SUM(CAST(ROUND((cnt - FLOOR(cnt)) * 1000000000.0) AS BIGINT)) AS DOUBLE)
             / 1000000000.0 AS counted_total
  FROM count_total_parts
  GROUP BY license, quantity_type
),
judged AS (
  SELECT s.license, s.quantity_type, s.system_total, s.counted_total,
         s.counted_total - s.system_total AS variance,
         CASE WHEN s.system_total <> 0.0 THEN (s.counted_total - s.system_total) / s.system_total * 100.0 END AS variance_pct,
         CASE WHEN :basis = 'average_monthly_sales' THEN m.basis_total
              ELSE s.system_total END AS basis_total,
         CASE WHEN :basis = 'average_monthly_sales'
              THEN ABS(s.counted_total - s.system_total)
                     >= :threshold * COALESCE(m.basis_total, 0.0)
                   AND ABS(s.counted_total - s.system_total) > 0.0
              WHEN s.system_total > 0.0
              THEN ABS(s.counted_total - s.system_total) >= :threshold * s.system_total
              ELSE s.counted_total > 0.0 END AS significant
  FROM sums s
  LEFT JOIN sold_per_month m ON m.license = s.license AND m.quantity_type = s.quantity_type
)
SELECT j.license, j.quantity_type, j.system_total, j.counted_total, j.variance, j.variance_pct,
       j.basis_total,
       CASE WHEN c.count_status = 'not_determined' THEN CAST(NULL AS BOOLEAN)
            ELSE j.significant END AS significant,
       c.count_status, c.count_rows, c.count_rows_rejected,
       CASE j.quantity_type WHEN 'weight' THEN 'g' WHEN 'each' THEN 'ea'
                            WHEN 'volume' THEN 'ml' END AS unit,
       :threshold AS threshold
FROM judged j
LEFT JOIN count_coverage c ON c.license = j.license
ORDER BY j.license, j.quantity_type
