#!/usr/bin/env bash
# Every Parquet output of the sample run read by the clients people use (pyarrow, pandas,
# DuckDB, Polars, Spark): see read_all.py. Python packages go into a venv under target/
# (made once, from the package registry); the binary is $TAGTRAIL_BIN, else the release
# build (built when absent). Skipped, exit 0, where python3 or its venv module is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v python3 >/dev/null 2>&1; then
    echo "skipped: no python3"
    exit 0
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "skipped: python3 has no venv/ensurepip module (Debian: apt-get install python3-venv)"
    exit 0
fi

venv=target/clients-venv
packages=(pyarrow pandas duckdb polars pyspark openpyxl)
# Installed once; a new package list (the stamp differs) installs again.
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.tagtrail-packages" 2>/dev/null)" != "${packages[*]}" ]; then
    echo "== making $venv (${packages[*]})"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
    echo "${packages[*]}" >"$venv/.tagtrail-packages"
fi

bin=${TAGTRAIL_BIN:-${CARGO_TARGET_DIR:-target}/release/tagtrail}
if [ ! -x "$bin" ]; then
    cargo build --release --locked
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" run --quiet --out "$out/out"
# Spark binds to the loopback address and keeps its log to errors.
SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1} "$venv/bin/python" tests/clients/read_all.py "$out/out" \
    2> >(grep -vE '^(WARNING|Using Spark|Setting default log|To adjust logging|[0-9/]+ [0-9:]+ WARN )|FutureWarning|require_minimum_pandas_version|^\[Stage' >&2)
