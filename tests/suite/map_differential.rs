//! A random differential test of the three map handles: the shared map
//! (`&MemoryMap`), a per-vCPU [`Cursor`] (`map.cpu()`) and an [`OwnerMap`]
//! (RAM held by `&mut`) run the same random programs on machines built
//! from one awkward layout, each machine with its own memories, devices
//! and hooks, and must agree on every step's result, on every call a device
//! or hook gets (logged in order with its arguments and data: offset, size,
//! value, address, bytes, verdict), and at the end on every byte and dirty
//! mark of every memory, every device's registers and the map's regions.
//!
//! The layout: RAM windows at misaligned offsets across the edges of
//! 64-byte shards; three regions (RAM, RAM, ROM) back to back, so accesses
//! spanning them are split; a RAM region at address 0; a 48-byte RAM region
//! sharing one 4 KiB page with two devices and a hole; a 16 KiB RAM of
//! 4 KiB shards (whole pages in the page caches), moved to page-aligned and
//! misaligned bases; a RAM region ending at `u64::MAX` (accesses wrap past
//! it, and must fail as unmapped: checked on every handle); holes.
//!
//! The programs: reads and writes of every width, little- and big-endian,
//! fetches of every width, guest atomics of every width (the `fetch_*`
//! family, `swap_*`, `compare_exchange_*`), bulk copies and fills over
//! regions and holes, `protect` at byte granularity, `move_region`, hooks
//! watched and unwatched while running (logging, patching what reads see,
//! refusing writes), devices added, removed and remapped while running, and
//! machine snapshots, restores and diffs (two snapshots alive at once; two
//! devices opt in, one does not). One generator makes both kinds of
//! program, a flag saying whether snapshot steps are allowed: without them
//! (the first test) a run drifts far from its layout; with them (the
//! second) it keeps coming back.
//!
//! Natively 16 programs of 4000 steps per test, and each test checks that
//! the programs reached every outcome they are meant to (hook refusals,
//! device errors, region crossings, restores...); under Miri 2 programs of
//! 30 steps and a smaller region table, the same logic.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use vm_mem::{
    Access, AccessHook, Cursor, DeviceState, ErrorKind, Frozen, HookId, MachineSnapshot, MapError,
    MemoryMap, MmioDevice, OwnerMap, Perms, Region, ShardedMemory, Snapshot, VmError, WriteData,
};

/// Region and hook capacities of every machine's map (fewer regions under
/// Miri, where every table change and lookup costs in proportion).
const N: usize = if cfg!(miri) { 16 } else { 24 };
const H: usize = 4;

/// Programs and their lengths: natively many, under Miri a few short ones
/// (same logic).
const SEEDS: u64 = if cfg!(miri) { 2 } else { 16 };
const STEPS: usize = if cfg!(miri) { 30 } else { 4000 };

// The memories: small shards everywhere but `big`, whose 4 KiB shards let
// the page caches hold whole pages.
type Low = ShardedMemory<2, 64>;
type Win = ShardedMemory<8, 64>;
type Adj = ShardedMemory<4, 64>;
type Tiny = ShardedMemory<1, 64>;
type Big = ShardedMemory<4, 4096>;
type Top = ShardedMemory<4, 64>;
type RomMem = ShardedMemory<4, 64>;

// The layout (each RAM memory backs exactly one region: an owner map
// lends each memory once).
/// `low`: 128 bytes at address 0, where an access wrapping past the top
/// would land.
const LOW: u64 = 0;
const LOW_LEN: u64 = 128;
/// `win`: 300 bytes of `Win` from offset 37 (not a multiple of its 64-byte
/// shards), at a misaligned base: it spans five shard edges.
const WIN: u64 = 0x1_0005;
const WIN_LEN: u64 = 300;
const WIN_OFF: u64 = 37;
/// `adj`: 200 bytes of `Adj` from offset 50, right after `win`.
const ADJ: u64 = WIN + WIN_LEN;
const ADJ_LEN: u64 = 200;
const ADJ_OFF: u64 = 50;
/// `rom`: 160 bytes of a frozen memory, right after `adj`.
const ROM: u64 = ADJ + ADJ_LEN;
const ROM_LEN: u64 = 160;
/// One 4 KiB page: `tiny` (48 bytes of RAM), `dev` right after it, a hole,
/// `uart`.
const PAGE: u64 = 0x2_0000;
const TINY_LEN: u64 = 48;
const TINY_OFF: u64 = 8;
const DEV: u64 = PAGE + TINY_LEN;
const DEV_LEN: u64 = 0x40;
const UART: u64 = PAGE + 0x80;
const UART_LEN: u64 = 0x10;
/// `big`: 16 KiB of 4 KiB shards.
const BIG: u64 = 0x10_0000;
const BIG_LEN: u64 = 0x4000;
/// `top`: 256 bytes whose last is `u64::MAX`.
const TOP: u64 = u64::MAX - 255;
const TOP_LEN: u64 = 256;
/// Where `top` may move: leaving 0x200 free bytes at the top of the
/// address space, where a device may end at `u64::MAX`.
const TOP_LOW: u64 = u64::MAX - 0x2ff;

/// Where each movable region may be moved to (some clash, some run past
/// the top: refusals must agree too).
const MOVES: &[(&str, &[u64])] = &[
    ("big", &[BIG, 0x20_0000, 0x20_0800, 0x30_0ffd, PAGE]),
    ("top", &[TOP, TOP_LOW, u64::MAX - 200]),
    ("tiny", &[PAGE, PAGE + 0xfe8]),
    ("win", &[WIN, 0x1_8000]),
    ("dev", &[DEV, 0x4_0000, 0x4_0038]),
    ("uart", &[UART, PAGE + 0xff8]),
    (
        "dyn",
        &[0x4000, PAGE + 0x70, u64::MAX - 0x3f, 0x80, BIG + BIG_LEN],
    ),
];

