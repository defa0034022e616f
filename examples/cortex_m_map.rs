//! A Cortex-M-shaped memory map: a flash image loaded and frozen at
//! `0x0800_0000`, SRAM at `0x2000_0000`, a UART at `0x4000_c000` whose
//! data register prints to stdout, and a 4-byte timer register block at
//! `0x4003_0000` (no page around it). A toy 16-bit CPU (below) runs a
//! program from flash that copies a string from flash to the UART, counting
//! bytes in an SRAM word that a watchpoint (an access hook) reports on, and
//! reads the timer at the end; every fetch, load and store goes through the
//! map.
//!
//! Then the live map: a remap register (`SYSCFG_MEMRMP`-style, a device
//! whose write callback moves flash, here to address 0 and back, while the
//! map is in use), and a guest atomic counter bumped by two vCPU threads
//! through the map.
//!
//! ```sh
//! cargo run --features std --example cortex_m_map
//! ```
//!
//! The toy ISA (one 16-bit instruction, `op` in the top nibble):
//! `0x0000` halt; `1rii` r = imm8; `2rs0` r = byte [s]; `3rs0` byte [s] = r;
//! `4rii` r += imm8; `5rs0` r = word [s]; `6rs0` word [s] = r;
//! `7rii` if r == 0 skip ii instructions; `8rii` r = word [pc_next + 4*ii]
//! (a literal from flash); `9iii` jump back iii instructions from pc_next.

use core::sync::atomic::{AtomicU32, Ordering};
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use vm_mem::{
    Access, AccessHook, Cursor, ErrorKind, MemoryMap, MmioDevice, Perms, ShardedMemory, VmError,
    WriteData,
};

const FLASH_BASE: u64 = 0x0800_0000;
const SRAM_BASE: u64 = 0x2000_0000;
const UART_BASE: u64 = 0x4000_c000;
const TIMER_BASE: u64 = 0x4003_0000;
const REMAP_BASE: u64 = 0x4001_3800;
/// The SRAM word the program counts in, and the watchpoint watches.
const COUNTER: u64 = SRAM_BASE + 0x10;

static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new(); // 4 KiB
static SRAM: ShardedMemory<16, 1024> = ShardedMemory::new(); // 16 KiB

/// A Stellaris-style UART: data register at 0x000 (writes send the byte:
/// printed to stdout a line at a time, so the trace stays readable), flag
/// register at 0x018 (reads 0: never busy), the rest reads as zero.
struct Uart {
    sent: AtomicU32,
    line: Mutex<Vec<u8>>,
}

impl MmioDevice for Uart {
    fn read(&self, _offset: u64, _size: usize) -> Result<u64, VmError> {
        Ok(0)
    }

    fn write(&self, offset: u64, _size: usize, value: u64) -> Result<(), VmError> {
        if offset == 0 {
            self.sent.fetch_add(1, Ordering::Relaxed);
            let mut line = self.line.lock().unwrap_or_else(|e| e.into_inner());
            line.push(value as u8);
            if value as u8 == b'\n' {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(b"uart0> ");
                let _ = out.write_all(&line);
                line.clear();
            }
        }
        Ok(())
    }
}

/// A 4-byte timer register block: reads return microseconds since start
/// (any width, any offset inside the block: one call each).
struct Timer {
    start: Instant,
}

impl MmioDevice for Timer {
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        let now = self.start.elapsed().as_micros() as u32;
        let bytes = now.to_le_bytes();
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(&bytes[offset as usize..offset as usize + size]);
        Ok(u64::from_le_bytes(le))
    }

    fn write(&self, _offset: u64, _size: usize, _value: u64) -> Result<(), VmError> {
        Err(VmError::new(ErrorKind::Device, Access::Write, 0, 0)) // read-only timer
    }
}

/// A remap register: a write moves the "flash" region to the address
/// written (a boot-ROM remap, done from inside the device's callback while
/// the map is live); a read returns where flash is now. The device reaches
/// the map through a reference set once the map exists (the map borrows
/// the device, so the device cannot own the map).
struct Remap<'m> {
    map: OnceLock<&'m MemoryMap<'m, 8>>,
}

impl MmioDevice for Remap<'_> {
    fn read(&self, _offset: u64, _size: usize) -> Result<u64, VmError> {
        let map = self.map.get().expect("wired after the map is built");
        Ok(map.region("flash").map_or(u64::MAX, |r| r.base()))
    }

    fn write(&self, _offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        let map = self.map.get().expect("wired after the map is built");
        map.move_region("flash", value).map_err(|e| {
            println!("  remap refused: {e}");
            VmError::new(ErrorKind::Device, Access::Write, 0, size)
        })
    }
}

