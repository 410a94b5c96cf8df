-- view: uncounted_expected
-- materialize: yes
-- description: packages expected on premises at the license's latest count that nobody counted
SELECT license, label, t AS session_at, system_quantity, system_quantity_type, system_unit,
       pkg_source_file AS source_file, pkg_record AS record
FROM positions
WHERE NOT counted AND expected
