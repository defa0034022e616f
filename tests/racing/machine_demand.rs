//! Demand mapping ([`UnmappedHandler`]): a miss maps RAM or a device and
//! the access is retried once; a refusal fails as `Unmapped`; threads
//! racing on one hole all succeed against one region (the losers' overlap
//! counts as success), and each access sees the hole or the whole region.
//! Run under Miri over many seeds in CI (`.ci/steps/40-miri.sh`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use vm_mem::{Access, Demand, ErrorKind, MemoryMap, Miss, Perms, ShardedMemory, UnmappedHandler};

use crate::support::counting;
use counting::Counting;

type Mem = ShardedMemory<2, 64>;

/// Maps `ram` at the 128-byte block holding the hole, for holes in
/// `0x1000..0x2000`, and counts its calls.
struct MapRam<'a> {
    ram: &'a Mem,
    calls: AtomicUsize,
}

impl<'a> MapRam<'a> {
    fn new(ram: &'a Mem) -> Self {
        Self {
            ram,
            calls: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl<'a> UnmappedHandler<'a> for MapRam<'a> {
    fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if (0x1000..0x2000).contains(&miss.hole) {
            Demand::ram("ram", miss.hole & !0x7f, 128, Perms::RW, self.ram, 0)
        } else {
            Demand::Refuse
        }
    }
}

#[test]
fn a_miss_maps_ram_and_the_access_is_retried() {
    let ram = Mem::new();
    let h = MapRam::new(&ram);
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.set_unmapped_handler(Some(&h)).unwrap();
    map.write_u32(0x1084, 0xdead_beef).unwrap();
    assert_eq!(ram.read_u32(4).unwrap(), 0xdead_beef);
    assert_eq!(map.read_u32(0x1084).unwrap(), 0xdead_beef);
    assert_eq!(h.calls(), 1); // the second access hit
    let r = map.region_at(0x1080).unwrap();
    assert_eq!((r.name(), r.base(), r.len()), ("ram", 0x1080, 128));
}

#[test]
fn a_refusal_fails_as_unmapped_and_maps_nothing() {
    let ram = Mem::new();
    let h = MapRam::new(&ram);
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.set_unmapped_handler(Some(&h)).unwrap();
    let e = map.read_u16(0x3000).unwrap_err();
    assert_eq!(
        (e.kind(), e.addr(), e.access()),
        (ErrorKind::Unmapped, 0x3000, Access::Read)
    );
    assert!(map.regions().is_empty());
    assert_eq!(h.calls(), 1);
    // Removed again: no call.
    map.set_unmapped_handler(None).unwrap();
    assert!(map.read_u16(0x1000).is_err());
    assert_eq!(h.calls(), 1);
}

/// Reports each miss it sees and refuses.
struct Record(std::sync::Mutex<Vec<Miss>>);

impl<'a> UnmappedHandler<'a> for Record {
    fn unmapped(&'a self, miss: Miss) -> Demand<'a> {
        self.0.lock().unwrap().push(miss);
        Demand::Refuse
    }
}

#[test]
fn the_handler_sees_the_access_and_its_first_hole() {
    let ram = Mem::new();
    let rec = Record(Default::default());
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("low", 0x100, 4, Perms::RW, &ram).unwrap();
    map.set_unmapped_handler(Some(&rec)).unwrap();
    assert!(map.write_u64(0x100, 1).is_err()); // bytes 0x104.. unmapped
    assert!(map.fetch_u16(0x80).is_err());
    let mut buf = [0; 3];
    assert!(map.read_bytes(0x102, &mut buf).is_err());
    let seen = rec.0.lock().unwrap().clone();
    let want = [
        (0x100, 8, 0x104, Access::Write),
        (0x80, 2, 0x80, Access::Fetch),
        (0x102, 3, 0x104, Access::Read),
    ];
    let got: Vec<_> = seen
        .iter()
        .map(|m| (m.addr, m.len, m.hole, m.access))
        .collect();
    assert_eq!(got, want);
    // Other refusals never reach the handler.
    map.protect(0x100..=0x103, Perms::READ).unwrap();
    assert_eq!(
        map.write_u8(0x100, 1).unwrap_err().kind(),
        ErrorKind::Permission {
            needed: Perms::WRITE
        }
    );
    assert_eq!(rec.0.lock().unwrap().len(), 3);
}

/// Adds its device itself through the map it holds, then asks for a retry.
struct AddsItself {
    map: OnceLock<&'static MemoryMap<'static, 4>>,
    dev: &'static Counting,
}

impl UnmappedHandler<'static> for AddsItself {
    fn unmapped(&'static self, miss: Miss) -> Demand<'static> {
        let Some(map) = self.map.get() else {
            return Demand::Refuse;
        };
        match map.add_mmio("dev", miss.hole & !0xff, 0x100, Perms::RW, self.dev) {
            Ok(()) => Demand::Retry,
            Err(_) => Demand::Refuse,
        }
    }
}

#[test]
fn a_handler_may_change_the_map_itself_and_ask_for_a_retry() {
    static DEV: Counting = Counting::new();
    static MAP: MemoryMap<'static, 4> = MemoryMap::new();
    static H: OnceLock<AddsItself> = OnceLock::new();
    let h = H.get_or_init(|| AddsItself {
        map: OnceLock::new(),
        dev: &DEV,
    });
    let _ = h.map.set(&MAP);
    MAP.set_unmapped_handler(Some(h)).unwrap();
    assert_eq!(MAP.read_u32(0x4000_0010).unwrap(), 0x10);
    assert_eq!(DEV.accesses(), 1);
}

#[test]
fn threads_racing_on_one_hole_all_succeed_against_one_region() {
    let threads = if cfg!(miri) { 2 } else { 4 };
    let rounds = if cfg!(miri) { 2 } else { 50 };
    for _ in 0..rounds {
        let ram = Mem::new();
        let h = MapRam::new(&ram);
        let map: MemoryMap<'_, 4> = MemoryMap::new();
        map.set_unmapped_handler(Some(&h)).unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let map = &map;
                s.spawn(move || {
                    // Each thread writes its own word of the same hole,
                    // then reads it back: never a partial region.
                    let addr = 0x1100 + 8 * t as u64;
                    map.write_u64(addr, t as u64 + 1).unwrap();
                    assert_eq!(map.read_u64(addr).unwrap(), t as u64 + 1);
                    let r = map.region_at(addr).unwrap();
                    assert_eq!((r.base(), r.len()), (0x1100, 128));
                });
            }
        });
        assert_eq!(map.regions().len(), 1);
        let calls = h.calls();
        assert!((1..=threads).contains(&calls), "{calls} calls");
        for t in 0..threads {
            assert_eq!(ram.read_u64(8 * t).unwrap(), t as u64 + 1);
        }
    }
}

