-- view: received_packages
-- description: delivery packages as received, once per (recipient, manifest, label), the recipient's own copy first, with tolerances
-- The shipper's copy sits in the shipper's partition, which may be outside the batch:
-- transfer_packages_all is every partition.
WITH received AS (
  SELECT tp.*,
         CASE WHEN SUBSTR(tp.source_file, 1, LENGTH(tp.recipient_license) + 1)
                   = tp.recipient_license || '/' THEN 0 ELSE 1 END AS copy_order
  FROM transfer_packages_all tp
  WHERE NOT tp.is_voided AND tp.recipient_license IS NOT NULL
    AND tp.recipient_license IN (SELECT license FROM licenses)
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY recipient_license, manifest, label
                               ORDER BY copy_order, source_file, record) AS copy_rank
  FROM received
)
SELECT r.recipient_license AS license, r.manifest, r.shipper_license, r.recipient_license,
       r.is_voided, r.label, r.state, r.shipped_quantity, r.shipped_unit,
       r.shipped_quantity_type, r.shipped_quantity_base, r.received_quantity, r.received_unit,
       r.received_quantity_type, r.received_quantity_base, r.base_unit, r.arrived_at,
       r.arrived_at_end, r.received_at, r.received_at_end, r.source_file, r.record,
       t.abs_tol, t.rel_tol
FROM ranked r
LEFT JOIN tolerances t ON t.quantity_type = r.shipped_quantity_type
WHERE r.copy_rank = 1
