#!/usr/bin/env bash
# Formatting, clippy on every target and feature, docs with warnings denied.
set -euo pipefail
rustup component add rustfmt clippy >/dev/null
cargo fmt --check
cargo clippy --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features
