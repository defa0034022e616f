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
//! // On the host: a big memory on the heap (feature `alloc`, or `std`),
//! // and the lock-free owner's view.
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
//! ## Which handle for which machine
//!
//! | the machine | the handle | what an access costs |
//! | --- | --- | --- |
//! | one memory, threads share it (a device model, a simple VM) | `&`[`ShardedMemory`] | reads lock-free, writes the shard's lock |
//! | one memory, one owner (an interpreter's RAM) | [`ShardedMemory::exclusive`] | what a `Vec<u8>` costs |
//! | a whole address space (RAM, ROM, devices, permissions, hooks) shared by vCPU threads | [`MemoryMap`], a [`Cursor`] per vCPU thread ([`MemoryMap::cpu`]) | a cursor hit: a tag compare, a version compare, the memory's access |
//! | a whole address space run by one thread (a fuzzer, a firmware emulator) | [`OwnerMap`]: it holds its RAM by `&mut`, takes and restores machine snapshots, and its map changes skip the shared map's lookup directory | a hit: a tag compare and a plain load or store |
//!
//! Every handle implements [`MemoryAccess`] by value, so one generic
//! interpreter step takes each as `step(&mut handle)`.
//!
//! ## Where the memory lives
//!
//! - **A `static`**, in firmware or a bare-metal emulator: `const fn new()`
//!   puts it zeroed in `.bss`, with no heap; threads share it through
//!   `&ShardedMemory`.
//! - **The owner's view of a `static`** needs `&'static mut`: take it once
//!   with `static_cell::ConstStaticCell` (or `cortex_m::singleton!`), which
//!   never copies the memory through the stack.
//! - **On the host, [`new_boxed`](ShardedMemory::new_boxed)** (feature
//!   `alloc`) for anything beyond a few MiB: it allocates zeroed pages at
//!   run time, while a `static` is built by the compiler's constant
//!   evaluator (a 1 GiB `static` took 22 s and 4.3 GB of compiler memory in
//!   a release build here; the README gives the measurements).
//!
//! ```
//! use static_cell::ConstStaticCell;
//! use vm_mem::{Exclusive, ShardedMemory};
//!
//! static RAM: ConstStaticCell<ShardedMemory<16, 1024>> =
//!     ConstStaticCell::new(ShardedMemory::new());
//!
//! // At start-up, once (a second `take` panics): the owner's `&'static mut`.
//! let ram: &'static mut ShardedMemory<16, 1024> = RAM.take();
//! let mut view: Exclusive<'static, 16, 1024> = ram.exclusive();
//! view.slice_mut(0x100, 4)?.copy_from_slice(&[0xfe, 0xe7, 0x00, 0xbf]); // load
//! assert_eq!(view.read_u16(0x100)?, 0xe7fe); // no locks, no atomics
//! # Ok::<(), vm_mem::VmError>(())
//! ```
//!
//! On targets without atomic compare-and-swap (`thumbv6m-none-eabi`:
//! Cortex-M0/M0+) enable the `portable-atomic` feature; without it the build
//! stops with an error that names it. The README's "Cortex-M0" section gives
//! the firmware's `.cargo/config.toml`.
//!
//! ## Choosing an access mode
//!
//! One memory, several ways in. Pick by who holds it and how it is used;
//! the cost column is what an access pays on top of a raw slice access.
//!
//! | mode | how | for | cost per access, beyond a slice |
//! | --- | --- | --- | --- |
//! | shared | `&ShardedMemory`: `read_u32`, `write_u64_be`, `read_bytes`, `fill`... | several vCPU or device threads at once | reads: no lock, one atomic word load (sequence-validated when spanning words or shards); writes: the shard's lock plus a sequence-counter bump |
//! | exclusive | [`ShardedMemory::exclusive`] on `&mut` | one owner (a single-threaded emulator, a fuzzer) | none: a bounds check, then the load or store |
//! | frozen | [`ShardedMemory::freeze`]: read-only from then on | ROM, flash images shared by threads | none for reads; writes fail with `ReadOnly` |
//! | batched | [`ShardedMemory::batch`]: keeps one shard's lock | runs of accesses that stay in one shard | one lock per change of shard |
//! | map | [`MemoryMap`]: RAM, ROM and MMIO regions at guest addresses, permissions, hooks | a whole machine's address space | a region lookup, then the region's own mode (a device call for MMIO) |
//! | snapshots | [`ShardedMemory::snapshot`], [`ShardedMemory::restore`] into a [`Snapshot`] | fuzzing, record and replay | restore: one copy per shard written since the snapshot, plus a one-byte mark read per shard |
//! | machine snapshots | [`MemoryMap::snapshot`], [`MemoryMap::restore`] into a [`MachineSnapshot`]: the map's table, registered memories and devices that opt in ([`DeviceState`]); demand mapping with [`MemoryMap::set_unmapped_handler`] | rehosting fuzzers restoring a whole machine | restore: the memories' incremental restores, one `changed` call per saved device (a restore for each changed one), the table republished only if its version moved |
//! | interrupts | feature `critical-section`: every shard lock is held inside a critical section; [`ShardedMemory::try_read`] and `try_read_u64`... never wait | firmware whose interrupt handlers use the memory the code they interrupt uses | with the feature, a critical section per lock taken and per store (on Cortex-M, masking interrupts: a few cycles); nothing without it |
//!
//! Same-thread re-entry can hang, as with any lock: a [`Batch`] holding a
//! shard while the same thread writes it through the memory or a map, or
//! calls `restore`/`freeze`; a `fetch_update` closure that touches the same
//! memory. An interrupt handler is such a re-entry: with feature
//! `critical-section` it may use any shared method (not a batch's shard);
//! without it only `try_read_*` and frozen reads, which never wait. Each
//! method's docs say where it can wait.
//!
//! Guest atomics (`compare_exchange::<u32>`, `fetch_add::<u64>`, ...) hold their
//! shard's write lock; dirty tracking adds one relaxed load to a write
//! (plus one atomic OR on the first write to a shard after the log was
//! cleared). Snapshot, restore and `freeze` of one memory are serialised
//! (a per-memory lock), and restore marks the shards it copies back in the
//! dirty log (their bytes changed). `BENCHMARKS.md` in the repository and
//! source package gives
//! the measured cost of each mode relative to a slice and how it was
//! measured.
//!
//! The first row in use: threads share one memory through
//! `&ShardedMemory`; reads take no lock, writes lock only their own shard.
//!
//! ```
//! use vm_mem::ShardedMemory;
//!
//! static RAM: ShardedMemory<64, 4096> = ShardedMemory::new(); // 256 KiB
//!
//! std::thread::scope(|s| {
//!     let vcpus: Vec<_> = (0..4)
//!         .map(|cpu| {
//!             s.spawn(move || -> Result<(), vm_mem::VmError> {
//!                 RAM.write_u64(0x1000 + 8 * cpu, cpu as u64)?; // its own word
//!                 for _ in 0..100 {
//!                     RAM.fetch_add::<u32>(0x2000, 1)?; // a shared counter, atomic
//!                 }
//!                 Ok(())
//!             })
//!         })
//!         .collect();
//!     vcpus.into_iter().try_for_each(|vcpu| vcpu.join().unwrap())
//! })?;
//! assert_eq!(RAM.read_u32(0x2000)?, 400);
//! assert_eq!(RAM.read_u64(0x1018)?, 3);
//! # Ok::<(), vm_mem::VmError>(())
//! ```
//!
//! Typed accesses are atomic (tear-free), straddling ones included, and
//! free of data races in Rust's memory model (checked under Miri); bulk
//! accesses (`read_bytes`, `write_bytes`, `fill`) are atomic per shard, not
//! across shards, as DMA on a real bus. Shared accesses are not ordered
//! across addresses beyond what their locks give: map guest barriers (DMB,
//! FENCE, MFENCE) to a host `core::sync::atomic::fence(SeqCst)`.
//!
//! ## Feature flags
//!
//! All off by default; each builds on every target (`std` on targets that
//! have it).
//!
//! | feature | enables |
//! | --- | --- |
//! | `std` | implies `alloc`; for host programs, examples and benches |
//! | `alloc` | `new_boxed` constructors that allocate zeroed memories and snapshots on the heap, never on the stack |
//! | `portable-atomic` | `spin` and vm-mem atomics through `portable-atomic`, for targets without compare-and-swap (thumbv6m); the firmware picks a critical section or `portable-atomic`'s single-core cfg |
//! | `defmt` | `defmt::Format` for [`VmError`], [`ErrorKind`], [`Access`] and [`Perms`], to log errors cheaply on the target |
//! | `critical-section` | every path that holds a shard lock (typed writes, guest atomics, bulk reads and writes, `fill`, snapshot, restore, `freeze`, a spanning read's lock fallback) runs in a `critical-section` critical section, so an interrupt handler never waits on a lock the interrupted code holds (not the per-memory snapshot lock: a handler must not snapshot, restore or freeze a memory whose snapshot, restore or freeze it interrupted); the program links an implementation (firmware: `cortex-m`'s `critical-section-single-core`; host: the crate's `std` feature). Not a [`Batch`] |
//!
//! The minimum supported Rust version is 1.88 (`rust-version` in
//! `Cargo.toml`), built and tested in CI.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block,
    clippy::missing_safety_doc
)]

