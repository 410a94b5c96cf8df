-- id: lineage.untested_sale
-- severity: critical
-- family: lineage
-- citation: §15049(b)(7)
-- description: a package with sales whose LabTestingState is not a passing state (null is untested)
-- tables: sales, packages
WITH sold AS (
  SELECT license, label, COUNT(*) AS n_sales, MIN(receipt) AS receipt, MIN(sold_at_end) AS first_sale
  FROM sales WHERE label IS NOT NULL
  GROUP BY license, label
)
SELECT s.license, s.label AS package_label, s.receipt AS reference, s.first_sale AS occurred_at,
       'sold ' || CAST(s.n_sales AS VARCHAR) || ' time(s) with LabTestingState ' ||
       COALESCE(p.lab_testing_state, 'null (untested)') AS detail,
       p.source_file, p.record
FROM sold s
JOIN packages p ON p.license = s.license AND p.label = s.label
WHERE p.lab_testing_state IS NULL
   OR p.lab_testing_state NOT IN ('TestPassed', 'RetestPassed', 'NotRequired', 'ProcessValidated', 'Remediated')
