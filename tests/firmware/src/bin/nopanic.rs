//! Link-time proof that the exclusive view's typed reads and writes contain
//! no panicking branch in an optimised build.
//!
//! The panic handler calls `vm_mem_panic_is_reachable`, which exists
//! nowhere: if any code reachable from `main` could panic, the linker keeps
//! the handler and fails with an undefined reference to that symbol. So this
//! binary links (in the release profile: `opt-level = "s"`, fat LTO) only if
//! no panic is reachable. Every address comes from `read_volatile`, so the
//! optimiser cannot fold a bounds check away; the addresses include
//! in-shard, straddling, last-byte and out-of-bounds ones near `usize::MAX`.
//!
//! Features widen the probe to other paths, to find out whether they are
//! panic-free too (they are not required to be; see FOOTPRINT.md):
//! `probe-atomics` (the exclusive view's read-modify-writes),
//! `probe-bulk` (its `read_bytes`/`write_bytes`/`fill`),
//! `probe-frozen` (`freeze` and the lock-free frozen reads), and
//! `probe-selftest` (an ordinary slice index, which must fail the link: it
//! shows the probe can fail).
//!
//! It also runs: under QEMU it checks what it read back and exits with 0.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use static_cell::ConstStaticCell;
use vm_mem::ShardedMemory;

type Mem = ShardedMemory<8, 256>;
static RAM: ConstStaticCell<Mem> = ConstStaticCell::new(Mem::new());
#[cfg(feature = "probe-frozen")]
static ROM: Mem = Mem::new();

/// In-shard, straddling, last valid, and out-of-bounds addresses.
static ADDRS: [usize; 10] = [
    0,
    0x13,
    255,
    253,
    249,
    Mem::SIZE - 8,
    Mem::SIZE - 1,
    Mem::SIZE,
    usize::MAX - 3,
    usize::MAX,
];

extern "C" {
    /// Defined nowhere: referencing it fails the link.
    fn vm_mem_panic_is_reachable() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: never runs: the binary links only if this handler is
    // unreachable and thus removed.
    unsafe { vm_mem_panic_is_reachable() }
}

/// The address at `i`, opaque to the optimiser.
#[inline(always)]
fn addr(i: usize) -> usize {
    // SAFETY: `i % len` is in bounds of the static array, which is valid and
    // aligned for reads.
    unsafe { read_volatile(ADDRS.as_ptr().add(i % ADDRS.len())) }
}

/// Every typed write and read of the exclusive view at every probe address;
/// returns how many round trips failed.
fn probe(mem: &mut Mem) -> u32 {
    let mut bad = 0;
    let mut v = mem.exclusive();
    for i in 0..ADDRS.len() {
        let a = addr(i);
        // Whether an access of `n` bytes at `a` fits.
        let fits = |n: usize| a <= Mem::SIZE - n;
        // Both the write and the read-back work where the access fits, and
        // both fail where it does not.
        let mut check = |n: usize, w: Result<(), vm_mem::VmError>, r: Result<bool, _>| {
            let fine = match (w, r) {
                (Ok(()), Ok(true)) => fits(n),
                (Err(_), Err(_)) => !fits(n),
                _ => false,
            };
            bad += u32::from(!fine);
        };
        let w = v.write_u8(a, 0x5a);
        check(1, w, v.read_u8(a).map(|x| x == 0x5a));
        let w = v.write_u16(a, 0x1234);
        check(2, w, v.read_u16(a).map(|x| x == 0x1234));
        let w = v.write_u32(a, 0xdead_beef);
        check(4, w, v.read_u32(a).map(|x| x == 0xdead_beef));
        let w = v.write_u64(a, 0x0102_0304_0506_0708);
        check(8, w, v.read_u64(a).map(|x| x == 0x0102_0304_0506_0708));
        let w = v.write_u16_be(a, 0x1234);
        check(2, w, v.read_u16_be(a).map(|x| x == 0x1234));
        let w = v.write_u32_be(a, 0xdead_beef);
        check(4, w, v.read_u32_be(a).map(|x| x == 0xdead_beef));
        let w = v.write_u64_be(a, 0x0102_0304_0506_0708);
        check(8, w, v.read_u64_be(a).map(|x| x == 0x0102_0304_0506_0708));
        #[cfg(feature = "probe-atomics")]
        {
            // Memory holds 01 02 03 04 05 06 07 08 (the big-endian write).
            let w = v.fetch_add::<u64>(a, 1).map(|_| ());
            let r = v
                .compare_exchange::<u32>(a, 0x0403_0202, 7)
                .map(|r| r.is_ok());
            check(8, w, r);
        }
        #[cfg(feature = "probe-bulk")]
        {
            let mut buf = [0u8; 8];
            let w = v.write_bytes(a, &[9; 8]).and_then(|()| v.fill(a, 4, 1));
            let r = v
                .read_bytes(a, &mut buf)
                .map(|()| buf == [1, 1, 1, 1, 9, 9, 9, 9]);
            check(8, w, r);
        }
        #[cfg(feature = "probe-selftest")]
        {
            // A slice index with an opaque index: must make the link fail.
            bad += u32::from(ADDRS[addr(i) % 16] == 1);
        }
    }
    bad
}

#[cfg(feature = "probe-frozen")]
fn probe_frozen() -> u32 {
    let rom = ROM.freeze();
    let mut bad = 0;
    for i in 0..ADDRS.len() {
        let a = addr(i);
        let fits = |n: usize| a <= Mem::SIZE - n;
        bad += u32::from(rom.read_u64_be(a).is_ok() != fits(8));
        bad += match (rom.read_u32(a), fits(4)) {
            (Ok(0), true) | (Err(_), false) => 0,
            _ => 1,
        };
        bad += u32::from(rom.read_u8(a).is_ok() != fits(1));
    }
    bad
}

#[entry]
fn main() -> ! {
    let bad = match RAM.try_take() {
        Some(mem) => probe(mem),
        None => 1,
    };
    #[cfg(feature = "probe-frozen")]
    let bad = bad + probe_frozen();
    let mut sink = 0;
    // SAFETY: a valid, aligned local.
    unsafe { write_volatile(&mut sink, bad) };
    debug::exit(if bad == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}
