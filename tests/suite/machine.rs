//! Machine snapshots ([`MachineSnapshot`]): the map's table, registered
//! memories of two geometries and opted-in devices come back after a run
//! of writes, permission changes, remaps, hook changes and device
//! operations; restore pays for what changed; devices that do not opt in
//! are left alone. Property test: random runs, then restore, then the
//! machine equals the snapshot (checked by `diff` and independently).

use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use vm_mem::{
    AccessHook, DeviceState, Difference, MachineError, MachineSnapshot, MemoryMap, MmioDevice,
    Perms, ShardedMemory, Snapshot, VmError,
};

use crate::support::counting;
use counting::Counting;

type MemA = ShardedMemory<8, 64>;
type MemB = ShardedMemory<4, 128>;

/// A UART: a receive FIFO of 8 bytes the host fills and the guest pops
/// (read at 0), a transmit counter (write at 4).
#[derive(Default)]
struct Uart {
    inner: Mutex<UartRegs>,
    dirty: AtomicBool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct UartRegs {
    fifo: [u8; 8],
    head: u8,
    len: u8,
    tx: u32,
}

impl Uart {
    fn push(&self, b: u8) {
        let mut r = self.inner.lock().unwrap();
        if r.len < 8 {
            let at = (r.head + r.len) % 8;
            r.fifo[at as usize] = b;
            r.len += 1;
            self.dirty.store(true, Ordering::Relaxed);
        }
    }
    fn regs(&self) -> UartRegs {
        *self.inner.lock().unwrap()
    }
}

impl MmioDevice for Uart {
    fn read(&self, off: u64, _: usize) -> Result<u64, VmError> {
        let mut r = self.inner.lock().unwrap();
        if off != 0 || r.len == 0 {
            return Ok(0);
        }
        let b = r.fifo[r.head as usize];
        r.head = (r.head + 1) % 8;
        r.len -= 1;
        self.dirty.store(true, Ordering::Relaxed);
        Ok(b.into())
    }
    fn write(&self, off: u64, _: usize, _: u64) -> Result<(), VmError> {
        if off == 4 {
            self.inner.lock().unwrap().tx += 1;
            self.dirty.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}

impl DeviceState for Uart {
    fn state_len(&self) -> usize {
        14
    }
    fn save(&self, out: &mut [u8]) -> usize {
        let r = self.regs();
        out[..8].copy_from_slice(&r.fifo);
        out[8] = r.head;
        out[9] = r.len;
        out[10..14].copy_from_slice(&r.tx.to_le_bytes());
        14
    }
    fn restore(&self, from: &[u8]) {
        let mut r = self.inner.lock().unwrap();
        r.fifo.copy_from_slice(&from[..8]);
        r.head = from[8];
        r.len = from[9];
        r.tx = u32::from_le_bytes(from[10..14].try_into().unwrap());
        self.dirty.store(false, Ordering::Relaxed);
    }
    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }
    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// A timer: a counter (read/write at 0) that `tick` advances.
#[derive(Default)]
struct Timer {
    count: AtomicU64,
    dirty: AtomicBool,
    restores: AtomicUsize,
}

impl Timer {
    fn tick(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
    }
}

impl MmioDevice for Timer {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(self.count.load(Ordering::Relaxed))
    }
    fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
        self.count.store(v, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }
    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}

impl DeviceState for Timer {
    fn state_len(&self) -> usize {
        8
    }
    fn save(&self, out: &mut [u8]) -> usize {
        out[..8].copy_from_slice(&self.count.load(Ordering::Relaxed).to_le_bytes());
        8
    }
    fn restore(&self, from: &[u8]) {
        let v = u64::from_le_bytes(from[..8].try_into().unwrap());
        self.count.store(v, Ordering::Relaxed);
        self.dirty.store(false, Ordering::Relaxed);
        self.restores.fetch_add(1, Ordering::Relaxed);
    }
    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }
    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// A read hook that counts its calls.
#[derive(Default)]
struct Count(AtomicUsize);

impl AccessHook for Count {
    fn read(&self, _: u64, _: &mut [u8]) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

const NAMES: [&str; 6] = ["rom", "ram_a", "ram_b", "uart", "timer", "plain"];
const BASES: [u64; 6] = [0, 0x1000, 0x2000, 0x4000_0000, 0x4000_1000, 0x4000_2000];

/// The machine's parts, owned by the test.
#[derive(Default)]
struct Parts {
    rom: MemA,
    a: MemA,
    b: MemB,
    uart: Uart,
    timer: Timer,
    /// A device without snapshot support.
    plain: Counting,
    hook: Count,
    run_hook: Count,
}

fn build<'a>(p: &'a Parts, rom: &'a vm_mem::Frozen<'a, 8, 64>, map: &MemoryMap<'a, 12>) {
    map.add_rom("rom", BASES[0], 512, Perms::RX, rom).unwrap();
    map.add_ram("ram_a", BASES[1], 512, Perms::RW, &p.a)
        .unwrap();
    map.add_ram("ram_b", BASES[2], 512, Perms::RW, &p.b)
        .unwrap();
    map.add_mmio("uart", BASES[3], 8, Perms::RW, &p.uart)
        .unwrap();
    map.add_mmio("timer", BASES[4], 8, Perms::RW, &p.timer)
        .unwrap();
    map.add_mmio("plain", BASES[5], 4, Perms::RW, &p.plain)
        .unwrap();
    map.watch(0x1000..=0x100f, Perms::READ, &p.hook).unwrap();
}

type Snap<'a, 's> = MachineSnapshot<'a, 's, 12, 2, 4, 64>;

/// Builds the machine over `p` and its frozen `rom`, registers both
/// memories in a machine snapshot (not taken yet) and runs `f` on them:
/// the set-up every snapshot test starts from.
fn with_machine<'a, R>(
    p: &'a Parts,
    rom: &'a vm_mem::Frozen<'a, 8, 64>,
    f: impl FnOnce(&MemoryMap<'a, 12>, &mut Snap<'a, '_>) -> R,
) -> R {
    let map = MemoryMap::new();
    build(p, rom, &map);
    let (mut sa, mut sb) = (Snapshot::new(), Snapshot::new());
    let mut snap = Snap::new_sized();
    snap.add_memory(&p.a, &mut sa).unwrap();
    snap.add_memory(&p.b, &mut sb).unwrap();
    f(&map, &mut snap)
}

/// The regions as plain values: name, base, len, perms.
fn table<'a>(map: &MemoryMap<'a, 12>) -> Vec<(&'a str, u64, u64, Perms)> {
    map.regions()
        .iter()
        .map(|r| (r.name(), r.base(), r.len(), r.perms()))
        .collect()
}

fn bytes(p: &Parts) -> (Vec<u8>, Vec<u8>) {
    let (mut a, mut b) = (vec![0; MemA::SIZE], vec![0; MemB::SIZE]);
    p.a.read_bytes(0, &mut a).unwrap();
    p.b.read_bytes(0, &mut b).unwrap();
    (a, b)
}

#[test]
fn restore_brings_back_memory_map_and_devices() {
    let p = Parts::default();
    p.rom.write_u32(0, 0xe7fe_e7fe).unwrap();
    let rom = p.rom.freeze();
    with_machine(&p, &rom, |map, snap| {
        p.uart.push(b'x');
        map.write_u32(0x1010, 5).unwrap();
        map.snapshot(snap).unwrap();
        let (t0, m0, u0) = (table(map), bytes(&p), p.uart.regs());

        // The run: writes in both memories (three shards), a permission
        // change, a remap, a hook removed and another added, both devices.
        map.write_u64(0x1100, 1).unwrap();
        map.write_u8(0x1010, 9).unwrap();
        map.write_u32(0x2000, 2).unwrap();
        map.protect(0x1000..=0x10ff, Perms::READ).unwrap();
        map.move_region("ram_b", 0x8000).unwrap();
        map.remove("plain").unwrap();
        map.watch(0x8000..=0x8003, Perms::READ, &p.run_hook)
            .unwrap();
        assert_eq!(map.read_u8(0x4000_0000).unwrap(), u64::from(b'x') as u8);
        map.write_u32(0x4000_0004, 1).unwrap();
        p.timer.tick();
        assert_ne!(snap.diff(map, &mut [0; 64]).unwrap(), None);

        let done = map.restore(snap).unwrap();
        assert_eq!((done.table, done.shards, done.devices), (true, 3, 2));
        assert_eq!(table(map), t0);
        assert_eq!(bytes(&p), m0);
        assert_eq!(p.uart.regs(), u0);
        assert_eq!(p.timer.count.load(Ordering::Relaxed), 0);
        assert_eq!(snap.diff(map, &mut [0; 64]).unwrap(), None);
        // Hooks came back: the snapshot's one runs, the run's one is gone.
        let before = p.hook.0.load(Ordering::Relaxed);
        map.read_u8(0x1000).unwrap();
        assert_eq!(p.hook.0.load(Ordering::Relaxed), before + 1);
        map.read_u8(0x2000).unwrap();
        assert_eq!(p.run_hook.0.load(Ordering::Relaxed), 0);
        assert_eq!(map.read_u32(0).unwrap(), 0xe7fe_e7fe);
    });
}

#[test]
fn restore_after_an_idle_run_copies_nothing() {
    let p = Parts::default();
    let rom = p.rom.freeze();
    with_machine(&p, &rom, |map, snap| {
        assert_eq!(map.restore(snap).unwrap_err(), MachineError::NotTaken);
        map.snapshot(snap).unwrap();
        let done = map.restore(snap).unwrap();
        assert_eq!((done.table, done.shards, done.devices), (false, 0, 0));
        // Reads change nothing; one timer tick restores one device.
        map.read_u64(0x1000).unwrap();
        p.timer.tick();
        let done = map.restore(snap).unwrap();
        assert_eq!((done.table, done.shards, done.devices), (false, 0, 1));
        assert_eq!(p.timer.restores.load(Ordering::Relaxed), 1);
        // A change undone by hand still moved the version: the table is
        // republished (correct, if not free).
        map.protect(0x1000..=0x1000, Perms::READ).unwrap();
        map.protect(0x1000..=0x1000, Perms::RW).unwrap();
        assert!(map.restore(snap).unwrap().table);
        assert!(!map.restore(snap).unwrap().table);
    });
}

#[test]
fn devices_without_state_are_left_alone() {
    let p = Parts::default();
    let rom = p.rom.freeze();
    with_machine(&p, &rom, |map, snap| {
        map.snapshot(snap).unwrap();
        map.write_u32(0x4000_2000, 1).unwrap();
        map.write_u32(0x4000_2000, 1).unwrap();
        map.restore(snap).unwrap();
        assert_eq!(p.plain.accesses(), 2);
        assert!(snap.device_state("plain").is_none());
        assert_eq!(snap.device_state("timer"), Some(&[0u8; 8][..]));
    });
}

#[test]
fn capture_refuses_what_it_cannot_restore() {
    let p = Parts::default();
    let rom = p.rom.freeze();
    let map = MemoryMap::new();
    build(&p, &rom, &map);
    let (mut sa, mut sa2, mut sb) = (Snapshot::new(), Snapshot::new(), Snapshot::new());
    let mut snap = Snap::new_sized();
    snap.add_memory(&p.a, &mut sa).unwrap();
    assert_eq!(
        map.snapshot(&mut snap).unwrap_err(),
        MachineError::Unregistered {
            region: "ram_b".into()
        }
    );
    assert!(!snap.is_taken());
    assert_eq!(
        snap.add_memory(&p.a, &mut sa2).unwrap_err(),
        MachineError::DuplicateMemory
    );
    snap.add_memory(&p.b, &mut sb).unwrap();
    // 14 + 8 bytes of device state do not fit 16.
    let (mut sa3, mut sb3) = (Snapshot::new(), Snapshot::new());
    let mut small = MachineSnapshot::<'_, '_, 12, 2, 4, 16>::new_sized();
    small.add_memory(&p.a, &mut sa3).unwrap();
    small.add_memory(&p.b, &mut sb3).unwrap();
    assert_eq!(
        map.snapshot(&mut small).unwrap_err(),
        MachineError::StateFull {
            device: "timer".into(),
            needed: 8
        }
    );
    map.snapshot(&mut snap).unwrap();
    assert!(matches!(
        snap.diff(&map, &mut [0; 4]),
        Err(MachineError::StateFull { .. })
    ));
}

#[test]
fn hook_ids_are_never_handed_out_again_after_a_restore() {
    let p = Parts::default();
    let rom = p.rom.freeze();
    with_machine(&p, &rom, |map, snap| {
        map.snapshot(snap).unwrap();
        let id = map.watch(0..=1, Perms::READ, &p.run_hook).unwrap();
        map.restore(snap).unwrap();
        let again = map.watch(0..=1, Perms::READ, &p.run_hook).unwrap();
        assert_ne!(id, again);
        assert!(map.unwatch(id).is_err());
    });
}

#[derive(Clone, Debug)]
enum Op {
    Write(bool, u16, u64),
    Poke(bool, u16, u8),
    Protect(usize, u16, u16, u8),
    Move(usize, u8),
    Remove(usize),
    Watch(u16),
    UartPush(u8),
    UartRead,
    UartSend,
    Tick,
    TimerSet(u64),
    Restore,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0..512u16, any::<u64>()).prop_map(|(b, o, v)| Op::Write(b, o, v)),
        2 => (any::<bool>(), 0..512u16, any::<u8>()).prop_map(|(b, o, v)| Op::Poke(b, o, v)),
        2 => (0..6usize, 0..512u16, 0..64u16, 0..8u8).prop_map(|(r, a, l, p)| Op::Protect(r, a, l, p)),
        1 => (0..6usize, 0..16u8).prop_map(|(r, b)| Op::Move(r, b)),
        1 => (0..6usize).prop_map(Op::Remove),
        1 => (0..512u16).prop_map(Op::Watch),
        2 => any::<u8>().prop_map(Op::UartPush),
        1 => Just(Op::UartRead),
        1 => Just(Op::UartSend),
        1 => Just(Op::Tick),
        1 => any::<u64>().prop_map(Op::TimerSet),
        1 => Just(Op::Restore),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 128 },
        failure_persistence: if cfg!(miri) {
            None
        } else {
            ProptestConfig::default().failure_persistence
        },
        ..ProptestConfig::default()
    }
}

