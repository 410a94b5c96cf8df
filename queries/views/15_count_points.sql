-- view: count_points
-- materialize: yes
-- description: where the system is evaluated: each label's first count row at its own time, and every package of a counted license that nobody counted at the license's latest count time
SELECT license, label, t, t_date, TRUE AS counted
FROM counts_first
WHERE is_first
UNION ALL
SELECT p.license, p.label, s.session_at AS t, s.session_date AS t_date, FALSE AS counted
FROM packages p
JOIN count_sessions s ON s.license = p.license
WHERE NOT EXISTS (
  SELECT 1 FROM count_rows_all c
  WHERE c.license = p.license AND c.label = p.label
)
