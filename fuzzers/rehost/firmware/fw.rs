//! The fuzzed firmware: a small RV32IM program, written as a C firmware
//! would be (static state, a byte-by-byte parser, volatile MMIO), that
//! reads frames from a UART and answers them. Built by `build.sh` into
//! `fw.bin`, a flat image loaded at address 0 (flash); `fw.ld` is its
//! memory map.
//!
//! Boot (`_start`): stack at the top of SRAM, `.data` copied from flash,
//! `.bss` zeroed, then `main`: poll the UART, feed each byte to the parser,
//! and `wfi` (idle) when no byte is waiting. The harness snapshots the
//! machine at the first `wfi` and, per input, restores it, puts the input
//! in the UART and wakes the CPU.
//!
//! UART at 0x4001_1000: +0 status (bit 0: a byte is waiting, bit 1: the
//! input ended), +4 data (reading pops the next byte), +8 transmit.
//!
//! Frames: `0xA5 TYPE LEN PAYLOAD[LEN]`. Types: 1 ping (echoes the
//! payload), 2 set (config key, value), 3 record (stores a record),
//! 4 sum (answers a checksum), 5 stats (answers the counters). A byte that
//! is not a known type sends the parser back to waiting for 0xA5.
//!
//! The planted bug (the fuzzer's objective): a record frame (type 3)
//! whose payload starts `'R' 2 n` is a version-2 record, which carries its
//! own length `n`; the firmware copies `n` bytes into the 64-byte record
//! buffer without checking `n` against it (version 1 records are clamped).
//! The buffer ends where the guard page starts, so `n > 64` writes into
//! the guard: a permission error from vm-mem. Three nested checks on input
//! bytes guard it (the type, the tag, the version), after the frame's sync
//! byte and a complete payload.

#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

const UART: usize = 0x4001_1000;
const UART_STATUS: *const u32 = UART as *const u32;
const UART_DATA: *const u32 = (UART + 4) as *const u32;
const UART_TX: *mut u32 = (UART + 8) as *mut u32;
/// Status bit: a byte is waiting in the data register.
const RX_READY: u32 = 1;

const SYNC: u8 = 0xa5;
const RECORD_LEN: usize = 64;

/// Where the parser is in a frame.
#[derive(Clone, Copy, PartialEq)]
#[repr(u8)]
enum State {
    Sync,
    Type,
    Len,
    Payload,
}

/// The parser: the frame being received.
struct Parser {
    state: State,
    kind: u8,
    len: u8,
    got: u8,
    payload: [u8; 256],
}

/// Counters the stats frame answers with (in `.data`: they start at
/// non-zero values, as a boot count kept across resets would).
struct Stats {
    boots: u32,
    frames: u32,
    errors: u32,
    records: u32,
}

static mut PARSER: Parser = Parser {
    state: State::Sync,
    kind: 0,
    len: 0,
    got: 0,
    payload: [0; 256],
};
static mut STATS: Stats = Stats {
    boots: 0x100,
    frames: 0,
    errors: 0,
    records: 0,
};
/// The configuration table the set frame writes.
static mut CONFIG: [u8; 16] = [0; 16];
/// The last key record (tag `'K'`): 16 bytes.
static mut KEY: [u8; 16] = [0; 16];
/// The record buffer, the last 64 bytes below the guard page (`fw.ld`).
#[link_section = ".records"]
static mut RECORD: [u8; RECORD_LEN] = [0; RECORD_LEN];

fn tx(b: u8) {
    // SAFETY: the UART's transmit register (MMIO).
    unsafe { write_volatile(UART_TX, b as u32) }
}

fn tx_u32(v: u32) {
    for s in [24, 16, 8, 0] {
        tx((v >> s) as u8);
    }
}

fn error(code: u8) {
    // SAFETY: one thread, no interrupts: the only access while it runs.
    unsafe { (*addr_of_mut!(STATS)).errors += 1 };
    tx(0xee);
    tx(code);
}

/// The CRC-8 (polynomial 0x07) of `bytes`, bit by bit.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn ping(p: &[u8]) {
    tx(0x81);
    for &b in p {
        tx(b);
    }
}

fn set(p: &[u8]) {
    match p {
        [key, value] if (*key as usize) < 16 => {
            // SAFETY: as in `error`.
            unsafe { (*addr_of_mut!(CONFIG))[*key as usize] = *value };
            tx(0x82);
        }
        [0x40, lo, hi] => {
            // A baud-rate divisor: must be non-zero and at most 0x0fff.
            let div = u16::from_le_bytes([*lo, *hi]);
            if div == 0 || div > 0x0fff {
                return error(2);
            }
            // SAFETY: as in `error`.
            unsafe {
                let c = &mut *addr_of_mut!(CONFIG);
                c[14] = *lo;
                c[15] = *hi;
            }
            tx(0x82);
        }
        _ => error(3),
    }
}

