#!/usr/bin/env python3
"""Run tagtrail's rules on Apache Spark: the same SQL files, over a lake tagtrail wrote.

    spark/run.py --out OUT --findings PATH [--master URL] [--profile FILE] [--queries DIR]

Reads OUT/lake (hive-partitioned Parquet, one `license=<L>` folder per license), runs
`queries/views/*.sql` in file order (each registered as a temporary view by its name),
then every `queries/rules/*.sql`, and the one graph rule (`lineage.cycle`, Tarjan's
strongly connected components) as a small step on the driver over the few packages that
are both a source and a child. Writes PATH: one Parquet file with the columns of
`findings.parquet` (SPEC section 4, `finding_key` included), worst severity first.

The files are the ones `tagtrail check` runs; this script adds what tagtrail's runner adds
(see src/checks/views.rs and src/checks/mod.rs): the profile's parameter tables and
`:name` parameters, the unit factors, the rule header defaults, and "(record N)" after
each finding's detail. Its findings equal `tagtrail check`'s (tests/spark/).

Needs pyspark (pip install pyspark) and Java 17.
"""

import argparse
import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Canonical lake tables and the names the view files read them by.
TABLES = {
    "packages": "packages_all",
    "package_sources": "package_sources_all",
    "adjustments": "adjustments",
    "transfers": "transfers",
    "transfer_packages": "transfer_packages",
    "sales": "sales",
    "history": "history",
    "lab_results": "lab_results",
    "counts": "counts",
    "count_rejects": "count_rejects",
    "events": "events",
    "users": "users",
    "outages": "outages",
}

# findings.parquet (SPEC section 4) without run_id, and the types a rule's columns become.
OPTIONAL = {
    "package_label": "string", "related_label": "string", "reference": "string",
    "occurred_at": "timestamp", "recorded_at": "timestamp", "lag_hours": "double",
    "system_quantity": "double", "counted_quantity": "double", "variance": "double",
    "unit": "string", "source_file": "string",
}
COLUMNS = ["run_id", "rule_id", "family", "severity", "license", "package_label",
           "related_label", "reference", "occurred_at", "recorded_at", "lag_hours",
           "system_quantity", "counted_quantity", "variance", "unit", "detail", "citation",
           "source_file", "finding_key"]
SEVERITIES = ["critical", "high", "medium", "low", "info"]
SHEET_EXTENSIONS = (".csv", ".tsv", ".xlsx")

# The graph rule's header (tagtrail keeps it in src/checks/mod.rs; it has no SQL file).
CYCLE_RULE = {"id": "lineage.cycle", "family": "lineage", "severity": "critical",
              "citation": "§15047.2(c)"}

# The defaults of tagtrail's profile (src/config.rs).
DEFAULT_PROFILE = {
    "significance": {"basis": "net_difference"},
    "tolerance": {"abs_g": 0.5, "abs_ea": 0.0, "abs_ml": 0.5, "rel": 0.0},
    "lag": {"late_hours": 24.0, "high_hours": 72.0, "early_hours": 1.0},
    "severities": {},
}

# Unit spellings (src/ingest/normalize.rs, parse_unit): factor to g, ea or ml.
UNITS = {
    ("g", "gram", "grams"): 1.0,
    ("kg", "kilogram", "kilograms"): 1000.0,
    ("mg", "milligram", "milligrams"): 0.001,
    ("oz", "ounce", "ounces"): 28.349523125,
    ("lb", "lbs", "pound", "pounds"): 453.59237,
    ("ea", "each"): 1.0,
    ("floz", "fluidounce", "fluidounces"): 29.5735295625,
    ("gal", "gallon", "gallons"): 3785.411784,
    ("l", "liter", "liters", "litre", "litres"): 1000.0,
    ("ml", "milliliter", "milliliters", "millilitre", "millilitres"): 1.0,
    ("pt", "pint", "pints"): 473.176473,
    ("qt", "quart", "quarts"): 946.352946,
}


def unit_factor(raw):
    """The factor of a unit spelling, as tagtrail reads it (dots and blanks ignored)."""
    key = "".join(c for c in raw if c != "." and not c.isspace() and c.isascii()).lower()
    if any(not c.isascii() for c in raw if not c.isspace()):
        return None
    for names, factor in UNITS.items():
        if key in names:
            return factor
    return None


def load_profile(path):
    profile = {k: dict(v) for k, v in DEFAULT_PROFILE.items()}
    if path:
        with open(path, "rb") as f:
            given = tomllib.load(f)
        for section, values in given.items():
            if isinstance(values, dict):
                profile.setdefault(section, {}).update(values)
            elif section == "timezone":
                profile["timezone"] = values
    sig = profile["significance"]
    if "threshold_pct" not in sig:
        sig["threshold_pct"] = 5.0 if sig["basis"] == "net_difference" else 3.0
    return profile


