//! Demand mapping: an [`UnmappedHandler`] the map calls when an access
//! touches bytes no region maps, which may map them (RAM or a device) and
//! have the access retried once, or refuse (the access then fails with
//! [`ErrorKind::Unmapped`](crate::ErrorKind::Unmapped) as without a
//! handler). This is Unicorn's `UC_HOOK_MEM_UNMAPPED`: firmware's unknown
//! peripherals discovered and modelled as they are first touched.
//!
//! The handler runs on the access's own thread, outside every lock of the
//! map, on the general (slow) path only: a map without a handler, or an
//! access to mapped bytes, pays nothing. Several threads may meet the same
//! hole at once: each calls the handler, the first add wins, and the
//! others' adds fail with an overlap, which counts as success (they retry
//! against the region the winner added). Each access sees the hole or the
//! whole new region, never half of it: a region is added by one atomic
//! publish of the table (see `table.rs`).
//!
//! A handler may map many regions under one name (a stub over every
//! unknown page): a demand mapping whose name is in use joins that name as
//! a further part (as `protect` splits one region into parts), so
//! `remove(name)` and `move_region(name, ..)` take them all. A mapping the
//! map refuses (it overlaps a region, the table is full, ...) fails the
//! access with [`ErrorKind::DemandFailed`](crate::ErrorKind::DemandFailed),
//! which says why.
//!
//! Limits: one retry per access (a handler that maps something else, or
//! nothing, leaves the access failing with `Unmapped`); up to
//! [`HANDLER_SLOTS`] distinct handlers over a map's life (slots are
//! written once, as backings are). A handler that itself accesses unmapped
//! bytes of the same map is called again, recursively: do not.

use crate::error::{Access, ErrorKind, VmError};
use crate::map::error::{MapError, MapErrorKind};
use crate::map::mmio::{DeviceRef, MmioDevice};
use crate::map::once::WriteOnce;
use crate::map::ram::GuestRam;
use crate::map::region::{Backing, NewRegion};
use crate::map::view::View;
use crate::map::MemoryMap;
use crate::perms::Perms;
use crate::sync::{AtomicU8, Ordering};

/// Distinct handlers a map can be given over its life.
pub const HANDLER_SLOTS: usize = 4;

/// `e` (an `Unmapped` error) as the failure of the handler's mapping,
/// refused for `reason`.
#[cold]
fn demand_failed(e: VmError, reason: MapErrorKind) -> VmError {
    VmError::new(
        ErrorKind::DemandFailed { reason },
        e.access(),
        e.addr(),
        e.size(),
    )
}

/// An access that found unmapped bytes, as an [`UnmappedHandler`] sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Miss {
    /// Guest address of the access's first byte.
    pub addr: u64,
    /// Its length in bytes (1, 2, 4 or 8 for typed accesses).
    pub len: u64,
    /// Its first byte no region maps.
    pub hole: u64,
    /// What it was.
    pub access: Access,
}

/// Addresses in hex, as `VmError`'s.
impl core::fmt::Debug for Miss {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Miss")
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("len", &self.len)
            .field("hole", &format_args!("{:#x}", self.hole))
            .field("access", &self.access)
            .finish()
    }
}

/// What to map for a [`Miss`] (see [`Demand::ram`], [`Demand::mmio`]).
#[derive(Clone, Copy)]
pub struct Mapping<'a>(NewRegion<'a>);

/// An [`UnmappedHandler`]'s answer.
#[derive(Clone, Copy)]
pub enum Demand<'a> {
    /// Leave the hole: the access fails with `Unmapped`.
    Refuse,
    /// The handler changed the map itself (through a `&MemoryMap` it
    /// holds): retry the access once.
    Retry,
    /// Add this region, then retry the access once. A name already in use
    /// is joined (the region becomes a further part of that name). If
    /// another thread added an overlapping region first, the access retries
    /// against that one; any other refusal (or an overlap that leaves the
    /// hole) fails the access with
    /// [`ErrorKind::DemandFailed`](crate::ErrorKind::DemandFailed) and the
    /// map's reason.
    Map(Mapping<'a>),
}

