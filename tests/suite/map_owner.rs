//! The owner-mode map ([`OwnerMap`]) and a [`Cursor`] against the shared
//! map on the same
//! machine and the same random program: every access (all widths, RAM,
//! ROM, a device, holes, spanning regions), live change (move, protect,
//! watch, unwatch) and guest atomic gives the same result, and the
//! memories end with the same bytes and dirty marks.

use std::sync::atomic::{AtomicU64, Ordering};
use vm_mem::{
    AccessHook, Cursor, MemoryAccess, MemoryMap, MmioDevice, OwnerMap, Perms, ShardedMemory,
    VmError, WriteData,
};

type Mem = ShardedMemory<4, 64>;

/// Steps of the random program (Miri runs a few).
const STEPS: usize = if cfg!(miri) { 40 } else { 20_000 };

/// A device that remembers the last value written and counts calls.
struct Reg(AtomicU64, AtomicU64);
impl MmioDevice for Reg {
    fn read(&self, offset: u64, _size: usize) -> Result<u64, VmError> {
        self.1.fetch_add(1, Ordering::Relaxed);
        Ok(self.0.load(Ordering::Relaxed) ^ offset)
    }
    fn write(&self, offset: u64, _size: usize, value: u64) -> Result<(), VmError> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.store(value.wrapping_add(offset), Ordering::Relaxed);
        Ok(())
    }
}

/// A hook that counts and refuses writes of 0xff bytes.
struct Guard(AtomicU64);
impl AccessHook for Guard {
    fn read(&self, _addr: u64, data: &mut [u8]) {
        self.0.fetch_add(1, Ordering::Relaxed);
        data[0] ^= 0x5a;
    }
    fn write(&self, _addr: u64, data: WriteData<'_>) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed);
        data.get(0) != Some(0xff)
    }
}

/// One step of the program on either map.
trait Machine: MemoryAccess {
    fn set_perms(&self, range: std::ops::RangeInclusive<u64>, p: Perms) -> String;
    fn move_ram(&self, base: u64) -> String;
    fn add_u32(&self, addr: u64, v: u32) -> Result<u32, VmError>;
}

macro_rules! machine {
    ($ty:ty) => {
        impl Machine for $ty {
            fn set_perms(&self, range: std::ops::RangeInclusive<u64>, p: Perms) -> String {
                format!("{:?}", (*self).protect(range, p))
            }
            fn move_ram(&self, base: u64) -> String {
                format!("{:?}", (*self).move_region("ram", base))
            }
            fn add_u32(&self, addr: u64, v: u32) -> Result<u32, VmError> {
                (*self).fetch_add::<u32>(addr, v)
            }
        }
    };
}
machine!(&MemoryMap<'_, 8, 2>);
machine!(OwnerMap<'_, 8, 2>);
machine!(Cursor<'_, '_, 8, 2>);

/// The programs' random numbers: a 64-bit LCG's high bits.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.next() as usize % from.len()]
    }
}

/// One step of a random program.
enum Step {
    Read,
    Write(u64),
    Fetch16,
    Fetch32,
    Protect(std::ops::RangeInclusive<u64>, Perms),
    Move(u64),
    AtomicAdd,
    Bytes,
}

/// Runs `step` at `addr` (`size` bytes) on `m`; its result as text.
fn exec(m: &mut dyn Machine, step: Step, addr: u64, size: usize) -> String {
    match step {
        Step::Read => format!("{:?}", m.read_sized(addr, size)),
        Step::Write(v) => format!("{:?}", m.write_sized(addr, size, v)),
        Step::Fetch16 => format!("{:?}", m.fetch_u16(addr)),
        Step::Fetch32 => format!("{:?}", m.fetch_u32(addr)),
        Step::Protect(range, p) => m.set_perms(range, p),
        Step::Move(base) => m.move_ram(base),
        Step::AtomicAdd => format!("{:?}", m.add_u32(addr, 3)),
        Step::Bytes => {
            let mut buf = [0u8; 24];
            let r = m.read_bytes(addr, &mut buf);
            format!("{r:?} {buf:?}")
        }
    }
}

