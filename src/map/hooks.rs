//! Access hooks: code that watches a guest address range and sees every
//! read, write or fetch that touches it, may replace what a read or fetch
//! returns, may change the value a typed write or guest atomic stores
//! ([`AccessHook::write_value`]), and may refuse a write. Installed with
//! [`MemoryMap::watch`](crate::MemoryMap::watch), held in a fixed-capacity
//! table: no heap.
//!
//! Promises: a hook runs **once per access** that overlaps its range (a
//! typed access split across regions, or a bulk copy over many, is one
//! access), with the access's guest address and all its bytes. Hooks run
//! only for accesses the map allows (mapped, permitted): a refused access
//! reaches no hook. Hooks run in the order they were installed; a read or
//! fetch hook runs after the bytes are read and sees what earlier hooks
//! left; write hooks run before anything is stored, and the first that
//! refuses stops the write (later hooks are not called, nothing is stored,
//! the access fails with [`ErrorKind::DeniedByHook`](crate::ErrorKind::DeniedByHook)).
//!
//! Cost: none for regions no hook overlaps (each region keeps the
//! permissions its fast path may use without looking at hooks), and
//! accesses to watched regions take the map's slower, general path.
//!
//! Live changes: [`unwatch`](crate::MemoryMap::unwatch) returns once no
//! *new* access can reach the hook; an access that started before may
//! still call it (it finishes against the map it started with), which is
//! why hooks are borrowed for the map's `'a`.

use crate::error::Access;
use crate::map::caller::Caller;
use crate::perms::Perms;

/// The bytes a write stores, the map's one byte-source type: what a write
/// hook sees, and what the map's bulk copies carry to memories and
/// devices. The bytes of a typed write (little-endian, i.e. in guest
/// memory order, also for `_be` writes) or of `write_bytes`, or a `fill`'s
/// repeated byte.
///
/// ```
/// use vm_mem::WriteData;
/// assert_eq!(WriteData::Bytes(&[0x78, 0x56, 0x34, 0x12]).value(), Some(0x1234_5678));
/// assert_eq!(WriteData::Fill { byte: 1, len: 2 }.value(), Some(0x0101));
/// assert_eq!(WriteData::Fill { byte: 1, len: 9 }.value(), None);
/// assert_eq!(WriteData::Fill { byte: 7, len: 9 }.get(8), Some(7));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteData<'s> {
    /// The bytes of a typed write or a `write_bytes`.
    Bytes(&'s [u8]),
    /// `len` copies of `byte` (a `fill`).
    Fill {
        /// The byte stored.
        byte: u8,
        /// How many times.
        len: usize,
    },
}

impl WriteData<'_> {
    /// Number of bytes written.
    #[allow(clippy::len_without_is_empty)] // a write hook never sees an empty write
    pub fn len(&self) -> usize {
        match *self {
            WriteData::Bytes(b) => b.len(),
            WriteData::Fill { len, .. } => len,
        }
    }

    /// The `i`-th byte written, if there is one.
    pub fn get(&self, i: usize) -> Option<u8> {
        match *self {
            WriteData::Bytes(b) => b.get(i).copied(),
            WriteData::Fill { byte, len } => (i < len).then_some(byte),
        }
    }

    /// The bytes from position `at` on, `out.len()` of them, into `out`
    /// (the caller keeps `at + out.len() <= self.len()`).
    pub(crate) fn copy_to(&self, at: usize, out: &mut [u8]) {
        match *self {
            WriteData::Bytes(b) => out.copy_from_slice(&b[at..at + out.len()]),
            WriteData::Fill { byte, .. } => out.fill(byte),
        }
    }

    /// The bytes as a little-endian value, for writes of at most 8 bytes.
    pub fn value(&self) -> Option<u64> {
        let len = self.len();
        if len > 8 {
            return None;
        }
        let mut le = [0u8; 8];
        for (i, b) in le.iter_mut().enumerate().take(len) {
            *b = self.get(i)?;
        }
        Some(u64::from_le_bytes(le))
    }
}