impl<'a> Demand<'a> {
    /// Map `ram`'s bytes `offset..offset + len` at guest `base` (as
    /// [`MemoryMap::add_ram_window`]), then retry.
    pub fn ram(
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        ram: &'a dyn GuestRam,
        offset: u64,
    ) -> Self {
        let ram = Backing::Ram(ram);
        Demand::Map(Mapping(NewRegion::new(
            (name, base, len, perms),
            ram,
            offset,
        )))
    }

    /// Map device `dev` at guest `base..base + len` (as
    /// [`MemoryMap::add_mmio`]), then retry.
    pub fn mmio(
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a (dyn MmioDevice + Sync),
    ) -> Self {
        let dev = Backing::Mmio(DeviceRef::shared(dev));
        Demand::Map(Mapping(NewRegion::new((name, base, len, perms), dev, 0)))
    }
}

/// Called by a map on an access to unmapped bytes; installed with
/// [`MemoryMap::set_unmapped_handler`], whose docs give the semantics.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use vm_mem::{Demand, MemoryMap, Miss, MmioDevice, Perms, UnmappedHandler, VmError};
///
/// /// An unknown peripheral: reads 0, ignores writes, counts accesses.
/// struct Stub(AtomicU32);
/// impl MmioDevice for Stub {
///     fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(0)
///     }
///     fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// /// Maps a stub over any unknown 4 KiB page of the peripheral space.
/// struct Discover(Stub);
/// impl<'a> UnmappedHandler<'a> for Discover {
///     fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
///         if (0x4000_0000..0x6000_0000).contains(&miss.hole) {
///             Demand::mmio("stub", miss.hole & !0xfff, 0x1000, Perms::RW, &self.0)
///         } else {
///             Demand::Refuse
///         }
///     }
/// }
///
/// let discover = Discover(Stub(AtomicU32::new(0)));
/// let map: MemoryMap<'_, 4> = MemoryMap::new();
/// map.set_unmapped_handler(Some(&discover))?;
/// assert_eq!(map.read_u32(0x4001_2004).unwrap(), 0); // mapped on demand
/// assert_eq!(map.region_at(0x4001_2000).unwrap().name(), "stub");
/// assert_eq!(map.read_u32(0x4002_0000).unwrap(), 0); // another page, the same name
/// assert_eq!(map.region_at(0x4002_0fff).unwrap().name(), "stub");
/// assert!(map.read_u32(0x1000).is_err()); // refused: Unmapped
/// # Ok::<(), vm_mem::MapError>(())
/// ```
pub trait UnmappedHandler<'a>: Sync {
    /// Decides what to do about `miss`: map something and retry, retry
    /// after changing the map itself, or refuse.
    fn unmapped(&'a self, miss: Miss) -> Demand<'a>;
}

/// A map's handler: write-once slots and the index + 1 of the current one
/// (0: none). No lock and no drop glue, as the table's slots.
pub(crate) struct Handlers<'a> {
    slots: [WriteOnce<&'a dyn UnmappedHandler<'a>>; HANDLER_SLOTS],
    current: AtomicU8,
}

impl<'a> Handlers<'a> {
    pub(crate) const fn new() -> Self {
        Handlers {
            slots: [const { WriteOnce::new() }; HANDLER_SLOTS],
            current: AtomicU8::new(0),
        }
    }

    fn get(&self) -> Option<&'a dyn UnmappedHandler<'a>> {
        // ORDERING: `Acquire` pairs with the `Release` in `set`; the slot
        // itself is published by its own `WriteOnce`.
        let i = self.current.load(Ordering::Acquire);
        self.slots.get(usize::from(i).checked_sub(1)?)?.get()
    }

