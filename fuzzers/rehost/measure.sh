#!/usr/bin/env bash
# The fuzzer's figures, measured side by side in one run (README.md quotes
# them). Build first: cargo build --release.
#
#   measure.sh speed [ROUNDS=3] [SECONDS=20]
#       ROUNDS times, in turn: the plain loop (no LibAFL, pinned to core
#       0), LibAFL on core 0, LibAFL on cores 0-1, each for SECONDS; prints
#       every run's executions/s and guest instructions per execution, then
#       the medians and the ratios LibAFL 1 core / plain loop and LibAFL
#       2 cores / 1 core.
#   measure.sh bug [RUNS=3] [LIMIT=300]
#       RUNS campaigns on cores 0-1 from an empty corpus (seeds 1..RUNS),
#       each until the planted bug (at most LIMIT s); prints each time to
#       the first crash and the median.
#
# The load average is printed before and after: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")"
bin=target/release/vm-mem-rehost
port=${VM_MEM_REHOST_PORT:-31337}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs, $(date -u '+%F %T') UTC)"; }

case ${1:-speed} in
speed)
    rounds=${2:-3} secs=${3:-20}
    load
    for r in $(seq "$rounds"); do
        taskset -c 0 "$bin" plain-loop --seconds "$secs" --seed "$r" | tee -a "$tmp/plain"
        for cores in 0 0-1; do
            timeout $((secs + 60)) "$bin" fuzz --cores "$cores" --port "$port" --seed "$r" \
                --seconds "$secs" --solutions "$tmp/sol" --quiet-clients --report-secs 10 \
                > "$tmp/run" 2>&1
            grep -E '^rehost: [0-9]+ executions' "$tmp/run" | sed "s/^/cores $cores: /" | tee -a "$tmp/$cores"
        done
    done
    load
    plain=$(sed -E 's/.*: ([0-9]+) iterations\/s.*/\1/' "$tmp/plain" | median)
    one=$(sed -E 's/.* ([0-9]+) executions\/s.*/\1/' "$tmp/0" | median)
    two=$(sed -E 's/.* ([0-9]+) executions\/s.*/\1/' "$tmp/0-1" | median)
    echo "medians over $rounds rounds of $secs s: plain loop $plain iterations/s, LibAFL 1 core $one executions/s, 2 cores $two executions/s"
    awk -v p="$plain" -v a="$one" -v b="$two" 'BEGIN {
        printf "LibAFL 1 core / plain loop: %.2f (target >= 0.50); 2 cores / 1 core: %.2fx (target >= 1.7x)\n", a / p, b / a }'
    ;;
bug)
    runs=${2:-3} limit=${3:-300}
    load
    for seed in $(seq "$runs"); do
        rm -rf "$tmp/sol"
        timeout $((limit + 60)) "$bin" fuzz --cores 0-1 --port "$port" --seed "$seed" \
            --seconds "$limit" --until-crash --solutions "$tmp/sol" --quiet-clients \
            --report-secs 10 > "$tmp/run" 2>&1 || true
        t=$(sed -nE 's/^rehost: first crash after ([0-9.]+) s.*/\1/p' "$tmp/run")
        echo "seed $seed: ${t:-none} s to the first crash ($(grep -E '^rehost: [0-9]+ executions' "$tmp/run"))"
        echo "${t:-inf}" >> "$tmp/times"
    done
    load
    echo "median time to the planted bug on 2 cores over $runs runs: $(median < "$tmp/times") s (target <= 300 s)"
    ;;
*)
    echo "usage: measure.sh speed [ROUNDS] [SECONDS] | bug [RUNS] [LIMIT]" >&2
    exit 2
    ;;
esac
