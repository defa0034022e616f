//! [`ShardedMemory`]: guest RAM as a fixed array of shards, each behind its
//! own `spin::RwLock`, with the shared (`&self`) typed and bulk accesses.
//!
//! One access, as data: `read_u32(addr)` splits `addr` into (shard, offset)
//! with a shift and a mask, checks the shard index once (that is the bounds
//! check: an address past the end, `usize::MAX` included, has no shard), and
//! if the value fits in the shard loads it with no lock: one atomic word
//! load when it lies inside one machine word, a sequence-validated
//! (seqlock) read otherwise (see `shard/`). A write takes the shard's
//! write lock. A value that straddles two shards takes a cold path that
//! validates both shards' counters (readers) or locks both, in ascending
//! order (writers), so it is tear-free and two straddling accesses can never
//! deadlock.
//!
//! Limits, stated plainly: `spin`'s lock is unfair to writers (a steady
//! stream of lock-taking readers — bulk reads, snapshots, readers that fell
//! back after a writer storm — can starve a writer of that shard); a shared
//! write pays the lock's atomic read-modify-writes and a sequence-counter
//! bump; shared accesses are atomic per access, not ordered across
//! addresses. Owners that need no locking use
//! [`exclusive`](ShardedMemory::exclusive), read-only images
//! [`freeze`](ShardedMemory::freeze), runs of writes
//! [`batch`](ShardedMemory::batch).
#![allow(unsafe_code)] // `new_boxed`'s zeroed allocation, argued at the call

use crate::error::{Access, ErrorKind, VmError};
use crate::scalar::{load_sized, Scalar};
use crate::section::Masked;
use crate::shard::{NoWriters, Shard, ShardWrite, Shards, Track};
use crate::sync::{AtomicU8, Ordering};
use core::ops::Range;

/// A guest read-modify-write with its width as data: given the old value
/// (in the low bytes), the new one, or `None` to store nothing. One
/// `dyn` closure type, so one copy of each atomic path serves every width
/// and operation.
pub(crate) type Rmw<'f> = &'f mut dyn FnMut(u64) -> Option<u64>;

/// A memory's freeze states (`state`): defined beside the shards, whose
/// page handles test them too.
pub(crate) use crate::shard::{FREEZING, FROZEN, LIVE};

/// Guest RAM of `SHARDS * SHARD_SIZE` bytes, held inline as `SHARDS`
/// shards, each behind its own `spin::RwLock`. The shards' bytes are one
/// contiguous, 8-aligned array beside the array of locks, so the owner's
/// and the frozen paths read guest memory as a plain slice.
///
/// Addresses are `usize` offsets from 0. Every method checks its address and
/// returns a [`VmError`] instead of panicking or wrapping around. Values are
/// little-endian in guest memory; the `_be` methods are for big-endian guests.
///
/// The geometry is checked at compile time: `SHARD_SIZE` must be a power of
/// two and at least 8, `SHARDS` at least 1, and `SHARDS * SHARD_SIZE` must fit
/// in `usize`.
///
/// ```
/// use vm_mem::ShardedMemory;
///
/// // In a `static`: zeroed, so it lands in `.bss`.
/// static RAM: ShardedMemory<16, 4096> = ShardedMemory::new();
///
/// RAM.write_u32(0x1ffe, 0xdead_beef)?; // straddles shards 1 and 2
/// assert_eq!(RAM.read_u32(0x1ffe)?, 0xdead_beef);
/// assert_eq!(RAM.read_u16_be(0x1ffe)?, 0xefbe);
/// assert!(RAM.read_u64(usize::MAX - 3).is_err());
/// # Ok::<(), vm_mem::VmError>(())
/// ```
///
/// A bad geometry does not compile:
///
/// ```compile_fail
/// let mem: vm_mem::ShardedMemory<4, 1000> = vm_mem::ShardedMemory::new();
/// ```
#[repr(C)] // the bytes first (see `Shards`)
pub struct ShardedMemory<const SHARDS: usize, const SHARD_SIZE: usize> {
    pub(crate) shards: Shards<SHARDS, SHARD_SIZE>,
    /// [`LIVE`], [`FREEZING`] or [`FROZEN`].
    pub(crate) state: AtomicU8,
    /// The id of the snapshot that is the restore baseline (0: none),
    /// behind a lock that serialises snapshot, restore and freeze on this
    /// memory (only its write side is used). `RwLock::new(0)` is all-zero
    /// bits, as the rest of the memory.
    pub(crate) baseline: spin::RwLock<u64>,
}

