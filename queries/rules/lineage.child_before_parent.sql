-- id: lineage.child_before_parent
-- severity: medium
-- family: lineage
-- citation: §15047.2(c)
-- description: a package's PackagedDate is before its source's PackagedDate
-- tables: source_edges
SELECT license, label AS package_label, source_label AS related_label,
       child_packaged_at_end AS occurred_at,
       'packaged ' || CAST(child_packaged_date AS STRING) || ', before its source ' || source_label ||
       ' (packaged ' || CAST(parent_packaged_date AS STRING) || ')' AS detail,
       child_source_file AS source_file, child_record AS record
FROM source_edges
WHERE parent_source_file IS NOT NULL AND child_packaged_at_end < parent_packaged_at
