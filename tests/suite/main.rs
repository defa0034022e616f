//! The integration tests that run once everywhere (natively, on a
//! big-endian host, once under Miri), one module a behaviour, linked into
//! one test binary: `cargo test --test suite`, one file with
//! `cargo test --test suite -- bounds::`.
//!
//! A new test file goes here: `tests/suite/NAME.rs` and a `mod NAME;` line
//! below (in order). It reaches the shared helpers as `crate::support::...`
//! (`tests/support/`). Tests that race threads and want many Miri
//! scheduling seeds go in `tests/racing/` instead; a file that needs the
//! whole process to itself (a `#[global_allocator]`, signal handlers,
//! leaks on purpose) stays a binary of its own, `tests/NAME.rs`, as
//! `map_no_alloc.rs`, `interrupts.rs` and `map_owner_reentry.rs` do.

#[allow(dead_code)] // each binary uses part of it
#[path = "../support/mod.rs"]
mod support;

mod access_adapter;
mod atomics;
mod bounds;
mod callers;
mod endian;
mod errors;
mod machine;
mod map;
mod map_differential;
mod map_hooks;
mod map_hooks_model;
mod map_model;
mod map_owner;
mod model;
mod names;
mod owner_window;
mod review2;
mod slices;
mod snapshot;
mod snapshot_speed;
mod straddle;
