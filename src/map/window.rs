//! [`Window`]: an owner map's read window, the last RAM or ROM region its
//! page cache looked up for one access kind, as one run of host bytes.
//!
//! QEMU's softmmu TLB hit is a slot hash, a tag compare and the load. An
//! interpreter's loads and fetches mostly land in one region (its RAM, or
//! its flash for fetches), so an owner map first tries that region as a
//! whole: the address minus the region's base, one compare against its
//! length, one plain load (what a bounds-checked `Vec<u8>` costs). Anything
//! else (another region, the region's last 7 bytes, a device, a write)
//! leaves through one call to the page cache.
//!
//! A window is aimed at the region of an access it missed when the page
//! cache missed too (the cache looked the page up), when it is empty, and
//! at every [`AIM_AFTER`]th miss otherwise: so a firmware reading its
//! flash's literal pools and its SRAM in turn keeps one window for many
//! accesses and takes the cache for the other, rather than re-aiming at
//! every access. It is aimed only at a region the fast path may serve for
//! that kind (its permissions allow it and no hook watches it), over lent
//! RAM or a frozen ROM, and emptied whenever the owner map's cache is
//! flushed (every change to the table), so it never outlives the region it
//! was aimed at.

use crate::scalar::Scalar;
use crate::shard::OwnedRun;
use core::cell::Cell;

/// One access kind's window: the guest address of a region's first byte
/// and the region's bytes. Owned by one thread (`Cell`s): a hit stores
/// nothing.
pub(crate) struct Window<'a> {
    /// The guest address of the run's first byte.
    base: Cell<u64>,
    /// The region's bytes ([`OwnedRun::EMPTY`] when not aimed).
    run: Cell<OwnedRun<'a>>,
    /// Misses since it was last aimed, or found due.
    misses: Cell<u8>,
}

/// A window that holds a region is aimed anew at every `AIM_AFTER`th
/// access it misses (and the page cache serves): often enough to follow a
/// guest that moved to another region, seldom enough that two regions
/// used in turn pay the aim (a region lookup among the lent memories) on a
/// sixteenth of their misses.
pub(crate) const AIM_AFTER: u8 = 16;

impl<'a> Window<'a> {
    /// A window that serves nothing.
    pub(crate) const fn new() -> Self {
        Window {
            base: Cell::new(0),
            run: Cell::new(OwnedRun::EMPTY),
            misses: Cell::new(0),
        }
    }

    /// Loads a `T` at guest address `addr` if the window holds it: a
    /// subtraction, one compare and the load. Below the base, the offset
    /// wraps to a large number, which the compare refuses.
    #[inline(always)]
    pub(crate) fn load<T: Scalar>(&self, addr: u64) -> Option<T> {
        self.run.get().load(addr.wrapping_sub(self.base.get()))
    }

    /// Stores `v` at guest address `addr` if the window holds it and may
    /// store there (a run inside one shard whose marks are all set): a
    /// subtraction, one compare, the marks and the store.
    #[inline(always)]
    pub(crate) fn store<T: Scalar>(&self, addr: u64, v: T) -> Option<()> {
        self.run.get().store(addr.wrapping_sub(self.base.get()), v)
    }

    /// Counts a miss the page cache served: whether the window should be
    /// aimed at its region (it is empty, or this is the [`AIM_AFTER`]th
    /// miss since it was last aimed or found due).
    pub(crate) fn due(&self) -> bool {
        let n = self.misses.get() + 1;
        let due = n >= AIM_AFTER || self.run.get().is_empty();
        self.misses.set(if due { 0 } else { n });
        due
    }

    /// Points the window at `run`, whose first byte is at guest address
    /// `base`.
    pub(crate) fn aim(&self, base: u64, run: OwnedRun<'a>) {
        self.base.set(base);
        self.run.set(run);
        self.misses.set(0);
    }

