-- view: activities
-- materialize: yes
-- description: lag activities past a threshold, with lag_hours and early_hours: history entries one by one, a sale's label once per receipt, a transfer receipt once per manifest and label (the recipient's own copy first)
-- Lag is computed first and only activities past a threshold (the only ones a lag rule
-- reports) go on to be deduplicated.
WITH lagged AS (
  SELECT e.license, e.kind, e.label, e.reference, e.occurred_at, e.occurred_at_end,
         e.recorded_at, e.recorded_at_end, e.source_file, e.record,
         (CAST(e.recorded_at AS DOUBLE) - CAST(e.occurred_at_end AS DOUBLE))
           / :ts_units_per_hour AS lag_hours,
         (CAST(e.occurred_at AS DOUBLE) - CAST(e.recorded_at_end AS DOUBLE))
           / :ts_units_per_hour AS early_hours
  FROM events e
  -- A cheap superset first (the bounds are the thresholds less a microsecond, as
  -- intervals): the hours are computed only for the few activities that can pass.
  WHERE e.recorded_at > e.occurred_at_end + :late_bound
     OR e.occurred_at > e.recorded_at_end + :early_bound
),
past AS (
  SELECT *,
         CASE WHEN SUBSTR(source_file, 1, LENGTH(license) + 1) = license || '/' THEN 0
              ELSE 1 END AS copy_order
  FROM lagged
  WHERE (lag_hours > :late_hours OR early_hours > :early_hours)
    AND license IN (SELECT license FROM licenses)
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY license, kind, reference, label
                               ORDER BY copy_order, source_file, record) AS copy_rank
  FROM past
)
SELECT license, kind, label, reference, occurred_at, occurred_at_end, recorded_at,
       recorded_at_end, source_file, record, lag_hours, early_hours
FROM ranked
WHERE kind = 'history' OR copy_rank = 1
