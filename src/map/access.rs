//! Typed accesses through the map (`read_*`, `write_*`, `fetch_*`) and the
//! checks every access passes.
//!
//! The fast path is one trip: look the address up in the live table (loads
//! and one version check, see `table.rs`), test that the access fits the
//! region and that its fast-path permissions allow it, then one call into
//! the memory or device. Everything else (refusals, accesses spanning
//! regions or parts, watched regions) takes the general path: a consistent
//! [`View`] of the regions the access touches, [`View::check`], hooks, then
//! the access.

use crate::error::{Access, ErrorKind, VmError};
use crate::map::hooks::WriteData;
use crate::map::ram::{ram_load, ram_load_sized, ram_store, ram_store_sized};
use crate::map::region::{Backing, Region};
use crate::map::table::View;
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
    VmError::new(e.kind(), access, addr, size)
}

/// The fast path of a typed load from region `r` (as of one version):
/// `None` when the access leaves the region or its fast-path permissions
/// do not allow it (the caller takes the general path).
#[inline(always)]
pub(crate) fn fast_load<T: Scalar>(
    r: &Region<'_>,
    addr: u64,
    access: Access,
) -> Option<Result<T, VmError>> {
    if !(r.fits(addr, T::SIZE) && r.fast.contains(needs(access))) {
        return None;
    }
    let off = r.backing_offset(addr);
    let v = match r.backing {
        Backing::Ram(m) | Backing::Rom(m) => ram_load::<T>(m, off),
        Backing::Mmio(d) => d.read(off, T::SIZE).map(T::from_u64_truncating),
    };
    Some(v.map_err(|e| relocate(e, access, addr, T::SIZE)))
}

/// The fast path of a typed store into region `r`, as [`fast_load`]; ROM
/// takes the general path (which refuses it).
#[inline(always)]
pub(crate) fn fast_store<T: Scalar>(
    r: &Region<'_>,
    addr: u64,
    v: T,
) -> Option<Result<(), VmError>> {
    if !(r.fits(addr, T::SIZE) && r.fast.contains(Perms::WRITE)) {
        return None;
    }
    let off = r.backing_offset(addr);
    let res = match r.backing {
        Backing::Ram(m) => ram_store::<T>(m, off, v),
        Backing::Mmio(d) => d.write(off, T::SIZE, v.to_u64()),
        Backing::Rom(_) => return None,
    };
    Some(res.map_err(|e| relocate(e, Access::Write, addr, T::SIZE)))
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
        let fail = |kind| Err(VmError::new(kind, access, addr, err_size(len)));
        if addr.checked_add(len - 1).is_none() {
            return fail(ErrorKind::Unmapped);
        }
        if self.pieces(addr, len).any(|p| p.region.is_none()) {
            return fail(ErrorKind::Unmapped);
        }
        let mut prev: Option<&Region<'_>> = None;
        for r in self.runs(addr, len).filter_map(|p| p.region) {
            let mmio = |r: &Region<'_>| matches!(r.backing, Backing::Mmio(_));
            if access == Access::Atomic && mmio(r) {
                return fail(ErrorKind::AtomicUnsupported);
            }
            if let Some(p) = prev.filter(|_| typed) {
                if access == Access::Atomic || mmio(p) || mmio(r) {
                    return fail(ErrorKind::CrossesRegion);
                }
            }
            prev = Some(r);
        }
        let needed = needs(access);
        for r in self.pieces(addr, len).filter_map(|p| p.region) {
            let writes = matches!(access, Access::Write | Access::Atomic);
            if writes && matches!(r.backing, Backing::Rom(_)) {
                return fail(ErrorKind::ReadOnly);
            }
            if !r.perms.contains(needed) {
                return fail(ErrorKind::Permission { needed });
            }
        }
        Ok(())
    }
}

impl<const N: usize, const H: usize> MemoryMap<'_, N, H> {
    crate::typed::typed_methods!(u64, read = ref, write = ref);

    /// The one typed read behind every `read_*` method: needs
    /// [`Perms::READ`].
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: u64) -> Result<T, VmError> {
        self.load(addr, Access::Read)
    }

    /// Fetches a little-endian 16-bit instruction unit at `addr` (Thumb,
    /// RISC-V C): needs [`Perms::EXEC`], errors report [`Access::Fetch`].
    #[inline]
    pub fn fetch_u16(&self, addr: u64) -> Result<u16, VmError> {
        self.load(addr, Access::Fetch)
    }

    /// Fetches a little-endian 32-bit instruction word at `addr`: needs
    /// [`Perms::EXEC`], errors report [`Access::Fetch`].
    #[inline]
    pub fn fetch_u32(&self, addr: u64) -> Result<u32, VmError> {
        self.load(addr, Access::Fetch)
    }

    /// A typed load for `access` (read or fetch): the in-region fast path.
    #[inline(always)]
    pub(crate) fn load<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some(r) = self.table.hit(addr) {
            if let Some(v) = fast_load::<T>(&r, addr, access) {
                return v;
            }
        }
        self.load_slow(addr, T::SIZE, access)
            .map(T::from_u64_truncating)
    }

    /// A typed load that is refused, hooked or spans regions.
    #[cold]
    #[inline(never)]
    pub(crate) fn load_slow(&self, addr: u64, size: usize, access: Access) -> Result<u64, VmError> {
        let view = self.checked_view(addr, size as u64, access, true)?;
        let mut buf = [0u8; 8];
        let moved = |e| relocate(e, access, addr, size);
        match view.region_at(addr).map(|r| (r, r.backing)) {
            // `check` let a device access through: it lies in one device
            // (perhaps in parts `protect` made): one call.
            Some((r, Backing::Mmio(d))) => {
                buf = d
                    .read(r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
                buf[size..].fill(0);
            }
            // Inside one part (a hooked access): one typed, tear-free load.
            Some((r, Backing::Ram(m) | Backing::Rom(m))) if r.fits(addr, size) => {
                buf = ram_load_sized(m, r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
            }
            _ => view.copy_out(addr, &mut buf[..size], access)?,
        }
        view.run_load_hooks(access, addr, &mut buf[..size]);
        Ok(u64::from_le_bytes(buf))
    }

    /// The one typed write behind every `write_*` method: needs
    /// [`Perms::WRITE`]; ROM refuses it.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some(r) = self.table.hit(addr) {
            if let Some(res) = fast_store(&r, addr, v) {
                return res;
            }
        }
        self.store_slow(addr, T::SIZE, v.to_u64())
    }

    /// A typed store that is refused, hooked or spans regions.
    #[cold]
    #[inline(never)]
    pub(crate) fn store_slow(&self, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
        let view = self.checked_view(addr, size as u64, Access::Write, true)?;
        let bytes = v.to_le_bytes();
        let data = WriteData::Bytes(&bytes[..size]);
        view.run_write_hooks(Access::Write, addr, data)?;
        let moved = |e| relocate(e, Access::Write, addr, size);
        match view.region_at(addr).map(|r| (r, r.backing)) {
            Some((r, Backing::Mmio(d))) => {
                return d.write(r.backing_offset(addr), size, v).map_err(moved)
            }
            Some((r, Backing::Ram(m))) if r.fits(addr, size) => {
                return ram_store_sized(m, r.backing_offset(addr), size, v).map_err(moved)
            }
            _ => {}
        }
        view.copy_in(addr, size as u64, data, Access::Write)
    }
}
