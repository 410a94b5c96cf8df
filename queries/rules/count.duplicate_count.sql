-- id: count.duplicate_count
-- severity: low
-- family: count
-- citation: §15051
-- description: a label is counted more than once at a license (totals use its first row)
-- tables: count_duplicates
SELECT license, label AS package_label, counted_at AS occurred_at, counted_quantity, unit,
       'label counted ' || CAST(n_rows AS STRING) || ' times; the first row is used' AS detail,
       source_file, record
FROM count_duplicates
