//! [`Window`]: a map handle's window for one access kind, the last RAM
//! or ROM region its page cache looked up, as one run of memory.
//!
//! QEMU's softmmu TLB hit is a slot hash, a tag compare and the load. An
//! interpreter's loads and fetches mostly land in one region (its RAM, or
//! its flash for fetches), so an owner map and a cursor first try that
//! region as a whole: the address minus the region's base, one compare
//! against its length, the load (for an owner map one plain load, what a
//! bounds-checked `Vec<u8>` costs; for a cursor the shard's one atomic word
//! load, and the map's version unless it validates per step). An owner
//! map's stores have a window too, over the part of a RAM region in one
//! shard (whose marks each store tests). Anything else (another region, the
//! region's last 7 bytes, a device, an access across words for a cursor)
//! leaves through one call to the page cache.
//!
//! A window is aimed at the region of an access it missed when the page
//! cache missed too (the cache looked the page up), when it is empty, and
//! at every [`AIM_AFTER`]th miss otherwise: so a firmware reading its
//! flash's literal pools and its SRAM in turn keeps one window for many
//! accesses and takes the cache for the other, rather than re-aiming at
//! every access. It is aimed only at a region the fast path may serve for
//! that kind (its permissions allow it and no hook watches it), over RAM or
//! ROM, as of the table version the cache found it at; it is emptied
//! whenever its owner's cache is flushed, and a cursor that validates per
//! access also compares that version on every hit, so it never serves a
//! region that a change which returned before the access replaced.

use crate::scalar::Scalar;
use crate::shard::Run;
use core::cell::Cell;

/// One access kind's window: the guest address of a region's first byte,
/// the region's memory, and the table version it was found at. Owned by
/// one thread (`Cell`s): a hit stores nothing.
pub(crate) struct Window<R> {
    /// The guest address of the run's first byte.
    base: Cell<u64>,
    /// The region's memory ([`Run::EMPTY`] when not aimed).
    run: Cell<R>,
    /// The table version the region was found at (checked only by a
    /// cursor that validates per access).
    version: Cell<usize>,
    /// Misses since it was last aimed, or found due.
    misses: Cell<u8>,
}

/// A window that holds a region is aimed anew at every `AIM_AFTER`th
/// access it misses (and the page cache serves): often enough to follow a
/// guest that moved to another region, seldom enough that two regions
/// used in turn pay the aim (a region lookup) on a sixteenth of their
/// misses.
pub(crate) const AIM_AFTER: u8 = 16;

impl<R: Run> Window<R> {
    /// A window that serves nothing.
    pub(crate) const fn new() -> Self {
        Window {
            base: Cell::new(0),
            run: Cell::new(R::EMPTY),
            version: Cell::new(0),
            misses: Cell::new(0),
        }
    }

    /// The offset of `addr` in the run, if the window is current as of
    /// `version` (`None`: not checked, its owner flushes on change).
    /// Below the base, the offset wraps to a large number, which the run's
    /// compare refuses.
    #[inline(always)]
    fn offset(&self, addr: u64, version: Option<usize>) -> Option<u64> {
        let current = version.is_none_or(|v| self.version.get() == v);
        current.then(|| addr.wrapping_sub(self.base.get()))
    }

    /// Loads a `T` at guest address `addr` if the window holds it as of
    /// `version`: a subtraction, one compare (and the version's) and the
    /// load.
    #[inline(always)]
    pub(crate) fn load<T: Scalar>(&self, addr: u64, version: Option<usize>) -> Option<T> {
        self.run.get().load(self.offset(addr, version)?)
    }

