#!/usr/bin/env bash
# Formatting, clippy on every target and feature, docs with warnings denied,
# for the whole workspace: vm-mem and benches/ (vm-mem-benches: the perf
# test and the criterion benches). `cargo fmt` covers every member.
set -euo pipefail
rustup component add rustfmt clippy >/dev/null
cargo fmt --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --all-features
