-- view: count_checks
-- materialize: yes
-- description: each label's first count row with the system as of its time: system_quantity, counted_quantity, expected, unit_incompatible, tolerances
-- A row without a unit is read in the system's (or its own) base unit.
WITH joined AS (
  SELECT c.license, c.label, c.t AS counted_at, c.quantity, c.unit AS count_unit,
         c.quantity_type AS count_quantity_type, c.quantity_base, c.location, c.source_file,
         c.record, p.system_quantity, p.system_quantity_type, p.system_unit,
         COALESCE(p.expected, FALSE) AS expected,
         COALESCE(c.quantity_base, c.quantity) AS counted_quantity,
         COALESCE(c.quantity_type, p.system_quantity_type) AS effective_quantity_type
  FROM counts_first c
  LEFT JOIN (SELECT license, label, system_quantity, system_quantity_type, system_unit, expected
             FROM positions WHERE counted) p
    ON p.license = c.license AND p.label = c.label
  WHERE c.is_first
)
SELECT j.license, j.label, j.counted_at, j.quantity, j.count_unit, j.count_quantity_type,
       j.quantity_base, j.location, j.source_file, j.record, j.system_quantity,
       j.system_quantity_type, j.system_unit, j.expected, j.counted_quantity,
       j.effective_quantity_type,
       j.expected AND j.count_quantity_type IS NOT NULL AND j.system_quantity_type IS NOT NULL
         AND j.count_quantity_type <> j.system_quantity_type AS unit_incompatible,
       t.abs_tol, t.rel_tol,
       COALESCE(j.system_unit, CASE j.effective_quantity_type WHEN 'weight' THEN 'g'
                                 WHEN 'each' THEN 'ea' WHEN 'volume' THEN 'ml' END) AS base_unit
FROM joined j
LEFT JOIN tolerances t ON t.quantity_type = j.system_quantity_type
