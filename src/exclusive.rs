//! [`Exclusive`]: the `&mut` view of a memory. Its owner has the memory to
//! itself, so no access takes a lock or touches an atomic: an in-shard read
//! is one bounds check and one load, as on a plain slice.
//!
//! Soundness rests on one rule the types enforce: the view holds the
//! memory's only borrow (`&mut`) and never lends a shared `&ShardedMemory`
//! through `&self` ([`Exclusive::memory`] takes `&mut self`), so while any
//! `&self` method runs no other handle exists to write through, and its
//! plain reads cannot race. A shared handle from `memory` borrows the view
//! mutably for as long as it lives:
//!
//! ```compile_fail,E0502
//! // The data race this rule rules out: a thread writing through the
//! // shared handle while the view reads the same (straddling) address.
//! let mut mem = vm_mem::ShardedMemory::<2, 64>::new();
//! let mut view = mem.exclusive();
//! let shared = view.memory();
//! std::thread::scope(|s| {
//!     s.spawn(|| shared.write_u64(60, u64::MAX));
//!     let _ = view.read_u64(60); // error: `view` is borrowed mutably by `shared`
//! });
//! ```
#![allow(unsafe_code)] // one proof of "no writer", argued in `no_writers`

use crate::error::{Access, VmError};
use crate::memory::{ShardedMemory, LIVE};
use crate::scalar::{store_sized, Scalar};
use crate::shard::NoWriters;

/// Lock-free access for the owner of a memory, from
/// [`ShardedMemory::exclusive`]. Same methods and semantics as the shared
/// memory; writes still honour [`freeze`](ShardedMemory::freeze).
///
/// ```
/// use vm_mem::ShardedMemory;
///
/// let mut mem = ShardedMemory::<4, 4096>::new_boxed();
/// let mut view = mem.exclusive();
/// view.write_u64(4092, 0x0102_0304_0506_0708)?; // straddles, no locks
/// assert_eq!(view.read_u64(4092)?, 0x0102_0304_0506_0708);
/// assert_eq!(view.read_u32_be(4096)?, 0x0403_0201);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub struct Exclusive<'a, const SHARDS: usize, const SHARD_SIZE: usize> {
    mem: &'a mut ShardedMemory<SHARDS, SHARD_SIZE>,
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// The lock-free view for an owner holding `&mut`.
    #[inline]
    pub fn exclusive(&mut self) -> Exclusive<'_, SHARDS, SHARD_SIZE> {
        Exclusive { mem: self }
    }
}

impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> Exclusive<'a, SHARDS, SHARD_SIZE> {
    /// Total size in bytes.
    pub const SIZE: usize = ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE;

    crate::typed::typed_methods!(usize, read = &Self, write = &mut Self);

    /// The memory this view borrows, for shared-API calls (the dirty log,
    /// a `batch`, `freeze`). Takes `&mut self`: while the shared handle
    /// lives the view cannot read or write, so nothing it lends can race the
    /// view's plain loads (see the module docs for the code this rejects).
    ///
    /// ```
    /// let mut mem = vm_mem::ShardedMemory::<4, 64>::new();
    /// let mut view = mem.exclusive();
    /// view.write_u32(0x40, 7)?;
    /// assert!(view.memory().is_dirty(1));
    /// assert_eq!(view.read_u32(0x40)?, 7); // the shared borrow has ended
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    #[inline]
    pub fn memory(&mut self) -> &ShardedMemory<SHARDS, SHARD_SIZE> {
        self.mem
    }

    /// The memory, mutably: for whole-memory operations written once for
    /// the shared and the exclusive paths (snapshot, restore).
    #[inline]
    pub(crate) fn memory_mut(&mut self) -> &mut ShardedMemory<SHARDS, SHARD_SIZE> {
        self.mem
    }

    /// The proof that no writer runs while `&self` lives, for plain reads.
    #[inline(always)]
    fn no_writers(&self) -> NoWriters<'_, SHARDS, SHARD_SIZE> {
        // SAFETY: `self.mem` is a `&'a mut` borrow of the whole memory (the
        // only constructor is `ShardedMemory::exclusive(&mut self)`), so for
        // 'a every other handle on the memory derives from this view. Through
        // `&self` the view lends none: `memory` takes `&mut self`, and no
        // `&self` method of this module writes or passes `self.mem` on. So
        // while the returned borrow of `self` lives, no write guard can be
        // taken and no `&mut` to the shards used (that needs `&mut self`).
        unsafe { NoWriters::new(&self.mem.shards) }
    }

    /// The one typed read behind every `read_*` method.
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        ShardedMemory::read_unlocked(self.no_writers(), addr, T::SIZE)
    }

    /// Refuses writes to a frozen memory (checked after bounds, as on
    /// every other path: an address out of bounds reports that first).
    #[inline(always)]
    pub(crate) fn check_writable(
        &mut self,
        access: Access,
        addr: usize,
        size: usize,
    ) -> Result<(), VmError> {
        if *self.mem.state.get_mut() == LIVE {
            Ok(())
        } else {
            Err(ShardedMemory::<SHARDS, SHARD_SIZE>::read_only(
                access, addr, size,
            ))
        }
    }

    /// The one typed write behind every `write_*` method.
    #[inline(always)]
    pub fn write<T: Scalar>(&mut self, addr: usize, v: T) -> Result<(), VmError> {
        self.write_sized(addr, T::SIZE, v.to_u64())
    }

    /// The write of the low `size` bytes of `v`: a plain slice store into
    /// the contiguous shard bytes. Not generic over the width. The hit (in
    /// bounds, the memory live, the value in one shard already marked) is
    /// the tests and the store; everything else leaves through one tail
    /// call, so an emulator's store with all its widths inlined stays
    /// small enough for the compiler to inline the emulator's own store
    /// handler (measured with `benches/callgrind.sh --real`: with three exits
    /// per width rrs-lib kept `execute_store` out of line, 9.45 host
    /// instructions per access beyond a `Vec<u8>`; with one, 0.13).
    #[cfg_attr(target_os = "none", inline)]
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn write_sized(&mut self, addr: usize, size: usize, v: u64) -> Result<(), VmError> {
        if let Some(end) = addr.checked_add(size)
            && end <= Self::SIZE
            && *self.mem.state.get_mut() == LIVE
            && self.mem.shards.marked_for(addr, size)
            && let Some(dst) = self.mem.shards.flat_mut().get_mut(addr..)
            && store_sized(dst, size, v).is_some()
        {
            return Ok(());
        }
        self.write_cold(addr, size, v)
    }

    /// Everything [`write_sized`](Self::write_sized)'s hit does not settle,
    /// out of line: the errors (bounds first, then a frozen memory), a
    /// store into a shard not yet marked (then its marks, lines and
    /// summary) or across two shards (both marked).
    #[cold]
    #[inline(never)]
    fn write_cold(&mut self, addr: usize, size: usize, v: u64) -> Result<(), VmError> {
        let end = match addr.checked_add(size) {
            Some(end) if end <= Self::SIZE => end,
            _ => return VmError::out_of_bounds_err(Access::Write, addr, size, Self::SIZE),
        };
        self.check_writable(Access::Write, addr, size)?;
        let Some(dst) = self.mem.shards.flat_mut().get_mut(addr..end) else {
            // Unreachable: the range was checked above.
            return VmError::out_of_bounds_err(Access::Write, addr, size, Self::SIZE);
        };
        // Byte by byte, little-endian (`size` is a width, 1 to 8): a copy
        // of `size` bytes would be a `memcpy` call, which firmware would
        // link only for this (744 bytes of flash on Cortex-M3).
        for (i, b) in (0u32..).zip(dst.iter_mut()) {
            *b = v.wrapping_shr(8 * i) as u8;
        }
        self.mem.shards.mark_value(addr, size);
        Ok(())
    }

    /// Copies `buf.len()` bytes starting at `addr` into `buf`.
    pub fn read_bytes(&self, addr: usize, buf: &mut [u8]) -> Result<(), VmError> {
        ShardedMemory::read_bytes_unlocked(self.no_writers(), addr, buf)
    }

    /// Copies `buf` into memory at `addr`; a range that does not fit fails
    /// before anything is written.
    pub fn write_bytes(&mut self, addr: usize, buf: &[u8]) -> Result<(), VmError> {
        self.write_runs(addr, buf.len(), |dst| {
            if dst.len() == buf.len() {
                dst.copy_from_slice(buf);
            }
        })
    }

    /// Sets `len` bytes at `addr` to `byte`; a range that does not fit fails
    /// before anything is written.
    pub fn fill(&mut self, addr: usize, len: usize, byte: u8) -> Result<(), VmError> {
        self.write_runs(addr, len, |dst| dst.fill(byte))
    }

    /// The checks and marks around a bulk write of `len` bytes at `addr`
    /// into the contiguous shard bytes.
    fn write_runs(
        &mut self,
        addr: usize,
        len: usize,
        f: impl FnOnce(&mut [u8]),
    ) -> Result<(), VmError> {
        let dst = match addr.checked_add(len) {
            Some(end) if end <= Self::SIZE => addr..end,
            _ => return Err(VmError::out_of_bounds(Access::Write, addr, len, Self::SIZE)),
        };
        self.check_writable(Access::Write, addr, len)?;
        if let Some(dst) = self.mem.shards.flat_mut().get_mut(dst) {
            f(dst);
        }
        self.mem.shards.mark_mut(addr, len);
        Ok(())
    }
}

impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> crate::MemoryAccess
    for Exclusive<'a, SHARDS, SHARD_SIZE>
{
    crate::access::forward!(host(ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE), [*]);
}

/// Zero-copy access to the guest bytes, for the owner.
///
/// The bytes of every shard are one contiguous array, so an owner can see
/// the whole guest memory as one slice: load an image, let a JIT read code,
/// let a DMA model copy from a host buffer, with no copy through
/// `read_bytes`/`write_bytes`. Sound because the view holds the memory by
/// `&mut`: while a slice lives, the view is borrowed, so no other handle,
/// and so no writer, can run ([`memory`](Exclusive::memory) needs `&mut`
/// too).
///
/// Writes through a mutable slice bypass the per-access marks, so the
/// mutable accessors mark, up front, every shard they hand out as written:
/// in the dirty log and for [`restore`](Exclusive::restore), which then
/// copies those shards back (it never misses a write made through the
/// slice). Prefer [`slice_mut`](Exclusive::slice_mut) over
/// [`as_mut_slice`](Exclusive::as_mut_slice) when only part of the memory
/// changes: it marks only the shards of its range.
///
/// Loading the segments of an ELF image (the fields as an ELF reader such
/// as `object` or `goblin` reports them):
///
/// ```
/// use vm_mem::{Access, ErrorKind, Exclusive, ShardedMemory, VmError};
///
/// /// A `PT_LOAD` program header: `filesz` bytes from `offset` in the
/// /// file go to guest address `paddr`; the rest up to `memsz` is zeroed.
/// struct Segment {
///     offset: usize,
///     paddr: usize,
///     filesz: usize,
///     memsz: usize,
/// }
///
/// fn load<const S: usize, const N: usize>(
///     view: &mut Exclusive<'_, S, N>,
///     file: &[u8],
///     seg: &Segment,
/// ) -> Result<(), VmError> {
///     let bad_file = VmError::new(ErrorKind::OutOfBounds { limit: file.len() as u64 },
///                                 Access::Read, seg.offset as u64, seg.filesz);
///     let src = file.get(seg.offset..).and_then(|f| f.get(..seg.filesz)).ok_or(bad_file)?;
///     // Checked against the memory; marks only the segment's shards.
///     let dst = view.slice_mut(seg.paddr, seg.memsz.max(seg.filesz))?;
///     let (data, bss) = dst.split_at_mut(src.len());
///     data.copy_from_slice(src);
///     bss.fill(0);
///     Ok(())
/// }
///
/// let mut ram = ShardedMemory::<64, 4096>::new_boxed(); // 256 KiB
/// let mut view = ram.exclusive();
/// let file = [0u8, 0, 0xfe, 0xe7, 0x70, 0x47, 1, 2, 3, 4]; // a toy image
/// let text = Segment { offset: 2, paddr: 0x1000, filesz: 4, memsz: 4 };
/// let data = Segment { offset: 6, paddr: 0x2ffe, filesz: 4, memsz: 0x100 };
/// load(&mut view, &file, &text)?;
/// load(&mut view, &file, &data)?; // straddles shards 2 and 3: one slice
/// assert_eq!(view.read_u16(0x1000)?, 0xe7fe);
/// assert_eq!(view.read_u32_be(0x2ffe)?, 0x0102_0304);
/// assert_eq!(&view.as_slice()[0x1000..0x1004], &[0xfe, 0xe7, 0x70, 0x47]);
///
/// let past_end = Segment { offset: 0, paddr: 0x3_fffe, filesz: 4, memsz: 4 };
/// assert!(load(&mut view, &file, &past_end).is_err()); // nothing written
/// assert!(view.memory().is_dirty(2) && view.memory().is_dirty(3));
/// # Ok::<(), VmError>(())
/// ```
impl<const SHARDS: usize, const SHARD_SIZE: usize> Exclusive<'_, SHARDS, SHARD_SIZE> {
    /// The whole guest memory as one slice (guest address `k` is index `k`).
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // The proof keeps `self` borrowed as long as the slice lives.
        self.no_writers().bytes()
    }

    /// Bytes `addr..addr + len` as a slice; out of bounds is an error.
    #[inline]
    pub fn slice(&self, addr: usize, len: usize) -> Result<&[u8], VmError> {
        let range = Self::range(Access::Read, addr, len)?;
        self.as_slice()
            .get(range)
            .ok_or_else(|| VmError::out_of_bounds(Access::Read, addr, len, Self::SIZE))
    }

    /// The whole guest memory as one mutable slice. Marks every shard
    /// written (dirty log and restore baseline) first, since writes through
    /// the slice are not seen. A frozen memory refuses with `ReadOnly`.
    #[inline]
    pub fn as_mut_slice(&mut self) -> Result<&mut [u8], VmError> {
        self.slice_mut(0, Self::SIZE)
    }

    /// Bytes `addr..addr + len` as a mutable slice. Marks the shards of the
    /// range written first (an empty range marks none); out of bounds or a
    /// frozen memory is an error and marks nothing.
    pub fn slice_mut(&mut self, addr: usize, len: usize) -> Result<&mut [u8], VmError> {
        let range = Self::range(Access::Write, addr, len)?;
        self.check_writable(Access::Write, addr, len)?;
        self.mem.shards.mark_mut(addr, len);
        let oob = || VmError::out_of_bounds(Access::Write, addr, len, Self::SIZE);
        self.mem.shards.flat_mut().get_mut(range).ok_or_else(oob)
    }

    /// `addr..addr + len` if it lies inside the memory.
    #[inline]
    fn range(access: Access, addr: usize, len: usize) -> Result<core::ops::Range<usize>, VmError> {
        match addr.checked_add(len) {
            Some(end) if end <= Self::SIZE => Ok(addr..end),
            _ => Err(VmError::out_of_bounds(access, addr, len, Self::SIZE)),
        }
    }
}