/// The permissions a program's protects pick from.
const PERMS: [Perms; 4] = [Perms::RW, Perms::READ, Perms::RWX, Perms::NONE];

/// Runs the program with seed `seed`, returning every result as text.
fn run(m: &mut dyn Machine, seed: u64) -> Vec<String> {
    let mut rng = Lcg(seed);
    let mut ram_base = 0x1000u64;
    (0..STEPS)
        .map(|_| {
            let op = rng.next() % 16;
            // Around the RAM (wherever it is), the ROM, the device, a hole.
            let area = rng.pick(&[ram_base, 0x8000, 0x9000, 0x5000]);
            let addr = area + rng.next() % 300 - 20;
            let size = rng.pick(&[1, 2, 4, 8]);
            let step = match op {
                0..=5 => Step::Read,
                6..=10 => Step::Write(rng.next() * 0x9e37_79b9),
                11 => Step::Fetch16,
                12 => {
                    let first = ram_base + rng.next() % 256;
                    let p = rng.pick(&PERMS);
                    Step::Protect(first..=first + rng.next() % 64, p)
                }
                13 => {
                    ram_base = rng.pick(&[0x1000, 0x2000, 0x3000]);
                    Step::Move(ram_base)
                }
                14 => Step::AtomicAdd,
                _ => Step::Bytes,
            };
            exec(m, step, addr, size)
        })
        .collect()
}

fn rom() -> Mem {
    let m = Mem::new();
    let bytes: Vec<u8> = (0..Mem::SIZE).map(|i| (i * 7) as u8).collect();
    m.write_bytes(0, &bytes).unwrap();
    m
}

