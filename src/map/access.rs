//! Typed accesses through the map (`read_*`, `write_*`, `fetch_*`) and the
//! checks every access passes.
//!
//! The fast path is one trip, inline: the region the lookup directory
//! names for the address (loads and one version check, see `table.rs`),
//! a test that the access fits the region and that its fast-path
//! permissions allow it, then for RAM and ROM one atomic load through the
//! memory's shards held in the region's slot (no dynamic call), for a
//! device one call; a store is one call into the memory or device. What
//! that does not settle (a bucket whose region does not hold the address,
//! a read across words) takes the full lookup out of line. Everything else
//! (refusals, accesses spanning regions or parts, watched regions) takes
//! the general path: a consistent [`View`] of the regions the access
//! touches, [`View::check`], hooks, then the access.

use crate::error::{Access, ErrorKind, VmError};
use crate::map::caller::Caller;
use crate::map::hooks::WriteData;
use crate::map::mmio::MmioDevice;
use crate::map::ram::{ram_load, GuestRam};
use crate::map::region::{Backing, Region};
use crate::map::table::Hit;
use crate::map::view::View;
use crate::map::MemoryMap;
use crate::perms::Perms;
use crate::scalar::Scalar;

/// The permission an access kind needs.
#[inline(always)]
pub(crate) const fn needs(access: Access) -> Perms {
    match access {
        Access::Read => Perms::READ,
        Access::Write => Perms::WRITE,
        Access::Fetch => Perms::EXEC,
        Access::Atomic => Perms::RW,
    }
}

/// A length as an error's `usize` size: exact when it fits, else saturated.
#[inline]
pub(crate) fn err_size(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

/// An error from a memory or device, moved to the guest access: its kind
/// kept, its address, size and access the guest's.
#[cold]
#[inline(never)]
pub(crate) fn relocate(e: VmError, access: Access, addr: u64, size: usize) -> VmError {
    e.relocated(access, addr, size)
}

/// The fast path of a typed load from region `r` (as of one version):
/// `None` when the access leaves the region or its fast-path permissions
/// do not allow it (the caller takes the general path); else one call into
/// the memory or device. Inline: every caller is already out of line (a
/// miss path, a cache entry's region path), so that call is their only one.
#[inline(always)]
pub(crate) fn fast_load<T: Scalar>(
    r: &Region<'_>,
    addr: u64,
    by: Caller,
) -> Option<Result<T, VmError>> {
    let off = r.serves(addr, T::SIZE, needs(by.access()))?;
    let v = match r.backing {
        Backing::Ram(m) | Backing::Rom(m) => ram_load::<T>(m, off),
        Backing::Mmio(d) => d.read_by(by, off, T::SIZE).map(T::from_u64_truncating),
    };
    Some(v.map_err(|e| relocate(e, by.access(), addr, T::SIZE)))
}

/// The fast path of a typed store into region `r`, as [`fast_load`]: a
/// memory's store through [`ram_store_cold`], a device's inline; ROM takes
/// the general path (which refuses it).
#[inline(always)]
pub(crate) fn fast_store<T: Scalar>(
    r: &Region<'_>,
    addr: u64,
    v: T,
    cpu: Option<u32>,
) -> Option<Result<(), VmError>> {
    let off = r.serves(addr, T::SIZE, Perms::WRITE)?;
    match r.backing {
        Backing::Ram(m) => Some(ram_store_cold(m, off, addr, v)),
        Backing::Mmio(d) => {
            let by = Caller::with_cpu(Access::Write, cpu);
            Some(device_store(d.get(), off, addr, v, by))
        }
        Backing::Rom(_) => None,
    }
}

/// A memory's typed store: one dynamic call into its own sized store, out
/// of line (the shard lock is the cost, not the call; the map's inline
/// write tail-calls it).
#[inline(never)]
fn ram_store_cold<T: Scalar>(m: &dyn GuestRam, off: u64, addr: u64, v: T) -> Result<(), VmError> {
    m.store(off, T::SIZE, v.to_u64())
        .map_err(|e| relocate(e, Access::Write, addr, T::SIZE))
}

/// A device's typed load, out of line: the map's inline `load` tail-calls
/// it, so the RAM hit beside it keeps no stack frame (measured with
/// `benches/callgrind.sh`: the device's call inline, with its `Caller` in
/// the frame, cost the toy's map 0.13 to 0.17 host instructions per
/// access).
#[inline(never)]
fn device_load<T: Scalar>(
    d: &dyn MmioDevice,
    off: u64,
    addr: u64,
    access: Access,
) -> Result<T, VmError> {
    // The caller made here: one passed in would live in the map's frame.
    d.read_by(Caller::new(access), off, T::SIZE)
        .map(T::from_u64_truncating)
        .map_err(|e| relocate(e, access, addr, T::SIZE))
}

/// A device's typed store: inline, as a device's load is in
/// [`fast_load`] (one call, the device's own).
#[inline(always)]
fn device_store<T: Scalar>(
    d: &dyn MmioDevice,
    off: u64,
    addr: u64,
    v: T,
    by: Caller,
) -> Result<(), VmError> {
    d.write_by(by, off, T::SIZE, v.to_u64())
        .map_err(|e| relocate(e, Access::Write, addr, T::SIZE))
}

impl<const N: usize, const H: usize> View<'_, N, H> {
    /// Checks an access of `len >= 1` bytes before anything is touched:
    /// every byte mapped; a typed access (`typed`) not crossing into or out
    /// of a device; a guest atomic on one RAM region; then each part's ROM
    /// and permissions, in address order.
    pub(crate) fn check(
        &self,
        addr: u64,
        len: u64,
        access: Access,
        typed: bool,
    ) -> Result<(), VmError> {
        // The error names the first byte that fails (`at`) and the
        // access's length.
        let fail_at = |kind, at: u64| Err(VmError::new(kind, access, at, err_size(len)));
        if addr.checked_add(len - 1).is_none() {
            return fail_at(ErrorKind::WrapsAround, addr);
        }
        if let Some(hole) = self.pieces(addr, len).find(|p| p.region.is_none()) {
            return fail_at(ErrorKind::Unmapped, hole.addr);
        }
        let mut prev: Option<&Region<'_>> = None;
        for run in self.runs(addr, len) {
            let Some(r) = run.region else { continue };
            let mmio = |r: &Region<'_>| matches!(r.backing, Backing::Mmio(_));
            if access == Access::Atomic && mmio(r) {
                return fail_at(ErrorKind::AtomicUnsupported, run.addr);
            }
            if let Some(p) = prev.filter(|_| typed)
                && (access == Access::Atomic || mmio(p) || mmio(r))
            {
                return fail_at(ErrorKind::CrossesRegion, run.addr);
            }
            prev = Some(r);
        }
        let needed = needs(access);
        for piece in self.pieces(addr, len) {
            let Some(r) = piece.region else { continue };
            let writes = matches!(access, Access::Write | Access::Atomic);
            if writes && matches!(r.backing, Backing::Rom(_)) {
                return fail_at(ErrorKind::ReadOnly, piece.addr);
            }
            if !r.perms.contains(needed) {
                return fail_at(ErrorKind::Permission { needed }, piece.addr);
            }
        }
        Ok(())
    }
}

