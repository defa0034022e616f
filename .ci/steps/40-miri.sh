#!/usr/bin/env bash
# Miri: the whole test suite (the lib's unit tests, every tests/*.rs and the
# doctests) runs under the interpreter, which checks every `unsafe` block (the
# exclusive and frozen lock-free reads, `new_boxed`'s zeroed allocation) and
# the thread interleavings it explores for undefined behaviour and data races.
# Tests shrink their sizes and counts under cfg(miri), never their logic.
# Then the threaded tests again under 8 scheduler seeds, for more interleavings.
# Isolation is off because proptest and the torture tests read the clock.
set -euo pipefail
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add miri rust-src --toolchain nightly
cargo +nightly miri setup
start=$(date +%s)
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test
echo "miri: whole suite passed at $(($(date +%s) - start))s"
MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-many-seeds=0..8" \
    cargo +nightly miri test --test torture --test concurrency --test map_live --test machine_demand
echo "miri: passed in $(($(date +%s) - start))s"