/// A watchpoint: prints every write to the word it watches.
struct Watchpoint;

impl AccessHook for Watchpoint {
    fn write(&self, addr: u64, data: WriteData<'_>) -> bool {
        println!(
            "  watchpoint: {}-byte write of {:#x} at {addr:#x}",
            data.len(),
            data.value().unwrap_or(0)
        );
        true
    }
}

/// The flash image: vector table, program, literal pool, message.
fn image() -> Vec<u8> {
    let program: [u16; 14] = [
        0x810a, // 0x08: r1 = literal [0x30] (msg)
        0x820a, // 0x0a: r2 = literal [0x34] (UART data register)
        0x830b, // 0x0c: r3 = literal [0x38] (counter in SRAM)
        0x2010, // 0x0e: loop: r0 = byte [r1]
        0x7006, // 0x10: if r0 == 0 skip 6 (to halt)
        0x3020, // 0x12: byte [r2] = r0   (the UART prints it)
        0x5430, // 0x14: r4 = word [r3]
        0x4401, // 0x16: r4 += 1
        0x6430, // 0x18: word [r3] = r4
        0x4101, // 0x1a: r1 += 1
        0x9008, // 0x1c: jump back 8 (to loop)
        0x8507, // 0x1e: r5 = literal [0x3c] (timer)
        0x5650, // 0x20: r6 = word [r5]   (one 4-byte device call)
        0x0000, // 0x22: halt
    ];
    let mut img = Vec::new();
    img.extend_from_slice(&(SRAM_BASE as u32 + 0x4000).to_le_bytes()); // initial SP
    img.extend_from_slice(&(FLASH_BASE as u32 + 0x08 + 1).to_le_bytes()); // reset, Thumb bit
    for insn in program {
        img.extend_from_slice(&insn.to_le_bytes());
    }
    // Literal pool at 0x30: `8rii` loads from (pc_next & !3) + 4 * ii.
    img.resize(0x30, 0);
    for lit in [
        FLASH_BASE as u32 + 0x100,
        UART_BASE as u32,
        COUNTER as u32,
        TIMER_BASE as u32,
    ] {
        img.extend_from_slice(&lit.to_le_bytes());
    }
    img.resize(0x100, 0);
    img.extend_from_slice(b"Hello, map!\n\0");
    img
}

