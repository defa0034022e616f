//! vm-mem's test firmware: runs the crate's API on a real Cortex-M core under
//! `qemu-system-arm`, prints each check's name and verdict over semihosting,
//! and exits QEMU with code 0 only if every check passed.
//!
//! Memories are small (the lm3s6965evb has 64 KiB of SRAM, the micro:bit's
//! Cortex-M0 16 KiB) and all live in `static`s, so they sit in `.bss`.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use cortex_m_rt::entry;
use panic_semihosting as _;
use static_cell::ConstStaticCell;
use vm_mem::{Access, ErrorKind, MemoryAccess, ShardedMemory, Snapshot, VmError};
use vm_mem_firmware::{ensure, Check, FixedBuf, Runner};

/// 8 KiB in eight 1 KiB shards; 2 KiB in eight 256-byte shards on the
/// micro:bit, whose 16 KiB of RAM must also hold a snapshot and the stack.
const SHARD_SIZE: usize = if cfg!(board = "microbit") { 256 } else { 1024 };
const SHARDS: usize = 8;
type Mem = ShardedMemory<SHARDS, SHARD_SIZE>;
const SIZE: usize = Mem::SIZE;

/// A memory used through the shared (`&self`, locked) API.
static SHARED: Mem = Mem::new();
/// A memory owned through `&'static mut`, for the exclusive view.
static OWNED: ConstStaticCell<Mem> = ConstStaticCell::new(Mem::new());
/// A memory loaded once and frozen.
static ROM: Mem = Mem::new();
/// A snapshot of `SHARED`.
static SNAP: ConstStaticCell<Snapshot<SHARDS, SHARD_SIZE>> = ConstStaticCell::new(Snapshot::new());

/// The out-of-bounds error an access of `size` bytes at `addr` must return.
fn oob(access: Access, addr: usize, size: usize) -> VmError {
    VmError::new(
        ErrorKind::OutOfBounds { limit: SIZE as u64 },
        access,
        addr as u64,
        size,
    )
}

/// Addresses every access must reject, including ones where `addr + size`
/// overflows `usize`.
const BAD: [usize; 8] = [
    SIZE,
    SIZE + 1,
    SIZE + SHARD_SIZE,
    usize::MAX / 2,
    usize::MAX - 8,
    usize::MAX - 7,
    usize::MAX - 3,
    usize::MAX,
];

fn typed_le_be() -> Check {
    let m = &SHARED;
    m.write_u8(0x10, 0xa5)?;
    ensure!(m.read_u8(0x10)? == 0xa5);
    m.write_u16(0x12, 0x1234)?;
    ensure!(m.read_u16(0x12)? == 0x1234);
    ensure!(m.read_u8(0x12)? == 0x34 && m.read_u8(0x13)? == 0x12);
    ensure!(m.read_u16_be(0x12)? == 0x3412);
    m.write_u32(0x20, 0xdead_beef)?;
    ensure!(m.read_u32(0x20)? == 0xdead_beef);
    ensure!(m.read_u32_be(0x20)? == 0xefbe_adde);
    ensure!(m.read_u16(0x22)? == 0xdead);
    m.write_u64(0x28, 0x0102_0304_0506_0708)?;
    ensure!(m.read_u64(0x28)? == 0x0102_0304_0506_0708);
    ensure!(m.read_u8(0x28)? == 0x08);
    ensure!(m.read_u64_be(0x28)? == 0x0807_0605_0403_0201);
    m.write_u16_be(0x40, 0xcafe)?;
    ensure!(m.read_u8(0x40)? == 0xca && m.read_u16(0x40)? == 0xfeca);
    m.write_u32_be(0x44, 0x1122_3344)?;
    ensure!(m.read_u8(0x44)? == 0x11 && m.read_u32(0x44)? == 0x4433_2211);
    m.write_u64_be(0x48, 0x1122_3344_5566_7788)?;
    ensure!(m.read_u8(0x48)? == 0x11 && m.read_u8(0x4f)? == 0x88);
    ensure!(m.read_u64_be(0x48)? == 0x1122_3344_5566_7788);
    // Unaligned, inside a shard: the Cortex-M0 traps on unaligned loads, so
    // this also proves the crate never issues one.
    m.write_u32(0x51, 0x8765_4321)?;
    ensure!(m.read_u32(0x51)? == 0x8765_4321);
    m.write_u64(0x63, u64::MAX - 1)?;
    ensure!(m.read_u64(0x63)? == u64::MAX - 1);
    // First and last valid addresses of every width.
    m.write_u64(SIZE - 8, 0x99aa_bbcc_ddee_ff00)?;
    ensure!(m.read_u64(SIZE - 8)? == 0x99aa_bbcc_ddee_ff00);
    ensure!(m.read_u8(SIZE - 1)? == 0x99);
    ensure!(m.read_u16(SIZE - 2)? == 0x99aa);
    ensure!(m.read_u32_be(SIZE - 4)? == 0xccbb_aa99);
    m.write_u8(0, 1)?;
    ensure!(m.read_u8(0)? == 1);
    Ok(())
}