#[test]
fn an_observer_sees_the_hole_or_the_whole_region() {
    let rounds = if cfg!(miri) { 2 } else { 50 };
    for _ in 0..rounds {
        let ram = Mem::new();
        ram.fill(0, 128, 0xab).unwrap();
        let h = MapRam::new(&ram);
        let map: MemoryMap<'_, 4> = MemoryMap::new();
        std::thread::scope(|s| {
            let map = &map;
            s.spawn(move || {
                // No handler on this side's view of time: each read finds
                // the hole or the region, whole (its first and last byte).
                for _ in 0..if cfg!(miri) { 3 } else { 200 } {
                    let first = map.read_u8(0x1000);
                    let last = map.read_u8(0x107f);
                    if let Ok(v) = first {
                        assert_eq!(v, 0xab);
                        assert_eq!(last.unwrap(), 0xab); // added whole
                    }
                }
            });
            map.set_unmapped_handler(Some(&h)).unwrap();
            assert_eq!(map.read_u8(0x1040).unwrap(), 0xab);
        });
    }
}

#[test]
fn handlers_set_from_two_threads_leave_one_of_them_installed() {
    let ram = Mem::new();
    let hs: Vec<MapRam<'_>> = (0..2).map(|_| MapRam::new(&ram)).collect();
    // A handler is known by its whole reference, vtable included, and Rust
    // may give one type a vtable per codegen unit: make each `&dyn` once.
    let dyns: Vec<&dyn UnmappedHandler<'_>> = hs.iter().map(|h| h as _).collect();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    std::thread::scope(|s| {
        for &h in &dyns {
            let map = &map;
            s.spawn(move || map.set_unmapped_handler(Some(h)).unwrap());
        }
    });
    map.read_u8(0x1000).unwrap();
    let calls: Vec<_> = hs.iter().map(|h| h.calls()).collect();
    assert_eq!(calls.iter().sum::<usize>(), 1, "{calls:?}");
    // Slots are written once: distinct handlers beyond HANDLER_SLOTS fail.
    let more: Vec<MapRam<'_>> = (0..vm_mem::HANDLER_SLOTS)
        .map(|_| MapRam::new(&ram))
        .collect();
    let results: Vec<_> = more
        .iter()
        .map(|h| map.set_unmapped_handler(Some(h)).is_ok())
        .collect();
    assert_eq!(
        results.iter().filter(|ok| **ok).count(),
        vm_mem::HANDLER_SLOTS - 2
    );
    map.set_unmapped_handler(Some(dyns[0])).unwrap(); // seen before: fine
}

#[test]
fn a_cursor_miss_reaches_the_handler_too() {
    let ram = Mem::new();
    let h = MapRam::new(&ram);
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.set_unmapped_handler(Some(&h)).unwrap();
    let cpu = map.cpu();
    cpu.write_u32(0x1204, 7).unwrap();
    assert_eq!(cpu.read_u32(0x1204).unwrap(), 7);
    assert_eq!((h.calls(), ram.read_u32(4).unwrap()), (1, 7));
}

#[test]
fn an_owner_map_miss_reaches_the_handler_too() {
    let ram = Mem::new();
    let h = MapRam::new(&ram);
    let mut own = ShardedMemory::<1, 64>::new();
    {
        let map: vm_mem::OwnerMap<'_, 4> = vm_mem::OwnerMap::new();
        map.add_ram("own", 0x4000, 64, Perms::RW, &mut own).unwrap();
        map.set_unmapped_handler(Some(&h)).unwrap();
        map.write_u32(0x1304, 9).unwrap(); // a hole: mapped on demand, retried
        assert_eq!(map.read_u32(0x1304).unwrap(), 9);
        map.write_u32(0x4000, 5).unwrap(); // the lent memory: plain stores
        assert_eq!(map.read_u32(0x4000).unwrap(), 5);
        let err = map.read_u8(0x9000).unwrap_err(); // refused: still unmapped
        assert_eq!(err.kind(), ErrorKind::Unmapped);
        assert_eq!((h.calls(), ram.read_u32(4).unwrap()), (2, 9));
    } // the map's borrow of `own` ends here
    assert_eq!(own.read_u32(0).unwrap(), 5);
}
