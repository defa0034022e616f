#!/usr/bin/env bash
# Fuzzing: builds the cargo-fuzz target `ops` (fuzz/, libFuzzer, nightly)
# and runs it for a bounded 60 s. A crash fails the step and leaves its input
# in fuzz/artifacts/ops/; fuzz/README.md says how to run longer and replay.
set -euo pipefail
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build ops
cargo +nightly fuzz run ops -- -max_total_time="${VM_MEM_FUZZ_SECONDS:-60}" -rss_limit_mb=2048
