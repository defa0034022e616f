#!/usr/bin/env bash
# The callgrind instrument (benches/callgrind.sh) works: on the toy
# simulator (examples/callgrind_iss.rs) and on the real emulator crate
# (perf/real-emulator, rrs-lib), at small sizes, it prints a row for every
# mode, every built mode computes what the Vec<u8> computes (the script
# checks that), and the extra host instructions per guest access stay
# under loose bounds. Callgrind counts are deterministic, so the bounds do
# not flake; they are 2-3x today's figures for this build (no LTO, 16
# codegen units, shared with 30-benches.sh), so they catch a real
# regression (a lock or a dynamic call back on a path) and not a toolchain
# moving a few instructions. The figures in BENCHMARKS.md come from the
# LTO build at full size, not from here.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

if ! command -v valgrind >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq valgrind >/dev/null
fi
valgrind --version

# check TABLE MODE MAX...: MODE's row exists and each figure is at most
# its MAX (n/a, a mode not built yet, passes).
check() {
    local table=$1 mode=$2 row
    shift 2
    row=$(grep -E "^\| $mode \|" <<<"$table") || { echo "FAIL: no row for $mode" >&2; exit 1; }
    awk -F'|' -v max="$*" -v mode="$mode" '{
        n = split(max, m, " ")
        for (i = 1; i <= n; i++) {
            v = $(i + 2); gsub(/ /, "", v)
            if (v == "n/a") continue
            if (v !~ /^-?[0-9.]+$/ || v + 0 > m[i] + 0) {
                printf "FAIL: %s column %d is %s (at most %s)\n", mode, i, v, m[i] > "/dev/stderr"
                exit 1
            }
        }
    }' <<<"$row"
}

echo "--- toy simulator"
toy=$(bash benches/callgrind.sh 2 12)
echo "$toy"
check "$toy" vec 40 40
check "$toy" exclusive 10 10
check "$toy" shared 100 100
check "$toy" map 200 200
check "$toy" cursor 200 200
check "$toy" owner 200 200

echo "--- real emulator (rrs-lib)"
real=$(bash benches/callgrind.sh --real 1 4)
echo "$real"
check "$real" vec 150
check "$real" exclusive 30
check "$real" shared 120
check "$real" map 250
check "$real" cursor 250
check "$real" owner 250
echo "ok   callgrind tables printed, every figure under its bound"
