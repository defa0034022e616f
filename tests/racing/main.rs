//! The integration tests that race threads, one module a concern, linked
//! into one test binary: `cargo test --test racing`. Natively they run once
//! like every test; under Miri (`.ci/steps/40-miri.sh`) each module runs
//! over several scheduling seeds, selected by its name:
//! `cargo +nightly miri test --test racing -- torture::` with
//! `MIRIFLAGS=-Zmiri-many-seeds=0..4`.
//!
//! A new racing test file goes here: `tests/racing/NAME.rs`, a `mod NAME;`
//! line below, and a row (`NAME::`, its seeds) in `40-miri.sh`'s `racing`
//! list; the step fails if a module here has no row. Shared helpers are
//! `crate::support::...` (`tests/support/`).

#[allow(dead_code)] // each binary uses part of it
#[path = "../support/mod.rs"]
mod support;

mod concurrency;
mod lockfree;
mod machine_demand;
mod map_live;
mod snapshot_summary;
mod soundness;
mod torture;
