#!/usr/bin/env bash
# Where can `nopanic` panic? Links the probe with undefined symbols allowed,
# finds every call into core's panic machinery, and prints each call site's
# inlined call chain (innermost first), so a failed `nopanic` link names the
# function and line of vm-mem that panics.
# Usage: tests/firmware/panic-sites.sh [TARGET] [FEATURES]
#   e.g. tests/firmware/panic-sites.sh thumbv7m-none-eabi probe-bulk
set -euo pipefail
cd "$(dirname "$0")"
target=${1:-thumbv7m-none-eabi} features=${2:-}
rustup component add llvm-tools >/dev/null 2>&1
objdump="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objdump"
dir=target/panic-sites
cargo rustc -q --release --target "$target" --bin nopanic --features "$features" \
    --target-dir "$dir" -- -C link-arg=--unresolved-symbols=ignore-all \
    -C llvm-args=-enable-tail-merge=false
elf="$dir/$target/release/nopanic"
# Call sites (`bl`/`b` to a panicking function) outside core's own helpers.
# (Tail merging is off above, so each site keeps its own inlining record.)
sites=$("$objdump" -d --demangle --no-show-raw-insn "$elf" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = $0; next }
    /[ \t](bl|b|b\.w)[ \t]+0x[0-9a-f]+ <(core::[^>+]*(panic|_fail|failed)[^>+]*|__rustc::rust_begin_unwind)>/ {
        if (fn ~ /<core::|<__rustc::|<compiler_builtins::/) next
        addr = $1; sub(":", "", addr); print addr
    }')
if [ -z "$sites" ]; then
    echo "no panic call site in nopanic ($target${features:+, $features})"
    exit 0
fi
for a in $sites; do
    echo "panic call at 0x$a, innermost frame first:"
    addr2line -e "$elf" -f -i -C "0x$a" | paste - - |
        awk -F'\t' -v root="$(cd ../.. && pwd)/" '{
            f = $2
            sub(/^\/rustc\/[0-9a-f]+\/library\//, "core: ", f)
            sub(/^.*\/registry\/src\/[^\/]+\//, "dep: ", f)
            if (index(f, root) == 1) f = substr(f, length(root) + 1)
            printf "    %-60s %s\n", f, substr($1, 1, 100)
        }'
done
