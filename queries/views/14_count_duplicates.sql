-- view: count_duplicates
-- description: labels counted more than once at a license, at their first row
SELECT license, label, n_rows, t AS counted_at, quantity AS counted_quantity, unit,
       source_file, record
FROM counts_first
WHERE n_rows > 1 AND is_first
