//! Interrupts against the code they interrupt: a SysTick handler reads and
//! writes a `u32` inside one word and `u64` values (word-aligned,
//! word-spanning and shard-straddling),
//! bumps a shared counter with a guest atomic and bulk-reads, all in the
//! shards the main loop is writing at the same time.
//!
//! Every `u64` either side writes has equal halves, so a torn value (half
//! of one write, half of another) is seen as unequal halves. At the end:
//! no torn value, no `WouldBlock` from the handler's non-blocking reads,
//! the counter equals the main loop's plus the handler's increments, and the
//! handler ran many times during the loop.
//!
//! Built with the firmware's `critical-section` feature (vm-mem's), every
//! lock holder masks interrupts, so the handler never waits on the main
//! loop. Without it the handler eventually meets a lock the main loop holds
//! (or a counter it left odd) and spins for ever: CI runs that build too and
//! requires it to hang (its timeout), which shows this test can fail.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::{entry, exception};
use panic_semihosting as _;
use vm_mem::{ErrorKind, ShardedMemory};
use vm_mem_firmware::{ensure, Check, Runner};

const SHARD_SIZE: usize = if cfg!(board = "microbit") { 256 } else { 1024 };
type Mem = ShardedMemory<4, SHARD_SIZE>;
static MEM: Mem = Mem::new();

/// A `u32` inside one word: one load, no counter.
const IN_WORD: usize = 0x30;
/// A `u64` at an 8-aligned address: two words on a 32-bit core, so read
/// with the sequence counter.
const ALIGNED: usize = 0x40;
/// A `u64` at an odd address: three words.
const SPANNING: usize = 0x4b;
/// A `u64` across the edge of shards 0 and 1.
const STRADDLING: usize = SHARD_SIZE - 3;
/// The shared counter, a `u64` across the edge of shards 1 and 2.
const COUNTER: usize = 2 * SHARD_SIZE - 5;
/// Where the main loop's bulk writes go (shard 1, beside the counter).
const BULK: usize = SHARD_SIZE + 0x20;
const TARGETS: [usize; 3] = [ALIGNED, SPANNING, STRADDLING];

/// Main-loop iterations (fewer unoptimised, where each is slower).
const ITERS: u32 = if cfg!(debug_assertions) {
    3_000
} else {
    20_000
};
/// Interrupts the handler must have run during the loop.
const MIN_TICKS: u32 = 200;
/// SysTick reload: cycles between interrupts.
const RELOAD: u32 = 4_000;

/// Counts kept by the handler; only it stores them (load + store: thumbv6m
/// has no atomic read-modify-write), main reads them once SysTick is off.
static TICKS: AtomicU32 = AtomicU32::new(0);
static TORN: AtomicU32 = AtomicU32::new(0);
static BLOCKED: AtomicU32 = AtomicU32::new(0);
static ERRORS: AtomicU32 = AtomicU32::new(0);

/// A `u64` whose halves are both `x`.
const fn whole(x: u32) -> u64 {
    ((x as u64) << 32) | x as u64
}

/// Whether `v` is a value some writer stored whole.
const fn is_whole(v: u64) -> bool {
    (v >> 32) as u32 == v as u32
}

/// A `u32` whose halves are both the low half of `x`.
const fn whole32(x: u32) -> u32 {
    (x << 16) | (x & 0xffff)
}

const fn is_whole32(v: u32) -> bool {
    v >> 16 == v & 0xffff
}

fn bump(c: &AtomicU32) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

