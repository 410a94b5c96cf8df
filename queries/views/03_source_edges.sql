-- view: source_edges
-- materialize: yes
-- description: each source line with its package (child_*) and, when the license has it, the source package (parent_*)
-- The lineage rules all read these two joins; made once here, not once per rule.
SELECT s.license, s.label, s.source_label, s.source_count,
       c.source_file AS child_source_file, c.record AS child_record,
       c.is_local AS child_is_local, c.is_production_batch AS child_is_production_batch,
       c.category AS child_category, c.quantity_type AS child_quantity_type,
       c.original_quantity_base AS child_original_quantity_base,
       c.packaged_at AS child_packaged_at, c.packaged_at_end AS child_packaged_at_end,
       c.packaged_date AS child_packaged_date,
       p.source_file AS parent_source_file, p.record AS parent_record,
       p.is_local AS parent_is_local, p.is_production_batch AS parent_is_production_batch,
       p.category AS parent_category, p.quantity_type AS parent_quantity_type,
       p.original_quantity_base AS parent_original_quantity_base,
       p.packaged_at AS parent_packaged_at, p.packaged_at_end AS parent_packaged_at_end,
       p.packaged_date AS parent_packaged_date
FROM package_sources s
JOIN packages c ON c.license = s.license AND c.label = s.label
LEFT JOIN packages p ON p.license = s.license AND p.label = s.source_label