#[test]
fn owner_map_and_shared_map_agree_on_a_random_program() {
    for seed in 0..if cfg!(miri) { 1 } else { 4 } {
        let (rom_a, rom_b) = (rom(), rom());
        let (rom_a, rom_b) = (rom_a.freeze(), rom_b.freeze());
        let (dev_a, dev_b) = (Reg(0.into(), 0.into()), Reg(0.into(), 0.into()));
        let (hook_a, hook_b) = (Guard(0.into()), Guard(0.into()));
        let mem_a = Mem::new();
        let mut mem_b = Mem::new();

        let shared: MemoryMap<'_, 8, 2> = MemoryMap::new();
        shared
            .add_ram("ram", 0x1000, 256, Perms::RW, &mem_a)
            .unwrap();
        shared
            .add_rom("rom", 0x8000, 256, Perms::RX, &rom_a)
            .unwrap();
        shared
            .add_mmio("dev", 0x9000, 64, Perms::RW, &dev_a)
            .unwrap();
        shared.watch(0x8010..=0x8013, Perms::READ, &hook_a).unwrap();
        shared.watch(0x9004..=0x9007, Perms::RW, &hook_a).unwrap();
        let a = run(&mut &shared, seed);
        // The same program through a cursor on a second, shared machine.
        let (mem_c, dev_c, hook_c) = (Mem::new(), Reg(0.into(), 0.into()), Guard(0.into()));
        let rom_c = rom();
        let rom_c = rom_c.freeze();
        let map_c: MemoryMap<'_, 8, 2> = MemoryMap::new();
        map_c
            .add_ram("ram", 0x1000, 256, Perms::RW, &mem_c)
            .unwrap();
        map_c
            .add_rom("rom", 0x8000, 256, Perms::RX, &rom_c)
            .unwrap();
        map_c
            .add_mmio("dev", 0x9000, 64, Perms::RW, &dev_c)
            .unwrap();
        map_c.watch(0x8010..=0x8013, Perms::READ, &hook_c).unwrap();
        map_c.watch(0x9004..=0x9007, Perms::RW, &hook_c).unwrap();
        let c = run(&mut map_c.cpu(), seed);
        assert_eq!(a, c, "seed {seed}: the cursor differs from the map");

        {
            let owner: OwnerMap<'_, 8, 2> = OwnerMap::new();
            owner
                .add_ram("ram", 0x1000, 256, Perms::RW, &mut mem_b)
                .unwrap();
            owner
                .add_rom("rom", 0x8000, 256, Perms::RX, &rom_b)
                .unwrap();
            owner
                .add_mmio("dev", 0x9000, 64, Perms::RW, &dev_b)
                .unwrap();
            owner.watch(0x8010..=0x8013, Perms::READ, &hook_b).unwrap();
            owner.watch(0x9004..=0x9007, Perms::RW, &hook_b).unwrap();
            let mut owner = owner;
            let b = run(&mut owner, seed);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(x, y, "seed {seed} step {i}");
            }
        }
        let (mut ba, mut bb) = ([0u8; Mem::SIZE], [0u8; Mem::SIZE]);
        mem_a.read_bytes(0, &mut ba).unwrap();
        mem_b.read_bytes(0, &mut bb).unwrap();
        assert_eq!(ba, bb);
        assert!(mem_a.dirty_shards().eq(mem_b.dirty_shards()));
        assert_eq!(
            dev_a.1.load(Ordering::Relaxed),
            dev_b.1.load(Ordering::Relaxed)
        );
        assert_eq!(
            hook_a.0.load(Ordering::Relaxed),
            hook_b.0.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn owner_writes_mark_shards_dirty_even_across_a_shard_edge() {
    let mut mem = Mem::new();
    {
        let map: OwnerMap<'_, 2> = OwnerMap::new();
        map.add_ram("ram", 0, 256, Perms::RW, &mut mem).unwrap();
        map.write_u32(62, 0x1122_3344).unwrap(); // shards 0 and 1
        map.write_u8(200, 1).unwrap(); // shard 3
        assert_eq!(map.read_u32(62).unwrap(), 0x1122_3344);
    }
    assert_eq!(mem.dirty_shards().collect::<Vec<_>>(), [0, 1, 3]);
}

/// A memory of 4 KiB pages in 64 KiB shards, so the cursor's and the owner
/// map's page caches hold pages' memory (not only regions).
type Big = ShardedMemory<8, 0x10000>;

/// Pages of the big RAM region: more than a page cache's 64 entries, so
/// entries are evicted and refilled.
const PAGES: u64 = 80;

/// The random program over many pages: every width at page and word
/// edges, misaligned and across pages, a sub-page RAM region sharing its
/// page with a device, a watched page, protects of parts of pages and
/// moves of the big region.
fn run_pages(m: &mut dyn Machine, seed: u64) -> Vec<String> {
    let mut rng = Lcg(seed);
    let mut ram_base = 0x10_0000u64;
    (0..STEPS)
        .map(|_| {
            let op = rng.next() % 16;
            let edge = [
                0,
                1,
                3,
                4,
                6,
                7,
                8,
                0xff8,
                0xffc,
                0xffd,
                0xfff,
                rng.next() % 0x1000,
            ];
            let addr = match rng.next() % 8 {
                0 => 0x20_0000 + rng.next() % 0x180 - 0x10, // small RAM, device, holes
                1 => 0x60_0000 + rng.next() % 0x10,         // a hole
                _ => ram_base + (rng.next() % (PAGES + 1)) * 0x1000 + rng.pick(&edge),
            };
            let size = rng.pick(&[1, 2, 4, 8]);
            let step = match op {
                0..=5 => Step::Read,
                6..=9 => Step::Write(rng.next() * 0x9e37_79b9),
                10 => Step::Fetch32,
                11 => {
                    let first = ram_base + rng.next() % (PAGES * 0x1000);
                    let p = rng.pick(&PERMS);
                    Step::Protect(first..=first + rng.next() % 0x2000, p)
                }
                12 if rng.next().is_multiple_of(4) => {
                    ram_base = rng.pick(&[0x10_0000, 0x40_0000]);
                    Step::Move(ram_base)
                }
                13 => Step::AtomicAdd,
                _ => Step::Bytes,
            };
            exec(m, step, addr, size)
        })
        .collect()
}

#[test]
fn cursor_and_owner_map_agree_with_the_map_over_many_pages() {
    for seed in 0..if cfg!(miri) { 1 } else { 4 } {
        let (dev_a, dev_b, dev_c) = (
            Reg(0.into(), 0.into()),
            Reg(0.into(), 0.into()),
            Reg(0.into(), 0.into()),
        );
        let (hook_a, hook_b, hook_c) = (Guard(0.into()), Guard(0.into()), Guard(0.into()));
        let (big_a, mut big_b, big_c) = (Big::new_boxed(), Big::new_boxed(), Big::new_boxed());
        let (small_a, mut small_b, small_c) = (Mem::new(), Mem::new(), Mem::new());
        let len = PAGES * 0x1000;

        let shared: MemoryMap<'_, 8, 2> = MemoryMap::new();
        shared
            .add_ram("ram", 0x10_0000, len, Perms::RWX, &*big_a)
            .unwrap();
        shared
            .add_ram("small", 0x20_0000, 0x80, Perms::RW, &small_a)
            .unwrap();
        shared
            .add_mmio("dev", 0x20_0100, 0x40, Perms::RW, &dev_a)
            .unwrap();
        shared
            .watch(0x10_3010..=0x10_3013, Perms::WRITE, &hook_a)
            .unwrap();
        let a = run_pages(&mut &shared, seed);

        let map_c: MemoryMap<'_, 8, 2> = MemoryMap::new();
        map_c
            .add_ram("ram", 0x10_0000, len, Perms::RWX, &*big_c)
            .unwrap();
        map_c
            .add_ram("small", 0x20_0000, 0x80, Perms::RW, &small_c)
            .unwrap();
        map_c
            .add_mmio("dev", 0x20_0100, 0x40, Perms::RW, &dev_c)
            .unwrap();
        map_c
            .watch(0x10_3010..=0x10_3013, Perms::WRITE, &hook_c)
            .unwrap();
        let c = run_pages(&mut map_c.cpu(), seed);
        for (i, (x, y)) in a.iter().zip(&c).enumerate() {
            assert_eq!(x, y, "seed {seed} step {i}: the cursor differs");
        }
        {
            let owner: OwnerMap<'_, 8, 2> = OwnerMap::new();
            owner
                .add_ram("ram", 0x10_0000, len, Perms::RWX, &mut big_b)
                .unwrap();
            owner
                .add_ram("small", 0x20_0000, 0x80, Perms::RW, &mut small_b)
                .unwrap();
            owner
                .add_mmio("dev", 0x20_0100, 0x40, Perms::RW, &dev_b)
                .unwrap();
            owner
                .watch(0x10_3010..=0x10_3013, Perms::WRITE, &hook_b)
                .unwrap();
            let mut owner = owner;
            let b = run_pages(&mut owner, seed);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert_eq!(x, y, "seed {seed} step {i}: the owner map differs");
            }
        }
        let (mut ba, mut bb) = (vec![0u8; Big::SIZE], vec![0u8; Big::SIZE]);
        big_a.read_bytes(0, &mut ba).unwrap();
        big_b.read_bytes(0, &mut bb).unwrap();
        assert!(ba == bb, "seed {seed}: the owner's bytes differ");
        big_c.read_bytes(0, &mut bb).unwrap();
        assert!(ba == bb, "seed {seed}: the cursor's bytes differ");
        assert!(big_a.dirty_shards().eq(big_b.dirty_shards()));
        let calls = |d: &Reg| d.1.load(Ordering::Relaxed);
        assert_eq!(calls(&dev_a), calls(&dev_b));
        assert_eq!(calls(&dev_a), calls(&dev_c));
        let seen = |h: &Guard| h.0.load(Ordering::Relaxed);
        assert_eq!(seen(&hook_a), seen(&hook_b));
        assert_eq!(seen(&hook_a), seen(&hook_c));
    }
}

#[test]
fn a_cursor_over_many_pages_sees_each_change() {
    let mem = Big::new_boxed();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", 0, PAGES * 0x1000, Perms::RW, &*mem)
        .unwrap();
    let cpu = map.cpu();
    for p in 0..PAGES {
        cpu.write_u64(p * 0x1000 + 8, p).unwrap();
    }
    for p in 0..PAGES {
        assert_eq!(cpu.read_u64(p * 0x1000 + 8), Ok(p), "page {p}");
    }
    // Every page is cached now (or evicted): changes are seen at once.
    map.protect(0x5000..=0x5fff, Perms::READ).unwrap();
    assert!(cpu.write_u8(0x5000, 1).is_err());
    assert_eq!(cpu.read_u64(0x5008), Ok(5));
    map.move_region("ram", 0x100_0000).unwrap();
    assert!(cpu.read_u64(0x6008).is_err());
    assert_eq!(cpu.read_u64(0x100_6008), Ok(6));
    // Misaligned, across a word and across a page, on cached pages.
    cpu.write_u32(0x100_6ffe, 0xaabb_ccdd).unwrap();
    assert_eq!(cpu.read_u32(0x100_6ffe), Ok(0xaabb_ccdd));
    assert_eq!(cpu.read_u16(0x100_6ffd), Ok(0xdd00));
    map.remove("ram").unwrap();
    assert!(cpu.read_u8(0x100_6000).is_err());
}

/// A UART whose receive FIFO and status live in `Cell`s (an owner map's
/// devices need not be `Sync`), opting in to machine snapshots.
#[derive(Default)]
struct Uart {
    fifo: std::cell::RefCell<std::collections::VecDeque<u8>>,
    status: std::cell::Cell<u32>,
    dirty: std::cell::Cell<bool>,
}
impl MmioDevice for Uart {
    fn read(&self, offset: u64, _: usize) -> Result<u64, VmError> {
        self.dirty.set(true);
        Ok(match offset {
            0 => self.fifo.borrow_mut().pop_front().map_or(0x100, u64::from), // 0x100: empty
            _ => u64::from(self.status.get()),
        })
    }
    fn write(&self, offset: u64, _: usize, v: u64) -> Result<(), VmError> {
        self.dirty.set(true);
        match offset {
            0 => self.fifo.borrow_mut().push_back(v as u8),
            _ => self.status.set(v as u32),
        }
        Ok(())
    }
    fn state(&self) -> Option<&dyn vm_mem::DeviceState> {
        Some(self)
    }
}
impl vm_mem::DeviceState for Uart {
    fn state_len(&self) -> usize {
        4 + 1 + 16
    }
    fn save(&self, out: &mut [u8]) -> usize {
        out[..4].copy_from_slice(&self.status.get().to_le_bytes());
        let fifo = self.fifo.borrow();
        let n = fifo.len().min(16);
        out[4] = n as u8;
        for (i, b) in fifo.iter().take(n).enumerate() {
            out[5 + i] = *b;
        }
        5 + n
    }
    fn restore(&self, from: &[u8]) {
        self.status
            .set(u32::from_le_bytes(from[..4].try_into().unwrap()));
        *self.fifo.borrow_mut() = from[5..5 + usize::from(from[4])].iter().copied().collect();
        self.dirty.set(false);
    }
    fn changed(&self) -> bool {
        self.dirty.get()
    }
    fn mark_clean(&self) {
        self.dirty.set(false);
    }
}

#[test]
fn an_owner_map_snapshots_runs_and_restores_a_whole_machine() {
    type Sram = ShardedMemory<4, 4096>;
    let flash = {
        let f = ShardedMemory::<1, 4096>::new();
        f.write_bytes(0, &[0x13, 0, 0, 0, 0x6f, 0, 0, 0]).unwrap();
        f
    };
    let rom = flash.freeze();
    let mut sram = Sram::new_boxed();
    let mut sram_snap = vm_mem::Snapshot::<4, 4096>::new_boxed();
    let uart = Uart::default();
    let timer = Reg(0.into(), 0.into()); // not opted in: left alone
    let mut bytes_before = vec![0u8; Sram::SIZE];
    {
        let map: OwnerMap<'_, 8, 2> = OwnerMap::new();
        map.add_rom("flash", 0x0800_0000, 0x1000, Perms::RX, &rom)
            .unwrap();
        map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &mut sram)
            .unwrap();
        map.add_mmio("uart", 0x4000_0000, 8, Perms::RW, &uart)
            .unwrap();
        map.add_mmio("timer", 0x4000_1000, 8, Perms::RW, &timer)
            .unwrap();
        map.write_bytes(0x2000_0000, b"state before the runs")
            .unwrap();
        map.write_u8(0x4000_0000, b'>').unwrap();
        let mut snap = vm_mem::MachineSnapshot::<'_, '_, 8, 1, 4, 64, 2>::new_sized();
        snap.add_memory_of("sram", &mut sram_snap).unwrap();
        map.snapshot(&mut snap).unwrap();
        map.read_bytes(0x2000_0000, &mut bytes_before).unwrap();
        let saved_uart = snap.device_state("uart").unwrap().to_vec();
        let mut rng = Lcg(7);
        // 10,000 in a release build (`cargo test --release`); the debug
        // build of `cargo test` runs 2,000 to keep the suite quick.
        let runs = if cfg!(miri) {
            20
        } else if cfg!(debug_assertions) {
            2_000
        } else {
            10_000
        };
        for run in 0..runs {
            // A run: stores, a UART exchange, a permission change, a move.
            for _ in 0..1 + rng.next() % 8 {
                let addr = 0x2000_0000 + rng.next() % 0x3ff8;
                map.write_u64(addr, rng.next()).unwrap();
            }
            map.write_u8(0x4000_0000, rng.next() as u8).unwrap();
            let _ = map.read_u8(0x4000_0000).unwrap();
            map.write_u32(0x4000_0004, run).unwrap();
            if run % 3 == 0 {
                map.protect(0x2000_1000..=0x2000_1fff, Perms::READ).unwrap();
            }
            if run % 5 == 0 {
                map.move_region("uart", 0x5000_0000).unwrap();
            }
            map.restore(&mut snap).unwrap();
            assert_eq!(map.diff(&snap, &mut [0; 32]), Ok(None), "run {run}");
            let mut now = vec![0u8; Sram::SIZE];
            map.read_bytes(0x2000_0000, &mut now).unwrap();
            assert!(now == bytes_before, "run {run}: SRAM differs");
            let mut uart_now = [0u8; 21];
            let n = vm_mem::DeviceState::save(&uart, &mut uart_now);
            assert_eq!(uart_now[..n], saved_uart[..], "run {run}: UART differs");
            assert_eq!(map.region("uart").unwrap().base(), 0x4000_0000);
            assert_eq!(map.region("sram").unwrap().perms(), Perms::RW);
            assert_eq!(map.fetch_u32(0x0800_0004), Ok(0x6f));
        }
    }
    let mut after = vec![0u8; Sram::SIZE];
    sram.read_bytes(0, &mut after).unwrap();
    assert!(after == bytes_before, "the memory given back differs");
}