/// Runs `op` on the machine; refusals (a moved or protected region, a
/// full table) are part of the run, not failures.
fn run<'a>(p: &'a Parts, map: &MemoryMap<'a, 12>, op: &Op) {
    let ram = |b: bool| if b { BASES[2] } else { BASES[1] };
    match *op {
        Op::Write(b, off, v) => {
            let _ = map.write_u64(ram(b) + u64::from(off), v);
        }
        Op::Poke(false, off, v) => p.a.write_u8(usize::from(off), v).unwrap(),
        Op::Poke(true, off, v) => p.b.write_u8(usize::from(off), v).unwrap(),
        Op::Protect(r, a, l, perms) => {
            let first = BASES[r] + u64::from(a);
            let perms = Perms::from_bits_truncate(perms);
            let _ = map.protect(first..=first + u64::from(l), perms);
        }
        Op::Move(r, b) => {
            let _ = map.move_region(NAMES[r], 0x10_0000 + u64::from(b) * 0x1000);
        }
        Op::Remove(r) => {
            let _ = map.remove(NAMES[r]);
        }
        Op::Watch(off) => {
            let _ = map.watch(
                BASES[1] + u64::from(off)..=BASES[1] + u64::from(off) + 3,
                Perms::READ,
                &p.run_hook,
            );
        }
        Op::UartPush(b) => p.uart.push(b),
        Op::UartRead => {
            let _ = map.read_u8(BASES[3]);
        }
        Op::UartSend => {
            let _ = map.write_u8(BASES[3] + 4, 1);
        }
        Op::Tick => p.timer.tick(),
        Op::TimerSet(v) => {
            let _ = map.write_u64(BASES[4], v);
        }
        Op::Restore => {}
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_runs_restore_to_the_snapshot(
        setup in prop::collection::vec(op(), 0..12),
        runs in prop::collection::vec(prop::collection::vec(op(), 0..30), 1..4),
    ) {
        let p = Parts::default();
        let rom = p.rom.freeze();
        with_machine(&p, &rom, |map, snap| {
            // The snapshot is taken after a random setup, so it may hold a
            // protected or moved table and non-zero memory and devices.
            for op in setup.iter().filter(|o| !matches!(o, Op::Remove(_) | Op::Restore)) {
                run(&p, map, op);
            }
            map.snapshot(snap).unwrap();
            let (t0, m0, u0) = (table(map), bytes(&p), p.uart.regs());
            let c0 = p.timer.count.load(Ordering::Relaxed);
            let plain = || p.plain.accesses();
            for ops in &runs {
                for op in ops {
                    if matches!(op, Op::Restore) {
                        map.restore(snap).unwrap();
                    } else {
                        run(&p, map, op);
                    }
                }
                let plain_before = plain();
                let done = map.restore(snap).unwrap();
                prop_assert!(done.shards <= MemA::SHARDS + MemB::SHARDS);
                prop_assert_eq!(snap.diff(map, &mut [0; 64]).unwrap(), None);
                prop_assert_eq!(table(map), t0.clone());
                prop_assert_eq!(bytes(&p), m0.clone());
                prop_assert_eq!(p.uart.regs(), u0);
                prop_assert_eq!(p.timer.count.load(Ordering::Relaxed), c0);
                prop_assert_eq!(plain(), plain_before); // left alone
                // A second restore finds nothing to do.
                let again = map.restore(snap).unwrap();
                prop_assert_eq!((again.table, again.shards, again.devices), (false, 0, 0));
            }
            // And diff tells a change apart.
            p.a.write_u8(3, !m0.0[3]).unwrap();
            prop_assert_eq!(
                snap.diff(map, &mut [0; 64]).unwrap(),
                Some(Difference::Memory { memory: 0, shard: 0 })
            );
            Ok(())
        })?;
    }
}

