#!/usr/bin/env bash
# The callgrind instrument (benches/callgrind.sh) works: on the toy
# simulator (examples/callgrind_iss.rs) and on the real emulator crate
# (perf/real-emulator, rrs-lib), at small sizes, it prints a row for every
# mode, every built mode computes what the Vec<u8> computes (the script
# checks that), and the extra host instructions per guest access stay
# under bounds. Callgrind counts are deterministic, so the bounds do not
# flake; they are today's figures for this build (no LTO, 16 codegen
# units, shared with 30-benches.sh; stop 33: toy exclusive -0.4/-2.0,
# shared 12.1/8.2, map 64.1/53.9, cursor 17.0/12.2, per-step cursor
# 15.9/11.5, owner 1.6/1.0; rrs-lib vec 72.1, exclusive 4.3, shared
# 18.7, map 77.0, cursor 37.2, per-step cursor 37.1, owner 8.8) plus about
# 15% (2 to 2.6 for the exclusive view and the owner map's toy figures,
# which are near 0), so they catch a regression of a
# few instructions per access, not a toolchain moving one. The figures in
# BENCHMARKS.md come from the LTO build at full size, not from here.
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
check "$toy" vec 30 30
check "$toy" exclusive 1 1
check "$toy" shared 14 10
check "$toy" map 74 62
check "$toy" cursor 20 14
check "$toy" cursor_step 19 14
check "$toy" owner 4 3

echo "--- real emulator (rrs-lib)"
real=$(bash benches/callgrind.sh --real 1 4)
echo "$real"
check "$real" vec 85
check "$real" exclusive 8
check "$real" shared 22
check "$real" map 89
check "$real" cursor 43
check "$real" cursor_step 43
check "$real" owner 11
echo "ok   callgrind tables printed, every figure under its bound"