#[test]
fn an_owner_maps_snapshot_is_restored_and_compared_by_that_map_only() {
    use vm_mem::{MachineError, MachineSnapshot, Snapshot};
    let mut lent = Mem::new();
    let shared_ram = Mem::new();
    let mut lent_snap = Snapshot::<4, 64>::new();
    let mut shared_snap = Snapshot::<4, 64>::new();
    let other: MemoryMap<'_, 8, 2> = MemoryMap::new();
    let owner: OwnerMap<'_, 8, 2> = OwnerMap::new();
    let second: OwnerMap<'_, 8, 2> = OwnerMap::new();
    owner
        .add_ram("ram", 0x1000, 256, Perms::RW, &mut lent)
        .unwrap();
    other
        .add_ram("ram", 0x1000, 256, Perms::RW, &shared_ram)
        .unwrap();
    let mut snap = MachineSnapshot::<'_, '_, 8, 1, 1, 0, 2>::new_sized();
    snap.add_memory_of("ram", &mut lent_snap).unwrap();
    owner.snapshot(&mut snap).unwrap();
    // Another map (shared, or a second owner map, maybe on another thread)
    // must not reach the memory lent to `owner` through the snapshot.
    assert_eq!(other.restore(&mut snap), Err(MachineError::OtherMap));
    assert_eq!(second.restore(&mut snap), Err(MachineError::OtherMap));
    assert_eq!(snap.diff(&other, &mut []), Err(MachineError::OtherMap));
    assert_eq!(second.diff(&snap, &mut []), Err(MachineError::OtherMap));
    owner.write_u8(0x1000, 1).unwrap();
    assert_eq!(owner.restore(&mut snap).map(|r| r.shards), Ok(1));
    // A shared map's snapshot is not an owner map's either.
    let mut shared = MachineSnapshot::<'_, '_, 8, 1, 1, 0, 2>::new_sized();
    shared.add_memory(&shared_ram, &mut shared_snap).unwrap();
    other.snapshot(&mut shared).unwrap();
    assert_eq!(owner.restore(&mut shared), Err(MachineError::OtherMap));
    assert_eq!(other.restore(&mut shared).map(|r| r.shards), Ok(0));
}

