#!/usr/bin/env bash
# The README's recipes, as a new user copies them into fresh crates:
# 1. the host dependency line and the first example build and run;
# 2. the Cortex-M0 recipe (its Cargo.toml lines, its .cargo/config.toml and
#    the firmware example) builds for thumbv6m-none-eabi into an ELF whose
#    .text is not empty (the linker script was kept);
# 3. the same firmware with the flags in RUSTFLAGS instead (what the README
#    warns against) links an empty .text, so check 2 can tell them apart.
# The snippets are taken from README.md (after their `<!-- ci: ... -->`
# markers), so the README cannot drift from what is checked.
set -euo pipefail
export CARGO_TERM_COLOR=never
root=$(cd "$(dirname "$0")/../.." && pwd)
readme="$root/README.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! command -v readelf >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq binutils >/dev/null
fi
rustup target add thumbv6m-none-eabi >/dev/null 2>&1 || rustup target add thumbv6m-none-eabi

# block N [MARKER]: the Nth fenced block of the README (1-based), or the
# first one after the line `<!-- ci: MARKER -->`, without its fences.
block() {
    awk -v n="$1" -v marker="${2:-}" '
        marker != "" && $0 == "<!-- ci: " marker " -->" { armed = 1; next }
        /^```/ {
            if (inside) { if (want) exit; inside = 0; next }
            inside = 1; count++
            want = (marker == "" && count == n) || (marker != "" && armed)
            next
        }
        inside && want { print }
    ' "$readme"
}
# Points a copied `vm-mem = { version = "0.1", ... }` line at this checkout.
local_vm_mem() { sed "s|^vm-mem = { version = \"0.1\",|vm-mem = { version = \"0.1\", path = \"$root\",|"; }
nonempty() { test -n "$1" || { echo "FAIL: README block '$2' not found" >&2; exit 1; }; }

# .text size of an ELF, in bytes (0 if it has no .text).
text_size() {
    local hex
    hex=$(readelf -SW "$1" | sed 's/^ *\[ *[0-9]*\] *//' | awk '$1 == ".text" { print $5; exit }')
    echo $((16#${hex:-0}))
}

printf -- '--- host: the README dependency line and first example\n'
dep=$(awk '/^```toml/ { t = 1; next } /^```/ { t = 0 } t && /^vm-mem = / { print; exit }' "$readme")
nonempty "$dep" "dependency line"
first=$(awk '/^```rust$/ { t = 1; next } t && /^```/ { exit } t' "$readme")
nonempty "$first" "first example"
mkdir -p "$work/host/src"
cat >"$work/host/Cargo.toml" <<EOF
[package]
name = "readme-host"
version = "0.0.0"
edition = "2021"
publish = false
[workspace]
[dependencies]
$(local_vm_mem <<<"$dep")
EOF
{
    echo 'fn main() -> Result<(), vm_mem::VmError> {'
    grep -v '^# ' <<<"$first"
    echo 'Ok(())'
    echo '}'
} >"$work/host/src/main.rs"
(cd "$work/host" && cargo run -q)
echo "ok   '$dep' and the first example build and run in a fresh crate"

printf -- '--- thumbv6m: the README Cortex-M0 recipe in a fresh firmware crate\n'
deps=$(block 0 "thumbv6m Cargo.toml")
config=$(block 0 "thumbv6m .cargo/config.toml")
main=$(block 0 "firmware main.rs")
nonempty "$deps" "thumbv6m Cargo.toml"
nonempty "$config" "thumbv6m .cargo/config.toml"
nonempty "$main" "firmware main.rs"
fw="$work/fw"
mkdir -p "$fw/src" "$fw/.cargo"
cat >"$fw/Cargo.toml" <<EOF
[package]
name = "readme-firmware"
version = "0.0.0"
edition = "2021"
publish = false
[workspace]
$(local_vm_mem <<<"$deps")

[profile.release]
opt-level = "s"
EOF
echo "$config" >"$fw/.cargo/config.toml"
echo "$main" >"$fw/src/main.rs"
# The board's memory map, where cortex-m-rt's link.x looks for it.
cp "$root/tests/firmware/memory/microbit.x" "$fw/memory.x"
elf="$fw/target/thumbv6m-none-eabi/release/readme-firmware"
(cd "$fw" && env -u RUSTFLAGS cargo build -q --release)
size=$(text_size "$elf")
test "$size" -gt 0 || { echo "FAIL: the README's thumbv6m recipe linked an empty .text" >&2; exit 1; }
echo "ok   the README's thumbv6m recipe links a firmware with $size bytes of .text"

printf -- '--- thumbv6m: the same flags in RUSTFLAGS drop the linker script\n'
(cd "$fw" && RUSTFLAGS="--cfg portable_atomic_unsafe_assume_single_core" \
    cargo build -q --release --target-dir target/rustflags)
bad=$(text_size "$fw/target/rustflags/thumbv6m-none-eabi/release/readme-firmware")
test "$bad" -eq 0 || { echo "FAIL: expected an empty .text with RUSTFLAGS, got $bad bytes" >&2; exit 1; }
echo "ok   with RUSTFLAGS instead, .text is $bad bytes (the README's warning holds; the check above can fail)"
