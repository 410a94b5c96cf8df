-- view: package_sources
-- materialize: yes
-- description: the source lines of each package's latest copy, each source label once (its first line)
-- Every line of one copy shares its file, record and source count.
SELECT s.license, s.label, s.source_label, MIN(s.source_index) AS source_index, s.source_count,
       s.source_file, s.record
FROM package_sources_all s
WHERE EXISTS (
  SELECT 1 FROM packages p
  WHERE p.license = s.license AND p.label = s.label AND p.source_file = s.source_file
    AND p.record = s.record
)
GROUP BY s.license, s.label, s.source_label, s.source_count, s.source_file, s.record