/// A run of a bulk access that lies in one shard: bytes `off..off + len` of
/// shard `shard` correspond to bytes `buf` of the caller's buffer.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) shard: usize,
    pub(crate) off: usize,
    pub(crate) buf: Range<usize>,
}

impl Run {
    /// Copies the run from shard bytes into the caller's buffer.
    #[inline]
    pub(crate) fn copy_out(&self, shard: &[u8], buf: &mut [u8]) {
        let Some(dst) = buf.get_mut(self.buf.clone()) else {
            return;
        };
        if let Some(src) = shard.get(self.off..self.off.saturating_add(dst.len()))
            && src.len() == dst.len()
        {
            dst.copy_from_slice(src);
        }
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Total size in bytes.
    pub const SIZE: usize = {
        assert!(
            SHARD_SIZE.is_power_of_two() && SHARD_SIZE >= 8,
            "ShardedMemory: SHARD_SIZE must be a power of two and at least 8 (so a u64 straddles at most two shards)"
        );
        assert!(SHARDS >= 1, "ShardedMemory: SHARDS must be at least 1");
        match SHARDS.checked_mul(SHARD_SIZE) {
            Some(size) => size,
            None => panic!(
                "ShardedMemory: SHARDS * SHARD_SIZE overflows usize; use fewer or smaller shards"
            ),
        }
    };
    /// Number of shards.
    pub const SHARDS: usize = SHARDS;
    /// Size of one shard in bytes.
    pub const SHARD_SIZE: usize = SHARD_SIZE;
    const SHIFT: u32 = SHARD_SIZE.trailing_zeros();
    const MASK: usize = SHARD_SIZE - 1;

    /// A zeroed memory. `const`, so it can initialise a `static` (which then
    /// lands in `.bss`). A bad geometry is a compile-time error here.
    ///
    /// On the host, a memory of more than a few hundred KiB should not be
    /// built on the stack: use a `static` or
    #[cfg_attr(feature = "alloc", doc = "[`new_boxed`](Self::new_boxed).")]
    #[cfg_attr(not(feature = "alloc"), doc = "`new_boxed` (feature `alloc`).")]
    pub const fn new() -> Self {
        const { Self::SIZE };
        ShardedMemory {
            shards: Shards::new(),
            state: AtomicU8::new(LIVE),
            baseline: spin::RwLock::new(0),
        }
    }

    /// A zeroed memory allocated directly on the heap (with `alloc_zeroed`),
    /// never passing through the stack, so multi-MiB memories work in tests
    /// and threads with small stacks.
    ///
    /// ```
    /// let mem = vm_mem::ShardedMemory::<256, 65536>::new_boxed(); // 16 MiB
    /// mem.write_u64(0xff_fff8, 7)?;
    /// assert_eq!(mem.read_u64(0xff_fff8)?, 7);
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        const { Self::SIZE };
        // SAFETY: every field of `Self` is integers, atomics and `spin`
        // locks (an `AtomicUsize` lock word plus `()` or a `u64`), for which
        // all-zero bits are valid, and `new()` builds exactly that: zeroed
        // bytes, unlocked locks (lock word 0), zero counters, marks, state
        // (`LIVE` = 0) and baseline. So an all-zero `Self` is a valid value,
        // equal to `new()`; `tests/bounds.rs::boxed_memory_starts_zeroed_and_works`
        // checks each field behaves as new.
        unsafe { crate::boxed::zeroed_box() }
    }

    /// Total size in bytes (the same as [`Self::SIZE`]).
    #[inline(always)]
    pub const fn size(&self) -> usize {
        Self::SIZE
    }

