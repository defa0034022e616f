//! The snapshot/restore loop a rehosting fuzzer runs, over a whole
//! machine: a ROM with the firmware image, RAM, a UART with a receive FIFO
//! and a timer with a counter, all behind a map. Boot once, take a
//! [`MachineSnapshot`], then for every input: mutate it, feed it (into RAM
//! and the UART's FIFO), run the target, restore. The same loop runs twice,
//! side by side: through an [`OwnerMap`] (the map holds the RAM by `&mut`:
//! plain loads and stores, the handle for a single-threaded fuzzer) and
//! through a [`Cursor`](vm_mem::Cursor) of a shared [`MemoryMap`] (what a
//! multi-vCPU machine uses), and prints both rates. The target stores
//! into RAM, pops the UART, sends bytes, reads and sets the timer, changes
//! a permission (an MPU region made read-only) and remaps a RAM bank; the
//! restore brings all of it back, copying only the shards the run wrote,
//! the devices it touched, and the map's table if it changed.
//!
//! Run: `cargo run --release --example fuzz_loop`
//! Options: `--iters N` (default 200000, per handle), `--check` (after
//! every restore, compare memory, map and devices with the snapshot, and
//! stop on the first difference), `--memory-only` (restore the RAM alone,
//! as a memory-only fuzzer would: the baseline, through the cursor only;
//! the map and devices then drift).
//!
//! Prints the iterations (restores) per second, the restore's own time,
//! and what each restore copied on average. A progress line goes to stderr
//! when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vm_mem::{
    DeviceState, Difference, MachineSnapshot, MapError, MemoryAccess, MemoryMap, MmioDevice,
    OwnerMap, Perms, Restored, ShardedMemory, Snapshot, VmError,
};

/// 1 MiB of RAM in 256 shards of 4 KiB.
type Ram = ShardedMemory<256, 4096>;
/// 64 KiB of flash.
type Flash = ShardedMemory<16, 4096>;
type Map<'a> = MemoryMap<'a, 8>;
/// The shared map as the fuzzer's one vCPU reaches it: with its page cache.
type Cpu<'m, 'a> = vm_mem::Cursor<'m, 'a, 8>;
type Owner<'a> = OwnerMap<'a, 8>;
type Snap<'a, 's> = MachineSnapshot<'a, 's, 8, 1, 4, 64>;

/// What the target needs of a handle beyond loads and stores
/// (`MemoryAccess`): the MPU and the bank register. The cursor and the
/// owner map have both under the same names (and `snapshot`, `restore`,
/// `diff` too).
trait Machine: MemoryAccess {
    fn protect(&self, range: std::ops::RangeInclusive<u64>, p: Perms) -> Result<(), MapError>;
    fn move_region(&self, name: &str, base: u64) -> Result<(), MapError>;
}

