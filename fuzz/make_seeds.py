#!/usr/bin/env python3
"""Write the committed seed corpus fuzz/seeds/<target>/ from the repository's inputs.

Run from anywhere: python3 fuzz/make_seeds.py. Seeds are kept small (a few KB each):
libFuzzer grows the working corpus in fuzz/corpus/<target>/ (not committed) from them.
"""
import glob
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REAL = os.path.join(ROOT, "..", "shared", "fixtures", "real", "metrc-api-doc-examples")
MAX = 8 << 10


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def records(path):
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(v, dict):
        v = v.get("Data", [v])
    return v if isinstance(v, list) else []


# json_records: first byte even = JSON, odd = JSON Lines.
json_files = sorted(glob.glob(os.path.join(REAL, "*.json")))
json_files += sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/rules/*/export/*/*.json*")))[::3]
json_files += sorted(glob.glob(os.path.join(ROOT, "data/sample/export/C11-0000001-LIC/*.json")))
for path in json_files:
    recs = records(path)
    with open(path, "rb") as f:
        whole = f.read()
    if len(whole) <= MAX:
        put("json_records", b"\x00" + whole)
    for r in recs[:3]:
        put("json_records", b"\x00" + json.dumps(r).encode())
    if recs:
        lines = "\n".join(json.dumps(r) for r in recs[:4]) + "\n"
        put("json_records", b"\x01" + lines.encode())
        put("json_records", b"\x00" + json.dumps({"Data": recs[:2], "Total": 2}).encode())

# counts_csv: the bundled sample's sheets (head), the rule fixtures', and header variants.
for path in sorted(glob.glob(os.path.join(ROOT, "data/sample/counts/*.csv"))) + sorted(
    glob.glob(os.path.join(ROOT, "tests/fixtures/rules/*/counts/**/*.csv"), recursive=True)
):
    with open(path, "rb") as f:
        put("counts_csv", b"".join(f.readlines()[:12]))
put(
    "counts_csv",
    "\ufeffLicense,Tag,Qty,UOM,Location,Count Date,Counted By\r\n"
    'C11-0000001-LIC,1A4FF0100000022000000001,"1,5",g,"Vault, A",2026-10-20,"J ""Q"" Doe"\r\n'
    "C11-0000001-LIC,1A4FF0100000022000000002,3,fl oz,,10/20/2026 9:00 AM,\r\n",
)
put("counts_csv", "UID;Count\n1A4FF0100000022000000001;4\n")
put("counts_csv", "PackageLabel,Quantity,Unit,Timestamp\n1A4F,2,Each,2026-03-08T02:30:00\n\n\"x\n")

# counts_sheet: the counts_csv seeds, and sheets as operators keep them (SPEC 2.2):
# UTF-16 with BOM, Windows-1252, tab/pipe delimiters, title rows, quantity cells with units.
for name in sorted(os.listdir(os.path.join(HERE, "seeds", "counts_csv"))):
    with open(os.path.join(HERE, "seeds", "counts_csv", name), "rb") as f:
        put("counts_sheet", f.read())
grid = "Inventory count\r\nLicense: C11-0000001-LIC\r\n\r\nPackage Tag\tPackage Item\tPackage Quantity\tUnit of Measure\tCounted At\r\n1a4ff0100000022000000001 \tBuds\t1.234,5 g\tGrams\t2026-10-29T10:00\r\n"
put("counts_sheet", grid)
put("counts_sheet", b"\xff\xfe" + grid.encode("utf-16-le"))
put("counts_sheet", b"\xfe\xff" + grid.encode("utf-16-be"))
put("counts_sheet", "Tag|Qty|Location\n1A4FF0100000022000000001|93 ea|Caf\xe9\n".encode("cp1252"))
put("counts_sheet", "Tag;Quantity (lb);Counted Qty\n1A4F;2;1,5\nTotal;2;\n")

# timestamp: every shape of SPEC 2.3 and the README, and edge values.
for s in [
    "2025-10-03", "2025-10-03T17:35:45.000", "2025-10-03T17:35:45-07:00",
    "2025-10-03T17:35:45Z", "2025-10-03 17:35", "2025-10-03T17:35:45.123456789+05:45",
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59Z", "2026-03-08T02:30:00",
    "2026-11-01T01:30:00", "2026-10-04T02:15:00", "10/03/2025", "10/3/2025 5:35 PM",
    "2025-10-03T17:35:45 +0700", "2024-02-29", "2025-02-29", "2025-10-03t17:35:45z",
]:
    put("timestamp", s)

# unit: unit names and abbreviations, numbers, booleans, quantity types.
for s in [
    "Grams", "g", "Kilograms", "mg", "Ounces", "oz", "lbs", "Each", "ea", "Fluid Ounces",
    "fl. oz.", "gal", "Litres", "ml", "pt", "Quarts", "12.5", " -3 ", "1e3", "NaN", "inf",
    "true", "N", "yes", "WeightBased", "CountBased", "2", "VolumeBased",
]:
    put("unit", s)

# sql_header: first byte is the stem length.
for path in sorted(glob.glob(os.path.join(ROOT, "queries/*.sql"))):
    stem = os.path.basename(path)[: -len(".sql")]
    with open(path, "rb") as f:
        put("sql_header", bytes([len(stem)]) + stem.encode() + f.read())