    /// Stores `v` at guest address `addr` if the window holds it as of
    /// `version` and may store there (an owner's run inside one shard
    /// whose marks are all set): a subtraction, one compare, the marks and
    /// the store.
    #[inline(always)]
    pub(crate) fn store<T: Scalar>(&self, addr: u64, v: T, version: Option<usize>) -> Option<()> {
        self.run.get().store(self.offset(addr, version)?, v)
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
    /// `base`, as of table version `version`.
    pub(crate) fn aim(&self, base: u64, run: R, version: usize) {
        self.base.set(base);
        self.run.set(run);
        self.version.set(version);
        self.misses.set(0);
    }

    /// Empties the window.
    pub(crate) fn clear(&self) {
        self.run.set(R::EMPTY);
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
        let w = Window::<crate::shard::OwnedRun<'_>>::new();
        assert_eq!(w.load::<u8>(0x1000, None), None, "not aimed");
        // The whole memory (two shards) at guest 0x1000.
        w.aim(0x1000, ram.run(0, 128).unwrap(), 0);
        assert_eq!(w.load::<u32>(0x1001, None), Some(0x0504_0302));
        assert_eq!(
            w.load::<u64>(0x1000 + 60, None),
            Some(0),
            "across the shards"
        );
        assert_eq!(
            w.load::<u64>(0x1000 + 120, None),
            Some(0x1122_3344_5566_7788)
        );
        // The last 7 bytes are left to the page cache, as is what lies
        // past the run or below its base (the offset wraps).
        assert_eq!(w.load::<u8>(0x1000 + 121, None), None);
        assert_eq!(w.load::<u8>(0x1000 + 128, None), None);
        assert_eq!(w.load::<u8>(0xfff, None), None);
        assert_eq!(w.load::<u8>(u64::MAX, None), None);
        // A run past the memory's end cannot be made.
        assert!(ram.run(64, 65).is_none());
        assert!(ram.run(u64::MAX, 2).is_none());
        // Aimed: due at every 16th miss.
        let dues: Vec<bool> = (0..AIM_AFTER * 2).map(|_| w.due()).collect();
        let at = |i: u8| usize::from(i - 1);
        assert_eq!(dues.iter().filter(|d| **d).count(), 2);
        assert!(dues[at(AIM_AFTER)] && dues[at(AIM_AFTER * 2)]);
        w.clear();
        assert_eq!(w.load::<u8>(0x1000, None), None, "cleared");
        assert!(w.due() && w.due(), "empty: due at every miss");
        // A run shorter than 8 bytes serves nothing.
        w.aim(0, ram.run(0, 7).unwrap(), 0);
        assert_eq!(w.load::<u8>(0, None), None);
        // Stores: only through a run inside one shard, once its marks are
        // all set (the second shard's, by its first write above).
        w.aim(0x1000, ram.run(0, 128).unwrap(), 0);
        assert_eq!(
            w.store::<u8>(0x1000 + 64, 9, None),
            None,
            "several shards: loads only"
        );
        let (start, run) = ram.shard_run(0, 128, 70).unwrap();
        assert_eq!(start, 64, "the second shard");
        w.aim(0x1000 + start, run, 0);
        assert_eq!(w.store::<u32>(0x1000 + 64, 7, None), Some(()));
        assert_eq!(w.store::<u64>(0x1000 + 120, 1, None), Some(()));
        assert_eq!(
            w.store::<u8>(0x1000 + 121, 1, None),
            None,
            "its last 7 bytes"
        );
        assert_eq!(w.store::<u8>(0x1000 + 63, 1, None), None, "the first shard");
        assert_eq!(w.load::<u32>(0x1000 + 64, None), Some(7));
        let (start, run) = ram.shard_run(0, 128, 3).unwrap();
        w.aim(0x1000 + start, run, 0);
        assert_eq!(
            w.store::<u8>(0x1000 + 8, 1, None),
            None,
            "never written: not marked"
        );
        // Part of a shard: a region of 20 bytes from offset 60 (4 in the
        // first shard, 16 in the second).
        let (start, run) = ram.shard_run(60, 20, 66).unwrap();
        w.aim(0x2000, run, 0);
        assert_eq!(start, 64);
        assert_eq!(
            w.store::<u64>(0x2000 + 8, 3, None),
            Some(()),
            "its bytes 72..80"
        );
        assert_eq!(w.store::<u64>(0x2000 + 9, 3, None), None, "past the region");
        assert_eq!(w.load::<u64>(0x2000 + 8, None), Some(3));
        assert!(ram.shard_run(60, 20, 80).is_none(), "at: outside the bytes");
        // A frozen memory's bytes.
        let rom = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        w.aim(0x10, crate::shard::OwnedRun::rom(&rom), 0);
        assert_eq!(w.load::<u16>(0x11, None), Some(0x0302));
        assert_eq!(w.load::<u16>(0x12, None), None, "its last 7 bytes");
    }
}
