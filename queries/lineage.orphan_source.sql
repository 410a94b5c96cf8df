-- id: lineage.orphan_source
-- severity: high
-- family: lineage
-- citation: §15049(c)(4)
-- description: a locally created package names a source label that is not a package of the same license
-- tables: package_sources, packages
SELECT s.license, s.label AS package_label, s.source_label AS related_label,
       'source ' || s.source_label || ' is not a package of ' || s.license ||
       ' (package was created here, not received)' AS detail,
       c.source_file, c.record
FROM package_sources s
JOIN packages c ON c.license = s.license AND c.label = s.label
LEFT JOIN packages p ON p.license = s.license AND p.label = s.source_label
WHERE c.is_local AND p.source_file IS NULL
