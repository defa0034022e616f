//! The rehosted board: rrs-lib's RV32IM executor over a vm-mem
//! [`OwnerMap`] with flash (the firmware image, frozen: ROM), SRAM with a
//! guard page `protect`ed read-only, and a UART whose receive side is the
//! fuzz input. One [`Machine`] per process (each LibAFL client builds its
//! own): it boots the firmware once, to its first `wfi`, takes a
//! [`MachineSnapshot`] (memory, map, UART, CPU registers), and then
//! [`Machine::run`] restores that snapshot, feeds one input and runs the
//! CPU until the firmware idles again, faults, or uses up its budget.
//!
//! Coverage: an edge `(pc, next pc)` is counted in the caller's edge map
//! for every jump and taken branch, and for every conditional branch not
//! taken (a branch's two ways are two edges), hashed into the map's size.

use std::cell::{Cell, RefCell};

use rrs_lib::instruction_executor::{InstructionException, InstructionExecutor};
use rrs_lib::{HartState, MemAccessSize, Memory};
use vm_mem::{
    DeviceState, ErrorKind, MachineSnapshot, MmioDevice, OwnerMap, Perms, ShardedMemory, Snapshot,
    VmError,
};

/// The firmware image (built by `firmware/build.sh` from `firmware/fw.rs`).
pub const FIRMWARE: &[u8] = include_bytes!("../firmware/fw.bin");

/// 64 KiB of flash at 0, in 4 KiB shards.
type Flash = ShardedMemory<16, 4096>;
/// 64 KiB of SRAM, in 4 KiB shards (a restore copies back the shards a
/// run wrote: the firmware's globals, its stack, the record buffer).
type Sram = ShardedMemory<16, 4096>;
/// Room for flash, SRAM (split in three by the guard page) and the UART.
const REGIONS: usize = 8;
type Map = OwnerMap<'static, REGIONS>;
/// The machine snapshot: one memory registered (SRAM; flash is frozen and
/// needs none), two states (the UART's and the CPU's, 144 bytes). The
/// capacities are the default ones (4 memories, 8 states, 256 bytes) so
/// that `new_boxed` names the same snapshot before and after vm-mem's
/// issue 25 (which kept `new`/`new_boxed` for these and added
/// `new_sized_boxed` for others).
type Snap = MachineSnapshot<'static, 'static, REGIONS, 4, 8, 256>;

pub const FLASH_BASE: u64 = 0x0000_0000;
pub const SRAM_BASE: u64 = 0x2000_0000;
/// The guard page: between the firmware's data (the record buffer ends
/// here) and its stack; the harness protects it read-only, as the board's
/// MPU would.
pub const GUARD: u64 = 0x2000_8000;
pub const GUARD_LEN: u64 = 0x1000;
pub const UART_BASE: u64 = 0x4001_1000;

/// `wfi`: rrs-lib has no system instructions, so it arrives as an illegal
/// instruction; the firmware executes it when it has nothing to do.
const WFI: u32 = 0x1050_0073;

/// The edge map's size (a power of two): the firmware has about a hundred
/// edges (LibAFL's map work per execution, reset, hit-count buckets and
/// the novelty check, is proportional to it).
pub const MAP_SIZE: usize = 1 << 10;

/// The UART: status at +0 (bit 0 a byte is waiting, bit 1 the input
/// ended), data at +4 (a read pops the next input byte), transmit at +8
/// (counts the bytes the firmware sent). Its registers are `Cell`s: the
/// owner map is one thread's machine.
#[derive(Default)]
pub struct Uart {
    input: RefCell<Vec<u8>>,
    /// The next input byte to hand out.
    pos: Cell<u32>,
    /// Bytes transmitted.
    sent: Cell<u32>,
    dirty: Cell<bool>,
}

impl Uart {
    /// Puts `input` in the receive FIFO, from its first byte.
    pub fn feed(&self, input: &[u8]) {
        let mut fifo = self.input.borrow_mut();
        fifo.clear();
        fifo.extend_from_slice(input);
        self.pos.set(0);
        self.dirty.set(true);
    }
}

impl MmioDevice for Uart {
    fn read(&self, offset: u64, _size: usize) -> Result<u64, VmError> {
        let fifo = self.input.borrow();
        let pos = self.pos.get() as usize;
        Ok(match offset {
            0 if pos < fifo.len() => 1,
            0 => 2,
            4 => match fifo.get(pos) {
                Some(&b) => {
                    self.pos.set(pos as u32 + 1);
                    self.dirty.set(true);
                    b.into()
                }
                None => 0,
            },
            _ => 0,
        })
    }

    fn write(&self, offset: u64, _size: usize, _value: u64) -> Result<(), VmError> {
        if offset == 8 {
            self.sent.set(self.sent.get().wrapping_add(1));
            self.dirty.set(true);
        }
        Ok(())
    }

    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}

/// The UART's state in a snapshot: its cursor, its transmit count and the
/// input's length (the input itself is the harness's, fed per run).
impl DeviceState for Uart {
    fn state_len(&self) -> usize {
        12
    }