/// A record frame: `tag version n data...`.
fn record(p: &[u8]) {
    let [tag, version, n, data @ ..] = p else {
        return error(4);
    };
    // SAFETY: as in `error`.
    unsafe { (*addr_of_mut!(STATS)).records += 1 };
    match tag {
        b'R' => {
            if *version == 2 {
                // Version 2 carries its own length, copied as sent: the
                // planted bug (no check of `n` against RECORD_LEN). The
                // source is the payload buffer (256 bytes), so the copy
                // reads in bounds for n <= 253; it writes past RECORD from
                // n > 64 on.
                let dst = addr_of_mut!(RECORD) as *mut u8;
                let src = data.as_ptr();
                for i in 0..*n as usize {
                    // SAFETY: none for i >= 64: this is the bug.
                    unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
                }
                tx(0x83);
            } else if *version == 1 {
                let n = (*n as usize).min(RECORD_LEN).min(data.len());
                // SAFETY: as in `error`; `n` fits both.
                let rec = unsafe { &mut *addr_of_mut!(RECORD) };
                rec[..n].copy_from_slice(&data[..n]);
                tx(0x83);
            } else {
                error(5);
            }
        }
        b'K' if data.len() >= 16 && *n == 16 => {
            // SAFETY: as in `error`.
            let key = unsafe { &mut *addr_of_mut!(KEY) };
            key.copy_from_slice(&data[..16]);
            tx(0x83);
            tx(crc8(key));
        }
        _ => error(6),
    }
}

fn sum(p: &[u8]) {
    tx(0x84);
    tx(crc8(p));
}

fn stats() {
    // SAFETY: as in `error`.
    let s = unsafe { &*addr_of!(STATS) };
    tx(0x85);
    tx_u32(s.boots);
    tx_u32(s.frames);
    tx_u32(s.errors);
    tx_u32(s.records);
}

/// Handles a complete frame.
fn dispatch(kind: u8, p: &[u8]) {
    // SAFETY: as in `error`.
    unsafe { (*addr_of_mut!(STATS)).frames += 1 };
    match kind {
        1 => ping(p),
        2 => set(p),
        3 => record(p),
        4 => sum(p),
        5 => stats(),
        _ => error(1),
    }
}

/// Feeds one received byte to the parser.
fn feed(b: u8) {
    // SAFETY: as in `error`.
    let p = unsafe { &mut *addr_of_mut!(PARSER) };
    match p.state {
        State::Sync => {
            if b == SYNC {
                p.state = State::Type;
            }
        }
        State::Type => {
            if (1..=5).contains(&b) {
                p.kind = b;
                p.state = State::Len;
            } else {
                error(0);
                p.state = State::Sync;
            }
        }
        State::Len => {
            p.len = b;
            p.got = 0;
            if b == 0 {
                p.state = State::Sync;
                dispatch(p.kind, &[]);
            } else {
                p.state = State::Payload;
            }
        }
        State::Payload => {
            p.payload[p.got as usize] = b;
            p.got += 1;
            if p.got == p.len {
                p.state = State::Sync;
                let (kind, len) = (p.kind, p.len as usize);
                dispatch(kind, &p.payload[..len]);
            }
        }
    }
}

fn wfi() {
    // SAFETY: waits for an interrupt (the harness ends the run here).
    unsafe { core::arch::asm!("wfi") }
}

#[no_mangle]
extern "C" fn main() -> ! {
    // SAFETY: as in `error`.
    unsafe { (*addr_of_mut!(STATS)).boots += 1 };
    for &b in b"boot\n" {
        tx(b);
    }
    loop {
        // SAFETY: the UART's registers (MMIO).
        if unsafe { read_volatile(UART_STATUS) } & RX_READY != 0 {
            let b = unsafe { read_volatile(UART_DATA) } as u8;
            feed(b);
        } else {
            wfi();
        }
    }
}

// The reset entry, first in the image (`fw.ld`): stack, .data, .bss, main.
core::arch::global_asm!(
    ".section .text.start, \"ax\"",
    ".global _start",
    "_start:",
    "    li sp, 0x20010000",
    "    la t0, _sidata",
    "    la t1, _sdata",
    "    la t2, _edata",
    "1:  bgeu t1, t2, 2f",
    "    lw t3, 0(t0)",
    "    sw t3, 0(t1)",
    "    addi t0, t0, 4",
    "    addi t1, t1, 4",
    "    j 1b",
    "2:  la t1, _sbss",
    "    la t2, _ebss",
    "3:  bgeu t1, t2, 4f",
    "    sw zero, 0(t1)",
    "    addi t1, t1, 4",
    "    j 3b",
    "4:  call main",
    "5:  wfi",
    "    j 5b",
);

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: `ebreak` stops the CPU (rrs-lib has no system instructions:
    // an illegal instruction, which the harness reports as a fault).
    unsafe { core::arch::asm!("ebreak", options(noreturn)) }
}