/// Guest addresses worth aiming at: region, shard and page edges of every
/// place a region may be, holes and the top of the address space.
const POINTS: &[u64] = &[
    LOW,
    LOW + 64,
    LOW + LOW_LEN,
    WIN,
    WIN + 64 - WIN_OFF,
    WIN + 128 - WIN_OFF,
    WIN + 192 - WIN_OFF,
    WIN + 256 - WIN_OFF,
    WIN + 320 - WIN_OFF,
    ADJ,
    ADJ + 64 - ADJ_OFF,
    ADJ + 128 - ADJ_OFF,
    ADJ + 192 - ADJ_OFF,
    ROM,
    ROM + 64,
    ROM + ROM_LEN,
    PAGE,
    DEV,
    DEV + 0x3c,
    PAGE + 0x70,
    UART,
    UART + UART_LEN,
    PAGE + 0xfe8,
    PAGE + 0xff8,
    PAGE + 0x1000,
    PAGE + 0x1018,
    0x4000,
    0x4_0000,
    0x1_8000,
    BIG,
    BIG + 0x1000,
    BIG + 0x2000,
    BIG + 0x3000,
    BIG + BIG_LEN,
    0x20_0000,
    0x20_1000,
    0x20_0800,
    0x20_1800,
    0x20_4800,
    0x30_0ffd,
    0x30_1ffd,
    TOP - 0x100,
    TOP,
    TOP + 64,
    TOP_LOW,
    TOP_LOW + TOP_LEN,
    u64::MAX - 0x3f,
    u64::MAX - 7,
    u64::MAX,
];

/// Where the layout puts each region: name, base, length.
const HOMES: &[(&str, u64, u64)] = &[
    ("low", LOW, LOW_LEN),
    ("win", WIN, WIN_LEN),
    ("adj", ADJ, ADJ_LEN),
    ("rom", ROM, ROM_LEN),
    ("tiny", PAGE, TINY_LEN),
    ("dev", DEV, DEV_LEN),
    ("uart", UART, UART_LEN),
    ("big", BIG, BIG_LEN),
    ("top", TOP, TOP_LEN),
];

/// The permissions a region gets back from a `Heal` step.
fn home_perms(name: &str) -> Perms {
    match name {
        "low" | "adj" | "big" => Perms::RWX,
        "rom" => Perms::RX,
        _ => Perms::RW,
    }
}

/// The calls devices and hooks made, in order, as text: one log per
/// machine, drained after each step into that step's result.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn drain(&self) -> String {
        std::mem::take(&mut *self.0.lock().unwrap()).join("; ")
    }
}

/// Bytes of a device's register file.
const REGS: usize = 64;

/// A device: a register file, offsets wrapping at 64 bytes, that logs every
/// call with its arguments. A read bumps a status byte (so reads change
/// state too); writes to offsets 0x3c..0x40 fail with `Device`, as do reads
/// at 0x3c, so bulk copies stop half-way. `opt_in` devices take part in
/// machine snapshots.
struct Dev {
    name: &'static str,
    log: Arc<Log>,
    regs: Mutex<[u8; REGS]>,
    changed: AtomicBool,
    opt_in: bool,
}

impl Dev {
    fn new(name: &'static str, log: &Arc<Log>, opt_in: bool) -> Dev {
        let mut regs = [0u8; REGS];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = (i as u8).wrapping_mul(37) ^ name.len() as u8;
        }
        Dev {
            name,
            log: log.clone(),
            regs: Mutex::new(regs),
            changed: AtomicBool::new(false),
            opt_in,
        }
    }
}

impl MmioDevice for Dev {
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        let at = (offset % REGS as u64) as usize;
        if at == 0x3c {
            self.log
                .push(format!("{} read {offset:#x}/{size} failed", self.name));
            return Err(VmError::new(ErrorKind::Device, Access::Read, 0, size));
        }
        let mut regs = self.regs.lock().unwrap();
        let mut le = [0u8; 8];
        for (i, b) in le.iter_mut().enumerate().take(size) {
            *b = regs[(at + i) % REGS];
        }
        regs[REGS - 1] = regs[REGS - 1].wrapping_add(1);
        self.changed.store(true, Ordering::Relaxed);
        let v = u64::from_le_bytes(le);
        self.log
            .push(format!("{} read {offset:#x}/{size} = {v:#x}", self.name));
        Ok(v)
    }

    fn write(&self, offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        self.log
            .push(format!("{} write {offset:#x}/{size} {value:#x}", self.name));
        let at = (offset % REGS as u64) as usize;
        if (0x3c..0x40).contains(&at) {
            return Err(VmError::new(ErrorKind::Device, Access::Write, 0, size));
        }
        let mut regs = self.regs.lock().unwrap();
        for (i, b) in value.to_le_bytes().iter().enumerate().take(size) {
            regs[(at + i) % REGS] = *b;
        }
        self.changed.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn state(&self) -> Option<&dyn DeviceState> {
        if self.opt_in {
            Some(self)
        } else {
            None
        }
    }
}

impl DeviceState for Dev {
    fn state_len(&self) -> usize {
        REGS
    }

    fn save(&self, out: &mut [u8]) -> usize {
        self.log.push(format!("{} save", self.name));
        out[..REGS].copy_from_slice(&*self.regs.lock().unwrap());
        REGS
    }

    fn restore(&self, from: &[u8]) {
        self.log.push(format!("{} restore", self.name));
        self.regs.lock().unwrap().copy_from_slice(&from[..REGS]);
        self.changed.store(false, Ordering::Relaxed);
    }

    fn changed(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }

    fn mark_clean(&self) {
        self.changed.store(false, Ordering::Relaxed);
    }
}

/// A hook that logs every call with its address and data; if `patch` is
/// not zero it XORs it into the first byte of what reads and fetches see;
/// if `refuse` is not zero it refuses writes whose first byte is 1 modulo
/// `refuse`.
struct Tap {
    name: &'static str,
    log: Arc<Log>,
    patch: u8,
    refuse: u8,
}

impl Tap {
    fn load(&self, what: &str, addr: u64, data: &mut [u8]) {
        self.log
            .push(format!("{} {what} {addr:#x} {data:02x?}", self.name));
        data[0] ^= self.patch;
    }
}

impl AccessHook for Tap {
    fn read(&self, addr: u64, data: &mut [u8]) {
        self.load("read", addr, data);
    }

    fn fetch(&self, addr: u64, data: &mut [u8]) {
        self.load("fetch", addr, data);
    }

    fn write(&self, addr: u64, data: WriteData<'_>) -> bool {
        let allow = self.refuse == 0 || data.get(0).is_none_or(|b| b % self.refuse != 1);
        let shown = match data {
            WriteData::Bytes(b) => format!("{b:02x?}"),
            WriteData::Fill { byte, len } => format!("fill {byte:#x} x{len}"),
        };
        self.log
            .push(format!("{} write {addr:#x} {shown} -> {allow}", self.name));
        allow
    }
}

/// A machine's memories (ROM apart: it is frozen and borrowed).
struct Mems {
    low: Low,
    win: Win,
    adj: Adj,
    tiny: Tiny,
    big: Box<Big>,
    top: Top,
}

