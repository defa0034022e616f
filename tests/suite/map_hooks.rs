//! Byte-granular regions, one device call per access, access hooks
//! (order, value replacement, refusal, once per access), `protect` at byte
//! granularity (same enforcement for read/write/fetch, hooked or not), and
//! protections across snapshot/restore.

use std::sync::Mutex;
use vm_mem::{
    Access, AccessHook, ErrorKind, MapErrorKind, MemoryMap, MmioDevice, Perms, ShardedMemory,
    Snapshot, VmError, WriteData,
};

type Mem = ShardedMemory<4, 64>;

/// A device that records calls and echoes `offset * 0x11` per byte.
#[derive(Default)]
struct Dev {
    calls: Mutex<Vec<(char, u64, usize)>>,
}

impl Dev {
    fn take(&self) -> Vec<(char, u64, usize)> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl MmioDevice for Dev {
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        self.calls.lock().unwrap().push(('r', offset, size));
        Ok(0x1111_1111_1111_1111u64.wrapping_mul(offset + 1))
    }
    fn write(&self, offset: u64, size: usize, _value: u64) -> Result<(), VmError> {
        self.calls.lock().unwrap().push(('w', offset, size));
        Ok(())
    }
}

fn read(map: &MemoryMap<'_, 8>, addr: u64, size: usize) -> Result<u64, VmError> {
    match size {
        1 => map.read_u8(addr).map(u64::from),
        2 => map.read_u16(addr).map(u64::from),
        4 => map.read_u32(addr).map(u64::from),
        _ => map.read_u64(addr),
    }
}

fn write(map: &MemoryMap<'_, 8>, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
    match size {
        1 => map.write_u8(addr, v as u8),
        2 => map.write_u16(addr, v as u16),
        4 => map.write_u32(addr, v as u32),
        _ => map.write_u64(addr, v),
    }
}

#[test]
fn a_three_byte_device_between_two_ram_regions_every_byte_around_it() {
    let (lo, hi) = (Mem::new(), Mem::new());
    let dev = Dev::default();
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    // Odd bases and lengths: nothing is page- or even word-aligned.
    map.add_ram("lo", 0x1001, 0x20, Perms::RW, &lo).unwrap(); // ..=0x1020
    map.add_mmio("regs", 0x1021, 3, Perms::RW, &dev).unwrap(); // 0x1021..=0x1023
    map.add_ram("hi", 0x1024, 0x20, Perms::RW, &hi).unwrap();
    for size in [1usize, 2, 4, 8] {
        for addr in 0x1021 - 9..=0x1023 + 9u64 {
            let end = addr + size as u64 - 1;
            let in_dev = |a: u64| (0x1021..=0x1023).contains(&a);
            let touches_dev = (addr..=end).any(in_dev);
            let all_dev = (addr..=end).all(in_dev);
            let (r, w) = (read(&map, addr, size), write(&map, addr, size, 0));
            if all_dev {
                let off = addr - 0x1021;
                assert_eq!(r.unwrap() & 0xff, (0x11 * (off + 1)) & 0xff);
                w.unwrap();
                assert_eq!(dev.take(), [('r', off, size), ('w', off, size)]);
            } else if touches_dev {
                // The first byte past the first boundary crossed.
                let boundary = if addr < 0x1021 { 0x1021 } else { 0x1024 };
                for e in [r.unwrap_err(), w.unwrap_err()] {
                    assert_eq!(e.kind(), ErrorKind::CrossesRegion);
                    assert_eq!((e.addr(), e.size()), (boundary, size));
                }
                assert!(dev.take().is_empty(), "{addr:#x}+{size}: no device call");
            } else {
                r.unwrap();
                w.unwrap();
            }
        }
    }
    // Bulk copies over the block: naturally aligned accesses on guest addresses.
    map.write_bytes(0x101f, &[9; 7]).unwrap();
    assert_eq!(dev.take(), [('w', 0, 1), ('w', 1, 2)]);
    assert_eq!(lo.read_u16(0x1e).unwrap(), 0x0909);
    assert_eq!(hi.read_u16(0).unwrap(), 0x0909);
}

