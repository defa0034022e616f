#!/usr/bin/env bash
# Big-endian host: the whole test suite (unit, integration and doc tests) on
# s390x under QEMU user mode. Guest memory is little-endian on every host, so
# the same tests must pass unchanged.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v qemu-s390x >/dev/null || ! command -v s390x-linux-gnu-gcc >/dev/null ||
    ! test -e /usr/s390x-linux-gnu/lib/libc.so.6; then
    apt-get update -qq
    apt-get install -y -qq qemu-user gcc-s390x-linux-gnu libc6-dev-s390x-cross >/dev/null
fi
rustup target add s390x-unknown-linux-gnu
export CARGO_TARGET_S390X_UNKNOWN_LINUX_GNU_LINKER=s390x-linux-gnu-gcc
export CARGO_TARGET_S390X_UNKNOWN_LINUX_GNU_RUNNER="qemu-s390x -L /usr/s390x-linux-gnu"
start=$(date +%s)
cargo test --target s390x-unknown-linux-gnu
echo "big-endian (s390x under qemu-user): passed in $(($(date +%s) - start))s"