impl Mems {
    /// Memories with a recognisable pattern (every machine the same) and
    /// no dirty marks.
    fn new() -> Mems {
        let mut m = Mems {
            low: Low::new(),
            win: Win::new(),
            adj: Adj::new(),
            tiny: Tiny::new(),
            big: Big::new_boxed(),
            top: Top::new(),
        };
        for (k, (_, mem)) in [3, 5, 7, 11, 13, 17].into_iter().zip(m.each()) {
            mem.init(k);
        }
        m
    }

    /// Every memory, with its name.
    fn each(&mut self) -> [(&'static str, &mut dyn Contents); 6] {
        [
            ("low", &mut self.low),
            ("win", &mut self.win),
            ("adj", &mut self.adj),
            ("tiny", &mut self.tiny),
            ("big", &mut *self.big),
            ("top", &mut self.top),
        ]
    }

    /// Every memory's name, bytes and dirty shards.
    fn contents(&mut self) -> Vec<(&'static str, Vec<u8>, Vec<usize>)> {
        self.each()
            .into_iter()
            .map(|(name, m)| (name, m.bytes(), m.dirty()))
            .collect()
    }
}

/// What the test does to a memory it owns, whatever its geometry (through
/// the exclusive view: plain copies, quick under Miri).
trait Contents {
    /// Writes a pattern made from `k` and clears the dirty marks.
    fn init(&mut self, k: u8);
    fn bytes(&mut self) -> Vec<u8>;
    fn dirty(&self) -> Vec<usize>;
}

impl<const S: usize, const Z: usize> Contents for ShardedMemory<S, Z> {
    fn init(&mut self, k: u8) {
        // 256 bytes repeated (copies, not a loop per byte: quick under Miri).
        let block: Vec<u8> = (0..=255u8)
            .map(|i| i.wrapping_mul(k).wrapping_add(k))
            .collect();
        let pattern = block.repeat(Self::SIZE.div_ceil(256));
        self.exclusive()
            .write_bytes(0, &pattern[..Self::SIZE])
            .unwrap();
        self.take_dirty().for_each(drop);
    }

    fn bytes(&mut self) -> Vec<u8> {
        let mut b = vec![0u8; Self::SIZE];
        self.exclusive().read_bytes(0, &mut b).unwrap();
        b
    }

    fn dirty(&self) -> Vec<usize> {
        self.dirty_shards().collect()
    }
}

/// The ROM's bytes.
fn rom_memory() -> RomMem {
    let m = RomMem::new();
    let bytes: Vec<u8> = (0..RomMem::SIZE)
        .map(|i| (i as u8).wrapping_mul(29) ^ 0x5a)
        .collect();
    m.write_bytes(0, &bytes).unwrap();
    m
}

/// A machine's devices and hooks, and the log they write.
struct Parts {
    log: Arc<Log>,
    /// Opts in to machine snapshots.
    dev: Dev,
    /// Does not.
    uart: Dev,
    /// Opts in; mapped, unmapped and remapped by the programs.
    dyn_dev: Dev,
    taps: [Tap; 4],
}

impl Parts {
    fn new() -> Parts {
        let log = Arc::new(Log::default());
        let tap = |name, patch, refuse| Tap {
            name,
            log: log.clone(),
            patch,
            refuse,
        };
        Parts {
            dev: Dev::new("dev", &log, true),
            uart: Dev::new("uart", &log, false),
            dyn_dev: Dev::new("dyn", &log, true),
            taps: [
                tap("t0", 0, 0),
                tap("t1", 0x5a, 0),
                tap("t2", 0, 5),
                tap("t3", 0x81, 3),
            ],
            log,
        }
    }

    /// The device mapped under `name`.
    fn dev(&self, name: &str) -> &Dev {
        match name {
            "dev" => &self.dev,
            "uart" => &self.uart,
            _ => &self.dyn_dev,
        }
    }

    /// Every device's registers.
    fn regs(&self) -> Vec<(&'static str, [u8; REGS])> {
        [&self.dev, &self.uart, &self.dyn_dev]
            .iter()
            .map(|d| (d.name, *d.regs.lock().unwrap()))
            .collect()
    }
}

/// How a handle is built: the shared map borrows its RAM (`Ref<T>` is
/// `&T`), the owner map holds it (`&mut T`); everything else the same.
trait Lend<'a> {
    type Ref<T: 'a>;
    fn lend<const S: usize, const Z: usize>(
        &self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        mem: Self::Ref<ShardedMemory<S, Z>>,
        offset: u64,
    ) -> Result<(), MapError>;
    fn rom(
        &self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        rom: &'a Frozen<'a, 4, 64>,
    ) -> Result<(), MapError>;
    fn mmio(
        &self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a Dev,
    ) -> Result<(), MapError>;
    fn hook(&self, first: u64, last: u64, kinds: Perms, tap: &'a Tap) -> Result<HookId, MapError>;
}

macro_rules! lend {
    ($ty:ident, $($amp:tt)+) => {
        impl<'a> Lend<'a> for $ty<'a, N, H> {
            type Ref<T: 'a> = $($amp)+ T;
            fn lend<const S: usize, const Z: usize>(
                &self,
                name: &'static str,
                base: u64,
                len: u64,
                perms: Perms,
                mem: Self::Ref<ShardedMemory<S, Z>>,
                offset: u64,
            ) -> Result<(), MapError> {
                self.add_ram_window(name, base, len, perms, mem, offset)
            }
            fn rom(
                &self,
                name: &'static str,
                base: u64,
                len: u64,
                perms: Perms,
                rom: &'a Frozen<'a, 4, 64>,
            ) -> Result<(), MapError> {
                self.add_rom(name, base, len, perms, rom)
            }
            fn mmio(
                &self,
                name: &'static str,
                base: u64,
                len: u64,
                perms: Perms,
                dev: &'a Dev,
            ) -> Result<(), MapError> {
                self.add_mmio(name, base, len, perms, dev)
            }
            fn hook(
                &self,
                first: u64,
                last: u64,
                kinds: Perms,
                tap: &'a Tap,
            ) -> Result<HookId, MapError> {
                self.watch(first..=last, kinds, tap)
            }
        }
    };
}
lend!(MemoryMap, &'a);
lend!(OwnerMap, &'a mut);

/// The RAM of one machine as a handle takes it.
struct Rams<'a, L: Lend<'a>> {
    low: L::Ref<Low>,
    win: L::Ref<Win>,
    adj: L::Ref<Adj>,
    tiny: L::Ref<Tiny>,
    big: L::Ref<Big>,
    top: L::Ref<Top>,
}

impl Mems {
    /// The RAM as the shared map takes it: borrowed.
    fn shared<'a>(&'a self) -> Rams<'a, MemoryMap<'a, N, H>> {
        Rams {
            low: &self.low,
            win: &self.win,
            adj: &self.adj,
            tiny: &self.tiny,
            big: &*self.big,
            top: &self.top,
        }
    }

    /// The RAM as the owner map takes it: held by `&mut`.
    fn owned<'a>(&'a mut self) -> Rams<'a, OwnerMap<'a, N, H>> {
        Rams {
            low: &mut self.low,
            win: &mut self.win,
            adj: &mut self.adj,
            tiny: &mut self.tiny,
            big: &mut *self.big,
            top: &mut self.top,
        }
    }
}

