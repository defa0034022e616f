#!/usr/bin/env bash
# Rebuilds guest.bin from guest.rs: RV32IM (the riscv32imac target with the
# compressed and atomic extensions switched off, as rrs-lib executes
# neither), a flat image linked at address 0 by guest.ld. Needs only
# `rustup target add riscv32imac-unknown-none-elf`. guest.s is the
# assembly, kept so a reader sees what the emulator runs.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add riscv32imac-unknown-none-elf >/dev/null 2>&1 || true
flags=(--edition 2021 --crate-type bin --target riscv32imac-unknown-none-elf
    -C opt-level=2 -C panic=abort -C target-feature=-c,-zca,-a,-zaamo,-zalrsc -C debuginfo=0)
rustc "${flags[@]}" --emit asm -o guest.s guest.rs
rustc "${flags[@]}" -C link-arg=-Tguest.ld -C link-arg=--oformat=binary -o guest.bin guest.rs
# A compressed instruction or a library call would not run on rrs-lib.
if grep -Eq '^\s+(call|tail)\s' guest.s; then
    grep -E '^\s+(call|tail)\s' guest.s | grep -v 'round' && {
        echo "guest.s calls outside the guest (a library routine)" >&2
        exit 1
    }
fi
echo "guest.bin: $(wc -c < guest.bin) bytes"