#[test]
fn host_slices_of_lent_memory_cover_protected_parts_and_mark_writes() {
    use vm_mem::ErrorKind;
    type Pages = ShardedMemory<4, 4096>;
    let mut ram = Pages::new();
    let rom_mem = Mem::new();
    let rom = rom_mem.freeze();
    let dev = Reg(0.into(), 0.into());
    {
        let mut map: OwnerMap<'_, 8, 2> = OwnerMap::new();
        map.add_ram("ram", 0x1_0000, 0x4000, Perms::RW, &mut ram)
            .unwrap();
        map.add_rom("rom", 0x8000, 256, Perms::RX, &rom).unwrap();
        map.add_mmio("dev", 0x9000, 64, Perms::RW, &dev).unwrap();
        // Split the region: a slice still spans its parts.
        map.protect(0x1_1000..=0x1_1fff, Perms::READ).unwrap();
        let s = map.slice_mut(0x1_0ffe, 4).unwrap();
        s.copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(map.read_u32(0x1_0ffe), Ok(0x0403_0201));
        assert_eq!(map.slice(0x1_0ffe, 4).unwrap(), &[1, 2, 3, 4]);
        assert!(map.slice(0x1_3ffe, 2).is_ok());
        assert!(map.slice(0x1_3fff, 0).is_ok());
        let kind = |r: Result<&[u8], vm_mem::VmError>| r.map(|_| ()).map_err(|e| e.kind());
        assert_eq!(kind(map.slice(0x1_3ffe, 4)), Err(ErrorKind::NotLent));
        assert_eq!(kind(map.slice(0x8000, 4)), Err(ErrorKind::NotLent));
        assert_eq!(kind(map.slice(0x9000, 4)), Err(ErrorKind::NotLent));
        assert_eq!(kind(map.slice(0x5000, 4)), Err(ErrorKind::Unmapped));
        // Bulk copies through the owner map: plain copies, marked written.
        map.write_bytes(0x1_2ff0, &[7; 32]).unwrap();
        map.fill(0x1_3ff0, 16, 9).unwrap();
        let mut back = [0u8; 40];
        map.read_bytes(0x1_2fe8, &mut back).unwrap();
        assert_eq!(&back[..8], &[0; 8]);
        assert_eq!(&back[8..], &[7; 32]);
        // The read-only part refuses bulk writes, as the shared map does.
        let err = map.write_bytes(0x1_1000, &[1]).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Permission {
                needed: Perms::WRITE
            }
        );
        // The dirty log in guest addresses: every shard written, per part
        // of the protected region.
        let dirty: Vec<_> = map.dirty().collect();
        assert_eq!(
            dirty,
            [
                0x1_0000..=0x1_0fff,
                0x1_1000..=0x1_1fff,
                0x1_2000..=0x1_2fff,
                0x1_3000..=0x1_3fff
            ]
        );
        map.clear_dirty();
        assert_eq!(map.dirty().count(), 0);
        map.write_u16(0x1_2ffe, 1).unwrap();
        assert_eq!(map.dirty().collect::<Vec<_>>(), [0x1_2000..=0x1_2fff]);
    }
    assert_eq!(ram.read_u32(0xffe), Ok(0x0403_0201));
    assert_eq!(ram.read_u8(0x2ffd), Ok(7));
    assert_eq!(ram.read_u8(0x3fff), Ok(9));
    assert_eq!(ram.dirty_shards().collect::<Vec<_>>(), [2]);
}

