#!/usr/bin/env bash
# Rebuilds fw.bin, the flat image the fuzzer loads into flash at address 0,
# from fw.rs and fw.ld: RV32IM (riscv32im-unknown-none-elf: no compressed
# or atomic instructions, which rrs-lib does not execute), an ELF turned
# into a flat image by llvm-objcopy (which lays .data out at its flash load
# address; the firmware copies it to SRAM at boot). Also writes fw.s (the
# disassembly) and fw.map (the symbols) for a reader. Needs the rustup
# target and the llvm-tools component, both added here.
#
# `build.sh --check` rebuilds into a temporary directory and compares with
# the committed fw.bin (CI does): the build is deterministic for a given
# toolchain (rust-toolchain.toml pins it).
set -euo pipefail
cd "$(dirname "$0")"
target=riscv32im-unknown-none-elf
rustup target add "$target" >/dev/null 2>&1
rustup component add llvm-tools >/dev/null 2>&1
bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rustc --edition 2021 --crate-type bin --target "$target" -C opt-level=2 \
    -C panic=abort -C debuginfo=0 -C link-arg=-Tfw.ld -o "$out/fw.elf" fw.rs
"$bin/llvm-objcopy" -O binary "$out/fw.elf" "$out/fw.bin"
if [[ ${1:-} == --check ]]; then
    if cmp fw.bin "$out/fw.bin"; then
        echo "fw.bin: the committed image is a rebuild of fw.rs ($(wc -c < fw.bin) bytes)"
    else
        echo "fw.bin differs from a rebuild of fw.rs: run firmware/build.sh and commit" >&2
        exit 1
    fi
    exit 0
fi
cp "$out/fw.bin" fw.bin
"$bin/llvm-objdump" -d --no-show-raw-insn "$out/fw.elf" | sed 1,2d > fw.s
"$bin/llvm-objdump" -t "$out/fw.elf" | awk '$2=="g" || $3=="F" || $3=="O"' | sort > fw.map
# rrs-lib executes RV32IM only: no compressed instruction may be in the image.
if grep -Eq '^\s+[0-9a-f]+:\s+c\.' fw.s; then
    echo "fw.s has compressed instructions, which rrs-lib cannot run" >&2
    exit 1
fi
echo "fw.bin: $(wc -c < fw.bin) bytes"
