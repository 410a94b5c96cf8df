-- id: lineage.overdrawn_source
-- severity: high
-- family: lineage
-- citation: §15049(c)(2)
-- description: the single-source, non-production-batch children of a package hold more than it ever had (original + positive adjustments)
-- tables: package_sources, packages, adjustments_base, tolerances
WITH kids AS (
  SELECT s.license, s.source_label AS label, SUM(c.original_quantity_base) AS drawn,
         COUNT(*) AS n_children, MIN(s.label) AS first_child
  FROM package_sources s
  JOIN packages c ON c.license = s.license AND c.label = s.label
  JOIN packages p ON p.license = s.license AND p.label = s.source_label
  WHERE s.source_count = 1 AND NOT c.is_production_batch
    AND c.quantity_type = p.quantity_type AND c.original_quantity_base IS NOT NULL
  GROUP BY s.license, s.source_label
),
plus AS (
  SELECT license, label, SUM(quantity_base) AS added
  FROM adjustments_base WHERE quantity_base > 0
  GROUP BY license, label
),
judged AS (
  SELECT k.license, k.label, k.drawn, k.n_children, k.first_child, p.base_unit, p.source_file, p.record,
         COALESCE(p.original_quantity_base, 0) + COALESCE(a.added, 0) AS available,
         t.abs_tol, t.rel_tol
  FROM kids k
  JOIN packages p ON p.license = k.license AND p.label = k.label
  JOIN tolerances t ON t.quantity_type = p.quantity_type
  LEFT JOIN plus a ON a.license = k.license AND a.label = k.label
)
SELECT license, label AS package_label, first_child AS related_label,
       available AS system_quantity, drawn AS counted_quantity, drawn - available AS variance,
       base_unit AS unit,
       CAST(n_children AS VARCHAR) || ' single-source child package(s) hold ' ||
       CAST(ROUND(drawn, 3) AS VARCHAR) || ' ' || base_unit || ' but the source only ever had ' ||
       CAST(ROUND(available, 3) AS VARCHAR) || ' ' || base_unit AS detail,
       source_file, record
FROM judged
WHERE drawn - available > GREATEST(abs_tol, rel_tol * available)
