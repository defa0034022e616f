//! The snapshot/restore loop a fuzzer runs: load a guest image once, take a
//! snapshot, then for every input: mutate it, copy it into guest memory, run
//! the target, restore. Restore copies back only the shards the run wrote,
//! so an iteration costs what the target touched, not the guest's size.
//!
//! Run: `cargo run --release --features std --example fuzz_loop`
//! Options: `--iters N` (default 200000), `--exclusive` (the owner's
//! lock-free view instead of the shared, locked memory).
//!
//! Prints the iterations (restores) per second, the restore's own time, and
//! how many shards each restore copied. A progress line goes to stderr when
//! stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use vm_mem::{MemoryAccess, ShardedMemory, Snapshot, VmError};

const SHARDS: usize = 1024;
const SHARD_SIZE: usize = 4096;
/// A 4 MiB guest: 1024 shards of 4 KiB.
type Mem = ShardedMemory<SHARDS, SHARD_SIZE>;
type Snap = Snapshot<SHARDS, SHARD_SIZE>;

// The toy target's memory map (guest addresses).
/// Code and data loaded from the "firmware image".
const IMAGE: u64 = 0x0;
const IMAGE_LEN: usize = 0x10_0000;
/// A global in the image's data that every run updates.
const GLOBAL: u64 = IMAGE + 0x8_0040;
/// Where the harness copies each input.
const INPUT: u64 = 0x10_0000;
const MAX_INPUT: usize = 256;
/// The heap the target stores into: 16 shards.
const HEAP: u64 = 0x20_0000;
const HEAP_LEN: u64 = 0x1_0000;
/// The stack, growing down from the top of the guest.
const STACK_TOP: u64 = Mem::SIZE as u64;

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
/// opcode, the other three an argument) against guest memory. Touches the
/// input's shard, a few heap shards, the stack and the global. A load from
/// a wild address is a guest fault: a `VmError`, never a panic.
fn run_target(mem: &mut impl MemoryAccess, input_len: usize) -> Result<u64, VmError> {
    let mut acc = mem.read_u64(GLOBAL)?;
    let mut sp = STACK_TOP;
    for pc in (0..input_len as u64 / 4).map(|i| 4 * i) {
        let insn = mem.read_u32(INPUT + pc)?;
        let arg = u64::from(insn >> 8);
        match insn & 0xff {
            0x00..=0x6f => acc = acc.rotate_left(5) ^ arg,
            0x70..=0x8f => mem.write_u64(HEAP + (arg * 8) % HEAP_LEN, acc)?,
            0x90..=0xbf => acc ^= mem.read_u64(HEAP + (arg * 8) % HEAP_LEN)?,
            0xc0..=0xdf => {
                sp -= 8;
                mem.write_u64(sp, acc)?;
            }
            0xe0..=0xfe => {
                acc = acc.wrapping_add(u64::from(
                    mem.read_u32(IMAGE + (arg * 4) % IMAGE_LEN as u64)?,
                ))
            }
            _ => acc = acc.wrapping_add(mem.read_u64(arg << 12)?), // may fault
        }
    }
    mem.write_u64(GLOBAL, acc)?;
    Ok(acc)
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
    shards_copied: u64,
    faults: u64,
    restore_time: Duration,
    total: Duration,
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

/// The fuzzing loop over any memory kind: `mem` is the target's view,
/// `restore` puts the snapshot back and returns how many shards it copied.
fn fuzz<M: MemoryAccess>(
    mem: &mut M,
    mut restore: impl FnMut(&mut M) -> Result<usize, VmError>,
    seed: &[u8],
    iters: u64,
) -> Result<Stats, VmError> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut input = Vec::with_capacity(MAX_INPUT);
    let mut stats = Stats::default();
    let mut progress = Progress::new();
    let start = Instant::now();
    for i in 0..iters {
        input.clear();
        input.extend_from_slice(seed);
        mutate(&mut input, &mut rng);
        mem.write_bytes(INPUT, &input)?;
        if run_target(mem, input.len()).is_err() {
            stats.faults += 1; // a fuzzer would save this input
        }
        let t = Instant::now();
        stats.shards_copied += restore(mem)? as u64;
        stats.restore_time += t.elapsed();
        stats.iters += 1;
        progress.tick(i + 1, iters);
    }
    stats.total = start.elapsed();
    progress.finish();
    Ok(stats)
}

/// Whether the memory equals the snapshot, byte for byte.
fn equals(mem: &Mem, snap: &Snap) -> Result<bool, VmError> {
    let mut buf = [0u8; SHARD_SIZE];
    for shard in 0..SHARDS {
        mem.read_bytes(shard * SHARD_SIZE, &mut buf)?;
        if snap.shard(shard) != Some(&buf) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn parse_args() -> Result<(u64, bool), String> {
    let (mut iters, mut exclusive) = (200_000, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iters" => {
                iters = args
                    .next()
                    .and_then(|n| n.replace('_', "").parse().ok())
                    .ok_or("--iters needs a number")?;
            }
            "--exclusive" => exclusive = true,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok((iters, exclusive))
}

fn main() -> ExitCode {
    let (iters, exclusive) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fuzz_loop: {e}\nusage: fuzz_loop [--iters N] [--exclusive]");
            return ExitCode::from(2);
        }
    };
    match run(iters, exclusive) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(iters: u64, exclusive: bool) -> Result<(), VmError> {
    // Load the "image" (deterministic bytes standing in for a firmware
    // file) and snapshot the booted state once.
    let mut mem = Mem::new_boxed();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let image: Vec<u8> = (0..IMAGE_LEN).map(|_| rng.next() as u8).collect();
    mem.write_bytes(IMAGE as usize, &image)?;
    let mut snap = Snap::new_boxed();
    mem.snapshot(&mut snap);
    let seed: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();

    let mode = if exclusive {
        "exclusive view (no locks)"
    } else {
        "shared memory (lock-free reads, a lock per write)"
    };
    println!(
        "fuzz loop: {} MiB guest ({SHARDS} shards of {} KiB), {mode}, {iters} iterations",
        Mem::SIZE >> 20,
        SHARD_SIZE >> 10
    );
    let stats = if exclusive {
        let mut view = mem.exclusive();
        fuzz(&mut view, |v| v.restore(&snap), &seed, iters)?
    } else {
        let mut shared: &Mem = &mem;
        fuzz(&mut shared, |m| m.restore(&snap), &seed, iters)?
    };

    let n = stats.iters.max(1) as f64;
    let per_restore = stats.shards_copied as f64 / n;
    println!(
        "iterations (restores) per second: {:.0}",
        n / stats.total.as_secs_f64()
    );
    println!(
        "restore alone: {:.2} us mean, {:.0} restores/s, {:.0}% of the loop",
        stats.restore_time.as_secs_f64() * 1e6 / n,
        n / stats.restore_time.as_secs_f64(),
        100.0 * stats.restore_time.as_secs_f64() / stats.total.as_secs_f64()
    );
    println!(
        "shards copied per restore: {per_restore:.2} of {SHARDS} ({:.1} KiB of {} KiB)",
        per_restore * SHARD_SIZE as f64 / 1024.0,
        Mem::SIZE >> 10
    );
    println!("guest faults (returned as VmError): {}", stats.faults);
    println!(
        "memory equals the snapshot after the last restore: {}",
        if equals(&mem, &snap)? { "yes" } else { "NO" }
    );
    Ok(())
}
