#!/usr/bin/env bash
# The rules on Apache Spark (spark/run.py) against `tagtrail run`: the bundled sample (as is,
# without its counts, without one license's sales file), and a generated set of 50,000 packages with the reconciliation duties
# (--users, --outages); the findings must be equal (compare.py). Uses the
# clients' venv (pyspark, pyarrow; tests/clients/run.sh makes it). Skipped, exit 0, where
# python3 or java is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in python3 java; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skipped: no $tool"
        exit 0
    fi
done
venv=target/clients-venv
if [ ! -x "$venv/bin/python" ]; then
    tests/clients/run.sh >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "skipped: no Python venv with pyspark (see tests/clients/run.sh)"
    exit 0
fi
bin=${TAGTRAIL_BIN:-${CARGO_TARGET_DIR:-target}/release/tagtrail}
[ -x "$bin" ] || cargo build --release --locked
packages=${TAGTRAIL_SPARK_PACKAGES:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
quiet='^(WARNING|Using Spark|Setting default log|To adjust logging|[0-9/]+ [0-9:]+ WARN )|FutureWarning|require_minimum_pandas_version|^\[Stage|^\s*$'
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}

compare() { # name, tagtrail OUT
    local t0=$(date +%s)
    "$venv/bin/python" spark/run.py --out "$2" --findings "$work/$1-spark.parquet" --master "local[2]" \
        2> >(grep -vE "$quiet" >&2) >/dev/null
    "$venv/bin/python" tests/spark/compare.py "$2/findings.parquet" "$work/$1-spark.parquet" "$1"
    echo "   ($1: Spark took $(( $(date +%s) - t0 )) s)"
}

"$bin" run --quiet --out "$work/sample"
compare sample "$work/sample"
"$bin" run --quiet --export data/sample/export --out "$work/sample-uncounted"
compare sample-without-counts "$work/sample-uncounted"
# An export without one license's sales file: that license's counts are not checked.
cp -r data/sample/export "$work/export-lacking"
rm "$work/export-lacking/C11-0000001-LIC/sales.json"
"$bin" run --quiet --export "$work/export-lacking" --counts data/sample/counts \
    --out "$work/sample-lacking"
compare sample-without-a-sales-file "$work/sample-lacking"
"$bin" generate --quiet --out "$work/gen" --packages "$packages" --licenses 8 --seed 17 --duties
"$bin" run --quiet --export "$work/gen/export" --counts "$work/gen/counts" --out "$work/gen-out" \
    --users "$work/gen/users.csv" --outages "$work/gen/outages.csv"
compare "generated-$packages" "$work/gen-out"
