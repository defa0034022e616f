#!/usr/bin/env bash
# Measures vm-mem's footprint in firmware: flash (.text, .rodata) and RAM
# (.data, .bss) of each firmware image per target, in release (opt-level
# "s", fat LTO), as a markdown table. Then checks the two claims that must
# hold: a bigger `static` memory grows `.bss` only (not the flash image),
# and the typed API's code stays within a flash budget.
# Usage: tests/firmware/footprint.sh [TARGET...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")"
rustup component add llvm-tools >/dev/null 2>&1
size="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(thumbv7m-none-eabi thumbv7em-none-eabihf thumbv6m-none-eabi)
# Budget for vm-mem's code (`typed` minus `minimal`, .text + .rodata) in a
# firmware that uses all 14 typed methods of one memory, in bytes.
budget=${FLASH_BUDGET:-12288}

# Prints "text rodata data bss" of an ELF file.
sections() {
    "$size" -A "$1" | awk '
        $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 }
        $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 }
        END { print t + 0, r + 0, d + 0, b + 0 }'
}

# build TARGET BIN FEATURES: builds and prints the ELF's sections.
build() {
    cargo build -q --release --target "$1" --bin "$2" --features "$3"
    sections "target/$1/release/$2"
}

echo "| target | firmware | .text | .rodata | .data | .bss | flash (.vector_table excluded) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
fail=0
for t in "${targets[@]}"; do
    rustup target add "$t" >/dev/null 2>&1
    declare -A flash=() bss=()
    for spec in "vmtest:" "nopanic:" "minimal:" "typed:" "typed:fp-u32" "typed:fp-exclusive" \
        "typed:fp-exclusive fp-u32" "typed:big-static"; do
        bin=${spec%%:*} feat=${spec#*:}
        read -r text ro data b < <(build "$t" "$bin" "$feat")
        name=$bin${feat:+ ($feat)}
        flash[$name]=$((text + ro + data))
        bss[$name]=$b
        echo "| $t | $name | $text | $ro | $data | $b | ${flash[$name]} |"
    done
    cost=$((flash[typed] - flash[minimal]))
    echo "| $t | vm-mem code, all 14 typed methods, shared | | | | | $cost |"
    echo "| $t | vm-mem code, read_u32 + write_u32, shared | | | | | $((flash[typed (fp-u32)] - flash[minimal])) |"
    echo "| $t | vm-mem code, all 14 typed methods, exclusive | | | | | $((flash[typed (fp-exclusive)] - flash[minimal])) |"
    echo "| $t | vm-mem code, read_u32 + write_u32, exclusive | | | | | $((flash[typed (fp-exclusive fp-u32)] - flash[minimal])) |"
    # A 4x larger memory must grow .bss by at least 3x the smaller memory's
    # size and leave the flash image alone (up to a few bytes of changed
    # constants: Thumb-1 loads a larger immediate from a literal pool).
    dflash=$((flash[typed (big-static)] - flash[typed]))
    dbss=$((bss[typed (big-static)] - bss[typed]))
    echo "| $t | typed (big-static) minus typed | | | | $dbss | $dflash |"
    if [ "${dflash#-}" -gt 64 ] || [ "$dbss" -lt $((3 * bss[typed] * 9 / 10)) ]; then
        echo "FAIL $t: a 4x larger static memory changed flash by $dflash bytes and .bss by $dbss" >&2
        fail=1
    fi
    if [ "$cost" -gt "$budget" ]; then
        echo "FAIL $t: vm-mem's typed API costs $cost bytes of flash, budget $budget" >&2
        fail=1
    fi
    unset flash bss
done
exit $fail