/// The layout, written once for every handle; returns the ids of the
/// hooks it installs.
fn build<'a, L: Lend<'a>>(
    map: &L,
    rams: Rams<'a, L>,
    rom: &'a Frozen<'a, 4, 64>,
    p: &'a Parts,
) -> Vec<HookId> {
    map.lend("low", LOW, LOW_LEN, home_perms("low"), rams.low, 0)
        .unwrap();
    map.lend("win", WIN, WIN_LEN, home_perms("win"), rams.win, WIN_OFF)
        .unwrap();
    map.lend("adj", ADJ, ADJ_LEN, home_perms("adj"), rams.adj, ADJ_OFF)
        .unwrap();
    map.rom("rom", ROM, ROM_LEN, home_perms("rom"), rom)
        .unwrap();
    map.lend(
        "tiny",
        PAGE,
        TINY_LEN,
        home_perms("tiny"),
        rams.tiny,
        TINY_OFF,
    )
    .unwrap();
    map.mmio("dev", DEV, DEV_LEN, Perms::RW, &p.dev).unwrap();
    map.mmio("uart", UART, UART_LEN, Perms::RW, &p.uart)
        .unwrap();
    map.lend("big", BIG, BIG_LEN, home_perms("big"), rams.big, 0)
        .unwrap();
    map.lend("top", TOP, TOP_LEN, home_perms("top"), rams.top, 0)
        .unwrap();
    vec![
        // Refuses some writes around a shard edge of `win`.
        map.hook(WIN + 60, WIN + 70, Perms::WRITE, &p.taps[2])
            .unwrap(),
        // Patches reads and fetches of part of the ROM.
        map.hook(ROM + 16, ROM + 31, Perms::READ | Perms::EXEC, &p.taps[1])
            .unwrap(),
    ]
}

/// A guest atomic read-modify-write.
#[derive(Clone, Copy, Debug)]
enum Op {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Min,
    Max,
    MinSigned,
    MaxSigned,
    Swap,
}

const OPS: [Op; 10] = [
    Op::Add,
    Op::Sub,
    Op::And,
    Op::Or,
    Op::Xor,
    Op::Min,
    Op::Max,
    Op::MinSigned,
    Op::MaxSigned,
    Op::Swap,
];

/// A machine snapshot step, on one of two machine snapshots.
#[derive(Clone, Copy, Debug)]
enum Snap {
    Take(usize),
    Restore(usize),
    Diff(usize),
}

/// One step of a program.
#[derive(Clone, Debug)]
enum Step {
    Read {
        size: usize,
        be: bool,
        addr: u64,
    },
    Write {
        size: usize,
        be: bool,
        addr: u64,
        v: u64,
    },
    Fetch {
        size: usize,
        addr: u64,
    },
    Atomic {
        op: Op,
        size: usize,
        addr: u64,
        v: u64,
    },
    /// `compare_exchange` with `current` (or, if `peek`, the value a read
    /// sees first, so that it often succeeds).
    Cas {
        size: usize,
        addr: u64,
        current: u64,
        new: u64,
        peek: bool,
    },
    ReadBytes {
        addr: u64,
        len: usize,
    },
    WriteBytes {
        addr: u64,
        data: Vec<u8>,
    },
    Fill {
        addr: u64,
        len: usize,
        byte: u8,
    },
    Protect {
        first: u64,
        last: u64,
        perms: Perms,
    },
    /// Every region back to its home permissions (one `protect` of each
    /// region with a part away from them).
    Heal,
    Move {
        name: &'static str,
        base: u64,
    },
    AddDevice {
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
    },
    Remove {
        name: &'static str,
    },
    Watch {
        tap: usize,
        first: u64,
        last: u64,
        kinds: Perms,
    },
    /// Unwatches the `nth` (modulo) id a watch returned and no unwatch
    /// took yet, or if `nth` is 0 the id last unwatched (gone, unless a
    /// restore brought it back).
    Unwatch {
        nth: usize,
    },
    Snap(Snap),
}

/// The programs' random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }

    /// An address: two times out of three in or at the edge of a region
    /// where the generator's model (`at`) has it, else near an interesting
    /// point (or anywhere in the 4 KiB after one), wrapping at the top of
    /// the address space.
    fn addr(&mut self, at: &[(&str, u64, u64)]) -> u64 {
        if self.below(3) != 0 && !at.is_empty() {
            let (_, base, len) = self.pick(at);
            return match self.below(3) {
                0 => base.wrapping_add(self.below(17)).wrapping_sub(8),
                1 => base
                    .wrapping_add(len)
                    .wrapping_add(self.below(17))
                    .wrapping_sub(8),
                _ => base.wrapping_add(self.below(len)),
            };
        }
        let p = self.pick(POINTS);
        if self.below(6) == 0 {
            p.wrapping_add(self.below(0x1000))
        } else {
            p.wrapping_add(self.below(17)).wrapping_sub(8)
        }
    }

    /// A value, often small or with few bits so min/max/CAS see both
    /// outcomes.
    fn value(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(4),
            1 => u64::MAX - self.below(4),
            _ => self.next(),
        }
    }
}

const SIZES: [usize; 4] = [1, 2, 4, 8];
const PERMS: [Perms; 7] = [
    Perms::NONE,
    Perms::READ,
    Perms::WRITE,
    Perms::EXEC,
    Perms::RW,
    Perms::RX,
    Perms::RWX,
];
/// Bulk copy lengths (shorter under Miri, still over regions and holes).
const BULK_LENS: [usize; 9] = if cfg!(miri) {
    [0, 1, 3, 8, 17, 33, 64, 100, 130]
} else {
    [0, 1, 3, 8, 17, 64, 130, 300, 520]
};

