#!/usr/bin/env bash
# End-to-end figures for one data set: generate N packages (with their adjustments,
# transfers, sales, history and count sheets), then time `tagtrail ingest` and
# `tagtrail check` on it and print input MB/s, rows/s and peak RSS of each stage.
#
#   benches/pipeline.sh [PACKAGES] [LICENSES] [FORMAT]     defaults: 1000000 20 jsonl
#
# Run by hand (not in CI). Work files go to benches/work/ (git-ignored); the data set is
# kept between runs for the same size, so a second run only times tagtrail.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=${1:-1000000}
licenses=${2:-20}
format=${3:-jsonl}
work=benches/work/pipeline-$packages-$licenses-$format
bin=${CARGO_TARGET_DIR:-target}/release/tagtrail
cargo build --release --quiet
mkdir -p "$work"
if [ ! -f "$work/data/truth.csv" ]; then
  echo "generating $packages packages for $licenses licenses ($format)…" >&2
  "$bin" generate --quiet --out "$work/data" --licenses "$licenses" --packages "$packages" --seed 1 --format "$format"
fi
export_mb=$(du -sm "$work/data/export" | cut -f1)
counts_mb=$(du -sm "$work/data/counts" | cut -f1)
sync

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >/dev/null 2>"$work/$name.stderr" || {
    cat "$work/$name.stderr" >&2; return 1; }
  read -r secs rss_kb < "$work/time.txt"
  echo "$secs $rss_kb"
}

read -r ingest_s ingest_kb < <(measure ingest "$bin" ingest --quiet --export "$work/data/export" --counts "$work/data/counts" --out "$work/out")
rows=$(python3 -c "import json,sys; m=json.load(open('$work/out/manifest.json')); print(sum(i['rows_in'] for i in m['inputs']))" 2>/dev/null || echo 0)
read -r check_s check_kb < <(measure check "$bin" check --quiet --out "$work/out")
read -r report_s report_kb < <(measure report "$bin" report --quiet --out "$work/out")
findings=$(python3 -c "import json; m=json.load(open('$work/out/manifest.json')); print([o['rows'] for o in m['outputs'] if o['path']=='findings.parquet'][0])" 2>/dev/null || echo '?')

awk -v p="$packages" -v l="$licenses" -v emb="$export_mb" -v cmb="$counts_mb" -v rows="$rows" \
    -v is="$ingest_s" -v ik="$ingest_kb" -v cs="$check_s" -v ck="$check_kb" \
    -v rs="$report_s" -v rk="$report_kb" -v f="$findings" -v cores="$(nproc)" 'BEGIN {
  printf "data:   %d packages, %d licenses, export %d MB + counts %d MB, %d input records (%d cores)\n", p, l, emb, cmb, rows, cores
  printf "ingest: %6.2f s  %7.1f MB/s  %9.0f rows/s  peak RSS %6.0f MB\n", is, (emb+cmb)/is, rows/is, ik/1024
  printf "check:  %6.2f s  %d findings  peak RSS %6.0f MB\n", cs, f, ck/1024
  printf "report: %6.2f s  peak RSS %6.0f MB\n", rs, rk/1024
  printf "total:  %6.2f s\n", is+cs+rs
}'