/// Runs the toy CPU from the reset vector; prints a trace of the first
/// `trace` steps. It accesses the map through its own [`Cursor`], the
/// vCPU's lookup cache (the fastest path for a shared map: a device here
/// remaps flash, so the map stays shared).
fn run(map: &Cursor<'_, '_, 8>, trace: usize) -> Result<usize, VmError> {
    let mut r = [0u32; 8];
    let mut pc = u64::from(map.read_u32(FLASH_BASE + 4)? & !1);
    for step in 0.. {
        let insn = map.fetch_u16(pc)?;
        let next = pc + 2;
        let (op, rd, rs) = (
            insn >> 12,
            usize::from(insn >> 8 & 7),
            usize::from(insn >> 4 & 7),
        );
        let imm = u32::from(insn & 0xff);
        let what = match op {
            0 => {
                println!(
                    "{pc:#010x}: halt after {step} instructions; the timer read {} us",
                    r[6]
                );
                return Ok(step);
            }
            1 => {
                r[rd] = imm;
                format!("r{rd} = {imm:#x}")
            }
            2 => {
                r[rd] = u32::from(map.read_u8(u64::from(r[rs]))?);
                format!("load byte [{:#x}] -> {:#04x}", r[rs], r[rd])
            }
            3 => {
                map.write_u8(u64::from(r[rs]), r[rd] as u8)?;
                format!("store byte {:#04x} -> [{:#x}]", r[rd], r[rs])
            }
            4 => {
                r[rd] = r[rd].wrapping_add(imm);
                format!("r{rd} += {imm} -> {:#x}", r[rd])
            }
            5 => {
                r[rd] = map.read_u32(u64::from(r[rs]))?;
                format!("load word [{:#x}] -> {:#x}", r[rs], r[rd])
            }
            6 => {
                map.write_u32(u64::from(r[rs]), r[rd])?;
                format!("store word {:#x} -> [{:#x}]", r[rd], r[rs])
            }
            7 => {
                let taken = r[rd] == 0;
                if taken {
                    pc = next + 2 * u64::from(imm);
                }
                format!("r{rd} == 0? {taken}")
            }
            8 => {
                let lit = (next & !3) + 4 * u64::from(imm);
                r[rd] = map.read_u32(lit)?;
                format!("r{rd} = literal [{lit:#x}] -> {:#x}", r[rd])
            }
            _ => {
                pc = next - 2 * u64::from(insn & 0xfff);
                "jump".to_string()
            }
        };
        if step < trace {
            println!("{:#010x}: {insn:#06x}  {what}", next - 2);
        } else if step == trace {
            println!("(trace off)");
        }
        if !matches!(op, 7 | 9) || (op == 7 && r[rd] != 0) {
            pc = next;
        }
    }
    unreachable!()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    FLASH.write_bytes(0, &image())?;
    let flash = FLASH.freeze(); // from now on ROM: lock-free reads, no writes
    let uart = Uart {
        sent: AtomicU32::new(0),
        line: Mutex::new(Vec::new()),
    };

    let timer = Timer {
        start: Instant::now(),
    };
    let watchpoint = Watchpoint;
    let remap = Remap {
        map: OnceLock::new(),
    };

    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_rom("flash", FLASH_BASE, 0x1000, Perms::RX, &flash)?;
    map.add_ram("sram", SRAM_BASE, 0x4000, Perms::RW, &SRAM)?;
    map.add_mmio("uart0", UART_BASE, 0x1000, Perms::RW, &uart)?;
    map.add_mmio("tim0", TIMER_BASE, 4, Perms::READ, &timer)?;
    map.add_mmio("syscfg", REMAP_BASE, 4, Perms::RW, &remap)?;
    assert!(remap.map.set(&map).is_ok(), "wired once");
    map.watch(COUNTER..=COUNTER + 3, Perms::WRITE, &watchpoint)?;
    println!("memory map:");
    for r in map.regions() {
        println!(
            "  {:<6} {:#010x}..={:#010x}  {}  {:?}",
            r.name(),
            r.base(),
            r.last(),
            r.perms(),
            r.kind()
        );
    }

    // The loop fetches, loads and stores through the map; trace a few steps.
    run(&map.cpu(), 12)?;
    println!(
        "counter in SRAM: {}, bytes the UART sent: {}",
        map.read_u32(COUNTER)?,
        uart.sent.load(Ordering::Relaxed)
    );

    // The timer block is 4 bytes: a 2-byte read of its top half is one
    // call at offset 2; one byte further is a hole.
    println!("timer high half: {:#06x}", map.read_u16(TIMER_BASE + 2)?);

    // The remap register: the guest writes 0 to it and flash appears at 0
    // (the device's callback moves the region); the first instruction is
    // fetched from there, then flash goes back.
    map.write_u32(REMAP_BASE, 0)?;
    println!(
        "remapped: flash at {:#x}, first instruction {:#06x}, {:#x} now {}",
        map.read_u32(REMAP_BASE)?,
        map.fetch_u16(8)?,
        FLASH_BASE,
        map.read_u8(FLASH_BASE).map_or("unmapped", |_| "mapped"),
    );
    map.write_u32(REMAP_BASE, FLASH_BASE as u32)?;
    assert_eq!(map.fetch_u16(FLASH_BASE + 8)?, 0x810a);

    // A guest atomic through the map: two vCPU threads count in one SRAM
    // word (LDREX/STREX or LDADD in a real CPU); none of the 2 x 10,000
    // increments is lost.
    let shared = SRAM_BASE + 0x40;
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    map.fetch_add::<u32>(shared, 1).expect("RAM takes atomics");
                }
            });
        }
    });
    println!("atomic counter: {}", map.read_u32(shared)?);

    // Protect one SRAM word read-only at run time (byte granular).
    map.protect(SRAM_BASE + 0x20..=SRAM_BASE + 0x23, Perms::READ)?;

    // What the map refuses, and how it says so.
    println!("refused accesses:");
    for e in [
        map.fetch_u16(SRAM_BASE).unwrap_err(), // SRAM is not executable
        map.write_u32(FLASH_BASE + 0x100, 0).unwrap_err(), // flash is ROM
        map.read_u32(0x1000_0000).unwrap_err(), // a hole
        map.read_u32(UART_BASE + 0xffe).unwrap_err(), // runs past the UART's end
        map.read_u32(TIMER_BASE + 2).unwrap_err(), // runs past the timer's end
        map.write_u32(TIMER_BASE, 0).unwrap_err(), // the timer is read-only
        map.write_u16(SRAM_BASE + 0x1f, 0).unwrap_err(), // touches the protected word
        map.swap::<u32>(UART_BASE, 0).unwrap_err(), // devices take no atomics
        map.write_u32(REMAP_BASE, SRAM_BASE as u32).unwrap_err(), // remap onto SRAM
    ] {
        println!("  {e}");
    }
    // A refused change names the regions; the map is unchanged.
    let clash = map.add_ram("clash", SRAM_BASE + 0x3ff0, 0x20, Perms::RW, &SRAM);
    println!("refused change:\n  {}", clash.unwrap_err());
    Ok(())
}