/// Where the generator expects the regions (name, base, length): the
/// layout, then each move, device added or removed and snapshot restored,
/// applied if it looks allowed. Only aims the addresses; the machines
/// decide what happens.
#[derive(Clone)]
struct Model(Vec<(&'static str, u64, u64)>);

impl Model {
    /// Whether `name` fits at `base..base + len` (no overlap with another
    /// region, not past the top).
    fn fits(&self, name: &str, base: u64, len: u64) -> bool {
        let Some(last) = base.checked_add(len - 1) else {
            return false;
        };
        self.0
            .iter()
            .all(|&(n, b, l)| n == name || b + (l - 1) < base || last < b)
    }

    fn apply(&mut self, step: &Step, saved: &mut [Option<Model>; 2]) {
        match *step {
            Step::Move { name, base } => {
                let Some(i) = self.0.iter().position(|r| r.0 == name) else {
                    return;
                };
                if self.fits(name, base, self.0[i].2) {
                    self.0[i].1 = base;
                }
            }
            Step::AddDevice {
                name, base, len, ..
            } if self.0.iter().all(|r| r.0 != name) && self.fits(name, base, len) => {
                self.0.push((name, base, len));
            }
            Step::Remove { name } => self.0.retain(|r| r.0 != name),
            Step::Snap(Snap::Take(k)) => saved[k] = Some(self.clone()),
            Step::Snap(Snap::Restore(k)) => {
                if let Some(m) = &saved[k] {
                    *self = m.clone();
                }
            }
            _ => {}
        }
    }
}

/// The random program of `seed`: `steps` steps, with machine snapshot
/// steps only if `snapshots`.
fn program(seed: u64, steps: usize, snapshots: bool) -> Vec<Step> {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xd1ff);
    let mut model = Model(HOMES.to_vec());
    let mut saved = [None, None];
    (0..steps)
        .map(|_| {
            let roll = rng.below(100);
            let addr = rng.addr(&model.0);
            let size = rng.pick(&SIZES);
            let step = match roll {
                97.. if snapshots => Step::Snap(match rng.below(5) {
                    0 | 1 => Snap::Take(rng.below(2) as usize),
                    2 | 3 => Snap::Restore(rng.below(2) as usize),
                    _ => Snap::Diff(rng.below(2) as usize),
                }),
                0..=26 | 97.. => Step::Read {
                    size,
                    be: rng.below(2) == 0,
                    addr,
                },
                27..=50 => Step::Write {
                    size,
                    be: rng.below(2) == 0,
                    addr,
                    v: rng.value(),
                },
                51..=55 => Step::Fetch { size, addr },
                56..=64 => Step::Atomic {
                    op: rng.pick(&OPS),
                    size,
                    addr,
                    v: rng.value(),
                },
                65..=68 => Step::Cas {
                    size,
                    addr,
                    current: rng.value(),
                    new: rng.value(),
                    peek: rng.below(3) != 0,
                },
                69..=73 => Step::ReadBytes {
                    addr,
                    len: rng.pick(&BULK_LENS),
                },
                74..=77 => Step::WriteBytes {
                    addr,
                    data: (0..rng.pick(&BULK_LENS))
                        .map(|_| rng.next() as u8)
                        .collect(),
                },
                78..=80 => Step::Fill {
                    addr,
                    len: rng.pick(&BULK_LENS),
                    byte: rng.next() as u8,
                },
                81..=84 => Step::Protect {
                    first: addr,
                    last: addr.saturating_add(rng.pick(&[0, 0, 1, 3, 3, 7, 7, 40, 300, 0x1000])),
                    perms: rng.pick(&PERMS),
                },
                85 => Step::Heal,
                86..=88 => {
                    let (name, bases) = rng.pick(MOVES);
                    Step::Move {
                        name,
                        base: rng.pick(bases),
                    }
                }
                89..=90 => {
                    let name = rng.pick(&["dyn", "dyn", "uart", "dev"]);
                    let len = rng.pick(&[8, 0x10, 0x40, 0x100]);
                    let base = match rng.below(3) {
                        // Right below `top` at its home: adjacent to it.
                        0 => TOP - len,
                        // Ending at `u64::MAX` (if `top` moved away).
                        1 => u64::MAX - (len - 1),
                        _ => rng.pick(MOVES.iter().find(|m| m.0 == name).unwrap().1),
                    };
                    Step::AddDevice {
                        name,
                        base,
                        len,
                        perms: rng.pick(&[Perms::RW, Perms::RW, Perms::READ, Perms::RWX]),
                    }
                }
                91 => Step::Remove {
                    name: rng.pick(&["dyn", "dyn", "uart", "dev"]),
                },
                92..=93 => Step::Watch {
                    tap: rng.below(4) as usize,
                    first: addr,
                    last: addr.saturating_add(rng.pick(&[0, 3, 64, 0x1000])),
                    kinds: rng.pick(&[
                        Perms::READ,
                        Perms::WRITE,
                        Perms::EXEC,
                        Perms::RW,
                        Perms::RWX,
                    ]),
                },
                _ => Step::Unwatch {
                    nth: rng.below(8) as usize,
                },
            };
            model.apply(&step, &mut saved);
            step
        })
        .collect()
}

/// One handle's view of the steps, each result as text.
trait Machine<'a> {
    fn typed_read(&self, size: usize, be: bool, addr: u64) -> String;
    fn typed_write(&self, size: usize, be: bool, addr: u64, v: u64) -> String;
    fn typed_fetch(&self, size: usize, addr: u64) -> String;
    /// A little-endian read, as a value (for a `Cas` that peeks).
    fn peek(&self, size: usize, addr: u64) -> Option<u64>;
    fn atomic(&self, op: Op, size: usize, addr: u64, v: u64) -> String;
    fn cas(&self, size: usize, addr: u64, current: u64, new: u64) -> String;
    fn bulk_read(&self, addr: u64, buf: &mut [u8]) -> String;
    fn bulk_write(&self, addr: u64, data: &[u8]) -> String;
    fn bulk_fill(&self, addr: u64, len: usize, byte: u8) -> String;
    fn set_perms(&self, first: u64, last: u64, perms: Perms) -> String;
    fn relocate(&self, name: &str, base: u64) -> String;
    fn map_device(
        &self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a Dev,
    ) -> String;
    fn unmap(&self, name: &str) -> String;
    fn hook_on(
        &self,
        first: u64,
        last: u64,
        kinds: Perms,
        tap: &'a Tap,
    ) -> Result<HookId, MapError>;
    fn hook_off(&self, id: HookId) -> String;
    fn layout(&self) -> Vec<Region<'a>>;
}

