//! vm-mem inside a real emulator from crates.io: rrs-lib 0.1.0's RISC-V
//! (RV32IM) instruction executor, which is generic over its `Memory` trait,
//! runs a compiled guest (`guest/guest.rs`, built into `guest/guest.bin`)
//! on the memory a command-line argument selects. `callgrind.sh` runs it
//! under callgrind and prints the extra host instructions each guest access
//! costs beyond rrs-lib on a plain `Vec<u8>`.
//!
//! ```text
//! real-emulator MODE ROUNDS
//!   MODE  vec | exclusive | shared | map | cursor | cursor_step | owner:
//!         run the guest
//!         count: run it on the Vec<u8> counting guest memory accesses
//! ```
//!
//! Every guest memory access goes through the `Memory` trait: each
//! instruction fetch (a 32-bit read) and each load and store (8, 16 or 32
//! bits). Output, one line: `mode=shared rounds=10 steps=… checksum=0x…`
//! (the checksum is the same in every mode, or the memory is wrong), or
//! for `count`, `rounds=10 accesses=…`. Exit code 2: the mode is named but
//! not built yet (the fast-map work adds `cursor` and `owner`: one arm in
//! `main` each, building a value that implements `MemoryAccess`).

use std::cell::Cell;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use rrs_lib::instruction_executor::{InstructionException, InstructionExecutor};
use rrs_lib::{HartState, MemAccessSize, Memory};
use vm_mem::{
    Cursor, MemoryAccess, MemoryMap, MmioDevice, OwnerMap, PerStep, Perms, ShardedMemory, VmError,
};

/// The guest image, loaded at address 0.
const GUEST: &[u8] = include_bytes!("../guest/guest.bin");
/// The guest RAM: 1 MiB in 64 shards of 16 KiB (as vm-mem's benches).
type Mem = ShardedMemory<64, { 16 * 1024 }>;
/// Where the guest stores its checksum; the stack grows down from here.
const RESULT: u32 = 0x000f_f000;
/// `unimp` (`csrrw x0, cycle, x0`): rrs-lib has no CSRs, so it is an
/// illegal instruction, and the guest's way to stop.
const UNIMP: u32 = 0xc000_1073;
/// Where the map puts its MMIO device (above RAM; the guest leaves it
/// alone, it shapes the map's table as a UART does on a board).
const DEVICE_BASE: u64 = 0x1000_0000;

/// rrs-lib's own kind of memory, as an emulator author writes it: a
/// bounds-checked `Vec<u8>`, little-endian. The baseline.
struct VecRam(Vec<u8>);

impl VecRam {
    /// The `N` bytes at `addr`, if all are in the vector.
    #[inline(always)]
    fn bytes<const N: usize>(&self, addr: u32) -> Option<[u8; N]> {
        let a = addr as usize;
        self.0.get(a..a + N)?.try_into().ok()
    }

    /// The `N` bytes at `addr` to write, if all are in the vector.
    #[inline(always)]
    fn bytes_mut<const N: usize>(&mut self, addr: u32) -> Option<&mut [u8; N]> {
        let a = addr as usize;
        self.0.get_mut(a..a + N)?.try_into().ok()
    }
}

impl Memory for VecRam {
    #[inline(always)]
    fn read_mem(&mut self, addr: u32, size: MemAccessSize) -> Option<u32> {
        match size {
            MemAccessSize::Byte => self.bytes::<1>(addr).map(|b| b[0].into()),
            MemAccessSize::HalfWord => self.bytes(addr).map(|b| u16::from_le_bytes(b).into()),
            MemAccessSize::Word => self.bytes(addr).map(u32::from_le_bytes),
        }
    }

    #[inline(always)]
    fn write_mem(&mut self, addr: u32, size: MemAccessSize, v: u32) -> bool {
        match size {
            MemAccessSize::Byte => self.bytes_mut::<1>(addr).map(|b| *b = [v as u8]),
            MemAccessSize::HalfWord => self.bytes_mut(addr).map(|b| *b = (v as u16).to_le_bytes()),
            MemAccessSize::Word => self.bytes_mut(addr).map(|b| *b = v.to_le_bytes()),
        }
        .is_some()
    }
}