fn straddling() -> Check {
    let m = &SHARED;
    // Every position where a u64 crosses the boundary between shards 2 and 3.
    let edge = 3 * SHARD_SIZE;
    for back in 1..8 {
        let a = edge - back;
        m.write_u64(a, 0x0123_4567_89ab_cdef)?;
        ensure!(m.read_u64(a)? == 0x0123_4567_89ab_cdef);
        ensure!(m.read_u64_be(a)? == 0xefcd_ab89_6745_2301);
        let mut bytes = [0u8; 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = m.read_u8(a + i)?;
        }
        ensure!(bytes == 0x0123_4567_89ab_cdef_u64.to_le_bytes());
    }
    for back in 1..4 {
        let a = edge - back;
        m.write_u32_be(a, 0xa1b2_c3d4)?;
        ensure!(m.read_u32_be(a)? == 0xa1b2_c3d4);
        ensure!(m.read_u32(a)? == 0xd4c3_b2a1);
    }
    m.write_u16(edge - 1, 0xbeef)?;
    ensure!(m.read_u8(edge - 1)? == 0xef && m.read_u8(edge)? == 0xbe);
    ensure!(m.read_u16_be(edge - 1)? == 0xefbe);
    // The last boundary, between the last two shards.
    let last = SIZE - SHARD_SIZE - 4;
    m.write_u64(last, u64::MAX)?;
    ensure!(m.read_u64(last)? == u64::MAX);
    Ok(())
}

fn errors_out_of_bounds() -> Check {
    let m = &SHARED;
    for &a in &BAD {
        ensure!(m.read_u8(a) == Err(oob(Access::Read, a, 1)));
        ensure!(m.read_u16(a) == Err(oob(Access::Read, a, 2)));
        ensure!(m.read_u32_be(a) == Err(oob(Access::Read, a, 4)));
        ensure!(m.read_u64(a) == Err(oob(Access::Read, a, 8)));
        ensure!(m.write_u8(a, 1) == Err(oob(Access::Write, a, 1)));
        ensure!(m.write_u32(a, 1) == Err(oob(Access::Write, a, 4)));
        ensure!(m.write_u64_be(a, 1) == Err(oob(Access::Write, a, 8)));
        ensure!(m.fetch_add::<u32>(a, 1) == Err(oob(Access::Atomic, a, 4)));
    }
    // Accesses that start inside and run past the end.
    for a in SIZE - 7..SIZE {
        ensure!(m.read_u64(a) == Err(oob(Access::Read, a, 8)));
        ensure!(m.write_u64(a, 0) == Err(oob(Access::Write, a, 8)));
    }
    ensure!(m.read_u32(SIZE - 3) == Err(oob(Access::Read, SIZE - 3, 4)));
    // Error data and message.
    let e = m.read_u32(SIZE - 2).unwrap_err();
    ensure!(e.kind() == ErrorKind::OutOfBounds { limit: SIZE as u64 });
    ensure!(e.access() == Access::Read && e.addr() == (SIZE - 2) as u64 && e.size() == 4);
    let mut msg = FixedBuf::<128>::new();
    ensure!(write!(msg, "{e}").is_ok());
    ensure!(msg.as_str().starts_with("out of bounds"));
    // `MemoryAccess` takes u64 guest addresses: on this 32-bit core a value
    // past usize::MAX must be refused, never truncated to a valid address.
    let mut h = &SHARED;
    ensure!(MemoryAccess::read_u32(&h, 0x1_0000_0000).is_err());
    ensure!(MemoryAccess::read_u8(&h, 0x1_0000_0010).is_err());
    ensure!(MemoryAccess::write_u64(&mut h, u64::MAX, 0).is_err());
    ensure!(MemoryAccess::read_u32(&h, 0x20)? == SHARED.read_u32(0x20)?);
    Ok(())
}