    fn set(&self, h: Option<&'a dyn UnmappedHandler<'a>>) -> Result<(), MapError> {
        let Some(h) = h else {
            self.current.store(0, Ordering::Release);
            return Ok(());
        };
        for (i, s) in self.slots.iter().enumerate() {
            // A slot another thread is filling reads `None` and is passed
            // by: at worst one handler takes two slots.
            let found = match s.get() {
                // The whole reference: two zero-sized handlers share an address.
                Some(x) => core::ptr::eq(x, h),
                None => s.set(h),
            };
            if found {
                // `i < HANDLER_SLOTS`, which fits a `u8`.
                self.current.store(i as u8 + 1, Ordering::Release);
                return Ok(());
            }
        }
        Err(MapError::new(
            MapErrorKind::BackingsFull,
            "unmapped handler",
            "",
            0,
            0,
        ))
    }
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// Installs `handler` (replacing any other), or removes it with
    /// `None`: from now on an access that touches unmapped bytes calls it
    /// (see [`UnmappedHandler`]) with the access's [`Miss`], and, if it
    /// answers [`Demand::Map`] or [`Demand::Retry`], retries the access
    /// once; a [`Demand::Refuse`] (or a retry that still finds the hole)
    /// fails the access with [`ErrorKind::Unmapped`] as without a handler,
    /// and a [`Demand::Map`] the map refuses fails it with
    /// [`ErrorKind::DemandFailed`] naming the reason (a name in use is not
    /// a reason: the region joins that name as a further part).
    ///
    /// The handler runs on the access's thread, outside every lock of the
    /// map, on the general path only: accesses to mapped bytes pay
    /// nothing. Threads racing on one hole each call the handler; the first
    /// add wins and the others' overlap refusal counts as success, so
    /// they retry against the winner's region. Every access
    /// sees the hole or the whole new region (one atomic publish of the
    /// table), never part of it. A handler that accesses unmapped bytes of
    /// the same map is called again, recursively: do not. Fails with
    /// [`MapErrorKind::BackingsFull`] after [`HANDLER_SLOTS`] distinct
    /// handlers (installing one already seen again is fine). A handler is
    /// known by its whole reference, data address and vtable (two
    /// zero-sized handlers share an address, never their code); Rust may
    /// give one type a vtable per codegen unit that makes the `&dyn`, so
    /// the same handler turned into `&dyn UnmappedHandler` in two places
    /// may take two slots: make the `&dyn` once if you switch back and
    /// forth.
    pub fn set_unmapped_handler(
        &self,
        handler: Option<&'a dyn UnmappedHandler<'a>>,
    ) -> Result<(), MapError> {
        self.demand.set(handler)
    }

    /// The view of `addr..addr + len` for an access, checked; where it
    /// meets unmapped bytes, the demand handler may map them and the check
    /// runs once more. Every general-path access comes through here.
    #[inline]
    pub(crate) fn checked_view(
        &self,
        addr: u64,
        len: u64,
        access: Access,
        typed: bool,
    ) -> Result<View<'a, N, H>, VmError> {
        let view = self.view(addr, len);
        match view.check(addr, len, access, typed) {
            Ok(()) => Ok(view),
            Err(e) if e.kind() == ErrorKind::Unmapped => self.on_miss(view, e, addr, len, typed),
            Err(e) => Err(e),
        }
    }

    /// The miss path: asks the handler, maps what it says, retries once.
    #[cold]
    #[inline(never)]
    fn on_miss(
        &self,
        view: View<'a, N, H>,
        e: VmError,
        addr: u64,
        len: u64,
        typed: bool,
    ) -> Result<View<'a, N, H>, VmError> {
        let Some(handler) = self.demand.get() else {
            return Err(e);
        };
        // Only accesses inside the address space have a first hole.
        if addr.checked_add(len - 1).is_none() {
            return Err(e);
        }
        let Some(hole) = view.pieces(addr, len).find(|p| p.region.is_none()) else {
            return Err(e);
        };
        let miss = Miss {
            addr,
            len,
            hole: hole.addr,
            access: e.access(),
        };
        // Why the handler's mapping was refused, if it was: an overlap may
        // be another thread's winning add, so it is told only if the retry
        // still finds the hole.
        let mut refused = None;
        match handler.unmapped(miss) {
            Demand::Refuse => return Err(e),
            Demand::Retry => {}
            Demand::Map(m) => {
                // A name in use is joined, not refused: one handler maps
                // the same stub (same name) over every page it is asked for.
                let added = self.add_new(m.0, true);
                match added.map_err(|x| x.kind()) {
                    Ok(()) => {}
                    Err(MapErrorKind::Overlaps) => refused = Some(MapErrorKind::Overlaps),
                    Err(reason) => return Err(demand_failed(e, reason)),
                }
            }
        }
        let view = self.view(addr, len);
        match (view.check(addr, len, e.access(), typed), refused) {
            (Ok(()), _) => Ok(view),
            (Err(again), Some(reason)) if again.kind() == ErrorKind::Unmapped => {
                Err(demand_failed(again, reason))
            }
            (Err(again), _) => Err(again),
        }
    }
}
