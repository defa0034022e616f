#!/usr/bin/env bash
# Packaging and embedded users' habits (issue 11): the defmt build for a
# Cortex-M4F, docs as docs.rs builds them, the package's contents and
# `cargo publish --dry-run`, and the minimum supported Rust version (MSRV)
# build and tests.
#
# MSRV and dev-dependencies: `rust-version` in Cargo.toml covers the library
# (heapless 0.9.4 sets the floor at 1.88). The MSRV tests run on a scratch
# copy of the *published package* (the .crate that `cargo publish --dry-run`
# made), with a lockfile resolved by the MSRV-aware resolver (what a user on
# that Rust gets), which also proves the package alone is complete: its
# tests build and pass from the .crate. Dev-dependencies that no unit or
# integration test uses are removed from the copy first (a test that uses
# one fails there loudly): since issue 28 the benches and their
# dependencies (criterion 0.8 needs Rust 1.86, parking_lot 0.13 1.95) are
# the workspace member benches/, outside the package, and every remaining
# dev-dependency builds with 1.88, so this drops nothing today; it keeps a
# future example-only dependency from breaking the MSRV build.
# The packaged manifest has no `vm-mem = { path = "." }` self
# dev-dependency (cargo strips path-only dev-dependencies when packaging),
# so those tests name the host feature themselves: `--features std`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Where cargo puts its output (CARGO_TARGET_DIR or ./target).
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

name=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
# rustup wants a full version: "1.88" -> "1.88.0".
case "$msrv" in *.*.*) msrv_toolchain=$msrv ;; *) msrv_toolchain=$msrv.0 ;; esac
# docs.rs builds these targets with these features; keep in step with
# [package.metadata.docs.rs] in Cargo.toml.
docs_rs_features=alloc,portable-atomic,defmt
docs_rs_targets="thumbv7em-none-eabihf riscv32imac-unknown-none-elf aarch64-unknown-none"

echo "-- defmt: the library with defmt::Format derives, for thumbv7em-none-eabihf"
rustup target add thumbv7em-none-eabihf >/dev/null
cargo build --lib --no-default-features --features defmt --target thumbv7em-none-eabihf

echo "-- docs as docs.rs builds them (features $docs_rs_features), warnings denied"
# shellcheck disable=SC2086 # the target list is meant to split
rustup target add $docs_rs_targets >/dev/null
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features "$docs_rs_features"
for target in $docs_rs_targets; do
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --features "$docs_rs_features" \
        --target "$target"
done

echo "-- package contents: no firmware, fuzz crate, measurement crates or CI scripts"
files=$(cargo package --list --allow-dirty)
if grep -E '^(tests/firmware|fuzz|benches|perf|\.ci)/' <<<"$files"; then
    echo "error: the files above must not be in the package (see exclude in Cargo.toml)" >&2
    exit 1
fi
for must in Cargo.toml README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
    grep -qx "$must" <<<"$files" || { echo "error: the package lacks $must" >&2; exit 1; }
done

echo "-- cargo publish --dry-run (packages, builds the package alone, uploads nothing)"
# --allow-dirty: this step checks what the package holds, not whether the
# work tree is committed (so it also runs before a commit).
cargo publish --dry-run --allow-dirty
# The .crate file itself, for the MSRV tests below.
cargo package --allow-dirty --no-verify --quiet

echo "-- MSRV $msrv_toolchain: build the library (default, all features, defmt on thumbv7em)"
rustup toolchain install "$msrv_toolchain" --profile minimal
rustup target add thumbv7em-none-eabihf --toolchain "$msrv_toolchain" >/dev/null
cargo +"$msrv_toolchain" build
cargo +"$msrv_toolchain" build --all-features
cargo +"$msrv_toolchain" build --lib --no-default-features --features defmt \
    --target thumbv7em-none-eabihf

echo "-- MSRV $msrv_toolchain: unit, integration and doc tests from the packaged crate"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -xzf "$target_dir/package/$name-$version.crate" -C "$scratch"
cd "$scratch/$name-$version"
printf '\n[workspace]\n' >>Cargo.toml # its own root, wherever the scratch dir is
dev_deps=$(
    sed -n 's/^\[dev-dependencies\.\([A-Za-z0-9_-]*\)\]$/\1/p' Cargo.toml
    sed -n '/^\[dev-dependencies\]$/,/^\[/s/^\([A-Za-z0-9_-]*\) *=.*/\1/p' Cargo.toml
)
for dep in $dev_deps; do
    # Used = named as a path (`dep::` or `dep;`) outside a comment line. A
    # test that needs a dependency newer than the MSRV fails here loudly.
    if ! grep -rhE "\b${dep//-/_}(::|;)" src tests | grep -qvE '^\s*//'; then
        echo "   (dropping dev-dependency $dep: no test uses it)"
        cargo +"$msrv_toolchain" remove --quiet --dev "$dep"
    fi
done
export CARGO_TARGET_DIR="$target_dir/msrv"
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo +"$msrv_toolchain" update --quiet
cargo +"$msrv_toolchain" test --features std --tests
cargo +"$msrv_toolchain" test --features std --doc
