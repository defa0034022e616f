//! Regression tests for the second review's six findings (issue 24), each
//! failing on the code before its fix:
//! 1. two objects at one address (zero-sized values, a `repr(C)` struct and
//!    its first field) were taken for one device, hook, handler or
//!    snapshot device;
//! 2. device state across several machine snapshots (a root and a later
//!    one, alternation, a capture that failed part-way);
//! 3. an owner map wrote a frozen memory;
//! 4. demand mapping with the documented handler mapped one page only, and
//!    a refused mapping did not say why;
//! 5. a frozen memory mapped as RAM made every machine capture fail;
//! 6. `MachineSnapshot::new_boxed` built its arena on the stack.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use vm_mem::{
    AccessHook, Demand, DeviceState, Difference, ErrorKind, MachineError, MachineSnapshot,
    MapErrorKind, MemoryMap, Miss, MmioDevice, OwnerMap, Perms, ShardedMemory, Snapshot,
    UnmappedHandler, VmError, WriteData,
};

// ---- 1. identity is the whole reference ----

/// Reads as all zeros.
struct Zeros;
impl MmioDevice for Zeros {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(0)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        Ok(())
    }
}

/// Reads as all ones.
struct Ones;
impl MmioDevice for Ones {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(u64::MAX)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        Ok(())
    }
}

#[test]
fn a_unit_device_replacing_another_unit_device_is_called() {
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_mmio("dev", 0x1000, 8, Perms::RW, &Zeros).unwrap();
    assert_eq!(map.read_u32(0x1000), Ok(0));
    map.remove("dev").unwrap();
    map.add_mmio("dev", 0x1000, 8, Perms::RW, &Ones).unwrap();
    assert_eq!(map.read_u32(0x1000), Ok(u32::MAX), "still the old device");
    assert_eq!(map.cpu().read_u32(0x1000), Ok(u32::MAX));
}

static ALLOWED: AtomicUsize = AtomicUsize::new(0);
static DENIED: AtomicUsize = AtomicUsize::new(0);

/// Lets every write through, counting them.
struct Allow;
impl AccessHook for Allow {
    fn write(&self, _: u64, _: WriteData<'_>) -> bool {
        ALLOWED.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// Refuses every write, counting them.
struct Deny;
impl AccessHook for Deny {
    fn write(&self, _: u64, _: WriteData<'_>) -> bool {
        DENIED.fetch_add(1, Ordering::Relaxed);
        false
    }
}

#[test]
fn a_unit_hook_that_refuses_is_not_taken_for_another_unit_hook() {
    let ram = ShardedMemory::<1, 64>::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_ram("ram", 0, 64, Perms::RW, &ram).unwrap();
    map.watch(0..=63, Perms::WRITE, &Allow).unwrap();
    map.watch(0..=63, Perms::WRITE, &Deny).unwrap();
    let err = map.write_u32(0, 7).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeniedByHook);
    assert_eq!(ram.read_u32(0), Ok(0), "the refused write was stored");
    assert_eq!(ALLOWED.load(Ordering::Relaxed), 1, "Allow ran twice");
    assert_eq!(DENIED.load(Ordering::Relaxed), 1);
}

/// A device that is a `repr(C)` struct whose first field is another
/// device: both at one address.
#[repr(C)]
struct Wrapper {
    inner: Ones,
    reads: AtomicU32,
}
impl MmioDevice for Wrapper {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(0x1234)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        Ok(())
    }
}

#[test]
fn a_repr_c_device_and_its_first_field_are_two_devices() {
    let w = Wrapper {
        inner: Ones,
        reads: AtomicU32::new(0),
    };
    assert!(core::ptr::addr_eq(&w, &w.inner)); // the premise
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_mmio("dev", 0x1000, 8, Perms::RW, &w.inner).unwrap();
    assert_eq!(map.read_u8(0x1000), Ok(0xff));
    map.remove("dev").unwrap();
    map.add_mmio("dev", 0x1000, 8, Perms::RW, &w).unwrap();
    assert_eq!(map.read_u16(0x1000), Ok(0x1234));
    assert_eq!(w.reads.load(Ordering::Relaxed), 1);
}

