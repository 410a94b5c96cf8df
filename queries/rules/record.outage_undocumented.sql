-- id: record.outage_undocumented
-- severity: low
-- family: record
-- citation: §15050(c)(2)
-- description: with --outages: an outage row without a cause
-- tables: outages
SELECT license, 'outage from ' || lost_local AS reference, lost_at AS occurred_at,
       restored_at AS recorded_at,
       'the loss of access from ' || lost_local || ' to ' || restored_local ||
       ' has no cause documented' AS detail,
       source_file, record
FROM outages
WHERE cause IS NULL OR TRIM(cause) = ''
