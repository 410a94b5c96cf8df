-- view: positions
-- materialize: yes
-- description: each count point with the system's quantity as of its time and whether the package was expected on premises then
-- Expected: the license has the package, packaged by then, not finished or archived before
-- that day, received by then, and holding more than zero.
WITH rolled AS (
  SELECT pt.license, pt.label, pt.t, pt.t_date, pt.counted,
         p.quantity_base AS pkg_quantity, p.quantity_type AS system_quantity_type,
         p.base_unit AS system_unit, p.packaged_date, p.finished_date, p.archived_date,
         p.received_at, p.source_file AS pkg_source_file, p.record AS pkg_record,
         p.quantity_base + COALESCE(r.rollback, 0.0) AS system_quantity
  FROM count_points pt
  LEFT JOIN packages p ON p.license = pt.license AND p.label = pt.label
  LEFT JOIN count_rollback r ON r.license = pt.license AND r.label = pt.label AND r.t = pt.t
)
SELECT license, label, t, t_date, counted, pkg_quantity, system_quantity_type, system_unit,
       packaged_date, finished_date, archived_date, received_at, pkg_source_file, pkg_record,
       system_quantity,
       pkg_source_file IS NOT NULL
         AND COALESCE(packaged_date <= t_date, TRUE)
         AND COALESCE(finished_date >= t_date, TRUE)
         AND COALESCE(archived_date >= t_date, TRUE)
         AND COALESCE(received_at <= t, TRUE)
         AND COALESCE(system_quantity > 0, FALSE) AS expected
FROM rolled
