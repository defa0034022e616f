//! Guest atomics through the map: `compare_exchange_*`, `swap_*` and the
//! `fetch_*` family for every width, on RAM regions, from the memories'
//! own macro over [`MemoryMap::fetch_update`].
//!
//! An atomic needs read and write permission, lies in one RAM region (an
//! atomic spanning two regions fails with `CrossesRegion`), and is atomic
//! as on the memory: the memory's shard lock is held for the whole
//! read-modify-write. On ROM it fails with `ReadOnly`, on a device with
//! `AtomicUnsupported`; nothing is read or written then. Hooks see it as a
//! read followed by a write: read hooks on the old value (what they leave
//! is what the operation and the guest see), then write hooks on the new
//! value (a refusal fails it with `DeniedByHook`, nothing stored).

use crate::error::{Access, VmError};
use crate::map::access::relocate;
use crate::map::caller::Caller;
use crate::map::region::Backing;
use crate::map::MemoryMap;
use crate::memory::Rmw;
use crate::perms::Perms;
use crate::scalar::Scalar;

impl<const N: usize, const H: usize> MemoryMap<'_, N, H> {
    /// The one guest read-modify-write behind every atomic method:
    /// atomically loads the `T` at `addr`, stores `f(old)` unless it is
    /// `None`, and returns the old value. Errors report [`Access::Atomic`].
    ///
    /// Without hooks on `addr`, `f` runs once, under the memory's lock.
    /// With hooks, the map reads, runs the read hooks, computes `f`, runs
    /// the write hooks, then stores with a compare-exchange that retries
    /// the whole step if another access changed the value meanwhile: `f`
    /// and the hooks may then run more than once, and the last run is the
    /// one that took effect.
    ///
    /// `f` computes a value and must not access the map: under the
    /// memory's write lock (a spin lock, not reentrant), an access from
    /// `f` to the same shard waits for ever.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, MmioDevice, Perms, ShardedMemory, VmError};
    ///
    /// struct Reg;
    /// impl MmioDevice for Reg {
    ///     fn read(&self, _: u64, _: usize) -> Result<u64, VmError> { Ok(0) }
    ///     fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> { Ok(()) }
    /// }
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let map: MemoryMap<'_, 2> = MemoryMap::new();
    /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
    /// map.add_mmio("reg", 0x4000, 4, Perms::RW, &Reg)?;
    /// assert_eq!(map.fetch_add::<u32>(0x1000, 5)?, 0);
    /// assert_eq!(map.compare_exchange::<u32>(0x1000, 5, 9)?, Ok(5));
    /// assert_eq!(map.compare_exchange::<u32>(0x1000, 5, 1)?, Err(9));
    /// assert_eq!(map.fetch_update(0x1000, |v: u32| Some(v * 2))?, 9);
    /// assert_eq!(ram.read_u32(0)?, 18);
    /// let e = map.swap::<u32>(0x4000, 1).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AtomicUnsupported);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fetch_update<T: Scalar>(
        &self,
        addr: u64,
        f: impl FnMut(T) -> Option<T>,
    ) -> Result<T, VmError> {
        self.fetch_update_by(addr, f, None)
    }

    /// [`fetch_update`](Self::fetch_update) by vCPU `cpu` (a cursor's).
    #[inline]
    pub(crate) fn fetch_update_by<T: Scalar>(
        &self,
        addr: u64,
        mut f: impl FnMut(T) -> Option<T>,
        cpu: Option<u32>,
    ) -> Result<T, VmError> {
        let mut g = |old: u64| f(T::from_u64_truncating(old)).map(T::to_u64);
        self.update_sized(addr, T::SIZE, &mut g, cpu)
            .map(T::from_u64_truncating)
    }

    /// `fetch_update` with the size and the operation as data: one copy in
    /// the binary serves every named atomic (of the map, or of vCPU `cpu`'s
    /// cursor: its hooks are told).
    #[inline(never)]
    fn update_sized(
        &self,
        addr: u64,
        size: usize,
        f: Rmw<'_>,
        cpu: Option<u32>,
    ) -> Result<u64, VmError> {
        let by = Caller::with_cpu(Access::Atomic, cpu);
        let moved = |e| relocate(e, Access::Atomic, addr, size);
        if let Some(r) = self.table.hit(addr).map(|h| h.region)
            && let Backing::Ram(m) = r.backing
            && r.fits(addr, size)
            && r.fast.contains(Perms::RW)
        {
            return m.update(r.backing_offset(addr), size, f).map_err(moved);
        }
        let view = self.checked_view(addr, size as u64, Access::Atomic, true)?;
        // `check` passed: one RAM region (perhaps in parts of one region,
        // contiguous in its memory), readable and writable.
        let Some((r, Backing::Ram(m))) = view.region_at(addr).map(|r| (r, r.backing)) else {
            return Err(VmError::new(
                crate::ErrorKind::AtomicUnsupported,
                Access::Atomic,
                addr,
                size,
            ));
        };
        let off = r.backing_offset(addr);
        loop {
            let old = m.load(off, size).map_err(moved)?;
            let mut seen = old.to_le_bytes();
            view.run_load_hooks(by, addr, &mut seen[..size]);
            let seen = u64::from_le_bytes(seen);
            let Some(new) = f(seen) else {
                return Ok(seen);
            };
            let mut bytes = new.to_le_bytes();
            // Write hooks may change the value stored.
            view.run_store_hooks(by, addr, &mut bytes[..size])?;
            let new = u64::from_le_bytes(bytes);
            let now = m
                .update(off, size, &mut |cur| (cur == old).then_some(new))
                .map_err(moved)?;
            if now == old {
                return Ok(seen);
            }
        }
    }

    crate::atomic::atomic_methods!(&Self, u64);
}
