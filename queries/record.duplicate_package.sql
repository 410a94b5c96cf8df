-- id: record.duplicate_package
-- severity: high
-- family: record
-- citation: §15048.2
-- description: one label appears more than once in a license's packages (the latest LastModified is used)
-- tables: packages_all
SELECT license, label AS package_label,
       'label appears ' || CAST(COUNT(*) AS VARCHAR) || ' times in the packages of ' || MIN(license) AS detail,
       MIN(source_file) AS source_file, MIN(record) AS record
FROM packages_all
GROUP BY license, label
HAVING COUNT(*) > 1
