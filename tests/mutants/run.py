#!/usr/bin/env python3
"""SQL mutation runner for the built-in rules and views (queries/rules/*.sql,
queries/views/*.sql). Development tool, not CI.

For each rule or view file it makes one-token mutants (comparison flips, AND/OR terms dropped, NOT
dropped, IN-list elements dropped, CASE branches swapped, numeric literals nudged, severity
literals changed, COALESCE defaults changed), writes each into a temporary copy of queries/,
and runs the relevant integration tests against the release binary with
TAGTRAIL_DEV_QUERIES pointing at the copy -- no rebuild per mutant. A mutant is killed when
a test fails; it survives when every stage passes. Mutants listed in equivalent.txt are not
run (they cannot change any result; each line says why).

Only the rule's logic is mutated: the select item that builds the human-readable `detail`
text is left alone (its wording is not a compliance decision, and pinning every ROUND digit
of it would make fixtures brittle).

Usage:
  tests/mutants/run.py [--rule ID]... [--list] [--bin TAGTRAIL] [--it IT_HARNESS]
Without --bin/--it it builds (cargo build/test --release --locked --no-run) and finds both
executables of this worktree in $CARGO_TARGET_DIR (default ./target).
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
HERE = Path(__file__).resolve().parent
EQUIVALENT = HERE / "equivalent.txt"
REPORT = HERE / "last-run.txt"

# Test stages, cheapest first; a mutant is killed by the first stage that fails.
STAGES = [
    ["rules::rules_any_case_fails_fast", "rules::rules_listed_severities_match_spec",
     "--include-ignored"],
    ["truth::"],
]
STAGE_TIMEOUT_S = 300
SEVERITIES = ["info", "low", "medium", "high", "critical"]

TOKEN = re.compile(
    r"""(?P<comment>--[^\n]*)
      |(?P<string>'(?:[^']|'')*')
      |(?P<number>\d+(?:\.\d+)?)
      |(?P<word>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)
      |(?P<op><>|!=|>=|<=|\|\||[<>=(),+\-*/;.%])
      |(?P<ws>\s+)
      |(?P<other>.)""",
    re.X | re.S,
)


class Tok:
    """One significant token: kind, text, offsets, paren depth, upper-cased word."""

    def __init__(self, kind, text, start, depth):
        self.kind, self.text, self.start, self.end = kind, text, start, start + len(text)
        self.depth = depth
        self.up = text.upper() if kind == "word" else text


def tokenize(sql):
    """Significant tokens (no whitespace, no comments) and the comment tokens."""
    toks, comments, depth = [], [], 0
    for m in TOKEN.finditer(sql):
        kind, text = m.lastgroup, m.group()
        if kind == "ws":
            continue
        if kind == "comment":
            comments.append(Tok(kind, text, m.start(), depth))
            continue
        if text == ")":
            depth -= 1
        toks.append(Tok(kind, text, m.start(), depth))
        if text == "(":
            depth += 1
    return toks, comments


class Mutant:
    def __init__(self, rule, op, pos, sql, edits, desc):
        self.rule, self.op, self.desc = rule, op, desc
        line = sql.count("\n", 0, pos) + 1
        col = pos - (sql.rfind("\n", 0, pos) + 1) + 1
        self.key = f"{rule} L{line}:{col} {op}: {desc}"
        text = sql
        for start, end, repl in sorted(edits, reverse=True):
            text = text[:start] + repl + text[end:]
        self.text = text


def short(sql, start, end, width=60):
    s = " ".join(sql[start:end].split())
    return s if len(s) <= width else s[: width - 1] + "…"


def detail_spans(toks):
    """Offsets of select items that end in `AS detail` (left unmutated, see the docstring)."""
    spans = []
    for i, t in enumerate(toks):
        if t.up == "AS" and i + 1 < len(toks) and toks[i + 1].up == "DETAIL":
            j = i - 1
            while j >= 0 and not (
                toks[j].depth == t.depth and (toks[j].text == "," or toks[j].up == "SELECT")
            ):
                j -= 1
            spans.append((toks[j + 1].start, toks[i + 1].end))
    return spans


def matching(toks, i):
    """Index of the `)` closing the `(` at i."""
    for j in range(i + 1, len(toks)):
        if toks[j].text == ")" and toks[j].depth == toks[i].depth:
            return j
    raise ValueError("unbalanced parentheses")


CLAUSE_END = {"GROUP", "ORDER", "HAVING", "LIMIT", "JOIN", "LEFT", "RIGHT", "INNER", "CROSS",
              "FULL", "UNION", "WHERE", "THEN", "SELECT", "FROM", "ON", "WINDOW", "QUALIFY"}


def clause_end(toks, i):
    """Index one past the last token of the boolean clause starting after toks[i]."""
    d = toks[i].depth
    j = i + 1
    while j < len(toks):
        t = toks[j]
        if t.depth < d or (t.depth == d and (t.up in CLAUSE_END or t.text in (",", ";"))):
            break
        j += 1
    return j


def term_mutants(sql, toks, lo, hi, mk, top_keyword):
    """Drop each AND/OR term of toks[lo:hi] in turn; recurse into parenthesised terms."""
    if lo >= hi:
        return
    d = toks[lo].depth
    conns, between = [], False
    for j in range(lo, hi):
        t = toks[j]
        if t.depth != d:
            continue
        if t.up == "BETWEEN":
            between = True
        elif t.up == "AND" and between:
            between = False
        elif t.up in ("AND", "OR"):
            conns.append(j)
    bounds = [lo] + [c + 1 for c in conns]
    ends = conns + [hi]
    terms = list(zip(bounds, ends))
    if conns:
        for n, (a, b) in enumerate(terms):
            if n == 0:
                edit = (toks[a].start, toks[terms[1][0]].start, "")
            else:
                edit = (toks[terms[n - 1][1] - 1].end, toks[b - 1].end, "")
            kw = toks[conns[n - 1]].up if n else toks[conns[0]].up
            mk("drop-term", toks[a].start, [edit],
               f"drop {kw} term `{short(sql, toks[a].start, toks[b - 1].end)}`")
    elif top_keyword in ("WHERE", "HAVING"):
        mk("drop-term", toks[lo].start, [(toks[lo].start, toks[hi - 1].end, "TRUE")],
           f"{top_keyword} `{short(sql, toks[lo].start, toks[hi - 1].end)}` -> TRUE")
    for a, b in terms:
        # A term that is one parenthesised group, maybe behind NOT: its own terms too.
        k = a + 1 if toks[a].up == "NOT" else a
        if toks[k].text == "(" and matching(toks, k) == b - 1 and b - k > 2:
            term_mutants(sql, toks, k + 1, b - 1, mk, "(")


def case_mutants(sql, toks, i, mk):
    """CASE at toks[i]: swap each THEN result with the ELSE result (NULL when absent)."""
    d, j, results, else_at, nest = toks[i].depth, i + 1, [], None, 0
    marks = []
    while j < len(toks):
        t = toks[j]
        if t.depth == d:
            if t.up == "CASE":
                nest += 1
            elif t.up == "END" and nest:
                nest -= 1
            elif not nest and t.up in ("WHEN", "ELSE", "END"):
                marks.append(j)
                if t.up == "ELSE":
                    else_at = j
                if t.up == "END":
                    break
            elif not nest and t.up == "THEN":
                marks.append(j)
        j += 1
    end_at = j
    for n, m in enumerate(marks):
        if toks[m].up != "THEN":
            continue
        a, b = m + 1, marks[n + 1]
        then_txt = sql[toks[a].start:toks[b - 1].end]
        if else_at is not None:
            e_a, e_b = else_at + 1, end_at
            else_txt = sql[toks[e_a].start:toks[e_b - 1].end]
            edits = [(toks[a].start, toks[b - 1].end, else_txt),
                     (toks[e_a].start, toks[e_b - 1].end, then_txt)]
            desc = f"swap THEN `{short(sql, toks[a].start, toks[b - 1].end, 25)}` with ELSE"
        else:
            edits = [(toks[a].start, toks[b - 1].end, "NULL"),
                     (toks[end_at].start, toks[end_at].start, f"ELSE {then_txt} ")]
            desc = f"swap THEN `{short(sql, toks[a].start, toks[b - 1].end, 25)}` with ELSE NULL"
        mk("case-swap", toks[a].start, edits, desc)


def nudge(text):
    """Nudged values of a numeric literal, keeping its decimals."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    v = float(text)
    out = [v + 1] + ([v - 1] if v != 0 else [])
    return [f"{x:.{decimals}f}" for x in out]