fn bulk() -> Check {
    let m = &SHARED;
    let mut data = [0u8; 40];
    for (i, b) in data.iter_mut().enumerate() {
        *b = i as u8 ^ 0x5a;
    }
    let a = 2 * SHARD_SIZE - 13; // crosses into the next shard
    m.write_bytes(a, &data)?;
    let mut back = [0u8; 40];
    m.read_bytes(a, &mut back)?;
    ensure!(back == data);
    ensure!(m.read_u8(a + 39)? == 39 ^ 0x5a);
    let f = 4 * SHARD_SIZE - 4;
    m.fill(f, SHARD_SIZE + 8, 0xee)?; // spans three shards
    ensure!(m.read_u64(f)? == u64::MAX / 255 * 0xee);
    ensure!(m.read_u32(f + SHARD_SIZE + 4)? == 0xeeee_eeee);
    ensure!(m.read_u8(f - 1)? == 0 && m.read_u8(f + SHARD_SIZE + 8)? == 0);
    // A range that does not fit fails before anything is written.
    let before = m.read_u64(SIZE - 8)?;
    ensure!(m.write_bytes(SIZE - 4, &data) == Err(oob(Access::Write, SIZE - 4, 40)));
    ensure!(m.fill(SIZE - 4, 5, 0) == Err(oob(Access::Write, SIZE - 4, 5)));
    ensure!(m.fill(1, usize::MAX, 0) == Err(oob(Access::Write, 1, usize::MAX)));
    ensure!(m.read_bytes(usize::MAX, &mut back) == Err(oob(Access::Read, usize::MAX, 40)));
    ensure!(m.read_u64(SIZE - 8)? == before);
    // The whole memory at once.
    m.fill(0, SIZE, 0x11)?;
    ensure!(m.read_u32(SIZE / 2 - 2)? == 0x1111_1111);
    ensure!(m.read_u64(SIZE - 8)? == 0x1111_1111_1111_1111);
    m.fill(0, SIZE, 0)?;
    Ok(())
}