/// Any vm-mem kind as rrs-lib's `Memory`, through the one `MemoryAccess`
/// trait every kind implements.
struct VmMem<M>(M);

impl<M: MemoryAccess + 'static> Memory for VmMem<M> {
    #[inline(always)]
    fn read_mem(&mut self, addr: u32, size: MemAccessSize) -> Option<u32> {
        let a = u64::from(addr);
        match size {
            MemAccessSize::Byte => self.0.read_u8(a).map(u32::from),
            MemAccessSize::HalfWord => self.0.read_u16(a).map(u32::from),
            MemAccessSize::Word => self.0.read_u32(a),
        }
        .ok()
    }

    #[inline(always)]
    fn write_mem(&mut self, addr: u32, size: MemAccessSize, v: u32) -> bool {
        let a = u64::from(addr);
        match size {
            MemAccessSize::Byte => self.0.write_u8(a, v as u8),
            MemAccessSize::HalfWord => self.0.write_u16(a, v as u16),
            MemAccessSize::Word => self.0.write_u32(a, v),
        }
        .is_ok()
    }
}

/// What the run loop calls before each instruction: a cursor that
/// validates per step ([`PerStep`]) checks there that the map did not
/// change, as QEMU flushes a vCPU's TLB at a translation-block boundary;
/// every other memory does nothing.
trait Step {
    #[inline(always)]
    fn step(&self) {}
}

impl Step for VecRam {}
impl<M> Step for Counting<M> {}
impl<M> Step for VmMem<M> {}

/// A per-step cursor: its accesses check no version, its `step` does.
struct PerStepCursor(
    VmMem<Cursor<'static, 'static, 4, 16, &'static MemoryMap<'static, 4>, PerStep>>,
);

impl Memory for PerStepCursor {
    #[inline(always)]
    fn read_mem(&mut self, addr: u32, size: MemAccessSize) -> Option<u32> {
        self.0.read_mem(addr, size)
    }

    #[inline(always)]
    fn write_mem(&mut self, addr: u32, size: MemAccessSize, v: u32) -> bool {
        self.0.write_mem(addr, size, v)
    }
}

impl Step for PerStepCursor {
    #[inline(always)]
    fn step(&self) {
        self.0 .0.step();
    }
}

/// Counts the accesses it forwards (the `count` mode, never measured).
struct Counting<M> {
    /// The memory counted.
    inner: M,
    /// Reads (fetches included) and writes so far, by width: byte,
    /// halfword, word.
    n: [[Cell<u64>; 3]; 2],
}

impl<M> Counting<M> {
    /// Counts one access.
    fn count(&self, write: bool, size: MemAccessSize) {
        let c = &self.n[usize::from(write)][size as usize];
        c.set(c.get() + 1);
    }

    /// All accesses counted.
    fn total(&self) -> u64 {
        self.n.iter().flatten().map(Cell::get).sum()
    }
}

impl<M: Memory> Memory for Counting<M> {
    fn read_mem(&mut self, addr: u32, size: MemAccessSize) -> Option<u32> {
        self.count(false, size);
        self.inner.read_mem(addr, size)
    }
    fn write_mem(&mut self, addr: u32, size: MemAccessSize, v: u32) -> bool {
        self.count(true, size);
        self.inner.write_mem(addr, size, v)
    }
}

/// The map's device: a write-only console counting the bytes it gets.
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

/// Loads the guest into `mem`, runs `rounds` rounds to its `unimp`, and
/// returns (instructions executed, checksum).
fn run<M: Memory + Step>(mem: &mut M, rounds: u32) -> Result<(u64, u32), String> {
    for (i, &b) in GUEST.iter().enumerate() {
        if !mem.write_mem(i as u32, MemAccessSize::Byte, b.into()) {
            return Err(format!("loading the guest failed at {i:#x}"));
        }
    }
    let mut hart = HartState::new();
    hart.pc = 0;
    hart.registers[2] = RESULT; // sp
    hart.registers[10] = rounds; // a0
    hart.registers[11] = RESULT; // a1
    let mut cpu = InstructionExecutor {
        hart_state: &mut hart,
        mem,
    };
    let mut steps = 0u64;
    loop {
        cpu.mem.step();
        match cpu.step() {
            Ok(()) => steps += 1,
            Err(InstructionException::IllegalInstruction(_, UNIMP)) => break,
            Err(e) => return Err(format!("guest fault after {steps} instructions: {e:?}")),
        }
    }
    let sum = cpu
        .mem
        .read_mem(RESULT, MemAccessSize::Word)
        .ok_or("reading the checksum failed")?;
    Ok((steps, sum))
}

