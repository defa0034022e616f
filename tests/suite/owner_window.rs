//! An [`OwnerMap`]'s read, fetch and write windows (the region its last
//! cache refill found, tried before the page cache): every change to the
//! map is seen by the very next access once a window holds the region; a
//! region's last bytes, a ROM, two regions used in turn and several shards
//! give the same results as the shared map; a store through the write
//! window is marked for snapshots and the dirty log like any other.

use std::sync::atomic::{AtomicU64, Ordering};
use vm_mem::{AccessHook, ErrorKind, MemoryMap, OwnerMap, Perms, ShardedMemory, WriteData};

/// Counts the reads and writes it sees; refuses writes of 0xee.
#[derive(Default)]
struct Seen(AtomicU64, AtomicU64);
impl AccessHook for Seen {
    fn read(&self, _addr: u64, _data: &mut [u8]) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn write(&self, _addr: u64, data: WriteData<'_>) -> bool {
        self.1.fetch_add(1, Ordering::Relaxed);
        data.get(0) != Some(0xee)
    }
}

/// Reads and writes `addr` enough times that every window is aimed there.
fn warm<const H: usize>(map: &OwnerMap<'_, 8, H>, addr: u64) {
    for i in 0..40 {
        map.write_u32(addr, i).unwrap();
        assert_eq!(map.read_u32(addr), Ok(i));
    }
}

#[test]
fn every_change_is_seen_by_the_next_access_through_a_window() {
    let mut ram = ShardedMemory::<8, 0x1000>::new();
    let hook = Seen::default();
    let map: OwnerMap<'_, 8> = OwnerMap::new();
    map.add_ram("ram", 0x1000_0000, 0x8000, Perms::RWX, &mut ram)
        .unwrap();
    let a = 0x1000_2010;
    warm(&map, a);
    assert_eq!(map.fetch_u32(a), Ok(39));

    // Permissions: each kind refused at once.
    map.protect(0x1000_2000..=0x1000_2fff, Perms::READ).unwrap();
    let err = map.write_u32(a, 1).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Permission {
            needed: Perms::WRITE
        }
    );
    assert_eq!(
        map.fetch_u32(a).unwrap_err().kind(),
        ErrorKind::Permission {
            needed: Perms::EXEC
        }
    );
    assert_eq!(map.read_u32(a), Ok(39));
    map.protect(0x1000_2000..=0x1000_2fff, Perms::NONE).unwrap();
    let err = map.read_u32(a).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Permission {
            needed: Perms::READ
        }
    );
    map.protect(0x1000_2000..=0x1000_2fff, Perms::RWX).unwrap();
    warm(&map, a);

    // A hook: it sees the next read and write, and refuses 0xee.
    let id = map.watch(a..=a, Perms::RW, &hook).unwrap();
    assert_eq!(map.read_u32(a), Ok(39));
    assert_eq!(
        map.write_u8(a, 0xee).unwrap_err().kind(),
        ErrorKind::DeniedByHook
    );
    assert_eq!(
        map.write_u8(a + 1, 0xee),
        Ok(()),
        "outside the watched byte"
    );
    assert_eq!(hook.0.load(Ordering::Relaxed), 1);
    assert_eq!(hook.1.load(Ordering::Relaxed), 1);
    map.unwatch(id).unwrap();
    warm(&map, a);

    // A move: the old addresses are holes, the new ones the same bytes.
    map.move_region("ram", 0x3000_0000).unwrap();
    assert_eq!(map.read_u32(a).unwrap_err().kind(), ErrorKind::Unmapped);
    assert_eq!(map.write_u32(a, 5).unwrap_err().kind(), ErrorKind::Unmapped);
    assert_eq!(map.read_u32(0x3000_2010), Ok(39));
    warm(&map, 0x3000_2010);

    // A removal.
    map.remove("ram").unwrap();
    assert_eq!(
        map.read_u8(0x3000_2010).unwrap_err().kind(),
        ErrorKind::Unmapped
    );
    assert_eq!(
        map.write_u8(0x3000_2010, 1).unwrap_err().kind(),
        ErrorKind::Unmapped
    );
    assert_eq!(
        map.fetch_u8(0x3000_2010).unwrap_err().kind(),
        ErrorKind::Unmapped
    );
}

/// One access of `size` bytes through `$m`: a read (kind 0), a fetch (1)
/// or a write of `v` (2), as a `u64`.
macro_rules! access {
    ($m:expr, $kind:expr, $addr:expr, $size:expr, $v:expr) => {{
        let (m, a, v) = (&$m, $addr, $v);
        match ($kind, $size) {
            (0, 1) => m.read_u8(a).map(u64::from),
            (0, 2) => m.read_u16(a).map(u64::from),
            (0, 4) => m.read_u32(a).map(u64::from),
            (0, _) => m.read_u64(a),
            (1, 1) => m.fetch_u8(a).map(u64::from),
            (1, 2) => m.fetch_u16(a).map(u64::from),
            (1, 4) => m.fetch_u32(a).map(u64::from),
            (1, _) => m.fetch_u64(a),
            (_, 1) => m.write_u8(a, v as u8).map(|()| 0),
            (_, 2) => m.write_u16(a, v as u16).map(|()| 0),
            (_, 4) => m.write_u32(a, v as u32).map(|()| 0),
            (_, _) => m.write_u64(a, v).map(|()| 0),
        }
    }};
}

