#!/usr/bin/env bash
# Miri: every test under the interpreter, which checks every `unsafe` block
# (the shard's lock-free reads, the exclusive and frozen paths, `new_boxed`'s
# zeroed allocation) and the thread interleavings it runs for undefined
# behaviour and data races. Tests shrink their sizes and counts under
# cfg(miri), never their logic. Each test runs in one of two parts, never
# in both:
# 1. once (one schedule): the lib's unit tests, the doctests, the test
#    binary tests/suite and every other test binary (tests/NAME.rs or
#    tests/NAME/main.rs) but tests/racing and map_owner_reentry;
# 2. the racing tests (tests/racing, one module a file) over several
#    scheduler seeds (seed 0 among them, so part 1 leaves them out), each
#    module selected by its name, for more interleavings: the lock-free
#    proof (lockfree::optimistic_reads) over 64 seeds (without the writer's
#    fence(Release) it found a torn straddling read at seed 61 of 0..64);
#    the rest of lockfree, issue 14's racing regressions (soundness), the
#    live map and demand mapping over 8; the torture and concurrency tests
#    over 4 (each run already races several threads for many rounds).
#    Every file of tests/racing/ needs a row below (checked).
# tests/map_owner_reentry.rs runs alone, with leaks allowed: it leaks its
# owner map and memories on purpose (a `thread_local` can hold only a
# `&'static OwnerMap`, which is how its devices and hooks reach the map).
# Isolation is off because proptest and the watchdogs read the clock.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add miri rust-src --toolchain nightly
cargo +nightly miri setup
start=$(date +%s)
export MIRIFLAGS="-Zmiri-disable-isolation"

# Part 2's runs: module (test-name filter) | seeds | more libtest arguments.
racing=(
    "lockfree::optimistic_reads|0..64|"
    "lockfree::|0..8|--skip lockfree::optimistic_reads"
    "soundness::|0..8|"
    "torture::|0..4|"
    "concurrency::|0..4|"
    "map_live::|0..8|"
    "machine_demand::|0..8|"
)
for f in tests/racing/*.rs; do
    module=$(basename "$f" .rs)
    [[ $module != main ]] || continue
    if ! printf '%s\n' "${racing[@]}" | grep -q "^$module::"; then
        echo "FAIL: tests/racing/$module.rs has no row (seeds) in .ci/steps/40-miri.sh" >&2
        exit 1
    fi
done

leaky=map_owner_reentry
once=()
for f in tests/*.rs tests/*/main.rs; do
    name=$(basename "${f%/main.rs}" .rs)
    [[ $name == racing || $name == "$leaky" ]] || once+=(--test "$name")
done
t=$(date +%s)
cargo +nightly miri test --lib "${once[@]}"
echo "miri: lib and ${once[*]} passed in $(($(date +%s) - t))s"
t=$(date +%s)
cargo +nightly miri test --doc
echo "miri: doctests passed in $(($(date +%s) - t))s"
t=$(date +%s)
MIRIFLAGS="$MIRIFLAGS -Zmiri-ignore-leaks" cargo +nightly miri test -q --test "$leaky"
echo "miri: $leaky (leaks allowed) passed in $(($(date +%s) - t))s"
echo "miri: part 1 (everything once) passed at $(($(date +%s) - start))s"

for row in "${racing[@]}"; do
    IFS='|' read -r filter seeds args <<<"$row"
    t=$(date +%s)
    # shellcheck disable=SC2086 # `args` is a word list on purpose
    MIRIFLAGS="$MIRIFLAGS -Zmiri-many-seeds=$seeds" \
        cargo +nightly miri test -q --test racing -- "$filter" $args
    echo "miri: $filter ${args:+($args) }over seeds $seeds passed in $(($(date +%s) - t))s"
done
echo "miri: passed in $(($(date +%s) - start))s"