    fn save(&self, out: &mut [u8]) -> usize {
        out[..4].copy_from_slice(&self.pos.get().to_le_bytes());
        out[4..8].copy_from_slice(&self.sent.get().to_le_bytes());
        out[8..12].copy_from_slice(&(self.input.borrow().len() as u32).to_le_bytes());
        12
    }

    fn restore(&self, from: &[u8]) {
        let word = |i: usize| u32::from_le_bytes(from[i..i + 4].try_into().unwrap());
        self.pos.set(word(0));
        self.sent.set(word(4));
        self.input.borrow_mut().resize(word(8) as usize, 0);
        self.dirty.set(false);
    }

    fn changed(&self) -> bool {
        self.dirty.get()
    }

    fn mark_clean(&self) {
        self.dirty.set(false);
    }
}

/// The CPU's registers, as machine-snapshot state ([`OwnerMap::add_state`]).
pub struct Cpu {
    hart: RefCell<HartState>,
}

impl DeviceState for Cpu {
    fn state_len(&self) -> usize {
        33 * 4
    }

    fn save(&self, out: &mut [u8]) -> usize {
        let h = self.hart.borrow();
        for (i, r) in h.registers.iter().chain([&h.pc]).enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&r.to_le_bytes());
        }
        33 * 4
    }

    fn restore(&self, from: &[u8]) {
        let mut h = self.hart.borrow_mut();
        let word = |i: usize| u32::from_le_bytes(from[4 * i..4 * i + 4].try_into().unwrap());
        for i in 0..32 {
            h.registers[i] = word(i);
        }
        h.pc = word(32);
        h.last_register_write = None;
    }

    /// Every run changes the registers.
    fn changed(&self) -> bool {
        true
    }

    fn mark_clean(&self) {}
}

/// The owner map as rrs-lib's `Memory`, keeping the last `VmError` (rrs-lib
/// only sees success or failure).
struct Bus {
    map: &'static Map,
    fault: &'static Cell<Option<VmError>>,
}

impl Memory for Bus {
    #[inline(always)]
    fn read_mem(&mut self, addr: u32, size: MemAccessSize) -> Option<u32> {
        let a = u64::from(addr);
        let r = match size {
            MemAccessSize::Byte => self.map.read_u8(a).map(u32::from),
            MemAccessSize::HalfWord => self.map.read_u16(a).map(u32::from),
            MemAccessSize::Word => self.map.read_u32(a),
        };
        r.map_err(|e| self.fault.set(Some(e))).ok()
    }

    #[inline(always)]
    fn write_mem(&mut self, addr: u32, size: MemAccessSize, v: u32) -> bool {
        let a = u64::from(addr);
        let r = match size {
            MemAccessSize::Byte => self.map.write_u8(a, v as u8),
            MemAccessSize::HalfWord => self.map.write_u16(a, v as u16),
            MemAccessSize::Word => self.map.write_u32(a, v),
        };
        r.map_err(|e| self.fault.set(Some(e))).is_ok()
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The firmware idles (`wfi`): it consumed the input.
    Idle,
    /// A guest fault: the objective.
    Fault(Fault),
    /// The instruction budget ran out.
    Budget,
}

/// A guest fault: the CPU's exception and, for a memory access, vm-mem's
/// error.
#[derive(Debug)]
pub struct Fault {
    pub exception: InstructionException,
    pub memory: Option<VmError>,
}

impl Fault {
    /// Whether this is the planted bug: a write refused by the guard
    /// page's permissions.
    pub fn is_guard_write(&self) -> bool {
        matches!(self.memory, Some(e) if matches!(e.kind(), ErrorKind::Permission { .. })
            && (GUARD..GUARD + GUARD_LEN).contains(&e.addr()))
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x?}", self.exception)?;
        if let Some(e) = &self.memory {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// The rehosted board, booted and snapshotted.
pub struct Machine {
    map: &'static Map,
    uart: &'static Uart,
    cpu: &'static Cpu,
    snap: RefCell<&'static mut Snap>,
    fault: &'static Cell<Option<VmError>>,
    /// Whether the word at flash address 4i is a conditional branch.
    branch: Vec<bool>,
    /// Guest instructions per run at most.
    pub budget: u64,
    /// Guest instructions executed by all runs so far.
    pub instructions: Cell<u64>,
}

fn leak<T>(v: T) -> &'static mut T {
    Box::leak(Box::new(v))
}

impl Machine {
    /// Builds the board, boots the firmware to its first `wfi` and takes
    /// the snapshot every run starts from. Leaks the board (rrs-lib's
    /// `Memory` must be `'static`): build one per process.
    pub fn boot(budget: u64) -> Result<Machine, Box<dyn std::error::Error>> {
        let flash: &'static Flash = Box::leak(Flash::new_boxed());
        if FIRMWARE.len() > Flash::SIZE {
            return Err("the firmware does not fit the flash".into());
        }
        flash.write_bytes(0, FIRMWARE)?;
        let rom = leak(flash.freeze());
        let sram: &'static mut Sram = Box::leak(Sram::new_boxed());
        let uart = leak(Uart::default());
        let cpu = leak(Cpu {
            hart: RefCell::new(HartState::new()),
        });
        let map: &'static Map = leak(OwnerMap::new());
        map.add_rom("flash", FLASH_BASE, Flash::SIZE as u64, Perms::RX, rom)?;
        map.add_ram("sram", SRAM_BASE, Sram::SIZE as u64, Perms::RW, sram)?;
        map.add_mmio("uart", UART_BASE, 0x100, Perms::RW, uart)?;
        map.protect(GUARD..=GUARD + GUARD_LEN - 1, Perms::READ)?;

        let sram_snap: &'static mut Snapshot<16, 4096> = Box::leak(Snapshot::new_boxed());
        let snap: &'static mut Snap = Box::leak(Snap::new_boxed());
        snap.add_memory_of("sram", sram_snap)?;
        map.add_state(snap, "cpu", cpu)?;

        let branch = (0..FIRMWARE.len() / 4)
            .map(|i| {
                let w = u32::from_le_bytes(FIRMWARE[4 * i..4 * i + 4].try_into().unwrap());
                w & 0x7f == 0x63
            })
            .collect();
        let m = Machine {
            map,
            uart,
            cpu,
            snap: RefCell::new(snap),
            fault: leak(Cell::new(None)),
            branch,
            budget,
            instructions: Cell::new(0),
        };
        // Reset: the firmware boots with no input and idles at its first
        // `wfi`; the snapshot is taken woken up, one instruction on.
        m.cpu.hart.borrow_mut().pc = FLASH_BASE as u32;
        match m.step_until_idle(&mut [0; MAP_SIZE], 1_000_000) {
            (Outcome::Idle, _) => {}
            (o, _) => {
                return Err(format!("the firmware did not boot to its idle loop: {o:?}").into())
            }
        }
        m.cpu.hart.borrow_mut().pc += 4;
        m.map.snapshot(*m.snap.borrow_mut())?;
        m.instructions.set(0);
        Ok(m)
    }