/// An unmapped handler that maps nothing and refuses.
struct RefuseAll;
impl<'a> UnmappedHandler<'a> for RefuseAll {
    fn unmapped(&'a self, _: Miss) -> Demand<'a> {
        Demand::Refuse
    }
}

/// An unmapped handler that maps a device over the missing page.
struct MapOnes;
impl<'a> UnmappedHandler<'a> for MapOnes {
    fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
        Demand::mmio("ones", miss.hole & !0xfff, 0x1000, Perms::RW, &Ones)
    }
}

#[test]
fn a_unit_unmapped_handler_replaces_another() {
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.set_unmapped_handler(Some(&RefuseAll)).unwrap();
    assert_eq!(map.read_u8(0x5000).unwrap_err().kind(), ErrorKind::Unmapped);
    map.set_unmapped_handler(Some(&MapOnes)).unwrap();
    assert_eq!(
        map.read_u8(0x5000),
        Ok(0xff),
        "the old handler is still in place"
    );
    map.set_unmapped_handler(Some(&RefuseAll)).unwrap();
    assert_eq!(map.read_u8(0x9000).unwrap_err().kind(), ErrorKind::Unmapped);
}

static UNIT_A: AtomicU64 = AtomicU64::new(0);
static UNIT_B: AtomicU64 = AtomicU64::new(0);

/// Two zero-sized devices whose registers live in statics, opting in to
/// snapshots.
macro_rules! unit_device {
    ($name:ident, $reg:ident) => {
        struct $name;
        impl MmioDevice for $name {
            fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
                Ok($reg.load(Ordering::Relaxed))
            }
            fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
                $reg.store(v, Ordering::Relaxed);
                Ok(())
            }
            fn state(&self) -> Option<&dyn DeviceState> {
                Some(self)
            }
        }
        impl DeviceState for $name {
            fn state_len(&self) -> usize {
                8
            }
            fn save(&self, out: &mut [u8]) -> usize {
                out[..8].copy_from_slice(&$reg.load(Ordering::Relaxed).to_le_bytes());
                8
            }
            fn restore(&self, from: &[u8]) {
                $reg.store(
                    u64::from_le_bytes(from[..8].try_into().unwrap()),
                    Ordering::Relaxed,
                );
            }
            fn changed(&self) -> bool {
                true
            }
            fn mark_clean(&self) {}
        }
    };
}
unit_device!(UnitA, UNIT_A);
unit_device!(UnitB, UNIT_B);

#[test]
fn two_unit_devices_opting_in_are_both_saved_and_restored() {
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_mmio("a", 0x1000, 8, Perms::RW, &UnitA).unwrap();
    map.add_mmio("b", 0x2000, 8, Perms::RW, &UnitB).unwrap();
    map.write_u64(0x1000, 1).unwrap();
    map.write_u64(0x2000, 2).unwrap();
    let mut snap = MachineSnapshot::<'_, '_, 4, 1, 4, 64>::new_sized();
    map.snapshot(&mut snap).unwrap();
    assert!(snap.device_state("a").is_some());
    assert!(
        snap.device_state("b").is_some(),
        "the second unit device was not saved"
    );
    map.write_u64(0x1000, 10).unwrap();
    map.write_u64(0x2000, 20).unwrap();
    assert_eq!(map.restore(&mut snap).unwrap().devices, 2);
    assert_eq!((map.read_u64(0x1000), map.read_u64(0x2000)), (Ok(1), Ok(2)));
}

// ---- 2. device state across several machine snapshots ----

/// A register with a precise changed flag, as `DeviceState`'s docs show.
#[derive(Default)]
struct Counter {
    value: AtomicU32,
    dirty: std::sync::atomic::AtomicBool,
}
impl MmioDevice for Counter {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(self.value.load(Ordering::Relaxed).into())
    }
    fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
        self.value.store(v as u32, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }
    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}
impl DeviceState for Counter {
    fn state_len(&self) -> usize {
        4
    }
    fn save(&self, out: &mut [u8]) -> usize {
        out[..4].copy_from_slice(&self.value.load(Ordering::Relaxed).to_le_bytes());
        4
    }
    fn restore(&self, from: &[u8]) {
        let v = u32::from_le_bytes(from[..4].try_into().unwrap());
        self.value.store(v, Ordering::Relaxed);
        self.dirty.store(false, Ordering::Relaxed);
    }
    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }
    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// A device whose state never fits: its capture fails after the devices
/// before it were saved (and marked clean).
struct Huge;
impl MmioDevice for Huge {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(0)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        Ok(())
    }
    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}
