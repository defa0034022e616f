#!/usr/bin/env bash
# The README's test command, exactly as a newcomer runs it.
set -euo pipefail
rustup show active-toolchain
cargo test