def header(text):
    """`-- key: value` lines before the SQL."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("--"):
            if line:
                break
            continue
        key, sep, value = line[2:].partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def body(text):
    """The SQL without comments (as tagtrail's runner reads it)."""
    lines = []
    for line in text.splitlines():
        i = line.find("--")
        lines.append(line[:i] if i >= 0 and "'" not in line[:i] else line)
    return "\n".join(lines).strip().rstrip(";")


PARAM = re.compile(r"'(?:[^']|'')*'|::|:([A-Za-z_][A-Za-z0-9_]*)")


def used_params(sql):
    return {m.group(1) for m in PARAM.finditer(sql) if m.group(1)}


def spark_session(master):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("tagtrail-rules")
        .config("spark.sql.session.timeZone", "UTC")
        # License folders are names, never numbers or dates.
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
    )
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_lake(spark, lake):
    for table, name in TABLES.items():
        path = lake / table
        if not path.is_dir():
            sys.exit(f"{path}: not a tagtrail lake table (run `tagtrail ingest` first)")
        df = spark.read.option("basePath", str(path)).parquet(str(path))
        df.createOrReplaceTempView(name)
    spark.table("transfer_packages").createOrReplaceTempView("transfer_packages_all")


def register_parameters(spark, profile):
    t, lag, sig = profile["tolerance"], profile["lag"], profile["significance"]
    spark.createDataFrame(
        [("weight", float(t["abs_g"]), float(t["rel"])), ("each", float(t["abs_ea"]), float(t["rel"])),
         ("volume", float(t["abs_ml"]), float(t["rel"]))],
        "quantity_type string, abs_tol double, rel_tol double",
    ).createOrReplaceTempView("tolerances")
    threshold = float(sig["threshold_pct"]) / 100.0
    spark.createDataFrame(
        [(float(lag["late_hours"]), float(lag["high_hours"]), float(lag["early_hours"]), threshold)],
        "late_hours double, high_hours double, early_hours double, threshold double",
    ).createOrReplaceTempView("settings")
    return {
        "late_hours": float(lag["late_hours"]), "high_hours": float(lag["high_hours"]),
        "early_hours": float(lag["early_hours"]), "threshold": threshold,
        "basis": sig["basis"],
        # CAST(timestamp AS DOUBLE) counts seconds in Spark.
        "ts_units_per_hour": 3600.0,
        # The thresholds less a microsecond, as intervals (tagtrail's views.rs, sql_interval).
        "late_bound": interval_bound(float(lag["late_hours"])),
        "early_bound": interval_bound(float(lag["early_hours"])),
    }