fn guest_atomics() -> Check {
    let m = &SHARED;
    m.write_u32(0x100, 10)?;
    ensure!(m.compare_exchange::<u32>(0x100, 10, 20)? == Ok(10));
    ensure!(m.compare_exchange::<u32>(0x100, 10, 30)? == Err(20));
    ensure!(m.read_u32(0x100)? == 20);
    ensure!(m.fetch_add::<u32>(0x100, 5)? == 20);
    ensure!(m.fetch_sub::<u32>(0x100, 26)? == 25);
    ensure!(m.read_u32(0x100)? == u32::MAX); // wrapped
    ensure!(m.swap::<u32>(0x100, 0xf0)? == u32::MAX);
    ensure!(m.fetch_and::<u32>(0x100, 0x3c)? == 0xf0);
    ensure!(m.fetch_or::<u32>(0x100, 0x01)? == 0x30);
    ensure!(m.fetch_xor::<u32>(0x100, 0xff)? == 0x31);
    ensure!(m.read_u32(0x100)? == 0xce);
    m.write_u8(0x108, 0xff)?; // -1 as i8
    ensure!(m.fetch_max::<i8>(0x108, 3)? == -1);
    ensure!(m.read_u8(0x108)? == 3);
    ensure!(m.fetch_min::<u8>(0x108, 2)? == 3);
    ensure!(m.fetch_max::<u8>(0x108, 200)? == 2);
    ensure!(m.fetch_min::<i8>(0x108, -5)? == -56); // 200 as i8, the minimum
    ensure!(m.fetch_min::<i8>(0x108, -100)? == -56);
    ensure!(m.read_u8(0x108)? == (-100i8) as u8);
    ensure!(m.compare_exchange::<u16>(0x10a, 0, 7)? == Ok(0));
    // 64-bit guest atomics on a 32-bit core, straddling two shards.
    let a = SHARD_SIZE - 4;
    m.write_u64(a, u64::from(u32::MAX))?;
    ensure!(m.fetch_add::<u64>(a, 1)? == u64::from(u32::MAX));
    ensure!(m.read_u64(a)? == 1 << 32);
    ensure!(m.compare_exchange::<u64>(a, 1 << 32, 7)? == Ok(1 << 32));
    ensure!(m.compare_exchange::<u64>(a, 1 << 32, 9)? == Err(7));
    let old = m.fetch_update(a, |v: u64| Some(v * 6))?;
    ensure!(old == 7 && m.read_u64(a)? == 42);
    ensure!(m.compare_exchange::<u64>(SIZE - 4, 0, 1) == Err(oob(Access::Atomic, SIZE - 4, 8)));
    Ok(())
}

fn batch_and_dirty() -> Check {
    let m = &SHARED;
    m.clear_dirty();
    ensure!(m.dirty_shards().count() == 0);
    {
        let mut b = m.batch();
        for i in 0..16 {
            b.write_u32(0x200 + 4 * i, i as u32)?;
        }
        let mut sum = 0;
        for i in 0..16 {
            sum += b.read_u32(0x200 + 4 * i)?;
        }
        ensure!(sum == 120);
        b.write_u64(4 * SHARD_SIZE - 2, 0x55)?; // straddles shards 3 and 4
        ensure!(b.read_u64(4 * SHARD_SIZE - 2)? == 0x55);
        ensure!(b.read_u32(SIZE).is_err());
    }
    ensure!(m.read_u32(0x200 + 4 * 15)? == 15);
    let shard_of_0x200 = 0x200 / SHARD_SIZE;
    ensure!(m.is_dirty(shard_of_0x200) && m.is_dirty(3) && m.is_dirty(4));
    ensure!(!m.is_dirty(6) && !m.is_dirty(SHARDS));
    let mut taken = 0;
    for s in m.take_dirty() {
        ensure!(s == shard_of_0x200 || s == 3 || s == 4);
        taken += 1;
    }
    ensure!(taken == if shard_of_0x200 == 3 { 2 } else { 3 });
    ensure!(m.dirty_shards().count() == 0);
    Ok(())
}

