-- view: known_counts
-- materialize: yes
-- description: the counts known of each license of the export, one per local count date (this run's count rows, and with --previous the earlier runs'), with `due_end`, the end of the 30th local calendar day after it
SELECT license, counted_date, counted_at, day, due_end, source_file, record, origin
FROM known_counts_all
WHERE license IN (SELECT license FROM licenses)
