-- id: transfer.during_outage
-- severity: high
-- family: lag
-- citation: §15050(b)
-- description: with --outages: a transfer of the license departed or was received during its documented loss of access (one per manifest and license)
-- tables: transfers, outages
-- Each license's own copy of the transfer decides (the shipper's for the departure, the
-- recipient's for the receipt); a date-only receipt is during only when its whole local
-- day is. Voided transfers are ignored.
WITH moves AS (
  SELECT t.license, t.manifest, 'departed' AS what, t.departed_at AS t_start,
         t.departed_at AS t_end, t.source_file, t.record
  FROM transfers t
  WHERE t.shipper_license = t.license AND t.departed_at IS NOT NULL
    AND NOT COALESCE(t.is_voided, FALSE)
  UNION ALL
  SELECT t.license, t.manifest, 'was received' AS what, t.received_at AS t_start,
         t.received_at_end AS t_end, t.source_file, t.record
  FROM transfers t
  WHERE t.recipient_license = t.license AND t.received_at IS NOT NULL
    AND NOT COALESCE(t.is_voided, FALSE)
),
hits AS (
  SELECT m.license, m.manifest, m.what, m.t_start, m.source_file, m.record,
         o.lost_local, o.restored_local, o.source_file AS outage_file, o.record AS outage_record
  FROM moves m
  JOIN outages o ON o.license = m.license
  WHERE o.lost_at <= m.t_start AND m.t_end < o.restored_at
),
ranked AS (
  SELECT h.*, ROW_NUMBER() OVER (PARTITION BY license, manifest
                                 ORDER BY t_start, source_file, record) AS rn
  FROM hits h
)
SELECT license, manifest AS reference, t_start AS occurred_at,
       'transfer ' || COALESCE(manifest, '?') || ' ' || what || ' during the loss of access from ' ||
       lost_local || ' to ' || restored_local || ' (' || outage_file || ', line ' ||
       CAST(outage_record AS STRING) || '): no transport while access is lost' AS detail,
       source_file, record
FROM ranked
WHERE rn = 1
