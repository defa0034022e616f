#!/usr/bin/env bash
# The LibAFL rehosting fuzzer (fuzzers/rehost, a workspace of its own: the
# root `cargo test` never builds it). Checks that the committed firmware
# image is a rebuild of its source (firmware/build.sh --check: the rustup
# target riscv32im-unknown-none-elf and llvm-tools, added by the script),
# builds the fuzzer in release, replays the committed crashing input (it
# must fault in the guard page), then runs two bounded campaigns through
# LibAFL's launcher on 2 cores with a fixed seed: one from the committed
# crashing input (must report the crash; 10 s), one from an empty corpus
# until the planted bug is found (at most 60 s; it takes a few seconds).
# Every run is under `timeout`. Prints the step's time.
set -euo pipefail
cd "$(dirname "$0")/../../fuzzers/rehost"
start=$(date +%s)
port=${VM_MEM_REHOST_PORT:-31337}

bash firmware/build.sh --check
cargo build --release --locked
echo "rehost: built at $(($(date +%s) - start)) s"
bin=target/release/vm-mem-rehost

# planted REPLAY_OUTPUT: every replayed input hit the planted bug.
planted() {
    head -1 "$1"
    if grep -qv 'the planted bug' "$1"; then cat "$1"; echo "FAIL: not the planted bug" >&2; exit 1; fi
    echo "replayed $(wc -l < "$1") inputs: each one hits the planted bug"
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" replay --check crashes/guard-overflow.bin > "$out/replay.txt"
planted "$out/replay.txt"

# clients RUN_OUTPUT: the launcher ran two clients and found the crash.
clients() {
    grep -q '^rehost: 2 clients ran' "$1" || { echo "FAIL: not 2 clients" >&2; exit 1; }
    grep -q '^rehost: first crash after' "$1" || { echo "FAIL: no crash" >&2; exit 1; }
}

echo "--- 2 cores, from the committed crashing input, 10 s"
timeout 120 "$bin" fuzz --cores 0-1 --port "$port" --seed 1 --seconds 10 --expect-crash \
    --corpus crashes --solutions "$out/from-input" --report-secs 5 --quiet-clients \
    | tee "$out/from-input.txt" | grep -v '^\[' || { tail -20 "$out/from-input.txt"; exit 1; }
clients "$out/from-input.txt"
"$bin" replay --check "$out"/from-input/* > "$out/replay.txt"
planted "$out/replay.txt"

echo "--- 2 cores, from an empty corpus, until the planted bug (at most 60 s)"
timeout 120 "$bin" fuzz --cores 0-1 --port "$port" --seed 1 --seconds 60 --until-crash \
    --solutions "$out/from-empty" --report-secs 5 --quiet-clients \
    | tee "$out/from-empty.txt" | grep -v '^\[' || { tail -20 "$out/from-empty.txt"; exit 1; }
clients "$out/from-empty.txt"
"$bin" replay --check "$out"/from-empty/* > "$out/replay.txt"
planted "$out/replay.txt"
echo "ok   rehost: firmware image, build, replay and both campaigns in $(($(date +%s) - start)) s"
