//! Bulk copies through the map: `read_bytes`, `write_bytes`, `fill`.
//!
//! A copy takes one consistent [`View`] of the regions it touches, checks
//! the whole range first (mapped, permitted, no ROM write), runs the hooks,
//! then copies region by region in ascending order: atomic per memory
//! shard (as DMA on a real bus), and MMIO parts cut into naturally aligned
//! 1, 2, 4 or 8-byte accesses, one device call each. A device error stops
//! a copy with the earlier parts done.

use crate::error::{Access, ErrorKind, VmError};
use crate::map::access::{err_size, relocate};
use crate::map::caller::Caller;
use crate::map::hooks::WriteData;
use crate::map::machine::Lent;
use crate::map::region::Backing;
use crate::map::view::View;
use crate::map::MemoryMap;

/// The naturally aligned accesses a bulk copy makes of a device's part
/// `addr..addr + len`: `(position in the part, size)`, the largest of 8,
/// 4, 2, 1 bytes that `addr + position` is aligned to and that fits.
fn mmio_chunks(addr: u64, len: u64) -> impl Iterator<Item = (u64, usize)> {
    let mut pos = 0u64;
    core::iter::from_fn(move || {
        let rest = len - pos;
        if rest == 0 {
            return None;
        }
        let align = 1u64 << addr.wrapping_add(pos).trailing_zeros().min(3);
        let mut size = align;
        while size > rest {
            size /= 2;
        }
        let chunk = (pos, size as usize);
        pos += size;
        Some(chunk)
    })
}

impl<'a, const N: usize, const H: usize> View<'a, N, H> {
    /// Reads checked bytes `addr..addr + buf.len()` into `buf`; memory that
    /// `lent` gives an owner's handle for is read with plain copies.
    pub(crate) fn copy_out(
        &self,
        addr: u64,
        buf: &mut [u8],
        by: Caller,
        lent: &Lent<'_, 'a>,
    ) -> Result<(), VmError> {
        let size = buf.len();
        let access = by.access();
        let moved = |e| relocate(e, access, addr, size);
        let mut pos = 0usize;
        for p in self.runs(addr, size as u64) {
            let Some(r) = p.region else {
                return Err(VmError::new(ErrorKind::Unmapped, access, addr, size));
            };
            // `p.len <= buf.len()`, so it fits a usize.
            let n = p.len as usize;
            let dst = &mut buf[pos..pos + n];
            let off = r.backing_offset(p.addr);
            match r.backing {
                Backing::Ram(m) => match lent(m.memory_addr()) {
                    Some(owned) if owned.load_bytes(off, dst) => {}
                    _ => m.load_bytes(off, dst).map_err(moved)?,
                },
                Backing::Rom(m) => m.load_bytes(off, dst).map_err(moved)?,
                Backing::Mmio(d) => {
                    for (at, s) in mmio_chunks(p.addr, p.len) {
                        let v = d.read_by(by, off + at, s).map_err(moved)?;
                        let at = at as usize;
                        dst[at..at + s].copy_from_slice(&v.to_le_bytes()[..s]);
                    }
                }
            }
            pos += n;
        }
        Ok(())
    }

