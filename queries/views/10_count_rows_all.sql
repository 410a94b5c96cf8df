-- view: count_rows_all
-- materialize: yes
-- description: every count row, read or rejected (a rejected row's readable label was counted, and its time counts)
SELECT license, label, counted_at_end, counted_date, FALSE AS rejected FROM counts
UNION ALL
SELECT license, label, counted_at_end, counted_date, TRUE AS rejected FROM count_rejects
