//! An owner map's cache hits check no table version: these tests change
//! the table from every place user code runs inside an owner map's call
//! (a device's read on a miss and on a cached hit, a watch hook, the
//! unmapped handler, a panic after the change, a guest atomic's closure),
//! reaching the `!Sync` map through a `thread_local`, and check that no
//! later access uses what the change replaced.
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use vm_mem::*;

type Mem = ShardedMemory<4, 4096>;
type OM = OwnerMap<'static, 4>;

thread_local! {
    static MAP: Cell<Option<&'static OM>> = const { Cell::new(None) };
}
fn map() -> &'static OM {
    MAP.with(|m| m.get().unwrap())
}

/// A Sync device that reaches the !Sync owner map through a thread_local.
struct Evil;
impl MmioDevice for Evil {
    fn read(&self, off: u64, _: usize) -> Result<u64, VmError> {
        let m = map();
        match off {
            0 => m
                .protect(0x8000_0000..=0x8000_3fff, Perms::READ)
                .map(|_| ())
                .unwrap(),
            8 => m.move_region("ram", 0x9000_0000).unwrap(),
            16 => m.remove("ram").unwrap(),
            24 => {
                m.protect(0x8000_0000..=0x8000_3fff, Perms::NONE).unwrap();
                panic!("boom")
            }
            // warm the cache from inside the callback, then change it
            32 => {
                m.write_u32(0x8000_0000, 5).unwrap();
                m.protect(0x8000_0000..=0x8000_3fff, Perms::READ).unwrap();
            }
            _ => {}
        }
        Ok(0)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        Ok(())
    }
}

struct EvilHook;
impl AccessHook for EvilHook {
    fn read(&self, _: u64, _: &mut [u8]) {
        map().remove("ram").unwrap();
    }
}

struct EvilHandler;
impl<'a> UnmappedHandler<'a> for EvilHandler {
    fn unmapped(&'a self, _: Miss) -> Demand<'a> {
        map()
            .protect(0x8000_0000..=0x8000_3fff, Perms::READ)
            .unwrap();
        Demand::Refuse
    }
}

fn setup() -> &'static OM {
    let ram: &'static mut Mem = Box::leak(Box::new(Mem::new()));
    let m: &'static OM = Box::leak(Box::new(OM::new()));
    MAP.with(|c| c.set(Some(m)));
    m.add_ram("ram", 0x8000_0000, 0x4000, Perms::RW, ram)
        .unwrap();
    m.add_mmio("dev", 0x1000_0000, 0x100, Perms::RW, &Evil)
        .unwrap();
    // warm every page of ram for read and write
    for p in 0..4 {
        m.write_u32(0x8000_0000 + p * 0x1000, 1).unwrap();
        m.read_u32(0x8000_0000 + p * 0x1000).unwrap();
    }
    m
}

#[test]
fn device_changes_map_during_miss_and_hit() {
    let m = setup();
    m.read_u32(0x1000_0000).unwrap(); // miss path -> device -> protect
    assert!(
        m.write_u32(0x8000_0000, 2).is_err(),
        "stale write tag after protect"
    );
    assert_eq!(m.read_u32(0x8000_0000).unwrap(), 1);
    m.read_u32(0x1000_0008).unwrap(); // hit path (dev page cached) -> move
    assert!(m.read_u32(0x8000_0000).is_err(), "stale read after move");
    assert_eq!(m.read_u32(0x9000_0000).unwrap(), 1);
    m.read_u32(0x1000_0010).unwrap(); // remove
    assert!(m.read_u32(0x9000_0000).is_err(), "stale read after remove");
}

#[test]
fn device_warms_then_changes_inside_callback() {
    let m = setup();
    m.read_u32(0x1000_0020).unwrap();
    assert!(m.write_u32(0x8000_0000, 2).is_err());
    assert_eq!(m.read_u32(0x8000_0000).unwrap(), 5);
}

#[test]
fn panic_mid_callback_after_change() {
    let m = setup();
    m.read_u32(0x1000_0000 + 40).unwrap(); // cache dev page
    let r = catch_unwind(AssertUnwindSafe(|| m.read_u32(0x1000_0018)));
    assert!(r.is_err());
    assert!(
        m.read_u32(0x8000_0000).is_err(),
        "stale read after protect+panic"
    );
    assert!(m.write_u32(0x8000_0000, 3).is_err());
}

#[test]
fn hook_removes_region() {
    let m = setup();
    let rom = Box::leak(Box::new(ShardedMemory::<1, 4096>::new()));
    let rom: &'static Frozen<'static, 1, 4096> = Box::leak(Box::new(rom.freeze()));
    m.add_rom("rom", 0x2000_0000, 0x1000, Perms::READ, rom)
        .unwrap();
    m.watch(0x2000_0000..=0x2000_0000, Perms::READ, &EvilHook)
        .unwrap();
    m.read_u8(0x2000_0000).unwrap();
    assert!(
        m.read_u32(0x8000_0000).is_err(),
        "stale read after hook removed ram"
    );
    assert!(m.write_u32(0x8000_1000, 3).is_err());
}

#[test]
fn handler_protects_during_miss() {
    let m = setup();
    m.set_unmapped_handler(Some(&EvilHandler)).unwrap();
    assert!(m.read_u32(0x5000_0000).is_err());
    assert!(
        m.write_u32(0x8000_0000, 3).is_err(),
        "stale write after handler protect"
    );
    let mut b = [0u8; 4];
    m.set_unmapped_handler(None).unwrap();
    m.read_bytes(0x8000_0000, &mut b).unwrap();
}

#[test]
fn fetch_update_closure_reenters() {
    // The closure removes the region: the in-flight atomic still finishes
    // (its store lands in the memory, as the map's rule for an access that
    // began before a change), and later accesses see the removal.
    let mut ram = Mem::new();
    {
        let m: OwnerMap<'_, 4> = OwnerMap::new();
        m.add_ram("ram", 0x8000_0000, 0x4000, Perms::RW, &mut ram)
            .unwrap();
        m.write_u32(0x8000_0000, 1).unwrap();
        let old = m.fetch_update::<u32>(0x8000_0000, |o| {
            m.remove("ram").unwrap();
            assert!(m.write_u32(0x8000_0000, 9).is_err());
            Some(o + 1)
        });
        assert_eq!(old.unwrap(), 1);
        assert!(m.read_u32(0x8000_0000).is_err());
    }
    assert_eq!(ram.read_u32(0).unwrap(), 2);
}
