-- id: record.duplicate_package
-- severity: high
-- family: record
-- citation: §15048.2
-- description: one label appears more than once in a license's packages (the latest LastModified is used)
-- tables: packages_all
-- Labels listed more than once in the batch first (one string key), then the exact count per
-- (license, label) over those few rows only.
SELECT license, label AS package_label,
       'label appears ' || CAST(COUNT(*) AS STRING) || ' times in the packages of ' || MIN(license) AS detail,
       MIN(source_file) AS source_file, MIN(record) AS record
FROM packages_all
WHERE label IN (SELECT label FROM packages_all GROUP BY label HAVING COUNT(*) > 1)
GROUP BY license, label
HAVING COUNT(*) > 1
