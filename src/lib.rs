//! # vm-mem
//!
//! Guest memory for emulators: `no_std`, no heap, fast and safe. Guest RAM
//! is a fixed, const-generic array of shards, each behind a `spin::RwLock`,
//! that can live in a `static` (zeroed, so it lands in `.bss`). Every access
//! is inlined, little-endian (with `_be` twins for big-endian guests),
//! bounds-checked once and returns a [`VmError`] instead of panicking: any
//! address, `usize::MAX` included, is safe to hand it.
//!
//! ```
//! use vm_mem::{ErrorKind, MemoryAccess, ShardedMemory};
//!
//! // Firmware or a bare-metal emulator: a memory in a `static`, no heap.
//! static RAM: ShardedMemory<16, 4096> = ShardedMemory::new(); // 64 KiB
//!
//! RAM.write_u32(0x1000, 0xe7fe_e7fe)?;
//! assert_eq!(RAM.read_u16(0x1002)?, 0xe7fe);
//! RAM.write_u64(0x1ffc, u64::MAX)?; // straddles two shards, tear-free
//! let err = RAM.read_u32(0x1_0000).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::OutOfBounds { limit: 0x1_0000 });
//!
//! // On the host: a big memory on the heap, and the lock-free owner's view.
//! let mut big = ShardedMemory::<1024, 65536>::new_boxed(); // 64 MiB
//! let mut view = big.exclusive();
//! view.write_u64(0x3ff_fff8, 42)?;
//! assert_eq!(view.read_u64(0x3ff_fff8)?, 42);
//!
//! // Emulator code written once, generic over every memory kind.
//! fn load_word(mem: &impl MemoryAccess, addr: u64) -> Result<u32, vm_mem::VmError> {
//!     mem.read_u32(addr)
//! }
//! assert_eq!(load_word(&&RAM, 0x1000)?, 0xe7fe_e7fe);
//! # Ok::<(), vm_mem::VmError>(())
//! ```
//!
//! ## Access modes
//!
//! | mode | how | cost |
//! | --- | --- | --- |
//! | shared | `&ShardedMemory`: `read_u32`, `write_u64`... | one shard lock per access |
//! | exclusive | [`ShardedMemory::exclusive`] on `&mut` | no locks, no atomics |
//! | frozen | [`ShardedMemory::freeze`]: read-only from then on | no locks |
//! | batched | [`ShardedMemory::batch`]: keeps one shard's lock | one lock per shard change |
//!
//! Typed accesses are atomic (tear-free), straddling ones included; bulk
//! accesses (`read_bytes`, `write_bytes`, `fill`) are atomic per shard, not
//! across shards, as DMA on a real bus. Shared accesses are not ordered
//! across addresses beyond what their locks give: map guest barriers (DMB,
//! FENCE, MFENCE) to a host `core::sync::atomic::fence(SeqCst)`.
//!
//! ## Features
//!
//! | feature | enables |
//! | --- | --- |
//! | `std` | implies `alloc`; for host examples and benches |
//! | `alloc` | `new_boxed` constructors that allocate zeroed memory on the heap |
//! | `portable-atomic` | `spin` and vm-mem atomics through `portable-atomic`, for targets without compare-and-swap (thumbv6m) |
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod access;
mod atomic;
mod batch;
#[cfg(feature = "alloc")]
mod boxed;
mod dirty;
mod error;
mod exclusive;
mod frozen;
mod map;
mod memory;
mod perms;
mod scalar;
mod shard;
mod snapshot;
mod typed;

/// The atomic types vm-mem uses: `core`'s, or `portable-atomic`'s on
/// targets without compare-and-swap (feature `portable-atomic`).
mod sync {
    #[cfg(not(feature = "portable-atomic"))]
    pub(crate) use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    #[cfg(feature = "portable-atomic")]
    pub(crate) use portable_atomic::{AtomicU8, AtomicUsize, Ordering};
}

pub use access::MemoryAccess;
pub use batch::Batch;
pub use error::{Access, ErrorKind, VmError};
pub use exclusive::Exclusive;
pub use frozen::Frozen;
pub use map::{AccessHook, GuestRam, HookId, MemoryMap, MmioDevice, Region, RegionKind, WriteData};
pub use memory::ShardedMemory;
pub use perms::Perms;
pub use scalar::Scalar;
pub use snapshot::Snapshot;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
