//! A memory registered with a [`MachineSnapshot`](crate::MachineSnapshot),
//! type-erased ([`Image`]: capture, restore, compare), and how it was
//! registered ([`Registered`]): as the memory itself, or by the name of the
//! RAM region it backs, which a map that holds its memories (an
//! [`OwnerMap`](crate::OwnerMap), whose memories are lent to it) resolves
//! at each capture.

use crate::error::VmError;
use crate::memory::ShardedMemory;
use crate::shard::OwnedRam;
use crate::snapshot::Snapshot;
use core::any::Any;

/// A memory, type-erased: what the machine snapshot asks of it.
pub(crate) trait Image: Sync {
    /// The memory's address, to match it with the map's RAM regions.
    fn addr(&self) -> *const ();
    /// Whether `snap` is a snapshot of this memory's geometry.
    fn fits(&self, snap: &dyn Any) -> bool;
    /// Takes the memory's snapshot into `snap` (nothing if it does not fit).
    fn capture(&self, snap: &mut dyn Any);
    /// Restores `snap` (incrementally if it is the baseline); shards copied.
    fn restore(&self, snap: &dyn Any) -> Result<usize, VmError>;
    /// The index of the first shard that differs from `snap`, if any.
    fn differs(&self, snap: &dyn Any) -> Result<Option<usize>, VmError>;
    /// [`capture`](Self::capture) with plain copies through `lent`, an
    /// owner map's handle on this very memory.
    fn capture_lent(&self, lent: OwnedRam<'_>, snap: &mut dyn Any);
    /// [`restore`](Self::restore) with plain copies through `lent`, as
    /// [`capture_lent`](Self::capture_lent).
    fn restore_lent(&self, lent: OwnedRam<'_>, snap: &dyn Any) -> Result<usize, VmError>;
}

impl<const S: usize, const Z: usize> Image for ShardedMemory<S, Z> {
    fn addr(&self) -> *const () {
        (self as *const Self).cast()
    }

    fn fits(&self, snap: &dyn Any) -> bool {
        snap.is::<Snapshot<S, Z>>()
    }

    fn capture(&self, snap: &mut dyn Any) {
        // Checked by `fits` (or at registration): the downcast succeeds.
        if let Some(snap) = snap.downcast_mut::<Snapshot<S, Z>>() {
            self.snapshot(snap);
        }
    }

    fn restore(&self, snap: &dyn Any) -> Result<usize, VmError> {
        match snap.downcast_ref::<Snapshot<S, Z>>() {
            Some(snap) => ShardedMemory::restore(self, snap),
            None => Ok(0), // cannot happen: checked at capture
        }
    }

    fn capture_lent(&self, lent: OwnedRam<'_>, snap: &mut dyn Any) {
        if let Some(snap) = snap.downcast_mut::<Snapshot<S, Z>>() {
            self.snapshot_lent(lent, snap);
        }
    }

    fn restore_lent(&self, lent: OwnedRam<'_>, snap: &dyn Any) -> Result<usize, VmError> {
        match snap.downcast_ref::<Snapshot<S, Z>>() {
            Some(snap) => self.restore_lent(lent, snap),
            None => Ok(0), // cannot happen: checked at capture
        }
    }

    fn differs(&self, snap: &dyn Any) -> Result<Option<usize>, VmError> {
        let Some(snap) = snap.downcast_ref::<Snapshot<S, Z>>() else {
            return Ok(None);
        };
        let mut buf = [0u8; 256];
        for shard in 0..S {
            let copy = snap.shard(shard).map_or(&[][..], |c| &c[..]);
            for (i, part) in copy.chunks(buf.len()).enumerate() {
                let now = &mut buf[..part.len()];
                self.read_bytes(shard * Z + i * 256, now)?;
                if now != part {
                    return Ok(Some(shard));
                }
            }
        }
        Ok(None)
    }
}

/// How a memory was registered with a machine snapshot.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a, 's> {
    /// As itself ([`MachineSnapshot::add_memory`](crate::MachineSnapshot::add_memory)).
    Memory(&'s dyn Image),
    /// By the name of the RAM region it backs
    /// ([`MachineSnapshot::add_memory_of`](crate::MachineSnapshot::add_memory_of)),
    /// and the memory that region had at the last capture.
    Region {
        name: &'a str,
        found: Option<&'a dyn Image>,
    },
}

/// A registered memory and the snapshot that holds its bytes.
pub(crate) struct Registered<'a, 's> {
    pub(crate) source: Source<'a, 's>,
    pub(crate) copy: &'s mut (dyn Any + Send),
}

impl<'a, 's> Source<'a, 's> {
    /// The memory: registered, or found at the last capture.
    pub(crate) fn image<'x>(self) -> Option<&'x dyn Image>
    where
        'a: 'x,
        's: 'x,
    {
        match self {
            Source::Memory(m) => Some(m),
            Source::Region { found, .. } => found,
        }
    }
}