    /// Writes checked bytes `addr..addr + len` from `src`; memory that
    /// `lent` gives an owner's handle for is written with plain copies.
    pub(crate) fn copy_in(
        &self,
        addr: u64,
        len: u64,
        src: WriteData<'_>,
        by: Caller,
        lent: &Lent<'_, 'a>,
    ) -> Result<(), VmError> {
        let size = err_size(len);
        let access = by.access();
        let moved = |e| relocate(e, access, addr, size);
        let mut pos = 0usize;
        for p in self.runs(addr, len) {
            let Some(r) = p.region else {
                return Err(VmError::new(ErrorKind::Unmapped, access, addr, size));
            };
            // `p.len <= len`, which came from a `usize`.
            let n = p.len as usize;
            let off = r.backing_offset(p.addr);
            let owned = match r.backing {
                Backing::Ram(m) => lent(m.memory_addr()),
                _ => None,
            };
            match (r.backing, src) {
                (Backing::Ram(m), WriteData::Bytes(b)) => {
                    let part = &b[pos..pos + n];
                    if !owned.is_some_and(|o| o.store_bytes(off, part)) {
                        m.store_bytes(off, part).map_err(moved)?
                    }
                }
                (Backing::Ram(m), WriteData::Fill { byte, .. }) => {
                    if !owned.is_some_and(|o| o.fill_bytes(off, n, byte)) {
                        m.fill_bytes(off, n, byte).map_err(moved)?
                    }
                }
                (Backing::Rom(_), _) => {
                    return Err(VmError::new(ErrorKind::ReadOnly, access, addr, size))
                }
                (Backing::Mmio(d), _) => {
                    for (at, s) in mmio_chunks(p.addr, p.len) {
                        let mut le = [0u8; 8];
                        src.copy_to(pos + at as usize, &mut le[..s]);
                        d.write_by(by, off + at, s, u64::from_le_bytes(le))
                            .map_err(moved)?;
                    }
                }
            }
            pos += n;
        }
        Ok(())
    }
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// Copies `buf.len()` guest bytes at `addr` into `buf`. The whole range
    /// is checked first (mapped, readable); then each region's part is
    /// copied in ascending order, atomic per memory shard, and MMIO parts
    /// are read as naturally aligned 1, 2, 4 or 8-byte accesses, one device
    /// call each.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
    ///
    /// let (a, b) = (ShardedMemory::<1, 64>::new(), ShardedMemory::<1, 64>::new());
    /// a.fill(0, 64, 0xaa)?;
    /// b.fill(0, 64, 0xbb)?;
    /// let map: MemoryMap<'_, 2> = MemoryMap::new();
    /// map.add_ram("a", 0, 64, Perms::RW, &a)?;
    /// map.add_ram("b", 64, 64, Perms::READ, &b)?;
    /// let mut buf = [0u8; 4];
    /// map.read_bytes(62, &mut buf)?;
    /// assert_eq!(buf, [0xaa, 0xaa, 0xbb, 0xbb]);
    /// assert_eq!(map.read_bytes(126, &mut buf).unwrap_err().kind(), ErrorKind::Unmapped);
    /// // `b` is read-only: nothing is written, in `a` either.
    /// let err = map.write_bytes(62, &[0; 4]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Permission { needed: Perms::WRITE });
    /// assert_eq!(a.read_u8(63)?, 0xaa);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.read_bytes_with(addr, buf, &|_| None, None)
    }

    /// [`read_bytes`](Self::read_bytes), reading the memories `lent` gives
    /// an owner's handle for with plain copies, for vCPU `cpu` (devices and
    /// hooks are told).
    pub(crate) fn read_bytes_with(
        &self,
        addr: u64,
        buf: &mut [u8],
        lent: &Lent<'_, 'a>,
        cpu: Option<u32>,
    ) -> Result<(), VmError> {
        if buf.is_empty() {
            return Ok(());
        }
        // A `usize` always fits a `u64` on the hosts Rust supports.
        let len = buf.len() as u64;
        let view = self.checked_view(addr, len, Access::Read, false)?;
        let by = Caller::with_cpu(Access::Read, cpu);
        view.copy_out(addr, buf, by, lent)?;
        view.run_load_hooks(by, addr, buf);
        Ok(())
    }

    /// Copies `buf` to guest `addr`: checked whole first (mapped, writable,
    /// no ROM), nothing written on a refusal; then performed as
    /// [`read_bytes`](Self::read_bytes) is.
    pub fn write_bytes(&self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        self.write_data(addr, WriteData::Bytes(buf), &|_| None, None)
    }

    /// Sets `len` guest bytes at `addr` to `byte`, as
    /// [`write_bytes`](Self::write_bytes) would.
    pub fn fill(&self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        self.write_data(addr, WriteData::Fill { byte, len }, &|_| None, None)
    }

    /// The one bulk write behind `write_bytes` and `fill` (of this map, or
    /// of an owner map, whose `lent` memories are written with plain
    /// copies).
    pub(crate) fn write_data(
        &self,
        addr: u64,
        data: WriteData<'_>,
        lent: &Lent<'_, 'a>,
        cpu: Option<u32>,
    ) -> Result<(), VmError> {
        if data.len() == 0 {
            return Ok(());
        }
        let len = data.len() as u64;
        let view = self.checked_view(addr, len, Access::Write, false)?;
        let by = Caller::with_cpu(Access::Write, cpu);
        view.run_write_hooks(by, addr, data)?;
        view.copy_in(addr, len, data, by, lent)
    }
}
