//! A [`View`]: one consistent copy of the part of a map's table an access
//! needs (the regions overlapping its bytes, sorted, and every hook), as
//! [`Table::view`](crate::map::table::Table::view) copies it out under one
//! version. The general access paths work on it alone: they split an
//! access region by region ([`pieces`](View::pieces), [`runs`](View::runs))
//! and run the hooks watching it
//! ([`run_load_hooks`](View::run_load_hooks),
//! [`run_store_hooks`](View::run_store_hooks),
//! [`run_write_hooks`](View::run_write_hooks)), so a change published
//! meanwhile never mixes into one access.

use crate::error::{Access, ErrorKind, VmError};
use crate::map::caller::Caller;
use crate::map::hooks::{Hook, WriteData};
use crate::map::region::Region;
use crate::perms::Perms;

/// A consistent copy of the part of the table an access needs: the
/// regions overlapping its bytes (sorted) and every hook.
pub(crate) struct View<'a, const N: usize, const H: usize> {
    pub(crate) regions: heapless::Vec<Region<'a>, N>,
    pub(crate) hooks: heapless::Vec<Hook<'a>, H>,
}

/// The bytes of an access that lie in one region, or in a hole.
#[derive(Clone, Copy)]
pub(crate) struct Piece<'r, 'a> {
    pub(crate) region: Option<&'r Region<'a>>,
    pub(crate) addr: u64,
    pub(crate) len: u64,
}

impl<'a, const N: usize, const H: usize> View<'a, N, H> {
    /// The region of the view holding `addr`.
    pub(crate) fn region_at(&self, addr: u64) -> Option<&Region<'a>> {
        let i = self.regions.partition_point(|r| r.base <= addr);
        self.regions
            .get(i.checked_sub(1)?)
            .filter(|r| addr <= r.last)
    }

    /// The pieces of `addr..addr + len` region by region (or hole by
    /// hole), ascending. The caller ensures `len >= 1`, that the range
    /// does not run past `u64::MAX`, and that the view covers it.
    pub(crate) fn pieces(&self, addr: u64, len: u64) -> impl Iterator<Item = Piece<'_, 'a>> + '_ {
        let rs = self.regions.as_slice();
        // Invariant: `i` is the index of the first region based past `cur`.
        let mut i = rs.partition_point(|r| r.base <= addr);
        let (mut cur, mut rest) = (addr, len);
        core::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let inside = i
                .checked_sub(1)
                .and_then(|j| rs.get(j))
                .filter(|r| cur <= r.last);
            let (region, n) = match inside {
                // `r.last - cur < len(r) <= u64::MAX`, so `+ 1` cannot overflow.
                Some(r) => (Some(r), rest.min(r.last - cur + 1)),
                None => (
                    None,
                    rs.get(i).map_or(rest, |next| rest.min(next.base - cur)),
                ),
            };
            let piece = Piece {
                region,
                addr: cur,
                len: n,
            };
            rest -= n;
            if rest > 0 {
                cur += n; // in range: the caller checked the end
                while rs.get(i).is_some_and(|r| r.base <= cur) {
                    i += 1;
                }
            }
            Some(piece)
        })
    }

    /// The pieces of `addr..addr + len` as runs: consecutive pieces of one
    /// region that `protect` split are joined (same backing, contiguous),
    /// so a run is one region's contiguous bytes. Same contract as `pieces`.
    pub(crate) fn runs(&self, addr: u64, len: u64) -> impl Iterator<Item = Piece<'_, 'a>> + '_ {
        let mut it = self.pieces(addr, len).peekable();
        core::iter::from_fn(move || {
            let mut run = it.next()?;
            let mut tail = run.region?;
            while let Some(next) = it.peek().and_then(|p| p.region) {
                if !next.continues(tail) {
                    break;
                }
                run.len += it.peek().map_or(0, |p| p.len);
                tail = next;
                it.next();
            }
            Some(run)
        })
    }
}

impl<const N: usize, const H: usize> View<'_, N, H> {
    /// Runs the read hooks (fetch hooks for a fetch) watching
    /// `addr..addr + data.len()`, in installation order, on the bytes read.
    /// An atomic's read half runs the read hooks.
    #[inline]
    pub(crate) fn run_load_hooks(&self, by: Caller, addr: u64, data: &mut [u8]) {
        if self.hooks.is_empty() || data.is_empty() {
            return;
        }
        let kind = if by.access() == Access::Fetch {
            Perms::EXEC
        } else {
            Perms::READ
        };
        let last = addr.saturating_add(data.len() as u64 - 1);
        for h in self.hooks.iter().filter(|h| h.watches(kind, addr, last)) {
            h.hook.read_by(by, addr, data);
        }
    }

    /// Runs the write hooks watching a typed write (or an atomic's store)
    /// of `data`, in installation order, each seeing what the earlier left
    /// and free to change it
    /// ([`AccessHook::write_value`](crate::map::hooks::AccessHook::write_value)),
    /// until one refuses (then `DeniedByHook` for `access`).
    #[inline]
    pub(crate) fn run_store_hooks(
        &self,
        by: Caller,
        addr: u64,
        data: &mut [u8],
    ) -> Result<(), VmError> {
        let len = data.len();
        self.run_writers(by, addr, len, |h| h.write_value_by(by, addr, data))
    }

    /// Runs the write hooks watching the write, in installation order,
    /// until one refuses (then `DeniedByHook` for `access`: a write or an
    /// atomic's write half).
    #[inline]
    pub(crate) fn run_write_hooks(
        &self,
        by: Caller,
        addr: u64,
        data: WriteData<'_>,
    ) -> Result<(), VmError> {
        self.run_writers(by, addr, data.len(), |h| h.write_by(by, addr, data))
    }

    /// The one loop of both: `call` on every hook watching writes to
    /// `addr..addr + len`, in installation order, until one returns false.
    #[inline]
    fn run_writers(
        &self,
        by: Caller,
        addr: u64,
        len: usize,
        mut call: impl FnMut(&dyn crate::map::hooks::AccessHook) -> bool,
    ) -> Result<(), VmError> {
        if self.hooks.is_empty() || len == 0 {
            return Ok(());
        }
        let last = addr.saturating_add(len as u64 - 1);
        for h in self
            .hooks
            .iter()
            .filter(|h| h.watches(Perms::WRITE, addr, last))
        {
            if !call(h.hook) {
                return Err(VmError::new(
                    ErrorKind::DeniedByHook,
                    by.access(),
                    addr,
                    len,
                ));
            }
        }
        Ok(())
    }
}
