#!/usr/bin/env bash
# no_std library builds and clippy for the embedded targets: Cortex-M0
# (thumbv6m, no compare-and-swap: feature `portable-atomic` with
# portable-atomic's single-core cfg), Cortex-M3, Cortex-M4F, RISC-V 32 and
# AArch64 bare metal. Each target is built with `cargo build --lib` and
# linted with `cargo clippy --lib -- -D warnings`. Then thumbv6m without
# `portable-atomic` must fail, first with vm-mem's message naming the feature.
set -euo pipefail
export CARGO_TERM_COLOR=never
rustup component add clippy >/dev/null 2>&1 || rustup component add clippy

# target | extra cargo flags | RUSTFLAGS | target dir (a separate one where
# RUSTFLAGS differ, so they never invalidate the host build's cache)
matrix=(
    "thumbv6m-none-eabi|--features portable-atomic|--cfg portable_atomic_unsafe_assume_single_core|target/embedded-single-core"
    "thumbv7m-none-eabi|||target"
    "thumbv7m-none-eabi|--features portable-atomic||target"
    "thumbv7em-none-eabihf|||target"
    "riscv32imac-unknown-none-elf|||target"
    "aarch64-unknown-none|||target"
)
for row in "${matrix[@]}"; do
    IFS='|' read -r target flags rustflags dir <<<"$row"
    rustup target add "$target" >/dev/null 2>&1 || rustup target add "$target"
    start=$(date +%s)
    # shellcheck disable=SC2086 # `flags` is a word list on purpose
    RUSTFLAGS="$rustflags" cargo build -q --lib --target "$target" --target-dir "$dir" $flags
    # shellcheck disable=SC2086
    RUSTFLAGS="$rustflags" cargo clippy -q --lib --target "$target" --target-dir "$dir" $flags -- -D warnings
    echo "ok   $target ${flags:-(default features)} ${rustflags:+RUSTFLAGS=\"$rustflags\"} ($(($(date +%s) - start))s)"
done

# Without `portable-atomic`, a target without compare-and-swap must fail with
# vm-mem's own message naming the feature, as the first error (not errors
# deep inside `spin`).
target=thumbv6m-none-eabi
if out=$(cargo build --lib --target "$target" --target-dir target/embedded-no-cas 2>&1); then
    echo "FAIL: $target without portable-atomic built; expected vm-mem's compile_error" >&2
    exit 1
fi
first=$(grep -m 1 '^error' <<<"$out")
grep -q "enable vm-mem's \`portable-atomic\` feature" <<<"$first" || {
    echo "FAIL: the first error on $target without portable-atomic is not vm-mem's:" >&2
    echo "$out" | head -n 20 >&2
    exit 1
}
echo "ok   $target without portable-atomic fails first with: ${first:0:110}..."