impl<const N: usize, const H: usize> MemoryMap<'_, N, H> {
    crate::typed::typed_methods!(map);

    /// A typed load for `access` (read or fetch): the in-region fast path.
    /// Inline: the directory's region, RAM and ROM read through the
    /// memory's shards (no dynamic call), a device in one call; anything
    /// else out of line. Every exit returns a callee's result as is, so
    /// the calls are tail calls and the RAM read keeps no stack frame (it
    /// saves two registers: the lookup needs them); `if let`, not
    /// `and_then`: a closure's body may stay out of line.
    #[inline(always)]
    pub(crate) fn load<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some(Hit { region: r, ram, .. }) = self.table.hinted(addr)
            && let Some(off) = r.serves(addr, T::SIZE, needs(access))
        {
            match (ram, r.backing) {
                (Some(m), _) => {
                    if let Some(v) = m.read_in_word(off, T::SIZE) {
                        return Ok(T::from_u64_truncating(v));
                    }
                }
                // A fetch from a device is rare: out of line, so the
                // fetch inlined in an emulator's loop keeps its value
                // in a register.
                (None, Backing::Mmio(d)) if access != Access::Fetch => {
                    return device_load(d.get(), off, addr, access);
                }
                (None, _) => {}
            }
        }
        self.load_unhinted(addr, access)
    }

    /// A typed load the inline path left (a bucket whose region does not
    /// hold `addr`, a read across words): the full lookup, the shards'
    /// one-word read or the memory's or device's own call, else the
    /// general path.
    #[inline(never)]
    fn load_unhinted<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some(Hit { region: r, ram, .. }) = self.table.hit(addr) {
            if let (Some(m), Some(off)) = (ram, r.serves(addr, T::SIZE, needs(access)))
                && let Some(v) = m.read_in_word(off, T::SIZE)
            {
                return Ok(T::from_u64_truncating(v));
            }
            if let Some(v) = fast_load::<T>(&r, addr, Caller::new(access)) {
                return v;
            }
        }
        self.load_slow(addr, T::SIZE, Caller::new(access))
            .map(T::from_u64_truncating)
    }

    /// A typed load that is refused, hooked or spans regions.
    #[cold]
    #[inline(never)]
    pub(crate) fn load_slow(&self, addr: u64, size: usize, by: Caller) -> Result<u64, VmError> {
        let access = by.access();
        let view = self.checked_view(addr, size as u64, access, true)?;
        let mut buf = [0u8; 8];
        let moved = |e| relocate(e, access, addr, size);
        match view.region_at(addr).map(|r| (r, r.backing)) {
            // `check` let a device access through: it lies in one device
            // (perhaps in parts `protect` made): one call.
            Some((r, Backing::Mmio(d))) => {
                buf = d
                    .read_by(by, r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
                buf[size..].fill(0);
            }
            // Inside one part (a hooked access): one typed, tear-free load.
            Some((r, Backing::Ram(m) | Backing::Rom(m))) if r.fits(addr, size) => {
                buf = m
                    .load(r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
            }
            _ => view.copy_out(addr, &mut buf[..size], by, &|_| None)?,
        }
        view.run_load_hooks(by, addr, &mut buf[..size]);
        Ok(u64::from_le_bytes(buf))
    }

    /// The one typed write behind every `write_*` method: needs
    /// [`Perms::WRITE`]; ROM refuses it. The fast path as in `load`, RAM
    /// written under its shard's lock.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some(Hit { region: r, .. }) = self.table.hinted(addr)
            && let Some(off) = r.serves(addr, T::SIZE, Perms::WRITE)
        {
            match r.backing {
                Backing::Ram(m) => return ram_store_cold(m, off, addr, v),
                Backing::Mmio(d) => {
                    return device_store(d.get(), off, addr, v, Caller::new(Access::Write));
                }
                Backing::Rom(_) => {} // the general path refuses it
            }
        }
        self.store_unhinted(addr, v)
    }

    /// A typed store the inline path left, as [`load_unhinted`](Self::load_unhinted).
    #[inline(never)]
    fn store_unhinted<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some(h) = self.table.hit(addr)
            && let Some(res) = fast_store(&h.region, addr, v, None)
        {
            return res;
        }
        self.store_slow(addr, T::SIZE, v.to_u64(), Caller::new(Access::Write))
    }

    /// A typed store that is refused, hooked or spans regions.
    #[cold]
    #[inline(never)]
    pub(crate) fn store_slow(
        &self,
        addr: u64,
        size: usize,
        v: u64,
        by: Caller,
    ) -> Result<(), VmError> {
        let view = self.checked_view(addr, size as u64, Access::Write, true)?;
        let mut bytes = v.to_le_bytes();
        // Write hooks may change the value stored.
        view.run_store_hooks(by, addr, &mut bytes[..size])?;
        let v = u64::from_le_bytes(bytes);
        let data = WriteData::Bytes(&bytes[..size]);
        let moved = |e| relocate(e, Access::Write, addr, size);
        match view.region_at(addr).map(|r| (r, r.backing)) {
            Some((r, Backing::Mmio(d))) => {
                return d
                    .write_by(by, r.backing_offset(addr), size, v)
                    .map_err(moved)
            }
            Some((r, Backing::Ram(m))) if r.fits(addr, size) => {
                return m.store(r.backing_offset(addr), size, v).map_err(moved)
            }
            _ => {}
        }
        view.copy_in(addr, size as u64, data, by, &|_| None)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use crate::{ErrorKind, MemoryMap, Perms, ShardedMemory};

    /// Every width at every offset of a window spanning shards: inside a
    /// word (the inline read), across words and across shards (the miss
    /// path), each read as the memory reads it; writes as the memory's.
    #[test]
    fn typed_accesses_agree_with_the_memory_at_every_alignment() {
        let mem: ShardedMemory<4, 64> = ShardedMemory::new();
        for i in 0..256 {
            mem.write_u8(i, (i as u8).wrapping_mul(37) ^ 0x5a).unwrap();
        }
        let map: MemoryMap<'_, 2> = MemoryMap::new();
        // A window of bytes 8..248 at 0x1000: guest 0x1000 is byte 8.
        map.add_ram_window("ram", 0x1000, 240, Perms::RW, &mem, 8)
            .unwrap();
        for g in 0x1000u64..0x1000 + 240 {
            let m = (g - 0x1000 + 8) as usize;
            assert_eq!(map.read_u8(g).ok(), mem.read_u8(m).ok(), "u8 at {g:#x}");
            if g + 2 <= 0x1000 + 240 {
                assert_eq!(map.read_u16(g).ok(), mem.read_u16(m).ok(), "u16 at {g:#x}");
            }
            if g + 4 <= 0x1000 + 240 {
                assert_eq!(map.read_u32(g).ok(), mem.read_u32(m).ok(), "u32 at {g:#x}");
            }
            if g + 8 <= 0x1000 + 240 {
                assert_eq!(map.read_u64(g).ok(), mem.read_u64(m).ok(), "u64 at {g:#x}");
            } else {
                // The error names the first unmapped byte.
                let e = map.read_u64(g).unwrap_err();
                assert_eq!((e.kind(), e.addr()), (ErrorKind::Unmapped, 0x1000 + 240));
            }
        }
        for g in (0x1000u64..0x1000 + 232).step_by(3) {
            let m = (g - 0x1000 + 8) as usize;
            map.write_u64(g, 0x0102_0304_0506_0708 ^ g).unwrap();
            assert_eq!(mem.read_u64(m).unwrap(), 0x0102_0304_0506_0708 ^ g);
        }
    }

    /// A map with more than 255 backing slots: a region whose slot index
    /// does not fit the directory's byte, and the one at index 255 (the
    /// byte's "none"), are each read from their own memory, never from
    /// another slot's.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "256 map changes take minutes under Miri; no unsafe of its own"
    )]
    fn slots_past_the_directory_byte_read_their_own_memory() {
        const NAMES: [&str; 16] = [
            "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13",
            "r14", "r15",
        ];
        let mems: [ShardedMemory<1, 64>; 16] = core::array::from_fn(|_| ShardedMemory::new());
        for (j, m) in mems.iter().enumerate() {
            m.write_u32(0, 0xb0b0_0000 + j as u32).unwrap();
        }
        let a: ShardedMemory<1, 64> = ShardedMemory::new();
        let b = &mems[0];
        a.write_u32(0, 0xaaaa_aaaa).unwrap();
        let map: MemoryMap<'_, 72> = MemoryMap::new();
        // Slots 0..=254 for 255 distinct (name, memory) pairs, each mapped
        // once and read through the map.
        for k in 0..255 {
            let (name, j) = (NAMES[k / 16], k % 16);
            map.add_ram(name, 0, 64, Perms::RW, &mems[j]).unwrap();
            assert_eq!(map.read_u32(0).unwrap(), 0xb0b0_0000 + j as u32);
            map.remove(name).unwrap();
        }
        map.add_ram("x", 0, 64, Perms::RW, b).unwrap(); // slot 255
        map.add_ram("a", 0x1000, 64, Perms::RW, &a).unwrap(); // slot 256
        for _ in 0..2 {
            assert_eq!(map.read_u32(0).unwrap(), 0xb0b0_0000);
            assert_eq!(map.read_u32(0x1000).unwrap(), 0xaaaa_aaaa);
            let e = map.fetch_u16(0x1002).unwrap_err();
            let needed = Perms::EXEC;
            assert_eq!(e.kind(), ErrorKind::Permission { needed });
        }
        map.move_region("a", 0).unwrap_err(); // overlaps "x": nothing changes
        map.remove("x").unwrap();
        map.move_region("a", 0).unwrap();
        assert_eq!(map.read_u32(0).unwrap(), 0xaaaa_aaaa);
        let e = map.read_u32(0x1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unmapped);
    }

    /// ROM reads go through its shards inline; writes are refused and
    /// change nothing.
    #[test]
    fn rom_reads_inline_and_refuses_writes() {
        let mem: ShardedMemory<2, 64> = ShardedMemory::new();
        mem.write_u32(16, 0xdead_beef).unwrap();
        let rom = mem.freeze();
        let map: MemoryMap<'_, 2> = MemoryMap::new();
        map.add_rom("rom", 0x800, 128, Perms::RWX, &rom).unwrap();
        assert_eq!(map.read_u32(0x810).unwrap(), 0xdead_beef);
        assert_eq!(map.fetch_u16(0x812).unwrap(), 0xdead);
        let e = map.write_u32(0x810, 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnly);
        assert_eq!(map.read_u32(0x810).unwrap(), 0xdead_beef);
    }
}
