#!/usr/bin/env bash
# no_std builds for embedded targets.
set -euo pipefail
rustup target add thumbv7em-none-eabihf >/dev/null
cargo build --lib --target thumbv7em-none-eabihf