#[test]
fn one_device_call_per_access_for_every_width_and_alignment() {
    let dev = Dev::default();
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_mmio("dev", 0x4000_0003, 37, Perms::RW, &dev)
        .unwrap();
    for size in [1usize, 2, 4, 8] {
        for addr in 0x4000_0003..=0x4000_0003 + 37 - size as u64 {
            let off = addr - 0x4000_0003;
            let v = read(&map, addr, size).unwrap();
            let mask = u64::MAX >> (64 - 8 * size);
            assert_eq!(v, 0x1111_1111_1111_1111u64.wrapping_mul(off + 1) & mask);
            write(&map, addr, size, u64::MAX).unwrap();
            assert_eq!(
                dev.take(),
                [('r', off, size), ('w', off, size)],
                "{size}@{off}"
            );
        }
    }
}

/// One hook call: (hook tag, 'r'/'w'/'x', address, length, value).
type Entry = (u8, char, u64, usize, u64);

/// A hook that logs what it sees and can replace, refuse or patch.
struct Spy {
    tag: u8,
    log: &'static Mutex<Vec<Entry>>,
    replace: bool,
    refuse: bool,
}

impl Spy {
    fn note(&self, kind: char, addr: u64, len: usize, value: u64) {
        self.log
            .lock()
            .unwrap()
            .push((self.tag, kind, addr, len, value));
    }
}

fn le(data: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = data.len().min(8);
    b[..n].copy_from_slice(&data[..n]);
    u64::from_le_bytes(b)
}

impl AccessHook for Spy {
    fn read(&self, addr: u64, data: &mut [u8]) {
        self.note('r', addr, data.len(), le(data));
        if self.replace {
            data[0] = self.tag;
        }
    }
    fn fetch(&self, addr: u64, data: &mut [u8]) {
        self.note('x', addr, data.len(), le(data));
        if self.replace {
            data[0] = self.tag;
        }
    }
    fn write(&self, addr: u64, data: WriteData<'_>) -> bool {
        self.note('w', addr, data.len(), data.value().unwrap_or(u64::MAX));
        !self.refuse
    }
}

static LOG: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn take_log() -> Vec<Entry> {
    std::mem::take(&mut *LOG.lock().unwrap())
}

#[test]
fn hooks_run_once_per_access_in_installation_order() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let (a, b) = (Mem::new(), Mem::new());
    let spy = |tag, replace, refuse| Spy {
        tag,
        log: &LOG,
        replace,
        refuse,
    };
    let (h1, h2, h3) = (
        spy(1, true, false),
        spy(2, true, false),
        spy(3, false, false),
    );
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_ram("a", 0x1000, 0x100, Perms::RWX, &a).unwrap();
    map.add_ram("b", 0x1100, 0x100, Perms::RWX, &b).unwrap();
    a.write_u32(0xfc, 0xaabb_ccdd).unwrap();
    b.write_u32(0, 0x1122_3344).unwrap();
    map.watch(0x10fe..=0x1101, Perms::READ | Perms::EXEC, &h1)
        .unwrap();
    map.watch(0x1100..=0x1100, Perms::READ | Perms::WRITE, &h2)
        .unwrap();
    map.watch(0x2000..=0x2fff, Perms::RWX, &h3).unwrap(); // unrelated

    // A read straddling a and b: each overlapping hook once, in order;
    // h2 sees h1's replacement; the guest sees the last.
    let v = map.read_u64(0x10fc).unwrap();
    let raw = 0x1122_3344_aabb_ccddu64;
    assert_eq!(v, (raw & !0xff) | 2);
    assert_eq!(
        take_log(),
        [
            (1, 'r', 0x10fc, 8, raw),
            (2, 'r', 0x10fc, 8, (raw & !0xff) | 1)
        ]
    );
    assert_eq!(a.read_u8(0xfc).unwrap(), 0xdd, "memory unchanged");
    // Fetch hooks see fetches only.
    assert_eq!(map.fetch_u16(0x10fe).unwrap(), 0xaa01);
    assert_eq!(take_log(), [(1, 'x', 0x10fe, 2, 0xaabb)]);
    // A write only reaches write hooks; outside every range, no hook.
    map.write_u16(0x10ff, 0xbeef).unwrap();
    assert_eq!(take_log(), [(2, 'w', 0x10ff, 2, 0xbeef)]);
    assert_eq!(map.read_u32(0x1004).unwrap(), 0);
    assert!(take_log().is_empty());
    // Bulk copies are one access too.
    let mut buf = [0u8; 0x200];
    map.read_bytes(0x1000, &mut buf).unwrap();
    assert_eq!(take_log().len(), 2);
    assert_eq!((buf[0], buf[0xff]), (2, 0xef));
    map.fill(0x1000, 0x200, 0).unwrap();
    assert_eq!(take_log(), [(2, 'w', 0x1000, 0x200, u64::MAX)]);
    // A refused access reaches no hook.
    map.protect(0x1100..=0x11ff, Perms::NONE).unwrap();
    assert!(map.read_u8(0x1100).is_err() && map.write_u8(0x1100, 0).is_err());
    assert!(take_log().is_empty());
}