#[exception]
fn SysTick() {
    let n = TICKS.load(Ordering::Relaxed);
    let mut torn = false;
    let mut failed = false;
    for addr in TARGETS {
        match MEM.read_u64(addr) {
            Ok(v) => torn |= !is_whole(v),
            Err(_) => failed = true,
        }
        match MEM.try_read_u64(addr) {
            Ok(v) => torn |= !is_whole(v),
            Err(e) if e.kind() == ErrorKind::WouldBlock => bump(&BLOCKED),
            Err(_) => failed = true,
        }
        failed |= MEM.write_u64(addr, whole(0xa500_0000 | n)).is_err();
    }
    match MEM.read_u32(IN_WORD) {
        Ok(v) => torn |= !is_whole32(v),
        Err(_) => failed = true,
    }
    failed |= MEM.write_u32(IN_WORD, whole32(0xa500 | n)).is_err();
    let mut buf = [0u8; 8];
    failed |= MEM.read_bytes(SPANNING, &mut buf).is_err();
    torn |= !is_whole(u64::from_le_bytes(buf));
    failed |= MEM.fetch_add::<u64>(COUNTER, 1).is_err();
    if torn {
        bump(&TORN);
    }
    if failed {
        bump(&ERRORS);
    }
    TICKS.store(n.wrapping_add(1), Ordering::Relaxed);
}

fn interrupted_writes(syst: &mut SYST) -> Check {
    MEM.write_u64(COUNTER, 0)?;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_counter();
    syst.enable_interrupt();
    let (mut torn, mut i) = (0u32, 0u32);
    // At least ITERS iterations and MIN_TICKS interrupts (QEMU's SysTick
    // follows the host's clock, so the ratio varies), within a bound.
    while (i < ITERS || TICKS.load(Ordering::Relaxed) < MIN_TICKS) && i < 100 * ITERS {
        i += 1;
        let v = whole(0x5a00_0000 | i);
        for addr in TARGETS {
            MEM.write_u64(addr, v)?;
            torn += u32::from(!is_whole(MEM.read_u64(addr)?));
        }
        MEM.write_u32(IN_WORD, whole32(i))?;
        torn += u32::from(!is_whole32(MEM.read_u32(IN_WORD)?));
        MEM.fetch_add::<u64>(COUNTER, 1)?;
        MEM.write_bytes(SPANNING, &v.to_le_bytes())?;
        MEM.fill(BULK, 16, i as u8)?;
    }
    syst.disable_interrupt();
    syst.disable_counter();
    // A SysTick already pending when its interrupt is disabled is still
    // taken (clearing TICKINT does not clear the pending bit), possibly after
    // the next few instructions: read the handler's count and the counter
    // with interrupts masked, so both include that last run or neither does.
    let (ticks, counter) =
        cortex_m::interrupt::free(|_| (TICKS.load(Ordering::Relaxed), MEM.read_u64(COUNTER)));
    let counter = counter?;
    vm_mem_firmware::hprintln!("     {} iterations, {} interrupts", i, ticks);
    ensure!(torn == 0);
    ensure!(TORN.load(Ordering::Relaxed) == 0);
    ensure!(ERRORS.load(Ordering::Relaxed) == 0);
    // Masked lock holders and stores: the handler never meets a write in
    // progress, so even the non-blocking read never gives up.
    ensure!(BLOCKED.load(Ordering::Relaxed) == 0);
    if counter != u64::from(i) + u64::from(ticks) {
        vm_mem_firmware::hprintln!("     counter {} != {} + {}", counter, i, ticks);
    }
    ensure!(counter == u64::from(i) + u64::from(ticks));
    ensure!(ticks >= MIN_TICKS);
    for addr in TARGETS {
        ensure!(is_whole(MEM.read_u64(addr)?));
    }
    ensure!(is_whole32(MEM.read_u32(IN_WORD)?));
    Ok(())
}

#[entry]
fn main() -> ! {
    let mut r = Runner::default();
    vm_mem_firmware::hprintln!(
        "vm-mem interrupt firmware: ShardedMemory<4, {}>, critical-section {}",
        SHARD_SIZE,
        if cfg!(feature = "critical-section") {
            "on"
        } else {
            "off (expected to hang)"
        }
    );
    match cortex_m::Peripherals::take() {
        Some(mut cp) => r.check("interrupted_writes", || interrupted_writes(&mut cp.SYST)),
        None => r.check("core_peripherals", || {
            ensure!(cortex_m::Peripherals::take().is_some());
            Ok(())
        }),
    }
    r.finish()
}