impl DeviceState for Huge {
    fn state_len(&self) -> usize {
        1 << 20
    }
    fn save(&self, _: &mut [u8]) -> usize {
        0
    }
    fn restore(&self, _: &[u8]) {}
    fn changed(&self) -> bool {
        false
    }
    fn mark_clean(&self) {}
}

type Snap<'a> = MachineSnapshot<'a, 'a, 4, 1, 2, 64>;

#[test]
fn restoring_an_older_snapshot_brings_its_device_state_back() {
    let dev = Counter::default();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_mmio("ctr", 0x1000, 4, Perms::RW, &dev).unwrap();
    let (mut root, mut later) = (Snap::new_sized(), Snap::new_sized());
    map.write_u32(0x1000, 1).unwrap();
    map.snapshot(&mut root).unwrap();
    map.write_u32(0x1000, 2).unwrap();
    map.snapshot(&mut later).unwrap(); // marks the device clean
    map.restore(&mut root).unwrap();
    assert_eq!(map.read_u32(0x1000), Ok(1), "left in the later state");
    assert_eq!(root.diff(&map, &mut [0; 4]), Ok(None));
    // Alternating, with and without a run in between.
    for round in 0..4 {
        map.restore(&mut later).unwrap();
        assert_eq!(map.read_u32(0x1000), Ok(2), "round {round}");
        assert_eq!(later.diff(&map, &mut [0; 4]), Ok(None));
        if round % 2 == 0 {
            map.write_u32(0x1000, 7).unwrap();
        }
        map.restore(&mut root).unwrap();
        assert_eq!(map.read_u32(0x1000), Ok(1), "round {round}");
    }
    // Restoring the baseline again with nothing changed copies nothing.
    assert_eq!(map.restore(&mut root).unwrap().devices, 0);
    map.write_u32(0x1000, 9).unwrap();
    assert_eq!(map.restore(&mut root).unwrap().devices, 1);
}

#[test]
fn a_capture_that_fails_part_way_leaves_no_device_skipped() {
    let dev = Counter::default();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_mmio("ctr", 0x1000, 4, Perms::RW, &dev).unwrap();
    let mut root = Snap::new_sized();
    map.write_u32(0x1000, 1).unwrap();
    map.snapshot(&mut root).unwrap();
    map.write_u32(0x1000, 5).unwrap();
    // A second capture saves the counter (marking it clean), then fails
    // on a device whose state does not fit.
    map.add_mmio("huge", 0x2000, 4, Perms::RW, &Huge).unwrap();
    let mut failed = Snap::new_sized();
    assert!(matches!(
        map.snapshot(&mut failed),
        Err(MachineError::StateFull { .. })
    ));
    map.restore(&mut root).unwrap();
    assert_eq!(map.read_u32(0x1000), Ok(1), "the counter was skipped");
    assert!(map.region("huge").is_none()); // the table came back too
}

// ---- 3. a frozen memory stays read-only through an owner map ----

/// Writes every way an owner map offers to a frozen memory lent to it;
/// all must fail with `ReadOnly`, leaving the bytes as frozen.
fn owner_writes_to_frozen<const S: usize, const Z: usize>() {
    let mut mem = ShardedMemory::<S, Z>::new();
    mem.write_u32(0, 0x1122_3344).unwrap();
    mem.freeze(); // the reader is dropped at once: `&mut` is available again
    {
        let map: OwnerMap<'_, 2> = OwnerMap::new();
        let len = (S * Z) as u64; // a whole page where Z holds one
        map.add_ram("flash", 0x1000, len, Perms::RW, &mut mem)
            .unwrap();
        assert_eq!(map.read_u32(0x1000), Ok(0x1122_3344));
        let ro = |r: Result<_, VmError>| r.map_err(|e| e.kind());
        assert_eq!(ro(map.write_u32(0x1000, 0)), Err(ErrorKind::ReadOnly));
        assert_eq!(ro(map.write_u8(0x1003, 0)), Err(ErrorKind::ReadOnly));
        assert_eq!(ro(map.write_u64(0x1008, 0)), Err(ErrorKind::ReadOnly));
        assert_eq!(
            ro(map.fetch_add::<u32>(0x1000, 1).map(drop)),
            Err(ErrorKind::ReadOnly)
        );
        assert_eq!(
            ro(map.swap::<u8>(0x1001, 9).map(drop)),
            Err(ErrorKind::ReadOnly)
        );
        assert_eq!(
            ro(map.write_bytes(0x1010, &[1, 2])),
            Err(ErrorKind::ReadOnly)
        );
        assert_eq!(ro(map.fill(0x1020, 8, 0xff)), Err(ErrorKind::ReadOnly));
        assert_eq!(map.read_u32(0x1000), Ok(0x1122_3344));
    }
    assert_eq!(mem.read_u32(0), Ok(0x1122_3344));
    assert_eq!(mem.read_u64(8), Ok(0));
    assert_eq!(mem.read_u64(16), Ok(0));
}

