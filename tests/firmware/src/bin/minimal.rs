//! Footprint baseline: the same scaffold as `typed` (cortex-m-rt, a
//! semihosting exit, a halting panic handler, volatile inputs and output)
//! without vm-mem. `typed` minus `minimal` is what vm-mem's typed API costs.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;

static ADDRS: [usize; 4] = [0x10, 0x3fe, 0x1fff, usize::MAX];

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[entry]
fn main() -> ! {
    let mut acc = 0u64;
    for i in 0..ADDRS.len() {
        // SAFETY: `i` is in bounds of the static array.
        let a = unsafe { read_volatile(ADDRS.as_ptr().add(i)) };
        acc ^= a as u64;
    }
    let mut sink = 0;
    // SAFETY: a valid, aligned local.
    unsafe { write_volatile(&mut sink, acc) };
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}
