-- parameter: earliest_count_point
-- description: the batch's earliest evaluation time (NULL without counts)
-- A parameter, not a join: a literal bound lets the scans below skip what is before it
-- (most changes; Parquet statistics skip whole row groups) before they meet the count points.
SELECT MIN(t) AS value FROM count_points