    /// Splits an address into (shard index, offset in shard). Never
    /// overflows: an address past the end gets an index `>= SHARDS`.
    /// The shards as a [`RawShards`](crate::shard::RawShards) handle
    /// (geometry as data), for a map's cursor.
    #[inline]
    pub(crate) fn raw(&self) -> crate::shard::RawShards<'_> {
        self.shards.raw(&self.state)
    }

    /// A `&'a mut` borrow split into the shared handle a map's table
    /// holds and the owner's plain-access handle on the same bytes: only
    /// for an [`OwnerMap`](crate::OwnerMap), which keeps both to itself
    /// (see `shard::OwnedRam`).
    #[inline]
    pub(crate) fn split_owned(&mut self) -> (&Self, crate::shard::OwnedRam<'_>) {
        let shared: &Self = self;
        (shared, shared.shards.owned())
    }

    #[inline(always)]
    pub(crate) const fn split(addr: usize) -> (usize, usize) {
        (addr >> Self::SHIFT, addr & Self::MASK)
    }

    /// The runs of `addr..addr + len`, shard by shard, or an error (before
    /// anything is touched) if the range does not lie inside the memory.
    #[inline]
    pub(crate) fn runs(
        addr: usize,
        len: usize,
        access: Access,
    ) -> Result<impl Iterator<Item = Run>, VmError> {
        match addr.checked_add(len) {
            Some(end) if end <= Self::SIZE => {}
            _ => return Err(VmError::out_of_bounds(access, addr, len, Self::SIZE)),
        }
        let mut pos = 0;
        Ok(core::iter::from_fn(move || {
            let rest = len - pos;
            if rest == 0 {
                return None;
            }
            let (shard, off) = Self::split(addr + pos);
            let n = rest.min(SHARD_SIZE - off);
            let run = Run {
                shard,
                off,
                buf: pos..pos + n,
            };
            pos += n;
            Some(run)
        }))
    }

    /// Whether a writer must give up: the memory is (being) frozen.
    /// ORDERING: `Acquire` pairs with `freeze`'s `Release` store.
    #[inline]
    pub(crate) fn is_read_only(&self) -> bool {
        self.state.load(Ordering::Acquire) != LIVE
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn read_only(access: Access, addr: usize, size: usize) -> VmError {
        VmError::new(ErrorKind::ReadOnly, access, addr as u64, size)
    }

    crate::typed::typed_methods!(usize, read = &Self, write = &Self);

    /// The one typed read behind every `read_*` method: inside one word of
    /// one shard, one atomic load; anything else (across words or shards,
    /// out of bounds) one tail call out of line, which reads across words
    /// in one shard or across two. One exit: the across-words read inline,
    /// with its own call, cost the toy simulator's shared mode 1.75 (prefix
    /// sums) and 2.0 (checksum) host instructions per access
    /// (`benches/callgrind.sh`).
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        // No in-shard bound here: the one-word read's own (the word lies
        // in the shard) implies it.
        let (idx, off) = Self::split(addr);
        if let Some(shard) = self.shards.get(idx)
            && let Some(v) = shard.read_one_word(off, T::SIZE)
        {
            return Ok(T::from_u64_truncating(v));
        }
        self.read_slow_typed(addr)
    }

    /// What the typed read's one-word read left, as its own result, so the
    /// hot path tail-calls it: across words of one shard here (a misaligned
    /// access: one call into the shard's validated read), else
    /// [`read_slow`](Self::read_slow).
    #[cold]
    #[inline(never)]
    fn read_slow_typed<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        // Here, not only in `read_slow`: one call deeper, a misaligned read
        // took 11.2 ns against 5.8 (the perf test's shard-end table).
        if let Some(v) = self.read_within_shard(addr, T::SIZE) {
            return Ok(T::from_u64_truncating(v));
        }
        self.read_slow(addr, T::SIZE).map(T::from_u64_truncating)
    }

    /// The `size` bytes at `addr` if they lie in one shard, across words
    /// too (validated against the shard's counter).
    #[inline(always)]
    fn read_within_shard(&self, addr: usize, size: usize) -> Option<u64> {
        let (shard, off) = self.in_shard(addr, size)?;
        shard.read(off, size)
    }

    /// The shard holding all `size` bytes at `addr`, with their offset in
    /// it; `None` if they straddle two shards or leave the memory. The one
    /// in-shard test of the shared paths (reads, writes, atomics, batches).
    #[inline(always)]
    pub(crate) fn in_shard(
        &self,
        addr: usize,
        size: usize,
    ) -> Option<(Shard<'_, SHARD_SIZE>, usize)> {
        let (idx, off) = Self::split(addr);
        let shard = self.shards.get(idx)?;
        (off <= SHARD_SIZE.checked_sub(size)?).then_some((shard, off))
    }

    /// The read of `size` bytes, zero-extended. Not generic over the width,
    /// so cold paths stay single; always inlined (with a constant size it is
    /// a bounds check and one load, one exit as in [`read`](Self::read)):
    /// reads are the hot path.
    #[inline(always)]
    pub(crate) fn read_sized(&self, addr: usize, size: usize) -> Result<u64, VmError> {
        if let Some((shard, off)) = self.in_shard(addr, size)
            && let Some(v) = shard.read_one_word(off, size)
        {
            return Ok(v);
        }
        self.read_slow(addr, size)
    }

    /// A read of `size` bytes the one-word read left: across words of one
    /// shard (validated against its counter), straddling two (against both
    /// shards' counters, or under both read locks, ascending), or out of
    /// bounds.
    #[cold]
    #[inline(never)]
    fn read_slow(&self, addr: usize, size: usize) -> Result<u64, VmError> {
        if let Some(v) = self.read_within_shard(addr, size) {
            return Ok(v);
        }
        let (idx, off) = Self::split(addr);
        let oob = || VmError::out_of_bounds(Access::Read, addr, size, Self::SIZE);
        let pair = self.shards.pair(idx).ok_or_else(oob)?;
        pair.read(off, size).ok_or_else(oob)
    }

    /// The one typed write behind every `write_*` method.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, addr: usize, v: T) -> Result<(), VmError> {
        // On the host, the hit inline: inside one word, the shard's lock, a
        // shard already marked since the baseline, the store; everything
        // else (across words, a straddle, out of bounds, frozen, the
        // shard's first write since the baseline, a memory that keeps
        // lines) is one cold call (toy simulator's stores 15.0 -> 12.4
        // extra host instructions per access). Not on bare metal: the
        // inlined hit of every width cost 1.2 KiB of Cortex-M3 flash
        // (`tests/firmware/footprint.sh`, 6420 -> 7588 bytes for the 14
        // typed methods), so firmware keeps the one locked path.
        #[cfg(not(target_os = "none"))]
        {
            // (No in-shard bound: a word lies inside its shard.)
            let (idx, off) = Self::split(addr);
            if crate::shard::in_one_word(off, T::SIZE)
                && let Some(shard) = self.shards.get(idx)
                && let Some(mut g) = shard.write_guard(|| self.is_read_only())
                && g.is_all_marked()
            {
                // Cannot fail: the word lies inside the shard.
                let _stored = g.write_marked(off, T::SIZE, v.to_u64());
                return Ok(());
            }
            self.write_slow(addr, T::SIZE, v.to_u64())
        }
        #[cfg(target_os = "none")]
        self.write_sized(addr, T::SIZE, v.to_u64())
    }

    /// What the typed write's hit left: the general locked write (which
    /// marks, straddles and reports errors). One copy for every width.
    #[cfg(not(target_os = "none"))]
    #[cold]
    #[inline(never)]
    fn write_slow(&self, addr: usize, size: usize, v: u64) -> Result<(), VmError> {
        self.write_sized(addr, size, v)
    }

    /// The write of the low `size` bytes of `v`: the read-modify-write that
    /// does not read. On bare-metal targets left to the optimiser to
    /// inline: a shared write pays for its lock anyway, and one copy for
    /// every width keeps firmware small (`opt-level = "s"`). Elsewhere
    /// always inlined: once the write's marking slow path became a call
    /// (issue 27), LLVM stopped inlining it on the host, and the shared
    /// write cost 1.9 more instructions per access of the toy simulator
    /// (`benches/callgrind.sh`: 22.9 against 21.0); forced on bare metal it
    /// cost 2 KiB of Cortex-M3 flash (`tests/firmware/footprint.sh`).
    #[cfg_attr(target_os = "none", inline)]
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub(crate) fn write_sized(&self, addr: usize, size: usize, v: u64) -> Result<(), VmError> {
        self.update::<false>(Access::Write, addr, size, move |_| Some(v))
            .map(|_| ())
    }

    /// The one locked read-modify-write behind typed writes and guest
    /// atomics: under the write lock of the value's shard (both shards,
    /// ascending, when it straddles), loads the old value (only if `LOAD`;
    /// else `f` gets 0), stores `f(old)` unless it is `None` (a failed
    /// compare-exchange stores and marks nothing), returns the old value.
    /// `f` runs while the lock is held, outside the shard's write section:
    /// if it panics, the guard is released and the counter stays even.
    #[inline(always)]
    pub(crate) fn update<const LOAD: bool>(
        &self,
        access: Access,
        addr: usize,
        size: usize,
        mut f: impl FnMut(u64) -> Option<u64>,
    ) -> Result<u64, VmError> {
        if let Some((mut g, off)) = self.lock_in_shard(access, addr, size)? {
            let old = if LOAD { g.read(off, size) } else { Some(0) };
            if let Some(old) = old {
                if let Some(new) = f(old) {
                    // Cannot fail: `lock_in_shard` checked the fit.
                    if g.is_all_marked() {
                        let _stored = g.write_marked(off, size, new);
                    } else {
                        // The shard's first write since the baseline, or
                        // a memory that keeps lines: out of line, with the
                        // guard, so the inlined write keeps nothing alive
                        // for it.
                        self.write_cold(&mut g, off, size, new);
                    }
                }
                return Ok(old);
            }
        }
        self.modify_straddling(access, addr, size, &mut f)
    }

    /// The slow path of [`update`](Self::update)'s store: marks what is
    /// missing (`Shards::mark_cold`, under the lock `g` holds) and stores.
    #[cold]
    #[inline(never)]
    fn write_cold(&self, g: &mut ShardWrite<'_, SHARD_SIZE>, off: usize, size: usize, v: u64) {
        let mark = |ctl, o, l| self.shards.mark_cold(ctl, o, l);
        let _stored = g.write_with(off, size, v, mark);
    }

    /// The write guard of the shard holding all `size` bytes at `addr`, with
    /// their offset; `Ok(None)` if they straddle or leave the memory (the
    /// caller's slow path reports which); `ReadOnly` once freezing began.
    #[inline(always)]
    pub(crate) fn lock_in_shard(
        &self,
        access: Access,
        addr: usize,
        size: usize,
    ) -> Result<Option<(Masked<ShardWrite<'_, SHARD_SIZE>>, usize)>, VmError> {
        let Some((shard, off)) = self.in_shard(addr, size) else {
            return Ok(None);
        };
        match shard.write_guard(|| self.is_read_only()) {
            Some(g) => Ok(Some((g, off))),
            None => Err(Self::read_only(access, addr, size)),
        }
    }

    /// Read-modify-write of `size` bytes that straddle two shards (or lie
    /// out of bounds), under both write locks (ascending): the cold half of
    /// [`update`](Self::update). Returns the old value. Not generic (size
    /// and operation are data): one copy in the binary.
    #[cold]
    #[inline(never)]
    fn modify_straddling(
        &self,
        access: Access,
        addr: usize,
        size: usize,
        f: Rmw<'_>,
    ) -> Result<u64, VmError> {
        let (idx, off) = Self::split(addr);
        let oob = || VmError::out_of_bounds(access, addr, size, Self::SIZE);
        let pair = self.shards.pair(idx).ok_or_else(oob)?;
        let ro = || Self::read_only(access, addr, size);
        let mut both = pair.write_guard(|| self.is_read_only()).ok_or_else(ro)?;
        let old = both.read(off, size).ok_or_else(oob)?;
        if let Some(new) = f(old) {
            both.write(off, size, new).ok_or_else(oob)?;
        }
        Ok(old)
    }

    /// A typed read with no lock: the exclusive and frozen paths. The shard
    /// bytes are one contiguous slice, so this is a plain slice read: one
    /// bounds check and one load, straddling or not. `quiet` proves no
    /// writer runs (see [`NoWriters`]).
    /// The out-of-bounds exit is a tail call, so the hit needs no stack
    /// frame.
    #[inline(always)]
    pub(crate) fn read_unlocked<T: Scalar>(
        quiet: NoWriters<'_, SHARDS, SHARD_SIZE>,
        addr: usize,
        size: usize,
    ) -> Result<T, VmError> {
        match quiet.bytes().get(addr..).and_then(|b| load_sized(b, size)) {
            Some(v) => Ok(T::from_u64_truncating(v)),
            None => VmError::out_of_bounds_err(Access::Read, addr, size, Self::SIZE),
        }
    }

    /// A bulk read with no lock, under the same proof.
    pub(crate) fn read_bytes_unlocked(
        quiet: NoWriters<'_, SHARDS, SHARD_SIZE>,
        addr: usize,
        buf: &mut [u8],
    ) -> Result<(), VmError> {
        match addr
            .checked_add(buf.len())
            .and_then(|end| quiet.bytes().get(addr..end))
        {
            Some(src) if src.len() == buf.len() => {
                buf.copy_from_slice(src);
                Ok(())
            }
            _ => Err(VmError::out_of_bounds(
                Access::Read,
                addr,
                buf.len(),
                Self::SIZE,
            )),
        }
    }

    /// Copies `buf.len()` bytes starting at `addr` into `buf`, one shard at a
    /// time under its read lock (so a plain `memcpy` is sound: no writer runs).
    /// Atomic per shard, not across shards.
    ///
    /// ```
    /// let mem: vm_mem::ShardedMemory<4, 64> = vm_mem::ShardedMemory::new();
    /// mem.write_bytes(60, b"straddle")?;
    /// let mut buf = [0u8; 8];
    /// mem.read_bytes(60, &mut buf)?;
    /// assert_eq!(&buf, b"straddle");
    /// assert!(mem.read_bytes(250, &mut buf).is_err());
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn read_bytes(&self, addr: usize, buf: &mut [u8]) -> Result<(), VmError> {
        for run in Self::runs(addr, buf.len(), Access::Read)? {
            let Some(shard) = self.shards.get(run.shard) else {
                break; // unreachable: `runs` checked the range
            };
            run.copy_out(shard.read_guard().bytes(), buf);
        }
        Ok(())
    }

    /// Copies `buf` into memory starting at `addr`, one shard at a time under
    /// its write lock. A range that does not fit fails before anything is
    /// written. Atomic per shard, not across shards (as DMA on a real bus).
    pub fn write_bytes(&self, addr: usize, buf: &[u8]) -> Result<(), VmError> {
        self.write_runs(addr, buf.len(), |g, track, run| {
            g.copy_in(track, run.off, buf.get(run.buf.clone())?)
        })
    }

    /// Sets `len` bytes starting at `addr` to `byte`, one shard at a time.
    /// A range that does not fit fails before anything is written.
    pub fn fill(&self, addr: usize, len: usize, byte: u8) -> Result<(), VmError> {
        self.write_runs(addr, len, |g, track, run| {
            g.fill(track, run.off, run.buf.len(), byte)
        })
    }

    /// The write loop behind `write_bytes` and `fill`.
    #[inline]
    fn write_runs<'m>(
        &'m self,
        addr: usize,
        len: usize,
        mut f: impl FnMut(&mut ShardWrite<'m, SHARD_SIZE>, Track<'m>, &Run) -> Option<()>,
    ) -> Result<(), VmError> {
        let runs = Self::runs(addr, len, Access::Write)?;
        if self.is_read_only() {
            return Err(Self::read_only(Access::Write, addr, len));
        }
        for run in runs {
            let Some(shard) = self.shards.get(run.shard) else {
                break; // unreachable: `runs` checked the range
            };
            let Some(mut g) = shard.write_guard(|| self.is_read_only()) else {
                return Err(Self::read_only(Access::Write, addr, len));
            };
            // Cannot fail: `runs` keeps every run inside its shard.
            let _stored = f(&mut g, self.shards.track(run.shard), &run);
        }
        Ok(())
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Default for ShardedMemory<SHARDS, SHARD_SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> core::fmt::Debug
    for ShardedMemory<SHARDS, SHARD_SIZE>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShardedMemory")
            .field("shards", &SHARDS)
            .field("shard_size", &SHARD_SIZE)
            .field("frozen", &self.is_read_only())
            .finish_non_exhaustive()
    }
}

// By value too, so one generic `step(&mut handle)` takes every kind.
impl<const SHARDS: usize, const SHARD_SIZE: usize> crate::MemoryAccess
    for ShardedMemory<SHARDS, SHARD_SIZE>
{
    crate::access::forward!(host(ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE), [*]);
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> crate::MemoryAccess
    for &ShardedMemory<SHARDS, SHARD_SIZE>
{
    crate::access::forward!(host(ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE), [**]);
}
