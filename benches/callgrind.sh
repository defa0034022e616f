#!/usr/bin/env bash
# Extra host instructions per guest memory access, counted with callgrind
# (deterministic: no noise from other jobs), for every memory vm-mem offers
# an emulator, over the same emulator on a plain Vec<u8>.
#
#   benches/callgrind.sh [SHORT LONG]         the toy simulator
#                                             (examples/callgrind_iss.rs;
#                                             default 20 220 program runs)
#   benches/callgrind.sh --real [SHORT LONG]  rrs-lib, a RISC-V emulator from
#                                             crates.io, on a compiled guest
#                                             (perf/real-emulator; default
#                                             30 500 rounds, ~15M guest
#                                             instructions apart)
#
# Each mode runs twice under `valgrind --tool=callgrind`, SHORT and LONG
# times; the difference of the two instruction totals cancels start-up,
# allocation, loading and printing. Then, per mode:
#   extra = ((Ir_long - Ir_short)(mode) - (Ir_long - Ir_short)(vec))
#           / (guest accesses of LONG - guest accesses of SHORT)
# where a guest access is an instruction fetch, a load or a store. The vec
# row shows the emulator's own host instructions per guest access instead.
# The "all" columns that follow show every mode's own, (Ir_long -
# Ir_short)(mode) / (accesses of LONG - SHORT): compare those across
# commits, since the vec baseline itself moves when the compiler lays out
# the Vec<u8> emulator differently (0.3 per access between two commits
# that did not touch it).
# Modes the harness names but does not build yet (exit code 2) show "n/a".
# Builds with LTO and one codegen unit (what a release user gets); the
# CARGO_PROFILE_* variables override that, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
real=false
if [[ ${1:-} == --real ]]; then
    real=true
    shift
fi
if $real; then short=${1:-30} long=${2:-500}; else short=${1:-20} long=${2:-220}; fi
if ! [[ $short =~ ^[0-9]+$ && $long =~ ^[0-9]+$ ]] || ((long <= short)); then
    echo "usage: benches/callgrind.sh [--real] [SHORT LONG] (LONG > SHORT)" >&2
    exit 1
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

# The per-step cursor validates once per instruction: the toy steps it at
# each instruction fetch, rrs-lib's run loop before each instruction.
modes=(vec exclusive shared map cursor cursor_step owner)
# target_dir DIR: where cargo puts the build of the package in DIR.
target_dir() {
    (cd "$1" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
}
if $real; then
    (cd perf/real-emulator && cargo build -q --release --locked)
    bin="$(target_dir perf/real-emulator)/release/vm-mem-real-emulator"
    columns=(guest)
    headers=("rrs-lib 0.1.0, RV32IM guest (fetch + load + store)")
    what="rrs-lib RISC-V emulator, compiled guest, rounds $long - $short"
else
    cargo build -q --profile bench --features std --example callgrind_iss
    bin="$(target_dir .)/release/examples/callgrind_iss"
    columns=(prefix checksum)
    headers=("prefix sums (fetch + load + store)" "checksum (fetch + load)")
    what="toy simulator, program runs $long - $short"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# accesses LINE COLUMN N: the guest accesses of a run that printed LINE.
accesses() {
    if $real; then
        "$bin" count "$3" | sed -n 's/.* accesses=\([0-9]*\).*/\1/p'
    else
        sed -n 's/.* accesses=\([0-9]*\).*/\1/p' <<<"$1"
    fi
}

# run MODE COLUMN N: prints "IR ACCESSES CHECKSUM", or "n/a" for a mode
# that is not built yet.
run() {
    local out="$work/cg.$1.$2.$3" line rc=0 ir acc sum
    local -a cmd=("$bin" "$1" "$3")
    $real || cmd+=("$2")
    line=$(valgrind --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" \
        2>"$work/log") || rc=$?
    if ((rc == 2)); then
        echo n/a
        return
    elif ((rc != 0)); then
        echo "${cmd[*]} failed under callgrind (exit $rc):" >&2
        cat "$work/log" >&2
        exit 1
    fi
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$out")
    acc=$(accesses "$line" "$2" "$3")
    sum=$(sed -n 's/.* checksum=\([0-9a-fx]*\).*/\1/p' <<<"$line")
    [[ -n $ir && -n $acc ]] || { echo "no count from ${cmd[*]}: $line" >&2; exit 1; }
    echo "$ir $acc ${sum:--}"
}

declare -A delta_ir delta_acc
for c in "${columns[@]}"; do
    for m in "${modes[@]}"; do
        a=$(run "$m" "$c" "$short")
        if [[ $a == n/a ]]; then
            delta_ir[$m.$c]=n/a
            continue
        fi
        b=$(run "$m" "$c" "$long")
        read -r ir_a acc_a sum_a <<<"$a"
        read -r ir_b acc_b sum_b <<<"$b"
        # Every mode must compute what the Vec<u8> computes.
        if [[ $m == vec ]]; then
            want_a=$sum_a want_b=$sum_b
        elif [[ $sum_a != "$want_a" || $sum_b != "$want_b" ]]; then
            echo "$m computed $sum_a/$sum_b, vec $want_a/$want_b" >&2
            exit 1
        fi
        delta_ir[$m.$c]=$((ir_b - ir_a))
        delta_acc[$m.$c]=$((acc_b - acc_a))
    done
done

echo "Extra host instructions per guest access over a Vec<u8> (callgrind; $what;"
echo "vec row: the emulator's own host instructions per guest access; \"all\" columns: each mode's own)"
echo
row="| mode |"
sep="| --- |"
for h in "${headers[@]}"; do
    row+=" $h |"
    sep+=" ---: |"
done
# Then each mode's own host instructions per guest access, with two
# decimals: the extra columns move when the Vec<u8> emulator's own code
# moves (a compiler inlining it differently), these do not.
for h in "${headers[@]}"; do
    row+=" all, ${h%% (*} |"
    sep+=" ---: |"
done
echo "$row"
echo "$sep"
for m in "${modes[@]}"; do
    row="| $m |"
    for c in "${columns[@]}"; do
        d=${delta_ir[$m.$c]}
        if [[ $d == n/a ]]; then
            row+=" n/a |"
        elif [[ $m == vec ]]; then
            row+=" $(awk -v d="$d" -v n="${delta_acc[$m.$c]}" 'BEGIN { printf "%.1f", d / n }') |"
        else
            row+=" $(awk -v d="$d" -v v="${delta_ir[vec.$c]}" -v n="${delta_acc[$m.$c]}" \
                'BEGIN { printf "%.1f", (d - v) / n }') |"
        fi
    done
    for c in "${columns[@]}"; do
        d=${delta_ir[$m.$c]}
        if [[ $d == n/a ]]; then
            row+=" n/a |"
        else
            row+=" $(awk -v d="$d" -v n="${delta_acc[$m.$c]}" 'BEGIN { printf "%.2f", d / n }') |"
        fi
    done
    echo "$row"
done
echo
for c in "${columns[@]}"; do
    echo "guest accesses counted ($c): ${delta_acc[vec.$c]}"
done
