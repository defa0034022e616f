#!/usr/bin/env bash
# Extra host instructions per guest memory access, counted with callgrind
# (deterministic: no noise from other jobs), for every memory the callgrind
# harness (examples/callgrind_iss.rs) runs the toy simulator on.
#
#   benches/callgrind.sh [SHORT LONG]     (default: 20 220 program runs)
#
# Each mode and program runs twice under `valgrind --tool=callgrind`, SHORT
# and LONG times; the difference of the two instruction totals cancels
# start-up, allocation and printing. Then, per mode:
#   extra = (Ir_long - Ir_short)(mode) - (Ir_long - Ir_short)(vec)
#           divided by the difference in guest accesses (fetch, load, store).
# The vec row shows its own host instructions per access (the baseline).
# Modes the harness names but does not build yet (exit code 2) show "n/a".
# Builds the harness with the bench profile (LTO, one codegen unit, what a
# release user gets); CARGO_PROFILE_BENCH_* variables override it, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
short=${1:-20}
long=${2:-220}
if ! [[ $short =~ ^[0-9]+$ && $long =~ ^[0-9]+$ ]] || ((long <= short)); then
    echo "usage: benches/callgrind.sh [SHORT LONG] (program runs, LONG > SHORT)" >&2
    exit 1
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

modes=(vec exclusive shared map cursor owner)
programs=(prefix checksum)
cargo build -q --profile bench --features std --example callgrind_iss
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/release/examples/callgrind_iss"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run MODE PROGRAM RUNS: prints "IR ACCESSES", or "n/a" for an unbuilt mode.
run() {
    local out="$work/cg.$1.$2.$3" line rc=0
    line=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" "$1" "$3" "$2" 2>"$work/log") || rc=$?
    if ((rc == 2)); then
        echo n/a
        return
    elif ((rc != 0)); then
        echo "callgrind_iss $1 $3 $2 failed (exit $rc):" >&2
        cat "$work/log" >&2
        exit 1
    fi
    local ir accesses
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$out")
    accesses=$(sed -n 's/.* accesses=\([0-9]*\).*/\1/p' <<<"$line")
    [[ -n $ir && -n $accesses ]] || { echo "no count from $1 $2 $3" >&2; exit 1; }
    echo "$ir $accesses"
}

declare -A delta_ir delta_acc
for p in "${programs[@]}"; do
    for m in "${modes[@]}"; do
        a=$(run "$m" "$p" "$short")
        if [[ $a == n/a ]]; then
            delta_ir[$m.$p]=n/a
            continue
        fi
        b=$(run "$m" "$p" "$long")
        read -r ir_a acc_a <<<"$a"
        read -r ir_b acc_b <<<"$b"
        delta_ir[$m.$p]=$((ir_b - ir_a))
        delta_acc[$m.$p]=$((acc_b - acc_a))
    done
done

echo "Extra host instructions per guest access over a Vec<u8> (callgrind;"
echo "toy simulator, runs $long - $short; vec row: its own instructions per access)"
echo
echo "| mode | prefix sums (fetch + load + store) | checksum (fetch + load) |"
echo "| --- | ---: | ---: |"
for m in "${modes[@]}"; do
    row="| $m |"
    for p in "${programs[@]}"; do
        d=${delta_ir[$m.$p]}
        if [[ $d == n/a ]]; then
            row+=" n/a |"
        elif [[ $m == vec ]]; then
            row+=" $(awk -v d="$d" -v n="${delta_acc[$m.$p]}" 'BEGIN { printf "%.2f", d / n }') |"
        else
            row+=" $(awk -v d="$d" -v v="${delta_ir[vec.$p]}" -v n="${delta_acc[$m.$p]}" \
                'BEGIN { printf "%.2f", (d - v) / n }') |"
        fi
    done
    echo "$row"
done
echo
echo "guest accesses counted: prefix ${delta_acc[vec.prefix]}, checksum ${delta_acc[vec.checksum]}"
