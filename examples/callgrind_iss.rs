//! Callgrind harness: the toy instruction-set simulator of the benches
//! (`benches/common/sim.rs`) runs one guest program a given number of times
//! on the memory a command-line argument selects, and prints how many guest
//! memory accesses it made. Run under `valgrind --tool=callgrind`, the host
//! instruction count of two runs of different lengths gives, per guest
//! access, what each vm-mem path costs beyond a plain `Vec<u8>`:
//! `benches/callgrind.sh` does that for every mode and prints the table.
//!
//! ```text
//! cargo build --profile bench --features std --example callgrind_iss
//! target/release/examples/callgrind_iss MODE [RUNS] [PROGRAM]
//!   MODE     vec | exclusive | shared | map | cursor | cursor_step | owner
//!   RUNS     how many times the program runs (default 100)
//!   PROGRAM  prefix (fetch + load + store, default) | checksum (fetch + load)
//! ```
//!
//! Every mode does the same work outside the measured runs (one 1 MiB
//! memory, the program loaded once, one counting pre-run on a `Vec<u8>`,
//! one line printed), and the script subtracts a short run from a long one,
//! so set-up, allocation and printing cancel. Output, one line:
//! `mode=shared program=prefix runs=100 accesses=205200 steps=154000`.
//! Exit code 2: the mode is named but not built yet (see [`Mode`]).

use std::cell::Cell;
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use vm_mem::{Cursor, MemoryMap, MmioDevice, OwnerMap, PerStep, Perms, ShardedMemory, VmError};

/// The toy simulator, alone (the rest of `benches/common` is not needed).
#[path = "../benches/common/sim.rs"]
#[allow(dead_code)] // the tables' program names are not printed here
mod sim;
use sim::{iss, Bus, VecBus};

/// The guest memory: 1 MiB in 64 shards of 16 KiB, as in the benches.
type Mem = ShardedMemory<64, { 16 * 1024 }>;

/// Where the map puts its one MMIO device (above the RAM, untouched by the
/// programs: it shapes the map's lookup table, as a UART does in a board).
const DEVICE_BASE: u64 = 0x1000_0000;

/// The memory the simulator runs on.
///
/// Extension point: a new path is one variant here, its name in
/// [`Mode::parse`] and one arm in [`main`] that builds a value implementing
/// `MemoryAccess` (every vm-mem kind does; the simulator runs on any of
/// them) and passes it to [`measure`].
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Baseline: a plain bounds-checked `Vec<u8>`.
    Vec,
    /// `ShardedMemory::exclusive()`, the `&mut` view.
    Exclusive,
    /// `&ShardedMemory`, the shared path.
    Shared,
    /// `&MemoryMap` with the memory as RAM at 0 and one MMIO device.
    Map,
    /// The same map through a per-CPU cursor (`MemoryMap::cpu`).
    Cursor,
    /// The same map through a per-step cursor (`MemoryMap::cpu_per_step`),
    /// stepped at every instruction fetch.
    CursorStep,
    /// The same machine as an `OwnerMap` over the memory it holds by `&mut`.
    Owner,
}

impl Mode {
    /// The mode a command-line name selects.
    fn parse(name: &str) -> Option<Mode> {
        Some(match name {
            "vec" => Mode::Vec,
            "exclusive" => Mode::Exclusive,
            "shared" => Mode::Shared,
            "map" => Mode::Map,
            "cursor" => Mode::Cursor,
            "cursor_step" => Mode::CursorStep,
            "owner" => Mode::Owner,
            _ => return None,
        })
    }
}

/// The map's device: a write-only console that counts the bytes it gets.
struct Console(AtomicU64);

impl MmioDevice for Console {
    fn read(&self, _offset: u64, _size: usize) -> Result<u64, VmError> {
        Ok(0)
    }
    fn write(&self, _offset: u64, _size: usize, _value: u64) -> Result<(), VmError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A bus that counts the accesses it forwards: used once, outside the
/// measured runs, so every mode's access count comes from the same place.
struct Counting<'b, B> {
    /// The bus counted.
    inner: &'b mut B,
    /// Fetches, loads and stores so far.
    n: Cell<u64>,
}

impl<B: Bus> Bus for Counting<'_, B> {
    fn fetch(&self, pc: u64) -> Result<u32, VmError> {
        self.n.set(self.n.get() + 1);
        self.inner.fetch(pc)
    }
    fn load(&self, addr: u64) -> Result<u32, VmError> {
        self.n.set(self.n.get() + 1);
        self.inner.load(addr)
    }
    fn store(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        self.n.set(self.n.get() + 1);
        self.inner.store(addr, v)
    }
}