/// Forwards [`Machine`] to the handle's inherent methods of the same names.
macro_rules! machine {
    ($ty:ty) => {
        impl Machine for $ty {
            fn protect(&self, r: std::ops::RangeInclusive<u64>, p: Perms) -> Result<(), MapError> {
                (**self).protect(r, p)
            }
            fn move_region(&self, name: &str, base: u64) -> Result<(), MapError> {
                (**self).move_region(name, base)
            }
        }
    };
}
machine!(Cpu<'_, '_>);
machine!(&Owner<'_>);

// The machine's memory map (guest addresses).
const ROM: u64 = 0x0800_0000;
const SRAM: u64 = 0x2000_0000;
/// A global in RAM that every run updates.
const GLOBAL: u64 = SRAM + 0x40;
/// Where the harness copies each input.
const INPUT: u64 = SRAM + 0x1000;
const MAX_INPUT: usize = 256;
/// The heap the target stores into: 16 pages, each its own MPU region.
const HEAP: u64 = SRAM + 0x2_0000;
const HEAP_LEN: u64 = 0x1_0000;
/// The stack, growing down from the top of the RAM region.
const STACK_TOP: u64 = SRAM + 0xE_0000;
/// A RAM bank (the memory's last 64 KiB) the target remaps.
const BANK: u64 = 0x2800_0000;
const BANK_OFFSET: u64 = 0xF_0000;
const UART: u64 = 0x4000_0000;
const TIMER: u64 = 0x4000_1000;

/// A UART: a 16-byte receive FIFO the harness fills and the guest pops
/// (read at 0), and a transmit counter (write at 4).
#[derive(Default)]
struct Uart {
    regs: Mutex<UartRegs>,
    dirty: AtomicBool,
}

#[derive(Clone, Copy, Default, PartialEq)]
struct UartRegs {
    fifo: [u8; 16],
    head: u8,
    len: u8,
    sent: u32,
}

impl Uart {
    fn feed(&self, bytes: &[u8]) {
        let mut r = self.regs.lock().unwrap();
        for &b in bytes.iter().take(16 - r.len as usize) {
            let at = (r.head + r.len) % 16;
            r.fifo[at as usize] = b;
            r.len += 1;
        }
        self.dirty.store(true, Ordering::Relaxed);
    }
}

impl MmioDevice for Uart {
    fn read(&self, off: u64, _: usize) -> Result<u64, VmError> {
        let mut r = self.regs.lock().unwrap();
        match off {
            0 if r.len > 0 => {
                let b = r.fifo[r.head as usize];
                r.head = (r.head + 1) % 16;
                r.len -= 1;
                self.dirty.store(true, Ordering::Relaxed);
                Ok(b.into())
            }
            8 => Ok(r.len.into()),
            _ => Ok(0),
        }
    }

    fn write(&self, off: u64, _: usize, _: u64) -> Result<(), VmError> {
        if off == 4 {
            self.regs.lock().unwrap().sent += 1;
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
        22
    }

    fn save(&self, out: &mut [u8]) -> usize {
        let r = *self.regs.lock().unwrap();
        out[..16].copy_from_slice(&r.fifo);
        out[16] = r.head;
        out[17] = r.len;
        out[18..22].copy_from_slice(&r.sent.to_le_bytes());
        22
    }

    fn restore(&self, from: &[u8]) {
        let mut r = self.regs.lock().unwrap();
        r.fifo.copy_from_slice(&from[..16]);
        (r.head, r.len) = (from[16], from[17]);
        r.sent = u32::from_le_bytes([from[18], from[19], from[20], from[21]]);
        self.dirty.store(false, Ordering::Relaxed);
    }

    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// A timer: a counter (read and set at 0) that advances on each read.
#[derive(Default)]
struct Timer {
    count: AtomicU64,
    dirty: AtomicBool,
}

impl MmioDevice for Timer {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        self.dirty.store(true, Ordering::Relaxed);
        Ok(self.count.fetch_add(1, Ordering::Relaxed))
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
        let mut b = [0; 8];
        b.copy_from_slice(&from[..8]);
        self.count.store(u64::from_le_bytes(b), Ordering::Relaxed);
        self.dirty.store(false, Ordering::Relaxed);
    }

    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }

    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// A small, fast pseudo-random generator (xorshift64*), deterministic so
/// runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The target: interprets the input as 4-byte instructions (low byte the
/// opcode, the other three an argument) against the machine. A fault (a
/// store to a page it made read-only, a wild load) is a `VmError`, never
/// a panic. It runs through the fuzzer's handle: an owner map or a cursor
/// (which sees every restore, protect and move as it returns, so it
/// outlives them all).
fn run_target<M: Machine>(map: &mut M, input_len: usize) -> Result<u64, VmError> {
    let mut acc = map.read_u64(GLOBAL)?;
    let mut sp = STACK_TOP;
    let mut bank = BANK;
    for pc in (0..input_len as u64 / 4).map(|i| 4 * i) {
        let insn = map.read_u32(INPUT + pc)?;
        let arg = u64::from(insn >> 8);
        match insn & 0xff {
            0x00..=0x5f => acc = acc.rotate_left(5) ^ arg,
            0x60..=0x7f => map.write_u64(HEAP + (arg * 8) % HEAP_LEN, acc)?,
            0x80..=0x9f => acc ^= map.read_u64(HEAP + (arg * 8) % HEAP_LEN)?,
            0xa0..=0xaf => {
                sp -= 8;
                map.write_u64(sp, acc)?;
            }
            0xb0..=0xbf => {
                acc = acc.wrapping_add(u64::from(map.read_u32(ROM + (arg * 4) % 0x1_0000)?))
            }
            0xc0..=0xc7 => acc ^= u64::from(map.read_u8(UART)?),
            0xc8..=0xcf => map.write_u8(UART + 4, acc as u8)?,
            0xd0..=0xd7 => acc = acc.wrapping_add(map.read_u64(TIMER)?),
            0xd8..=0xdf => map.write_u64(TIMER, acc)?,
            // The MPU: one heap page becomes read-only.
            0xe0..=0xe7 => {
                let page = HEAP + (arg % 16) * 0x1000;
                map.protect(page..=page + 0xfff, Perms::READ)
                    .map_err(|_| fault(page))?;
            }
            // A bank-switch register: the bank moves.
            0xe8..=0xef => {
                bank = BANK + (1 + arg % 4) * 0x10_0000;
                map.move_region("bank", bank).map_err(|_| fault(bank))?;
            }
            0xf0..=0xfe => map.write_u32(bank + (arg * 4) % 0x1_0000, acc as u32)?,
            _ => acc = acc.wrapping_add(map.read_u64(arg << 12)?), // may fault
        }
    }
    map.write_u64(GLOBAL, acc)?;
    Ok(acc)
}

/// A refused map change, as the guest sees it: a fault at `addr`.
fn fault(addr: u64) -> VmError {
    VmError::new(vm_mem::ErrorKind::Device, vm_mem::Access::Write, addr, 1)
}

/// Mutates `input` in place (bit flips, random bytes, length changes), as a
/// fuzzer's havoc stage does.
fn mutate(input: &mut Vec<u8>, rng: &mut Rng) {
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
            2 if input.len() < MAX_INPUT => input.push(rng.next() as u8),
            _ => {
                input.pop();
            }
        }
    }
}