fn exclusive_view(mem: &mut Mem) -> Check {
    let mut v = mem.exclusive();
    v.write_u32(0x30, 0x0bad_f00d)?;
    ensure!(v.read_u32(0x30)? == 0x0bad_f00d);
    ensure!(v.read_u32_be(0x30)? == 0x0df0_ad0b);
    v.write_u16_be(0x34, 0x1234)?;
    ensure!(v.read_u16(0x34)? == 0x3412);
    let edge = SHARD_SIZE;
    for back in 1..8 {
        v.write_u64_be(edge - back, 0x1122_3344_5566_7788)?;
        ensure!(v.read_u64_be(edge - back)? == 0x1122_3344_5566_7788);
        ensure!(v.read_u8(edge - back)? == 0x11);
    }
    for &a in &BAD {
        ensure!(v.read_u64(a) == Err(oob(Access::Read, a, 8)));
        ensure!(v.read_u16_be(a) == Err(oob(Access::Read, a, 2)));
        ensure!(v.write_u32(a, 0) == Err(oob(Access::Write, a, 4)));
        ensure!(v.write_u8(a, 0) == Err(oob(Access::Write, a, 1)));
    }
    v.write_bytes(edge - 2, b"vm-mem")?;
    let mut buf = [0u8; 6];
    v.read_bytes(edge - 2, &mut buf)?;
    ensure!(&buf == b"vm-mem");
    v.fill(0, 4, 0x77)?;
    ensure!(v.read_u32(0)? == 0x7777_7777);
    ensure!(v.fill(SIZE - 1, 2, 0) == Err(oob(Access::Write, SIZE - 1, 2)));
    v.write_u64(edge - 4, 0x1_ffff_ffff)?;
    ensure!(v.fetch_add::<u64>(edge - 4, 1)? == 0x1_ffff_ffff);
    ensure!(v.read_u64(edge - 4)? == 0x2_0000_0000);
    ensure!(v.compare_exchange::<u8>(0, 0x77, 1)? == Ok(0x77));
    ensure!(v.swap::<u16>(SIZE - 1, 0) == Err(oob(Access::Atomic, SIZE - 1, 2)));
    // The shared API sees what the view wrote.
    ensure!(v.memory().read_u32(0x30)? == 0x0bad_f00d);
    // Generic code over `MemoryAccess` works on the view.
    ensure!(MemoryAccess::read_u32(&v, 0x30)? == 0x0bad_f00d);
    ensure!(MemoryAccess::read_u32(&v, 0x1_0000_0030).is_err());
    Ok(())
}

fn snapshots(snap: &mut Snapshot<SHARDS, SHARD_SIZE>) -> Check {
    let m = &SHARED;
    m.write_u32(0x10, 1)?;
    m.write_u64(SIZE - 8, 2)?;
    m.snapshot(snap);
    ensure!(snap.is_taken());
    m.write_u32(0x10, 100)?;
    m.write_u64(SIZE - 8, 200)?;
    // Only the two written shards are copied back.
    ensure!(m.restore(snap)? == 2);
    ensure!(m.read_u32(0x10)? == 1 && m.read_u64(SIZE - 8)? == 2);
    ensure!(m.restore(snap)? == 0);
    ensure!(snap.shard(0).is_some_and(|s| s[0x10] == 1));
    ensure!(snap.shard(SHARDS).is_none());
    Ok(())
}

fn exclusive_snapshots(mem: &mut Mem, snap: &mut Snapshot<SHARDS, SHARD_SIZE>) -> Check {
    let mut v = mem.exclusive();
    v.write_u32(0x40, 5)?;
    v.snapshot(snap);
    v.write_u32(0x40, 6)?;
    v.write_u8(SIZE - 1, 9)?;
    // Only the first and the last shard were written since the snapshot.
    ensure!(v.restore(snap)? == 2);
    ensure!(v.read_u32(0x40)? == 5 && v.read_u8(SIZE - 1)? == 0);
    // Restored shards stay in the dirty log: their bytes changed.
    ensure!(v.memory().is_dirty(0) && v.memory().is_dirty(SHARDS - 1));
    ensure!(v.restore(snap)? == 0);
    Ok(())
}

