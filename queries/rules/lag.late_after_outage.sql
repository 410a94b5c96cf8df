-- id: lag.late_after_outage
-- severity: medium
-- family: lag
-- citation: §15050(c)(1)
-- description: with --outages: an activity that occurred during a documented loss of access was recorded more than 3 calendar days after access was restored
-- tables: outage_activities
-- Within the grace (by the end of the 3rd local calendar day after the local date of
-- restoration) such an activity is excused, and lag.late_entry leaves it out.
SELECT license, label AS package_label, reference, occurred_at_end AS occurred_at,
       recorded_at, lag_hours,
       REPLACE(kind, '_', ' ') || ' occurred during the loss of access from ' || lost_local ||
       ' to ' || restored_local || ' (' || outage_file || ', line ' || CAST(outage_record AS STRING) ||
       ') and was recorded more than 3 calendar days after access was restored' AS detail,
       source_file, record
FROM outage_activities
WHERE NOT excused