def neighbours(sev):
    i = SEVERITIES.index(sev)
    return [SEVERITIES[k] for k in (i - 1, i + 1) if 0 <= k < len(SEVERITIES)]


FLIP = {">": ">=", ">=": ">", "<": "<=", "<=": "<", "=": "<>", "<>": "=", "!=": "="}


def mutants_of(rule, sql):
    """Every mutant of one rule file, in file order."""
    toks, comments = tokenize(sql)
    skip = detail_spans(toks)
    out, seen = [], set()

    def mk(op, pos, edits, desc):
        if any(a <= e[0] < b for e in edits for a, b in skip):
            return
        m = Mutant(rule, op, pos, sql, edits, desc)
        if m.text != sql and m.text not in seen:
            seen.add(m.text)
            out.append(m)

    for c in comments:
        hit = re.match(r"--\s*severity:\s*(\w+)", c.text)
        if hit and hit.group(1) in SEVERITIES:
            a = c.start + hit.start(1)
            for s in neighbours(hit.group(1)):
                mk("severity", a, [(a, a + len(hit.group(1)), s)], f"header severity -> {s}")
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in FLIP:
            mk("compare", t.start, [(t.start, t.end, FLIP[t.text])], f"`{t.text}` -> `{FLIP[t.text]}`")
        elif t.up in ("WHERE", "ON", "HAVING", "WHEN"):
            term_mutants(sql, toks, i + 1, clause_end(toks, i), mk, t.up)
        elif t.up == "NOT":
            nxt = toks[i + 1] if i + 1 < len(toks) else t
            mk("drop-not", t.start, [(t.start, nxt.start, "")],
               f"drop NOT before `{short(sql, nxt.start, nxt.end)}`")
        elif t.up == "IN" and toks[i + 1].text == "(" and toks[i + 2].up != "SELECT":
            close = matching(toks, i + 1)
            commas = [j for j in range(i + 2, close) if toks[j].text == "," and toks[j].depth == t.depth + 1]
            elems = list(zip([i + 2] + [c + 1 for c in commas], commas + [close]))
            for n, (a, b) in enumerate(elems if len(elems) > 1 else []):
                # The element with its own comma: the next one for the first, else the previous.
                cut = (toks[a].start, toks[b + 1].start) if n == 0 else (toks[a - 1].start, toks[b - 1].end)
                mk("in-drop", toks[a].start, [(cut[0], cut[1], "")],
                   f"drop IN element {short(sql, toks[a].start, toks[b - 1].end)}")
        elif t.up == "CASE":
            case_mutants(sql, toks, i, mk)
        elif t.kind == "number":
            for v in nudge(t.text):
                mk("number", t.start, [(t.start, t.end, v)], f"{t.text} -> {v}")
        elif t.kind == "string" and t.text.strip("'") in SEVERITIES:
            for s in neighbours(t.text.strip("'")):
                mk("severity", t.start, [(t.start, t.end, f"'{s}'")], f"{t.text} -> '{s}'")
        elif t.up == "COALESCE" and toks[i + 1].text == "(":
            close = matching(toks, i + 1)
            commas = [j for j in range(i + 2, close) if toks[j].text == "," and toks[j].depth == t.depth + 1]
            if not commas:
                continue
            first = sql[toks[i + 2].start:toks[commas[0] - 1].end]
            mk("coalesce", t.start, [(t.start, toks[close].end, f"({first})")],
               f"COALESCE(`{short(first, 0, len(first), 30)}`, …) -> no default")
            last = toks[commas[-1] + 1]
            if last.kind == "string" and commas[-1] + 2 == close:
                repl = "'mutant'" if last.text == "''" else "''"
                mk("coalesce", last.start, [(last.start, last.end, repl)],
                   f"COALESCE default {last.text} -> {repl}")
    return out


