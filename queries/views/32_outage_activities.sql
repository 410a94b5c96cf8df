-- view: outage_activities
-- materialize: yes
-- description: lag activities that occurred during a documented loss of access of their license (lost_at ≤ occurred < restored_at), each with its outage and whether it was recorded within the grace (by the end of the 3rd local calendar day after restoration, §15050(c)(1))
-- Empty without --outages: the outages table has no rows, so nothing reaches the lag views.
SELECT a.license, a.kind, a.label, a.reference,
       COALESCE(a.label, '') AS label_key, COALESCE(a.reference, '') AS reference_key,
       a.occurred_at_end, a.recorded_at, a.lag_hours, a.source_file, a.record,
       o.lost_at, o.restored_at, o.grace_end, o.lost_local, o.restored_local,
       o.source_file AS outage_file, o.record AS outage_record,
       a.recorded_at <= o.grace_end AS excused
FROM activities a
JOIN outages o ON o.license = a.license
WHERE o.lost_at <= a.occurred_at_end AND a.occurred_at_end < o.restored_at
