-- id: lineage.missing_batch_number
-- severity: medium
-- family: lineage
-- citation: §15049(c)(4)
-- description: IsProductionBatch is true and ProductionBatchNumber is blank
-- tables: packages
SELECT license, label AS package_label,
       'IsProductionBatch is true but ProductionBatchNumber is blank' AS detail,
       source_file, record
FROM packages
WHERE is_production_batch AND production_batch_number IS NULL