def load_equivalent():
    """key -> reason, from equivalent.txt (`key | reason`, `#` comments)."""
    eq = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#") and " | " in line:
                key, reason = line.split(" | ", 1)
                eq[key.strip()] = reason.strip()
    return eq


def cargo_env():
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(ROOT / "target"))
    return env


def built_here(exe):
    """True when `exe` holds this worktree's library: it embeds its CARGO_MANIFEST_DIR, and a
    sibling worktree's path there means the sibling's code."""
    data = Path(exe).read_bytes()
    listed = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT,
                            capture_output=True, text=True).stdout
    # Worktrees only: a target folder beside ROOT (its build scripts' OUT_DIR is embedded
    # too) is not a sibling's code.
    siblings = [Path(l[len("worktree "):]) for l in listed.splitlines() if l.startswith("worktree ")]
    others = [s for s in siblings if s != ROOT
              and re.search(re.escape(str(s).encode()) + rb"(?![-\w])(?!/target)", data)]
    return str(ROOT).encode() in data and not others


def private_copy(exe):
    """Hard-link `exe` into ROOT/.mutants-bin: other worktrees sharing CARGO_TARGET_DIR
    relink the same deps/<name>-<hash> file names (the hash does not depend on the worktree's
    path), and a relink is a new inode, so our link keeps this worktree's build."""
    exe = Path(exe)
    keep = ROOT / ".mutants-bin"
    keep.mkdir(exist_ok=True)
    dest = keep / exe.name
    dest.unlink(missing_ok=True)
    os.link(exe, dest)
    return str(dest)