/// Leaks `v`: rrs-lib's `Memory` must be `'static` (it is `Downcast`), so
/// the vm-mem handles borrow memories that live as long as the process.
fn leak<T>(v: T) -> &'static mut T {
    Box::leak(Box::new(v))
}

/// The shared map the map and cursor modes run on: `mem` as RAM at 0 and
/// the console above it.
fn shared_map(mem: &'static Mem) -> Result<&'static MemoryMap<'static, 4>, String> {
    let console = leak(Console(AtomicU64::new(0)));
    let map = leak(MemoryMap::<'static, 4>::new());
    map.add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, mem)
        .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &*console))
        .map_err(|e| format!("building the map: {e}"))?;
    Ok(map)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: real-emulator vec|exclusive|shared|map|cursor|cursor_step|owner|count ROUNDS";
    let (Some(mode), Some(Ok(rounds))) = (args.first(), args.get(1).map(|r| r.parse::<u32>()))
    else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    // The same allocations in every mode: the vector and the memory.
    let vec = VecRam(vec![0; Mem::SIZE]);
    let mem: &'static mut Mem = Box::leak(Mem::new_boxed());
    let shared = |mem: &'static mut Mem| -> &'static Mem { mem };
    let result = match mode.as_str() {
        "vec" => run(&mut { vec }, rounds),
        "exclusive" => run(&mut VmMem(mem.exclusive()), rounds),
        "shared" => run(&mut VmMem(shared(mem)), rounds),
        "map" => shared_map(shared(mem)).and_then(|map| run(&mut VmMem(map), rounds)),
        "count" => {
            let mut counting = Counting {
                inner: vec,
                n: Default::default(),
            };
            match run(&mut counting, rounds) {
                Ok((steps, _)) => {
                    // The loader's byte stores and the checksum read are
                    // set-up, not guest accesses.
                    let n = |w: usize, s: usize| counting.n[w][s].get();
                    let accesses = counting.total() - GUEST.len() as u64 - 1;
                    let loads = n(0, 0) + n(0, 1) + n(0, 2) - steps - 1;
                    let stores = n(1, 0) + n(1, 1) + n(1, 2) - GUEST.len() as u64;
                    println!(
                        "rounds={rounds} accesses={accesses} fetches={steps} \
                         loads={loads} (8/16/32 bits: {}/{}/{}) stores={stores} \
                         (8/16/32 bits: {}/{}/{})",
                        n(0, 0),
                        n(0, 1),
                        n(0, 2) - steps - 1,
                        n(1, 0) - GUEST.len() as u64,
                        n(1, 1),
                        n(1, 2),
                    );
                    return ExitCode::SUCCESS;
                }
                Err(e) => Err(e),
            }
        }
        "cursor" => shared_map(shared(mem)).and_then(|map| run(&mut VmMem(map.cpu()), rounds)),
        "cursor_step" => shared_map(shared(mem))
            .and_then(|map| run(&mut PerStepCursor(VmMem(map.cpu_per_step())), rounds)),
        "owner" => {
            let console = leak(Console(AtomicU64::new(0)));
            let map = OwnerMap::<'static, 4>::new();
            let built = map
                .add_ram("ram", 0, Mem::SIZE as u64, Perms::RWX, mem)
                .and_then(|()| map.add_mmio("console", DEVICE_BASE, 0x100, Perms::RW, &*console));
            match built {
                Ok(()) => run(&mut VmMem(map), rounds),
                Err(e) => Err(format!("building the map: {e}")),
            }
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok((steps, sum)) => {
            println!("mode={mode} rounds={rounds} steps={steps} checksum={sum:#010x}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mode {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}