/// The handles that threads share stay `Send` and `Sync` now that devices
/// need not be `Sync` (only an owner map takes such devices).
#[test]
fn shared_handles_stay_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    fn sendable<T: Send>() {}
    shared::<MemoryMap<'static, 8, 2>>();
    shared::<vm_mem::Region<'static>>();
    sendable::<vm_mem::MachineSnapshot<'static, 'static, 8, 1, 1, 16, 2>>();
    sendable::<Cursor<'static, 'static, 8, 2>>();
}

/// CPU registers in `Cell`s, opted in to machine snapshots.
#[derive(Default)]
struct Cpu {
    pc: std::cell::Cell<u32>,
    sp: std::cell::Cell<u32>,
}
impl vm_mem::DeviceState for Cpu {
    fn state_len(&self) -> usize {
        8
    }
    fn save(&self, out: &mut [u8]) -> usize {
        out[..4].copy_from_slice(&self.pc.get().to_le_bytes());
        out[4..8].copy_from_slice(&self.sp.get().to_le_bytes());
        8
    }
    fn restore(&self, from: &[u8]) {
        self.pc
            .set(u32::from_le_bytes(from[..4].try_into().unwrap()));
        self.sp
            .set(u32::from_le_bytes(from[4..8].try_into().unwrap()));
    }
    fn changed(&self) -> bool {
        true
    }
    fn mark_clean(&self) {}
}