macro_rules! machine {
    ($a:lifetime, $($lt:lifetime),* ; $ty:ty) => {
        impl<$a, $($lt),*> Machine<$a> for $ty {
            fn typed_read(&self, size: usize, be: bool, addr: u64) -> String {
                let m = &*self;
                match (size, be) {
                    (1, _) => format!("{:x?}", m.read_u8(addr)),
                    (2, false) => format!("{:x?}", m.read_u16(addr)),
                    (4, false) => format!("{:x?}", m.read_u32(addr)),
                    (8, false) => format!("{:x?}", m.read_u64(addr)),
                    (2, true) => format!("{:x?}", m.read_u16_be(addr)),
                    (4, true) => format!("{:x?}", m.read_u32_be(addr)),
                    _ => format!("{:x?}", m.read_u64_be(addr)),
                }
            }

            fn typed_write(&self, size: usize, be: bool, addr: u64, v: u64) -> String {
                let m = &*self;
                format!("{:?}", match (size, be) {
                    (1, _) => m.write_u8(addr, v as u8),
                    (2, false) => m.write_u16(addr, v as u16),
                    (4, false) => m.write_u32(addr, v as u32),
                    (8, false) => m.write_u64(addr, v),
                    (2, true) => m.write_u16_be(addr, v as u16),
                    (4, true) => m.write_u32_be(addr, v as u32),
                    _ => m.write_u64_be(addr, v),
                })
            }

            fn typed_fetch(&self, size: usize, addr: u64) -> String {
                let m = &*self;
                match size {
                    1 => format!("{:x?}", m.fetch_u8(addr)),
                    2 => format!("{:x?}", m.fetch_u16(addr)),
                    4 => format!("{:x?}", m.fetch_u32(addr)),
                    _ => format!("{:x?}", m.fetch_u64(addr)),
                }
            }

            fn peek(&self, size: usize, addr: u64) -> Option<u64> {
                let m = &*self;
                match size {
                    1 => m.read_u8(addr).ok().map(u64::from),
                    2 => m.read_u16(addr).ok().map(u64::from),
                    4 => m.read_u32(addr).ok().map(u64::from),
                    _ => m.read_u64(addr).ok(),
                }
            }

            fn atomic(&self, op: Op, size: usize, addr: u64, v: u64) -> String {
                let m = &*self;
                atomics!(m, op, size, addr, v;
                    Add => fetch_add, Sub => fetch_sub, And => fetch_and, Or => fetch_or,
                    Xor => fetch_xor, Min => fetch_min, Max => fetch_max, Swap => swap;
                    MinSigned => fetch_min, MaxSigned => fetch_max)
            }

            fn cas(&self, size: usize, addr: u64, current: u64, new: u64) -> String {
                let m = &*self;
                match size {
                    1 => format!("{:x?}", m.compare_exchange::<u8>(addr, current as u8, new as u8)),
                    2 => format!("{:x?}", m.compare_exchange::<u16>(addr, current as u16, new as u16)),
                    4 => format!("{:x?}", m.compare_exchange::<u32>(addr, current as u32, new as u32)),
                    _ => format!("{:x?}", m.compare_exchange::<u64>(addr, current, new)),
                }
            }

            fn bulk_read(&self, addr: u64, buf: &mut [u8]) -> String {
                format!("{:?}", (&*self).read_bytes(addr, buf))
            }

            fn bulk_write(&self, addr: u64, data: &[u8]) -> String {
                format!("{:?}", (&*self).write_bytes(addr, data))
            }

            fn bulk_fill(&self, addr: u64, len: usize, byte: u8) -> String {
                format!("{:?}", (&*self).fill(addr, len, byte))
            }

            fn set_perms(&self, first: u64, last: u64, perms: Perms) -> String {
                format!("{:?}", (&*self).protect(first..=last, perms))
            }

            fn relocate(&self, name: &str, base: u64) -> String {
                format!("{:?}", (&*self).move_region(name, base))
            }

            fn map_device(
                &self,
                name: &'static str,
                base: u64,
                len: u64,
                perms: Perms,
                dev: &$a Dev,
            ) -> String {
                format!("{:?}", (&*self).add_mmio(name, base, len, perms, dev))
            }

            fn unmap(&self, name: &str) -> String {
                format!("{:?}", (&*self).remove(name))
            }

            fn hook_on(
                &self,
                first: u64,
                last: u64,
                kinds: Perms,
                tap: &$a Tap,
            ) -> Result<HookId, MapError> {
                (&*self).watch(first..=last, kinds, tap)
            }

            fn hook_off(&self, id: HookId) -> String {
                format!("{:?}", (&*self).unwatch(id))
            }

            fn layout(&self) -> Vec<Region<$a>> {
                (&*self).regions().into_iter().collect()
            }
        }
    };
}

/// The named atomic of `op` and `size` on handle `$m`, its result as text.
macro_rules! atomics {
    ($m:expr, $op:expr, $size:expr, $addr:expr, $v:expr;
     $($u:ident => $uf:ident),*;
     $($s:ident => $sf:ident),*) => {
        match ($op, $size) {
            $(
                (Op::$u, 1) => format!("{:x?}", $m.$uf::<u8>($addr, $v as u8)),
                (Op::$u, 2) => format!("{:x?}", $m.$uf::<u16>($addr, $v as u16)),
                (Op::$u, 4) => format!("{:x?}", $m.$uf::<u32>($addr, $v as u32)),
                (Op::$u, _) => format!("{:x?}", $m.$uf::<u64>($addr, $v)),
            )*
            $(
                (Op::$s, 1) => format!("{:x?}", $m.$sf::<i8>($addr, $v as i8)),
                (Op::$s, 2) => format!("{:x?}", $m.$sf::<i16>($addr, $v as i16)),
                (Op::$s, 4) => format!("{:x?}", $m.$sf::<i32>($addr, $v as i32)),
                (Op::$s, _) => format!("{:x?}", $m.$sf::<i64>($addr, $v as i64)),
            )*
        }
    };
}

machine!('a, ; &MemoryMap<'a, N, H>);
machine!('a, 'm; Cursor<'m, 'a, N, H>);
machine!('a, ; OwnerMap<'a, N, H>);

/// Whether `len` bytes at `addr` run past `u64::MAX`.
fn wraps(addr: u64, len: usize) -> bool {
    len > 0 && addr.checked_add(len as u64 - 1).is_none()
}

