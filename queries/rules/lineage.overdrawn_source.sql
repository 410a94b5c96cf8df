-- id: lineage.overdrawn_source
-- severity: high
-- family: lineage
-- citation: §15049(c)(2)
-- description: the single-source, non-production-batch children of a package hold more than it ever had (original + positive adjustments)
-- tables: source_edges, packages, adjustments_base, tolerances
WITH kids AS (
  SELECT license, source_label AS label, SUM(child_original_quantity_base) AS drawn,
         COUNT(*) AS n_children, MIN(label) AS first_child
  FROM source_edges
  WHERE source_count = 1 AND NOT child_is_production_batch AND parent_source_file IS NOT NULL
    AND child_quantity_type = parent_quantity_type AND child_original_quantity_base IS NOT NULL
  GROUP BY license, source_label
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
       CAST(n_children AS STRING) || ' single-source child package(s) hold ' ||
       CAST(ROUND(drawn, 3) AS STRING) || ' ' || base_unit || ' but the source only ever had ' ||
       CAST(ROUND(available, 3) AS STRING) || ' ' || base_unit AS detail,
       source_file, record
FROM judged
WHERE drawn - available > GREATEST(abs_tol, rel_tol * available)
