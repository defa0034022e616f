//! The atomic types vm-mem uses: `core`'s, or `portable-atomic`'s on targets
//! without compare-and-swap (feature `portable-atomic`). Every module takes
//! its atomics from here, so the bottom layer (`shard/`) imports nothing
//! from the crate root and one switch picks the implementation.
//!
//! `AtomicU64` is exported only where the target has 64-bit atomics
//! (`target_has_atomic = "64"`); code that needs 64 bits elsewhere says what
//! it does instead (see the snapshot ids in `snapshot.rs`).

#[cfg(not(feature = "portable-atomic"))]
pub(crate) use core::sync::atomic::{AtomicU16, AtomicU8, AtomicUsize, Ordering};
#[cfg(feature = "portable-atomic")]
pub(crate) use portable_atomic::{AtomicU16, AtomicU8, AtomicUsize, Ordering};

#[cfg(all(target_has_atomic = "64", not(feature = "portable-atomic")))]
pub(crate) use core::sync::atomic::AtomicU64;
#[cfg(all(target_has_atomic = "64", feature = "portable-atomic"))]
pub(crate) use portable_atomic::AtomicU64;
