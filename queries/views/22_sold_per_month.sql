-- view: sold_per_month
-- description: per license × quantity type, the average quantity sold per month over the months the sales span (at least one); read only with the average_monthly_sales basis
-- The sum is exact and independent of the order rows arrive in (see count_totals).
WITH sold AS (
  SELECT license, quantity_type,
         SUM(FLOOR(quantity_base))
           + CAST(SUM(CAST(ROUND((quantity_base - FLOOR(quantity_base)) * 1000000000.0)
                           AS BIGINT)) AS DOUBLE) / 1000000000.0 AS sold,
         (MAX(CAST(sold_at AS DOUBLE)) - MIN(CAST(sold_at AS DOUBLE)))
           / (:ts_units_per_hour * 24.0 * 30.436875) AS months
  FROM sales
  WHERE label IS NOT NULL AND :basis = 'average_monthly_sales'
  GROUP BY license, quantity_type
)
SELECT license, quantity_type, sold / GREATEST(months, 1.0) AS basis_total
FROM sold
