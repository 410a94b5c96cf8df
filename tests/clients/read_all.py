#!/usr/bin/env python3
"""Read every Parquet output of a tagtrail OUT folder with the clients people use.

    read_all.py OUT

Each output the manifest lists (`lake/<table>` folders, findings.parquet, summary.parquet,
rejects.parquet) is read as-is with pyarrow (`read_table`), pandas (`read_parquet`),
DuckDB (`read_parquet(..., hive_partitioning=true)`), Polars and Apache Spark
(`spark.read.parquet`); rows must equal the manifest's, a lake table must come back with
its partition column `license`, and pyarrow must see no Arrow view type. Prints one line
per output and client and exits 1 on any failure. Spark is skipped, with a note, when
`java` is not on the PATH.
"""

import json
import os
import shutil
import sys
import traceback

CLIENTS = ["pyarrow", "pandas", "duckdb", "polars", "spark"]


def read_pyarrow(path, lake):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    views = [
        f"{f.name}: {f.type}"
        for f in table.schema
        if pa.types.is_string_view(f.type) or pa.types.is_binary_view(f.type)
    ]
    if views:
        raise AssertionError(f"view types: {', '.join(views)}")
    return table.num_rows, table.column_names


def read_pandas(path, lake):
    import pandas as pd

    df = pd.read_parquet(path)
    return len(df), list(df.columns)


def read_duckdb(path, lake):
    import duckdb

    # A table folder as DuckDB is told to read a Hive-partitioned dataset.
    source = os.path.join(path, "*", "*.parquet") if lake else path
    con = duckdb.connect()
    query = "FROM read_parquet(?, hive_partitioning = true)"
    cols = [d[0] for d in con.execute(f"SELECT * {query} LIMIT 0", [source]).description]
    n = con.execute(f"SELECT count(*) {query}", [source]).fetchall()[0][0]
    return n, cols


def read_polars(path, lake):
    import polars as pl

    # A folder is scanned with Hive partitioning (Polars' default for a directory).
    lf = pl.scan_parquet(path)
    cols = lf.collect_schema().names()
    n = lf.select(pl.len()).collect().item()
    if lake:
        # The partition column has a value on every row.
        nulls = lf.select(pl.col("license").null_count()).collect().item()
        if nulls:
            raise AssertionError(f"{nulls} rows without a license")
    return n, cols


_spark = None


def spark_session():
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        _spark = (
            SparkSession.builder.master("local[1]")
            .appName("tagtrail-read-all")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def read_spark(path, lake):
    df = spark_session().read.parquet(path)
    return df.count(), df.columns


READERS = {
    "pyarrow": read_pyarrow,
    "pandas": read_pandas,
    "duckdb": read_duckdb,
    "polars": read_polars,
    "spark": read_spark,
}


def read_workbook(out, manifest):
    """findings.xlsx with pandas (openpyxl): every finding and every reject, one header row."""
    import pandas as pd

    rows = {o["path"]: o["rows"] for o in manifest["outputs"]}
    path = os.path.join(out, "findings.xlsx")
    if "findings.xlsx" not in rows:
        return [("findings.xlsx", "pandas", "not in the manifest")]
    try:
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    except Exception as e:  # noqa: BLE001
        return [("findings.xlsx", "pandas", f"{type(e).__name__}: {e}".splitlines()[0])]
    problems = []
    want = {
        "Findings": min(rows.get("findings.parquet", 0), 1_048_575),
        "Rejects": min(rows.get("rejects.parquet", 0), 1_048_575),
    }
    for sheet, n in want.items():
        got = len(sheets[sheet]) if sheet in sheets else None
        if got != n:
            problems.append(("findings.xlsx", "pandas", f"sheet {sheet}: {got} rows, want {n}"))
    if "Summary" not in sheets or len(sheets["Summary"]) == 0:
        problems.append(("findings.xlsx", "pandas", "no Summary rows"))
    status = "FAIL" if problems else "ok"
    print(f"findings.xlsx (Findings {want['Findings']}, Rejects {want['Rejects']} rows) with pandas: {status}")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    outputs = [
        (o["path"], o["rows"])
        for o in manifest["outputs"]
        if o["path"].startswith("lake/") or o["path"].endswith(".parquet")
    ]
    clients = list(CLIENTS)
    notes = []
    if shutil.which("java") is None:
        clients.remove("spark")
        notes.append("spark: skipped (no `java` on the PATH; Spark needs Java 17 or later)")

    failures = []
    width = max(len(p) for p, _ in outputs)
    print(f"{'output':<{width}}  {'manifest':>8}  " + "  ".join(f"{c:>9}" for c in clients))
    for rel, rows in outputs:
        path = os.path.join(out, rel)
        lake = rel.startswith("lake/")
        cells = []
        for client in clients:
            if lake and not os.path.isdir(path):
                # Every table has a folder, a table without rows too (an empty part).
                failures.append((rel, client, f"no folder for a table of {rows} rows"))
                cells.append("MISSING")
                continue
            try:
                n, cols = READERS[client](path, lake)
                problems = []
                if n != rows:
                    problems.append(f"{n} rows, manifest {rows}")
                if lake and "license" not in cols:
                    problems.append(f"no partition column license in {cols}")
                if problems:
                    failures.append((rel, client, "; ".join(problems)))
                    cells.append("FAIL")
                else:
                    cells.append("ok")
            except Exception as e:  # noqa: BLE001 - every client error is a failure to report
                failures.append((rel, client, f"{type(e).__name__}: {e}".splitlines()[0]))
                if os.environ.get("READ_ALL_TRACEBACK"):
                    traceback.print_exc()
                cells.append("FAIL")
        print(f"{rel:<{width}}  {rows:>8}  " + "  ".join(f"{c:>9}" for c in cells))
    failures.extend(read_workbook(out, manifest))
    for note in notes:
        print(note)
    if _spark is not None:
        _spark.stop()
    if failures:
        print(f"\n{len(failures)} failure(s):")
        for rel, client, why in failures:
            print(f"  {rel} with {client}: {why}")
        return 1
    ok = len(outputs) * len(clients)
    print(f"\nall {len(outputs)} outputs read by {len(clients)} clients ({ok} reads), rows as in the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
