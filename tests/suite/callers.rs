//! Callback context (issue 27): devices and hooks are told the access kind
//! and the vCPU ([`Caller`]) on every path a typed access can take: a
//! cursor's hit-free device path, its miss through the table, the map's
//! general path (a hooked region), a guest atomic's two halves, bulk
//! copies; and an owner map or the map itself name no vCPU.

use std::sync::{Arc, Mutex};
use vm_mem::{
    Access, AccessHook, Caller, MemoryAccess, MemoryMap, MmioDevice, OwnerMap, Perms,
    ShardedMemory, VmError, WriteData,
};

/// Records every call a device gets, with its caller.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Caller, &'static str, u64, usize)>>);

impl Recorder {
    fn take(&self) -> Vec<(Caller, &'static str, u64, usize)> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl MmioDevice for Recorder {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        panic!("the map calls read_by")
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        panic!("the map calls write_by")
    }
    fn read_by(&self, by: Caller, offset: u64, size: usize) -> Result<u64, VmError> {
        self.0.lock().unwrap().push((by, "read", offset, size));
        Ok(0x1122_3344_5566_7788)
    }
    fn write_by(&self, by: Caller, offset: u64, size: usize, _: u64) -> Result<(), VmError> {
        self.0.lock().unwrap().push((by, "write", offset, size));
        Ok(())
    }
}

