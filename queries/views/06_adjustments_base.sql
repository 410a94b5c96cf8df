-- view: adjustments_base
-- description: adjustments in the package's base unit (g, ea, ml)
-- A change is in the package's base unit when it has the package's quantity type, or no
-- unit at all (then it is in the package's own unit).
SELECT a.license, a.label, a.adjusted_at, a.adjusted_at_end,
       CASE WHEN a.quantity_type = u.pkg_quantity_type THEN a.quantity_base
            WHEN a.unit IS NULL THEN a.quantity * u.unit_factor END AS quantity_base,
       u.pkg_quantity_type AS quantity_type, a.source_file, a.record
FROM adjustments a
JOIN package_units u ON u.license = a.license AND u.label = a.label