static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn a_refusing_write_hook_stores_nothing_and_stops_later_hooks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let (a, b) = (Mem::new(), Mem::new());
    let dev = Dev::default();
    let deny = Spy {
        tag: 1,
        log: &LOG,
        replace: false,
        refuse: true,
    };
    let later = Spy {
        tag: 2,
        log: &LOG,
        replace: false,
        refuse: false,
    };
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_ram("a", 0, 0x100, Perms::RW, &a).unwrap();
    map.add_ram("b", 0x100, 0x100, Perms::RW, &b).unwrap();
    map.add_mmio("dev", 0x200, 0x10, Perms::RW, &dev).unwrap();
    let id = map.watch(0xff..=0x203, Perms::WRITE, &deny).unwrap();
    map.watch(0..=u64::MAX, Perms::WRITE, &later).unwrap();
    for r in [
        map.write_u64(0xfc, u64::MAX), // straddles a and b
        map.write_u8(0xff, 1),
        map.write_bytes(0xf0, &[1; 0x20]),
        map.fill(0, 0x200, 1),
        map.write_u32(0x200, 1), // the device is not called
    ] {
        let e = r.unwrap_err();
        assert_eq!(
            (e.kind(), e.access()),
            (ErrorKind::DeniedByHook, Access::Write)
        );
    }
    assert!(
        take_log().iter().all(|l| l.0 == 1),
        "later hooks not called"
    );
    assert!(dev.take().is_empty());
    let mut all = [0u8; 0x100];
    a.read_bytes(0, &mut all).unwrap();
    assert!(all.iter().all(|&x| x == 0), "nothing stored in a");
    b.read_bytes(0, &mut all).unwrap();
    assert!(all.iter().all(|&x| x == 0), "nothing stored in b");
    // Writes outside the refusing hook's range go through, seen by `later`.
    map.write_u16(0x10, 7).unwrap();
    assert_eq!(take_log(), [(2, 'w', 0x10, 2, 7)]);
    assert!(map.unwatch(id).is_ok());
    assert_eq!(
        map.unwatch(id).unwrap_err().kind(),
        MapErrorKind::NoSuchHook
    );
    map.write_u64(0xfc, 1).unwrap();
    assert_eq!(b.read_u8(0).unwrap(), 0);
    assert_eq!(a.read_u32(0xfc).unwrap(), 1);
}

#[test]
fn hook_table_capacity_and_empty_ranges_are_refused() {
    let h = Spy {
        tag: 0,
        log: &LOG,
        replace: false,
        refuse: false,
    };
    let map: MemoryMap<'_, 1, 2> = MemoryMap::new();
    map.watch(0..=0, Perms::READ, &h).unwrap();
    map.watch(5..=5, Perms::READ, &h).unwrap();
    let e = map.watch(9..=9, Perms::READ, &h).unwrap_err();
    assert_eq!(e.kind(), MapErrorKind::HookTableFull);
    #[allow(clippy::reversed_empty_ranges)]
    let e = map.watch(9..=8, Perms::READ, &h).unwrap_err();
    assert_eq!(e.kind(), MapErrorKind::ZeroLength);
}

