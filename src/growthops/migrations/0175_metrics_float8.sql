-- 0175 ads.metrics_daily: float8 copies of the two money columns, for the analysis scans
-- (issue 16). Money stays numeric(18,6), the record; the daily cycle's window scan
-- (growthops.ads.analysis.window) sums and logs the float8 copies. Each numeric::float8 cast
-- goes through the number's text form (numeric_float8 calls numeric_out then float8in), and
-- the scan evaluated about fifteen of them per row: bench/window_scan.py measured the casts at
-- 35-38 % of the scan's CPU (docs/performance.md §4d, §4f). A stored generated column pays the
-- cast once, when the row is written. Adding them rewrites the table once (ACCESS EXCLUSIVE
-- for the rewrite: on a large install, run the migration in a quiet hour).
alter table ads.metrics_daily
  add column spend_f float8 generated always as (spend::float8) stored,
  add column conversion_value_f float8 generated always as (conversion_value::float8) stored;
