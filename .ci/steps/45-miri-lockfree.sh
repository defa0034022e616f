#!/usr/bin/env bash
# The proof that lock-free shared reads are sound: the racing readers and
# writers of tests/lockfree.rs under Miri over many scheduling seeds. Miri
# reports any data race; a torn value fails the test. (Without the writer's
# fence(Release) this finds a torn straddling read at seed 61 of 0..64.)
set -euo pipefail
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
rustup component add miri rust-src --toolchain nightly >/dev/null
MIRIFLAGS="-Zmiri-many-seeds=0..64" cargo +nightly miri test --test lockfree optimistic_reads
MIRIFLAGS="-Zmiri-many-seeds=0..8" cargo +nightly miri test --test lockfree
# Issue 14's racing regressions (snapshots racing a writer, restore racing
# freeze, the exclusive view lending its memory, frozen readers); isolation
# is off for the watchdog's clock.
MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-many-seeds=0..16" cargo +nightly miri test --test soundness