#[test]
fn windows_agree_with_the_shared_map_at_edges_on_rom_and_across_regions() {
    let rom_mem = ShardedMemory::<1, 0x1000>::new();
    let pattern: Vec<u8> = (0..0x1000u32).map(|i| (i * 13 + 1) as u8).collect();
    rom_mem.write_bytes(0, &pattern).unwrap();
    let rom = rom_mem.freeze();
    let mut owned = ShardedMemory::<4, 0x400>::new();
    let shared = ShardedMemory::<4, 0x400>::new();
    let owner: OwnerMap<'_, 8> = OwnerMap::new();
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    owner.add_rom("flash", 0, 0x1000, Perms::RX, &rom).unwrap();
    map.add_rom("flash", 0, 0x1000, Perms::RX, &rom).unwrap();
    // RAM as two regions over one memory: a window and a mirror of it.
    owner
        .add_ram_window("low", 0x2000_0000, 0x800, Perms::RW, &mut owned, 0x400)
        .unwrap();
    owner
        .add_ram_window_of("mirror", 0x2100_0000, 0x800, Perms::RW, "low", 0x400)
        .unwrap();
    map.add_ram_window("low", 0x2000_0000, 0x800, Perms::RW, &shared, 0x400)
        .unwrap();
    map.add_ram_window("mirror", 0x2100_0000, 0x800, Perms::RW, &shared, 0x400)
        .unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let steps = if cfg!(miri) { 300 } else { 50_000 };
    for step in 0..steps {
        let r = next();
        // Near the ends of each region, and inside; both regions and the
        // ROM in turn (the windows re-aim, or the cache serves).
        let base = [0u64, 0x2000_0000, 0x2100_0000][(r % 3) as usize];
        let len = if base == 0 { 0x1000 } else { 0x800 };
        let off = match (r >> 2) % 4 {
            0 => len - 1 - (r >> 8) % 16,
            1 => (r >> 8) % 16,
            2 => (r >> 8) % (len + 8),
            _ => 0x3f8 + (r >> 8) % 16, // across the memory's shard edge
        };
        let addr = base + off;
        let size = 1usize << ((r >> 40) % 4);
        let v = next();
        let kind = (r >> 44) % 3;
        let (a, b) = (
            access!(owner, kind, addr, size, v),
            access!(map, kind, addr, size, v),
        );
        assert_eq!(a, b, "step {step}: {size} bytes at {addr:#x}");
    }
    let (mut a, mut b) = (vec![0u8; 0x1000], vec![0u8; 0x1000]);
    owned.read_bytes(0, &mut a).unwrap();
    shared.read_bytes(0, &mut b).unwrap();
    assert!(a == b, "the memories differ");
    for i in 0..4 {
        assert_eq!(
            owned.is_dirty(i),
            shared.is_dirty(i),
            "shard {i}'s dirty mark"
        );
    }
}

#[test]
fn stores_through_the_write_window_are_snapshotted_restored_and_logged() {
    let mut ram = ShardedMemory::<4, 0x1000>::new();
    let mut snap = vm_mem::Snapshot::<4, 0x1000>::new_boxed();
    {
        let map: OwnerMap<'_, 8, 2> = OwnerMap::new();
        map.add_ram("ram", 0x8000_0000, 0x4000, Perms::RW, &mut ram)
            .unwrap();
        let mut machine = vm_mem::MachineSnapshot::<'_, '_, 8, 1, 0, 0, 2>::new_sized();
        machine.add_memory_of("ram", &mut snap).unwrap();
        let a = 0x8000_1100;
        warm(&map, a);
        map.snapshot(&mut machine).unwrap();
        for round in 0..20u32 {
            // The window holds the shard; the snapshot cleared its marks, so
            // the first store takes the marking path, the rest the window.
            for i in 0..8u32 {
                map.write_u32(a + 4 * u64::from(i), round * 100 + i)
                    .unwrap();
            }
            assert_eq!(map.read_u32(a), Ok(round * 100));
            map.restore(&mut machine).unwrap();
            assert_eq!(map.read_u32(a), Ok(39), "round {round}: restored");
            assert_eq!(map.read_u32(a + 4), Ok(0), "round {round}: restored");
        }
        // The dirty log: cleared, then one store through a warm window.
        map.clear_dirty();
        assert_eq!(map.dirty().count(), 0);
        map.write_u32(a, 7).unwrap();
        let dirty: Vec<_> = map.dirty().collect();
        assert_eq!(dirty, vec![0x8000_1000..=0x8000_1fff]);
        map.clear_dirty();
        map.write_u32(a + 8, 7).unwrap();
        assert_eq!(map.dirty().count(), 1, "logged again after a clear");
    }
    assert_eq!(ram.read_u32(0x1100), Ok(7));
}