/// Records every hook call with its caller.
#[derive(Default)]
struct HookLog(Mutex<Vec<(Caller, &'static str, u64)>>);

impl HookLog {
    fn take(&self) -> Vec<(Caller, &'static str, u64)> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl AccessHook for HookLog {
    fn read_by(&self, by: Caller, addr: u64, _: &mut [u8]) {
        self.0.lock().unwrap().push((by, "read", addr));
    }
    fn write_by(&self, by: Caller, addr: u64, _: WriteData<'_>) -> bool {
        self.0.lock().unwrap().push((by, "write", addr));
        true
    }
    fn write_value_by(&self, by: Caller, addr: u64, _: &mut [u8]) -> bool {
        self.0.lock().unwrap().push((by, "write_value", addr));
        true
    }
}

const DEV: u64 = 0x4000_0000;
const RAM: u64 = 0x1000;

fn read(access: Access) -> Caller {
    Caller::new(access)
}

#[test]
fn cursors_are_numbered_in_order_and_may_be_renumbered() {
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    let ids: Vec<u32> = (0..4).map(|_| map.cpu().id()).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(map.cpu_per_step().id(), 4);
    let shared = Arc::new(MemoryMap::<'static, 2>::new());
    let c = vm_mem::Cursor::<'_, '_, 2, 16, _>::new(Arc::clone(&shared));
    assert_eq!(c.id(), 0, "each map counts its own cursors");
    assert_eq!(map.cpu().with_id(0x8000_0001).id(), 0x8000_0001);
}

#[test]
fn a_device_is_told_the_kind_and_the_cursor_on_every_typed_path() {
    let dev = Recorder::default();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_mmio("dev", DEV, 0x100, Perms::RWX, &dev).unwrap();
    let (c0, c1) = (map.cpu(), map.cpu().with_id(9));
    // Miss, then the cached region's device path.
    for _ in 0..2 {
        assert_eq!(c1.read_u32(DEV + 4).unwrap(), 0x5566_7788);
        c0.write_u16(DEV + 8, 1).unwrap();
        c1.fetch_u16(DEV + 0x10).unwrap();
    }
    let by9 = |a| read(a).on_cpu(9);
    let by0 = |a| read(a).on_cpu(0);
    assert_eq!(
        dev.take(),
        [
            (by9(Access::Read), "read", 4, 4),
            (by0(Access::Write), "write", 8, 2),
            (by9(Access::Fetch), "read", 0x10, 2),
            (by9(Access::Read), "read", 4, 4),
            (by0(Access::Write), "write", 8, 2),
            (by9(Access::Fetch), "read", 0x10, 2),
        ]
    );
    // The map itself names no vCPU, on its inline path too.
    names_no_vcpu(&mut &map, &dev);
}

/// A read, a write and a fetch of the device at `DEV` through `m`, each
/// told to the device with its kind and no vCPU.
fn names_no_vcpu(m: &mut impl MemoryAccess, dev: &Recorder) {
    m.read_u32(DEV).unwrap();
    m.write_u8(DEV + 1, 0).unwrap();
    m.fetch_u16(DEV + 2).unwrap();
    assert_eq!(
        dev.take(),
        [
            (read(Access::Read), "read", 0, 4),
            (read(Access::Write), "write", 1, 1),
            (read(Access::Fetch), "read", 2, 2),
        ]
    );
}

#[test]
fn the_general_path_tells_devices_and_hooks_the_cursor() {
    let dev = Recorder::default();
    let (hooks, ram) = (HookLog::default(), ShardedMemory::<1, 256>::new());
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_mmio("dev", DEV, 0x100, Perms::RWX, &dev).unwrap();
    map.add_ram("ram", RAM, 256, Perms::RWX, &ram).unwrap();
    // Hooked: every access to these bytes takes the general path.
    map.watch(DEV..=DEV + 0xff, Perms::RWX, &hooks).unwrap();
    map.watch(RAM..=RAM + 0xff, Perms::RWX, &hooks).unwrap();
    let cpu = map.cpu().with_id(3);
    let by = |a| read(a).on_cpu(3);
    cpu.read_u32(DEV + 4).unwrap();
    cpu.write_u32(DEV + 4, 1).unwrap();
    assert_eq!(
        dev.take(),
        [
            (by(Access::Read), "read", 4, 4),
            (by(Access::Write), "write", 4, 4)
        ]
    );
    cpu.read_u16(RAM).unwrap();
    cpu.fetch_u32(RAM + 4).unwrap();
    cpu.write_u8(RAM + 8, 1).unwrap();
    // A u64 across the end of the RAM region's shard-sized page: still one
    // call per hook, on the general path.
    cpu.write_u64(RAM + 0xf8, 1).unwrap();
    assert_eq!(
        hooks.take(),
        [
            (by(Access::Read), "read", DEV + 4),
            (by(Access::Write), "write_value", DEV + 4),
            (by(Access::Read), "read", RAM),
            (by(Access::Fetch), "read", RAM + 4),
            (by(Access::Write), "write_value", RAM + 8),
            (by(Access::Write), "write_value", RAM + 0xf8),
        ]
    );
    // A cursor's guest atomics and bulk copies name it too (both halves of
    // an atomic say `Atomic`, a copy `Read` or `Write`); the map's name no
    // vCPU.
    cpu.fetch_add::<u32>(RAM + 0x10, 1).unwrap();
    map.fetch_add::<u32>(RAM + 0x10, 1).unwrap();
    cpu.write_bytes(RAM + 0x20, &[1, 2]).unwrap();
    cpu.fill(RAM + 0x28, 3, 7).unwrap();
    map.write_bytes(RAM + 0x20, &[1, 2]).unwrap();
    let mut buf = [0u8; 2];
    cpu.read_bytes(DEV + 0x30, &mut buf).unwrap();
    map.read_bytes(DEV + 0x30, &mut buf).unwrap();
    assert_eq!(
        hooks.take(),
        [
            (by(Access::Atomic), "read", RAM + 0x10),
            (by(Access::Atomic), "write_value", RAM + 0x10),
            (read(Access::Atomic), "read", RAM + 0x10),
            (read(Access::Atomic), "write_value", RAM + 0x10),
            (by(Access::Write), "write", RAM + 0x20),
            (by(Access::Write), "write", RAM + 0x28),
            (read(Access::Write), "write", RAM + 0x20),
            (by(Access::Read), "read", DEV + 0x30),
            (read(Access::Read), "read", DEV + 0x30),
        ]
    );
    assert_eq!(
        dev.take(),
        [
            (by(Access::Read), "read", 0x30, 2),
            (read(Access::Read), "read", 0x30, 2)
        ]
    );
    // Through `MemoryAccess`, a cursor is the same handle.
    let mut c = &cpu;
    vm_mem::MemoryAccess::write_bytes(&mut c, DEV + 0x40, &[9]).unwrap();
    assert_eq!(dev.take(), [(by(Access::Write), "write", 0x40, 1)]);
    hooks.take();
}

#[test]
fn an_owner_map_names_no_vcpu() {
    let dev = Recorder::default();
    let mut ram = ShardedMemory::<1, 256>::new();
    let mut owner: OwnerMap<'_, 2> = OwnerMap::new();
    owner.add_mmio("dev", DEV, 0x100, Perms::RWX, &dev).unwrap();
    owner
        .add_ram("ram", RAM, 256, Perms::RWX, &mut ram)
        .unwrap();
    names_no_vcpu(&mut owner, &dev);
}

#[test]
fn the_default_methods_forward_to_the_plain_ones() {
    /// Implements only the plain methods.
    struct Plain(Mutex<Vec<&'static str>>);
    impl MmioDevice for Plain {
        fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
            self.0.lock().unwrap().push("read");
            Ok(7)
        }
        fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
            self.0.lock().unwrap().push("write");
            Ok(())
        }
    }
    impl AccessHook for Plain {
        fn read(&self, _: u64, _: &mut [u8]) {
            self.0.lock().unwrap().push("hook read");
        }
        fn fetch(&self, _: u64, _: &mut [u8]) {
            self.0.lock().unwrap().push("hook fetch");
        }
        fn write(&self, _: u64, _: WriteData<'_>) -> bool {
            self.0.lock().unwrap().push("hook write");
            true
        }
    }
    let p = Plain(Mutex::new(Vec::new()));
    let by = Caller::new(Access::Fetch).on_cpu(1);
    assert_eq!(MmioDevice::read_by(&p, by, 0, 4).unwrap(), 7);
    MmioDevice::write_by(&p, by, 0, 4, 0).unwrap();
    AccessHook::read_by(&p, by, 0, &mut [0]);
    AccessHook::read_by(&p, Caller::new(Access::Atomic), 0, &mut [0]);
    assert!(AccessHook::write_by(&p, by, 0, WriteData::Bytes(&[0])));
    assert!(p.write_value_by(by, 0, &mut [0]));
    assert_eq!(
        *p.0.lock().unwrap(),
        [
            "read",
            "write",
            "hook fetch",
            "hook read",
            "hook write",
            "hook write"
        ]
    );
    assert_eq!(by.to_string(), "fetch by vCPU 1");
    assert_eq!(Caller::new(Access::Atomic).to_string(), "atomic");
}
