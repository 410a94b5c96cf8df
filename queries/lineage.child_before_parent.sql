-- id: lineage.child_before_parent
-- severity: medium
-- family: lineage
-- citation: §15047.2(c)
-- description: a package's PackagedDate is before its source's PackagedDate
-- tables: package_sources, packages
SELECT s.license, s.label AS package_label, s.source_label AS related_label,
       c.packaged_at_end AS occurred_at,
       'packaged ' || CAST(c.packaged_date AS VARCHAR) || ', before its source ' || s.source_label ||
       ' (packaged ' || CAST(p.packaged_date AS VARCHAR) || ')' AS detail,
       c.source_file, c.record
FROM package_sources s
JOIN packages c ON c.license = s.license AND c.label = s.label
JOIN packages p ON p.license = s.license AND p.label = s.source_label
WHERE c.packaged_at_end < p.packaged_at