#[test]
fn a_machine_snapshot_lives_in_statics() {
    use static_cell::{ConstStaticCell, StaticCell};
    type S = MachineSnapshot<'static, 'static, 4, 1, 2, 16>;
    static RAM: ShardedMemory<4, 256> = ShardedMemory::new();
    static RAM_SNAP: ConstStaticCell<Snapshot<4, 256>> = ConstStaticCell::new(Snapshot::new());
    static MAP: MemoryMap<'static, 4> = MemoryMap::new();
    static SNAP: ConstStaticCell<S> = ConstStaticCell::new(MachineSnapshot::new_sized());
    static TIMER: StaticCell<Timer> = StaticCell::new();
    let timer: &'static Timer = TIMER.init(Timer::default());
    let snap = SNAP.take();
    snap.add_memory(&RAM, RAM_SNAP.take()).unwrap();
    MAP.add_ram("ram", 0, 1024, Perms::RW, &RAM).unwrap();
    MAP.add_mmio("timer", 0x1000, 8, Perms::RW, timer).unwrap();
    MAP.snapshot(snap).unwrap();
    MAP.write_u32(0x300, 1).unwrap();
    MAP.write_u64(0x1000, 9).unwrap();
    let done = MAP.restore(snap).unwrap();
    assert_eq!((done.table, done.shards, done.devices), (false, 1, 1));
    assert_eq!(MAP.read_u64(0x300).unwrap(), 0);
    assert_eq!(timer.count.load(Ordering::Relaxed), 0);
}
