-- id: record.adjustment_without_note
-- severity: low
-- family: record
-- citation: §15049(d)
-- description: a package adjustment has a blank AdjustmentNote
-- tables: adjustments
SELECT license, label AS package_label, adjusted_at_end AS occurred_at,
       quantity AS variance, unit,
       'adjustment of ' || COALESCE(CAST(quantity AS STRING), '?') || ' ' ||
       COALESCE(CASE LOWER(unit)
                  WHEN 'grams' THEN 'g' WHEN 'kilograms' THEN 'kg' WHEN 'milligrams' THEN 'mg'
                  WHEN 'ounces' THEN 'oz' WHEN 'pounds' THEN 'lb' WHEN 'each' THEN 'ea'
                  WHEN 'milliliters' THEN 'ml' WHEN 'liters' THEN 'l' WHEN 'fluid ounces' THEN 'fl oz'
                  ELSE unit END, '') ||
       ' (' || COALESCE(reason, 'no reason') || ') has no note explaining why' AS detail,
       source_file, record
FROM adjustments
WHERE note IS NULL