/// What one run of the loop measured.
#[derive(Default)]
struct Stats {
    iters: u64,
    tables: u64,
    shards: u64,
    devices: u64,
    faults: u64,
    restore_time: Duration,
    total: Duration,
}

impl Stats {
    /// Prints what the loop through handle `name` measured; `same` is the
    /// final comparison with the snapshot (`None` when not compared: the
    /// memory-only baseline). Returns the iterations per second.
    fn report(
        &self,
        name: &str,
        o: &Options,
        same: Option<Difference>,
    ) -> Result<f64, Box<dyn std::error::Error>> {
        let n = self.iters.max(1) as f64;
        let rate = n / self.total.as_secs_f64();
        println!("{name}: iterations (restores) per second: {rate:.0}");
        println!(
            "{name}: restore alone: {:.2} us mean, {:.0} restores/s, {:.0}% of the loop",
            self.restore_time.as_secs_f64() * 1e6 / n,
            n / self.restore_time.as_secs_f64(),
            100.0 * self.restore_time.as_secs_f64() / self.total.as_secs_f64()
        );
        println!(
            "{name}: each restore copied, on average: {:.2} RAM shards of {} ({:.1} KiB), {:.2} devices, the map table {:.0}% of the time",
            self.shards as f64 / n,
            Ram::SHARDS,
            self.shards as f64 / n * 4.0,
            self.devices as f64 / n,
            100.0 * self.tables as f64 / n
        );
        println!(
            "{name}: guest faults (returned as VmError): {}",
            self.faults
        );
        if !o.memory_only {
            println!(
                "{name}: machine equals the snapshot after the last restore: {}",
                if same.is_none() { "yes" } else { "NO" }
            );
            differs(same)?;
        }
        Ok(rate)
    }

    fn add(&mut self, r: Restored) {
        self.tables += u64::from(r.table);
        self.shards += r.shards as u64;
        self.devices += r.devices as u64;
    }
}

