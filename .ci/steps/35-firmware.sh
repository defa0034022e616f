#!/usr/bin/env bash
# Firmware tests on real Cortex-M cores under qemu-system-arm
# (tests/firmware, its own crate): the test firmware on a Cortex-M3
# (lm3s6965evb), a Cortex-M4F (mps2-an386) and a Cortex-M0 (microbit), the
# link-time proof that the exclusive typed paths cannot panic, the
# interrupt test (a SysTick handler against the main loop, with vm-mem's
# `critical-section` feature, and the proof that it hangs without), the check
# that the frozen read path cannot either, and the footprint table with its
# checks. Any failure, hang (timeout) or fault fails the step.
set -euo pipefail
export CARGO_TERM_COLOR=never
cd "$(dirname "$0")/../../tests/firmware"

if ! command -v qemu-system-arm >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq qemu-system-arm >/dev/null
fi
qemu-system-arm --version | head -n 1
rustup component add rustfmt clippy >/dev/null 2>&1 || rustup component add rustfmt clippy

# target | QEMU board (the runner in tests/firmware/.cargo/config.toml)
boards=(
    "thumbv7m-none-eabi|lm3s6965evb, Cortex-M3"
    "thumbv7em-none-eabihf|mps2-an386, Cortex-M4F"
    "thumbv6m-none-eabi|microbit, Cortex-M0"
)

step() { printf -- '--- %s\n' "$*"; }

# run TARGET PROFILE_FLAG BIN [FEATURES [TIMEOUT]]: builds, then runs under
# QEMU with a timeout; the firmware's semihosting exit code is QEMU's.
# (`cargo run` execs the runner, so the timeout's signal reaches QEMU itself.)
run() {
    local target=$1 profile=$2 bin=$3 features=${4:-} limit=${5:-120} start
    start=$(date +%s)
    cargo build -q $profile --target "$target" --bin "$bin" --features "$features"
    if ! timeout -k 10 "$limit" cargo run -q $profile --target "$target" --bin "$bin" \
        --features "$features" </dev/null; then
        echo "FAIL: $bin ($target ${profile:---dev}) failed or timed out" >&2
        exit 1
    fi
    echo "ok   $bin on $target (${profile:---dev}) in $(($(date +%s) - start))s"
}

step "format and lints of the firmware crate"
cargo fmt --check
for row in "${boards[@]}"; do
    target=${row%%|*}
    rustup target add "$target" >/dev/null 2>&1 || rustup target add "$target"
    cargo clippy -q --release --target "$target" --lib --bins -- -D warnings
    cargo clippy -q --release --target "$target" --lib --bins --features critical-section -- -D warnings
done
# The footprint and probe variants, so their cfg'd code is linted too.
cargo clippy -q --release --target thumbv7m-none-eabi --lib --bins \
    --features "fp-u32 fp-exclusive big-static probe-atomics probe-bulk probe-frozen" -- -D warnings

for row in "${boards[@]}"; do
    target=${row%%|*} board=${row#*|}
    step "test firmware on $board ($target)"
    run "$target" --release vmtest
    step "nopanic: exclusive typed paths link with an undefined panic handler ($target)"
    if ! cargo build -q --release --target "$target" --bin nopanic; then
        echo "FAIL: a panic is reachable from the exclusive typed paths; its call sites:" >&2
        ./panic-sites.sh "$target" >&2 || true
        exit 1
    fi
    run "$target" --release nopanic
    step "interrupts: a SysTick handler against the main loop, critical-section on ($target)"
    run "$target" --release irqtest critical-section
done

step "interrupts self-test: without critical-section the same firmware must hang (lm3s6965evb)"
# The handler meets a lock (or an odd counter) the interrupted main loop
# holds and spins for ever; if it ever passed, irqtest would prove nothing.
cargo build -q --release --bin irqtest
rc=0
timeout -k 5 30 cargo run -q --release --bin irqtest </dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "FAIL: irqtest passed without critical-section: the test cannot catch the hang" >&2
    exit 1
elif [ "$rc" -ne 124 ]; then
    echo "FAIL: irqtest without critical-section failed (exit $rc) instead of hanging" >&2
    exit 1
fi
echo "ok   without critical-section the handler hangs, as expected"

step "interrupts on the host: signal handlers and critical sections (tests/interrupts.rs)"
(cd ../.. && cargo test -q --features critical-section --test interrupts)

step "test firmware unoptimised, with overflow checks (lm3s6965evb)"
run thumbv7m-none-eabi "" vmtest
run thumbv7m-none-eabi "" irqtest critical-section

step "nopanic self-test: a reachable panic must fail the link"
if out=$(cargo build -q --release --bin nopanic --features probe-selftest 2>&1); then
    echo "FAIL: nopanic linked with a reachable slice index: the probe proves nothing" >&2
    exit 1
fi
grep -q "undefined symbol: vm_mem_panic_is_reachable" <<<"$out" || {
    echo "FAIL: nopanic self-test failed for another reason:" >&2
    echo "$out" >&2
    exit 1
}
echo "ok   the probe catches a reachable panic"

step "frozen reads: every panic reachable in the frozen probe comes from freeze(), none from the reads"
# `freeze` takes spin read locks, whose reader-count check can panic, so the
# frozen probe cannot link with an undefined panic handler; instead its panic
# sites are listed and each one's inlined call chain must run through freeze.
out=$(./panic-sites.sh thumbv7m-none-eabi probe-frozen)
echo "$out"
awk '/^panic call at/ { if (site && !ok) bad = 1; site = 1; ok = 0; next }
     /::freeze$/ { ok = 1 }
     END { if (site && !ok) bad = 1; exit bad }' <<<"$out" || {
    echo "FAIL: a panic is reachable from the frozen read path (see the sites above)" >&2
    exit 1
}
echo "ok   the frozen read path itself cannot panic"

step "footprint (flash and RAM per firmware and target)"
./footprint.sh
