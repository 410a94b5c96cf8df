#!/usr/bin/env bash
# cargo-mutants over the Rust core. Development tool, not CI (see CONTRIBUTING.md).
#
#   tests/mutants/cargo-mutants.sh [FILE...] [-- CARGO-MUTANTS OPTIONS]
#
# Default files: the core the rules stand on (normalisation of quantities and times, the
# count-sheet reader, the lineage graph, the atomic store, the profile). Results go to
# mutants.out/ (ignored by git); `--iterate` skips the mutants an earlier run caught, so a
# long run can be continued; `--shard k/n` splits it.
#
# Cost: each mutant rebuilds the tagtrail crate only. It is compiled at opt-level 0 with
# incremental compilation while every dependency keeps its release build (a per-package
# profile override changes no dependency's fingerprint), so no Polars rebuild is needed.
# By default the unit tests (`--lib`) run per mutant; CARGO_TEST_ARGS chooses others, e.g.
#   CARGO_TEST_ARGS='--lib --test it -- config:: cli::' tests/mutants/cargo-mutants.sh src/config.rs
# (integration tests add two links and an unoptimised binary per mutant).
set -euo pipefail
cd "$(dirname "$0")/../.."

files=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    files+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
[ ${#files[@]} -eq 0 ] && files=(
    src/ingest/normalize.rs
    src/ingest/counts.rs
    src/checks/lineage.rs
    src/store/batch.rs
    src/store/encoding.rs
    src/store/scan.rs
    src/store/write.rs
    src/config.rs
)

command -v cargo-mutants >/dev/null || {
    echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
    exit 2
}

args=()
for f in "${files[@]}"; do
    args+=(--file "$f")
done

export CARGO_INCREMENTAL=1
# mold links a mutant's test binary in a second instead of half a minute; `mold -run`
# swaps the linker without a setting that would change every dependency's fingerprint.
wrap=()
command -v mold >/dev/null && wrap=(mold -run)
# What `cargo test` runs per mutant (test-name filters after the inner `--`).
read -r -a test_args <<<"${CARGO_TEST_ARGS:---lib}"
exec "${wrap[@]}" cargo mutants "${args[@]}" --profile release --minimum-test-timeout 120 \
    --cargo-arg=--config=profile.release.package.tagtrail.opt-level=0 \
    --cargo-arg=--config=profile.release.package.tagtrail.debug=0 \
    --cargo-arg=--config=profile.release.package.tagtrail.codegen-units=256 \
    "$@" -- "${test_args[@]}"