#[test]
fn protect_at_byte_granularity_same_for_read_write_fetch_hooked_or_not() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ram = Mem::new();
    let watcher = Spy {
        tag: 9,
        log: &LOG,
        replace: false,
        refuse: false,
    };
    for hooked in [false, true] {
        let map: MemoryMap<'_, 8> = MemoryMap::new();
        map.add_ram("ram", 0x1000, 0x100, Perms::RWX, &ram).unwrap();
        if hooked {
            map.watch(0x1000..=0x10ff, Perms::RWX, &watcher).unwrap();
        }
        for bits in 0..8u8 {
            let perms = Perms::from_bits_truncate(bits);
            map.protect(0x1041..=0x1041, perms).unwrap(); // one byte
            assert_eq!(map.regions().len(), if perms == Perms::RWX { 1 } else { 3 });
            for (addr, size) in [(0x1041u64, 1usize), (0x1040, 2), (0x103e, 4), (0x1041, 8)] {
                let check_n = |r: Result<(), VmError>, needed: Perms, size: usize| {
                    if perms.contains(needed) {
                        r.unwrap();
                    } else {
                        // The protected byte is the first refused.
                        let e = r.unwrap_err();
                        assert_eq!(e.kind(), ErrorKind::Permission { needed });
                        assert_eq!((e.addr(), e.size()), (0x1041, size));
                    }
                };
                let check = |r, needed| check_n(r, needed, size);
                check(read(&map, addr, size).map(drop), Perms::READ);
                check(write(&map, addr, size, 0x0102_0304_0506_0708), Perms::WRITE);
                if size == 1 {
                    check_n(map.read_bytes(addr, &mut [0; 1]), Perms::READ, 1);
                    check_n(map.write_bytes(addr, &[0; 1]), Perms::WRITE, 1);
                    check_n(map.fill(addr, 1, 0), Perms::WRITE, 1);
                }
                if size == 2 {
                    check(map.fetch_u16(addr).map(drop), Perms::EXEC);
                }
                if size == 4 {
                    check(map.fetch_u32(addr).map(drop), Perms::EXEC);
                }
            }
            // Neighbouring bytes keep their permissions.
            map.write_u8(0x1040, 1).unwrap();
            map.write_u8(0x1042, 1).unwrap();
            map.fetch_u16(0x103f).unwrap();
        }
        map.protect(0x1000..=0x10ff, Perms::RWX).unwrap();
        assert_eq!(map.regions().len(), 1, "merged back");
        take_log();
    }
}

#[test]
fn protect_splits_keep_backing_offsets_and_device_accesses_whole() {
    let ram = Mem::new();
    let dev = Dev::default();
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_ram("ram", 0x1000, 0x100, Perms::RW, &ram).unwrap();
    map.add_mmio("dev", 0x2000, 0x10, Perms::RW, &dev).unwrap();
    map.protect(0x1010..=0x101f, Perms::READ).unwrap();
    map.protect(0x2004..=0x2004, Perms::READ).unwrap();
    // RAM parts still map onto the same bytes of the memory.
    ram.write_u64(0x0c, 0x0807_0605_0403_0201).unwrap();
    assert_eq!(map.read_u64(0x100c).unwrap(), 0x0807_0605_0403_0201);
    map.write_u32(0x1020, 5).unwrap();
    assert_eq!(ram.read_u32(0x20).unwrap(), 5);
    // A device access over its split parts is one call at its own offset.
    assert_eq!(map.read_u64(0x2000).unwrap(), 0x1111_1111_1111_1111);
    assert_eq!(dev.take(), [('r', 0, 8)]);
    map.write_u16(0x2005, 0).unwrap();
    assert_eq!(dev.take(), [('w', 5, 2)]);
    let e = map.write_u64(0x2000, 0).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Permission {
            needed: Perms::WRITE
        }
    );
    assert!(dev.take().is_empty());
    let mut buf = [0u8; 16];
    map.read_bytes(0x2000, &mut buf).unwrap();
    assert_eq!(
        dev.take(),
        [('r', 0, 8), ('r', 8, 8)],
        "bulk chunks ignore the split"
    );
}