#[test]
fn an_owner_map_refuses_to_write_a_frozen_memory() {
    owner_writes_to_frozen::<1, 4096>(); // whole pages: the plain-store path
    owner_writes_to_frozen::<4, 64>(); // small shards: the shared path
}

// ---- 4. demand mapping, the documented handler verbatim ----

/// An unknown peripheral: reads 0, ignores writes, counts accesses.
struct Stub(AtomicU32);
impl MmioDevice for Stub {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(0)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Maps a stub over any unknown 4 KiB page of the peripheral space.
struct Discover(Stub);
impl<'a> UnmappedHandler<'a> for Discover {
    fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
        if (0x4000_0000..0x6000_0000).contains(&miss.hole) {
            Demand::mmio("stub", miss.hole & !0xfff, 0x1000, Perms::RW, &self.0)
        } else {
            Demand::Refuse
        }
    }
}

#[test]
fn the_documented_handler_maps_every_page_it_is_asked_for() {
    let discover = Discover(Stub(AtomicU32::new(0)));
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.set_unmapped_handler(Some(&discover)).unwrap();
    assert_eq!(map.read_u32(0x4001_2004).unwrap(), 0); // mapped on demand
    assert_eq!(map.region_at(0x4001_2000).unwrap().name(), "stub");
    assert!(map.read_u32(0x1000).is_err()); // refused: Unmapped
                                            // Later pages, through the map and a cursor.
    assert_eq!(map.read_u32(0x4002_0000), Ok(0));
    map.write_u16(0x4003_0ffe, 1).unwrap();
    assert_eq!(map.cpu().read_u8(0x4004_0000), Ok(0));
    for page in [0x4001_2000, 0x4002_0000, 0x4003_0000, 0x4004_0000] {
        assert_eq!(map.region_at(page).map(|r| r.name()), Some("stub"));
    }
    assert_eq!(discover.0 .0.load(Ordering::Relaxed), 4);
    // One name: removing it unmaps every page it was mapped over.
    map.remove("stub").unwrap();
    assert!(map.regions().is_empty());
}

/// Maps a 4 KiB device at a fixed place whatever the miss.
struct Fixed(Stub);
impl<'a> UnmappedHandler<'a> for Fixed {
    fn unmapped(&'a self, _: Miss) -> Demand<'a> {
        Demand::mmio("fixed", 0x8000, 0x1000, Perms::RW, &self.0)
    }
}

/// Maps a region that runs past the end of the address space.
struct PastTheEnd(Stub);
impl<'a> UnmappedHandler<'a> for PastTheEnd {
    fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
        Demand::mmio("end", miss.hole, u64::MAX, Perms::RW, &self.0)
    }
}

#[test]
fn a_refused_demand_mapping_says_why() {
    let ram = ShardedMemory::<1, 4096>::new();
    let fixed = Fixed(Stub(AtomicU32::new(0)));
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", 0x8800, 0x100, Perms::RW, &ram).unwrap();
    map.set_unmapped_handler(Some(&fixed)).unwrap();
    // The handler's region overlaps `ram`: refused, and the error says so.
    let err = map.read_u32(0x100).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::DemandFailed {
            reason: MapErrorKind::Overlaps
        }
    );
    assert_eq!((err.addr(), err.size()), (0x100, 4));
    assert!(err.to_string().contains("overlaps"), "{err}");
    let past = PastTheEnd(Stub(AtomicU32::new(0)));
    map.set_unmapped_handler(Some(&past)).unwrap();
    let err = map.cpu().write_u8(0x10, 1).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::DemandFailed {
            reason: MapErrorKind::PastAddressSpace
        }
    );
}

// ---- 5. a frozen memory mapped as RAM needs no registration ----

