//! The guest program the real-emulator measurement runs (RV32IM, no
//! compressed instructions), written as a C program would be: static
//! arrays, loops, table lookups, no library calls. Built by `build.sh`
//! into `guest.bin`, a flat image loaded at guest address 0.
//!
//! Entry: `a0` = rounds, `a1` = where to store the checksum, `sp` = top of
//! the stack (the emulator sets all three). Each round does a mix of the
//! memory accesses compiled C makes: word stores and loads (an insertion
//! sort, an 8x8 matrix product), byte stores and loads (a buffer, a
//! table-driven CRC-32 over it, an in-place reverse), halfword loads and
//! stores (a histogram). At the end it stores the checksum and executes
//! `unimp`, which stops the emulator.

#![no_std]
#![no_main]

use core::panic::PanicInfo;

/// Words the insertion sort orders each round.
const SORTED: usize = 96;
/// Bytes in the buffer.
const BYTES: usize = 512;
/// Matrix side.
const N: usize = 8;

static mut WORDS: [u32; SORTED] = [0; SORTED];
static mut BUF: [u8; BYTES] = [0; BYTES];
static mut HIST: [u16; 256] = [0; 256];
static mut MA: [[u32; N]; N] = [[0; N]; N];
static mut MB: [[u32; N]; N] = [[0; N]; N];
static mut MC: [[u32; N]; N] = [[0; N]; N];

/// The CRC-32 table, computed at compile time (it sits in the image).
static CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

/// The C library's classic linear congruential generator.
#[inline(always)]
fn lcg(x: &mut u32) -> u32 {
    *x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *x
}

/// One round over the arrays; returns its contribution to the checksum.
#[inline(never)]
fn round(seed: u32) -> u32 {
    // SAFETY: the guest is single-threaded and these are the only
    // references to the arrays while the round runs.
    let (words, buf, hist, ma, mb, mc) = unsafe {
        (
            &mut *(&raw mut WORDS),
            &mut *(&raw mut BUF),
            &mut *(&raw mut HIST),
            &mut *(&raw mut MA),
            &mut *(&raw mut MB),
            &mut *(&raw mut MC),
        )
    };
    let mut x = seed;

    // Insertion sort of pseudo-random words.
    for w in words.iter_mut() {
        *w = lcg(&mut x);
    }
    for i in 1..SORTED {
        let v = words[i];
        let mut j = i;
        while j > 0 && words[j - 1] > v {
            words[j] = words[j - 1];
            j -= 1;
        }
        words[j] = v;
    }
    let mut sum = words[0] ^ words[SORTED / 2] ^ words[SORTED - 1];

    // A byte buffer, its CRC-32, a histogram and an in-place reverse.
    for b in buf.iter_mut() {
        *b = (lcg(&mut x) >> 24) as u8;
    }
    let mut crc = !0u32;
    for &b in buf.iter() {
        crc = CRC_TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    sum ^= !crc;
    for &b in buf.iter() {
        hist[b as usize] = hist[b as usize].wrapping_add(1);
    }
    sum = sum.wrapping_add(hist[(x >> 24) as usize] as u32);
    let (mut i, mut j) = (0, BYTES - 1);
    while i < j {
        let t = buf[i];
        buf[i] = buf[j];
        buf[j] = t;
        i += 1;
        j -= 1;
    }
    sum = sum.wrapping_add(buf[0] as u32);

    // An 8x8 matrix product.
    for r in 0..N {
        for c in 0..N {
            ma[r][c] = lcg(&mut x) & 0xffff;
            mb[r][c] = lcg(&mut x) & 0xffff;
        }
    }
    for r in 0..N {
        for c in 0..N {
            let mut acc = 0u32;
            for k in 0..N {
                acc = acc.wrapping_add(ma[r][k].wrapping_mul(mb[k][c]));
            }
            mc[r][c] = acc;
        }
    }
    sum.wrapping_add(mc[N - 1][N - 1] ^ mc[0][0])
}

/// The entry point (first in the image, see `guest.ld`).
#[no_mangle]
#[link_section = ".text.start"]
pub extern "C" fn _start(rounds: u32, out: *mut u32) -> ! {
    let mut sum = 0u32;
    for r in 0..rounds {
        sum = sum.rotate_left(5) ^ round(r.wrapping_mul(0x9e37_79b9) ^ sum);
    }
    // SAFETY: `out` is the word the emulator reserved for the result.
    unsafe {
        out.write_volatile(sum);
        core::arch::asm!("unimp", options(noreturn))
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: `unimp` stops the emulator (an illegal instruction); a run
    // that ends here has no checksum and fails.
    unsafe { core::arch::asm!("unimp", options(noreturn)) }
}