/// Runs program `seed`'s `steps` on machine `m` (built from `p`, with the hooks `ids`
/// installed); `snap` serves the snapshot steps. Each step's result as
/// text, with the device and hook calls it made.
fn run<'a>(
    seed: u64,
    m: &dyn Machine<'a>,
    p: &'a Parts,
    steps: &[Step],
    mut ids: Vec<HookId>,
    snap: &mut dyn FnMut(Snap) -> String,
) -> Vec<String> {
    let mut gone = Vec::new();
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let result = match *step {
                Step::Read { size, be, addr } => m.typed_read(size, be, addr),
                Step::Write { size, be, addr, v } => m.typed_write(size, be, addr, v),
                Step::Fetch { size, addr } => m.typed_fetch(size, addr),
                Step::Atomic { op, size, addr, v } => m.atomic(op, size, addr, v),
                Step::Cas {
                    size,
                    addr,
                    current,
                    new,
                    peek,
                } => {
                    let current = if peek {
                        m.peek(size, addr).unwrap_or(current)
                    } else {
                        current
                    };
                    m.cas(size, addr, current, new)
                }
                Step::ReadBytes { addr, len } => {
                    let mut buf = vec![0u8; len];
                    let r = m.bulk_read(addr, &mut buf);
                    format!("{r} {buf:02x?}")
                }
                Step::WriteBytes { addr, ref data } => m.bulk_write(addr, data),
                Step::Fill { addr, len, byte } => m.bulk_fill(addr, len, byte),
                Step::Protect { first, last, perms } => m.set_perms(first, last, perms),
                Step::Heal => {
                    // The regions with a part away from home, each whole.
                    let regions = m.layout();
                    let mut names: Vec<&str> = regions
                        .iter()
                        .filter(|r| r.perms() != home_perms(r.name()))
                        .map(|r| r.name())
                        .collect();
                    names.sort_unstable();
                    names.dedup();
                    let heal = |name: &str| {
                        let parts = || regions.iter().filter(|r| r.name() == name);
                        let first = parts().map(|r| r.base()).min().unwrap();
                        let last = parts().map(|r| r.last()).max().unwrap();
                        let r = m.set_perms(first, last, home_perms(name));
                        format!("{name}: {r}")
                    };
                    names.into_iter().map(heal).collect::<Vec<_>>().join(" ")
                }
                Step::Move { name, base } => m.relocate(name, base),
                Step::AddDevice {
                    name,
                    base,
                    len,
                    perms,
                } => m.map_device(name, base, len, perms, p.dev(name)),
                Step::Remove { name } => m.unmap(name),
                Step::Watch {
                    tap,
                    first,
                    last,
                    kinds,
                } => {
                    let r = m.hook_on(first, last, kinds, &p.taps[tap]);
                    if let Ok(id) = r {
                        ids.push(id);
                    }
                    format!("{r:?}")
                }
                Step::Unwatch { nth } => {
                    let id = if nth == 0 || ids.is_empty() {
                        gone.last().copied()
                    } else {
                        let id = ids.remove(nth % ids.len());
                        gone.push(id);
                        Some(id)
                    };
                    id.map_or_else(|| "no hook".into(), |id| m.hook_off(id))
                }
                Step::Snap(s) => snap(s),
            };
            // An access past the top of the address space fails as
            // wrapping around, on every handle.
            let reach = match *step {
                Step::Read { size, addr, .. }
                | Step::Write { size, addr, .. }
                | Step::Fetch { size, addr }
                | Step::Atomic { size, addr, .. }
                | Step::Cas { size, addr, .. } => Some((addr, size)),
                Step::ReadBytes { addr, len } | Step::Fill { addr, len, .. } => Some((addr, len)),
                Step::WriteBytes { addr, ref data } => Some((addr, data.len())),
                _ => None,
            };
            if let Some((addr, len)) = reach.filter(|&(a, l)| wraps(a, l)) {
                assert!(
                    result.starts_with("Err(") && result.contains("WrapsAround"),
                    "seed {seed} step {i} ({step:?}): {len} bytes at {addr:#x} wrap past \
                     the top, yet the result is {result}"
                );
            }
            let calls = p.log.drain();
            format!("{result} | {calls}")
        })
        .collect()
}

