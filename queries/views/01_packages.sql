-- view: packages
-- materialize: yes
-- description: one row per (license, label): the copy with the latest LastModified, then the latest file and record
-- Copies are found by label alone (one key, a window, no join): only labels listed more
-- than once are ranked; the rest pass through untouched (most labels have one copy, and
-- ranking every package was the view's main cost). A label in two licenses (a shipment) is
-- ranked too, and kept once per license.
WITH listed AS (
  SELECT *, COUNT(*) OVER (PARTITION BY label) AS copies
  FROM packages_all
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY license, label
                               ORDER BY last_modified DESC NULLS LAST, source_file DESC,
                                        record DESC) AS copy_rank
  FROM listed
  WHERE copies > 1
)
SELECT license, label, package_type, item_name, category, quantity, original_quantity, unit,
       quantity_type, base_unit, quantity_base, original_quantity_base, location, packaged_at,
       packaged_at_end, packaged_date, lab_testing_state, is_production_batch,
       production_batch_number, source_package_labels, source_harvest_names, source_count,
       received_at, received_manifest, received_from_license, finished_date, archived_date,
       last_modified, is_local, source_file, record
FROM listed
WHERE copies = 1
UNION ALL
SELECT license, label, package_type, item_name, category, quantity, original_quantity, unit,
       quantity_type, base_unit, quantity_base, original_quantity_base, location, packaged_at,
       packaged_at_end, packaged_date, lab_testing_state, is_production_batch,
       production_batch_number, source_package_labels, source_harvest_names, source_count,
       received_at, received_manifest, received_from_license, finished_date, archived_date,
       last_modified, is_local, source_file, record
FROM ranked
WHERE copy_rank = 1
