#!/usr/bin/env bash
# Benchmarks and the perf test build and run (both in the workspace member
# benches/, package vm-mem-benches). CI proves that they work, not how fast
# they are (CI machines are shared; the figures in BENCHMARKS.md and the
# README come from a quiet run of the README's perf command), so it builds
# them without the bench profile's LTO and single codegen unit, which only
# cost build time here, and shares one build between the criterion benches
# and the perf test (same profile, same features).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
cargo bench -p vm-mem-benches --features svg --no-run
perf() { cargo run -q --profile bench -p vm-mem-benches --features svg --bin read_perf_test -- "$@"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf --iters 3 --svg "$out/speed.svg" > "$out/text.txt"
perf --iters 2 --markdown > "$out/table.md"
perf --iters 2 --csv > "$out/samples.csv"
# The summary comes first, with its machine and what it means; every
# mode's table and the last one follow; the output grades nothing (goals
# and misses are BENCHMARKS.md's). The CSV has its header and one line per
# sample, and the SVG was drawn.
sed -n 3p "$out/text.txt" | grep -q '^How fast: u64 accesses'
grep -q '^Measured on .* logical CPUs' "$out/text.txt"
grep -q '^What this means: ' "$out/text.txt"
grep -q '^reads: exclusive' "$out/text.txt"
grep -q '^threads: aggregate u64 reads' "$out/text.txt"
grep -q '^instruction-set simulator' "$out/text.txt"
if grep -inE 'missed|verdict|\bmet\b|\bpass(ed)?\b|\bfail(ed)?\b|goal' "$out/text.txt"; then
    echo "FAIL: the perf test grades its figures (the lines above); goals belong in BENCHMARKS.md" >&2
    exit 1
fi
grep -q '^#### writes: shared' "$out/table.md"
head -1 "$out/samples.csv" | grep -q '^group,mode,case,ops,bytes,time_ms'
test "$(wc -l < "$out/samples.csv")" -gt 90
grep -q '<svg' "$out/speed.svg"
# The README's "How fast" table is the --markdown summary, pasted: same
# header and the same rows, in order (the figures differ from run to run).
shape() { grep '^| ' | sed -n '1p;3,$p' | cut -d'|' -f2 | sed 's/ *$//'; }
want=$(awk '/^#### How fast/ { t = 1; next } t && /^#### / { exit } t' "$out/table.md" | shape)
have=$(awk '/^## How fast/ { t = 1; next } t && /^## / { exit } t' README.md | shape)
head=$(awk '/^#### How fast/ { t = 1; next } t && /^\| / { print; exit }' "$out/table.md" | tr -s ' ')
test -n "$want" && test "$want" == "$have" && grep -qF "$head" <(tr -s ' ' <README.md) || {
    echo "FAIL: README's 'How fast' table is not the perf test's --markdown summary:" >&2
    diff <(echo "$want") <(echo "$have") >&2 || true
    exit 1
}
echo "perf test ran: $(grep -c '' "$out/samples.csv") CSV lines, $(wc -c < "$out/speed.svg") bytes of SVG; README's table has its shape"
# The whole-machine fuzz loop, briefly, checking memory, map and devices
# against the snapshot after every restore (it exits non-zero on a difference).
fuzz=$(cargo run -q --profile bench --features std --example fuzz_loop -- --iters 2000 --check)
grep -q 'machine equals the snapshot after the last restore: yes' <<<"$fuzz"
echo "fuzz_loop --check ran: $(grep 'iterations (restores) per second' <<<"$fuzz")"