#[test]
fn a_frozen_memory_mapped_as_ram_does_not_block_machine_snapshots() {
    let flash = ShardedMemory::<1, 256>::new();
    flash.write_u32(0, 0xe7fe_bf00).unwrap();
    let frozen = flash.freeze();
    let sram = ShardedMemory::<1, 256>::new();
    let other = ShardedMemory::<1, 64>::new();
    let mut sram_snap = Snapshot::<1, 256>::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("flash", 0, 256, Perms::RX, &frozen).unwrap();
    map.add_ram("alias", 0x800, 256, Perms::RX, &flash).unwrap();
    map.add_ram("sram", 0x1000, 256, Perms::RW, &sram).unwrap();
    let mut snap = MachineSnapshot::<'_, '_, 4, 1, 1, 0>::new_sized();
    snap.add_memory(&sram, &mut sram_snap).unwrap();
    map.snapshot(&mut snap).unwrap();
    map.write_u32(0x1000, 5).unwrap();
    let done = map.restore(&mut snap).unwrap();
    assert_eq!(done.shards, 1);
    assert_eq!(map.read_u32(0x1000), Ok(0));
    assert_eq!(map.read_u32(0), Ok(0xe7fe_bf00));
    assert_eq!(snap.diff(&map, &mut []), Ok(None));
    // A live memory mapped as RAM still must be registered.
    map.add_ram("other", 0x2000, 64, Perms::RW, &other).unwrap();
    assert_eq!(
        map.snapshot(&mut snap),
        Err(MachineError::Unregistered {
            region: "other".into()
        })
    );
}

// ---- 6. a big arena on a thread with a small stack ----

#[test]
fn new_boxed_builds_a_big_arena_without_the_stack() {
    // 4 MiB of device state on a thread with a 256 KiB stack (the debug
    // build copied the whole value through the stack and overflowed).
    let t = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let dev = Counter::default();
            let map: MemoryMap<'_, 2> = MemoryMap::new();
            map.add_mmio("ctr", 0, 4, Perms::RW, &dev).unwrap();
            let mut snap = MachineSnapshot::<'_, '_, 2, 1, 2, { 4 << 20 }>::new_sized_boxed();
            assert!(!snap.is_taken());
            map.write_u32(0, 3).unwrap();
            map.snapshot(&mut snap).unwrap();
            map.write_u32(0, 4).unwrap();
            map.restore(&mut snap).unwrap();
            (
                map.read_u32(0),
                snap.device_state("ctr").map(<[u8]>::to_vec),
            )
        });
    let (value, saved) = t.unwrap().join().unwrap();
    assert_eq!(value, Ok(3));
    assert_eq!(saved, Some(vec![3, 0, 0, 0]));
}

/// Alternating restores of two snapshots, with a run before each: after
/// each, the machine equals the snapshot restored and differs from the
/// other (device and memory alike).
#[test]
fn diff_after_restoring_either_of_two_snapshots_finds_nothing() {
    let dev = Counter::default();
    let ram = ShardedMemory::<2, 64>::new();
    let (mut ram_a, mut ram_b) = (Snapshot::<2, 64>::new(), Snapshot::<2, 64>::new());
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_mmio("ctr", 0x1000, 4, Perms::RW, &dev).unwrap();
    map.add_ram("ram", 0, 128, Perms::RW, &ram).unwrap();
    let (mut a, mut b) = (
        MachineSnapshot::<'_, '_, 4, 1, 2, 16>::new_sized(),
        MachineSnapshot::<'_, '_, 4, 1, 2, 16>::new_sized(),
    );
    a.add_memory(&ram, &mut ram_a).unwrap();
    b.add_memory(&ram, &mut ram_b).unwrap();
    let run = |map: &MemoryMap<'_, 4>, step: u32| {
        map.write_u32(0x1000, step).unwrap();
        map.write_u32(u64::from(step % 32) * 4, step).unwrap();
    };
    run(&map, 1);
    map.snapshot(&mut a).unwrap();
    run(&map, 2);
    map.snapshot(&mut b).unwrap();
    for i in 0..6 {
        run(&map, 10 + i);
        let (snap, other) = if i % 2 == 0 {
            (&mut a, &b)
        } else {
            (&mut b, &a)
        };
        map.restore(snap).unwrap();
        assert_eq!(snap.diff(&map, &mut [0; 4]), Ok(None), "step {i}");
        // Memories are compared before devices: `ram` differs first.
        assert_eq!(
            other.diff(&map, &mut [0; 4]),
            Ok(Some(Difference::Memory {
                memory: 0,
                shard: 0
            })),
            "step {i}: the two snapshots hold different machines"
        );
    }
}