/// The state of a machine after its program: every memory's bytes and
/// dirty shards, every device's registers, the regions.
struct Final {
    mems: Vec<(&'static str, Vec<u8>, Vec<usize>)>,
    regs: Vec<(&'static str, [u8; REGS])>,
    regions: String,
}

/// The regions of `m`, as text.
fn regions_text<'a>(m: &dyn Machine<'a>) -> String {
    m.layout()
        .iter()
        .map(|r| {
            format!(
                "{} {:#x}..={:#x} {} {:?}+{:#x}",
                r.name(),
                r.base(),
                r.last(),
                r.perms(),
                r.kind(),
                r.offset()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A run's results and final state.
type Outcome = (Vec<String>, Final);

/// Machine snapshots of one machine: up to 6 memories, 4 devices, 256
/// bytes of device state.
type MSnap<'a, 's> = MachineSnapshot<'a, 's, N, 6, 4, 256, H>;

/// The memories' snapshots behind one machine snapshot.
struct Images {
    low: Snapshot<2, 64>,
    win: Snapshot<8, 64>,
    adj: Snapshot<4, 64>,
    tiny: Snapshot<1, 64>,
    big: Box<Snapshot<4, 4096>>,
    top: Snapshot<4, 64>,
}

impl Images {
    fn new() -> Images {
        Images {
            low: Snapshot::new(),
            win: Snapshot::new(),
            adj: Snapshot::new(),
            tiny: Snapshot::new(),
            big: Snapshot::new_boxed(),
            top: Snapshot::new(),
        }
    }

    /// A machine snapshot of a shared map, with every memory of `mems`
    /// registered.
    fn register<'a, 's>(&'s mut self, mems: &'s Mems) -> MSnap<'a, 's> {
        let mut snap = MSnap::new_sized();
        snap.add_memory(&mems.low, &mut self.low).unwrap();
        snap.add_memory(&mems.win, &mut self.win).unwrap();
        snap.add_memory(&mems.adj, &mut self.adj).unwrap();
        snap.add_memory(&mems.tiny, &mut self.tiny).unwrap();
        snap.add_memory(&*mems.big, &mut *self.big).unwrap();
        snap.add_memory(&mems.top, &mut self.top).unwrap();
        snap
    }

    /// A machine snapshot of an owner map, with every memory registered
    /// by its region's name (the map holds the memories).
    fn register_of<'a, 's>(&'s mut self) -> MSnap<'a, 's> {
        let mut snap = MSnap::new_sized();
        snap.add_memory_of("low", &mut self.low).unwrap();
        snap.add_memory_of("win", &mut self.win).unwrap();
        snap.add_memory_of("adj", &mut self.adj).unwrap();
        snap.add_memory_of("tiny", &mut self.tiny).unwrap();
        snap.add_memory_of("big", &mut *self.big).unwrap();
        snap.add_memory_of("top", &mut self.top).unwrap();
        snap
    }
}

/// Runs `steps` on a shared machine, through the map itself or (`cursor`)
/// through one cursor; snapshot steps use two machine snapshots.
fn run_shared(seed: u64, steps: &[Step], cursor: bool) -> Outcome {
    let mut mems = Mems::new();
    let rom_mem = rom_memory();
    let rom = rom_mem.freeze();
    let parts = Parts::new();
    let (mut images_0, mut images_1) = (Images::new(), Images::new());
    let (results, regions) = {
        let map: MemoryMap<'_, N, H> = MemoryMap::new();
        let ids = build(&map, mems.shared(), &rom, &parts);
        let mut snaps = [images_0.register(&mems), images_1.register(&mems)];
        let mut scratch = [0u8; REGS];
        let mut snap = |s: Snap| match s {
            Snap::Take(k) => format!("{:?}", map.snapshot(&mut snaps[k])),
            Snap::Restore(k) => format!("{:?}", map.restore(&mut snaps[k])),
            Snap::Diff(k) => format!("{:?}", map.diff(&snaps[k], &mut scratch)),
        };
        if cursor {
            let cpu = map.cpu();
            (
                run(seed, &cpu, &parts, steps, ids, &mut snap),
                regions_text(&cpu),
            )
        } else {
            let m = &map;
            (
                run(seed, &m, &parts, steps, ids, &mut snap),
                regions_text(&m),
            )
        }
    };
    let end = Final {
        mems: mems.contents(),
        regs: parts.regs(),
        regions,
    };
    (results, end)
}

/// Runs `steps` on an owner map; snapshot steps use two machine
/// snapshots.
fn run_owner(seed: u64, steps: &[Step]) -> Outcome {
    let mut mems = Mems::new();
    let rom_mem = rom_memory();
    let rom = rom_mem.freeze();
    let parts = Parts::new();
    let (mut images_0, mut images_1) = (Images::new(), Images::new());
    let (results, regions) = {
        let map: OwnerMap<'_, N, H> = OwnerMap::new();
        let ids = build(&map, mems.owned(), &rom, &parts);
        let mut snaps = [images_0.register_of(), images_1.register_of()];
        let mut scratch = [0u8; REGS];
        let mut snap = |s: Snap| match s {
            Snap::Take(k) => format!("{:?}", map.snapshot(&mut snaps[k])),
            Snap::Restore(k) => format!("{:?}", map.restore(&mut snaps[k])),
            Snap::Diff(k) => format!("{:?}", map.diff(&snaps[k], &mut scratch)),
        };
        (
            run(seed, &map, &parts, steps, ids, &mut snap),
            regions_text(&map),
        )
    };
    let end = Final {
        mems: mems.contents(),
        regs: parts.regs(),
        regions,
    };
    (results, end)
}

/// Asserts that two handles' runs of program `seed` agree, step by step
/// and at the end.
fn agree(seed: u64, steps: &[Step], (a, name_a): (&Outcome, &str), (b, name_b): (&Outcome, &str)) {
    assert_eq!(a.0.len(), b.0.len(), "seed {seed}: step counts");
    for (i, (x, y)) in a.0.iter().zip(&b.0).enumerate() {
        assert!(
            x == y,
            "seed {seed} step {i} ({:?}): {name_a} and {name_b} differ\n{name_a}: {x}\n{name_b}: {y}",
            steps[i]
        );
    }
    let (fa, fb) = (&a.1, &b.1);
    for ((mem, bytes_a, dirty_a), (_, bytes_b, dirty_b)) in fa.mems.iter().zip(&fb.mems) {
        if bytes_a != bytes_b {
            let at = (0..bytes_a.len())
                .find(|&o| bytes_a[o] != bytes_b[o])
                .unwrap();
            panic!(
                "seed {seed} after step {}: memory `{mem}` differs first at offset {at:#x}: \
                 {name_a} {:02x?}, {name_b} {:02x?}",
                steps.len(),
                &bytes_a[at..(at + 16).min(bytes_a.len())],
                &bytes_b[at..(at + 16).min(bytes_b.len())],
            );
        }
        assert_eq!(
            dirty_a,
            dirty_b,
            "seed {seed} after step {}: dirty shards of `{mem}`: {name_a} left, {name_b} right",
            steps.len()
        );
    }
    assert_eq!(
        fa.regs,
        fb.regs,
        "seed {seed} after step {}: device registers: {name_a} left, {name_b} right",
        steps.len()
    );
    assert_eq!(
        fa.regions,
        fb.regions,
        "seed {seed} after step {}: regions: {name_a} left, {name_b} right",
        steps.len()
    );
}

/// Outcomes every native run of the programs must have met at least once,
/// so that the programs keep reaching what they are meant to test.
#[cfg(not(miri))]
fn check_coverage(all: &[String], markers: &[&str]) {
    for marker in markers {
        assert!(
            all.iter().any(|r| r.contains(marker)),
            "no step of any program gave `{marker}`: the generator lost its reach"
        );
    }
}

#[test]
fn the_map_a_cursor_and_an_owner_map_agree_on_random_programs() {
    let mut seen = Vec::new();
    for seed in 0..SEEDS {
        let steps = program(seed, STEPS, false);
        let map = run_shared(seed, &steps, false);
        let cursor = run_shared(seed, &steps, true);
        let owner = run_owner(seed, &steps);
        agree(seed, &steps, (&map, "map"), (&cursor, "cursor"));
        agree(seed, &steps, (&map, "map"), (&owner, "owner map"));
        seen.extend(map.0);
    }
    #[cfg(not(miri))]
    check_coverage(
        &seen,
        &[
            "DeniedByHook",
            "CrossesRegion",
            "AtomicUnsupported",
            "ReadOnly",
            "Permission",
            "Device",
            "Unmapped",
            "Ok(Ok(",
            "Ok(Err(",
            "TableFull",
            "HookTableFull",
            "NoSuchHook",
            "Overlaps",
            "dyn read",
            "t1 fetch",
            "t3 read",
            "-> false",
        ],
    );
}

#[test]
fn the_three_handles_agree_on_random_programs_with_machine_snapshots() {
    let mut seen = Vec::new();
    for seed in 0..SEEDS {
        let steps = program(seed, STEPS, true);
        let map = run_shared(seed, &steps, false);
        let cursor = run_shared(seed, &steps, true);
        let owner = run_owner(seed, &steps);
        agree(seed, &steps, (&map, "map"), (&cursor, "cursor"));
        agree(seed, &steps, (&map, "map"), (&owner, "owner map"));
        seen.extend(map.0);
    }
    #[cfg(not(miri))]
    check_coverage(
        &seen,
        &[
            "Ok(Restored { table: true",
            "devices: 1",
            "dev restore",
            "dyn save",
            "NotTaken",
            "Ok(None)",
            "Ok(Some(Memory",
        ],
    );
}