def build_once(env):
    """One attempt: (tagtrail, it) private links, or None when a sibling's build got in."""
    target = Path(env["CARGO_TARGET_DIR"])
    # Worktrees share unit hashes and Cargo compares mtimes only: touch the crate roots so
    # this worktree's sources look newer than a sibling's outputs and are compiled again.
    for root in ("src/lib.rs", "src/main.rs", "tests/it/main.rs"):
        (ROOT / root).touch()
    subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, env=env, check=True)
    ino = (target / "release" / "tagtrail").stat().st_ino
    tagtrail = next(p for p in (target / "release" / "deps").iterdir() if p.stat().st_ino == ino)
    tagtrail = private_copy(tagtrail)
    out = subprocess.run(
        ["cargo", "test", "--release", "--locked", "--no-run", "--message-format=json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout
    it = None
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "it" and msg.get("executable"):
            it = private_copy(msg["executable"])
    return (tagtrail, it) if built_here(tagtrail) and built_here(it) else None


def build():
    """Build the release binary and the test harness of this worktree (retrying while a
    sibling worktree's build, waiting on the same lock, overwrites ours)."""
    env = cargo_env()
    for attempt in range(6):
        got = build_once(env)
        if got:
            return got
        print(f"attempt {attempt + 1}: a sibling worktree's build got in; building again", flush=True)
    sys.exit("could not get this worktree's build; pass --bin and --it")


WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def readers_of_views():
    """View file name (`views/<stem>`) -> the rule ids whose SQL reads that view, directly
    or through other views (a word equal to a view's name counts: at worst a rule too many)."""
    views = {}
    for f in sorted(QUERIES.glob("views/*.sql")):
        text = f.read_text(encoding="utf-8")
        m = re.search(r"--\s*(?:view|parameter):\s*(\w+)", text)
        views[name_of(f)] = (m.group(1) if m else f.stem, set(WORD.findall(text)))
    rules = {f.stem: set(WORD.findall(f.read_text(encoding="utf-8")))
             for f in QUERIES.glob("rules/*.sql")}
    out = {}
    for key, (name, _) in views.items():
        names, grew = {name}, True
        while grew:  # every view reading one of `names`, until none is added
            more = {n for n, words in views.values() if words & names} - names
            names |= more
            grew = bool(more)
        out[key] = sorted(r for r, words in rules.items() if words & names)
    return out


def run_tests(args, qdir, rule=""):
    """None when every stage passes, else (stage, why). `rule` (rule ids, comma-separated)
    is named to the fail-fast stage, which runs those rules' own cases first."""
    env = dict(os.environ, TAGTRAIL_BIN=args.bin, TAGTRAIL_DEV_QUERIES=str(qdir), RUST_BACKTRACE="0",
               TAGTRAIL_MUTANT_RULE=rule)
    for stage in STAGES:
        try:
            p = subprocess.run([args.it, *stage, "--test-threads", "2"], env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=STAGE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return stage[0], "timeout"
        if "running 0 tests" in p.stdout:
            sys.exit(f"stage {stage} ran no test: was a test renamed?")
        if p.returncode != 0:
            invalid = "Some(2)" in p.stdout and "stderr:" in p.stdout and "rule" in p.stdout
            return stage[0], "invalid SQL (exit 2)" if invalid else "test failed"
    return None


def name_of(path):
    """A rule file is named by its rule id, a view file as `views/<stem>`."""
    return path.stem if path.parent.name == "rules" else f"views/{path.stem}"


def relative_path(name):
    """Inverse of name_of, relative to queries/."""
    return f"{name}.sql" if name.startswith("views/") else f"rules/{name}.sql"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rule", action="append", help="only this rule id (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--survivors-of", metavar="REPORT",
                    help="only the survivors listed in an earlier report (after adding fixtures)")
    ap.add_argument("--bin", help="tagtrail binary (default: build and find it)")
    ap.add_argument("--it", help="integration-test harness target/release/deps/it-<hash>")
    ap.add_argument("--report", default=str(REPORT), help=f"report file (default {REPORT})")
    ap.add_argument("--resume", metavar="LOG",
                    help="take the verdicts of the mutants an interrupted run's output (LOG) "
                         "already printed, with the same rules and binary")
    args = ap.parse_args()

    files = sorted(QUERIES.glob("rules/*.sql")) + sorted(QUERIES.glob("views/*.sql"))
    if args.rule:
        files = [f for f in files if name_of(f) in args.rule]
        if not files:
            sys.exit(f"no rule or view file for {args.rule}")
    mutants = [m for f in files for m in mutants_of(name_of(f), f.read_text(encoding="utf-8"))]
    equivalent = load_equivalent()
    if args.survivors_of:
        text = Path(args.survivors_of).read_text(encoding="utf-8")
        listed = {line[len("SURVIVED"):].strip() for line in text.splitlines()
                  if line.startswith("SURVIVED ")}
        mutants = [m for m in mutants if m.key in listed]
    if args.list:
        for m in mutants:
            print(("[equivalent] " if m.key in equivalent else "") + m.key)
        print(f"{len(mutants)} mutants")
        return
    if not (args.bin and args.it):
        args.bin, args.it = build()
    print(f"binary {args.bin}\nharness {args.it}", flush=True)

    with tempfile.TemporaryDirectory(prefix="tagtrail-mutants-") as tmp:
        qdir = Path(tmp) / "queries"
        shutil.copytree(QUERIES, qdir)
        base = run_tests(args, qdir)
        if base:
            sys.exit(f"the unmutated rules fail {base[0]} ({base[1]}): fix that first")
        results, started = [], time.time()
        earlier = resumed(args.resume) if args.resume else {}
        readers = readers_of_views()
        for n, m in enumerate(mutants, 1):
            if m.key in equivalent:
                status = "equivalent"
            elif m.key in earlier:
                status = earlier[m.key]
            else:
                target = qdir / relative_path(m.rule)
                target.write_text(m.text, encoding="utf-8")
                first = ",".join(readers.get(m.rule, [])) if m.rule.startswith("views/") else m.rule
                verdict = run_tests(args, qdir, first)
                shutil.copyfile(QUERIES / relative_path(m.rule), target)
                status = f"killed by {verdict[0]} ({verdict[1]})" if verdict else "SURVIVED"
            results.append((m, status))
            print(f"[{n}/{len(mutants)}] {status:40} {m.key}", flush=True)
    write_report(args, results, time.time() - started, equivalent)


def resumed(log):
    """Mutant key -> status from the `[n/N] status key` lines of an earlier run's output."""
    line = re.compile(r"^\[\d+/\d+\] (SURVIVED|equivalent"
                      r"|killed by \S+ \((?:test failed|timeout|invalid SQL \(exit 2\))\))\s+(\S.*)$")
    out = {}
    for text in Path(log).read_text(encoding="utf-8").splitlines():
        m = line.match(text)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def write_report(args, results, seconds, equivalent):
    per_rule = {}
    for m, status in results:
        row = per_rule.setdefault(m.rule, {"killed": 0, "invalid": 0, "survived": 0, "equivalent": 0})
        kind = ("equivalent" if status == "equivalent" else "survived" if status == "SURVIVED"
                else "invalid" if "invalid" in status else "killed")
        row[kind] += 1
    lines = [f"{'rule':42} killed invalid survived equivalent"]
    for rule, r in sorted(per_rule.items()):
        lines.append(f"{rule:42} {r['killed']:6} {r['invalid']:7} {r['survived']:8} {r['equivalent']:10}")
    tot = {k: sum(r[k] for r in per_rule.values()) for k in ("killed", "invalid", "survived", "equivalent")}
    lines.append(f"{'TOTAL':42} {tot['killed']:6} {tot['invalid']:7} {tot['survived']:8} {tot['equivalent']:10}")
    lines.append(f"{len(results)} mutants in {seconds:.0f} s")
    survivors = [m.key for m, s in results if s == "SURVIVED"]
    partial = args.rule or args.survivors_of
    stale = sorted(set(equivalent) - {m.key for m, _ in results}) if not partial else []
    text = "\n".join(lines) + "\n"
    if survivors:
        text += "\nSurvivors (add a fixture, or a line to equivalent.txt):\n" + "\n".join(survivors) + "\n"
    if stale:
        text += "\nequivalent.txt lines matching no mutant (stale):\n" + "\n".join(stale) + "\n"
    print("\n" + text)
    full = "\n".join(f"{s:40} {m.key}" for m, s in results)
    Path(args.report).write_text(text + "\nAll mutants:\n" + full + "\n", encoding="utf-8")
    if survivors:
        sys.exit(1)


if __name__ == "__main__":
    main()