/// Shows `done/total` and the current rate on stderr, if it is a terminal,
/// at most a few times a second.
struct Progress {
    on: bool,
    start: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Progress {
            on: std::io::stderr().is_terminal(),
            start: now,
            last: now,
        }
    }

    fn tick(&mut self, done: u64, total: u64) {
        if !self.on
            || !done.is_multiple_of(1024)
            || self.last.elapsed() < Duration::from_millis(250)
        {
            return;
        }
        self.last = Instant::now();
        let rate = done as f64 / self.start.elapsed().as_secs_f64();
        eprint!(
            "\r{done}/{total} iterations ({:.0}%), {rate:.0} restores/s ",
            100.0 * done as f64 / total as f64
        );
        let _ = std::io::stderr().flush();
    }

    fn finish(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}

struct Options {
    iters: u64,
    check: bool,
    memory_only: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        iters: 200_000,
        check: false,
        memory_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iters" => {
                o.iters = args
                    .next()
                    .and_then(|n| n.replace('_', "").parse().ok())
                    .ok_or("--iters needs a number")?;
            }
            "--check" => o.check = true,
            "--memory-only" => o.memory_only = true,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fuzz_loop: {e}\nusage: fuzz_loop [--iters N] [--check] [--memory-only]");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The boot image (deterministic bytes standing in for a firmware file) and
/// the seed input.
fn boot() -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let image: Vec<u8> = (0..Flash::SIZE).map(|_| rng.next() as u8).collect();
    let mut seed: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();
    // The seed input starts by making a heap page read-only and moving the
    // bank, so (until a mutation hits them) every run changes the map.
    seed[..8].copy_from_slice(&[0xe3, 1, 0, 0, 0xe9, 2, 0, 0]);
    (image, seed)
}

/// Maps the machine's devices and flash (RAM is mapped by the caller, in
/// the way of its handle).
macro_rules! map_machine {
    ($map:expr, $flash:expr, $uart:expr, $timer:expr) => {{
        $map.add_rom("flash", ROM, Flash::SIZE as u64, Perms::RX, $flash)?;
        $map.add_mmio("uart", UART, 16, Perms::RW, $uart)?;
        $map.add_mmio("timer", TIMER, 8, Perms::RW, $timer)?;
    }};
}

fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let (image, seed) = boot();
    let flash_mem = Flash::new_boxed();
    flash_mem.write_bytes(0, &image)?;
    let flash = flash_mem.freeze();
    println!(
        "fuzz loop: {} KiB RAM ({} shards of 4 KiB), {} KiB flash, UART, timer; {}{}; {} iterations per handle",
        Ram::SIZE >> 10,
        Ram::SHARDS,
        Flash::SIZE >> 10,
        if o.memory_only {
            "memory-only restore (map and devices drift)"
        } else {
            "whole-machine restore (map, RAM, UART, timer)"
        },
        if o.check { ", checked after every restore" } else { "" },
        o.iters
    );

    // The owner map: the RAM lent to it, registered by its region's name.
    let mut owner_ram = Ram::new_boxed();
    owner_ram.write_u64(0x40, 0x5eed)?;
    let (owner_uart, owner_timer) = (Uart::default(), Timer::default());
    let mut owner_ram_snap = Snapshot::<256, 4096>::new_boxed();
    let mut owner_snap = Snap::new_sized_boxed();
    let owner: Owner<'_> = OwnerMap::new();
    map_machine!(owner, &flash, &owner_uart, &owner_timer);
    owner.add_ram("sram", SRAM, 0xE_0000, Perms::RW, &mut owner_ram)?;
    owner.add_ram_window_of("bank", BANK, 0x1_0000, Perms::RW, "sram", BANK_OFFSET)?;
    owner_snap.add_memory_of("sram", &mut owner_ram_snap)?;
    owner.snapshot(&mut owner_snap)?;

    // A cursor of the shared map: the RAM shared, registered as itself.
    let ram = Ram::new_boxed();
    ram.write_u64(0x40, 0x5eed)?;
    let (uart, timer) = (Uart::default(), Timer::default());
    let map: Map<'_> = MemoryMap::new();
    map_machine!(map, &flash, &uart, &timer);
    map.add_ram("sram", SRAM, 0xE_0000, Perms::RW, &*ram)?;
    map.add_ram_window("bank", BANK, 0x1_0000, Perms::RW, &*ram, BANK_OFFSET)?;
    let mut ram_snap = Snapshot::new_boxed();
    let mut snap = Snap::new_sized_boxed();
    snap.add_memory(&ram, &mut ram_snap)?;
    map.snapshot(&mut snap)?;
    // The baseline mode restores the memory from a snapshot of its own
    // (taken last, so it is the memory's baseline: restore stays
    // incremental).
    let mut mem_snap = Snapshot::new_boxed();
    if o.memory_only {
        ram.snapshot(&mut mem_snap);
    }
    let mut cpu = map.cpu();

    // Side by side: the two handles take turns, a tenth of the iterations
    // each time, so both see the same machine load.
    let (mut owner_loop, mut cursor_loop) = (Loop::new(), Loop::new());
    let rounds = 10;
    for round in 0..rounds {
        let n = o.iters / rounds + u64::from(round < o.iters % rounds);
        if !o.memory_only {
            owner_loop.run(n, &mut &owner, &owner_uart, &seed, &mut |_| {
                let done = owner.restore(&mut owner_snap)?;
                if o.check {
                    differs(owner.diff(&owner_snap, &mut [0; 64])?)?;
                }
                Ok(done)
            })?;
        }
        cursor_loop.run(n, &mut cpu, &uart, &seed, &mut |stats| {
            if o.memory_only {
                stats.shards += ram.restore(&mem_snap)? as u64;
                Ok(Restored::default())
            } else {
                let done = map.restore(&mut snap)?;
                if o.check {
                    differs(map.diff(&snap, &mut [0; 64])?)?;
                }
                Ok(done)
            }
        })?;
    }
    let owner_rate = if o.memory_only {
        None
    } else {
        let same = owner.diff(&owner_snap, &mut [0; 64])?;
        Some(owner_loop.stats.report("owner map", o, same)?)
    };
    let same = if o.memory_only {
        None
    } else {
        map.diff(&snap, &mut [0; 64])?
    };
    let cursor_rate = cursor_loop.stats.report("cursor", o, same)?;
    if let Some(owner) = owner_rate {
        println!(
            "owner map / cursor: {:.2}x the iterations per second",
            owner / cursor_rate
        );
    }
    Ok(())
}

