#!/usr/bin/env bash
# Benchmarks and the perf example build and run. CI proves that they work,
# not how fast they are (CI machines are shared; the figures in
# BENCHMARKS.md come from a quiet run of the README's perf command), so it
# builds them without the bench profile's LTO and single codegen unit,
# which only cost build time here, and shares one build between the
# criterion benches and the perf example.
set -euo pipefail
export CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
cargo bench --no-run
perf() { cargo run -q --profile bench --features std --example read_perf_test -- "$@"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf --iters 3 --svg "$out/speed.svg" > "$out/text.txt"
perf --iters 2 --markdown > "$out/table.md"
perf --iters 2 --csv > "$out/samples.csv"
# Every mode's table and the targets table are there, the CSV has its
# header and one line per sample, and the SVG was drawn.
grep -q '^reads: exclusive' "$out/text.txt"
grep -q '^targets, this run' "$out/text.txt"
grep -q '^#### writes: shared' "$out/table.md"
head -1 "$out/samples.csv" | grep -q '^group,mode,case,ops,bytes,time_ms'
test "$(wc -l < "$out/samples.csv")" -gt 90
grep -q '<svg' "$out/speed.svg"
echo "perf example ran: $(grep -c '' "$out/samples.csv") CSV lines, $(wc -c < "$out/speed.svg") bytes of SVG"
# The whole-machine fuzz loop, briefly, checking memory, map and devices
# against the snapshot after every restore (it exits non-zero on a difference).
fuzz=$(cargo run -q --profile bench --features std --example fuzz_loop -- --iters 2000 --check)
grep -q 'machine equals the snapshot after the last restore: yes' <<<"$fuzz"
echo "fuzz_loop --check ran: $(grep 'iterations (restores) per second' <<<"$fuzz")"
