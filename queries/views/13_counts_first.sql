-- view: counts_first
-- materialize: yes
-- description: each read count row with its evaluation time, whether it is its label's first row (file, then line order) and how many rows the label has
-- Only labels counted more than once are ranked (ranking every row was this view's main
-- cost; most labels are counted once).
WITH numbered AS (
  SELECT license, label, quantity, unit, quantity_type, base_unit, quantity_base, location,
         counted_at, counted_at_end, counted_date, counted_by, source_file, record,
         COUNT(*) OVER (PARTITION BY license, label) AS n_rows
  FROM counts
),
ranked AS (
  SELECT license, label, quantity, unit, quantity_type, base_unit, quantity_base, location,
         counted_at, counted_at_end, counted_date, counted_by, source_file, record, n_rows,
         ROW_NUMBER() OVER (PARTITION BY license, label ORDER BY source_file, record) = 1
           AS is_first
  FROM numbered
  WHERE n_rows > 1
),
flagged AS (
  SELECT license, label, quantity, unit, quantity_type, base_unit, quantity_base, location,
         counted_at, counted_at_end, counted_date, counted_by, source_file, record, n_rows,
         TRUE AS is_first
  FROM numbered
  WHERE n_rows = 1
  UNION ALL
  SELECT * FROM ranked
)
SELECT f.license, f.label, f.quantity, f.unit, f.quantity_type, f.quantity_base, f.location,
       f.source_file, f.record, f.n_rows, f.is_first,
       COALESCE(f.counted_at_end, s.session_at) AS t,
       COALESCE(f.counted_date, s.session_date) AS t_date
FROM flagged f
LEFT JOIN count_sessions s ON s.license = f.license
