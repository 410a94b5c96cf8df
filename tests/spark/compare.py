#!/usr/bin/env python3
"""Two findings files are the same findings: every (rule, license, package label, related
label, reference, severity, finding key) as often in one as in the other, the times equal
and the quantities within 1e-9 relative. Exit 1 with the differences.

    compare.py TAGTRAIL_FINDINGS OTHER_FINDINGS [NAME]
"""
import math
import sys
from collections import Counter

import pyarrow.parquet as pq

KEY = ["rule_id", "license", "package_label", "related_label", "reference", "severity",
       "finding_key", "source_file", "occurred_at", "recorded_at"]
NUMBERS = ["lag_hours", "system_quantity", "counted_quantity", "variance"]


def rows(path):
    return pq.read_table(path).to_pylist()


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300) or a == b


def main():
    ours, theirs = rows(sys.argv[1]), rows(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else sys.argv[2]
    key = lambda r: tuple(r[k] for k in KEY)
    a, b = Counter(map(key, ours)), Counter(map(key, theirs))
    problems = [f"only in tagtrail: {k}" for k in (a - b)] + [f"only in the other: {k}" for k in (b - a)]
    if not problems:
        by_key = {}
        for r in ours:
            by_key.setdefault(key(r), []).append(r)
        for r in theirs:
            candidates = by_key[key(r)]
            match = next((c for c in candidates if all(close(c[n], r[n]) for n in NUMBERS)), None)
            if match is None:
                problems.append(f"quantities differ for {key(r)}: "
                                f"{[candidates[0][n] for n in NUMBERS]} vs {[r[n] for n in NUMBERS]}")
            else:
                candidates.remove(match)
    if problems:
        print(f"FAIL {name}: {len(problems)} differences", *problems[:20], sep="\n  ")
        sys.exit(1)
    rules = Counter(r["rule_id"] for r in ours)
    print(f"ok {name}: {len(ours)} findings equal ({len(rules)} rules)")


if __name__ == "__main__":
    main()
