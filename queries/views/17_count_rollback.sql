-- view: count_rollback
-- description: per count point, the change to undo to see the system as of the point: adjustments after it are undone, sales after it are put back (in the package's base unit)
-- Only changes after the license's earliest evaluation time can be rolled back, and they
-- are few (a tenth of the sales at 1 M packages), so they are picked before they meet the
-- packages.
WITH earliest AS (
  SELECT license, MIN(t) AS t_min FROM count_points GROUP BY license
),
changes AS (
  SELECT a.license, a.label, a.adjusted_at_end AS at, a.quantity, a.unit, a.quantity_type,
         a.quantity_base, -1.0 AS direction
  FROM adjustments a
  JOIN earliest e ON e.license = a.license
  WHERE a.adjusted_at_end > :earliest_count_point AND a.adjusted_at_end > e.t_min
  UNION ALL
  SELECT s.license, s.label, s.sold_at_end AS at, s.quantity, s.unit, s.quantity_type,
         s.quantity_base, 1.0 AS direction
  FROM sales s
  JOIN earliest e ON e.license = s.license
  WHERE s.sold_at_end > :earliest_count_point AND s.sold_at_end > e.t_min
    AND s.label IS NOT NULL
),
deltas AS (
  SELECT c.license, c.label, c.at,
         c.direction * CASE WHEN c.quantity_type = u.pkg_quantity_type THEN c.quantity_base
                            WHEN c.unit IS NULL THEN c.quantity * u.unit_factor END AS delta
  FROM changes c
  JOIN package_units u ON u.license = c.license AND u.label = c.label
)
SELECT p.license, p.label, p.t, SUM(d.delta) AS rollback
FROM count_points p
JOIN deltas d ON d.license = p.license AND d.label = p.label
WHERE d.at > p.t
GROUP BY p.license, p.label, p.t