#[test]
fn protect_refusals_change_nothing_and_rom_stays_read_only() {
    let ram = Mem::new();
    let flash = ShardedMemory::<1, 64>::new();
    flash.write_u8(0, 0x5a).unwrap();
    let rom = flash.freeze();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_rom("rom", 0, 64, Perms::RX, &rom).unwrap();
    map.add_ram("ram", 0x1000, 0x100, Perms::RW, &ram).unwrap();
    let before: Vec<_> = map
        .regions()
        .iter()
        .map(|r| (r.base(), r.len(), r.perms()))
        .collect();
    // Holes, empty ranges, no room for the splits.
    let e = map.protect(0x40..=0x1000, Perms::READ).unwrap_err();
    assert_eq!((e.kind(), e.base()), (MapErrorKind::Unmapped, 0x40));
    #[allow(clippy::reversed_empty_ranges)]
    let e = map.protect(0x1001..=0x1000, Perms::READ).unwrap_err();
    assert_eq!(e.kind(), MapErrorKind::ZeroLength);
    map.protect(0x1010..=0x1010, Perms::READ).unwrap(); // 4 regions now
    let e = map.protect(0x1080..=0x1080, Perms::READ).unwrap_err();
    assert_eq!((e.kind(), e.region()), (MapErrorKind::TableFull, "ram"));
    // The user's range, not the piece whose split did not fit.
    assert_eq!((e.base(), e.len()), (0x1080, 1));
    let two: MemoryMap<'_, 2> = MemoryMap::new();
    two.add_ram("ram", 0x1000, 0x100, Perms::RW, &ram).unwrap();
    let e = two.protect(0x1010..=0x1020, Perms::READ).unwrap_err();
    assert_eq!(
        (e.kind(), e.region(), e.base(), e.len()),
        (MapErrorKind::TableFull, "ram", 0x1010, 0x11)
    );
    assert_eq!(map.regions().len(), 4);
    map.protect(0x1010..=0x1010, Perms::RW).unwrap();
    let after: Vec<_> = map
        .regions()
        .iter()
        .map(|r| (r.base(), r.len(), r.perms()))
        .collect();
    assert_eq!(after, before);
    // ROM: WRITE is recorded, writes still fail with ReadOnly.
    map.protect(0..=63, Perms::RWX).unwrap();
    assert_eq!(map.region_at(0).unwrap().perms(), Perms::RWX);
    assert_eq!(map.write_u8(0, 1).unwrap_err().kind(), ErrorKind::ReadOnly);
    map.protect(0..=0, Perms::NONE).unwrap();
    assert_eq!(
        map.read_u8(0).unwrap_err().kind(),
        ErrorKind::Permission {
            needed: Perms::READ
        }
    );
    assert_eq!(map.read_u8(1).unwrap(), 0);
}

#[test]
fn snapshot_restore_brings_back_bytes_not_permissions() {
    let ram = Mem::new();
    let mut snap = Snapshot::<4, 64>::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", 0x8000_0000, 256, Perms::RW, &ram)
        .unwrap();
    map.write_u32(0x8000_0010, 0x1111).unwrap();
    ram.snapshot(&mut snap);
    map.protect(0x8000_0010..=0x8000_001f, Perms::READ).unwrap();
    map.write_u32(0x8000_0000, 0x2222).unwrap();
    assert!(map.write_u32(0x8000_0010, 0x3333).is_err());
    ram.restore(&snap).unwrap();
    // Bytes are the snapshot's; the protection made after it stays.
    assert_eq!(map.read_u32(0x8000_0000).unwrap(), 0);
    assert_eq!(map.read_u32(0x8000_0010).unwrap(), 0x1111);
    assert_eq!(
        map.write_u32(0x8000_0010, 0x3333).unwrap_err().kind(),
        ErrorKind::Permission {
            needed: Perms::WRITE
        }
    );
    // And a protection lifted after the snapshot stays lifted after restore.
    map.protect(0x8000_0010..=0x8000_001f, Perms::RW).unwrap();
    ram.restore(&snap).unwrap();
    map.write_u32(0x8000_0010, 0x3333).unwrap();
}