#[test]
fn cpu_state_in_cells_rides_along_with_an_owner_maps_snapshots() {
    use vm_mem::{Difference, MachineError, MachineSnapshot, Snapshot};
    let cpu = Cpu::default();
    let mut ram = Mem::new();
    let shared_ram = Mem::new();
    let mut ram_snap = Snapshot::<4, 64>::new();
    let owner: OwnerMap<'_, 8, 2> = OwnerMap::new();
    let other: OwnerMap<'_, 8, 2> = OwnerMap::new();
    let shared: MemoryMap<'_, 8, 2> = MemoryMap::new();
    owner.add_ram("ram", 0, 256, Perms::RW, &mut ram).unwrap();
    shared
        .add_ram("ram", 0, 256, Perms::RW, &shared_ram)
        .unwrap();
    let mut snap = MachineSnapshot::<'_, '_, 8, 1, 2, 32, 2>::new_sized();
    snap.add_memory_of("ram", &mut ram_snap).unwrap();
    owner.add_state(&mut snap, "cpu", &cpu).unwrap();
    // Bound to `owner`: no other map captures it.
    assert_eq!(shared.snapshot(&mut snap), Err(MachineError::OtherMap));
    assert_eq!(other.snapshot(&mut snap), Err(MachineError::OtherMap));
    assert_eq!(
        other.add_state(&mut snap, "x", &cpu),
        Err(MachineError::OtherMap)
    );
    cpu.pc.set(0x100);
    owner.snapshot(&mut snap).unwrap();
    for step in 0..50u32 {
        cpu.pc.set(0x100 + 4 * step);
        cpu.sp.set(step);
        owner.write_u32(u64::from(step % 64) * 4, step).unwrap();
        if step % 3 == 1 {
            let d = owner.diff(&snap, &mut [0; 8]).unwrap();
            assert!(matches!(
                d,
                Some(Difference::Memory { .. }) | Some(Difference::Device(_))
            ));
            if let Some(Difference::Device(n)) = d {
                assert_eq!(n, "cpu");
            }
        }
        owner.restore(&mut snap).unwrap();
        assert_eq!((cpu.pc.get(), cpu.sp.get()), (0x100, 0), "step {step}");
        assert_eq!(owner.diff(&snap, &mut [0; 8]), Ok(None));
    }
    assert_eq!(
        snap.device_state("cpu"),
        Some(&[0, 1, 0, 0, 0, 0, 0, 0][..])
    );
    assert_eq!(shared.restore(&mut snap), Err(MachineError::OtherMap));
}