def register_duties(spark, timezone, out):
    """`duty_settings` and `known_counts_all` (tagtrail's views.rs `known_counts`): one row
    per license and local count date with its latest count row, and `due_end`, the end of
    the 30th local day after it. Which of --users and --outages the lake holds is read from
    the manifest, as tagtrail does. Spark runs without --as-of and --previous."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    roots = {i.get("root") for i in read_manifest(out).get("inputs", [])}
    spark.createDataFrame(
        [(None, "users" in roots, "outages" in roots)],
        "as_of timestamp, users_given boolean, outages_given boolean",
    ).createOrReplaceTempView("duty_settings")
    rows = spark.sql("""
        SELECT license, counted_date, counted_at_end AS counted_at, source_file, record
        FROM (
          SELECT u.*, ROW_NUMBER() OVER (PARTITION BY license, counted_date
                                         ORDER BY counted_at_end DESC, source_file DESC, record DESC) AS rn
          FROM (SELECT license, counted_date, counted_at_end, source_file, record FROM counts
                UNION ALL
                SELECT license, counted_date, counted_at_end, source_file, record FROM count_rejects) AS u
          WHERE counted_date IS NOT NULL AND counted_at_end IS NOT NULL
        ) AS r
        WHERE rn = 1
    """).collect()
    epoch = dt.date(1970, 1, 1)
    out = []
    for r in rows:
        next_day = dt.datetime.combine(r["counted_date"] + dt.timedelta(days=31), dt.time(), tz)
        due_end = (next_day - dt.timedelta(microseconds=1)).astimezone(dt.timezone.utc)
        out.append((r["license"], r["counted_date"], r["counted_at"], (r["counted_date"] - epoch).days,
                    due_end, r["source_file"], r["record"], "this run"))
    spark.createDataFrame(
        out,
        "license string, counted_date date, counted_at timestamp, day long, due_end timestamp, "
        "source_file string, record long, origin string",
    ).createOrReplaceTempView("known_counts_all")


def read_manifest(out):
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def register_export_files(spark, out):
    """`export_files` (tagtrail's app.rs `check_profile`): (license, kind) of every export
    file the manifest lists, so a counted license whose export lacks its packages, or the
    adjustments or sales other licenses have, is not checked for the count family."""
    rows = sorted({(i["license"], i["kind"]) for i in read_manifest(out).get("inputs", [])
                   if i.get("root") == "export" and i.get("license")})
    spark.createDataFrame(rows, "license string, kind string").createOrReplaceTempView("export_files")


def interval_bound(hours):
    import datetime as dt
    import math

    return dt.timedelta(microseconds=max(math.floor(hours * 3_600_000_000.0) - 1, 0))


def register_unit_factors(spark):
    units = [r[0] for r in spark.sql("SELECT DISTINCT unit FROM packages WHERE unit IS NOT NULL").collect()]
    rows = [(u, unit_factor(u)) for u in units if unit_factor(u) is not None]
    spark.createDataFrame(rows, "unit string, unit_factor double").createOrReplaceTempView("unit_factors")


def run_views(spark, qdir, params):
    for path in sorted((qdir / "views").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        head, sql = header(text), body(text)
        args = {}
        for name in used_params(sql):
            if name not in params:
                sys.exit(f"{path}: parameter :{name} is not defined")
            value = params[name]
            if value is None:
                # A NULL parameter (the earliest count point of a lake without counts) is
                # written in: Spark takes no NULL argument. The only such parameter is a time.
                sql = re.sub(rf":{name}\b", "CAST(NULL AS TIMESTAMP)", sql)
            else:
                args[name] = value
        df = spark.sql(sql, args=args)
        if "parameter" in head:
            row = df.first()
            params[head["parameter"]] = row[0] if row is not None else None
        else:
            name = head["view"]
            if head.get("materialize") == "yes":
                df = df.cache()
            df.createOrReplaceTempView(name)
            if name == "packages":
                register_unit_factors(spark)


def conform(df, rule, profile):
    """A rule's rows with the finding columns (tagtrail's `conform`)."""
    from pyspark.sql import functions as F

    cols = set(df.columns)
    override = profile["severities"].get(rule["id"])
    if "severity" in cols and override is None:
        severity = F.coalesce(F.lower(F.trim(F.col("severity"))), F.lit(rule["severity"]))
    else:
        severity = F.lit(override or rule["severity"])
    out = [F.lit(rule["id"]).alias("rule_id"), F.lit(rule["family"]).alias("family"),
           severity.alias("severity"), F.col("license").cast("string").alias("license")]
    for name, kind in OPTIONAL.items():
        out.append((F.col(name) if name in cols else F.lit(None)).cast(kind).alias(name))
    detail = F.col("detail")
    if "record" in cols and "source_file" in cols:
        sheet = F.lit(False)
        for ext in SHEET_EXTENSIONS:
            sheet = sheet | F.lower(F.col("source_file")).endswith(ext)
        word = F.when(sheet, F.lit(" (line ")).otherwise(F.lit(" (record "))
        detail = F.when(F.col("record").isNotNull(),
                        F.concat(detail, word, F.col("record").cast("string"), F.lit(")"))).otherwise(detail)
    out += [detail.alias("detail"), F.lit(rule["citation"]).alias("citation")]
    return df.select(out)


def run_rules(spark, qdir, profile):
    frames = []
    for path in sorted((qdir / "rules").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        head = header(text)
        rule = {"id": head.get("id", path.stem), "severity": head["severity"],
                "family": head.get("family") or path.stem.split(".")[0],
                "citation": head["citation"]}
        df = conform(spark.sql(body(text)), rule, profile)
        if rule["family"] == "count" and rule["id"] != "count.reconciliation_overdue":
            # tagtrail's checks::plan: no count verdict where the export lacks what the
            # as-of quantities need (count_coverage.count_lacks).
            lacking = spark.table("count_coverage").where("count_lacks IS NOT NULL").select("license")
            df = df.join(lacking, "license", "left_anti")
        frames.append(df)
    frames.append(conform(cycle_findings(spark), CYCLE_RULE, profile))
    return frames


def tarjan(adj):
    """Strongly connected components (iterative): component id per node."""
    n = len(adj)
    index, low, comp = [-1] * n, [0] * n, [-1] * n
    on_stack, stack = [False] * n, []
    counter = components = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            if i < len(adj[v]):
                work[-1] = (v, i + 1)
                w = adj[v][i]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = components
                    if w == v:
                        break
                components += 1
    return comp


def cycle_findings(spark):
    """`lineage.cycle`: every package that is its own ancestor (any cycle, a self-loop too).
    Only packages that are both a child and a source can lie on a cycle; the rest of the
    lineage is dropped in SQL before the graph reaches the driver."""
    edges = spark.sql("""
        WITH e AS (
          SELECT s.license, s.label, s.source_label FROM package_sources s
          WHERE EXISTS (SELECT 1 FROM packages p
                        WHERE p.license = s.license AND p.label = s.source_label)
        )
        SELECT e.license, e.label, e.source_label FROM e
        WHERE EXISTS (SELECT 1 FROM e c WHERE c.license = e.license AND c.source_label = e.label)
          AND EXISTS (SELECT 1 FROM e p WHERE p.license = e.license AND p.label = e.source_label)
        ORDER BY e.license, e.label, e.source_label
    """).collect()
    ids, names, adj = {}, [], []

    def node(key):
        if key not in ids:
            ids[key] = len(names)
            names.append(key)
            adj.append([])
        return ids[key]

    for lic, child, parent in edges:
        a, b = node((lic, child)), node((lic, parent))
        adj[a].append(b)
    comp = tarjan(adj)
    size = {}
    for c in comp:
        size[c] = size.get(c, 0) + 1
    rows = []
    for v, succ in enumerate(adj):
        if size[comp[v]] == 1 and v not in succ:
            continue
        nxt = min((names[w][1] for w in succ if comp[w] == comp[v]), default=None)
        n = size[comp[v]]
        detail = ("package lists itself as its own source" if n == 1 else
                  f"package is its own ancestor: a cycle of {n} packages through source {nxt or '?'}")
        rows.append((names[v][0], names[v][1], nxt, detail))
    found = spark.createDataFrame(
        rows, "license string, package_label string, related_label string, detail string")
    found.createOrReplaceTempView("cycle_found")
    return spark.sql("""
        SELECT f.*, p.source_file, p.record FROM cycle_found f
        LEFT JOIN packages p ON p.license = f.license AND p.label = f.package_label
    """)


def finding_key(row):
    """tagtrail's finding_key (docs/reference.md): SHA-256 of the parts joined by U+001F."""
    parts = [row["rule_id"], row["license"]] + [row[k] or "" for k in
                                                 ("package_label", "related_label", "reference")]
    if row["package_label"] is None:
        parts.append(row["unit"] or "")
    if row["reference"] is None and row["rule_id"].startswith("lag."):
        t = row["occurred_at"]
        parts.append("" if t is None else str(epoch_us(t)))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def epoch_us(t):
    import datetime as dt

    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def write_findings(frames, path, run_id):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [r.asDict() for f in frames for r in f.collect()]
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows.sort(key=lambda r: (rank.get(r["severity"], 9), r["rule_id"], r["license"],
                             r["package_label"] or "\uffff", r["reference"] or "\uffff",
                             r["source_file"] or "\uffff", r["detail"]))
    for r in rows:
        r["run_id"] = run_id
        r["finding_key"] = finding_key(r)
    ts = pa.timestamp("us", tz="UTC")
    types = {"occurred_at": ts, "recorded_at": ts, "lag_hours": pa.float64(),
             "system_quantity": pa.float64(), "counted_quantity": pa.float64(),
             "variance": pa.float64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=schema)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="tagtrail output folder holding lake/")
    ap.add_argument("--findings", required=True, help="Parquet file to write")
    ap.add_argument("--master", help="Spark master URL (default: the session's, local[*])")
    ap.add_argument("--profile", help="tagtrail profile (TOML); default: tagtrail's defaults")
    ap.add_argument("--queries", default=str(ROOT / "queries"),
                    help="folder with views/ and rules/ (default: this repository's)")
    ap.add_argument("--run-id", default="spark", help="run_id column value")
    args = ap.parse_args()

    lake = Path(args.out) / "lake"
    profile = load_profile(args.profile)
    spark = spark_session(args.master)
    try:
        register_lake(spark, lake)
        params = register_parameters(spark, profile)
        zone = (profile.get("timezone") or read_manifest(Path(args.out)).get("options", {}).get("timezone")
                or "America/Los_Angeles")
        register_duties(spark, zone, Path(args.out))
        register_export_files(spark, Path(args.out))
        run_views(spark, Path(args.queries), params)
        frames = run_rules(spark, Path(args.queries), profile)
        n = write_findings(frames, args.findings, args.run_id)
    finally:
        spark.stop()
    print(f"{n} findings -> {args.findings}")


if __name__ == "__main__":
    main()