    /// Empties the window.
    pub(crate) fn clear(&self) {
        self.run.set(OwnedRun::EMPTY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShardedMemory;

    #[test]
    fn serves_its_run_and_nothing_else() {
        let mut mem = ShardedMemory::<2, 64>::new();
        mem.write_u64(0, 0x0807_0605_0403_0201).unwrap();
        mem.write_u64(120, 0x1122_3344_5566_7788).unwrap();
        // A snapshot's baseline: no shard is marked until written again.
        let mut snap = crate::Snapshot::<2, 64>::new();
        mem.snapshot(&mut snap);
        mem.write_u8(64, 0).unwrap();
        let ram = mem.split_owned().1;
        let w = Window::new();
        assert_eq!(w.load::<u8>(0x1000), None, "not aimed");
        // The whole memory (two shards) at guest 0x1000.
        w.aim(0x1000, ram.run(0, 128).unwrap());
        assert_eq!(w.load::<u32>(0x1001), Some(0x0504_0302));
        assert_eq!(w.load::<u64>(0x1000 + 60), Some(0), "across the shards");
        assert_eq!(w.load::<u64>(0x1000 + 120), Some(0x1122_3344_5566_7788));
        // The last 7 bytes are left to the page cache, as is what lies
        // past the run or below its base (the offset wraps).
        assert_eq!(w.load::<u8>(0x1000 + 121), None);
        assert_eq!(w.load::<u8>(0x1000 + 128), None);
        assert_eq!(w.load::<u8>(0xfff), None);
        assert_eq!(w.load::<u8>(u64::MAX), None);
        // A run past the memory's end cannot be made.
        assert!(ram.run(64, 65).is_none());
        assert!(ram.run(u64::MAX, 2).is_none());
        // Aimed: due at every 16th miss.
        let dues: Vec<bool> = (0..AIM_AFTER * 2).map(|_| w.due()).collect();
        let at = |i: u8| usize::from(i - 1);
        assert_eq!(dues.iter().filter(|d| **d).count(), 2);
        assert!(dues[at(AIM_AFTER)] && dues[at(AIM_AFTER * 2)]);
        w.clear();
        assert_eq!(w.load::<u8>(0x1000), None, "cleared");
        assert!(w.due() && w.due(), "empty: due at every miss");
        // A run shorter than 8 bytes serves nothing.
        w.aim(0, ram.run(0, 7).unwrap());
        assert_eq!(w.load::<u8>(0), None);
        // Stores: only through a run inside one shard, once its marks are
        // all set (the second shard's, by its first write above).
        w.aim(0x1000, ram.run(0, 128).unwrap());
        assert_eq!(
            w.store::<u8>(0x1000 + 64, 9),
            None,
            "several shards: loads only"
        );
        let (start, run) = ram.shard_run(0, 128, 70).unwrap();
        assert_eq!(start, 64, "the second shard");
        w.aim(0x1000 + start, run);
        assert_eq!(w.store::<u32>(0x1000 + 64, 7), Some(()));
        assert_eq!(w.store::<u64>(0x1000 + 120, 1), Some(()));
        assert_eq!(w.store::<u8>(0x1000 + 121, 1), None, "its last 7 bytes");
        assert_eq!(w.store::<u8>(0x1000 + 63, 1), None, "the first shard");
        assert_eq!(w.load::<u32>(0x1000 + 64), Some(7));
        let (start, run) = ram.shard_run(0, 128, 3).unwrap();
        w.aim(0x1000 + start, run);
        assert_eq!(
            w.store::<u8>(0x1000 + 8, 1),
            None,
            "never written: not marked"
        );
        // Part of a shard: a region of 20 bytes from offset 60 (4 in the
        // first shard, 16 in the second).
        let (start, run) = ram.shard_run(60, 20, 66).unwrap();
        w.aim(0x2000, run);
        assert_eq!(start, 64);
        assert_eq!(w.store::<u64>(0x2000 + 8, 3), Some(()), "its bytes 72..80");
        assert_eq!(w.store::<u64>(0x2000 + 9, 3), None, "past the region");
        assert_eq!(w.load::<u64>(0x2000 + 8), Some(3));
        assert!(ram.shard_run(60, 20, 80).is_none(), "at: outside the bytes");
        // A frozen memory's bytes.
        let rom = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        w.aim(0x10, OwnedRun::rom(&rom));
        assert_eq!(w.load::<u16>(0x11), Some(0x0302));
        assert_eq!(w.load::<u16>(0x12), None, "its last 7 bytes");
    }
}
