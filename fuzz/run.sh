#!/usr/bin/env bash
# Fuzz every target in turn: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s,
# every target). One libFuzzer process at a time (-jobs=1 -workers=1), no sanitizer
# (-s none: Rust is memory-safe, and ASan makes the Polars build much slower), release
# build with debug assertions and overflow checks (cargo-fuzz's default).
#
# Seeds: fuzz/seeds/<target>/ (committed, written by make_seeds.py). The growing corpus
# stays in fuzz/corpus/<target>/ and crashes in fuzz/artifacts/<target>/ (both ignored by
# git); libFuzzer's log of each run is fuzz/logs/<target>.log.
# Needs a nightly toolchain (`rustup toolchain install nightly`). The first build compiles
# Polars with coverage instrumentation: long (CARGO_BUILD_JOBS limits its cores).
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(json_records counts_csv counts_sheet timestamp unit sql_header)
# The same flags for build and run, or `cargo fuzz run` rebuilds everything.
flags=(-s none --codegen-units 16)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked || exit 2
cargo +nightly fuzz build "${flags[@]}" || exit 2
bindir=target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
mkdir -p logs

summary=()
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    rm -f fuzz-0.log
    echo "== $t: ${secs} s"
    # The built target itself, not `cargo fuzz run`: that would rebuild from the working
    # tree before each target, so edits made during a long run would change what is fuzzed.
    "$bindir/$t" "corpus/$t" "seeds/$t" -artifact_prefix="artifacts/$t/" \
        -max_total_time="$secs" -jobs=1 -workers=1 -timeout=30 -rss_limit_mb=4096 \
        -print_final_stats=1 >"logs/$t.run" 2>&1
    rc=$?
    # With -jobs libFuzzer writes the fuzzing process's output to fuzz-0.log.
    cat "logs/$t.run" fuzz-0.log >"logs/$t.log" 2>/dev/null
    rm -f fuzz-0.log "logs/$t.run"
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
    runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "logs/$t.log" | tail -1 | awk '{print $2}')
    [ -z "$runs" ] && runs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#')
    cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
    ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
    corp=$(ls "corpus/$t" | wc -l)
    new=$(( $(ls "artifacts/$t" | wc -l) - before ))
    if [ "$new" -gt 0 ] || ! grep -q 'Done [0-9]* runs' "logs/$t.log"; then
        crash="CRASH (exit $rc): $(ls -t "artifacts/$t" | head -1) — see fuzz/logs/$t.log"
        status=1
    else
        crash="no crash"
    fi
    line="$t: ${secs} s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp}, ${crash}"
    echo "$line"
    summary+=("$line")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