    /// Restores the booted machine, feeds `input` to the UART and runs the
    /// firmware until it idles, faults or runs `budget` instructions,
    /// counting edges into `edges` (`MAP_SIZE` bytes).
    #[inline]
    pub fn run(&self, input: &[u8], edges: &mut [u8; MAP_SIZE]) -> Outcome {
        self.map
            .restore(*self.snap.borrow_mut())
            .expect("restoring the machine snapshot");
        self.uart.feed(input);
        let (outcome, steps) = self.step_until_idle(edges, self.budget);
        self.instructions.set(self.instructions.get() + steps);
        outcome
    }

    /// Restores the snapshot and compares the whole machine with it
    /// (memory byte for byte, the map's table, the UART's and the CPU's
    /// state): `replay --check` runs it after every input.
    pub fn check_restore(&self) -> Result<(), String> {
        let mut snap = self.snap.borrow_mut();
        self.map.restore(&mut **snap).map_err(|e| e.to_string())?;
        match self.map.diff(&**snap, &mut [0; 256]) {
            Ok(None) => Ok(()),
            Ok(Some(d)) => Err(format!(
                "the restored machine differs from its snapshot: {d:?}"
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Steps the CPU; returns how it stopped and the instructions run.
    fn step_until_idle(&self, edges: &mut [u8; MAP_SIZE], budget: u64) -> (Outcome, u64) {
        let mut hart = self.cpu.hart.borrow_mut();
        let mut bus = Bus {
            map: self.map,
            fault: self.fault,
        };
        self.fault.set(None);
        let mut cpu = InstructionExecutor {
            hart_state: &mut hart,
            mem: &mut bus,
        };
        for steps in 0..budget {
            let pc = cpu.hart_state.pc;
            match cpu.step() {
                Ok(()) => {
                    let next = cpu.hart_state.pc;
                    let branch = self
                        .branch
                        .get((pc >> 2) as usize)
                        .copied()
                        .unwrap_or(false);
                    if next != pc.wrapping_add(4) || branch {
                        let h = (pc.rotate_left(7) ^ next).wrapping_mul(0x9e37_79b1);
                        let e = &mut edges[(h >> (32 - MAP_SIZE.trailing_zeros())) as usize];
                        *e = e.wrapping_add(1);
                    }
                }
                Err(InstructionException::IllegalInstruction(_, WFI)) => {
                    return (Outcome::Idle, steps + 1)
                }
                Err(exception) => {
                    let memory = match exception {
                        InstructionException::FetchError(_)
                        | InstructionException::LoadAccessFault(_)
                        | InstructionException::StoreAccessFault(_) => self.fault.take(),
                        _ => None,
                    };
                    return (Outcome::Fault(Fault { exception, memory }), steps + 1);
                }
            }
        }
        (Outcome::Budget, budget)
    }
}