/// Code that watches guest accesses, installed with
/// [`MemoryMap::watch`](crate::MemoryMap::watch). Every method has a
/// default that lets the access through unchanged, so a hook implements
/// only what it watches. `Sync` and `&self`, like devices: keep state in
/// atomics or a `spin::Mutex`.
///
/// `addr` is the guest address of the access's first byte, which may lie
/// before the watched range (an access overlapping it by one byte is
/// seen whole).
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use vm_mem::{AccessHook, ErrorKind, MemoryMap, Perms, ShardedMemory, WriteData};
///
/// /// Refuses writes of zero; remembers the last value written.
/// struct NoZero(AtomicU64);
/// impl AccessHook for NoZero {
///     fn write(&self, _addr: u64, data: WriteData<'_>) -> bool {
///         let v = data.value().unwrap_or(u64::MAX);
///         self.0.store(v, Ordering::Relaxed);
///         v != 0
///     }
/// }
///
/// /// Makes every read of its range see 0x42 in the first byte.
/// struct Patch;
/// impl AccessHook for Patch {
///     fn read(&self, _addr: u64, data: &mut [u8]) {
///         data[0] = 0x42;
///     }
/// }
///
/// let ram = ShardedMemory::<1, 64>::new();
/// let (guard, patch) = (NoZero(AtomicU64::new(0)), Patch);
/// let map: MemoryMap<'_, 1> = MemoryMap::new();
/// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
/// map.watch(0x1010..=0x1013, Perms::WRITE, &guard)?;
/// map.watch(0x1020..=0x1020, Perms::READ, &patch)?;
/// map.write_u32(0x1010, 7)?;
/// let e = map.write_u16(0x100f, 0).unwrap_err(); // overlaps by one byte
/// assert_eq!(e.kind(), ErrorKind::DeniedByHook);
/// assert_eq!(ram.read_u32(0x10)?, 7); // nothing stored
/// assert_eq!(map.read_u16(0x1020)?, 0x0042);
/// assert_eq!(ram.read_u8(0x20)?, 0); // memory unchanged
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AccessHook: Sync {
    /// Sees a read after its bytes were read (`data`, in guest memory
    /// order) and may change them: the guest gets what `data` holds after
    /// every read hook ran.
    fn read(&self, addr: u64, data: &mut [u8]) {
        let _ = (addr, data);
    }

    /// Sees an instruction fetch after its bytes were read, as
    /// [`read`](Self::read) does (it may patch them, e.g. for a breakpoint).
    fn fetch(&self, addr: u64, data: &mut [u8]) {
        let _ = (addr, data);
    }

    /// Sees a write before anything is stored; returns whether to let it
    /// through (`false`: the write fails with `DeniedByHook`, nothing is
    /// stored and later hooks are not called).
    fn write(&self, addr: u64, data: WriteData<'_>) -> bool {
        let _ = (addr, data);
        true
    }

    /// Sees a typed write, or a guest atomic's store, before anything is
    /// stored, its bytes in `data` (guest memory order), and may change
    /// them: what is stored is what `data` holds after every write hook
    /// ran (a device register that ignores some bits, a watchpoint that
    /// patches a value). Returns whether to let it through, as
    /// [`write`](Self::write). The default shows the bytes to `write`.
    /// Bulk copies (`write_bytes`, `fill`) call `write` only: their bytes
    /// are the caller's.
    ///
    /// ```
    /// use vm_mem::{AccessHook, MemoryMap, Perms, ShardedMemory};
    ///
    /// /// A register whose top bit reads as written but is stored as 0.
    /// struct ClearTop;
    /// impl AccessHook for ClearTop {
    ///     fn write_value(&self, _addr: u64, data: &mut [u8]) -> bool {
    ///         if let Some(top) = data.last_mut() {
    ///             *top &= 0x7f;
    ///         }
    ///         true
    ///     }
    /// }
    ///
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let map: MemoryMap<'_, 1> = MemoryMap::new();
    /// map.add_ram("ram", 0, 64, Perms::RW, &ram)?;
    /// map.watch(0..=3, Perms::WRITE, &ClearTop)?;
    /// map.write_u32(0, 0xffff_ffff)?;
    /// assert_eq!(ram.read_u32(0)?, 0x7fff_ffff);
    /// map.fetch_add::<u32>(0, 0x8000_0002)?; // an atomic's store too: 0x8000_0001
    /// assert_eq!(ram.read_u32(0)?, 0x0000_0001);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn write_value(&self, addr: u64, data: &mut [u8]) -> bool {
        self.write(addr, WriteData::Bytes(data))
    }

    /// A read or a fetch, told who is asking ([`Caller`]: the access kind,
    /// [`Access::Read`](crate::Access::Read), [`Access::Fetch`](crate::Access::Fetch)
    /// or a guest atomic's read half, [`Access::Atomic`](crate::Access::Atomic),
    /// and the vCPU if it came through a [`Cursor`](crate::Cursor)). The map
    /// calls this one; the default calls [`fetch`](Self::fetch) for a
    /// fetch and [`read`](Self::read) for the rest.
    ///
    /// ```
    /// use core::sync::atomic::{AtomicU32, Ordering};
    /// use vm_mem::{Access, AccessHook, Caller, MemoryMap, Perms, ShardedMemory};
    ///
    /// /// Counts the reads vCPU 1 makes, fetches apart.
    /// struct CpuOneReads(AtomicU32);
    /// impl AccessHook for CpuOneReads {
    ///     fn read_by(&self, by: Caller, _addr: u64, _data: &mut [u8]) {
    ///         if by.cpu() == Some(1) && by.access() != Access::Fetch {
    ///             self.0.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }
    /// }
    ///
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let hook = CpuOneReads(AtomicU32::new(0));
    /// let map: MemoryMap<'_, 1> = MemoryMap::new();
    /// map.add_ram("ram", 0, 64, Perms::RWX, &ram)?;
    /// map.watch(0..=63, Perms::READ | Perms::EXEC, &hook)?;
    /// let (cpu0, cpu1) = (map.cpu(), map.cpu());
    /// cpu0.read_u32(0)?;
    /// cpu1.read_u32(0)?;
    /// cpu1.fetch_u32(0)?;
    /// map.read_u32(0)?;
    /// assert_eq!(hook.0.load(Ordering::Relaxed), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    fn read_by(&self, by: Caller, addr: u64, data: &mut [u8]) {
        if by.access() == Access::Fetch {
            self.fetch(addr, data);
        } else {
            self.read(addr, data);
        }
    }

    /// [`write`](Self::write), told who is asking, as
    /// [`read_by`](Self::read_by) (kind [`Access::Write`](crate::Access::Write),
    /// or [`Access::Atomic`](crate::Access::Atomic) for a guest atomic's
    /// store). The map calls this one for bulk writes; the default calls
    /// `write`.
    #[inline]
    fn write_by(&self, by: Caller, addr: u64, data: WriteData<'_>) -> bool {
        let _ = by;
        self.write(addr, data)
    }

    /// [`write_value`](Self::write_value), told who is asking, as
    /// [`write_by`](Self::write_by). The map calls this one for typed
    /// writes and atomics' stores; the default calls `write_value`.
    #[inline]
    fn write_value_by(&self, by: Caller, addr: u64, data: &mut [u8]) -> bool {
        let _ = by;
        self.write_value(addr, data)
    }
}

/// Names an installed hook, for [`MemoryMap::unwatch`](crate::MemoryMap::unwatch).
/// Ids count up from 0 in a `u64` and are never reused, so a stale id
/// never names a later hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookId(pub(crate) u64);

impl HookId {
    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// One installed hook.
#[derive(Clone, Copy)]
pub(crate) struct Hook<'a> {
    pub(crate) first: u64,
    pub(crate) last: u64,
    /// `READ` watches reads, `WRITE` writes, `EXEC` fetches.
    pub(crate) kinds: Perms,
    pub(crate) hook: &'a dyn AccessHook,
    pub(crate) id: HookId,
}

impl Hook<'_> {
    /// Whether the hook watches bytes `first..=last` for accesses needing `kind`.
    #[inline]
    pub(crate) fn watches(&self, kind: Perms, first: u64, last: u64) -> bool {
        self.kinds.contains(kind) && self.first <= last && first <= self.last
    }
}
