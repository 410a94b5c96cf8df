-- id: record.adjustment_without_note
-- severity: low
-- family: record
-- citation: §15049(d)
-- description: a package adjustment has a blank AdjustmentNote
-- tables: adjustments
SELECT license, label AS package_label, adjusted_at_end AS occurred_at,
       quantity AS variance, unit,
       'adjustment of ' || COALESCE(CAST(quantity AS VARCHAR), '?') || ' ' || COALESCE(unit, '') ||
       ' (' || COALESCE(reason, 'no reason') || ') has no note explaining why' AS detail,
       source_file, record
FROM adjustments
WHERE note IS NULL
