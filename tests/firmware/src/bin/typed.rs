//! Footprint: a firmware that uses the typed API (all 14 `read_*`/`write_*`
//! methods, little- and big-endian) of one `static` memory. Compare with
//! `minimal` for vm-mem's code cost. Features pick the variant:
//! - none: the shared (`&self`, locked) API;
//! - `fp-u32`: only `read_u32` and `write_u32` of the shared API;
//! - `fp-exclusive`: the exclusive (`&mut`, lock-free) view;
//! - `big-static`: a 4x larger memory, to see it grow `.bss` and leave the
//!   flash image alone.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use vm_mem::ShardedMemory;

const SHARD_SIZE: usize = if cfg!(board = "microbit") { 256 } else { 1024 };
const SHARDS: usize = if cfg!(feature = "big-static") { 32 } else { 8 };
type Mem = ShardedMemory<SHARDS, SHARD_SIZE>;

#[cfg(not(feature = "fp-exclusive"))]
static RAM: Mem = Mem::new();
#[cfg(feature = "fp-exclusive")]
static RAM: static_cell::ConstStaticCell<Mem> = static_cell::ConstStaticCell::new(Mem::new());

static ADDRS: [usize; 4] = [0x10, 0x3fe, 0x1fff, usize::MAX];

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[entry]
fn main() -> ! {
    #[cfg(not(feature = "fp-exclusive"))]
    let m = &RAM;
    #[cfg(feature = "fp-exclusive")]
    let Some(mem) = RAM.try_take() else {
        loop {
            cortex_m::asm::nop()
        }
    };
    #[cfg(feature = "fp-exclusive")]
    let mut m = mem.exclusive();
    let mut acc = 0u64;
    for i in 0..ADDRS.len() {
        // SAFETY: `i` is in bounds of the static array.
        let a = unsafe { read_volatile(ADDRS.as_ptr().add(i)) };
        acc ^= a as u64;
        let ok = m.write_u32(a + 2, 3).is_ok();
        acc ^= u64::from(m.read_u32(a).unwrap_or(0));
        #[cfg(not(feature = "fp-u32"))]
        let ok = ok
            & m.write_u8(a, 1).is_ok()
            & m.write_u16(a + 1, 2).is_ok()
            & m.write_u64(a + 3, 4).is_ok()
            & m.write_u16_be(a + 4, 5).is_ok()
            & m.write_u32_be(a + 5, 6).is_ok()
            & m.write_u64_be(a + 6, 7).is_ok();
        #[cfg(not(feature = "fp-u32"))]
        {
            acc ^= u64::from(m.read_u8(a).unwrap_or(0));
            acc ^= u64::from(m.read_u16(a).unwrap_or(0));
            acc ^= m.read_u64(a).unwrap_or(0);
            acc ^= u64::from(m.read_u16_be(a).unwrap_or(0));
            acc ^= u64::from(m.read_u32_be(a).unwrap_or(0));
            acc ^= m.read_u64_be(a).unwrap_or(0);
        }
        acc = acc.wrapping_add(u64::from(ok));
    }
    let mut sink = 0;
    // SAFETY: a valid, aligned local.
    unsafe { write_volatile(&mut sink, acc) };
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}