/// Guest memory accesses (fetches, loads, stores) one run of `program`
/// makes, counted on a fresh `Vec<u8>` (the same fixed cost in every mode).
fn accesses_per_run(program: &iss::Program) -> Result<u64, VmError> {
    let mut vec = VecBus(vec![0; Mem::SIZE]);
    iss::load(&mut vec, program)?;
    let mut counting = Counting {
        inner: &mut vec,
        n: Cell::new(0),
    };
    iss::run(&mut counting)?;
    Ok(counting.n.get())
}

/// A per-step cursor stepped at every instruction fetch: its validation
/// point, as an interpreter calls `step` once per instruction.
struct Stepped<'m, 'a>(Cursor<'m, 'a, 4, 16, &'m MemoryMap<'a, 4>, PerStep>);

impl Bus for Stepped<'_, '_> {
    #[inline(always)]
    fn fetch(&self, pc: u64) -> Result<u32, VmError> {
        self.0.step();
        self.0.fetch_u32(pc)
    }
    #[inline(always)]
    fn load(&self, addr: u64) -> Result<u32, VmError> {
        self.0.read_u32(addr)
    }
    #[inline(always)]
    fn store(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        self.0.write_u32(addr, v)
    }
}

/// Loads `program` into `bus` and runs it `runs` times; returns the
/// instructions executed. Checks the program's result, so a mode that
/// computed nothing (or the wrong thing) fails rather than looks fast.
fn measure<B: Bus>(bus: &mut B, program: &iss::Program, runs: u64) -> Result<u64, String> {
    let err = |e: VmError| format!("guest memory error: {e}");
    iss::load(bus, program).map_err(err)?;
    let mut steps = 0;
    for _ in 0..runs {
        steps += iss::run(black_box(&mut *bus)).map_err(err)?;
    }
    if steps != program.steps * runs {
        return Err(format!(
            "ran {steps} instructions, expected {}",
            program.steps * runs
        ));
    }
    match iss::result(bus).map_err(err)? {
        iss::TOTAL => Ok(steps),
        other => Err(format!("wrong result {other}, expected {}", iss::TOTAL)),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: callgrind_iss vec|exclusive|shared|map|cursor|cursor_step|owner [RUNS] [prefix|checksum]";
    let Some(mode) = args.first().and_then(|m| Mode::parse(m)) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let runs = match args.get(1).map(|r| r.parse::<u64>()) {
        None => 100,
        Some(Ok(r)) => r,
        Some(Err(_)) => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    let (name, program) = match args.get(2).map(String::as_str) {
        None | Some("prefix") => ("prefix", &iss::PREFIX_SUMS),
        Some("checksum") => ("checksum", &iss::CHECKSUM),
        Some(_) => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    let per_run = match accesses_per_run(program) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("counting run failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    // The same allocations in every mode: the vector and the memory.
    let mut vec = VecBus(vec![0; Mem::SIZE]);
    let mut mem = Mem::new_boxed();
    let console = Console(AtomicU64::new(0));
    let steps = match mode {
        Mode::Vec => measure(&mut vec, program, runs),
        Mode::Exclusive => measure(&mut mem.exclusive(), program, runs),
        Mode::Shared => measure(&mut &*mem, program, runs),
        Mode::Map => {
            let map: MemoryMap<'_, 4> = MemoryMap::new();
            let built = map
                .add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, &*mem)
                .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &console));
            match built {
                Ok(()) => measure(&mut &map, program, runs),
                Err(e) => Err(format!("building the map: {e}")),
            }
        }
        Mode::Cursor => {
            let map: MemoryMap<'_, 4> = MemoryMap::new();
            let built = map
                .add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, &*mem)
                .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &console));
            match built {
                Ok(()) => measure(&mut map.cpu(), program, runs),
                Err(e) => Err(format!("building the map: {e}")),
            }
        }
        Mode::CursorStep => {
            let map: MemoryMap<'_, 4> = MemoryMap::new();
            let built = map
                .add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, &*mem)
                .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &console));
            match built {
                Ok(()) => measure(&mut Stepped(map.cpu_per_step()), program, runs),
                Err(e) => Err(format!("building the map: {e}")),
            }
        }
        Mode::Owner => {
            let map: OwnerMap<'_, 4> = OwnerMap::new();
            let built = map
                .add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, &mut *mem)
                .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &console));
            match built {
                Ok(()) => measure(&mut { map }, program, runs),
                Err(e) => Err(format!("building the map: {e}")),
            }
        }
    };
    match steps {
        Ok(steps) => {
            println!(
                "mode={} program={name} runs={runs} accesses={} steps={steps}",
                args[0],
                per_run * runs
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mode {mode:?}: {e}");
            ExitCode::FAILURE
        }
    }
}
