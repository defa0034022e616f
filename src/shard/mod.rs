//! Shards: `SHARD_SIZE` bytes each behind a `spin::RwLock`, a sequence
//! counter for lock-free readers, and the shard's dirty marks.
//!
//! This is the only module that reaches shard bytes through a shared
//! reference (`&ShardedMemory`), and the only one with `unsafe` code over
//! them. Above it, bytes are reached in three ways only: values, copies and
//! guards asked of a [`Shard`]; a plain `&mut [u8]` from [`Shards::flat_mut`]
//! for an owner holding `&mut` (the exclusive view writes through it); and a
//! plain `&[u8]` from a [`ShardRead`] guard or a [`NoWriters`] proof.
//!
//! By concern, one file each:
//! - `storage.rs`: the bytes of all shards and their control blocks
//!   ([`Shards`]), the mark bits, the freeze states, [`NoWriters`];
//! - `handle.rs`: one shard ([`Shard`], made by one `unsafe fn` that states
//!   the in-bounds invariant the word view relies on) and its atomic word
//!   view;
//! - `guard.rs`: its typed reads (lock-free, with the read lock as the
//!   fallback), its lock guards ([`ShardRead`], [`ShardWrite`]);
//! - `straddle.rs`: accesses that run from one shard into the next
//!   (`ShardPair`, from [`Shards::pair`]);
//! - `store.rs`: the storing side of a write (the words of one shard, only
//!   handed out with the write lock held and the counter odd);
//! - `page.rs`: the map's page handles ([`RawShards`], [`SharedPage`],
//!   [`SharedRun`], [`OwnedRam`], [`OwnedPage`], [`OwnedRun`]);
//! - `track.rs`: what a write leaves for snapshot and restore: the summary
//!   of changed shards (so they cost O(changed)) and, for a memory that
//!   opted in, the 64-byte lines written.
//!
//! The sequence counter is `seqlock.rs`'s [`SeqLock`](crate::seqlock::SeqLock)
//! (shared with the map's table); critical sections and the one wait loop
//! for a lock are `section.rs`'s.
//!
//! # How bytes are stored and read
//! The bytes live in an 8-aligned array inside the lock, in guest order
//! (guest byte `k` at address `k`) on every host. Through `&self` they are
//! only ever accessed as atomic machine words (`Word`: `u64` where the
//! target has 64-bit atomics, else `u32`), viewed with `from_ptr`, so no
//! plain load ever races a store (which would be undefined behaviour even
//! if its value were thrown away):
//! - a read that lies inside one word is one `Relaxed` word load: it cannot
//!   tear, and needs neither the lock nor the counter;
//! - a read spanning two or more words (or two shards) is optimistic, as a
//!   seqlock reader: counter (`Acquire`, must be even), words (`Relaxed`),
//!   `fence(Acquire)`, counter again (unchanged); after a few failures it
//!   takes the read lock, so a writer storm cannot starve it;
//! - a writer holds the write lock, makes the counter odd, `fence(Release)`,
//!   stores whole words (merging a sub-word value into its word), then makes
//!   the counter even with `Release`: crossbeam's `SeqLock::write` order,
//!   in an RAII section ([`SeqWrite`](crate::seqlock::SeqWrite)) whose
//!   `Drop` makes the counter even again even if the stores unwind, so its
//!   parity never flips for good. It never creates a `&mut` to the bytes
//!   (that retag would race the optimistic readers): it stores through the
//!   atomic word view.
//! - Plain loads and `memcpy` happen only where the types prove no writer
//!   can run: under a read guard ([`ShardRead`]), through `&mut`, or with a
//!   [`NoWriters`] proof (the exclusive view's `&self` reads, frozen
//!   memory). Plain reads do not race atomic reads.
//!
//! Layout: the bytes of all shards are one contiguous, 8-aligned array
//! ([`Shards`]) beside an array of per-shard control blocks (lock, counter,
//! marks). The lock guards its shard's bytes by this module's discipline,
//! not by type: a `spin::RwLock<()>`. So an owner with `&mut` (the exclusive
//! view) or a frozen memory reads the whole memory as one plain slice: an
//! access is a bounds check and a load, and one that crosses a shard edge
//! is no different.
//!
//! Interrupts (feature `critical-section`, see `interrupt.rs`): every lock
//! guard is taken inside a `Section` that it holds until the lock is
//! released (`Masked`), and every store runs inside one, so on a
//! single-core target an interrupt handler never meets a lock held, or a
//! counter left odd, by the code it interrupted. A lock is only waited for
//! outside a section.
//!
//! Marks: bit [`DIRTY`] is the user-facing dirty log; bit [`CHANGED`] says
//! "written since the snapshot baseline" and is only cleared by snapshot and
//! restore, so clearing the user's log can never make a restore skip a shard.
//! Restore clears only [`CHANGED`]: the shards it copies stay [`DIRTY`],
//! because their bytes changed. A write that turns [`CHANGED`] on also
//! notes the shard in the memory's summary (`track.rs`), which snapshot and
//! restore drain instead of reading every shard's marks. Bit [`LINES`]
//! (set on every shard of a memory that opted in) keeps the marks from
//! ever being complete, so every write of such a memory takes the marking
//! slow path, which records the lines it wrote.

mod guard;
mod handle;
mod page;
mod storage;
mod store;
mod straddle;
mod track;

pub(crate) use guard::{ShardRead, ShardWrite};
pub(crate) use handle::Shard;
pub(crate) use page::{OwnedPage, OwnedRam, OwnedRun, RawShards, Run, SharedPage, SharedRun, PAGE};
// The host's typed write tests it before inlining its hit (`memory.rs`).
#[cfg(not(target_os = "none"))]
pub(crate) use storage::in_one_word;
pub(crate) use storage::{NoWriters, Shards, CHANGED, DIRTY, FREEZING, FROZEN, LINES, LIVE};
pub(crate) use track::{
    for_each_noted, line_runs, line_size, lines_to_copy, ShardCopy, Summary, Track,
};