// Targets without compare-and-swap (thumbv6m: Cortex-M0/M0+) need
// `portable-atomic`; without it `spin` is not even built (Cargo.toml), so
// this is the first error such a build reports.
#[cfg(not(any(target_has_atomic = "ptr", feature = "portable-atomic")))]
compile_error!(
    "vm-mem: this target has no atomic compare-and-swap (e.g. thumbv6m-none-eabi, Cortex-M0/M0+): \
     enable vm-mem's `portable-atomic` feature (`vm-mem = { version = \"0.1\", features = [\"portable-atomic\"] }`) \
     and give portable-atomic a critical section or its single-core cfg (see the README, \"Cortex-M0\")"
);

#[cfg(feature = "alloc")]
extern crate alloc;

// In the order rustdoc shows `ShardedMemory`'s methods: making it, its
// typed and bulk accesses, snapshots, the dirty log, the other handles on
// it, interrupt-safe reads and, last, guest atomics.
mod memory;
#[cfg(feature = "alloc")]
mod boxed;
mod snapshot;
mod dirty;
mod exclusive;
mod frozen;
mod batch;
mod interrupt;
mod atomic;

mod access;
mod error;
mod map;
mod perms;
mod scalar;
mod section;
mod seqlock;
mod shard;
mod sync;
mod typed;

pub use access::{read_by_width, write_by_width, MemoryAccess};
pub use batch::Batch;
pub use error::{Access, ErrorKind, VmError};
pub use exclusive::Exclusive;
pub use frozen::Frozen;
pub use map::{
    AccessHook, Caller, Cursor, Demand, DeviceState, Difference, GuestRam, HookId, MachineError,
    MachineSnapshot, MapError, MapErrorKind, MapUpdate, Mapping, MemoryMap, Miss, MmioDevice, Name,
    OwnerMap, PerAccess, PerStep, Region, RegionKind, Restored, UnmappedHandler, Validation,
    WriteData, HANDLER_SLOTS, NAME_BYTES, SNAPSHOT_DEVICES, SNAPSHOT_MEMORIES,
    SNAPSHOT_STATE_BYTES,
};
pub use memory::ShardedMemory;
pub use perms::Perms;
pub use scalar::GuestInt;
pub use scalar::Scalar;
pub use snapshot::Snapshot;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
