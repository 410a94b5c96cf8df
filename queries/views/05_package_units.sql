-- view: package_units
-- description: each package's quantity type, unit and the unit's factor to the base unit (g, ea, ml)
SELECT p.license, p.label, p.quantity_type AS pkg_quantity_type, p.unit AS pkg_unit,
       f.unit_factor
FROM packages p
LEFT JOIN unit_factors f ON f.unit = p.unit
