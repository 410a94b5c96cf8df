-- id: lineage.untested_sale
-- severity: critical
-- family: lineage
-- citation: §15049(b)(7)
-- description: a package with sales whose LabTestingState is not a passing state (null is untested)
-- tables: sales, packages
-- Packages not in a passing state first, then only their sales (by label, one string key,
-- before the exact two-column join); grouping every sale first was most of this rule.
WITH untested AS (
  SELECT license, label, lab_testing_state, source_file, record
  FROM packages
  WHERE lab_testing_state IS NULL
     OR lab_testing_state NOT IN ('TestPassed', 'RetestPassed', 'NotRequired', 'ProcessValidated', 'Remediated')
),
sold AS (
  SELECT s.license, s.label, COUNT(*) AS n_sales, MIN(s.receipt) AS receipt, MIN(s.sold_at_end) AS first_sale
  FROM sales s
  WHERE s.label IN (SELECT label FROM untested)
  GROUP BY s.license, s.label
)
SELECT s.license, s.label AS package_label, s.receipt AS reference, s.first_sale AS occurred_at,
       'sold ' || CAST(s.n_sales AS STRING) || ' time(s) with LabTestingState ' ||
       COALESCE(p.lab_testing_state, 'null (untested)') AS detail,
       p.source_file, p.record
FROM sold s
JOIN untested p ON p.license = s.license AND p.label = s.label