/// `--check`'s verdict on a restored machine: an error if it differs from
/// its snapshot.
fn differs(diff: Option<Difference>) -> Result<(), Box<dyn std::error::Error>> {
    match diff {
        Some(d) => Err(format!("the machine differs from the snapshot: {d:?}").into()),
        None => Ok(()),
    }
}

/// A handle's restore as the loop calls it (it may add to the stats).
type Restore<'r> = dyn FnMut(&mut Stats) -> Result<Restored, Box<dyn std::error::Error>> + 'r;

/// One handle's loop, run in rounds: its inputs' generator and what it
/// measured so far.
struct Loop {
    rng: Rng,
    input: Vec<u8>,
    stats: Stats,
}

impl Loop {
    fn new() -> Self {
        Loop {
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            input: Vec::with_capacity(MAX_INPUT),
            stats: Stats::default(),
        }
    }

    /// `n` times: mutate the seed, feed it, run the target through `m`,
    /// and `restore` (which may add to the stats itself).
    fn run<M: Machine>(
        &mut self,
        n: u64,
        m: &mut M,
        uart: &Uart,
        seed: &[u8],
        restore: &mut Restore<'_>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut progress = Progress::new();
        let start = Instant::now();
        for i in 0..n {
            self.input.clear();
            self.input.extend_from_slice(seed);
            mutate(&mut self.input, &mut self.rng);
            m.write_bytes(INPUT, &self.input)?;
            uart.feed(&self.input[..self.input.len().min(4)]);
            if run_target(m, self.input.len()).is_err() {
                self.stats.faults += 1; // a fuzzer would save this input
            }
            let t = Instant::now();
            let iter = self.stats.iters;
            let done = restore(&mut self.stats).map_err(|e| format!("iteration {iter}: {e}"))?;
            self.stats.add(done);
            self.stats.restore_time += t.elapsed();
            self.stats.iters += 1;
            progress.tick(i + 1, n);
        }
        self.stats.total += start.elapsed();
        progress.finish();
        Ok(())
    }
}
