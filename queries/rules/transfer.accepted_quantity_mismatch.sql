-- id: transfer.accepted_quantity_mismatch
-- severity: high
-- family: lineage
-- citation: §15049.2(d)
-- description: a delivery package was accepted with a received quantity different from the shipped quantity, or in another quantity type
-- tables: received_packages
SELECT license, label AS package_label, manifest AS reference,
       arrived_at_end AS occurred_at, received_at AS recorded_at,
       shipped_quantity_base AS system_quantity, received_quantity_base AS counted_quantity,
       CASE WHEN received_quantity_type = shipped_quantity_type
            THEN received_quantity_base - shipped_quantity_base END AS variance,
       base_unit AS unit,
       'accepted ' || CAST(received_quantity AS STRING) || ' ' ||
       COALESCE(CASE LOWER(COALESCE(received_unit, shipped_unit))
                  WHEN 'grams' THEN 'g' WHEN 'kilograms' THEN 'kg' WHEN 'milligrams' THEN 'mg'
                  WHEN 'ounces' THEN 'oz' WHEN 'pounds' THEN 'lb' WHEN 'each' THEN 'ea'
                  WHEN 'milliliters' THEN 'ml' WHEN 'liters' THEN 'l' WHEN 'fluid ounces' THEN 'fl oz'
                  ELSE COALESCE(received_unit, shipped_unit) END, '') ||
       ' of ' || CAST(shipped_quantity AS STRING) || ' ' || COALESCE(CASE LOWER(shipped_unit)
                  WHEN 'grams' THEN 'g' WHEN 'kilograms' THEN 'kg' WHEN 'milligrams' THEN 'mg'
                  WHEN 'ounces' THEN 'oz' WHEN 'pounds' THEN 'lb' WHEN 'each' THEN 'ea'
                  WHEN 'milliliters' THEN 'ml' WHEN 'liters' THEN 'l' WHEN 'fluid ounces' THEN 'fl oz'
                  ELSE shipped_unit END, '') ||
       ' shipped on manifest ' || COALESCE(manifest, '?') ||
       '; a quantity that differs from the manifest must be rejected' AS detail,
       source_file, record
FROM received_packages
WHERE state = 'Accepted' AND shipped_quantity IS NOT NULL AND received_quantity IS NOT NULL
  AND (COALESCE(received_quantity_type, '') <> COALESCE(shipped_quantity_type, '')
       OR ABS(received_quantity_base - shipped_quantity_base)
          > GREATEST(COALESCE(abs_tol, 0), COALESCE(rel_tol, 0) * ABS(shipped_quantity_base)))
