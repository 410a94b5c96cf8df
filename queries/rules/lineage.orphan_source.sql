-- id: lineage.orphan_source
-- severity: high
-- family: lineage
-- citation: §15049(c)(4)
-- description: a locally created package names a source label that is not a package of the same license
-- tables: source_edges
SELECT license, label AS package_label, source_label AS related_label,
       'source ' || source_label || ' is not a package of ' || license ||
       ' (package was created here, not received)' AS detail,
       child_source_file AS source_file, child_record AS record
FROM source_edges
WHERE child_is_local AND parent_source_file IS NULL