#[test]
fn a_hook_on_a_region_s_first_or_last_byte_only_is_seen() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let ram = Mem::new();
    let h = Spy {
        tag: 5,
        log: &LOG,
        replace: true,
        refuse: false,
    };
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_ram("ram", 0x100, 0x10, Perms::RW, &ram).unwrap();
    // Ranges that touch the region by exactly one byte, from outside.
    map.watch(0x10f..=0x200, Perms::READ, &h).unwrap();
    map.watch(0..=0x100, Perms::READ, &h).unwrap();
    assert_eq!(map.read_u8(0x10f).unwrap(), 5);
    assert_eq!(map.read_u8(0x100).unwrap(), 5);
    assert_eq!(map.read_u8(0x108).unwrap(), 0);
    assert_eq!(take_log().len(), 2);
}

#[test]
fn hooks_installed_before_a_region_is_added_watch_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let ram = Mem::new();
    let h = Spy {
        tag: 7,
        log: &LOG,
        replace: false,
        refuse: true,
    };
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.watch(0x100..=0x100, Perms::WRITE, &h).unwrap();
    map.add_ram("ram", 0x100, 0x10, Perms::RW, &ram).unwrap();
    let e = map.write_u8(0x100, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeniedByHook);
    assert_eq!(take_log(), [(7, 'w', 0x100, 1, 1)]);
    map.write_u8(0x101, 1).unwrap();
    assert!(take_log().is_empty());
}

/// Adds one to the stored value's first byte and counts its calls.
struct Bump(std::sync::atomic::AtomicUsize);
impl AccessHook for Bump {
    fn write_value(&self, _addr: u64, data: &mut [u8]) -> bool {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        data[0] = data[0].wrapping_add(1);
        true
    }
}

/// Refuses a value whose first byte is 0x10 (after earlier hooks ran).
struct NoSixteen;
impl AccessHook for NoSixteen {
    fn write_value(&self, _addr: u64, data: &mut [u8]) -> bool {
        data[0] != 0x10
    }
}

#[test]
fn write_hooks_change_the_value_stored_through_every_handle() {
    use vm_mem::OwnerMap;
    let bump = Bump(0.into());
    let calls = || bump.0.load(std::sync::atomic::Ordering::Relaxed);
    let shared = ShardedMemory::<1, 4096>::new();
    let mut owned = ShardedMemory::<1, 4096>::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_ram("ram", 0x1000, 0x1000, Perms::RW, &shared)
        .unwrap();
    map.watch(0x1000..=0x10ff, Perms::WRITE, &bump).unwrap();
    map.watch(0x1000..=0x10ff, Perms::WRITE, &NoSixteen)
        .unwrap();
    map.write_u32(0x1000, 0x1122_3344).unwrap();
    assert_eq!(shared.read_u32(0), Ok(0x1122_3345));
    map.cpu().write_u16(0x1010, 0x0101).unwrap();
    assert_eq!(shared.read_u16(0x10), Ok(0x0102));
    // The chain: Bump makes 0x0f into 0x10, which NoSixteen refuses.
    let e = map.write_u8(0x1020, 0x0f).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeniedByHook);
    assert_eq!(shared.read_u8(0x20), Ok(0));
    // A guest atomic stores the changed value and returns the old one.
    assert_eq!(map.fetch_add::<u32>(0x1000, 1), Ok(0x1122_3345));
    assert_eq!(shared.read_u32(0), Ok(0x1122_3347));
    // Bulk writes show their bytes to `write` only: unchanged.
    map.write_bytes(0x1030, &[5, 6]).unwrap();
    assert_eq!(shared.read_u16(0x30), Ok(0x0605));
    assert_eq!(calls(), 4);
    // The owner map too.
    let owner: OwnerMap<'_, 2> = OwnerMap::new();
    owner
        .add_ram("ram", 0x1000, 0x1000, Perms::RW, &mut owned)
        .unwrap();
    owner.watch(0x1000..=0x10ff, Perms::WRITE, &bump).unwrap();
    owner.write_u64(0x1008, 0x41).unwrap();
    assert_eq!(owner.read_u64(0x1008), Ok(0x42));
    owner.write_u8(0x1200, 7).unwrap(); // not watched
    assert_eq!(owner.read_u8(0x1200), Ok(7));
}