fn freeze() -> Check {
    ROM.write_bytes(0, &[0x00, 0xbf, 0x70, 0x47])?;
    ROM.write_u64(SHARD_SIZE - 4, 0x0706_0504_0302_0100)?;
    let rom = ROM.freeze();
    ensure!(ROM.is_frozen());
    ensure!(rom.read_u16(2)? == 0x4770);
    ensure!(rom.read_u32_be(0)? == 0x00bf_7047);
    ensure!(rom.read_u64(SHARD_SIZE - 4)? == 0x0706_0504_0302_0100);
    ensure!(rom.read_u64(SIZE - 4) == Err(oob(Access::Read, SIZE - 4, 8)));
    ensure!(rom.read_u32(usize::MAX) == Err(oob(Access::Read, usize::MAX, 4)));
    let mut buf = [0u8; 4];
    rom.read_bytes(0, &mut buf)?;
    ensure!(buf == [0x00, 0xbf, 0x70, 0x47]);
    // Writes through every handle fail at once; nothing spins on the locks.
    ensure!(ROM.write_u8(0, 1).map_err(|e| e.kind()) == Err(ErrorKind::ReadOnly));
    ensure!(rom.write_u32(0, 1).map_err(|e| e.kind()) == Err(ErrorKind::ReadOnly));
    ensure!(ROM.fill(0, 4, 0).map_err(|e| e.kind()) == Err(ErrorKind::ReadOnly));
    ensure!(ROM.fetch_add::<u32>(0, 1).map_err(|e| e.kind()) == Err(ErrorKind::ReadOnly));
    ensure!(rom.write_u8(SIZE, 1) == Err(oob(Access::Write, SIZE, 1)));
    // Shared reads still work (they take read locks beside the leaked ones).
    ensure!(ROM.read_u16(2)? == 0x4770);
    ensure!(ROM.freeze().read_u8(3)? == 0x47);
    ensure!(rom.read_u8(0)? == 0x00);
    Ok(())
}

/// The `static` memories sit in `.bss` (zero-initialised RAM), not in
/// `.data`, whose initial image would be copied from flash.
fn statics_in_bss() -> Check {
    extern "C" {
        static __sbss: u8;
        static __ebss: u8;
    }
    // Only the addresses of the linker symbols are taken, never their values.
    let (start, end) = (
        core::ptr::addr_of!(__sbss) as usize,
        core::ptr::addr_of!(__ebss) as usize,
    );
    let in_bss = |p: usize, len: usize| start <= p && p + len <= end;
    ensure!(in_bss(
        &SHARED as *const Mem as usize,
        core::mem::size_of::<Mem>()
    ));
    ensure!(in_bss(
        &ROM as *const Mem as usize,
        core::mem::size_of::<Mem>()
    ));
    ensure!(in_bss(
        &OWNED as *const _ as usize,
        core::mem::size_of::<Mem>()
    ));
    ensure!(end - start >= 3 * SIZE);
    Ok(())
}

#[entry]
fn main() -> ! {
    let mut r = Runner::default();
    vm_mem_firmware::hprintln!(
        "vm-mem firmware: ShardedMemory<{}, {}> ({} bytes) on board {}",
        SHARDS,
        SHARD_SIZE,
        SIZE,
        BOARD
    );
    r.check("typed_le_be", typed_le_be);
    r.check("straddling", straddling);
    r.check("errors_out_of_bounds", errors_out_of_bounds);
    r.check("bulk", bulk);
    r.check("guest_atomics", guest_atomics);
    r.check("batch_and_dirty", batch_and_dirty);
    let owned = OWNED.take();
    r.check("exclusive_view", || exclusive_view(owned));
    let snap = SNAP.take();
    r.check("snapshots", || snapshots(snap));
    r.check("exclusive_snapshots", || exclusive_snapshots(owned, snap));
    r.check("freeze", freeze);
    r.check("statics_in_bss", statics_in_bss);
    r.finish()
}

const BOARD: &str = if cfg!(board = "microbit") {
    "microbit (Cortex-M0)"
} else if cfg!(board = "mps2_an386") {
    "mps2-an386 (Cortex-M4F)"
} else {
    "lm3s6965evb (Cortex-M3)"
};
