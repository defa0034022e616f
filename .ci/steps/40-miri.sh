#!/usr/bin/env bash
# Miri: the lib's unit tests and every integration test (tests/*.rs) run
# under the interpreter, which checks every `unsafe` block (the exclusive
# and frozen lock-free reads, `new_boxed`'s zeroed allocation) and every
# thread interleaving it explores for undefined behaviour and data races.
# Tests shrink their sizes and counts under cfg(miri) (never their logic).
# Doctests are left out (`--lib --tests`): several build 16-64 MiB memories
# and each is a separate crate to interpret; they run natively in `cargo test`.
# Isolation is off because proptest and the torture tests read the clock.
set -euo pipefail
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add miri rust-src --toolchain nightly
cargo +nightly miri setup
start=$(date +%s)
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test --lib --tests
echo "miri: passed in $(($(date +%s) - start))s"
