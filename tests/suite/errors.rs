//! Every error path of the memory kinds, each checked for its kind, access,
//! address and size, and the `Display` text of every error kind.
//!
//! Four tests here and in `torture.rs` pinned bugs this suite found in
//! `src/` (error order on frozen memory, a batch's stray dirty mark, a
//! batch blocking `freeze`); they stay as regression tests.

use std::fmt::Debug;
use vm_mem::{Access, ErrorKind, MemoryAccess, Perms, ShardedMemory, Snapshot, VmError};

type Mem = ShardedMemory<4, 64>;
const SIZE: usize = Mem::SIZE;
const OOB: ErrorKind = ErrorKind::OutOfBounds { limit: SIZE as u64 };
const RO: ErrorKind = ErrorKind::ReadOnly;

/// Asserts `r` failed with exactly this kind, access, address and size.
#[track_caller]
fn expect<T: Debug>(
    r: Result<T, VmError>,
    kind: ErrorKind,
    access: Access,
    addr: u64,
    size: usize,
) {
    let e = r.expect_err("expected an error");
    let size = crate::support::reported_size(kind, size);
    assert_eq!(
        (e.kind(), e.access(), e.addr(), e.size()),
        (kind, access, addr, size),
        "{e}"
    );
    assert_eq!(e, VmError::new(kind, access, addr, size));
}

/// Typed addresses that are out of bounds for an `n`-byte access: running
/// past the end from the last shard, at the end, past it, `usize::MAX` down.
fn bad(n: usize) -> Vec<usize> {
    let mut v = vec![SIZE - n + 1, SIZE - 1, SIZE, SIZE + 1, 1 << 40];
    v.extend((0..8).map(|k| usize::MAX - k));
    v.retain(|&a| a > SIZE - n);
    v
}

/// Bulk ranges that are out of bounds: past the end, overflowing, and a
/// zero-length range past the end.
fn bad_ranges() -> Vec<(usize, usize)> {
    vec![
        (SIZE - 1, 2),
        (0, SIZE + 1),
        (SIZE, 1),
        (SIZE + 1, 0),
        (usize::MAX, 1),
        (usize::MAX, 0),
        (1, usize::MAX),
    ]
}

/// Every bulk read, write and fill of `$h` over `bad_ranges()` fails out
/// of bounds (a fill with 0xff, so one that wrote would show).
macro_rules! bulk_out_of_bounds {
    ($h:expr) => {
        for (a, len) in bad_ranges() {
            if len <= SIZE + 1 {
                let mut buf = vec![0u8; len];
                expect($h.read_bytes(a, &mut buf), OOB, Access::Read, a as u64, len);
                expect($h.write_bytes(a, &buf), OOB, Access::Write, a as u64, len);
            }
            expect($h.fill(a, len, 0xff), OOB, Access::Write, a as u64, len);
        }
    };
}

macro_rules! typed_reads_fail {
    ($h:expr, $access:expr) => {
        for a in bad(1) {
            expect($h.read_u8(a), OOB, $access, a as u64, 1);
        }
        for a in bad(2) {
            expect($h.read_u16(a), OOB, $access, a as u64, 2);
            expect($h.read_u16_be(a), OOB, $access, a as u64, 2);
        }
        for a in bad(4) {
            expect($h.read_u32(a), OOB, $access, a as u64, 4);
            expect($h.read_u32_be(a), OOB, $access, a as u64, 4);
        }
        for a in bad(8) {
            expect($h.read_u64(a), OOB, $access, a as u64, 8);
            expect($h.read_u64_be(a), OOB, $access, a as u64, 8);
        }
    };
}

/// Every typed write at `addrs(n)` fails with `kind`.
macro_rules! typed_writes_fail {
    ($h:expr, $addrs:expr, $kind:expr) => {
        for a in $addrs(1) {
            expect($h.write_u8(a, 1), $kind, Access::Write, a as u64, 1);
        }
        for a in $addrs(2) {
            expect($h.write_u16(a, 1), $kind, Access::Write, a as u64, 2);
            expect($h.write_u16_be(a, 1), $kind, Access::Write, a as u64, 2);
        }
        for a in $addrs(4) {
            expect($h.write_u32(a, 1), $kind, Access::Write, a as u64, 4);
            expect($h.write_u32_be(a, 1), $kind, Access::Write, a as u64, 4);
        }
        for a in $addrs(8) {
            expect($h.write_u64(a, 1), $kind, Access::Write, a as u64, 8);
            expect($h.write_u64_be(a, 1), $kind, Access::Write, a as u64, 8);
        }
    };
}

/// Every guest atomic at `addrs(n)` fails with `kind` and `Access::Atomic`.
macro_rules! atomics_fail {
    ($h:expr, $addrs:expr, $kind:expr) => {
        atomics_fail!(@w $h, $addrs, $kind, 1, u8, i8);
        atomics_fail!(@w $h, $addrs, $kind, 2, u16, i16);
        atomics_fail!(@w $h, $addrs, $kind, 4, u32, i32);
        atomics_fail!(@w $h, $addrs, $kind, 8, u64, i64);
    };
    (@w $h:expr, $addrs:expr, $kind:expr, $n:expr, $t:ty, $s:ty) => {
        for a in $addrs($n) {
            // A compare-exchange that would succeed (memory is zero) and one
            // that would fail.
            expect($h.compare_exchange::<$t>(a, 0, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.compare_exchange::<$t>(a, 1, 2), $kind, Access::Atomic, a as u64, $n);
            expect($h.swap::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_add::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_sub::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_and::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_or::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_xor::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_min::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_max::<$t>(a, 1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_min::<$s>(a, -1), $kind, Access::Atomic, a as u64, $n);
            expect($h.fetch_max::<$s>(a, -1), $kind, Access::Atomic, a as u64, $n);
        }
    };
}

/// In-bounds addresses of every kind for an `n`-byte access: first byte,
/// inside a shard, straddling shards 0/1 and 2/3, the last valid one.
fn good(n: usize) -> Vec<usize> {
    vec![0, 17, 64 - n / 2, 192 - 1, SIZE - n]
}

fn assert_untouched(mem: &Mem) {
    let mut all = [0u8; SIZE];
    mem.read_bytes(0, &mut all).unwrap();
    assert!(all.iter().all(|&b| b == 0), "a failed access wrote");
}

#[test]
fn shared_typed_accesses_out_of_bounds() {
    let mem = Mem::new();
    typed_reads_fail!(mem, Access::Read);
    typed_writes_fail!(mem, bad, OOB);
    atomics_fail!(mem, bad, OOB);
    assert_untouched(&mem);
    assert_eq!(mem.dirty_shards().count(), 0, "a failed access marked");
}

#[test]
fn shared_bulk_out_of_bounds_fails_before_touching_anything() {
    let mem = Mem::new();
    bulk_out_of_bounds!(mem);
    assert_untouched(&mem);
    assert_eq!(mem.dirty_shards().count(), 0);
    // Zero-length ranges up to the end are fine.
    mem.read_bytes(SIZE, &mut []).unwrap();
    mem.write_bytes(SIZE, &[]).unwrap();
    mem.fill(SIZE, 0, 1).unwrap();
}

#[test]
fn frozen_memory_refuses_every_write_in_bounds_and_reports_bounds_first() {
    let mem = Mem::new();
    let _rom = mem.freeze();
    typed_writes_fail!(mem, good, RO);
    typed_writes_fail!(mem, bad, OOB);
    atomics_fail!(mem, good, RO);
    atomics_fail!(mem, bad, OOB);
    for (a, len) in [(0, SIZE), (60, 8), (SIZE, 0), (0, 0)] {
        expect(
            mem.write_bytes(a, &vec![1; len]),
            RO,
            Access::Write,
            a as u64,
            len,
        );
        expect(mem.fill(a, len, 1), RO, Access::Write, a as u64, len);
    }
    for (a, len) in bad_ranges() {
        expect(mem.fill(a, len, 1), OOB, Access::Write, a as u64, len);
    }
    let snap = Snapshot::<4, 64>::new();
    expect(mem.restore(&snap), RO, Access::Write, 0, SIZE);
    // Reads are unaffected.
    typed_reads_fail!(mem, Access::Read);
    assert_eq!(mem.read_u64(60).unwrap(), 0);
    assert_untouched(&mem);
}

#[test]
fn frozen_handle_errors() {
    let mem = Mem::new();
    let rom = mem.freeze();
    typed_reads_fail!(rom, Access::Read);
    typed_writes_fail!(rom, good, RO);
    typed_writes_fail!(rom, bad, OOB);
    bulk_out_of_bounds!(rom);
    expect(rom.write_bytes(3, &[1, 2]), RO, Access::Write, 3, 2);
    expect(rom.fill(SIZE, 0, 1), RO, Access::Write, SIZE as u64, 0);
}

#[test]
fn exclusive_view_errors() {
    let mut mem = Mem::new();
    {
        let mut x = mem.exclusive();
        typed_reads_fail!(x, Access::Read);
        typed_writes_fail!(x, bad, OOB);
        atomics_fail!(x, bad, OOB);
        for (a, len) in bad_ranges() {
            if len <= SIZE + 1 {
                let mut buf = vec![0u8; len];
                expect(x.read_bytes(a, &mut buf), OOB, Access::Read, a as u64, len);
                expect(x.write_bytes(a, &buf), OOB, Access::Write, a as u64, len);
            }
            expect(x.fill(a, len, 0), OOB, Access::Write, a as u64, len);
        }
    }
    assert_untouched(&mem);
    assert_eq!(mem.dirty_shards().count(), 0);
    let _ = mem.freeze();
    let mut x = mem.exclusive();
    typed_writes_fail!(x, good, RO);
    // In-bounds atomics whose compare-exchange would succeed (memory is 0).
    for a in good(4) {
        expect(
            x.compare_exchange::<u32>(a, 0, 1),
            RO,
            Access::Atomic,
            a as u64,
            4,
        );
        expect(x.fetch_add::<u32>(a, 1), RO, Access::Atomic, a as u64, 4);
        expect(x.fetch_min::<i32>(a, -1), RO, Access::Atomic, a as u64, 4);
    }
    atomics_fail!(x, bad, OOB);
    for (a, len) in [(0, SIZE), (60, 8), (SIZE, 0)] {
        expect(
            x.write_bytes(a, &vec![1; len]),
            RO,
            Access::Write,
            a as u64,
            len,
        );
        expect(x.fill(a, len, 1), RO, Access::Write, a as u64, len);
    }
    let snap = Snapshot::<4, 64>::new();
    expect(x.restore(&snap), RO, Access::Write, 0, SIZE);
}

#[test]
fn exclusive_typed_write_to_frozen_memory_reports_bounds_first() {
    let mut mem = Mem::new();
    let _ = mem.freeze();
    let mut x = mem.exclusive();
    typed_writes_fail!(x, bad, OOB);
}

#[test]
fn exclusive_failing_compare_exchange_on_frozen_memory_is_read_only() {
    let mut mem = Mem::new();
    let _ = mem.freeze();
    expect(
        mem.compare_exchange::<u32>(60, 1, 2),
        RO,
        Access::Atomic,
        60,
        4,
    );
    let mut x = mem.exclusive();
    atomics_fail!(x, good, RO);
}

#[test]
fn batch_errors() {
    let mem = Mem::new();
    {
        let mut b = mem.batch();
        typed_reads_fail!(b, Access::Read);
        typed_writes_fail!(b, bad, OOB);
        // The same while holding a guard of the last shard (read, then write).
        b.read_u8(SIZE - 1).unwrap();
        typed_reads_fail!(b, Access::Read);
        for (a, len) in bad_ranges() {
            if len <= SIZE + 1 {
                let mut buf = vec![0u8; len];
                expect(b.read_bytes(a, &mut buf), OOB, Access::Read, a as u64, len);
                expect(b.write_bytes(a, &buf), OOB, Access::Write, a as u64, len);
            }
        }
    }
    assert_untouched(&mem);
    assert_eq!(mem.dirty_shards().count(), 0);
    let _ = mem.freeze();
    let mut b = mem.batch();
    typed_writes_fail!(b, good, RO);
    typed_writes_fail!(b, bad, OOB);
    expect(b.write_bytes(0, &[1; 3]), RO, Access::Write, 0, 3);
    assert_eq!(b.read_u64(60).unwrap(), 0);
}

#[test]
fn batch_holding_the_last_shard_reports_out_of_bounds() {
    let mem = Mem::new();
    let mut b = mem.batch();
    b.write_u8(SIZE - 1, 7).unwrap(); // holds the last shard's write guard
    typed_writes_fail!(b, bad, OOB);
    typed_reads_fail!(b, Access::Read);
    drop(b);
    assert_eq!(mem.read_u8(SIZE - 1).unwrap(), 7);
    let mut all = [0u8; SIZE];
    mem.read_bytes(0, &mut all).unwrap();
    assert_eq!(all.iter().filter(|&&x| x != 0).count(), 1);
}

#[test]
fn batch_out_of_bounds_write_marks_nothing() {
    let mem = Mem::new();
    let mut b = mem.batch();
    b.write_u8(SIZE - 1, 7).unwrap(); // holds the last shard's write guard
    b.memory().clear_dirty();
    expect(
        b.write_u32(SIZE - 2, 1),
        OOB,
        Access::Write,
        SIZE as u64 - 2,
        4,
    );
    assert_eq!(b.memory().dirty_shards().count(), 0, "nothing was written");
}

#[test]
fn trait_errors_report_u64_addresses_and_fetch_access() {
    let mut mem = Mem::new();
    let wide = [
        SIZE as u64,
        u64::from(u32::MAX) + 1,
        usize::MAX as u64,
        u64::MAX,
    ];
    for h in [0u8, 1, 2] {
        for &a in &wide {
            // The shared memory, the exclusive view and a frozen handle
            // (frozen last, it is forever).
            let (r16, r32, f16, f32, w) = match h {
                0 => {
                    let m = &mem;
                    (
                        MemoryAccess::read_u16(&m, a),
                        MemoryAccess::read_u32(&m, a),
                        MemoryAccess::fetch_u16(&m, a),
                        MemoryAccess::fetch_u32(&m, a),
                        MemoryAccess::write_u64(&mut &mem, a, 1),
                    )
                }
                1 => {
                    let mut x = mem.exclusive();
                    (
                        MemoryAccess::read_u16(&x, a),
                        MemoryAccess::read_u32(&x, a),
                        x.fetch_u16(a),
                        x.fetch_u32(a),
                        MemoryAccess::write_u64(&mut x, a, 1),
                    )
                }
                _ => {
                    let rom = mem.freeze();
                    let r = &rom;
                    (
                        MemoryAccess::read_u16(&r, a),
                        MemoryAccess::read_u32(&r, a),
                        MemoryAccess::fetch_u16(&r, a),
                        MemoryAccess::fetch_u32(&r, a),
                        MemoryAccess::write_u64(&mut &rom, a, 1),
                    )
                }
            };
            expect(r16, OOB, Access::Read, a, 2);
            expect(r32, OOB, Access::Read, a, 4);
            expect(f16, OOB, Access::Fetch, a, 2);
            expect(f32, OOB, Access::Fetch, a, 4);
            expect(w, OOB, Access::Write, a, 8);
        }
    }
    // Fetch straddling the end; bulk through the trait.
    let m = &mem;
    expect(
        MemoryAccess::fetch_u32(&m, SIZE as u64 - 2),
        OOB,
        Access::Fetch,
        SIZE as u64 - 2,
        4,
    );
    let mut buf = [0u8; 4];
    expect(
        MemoryAccess::read_bytes(&m, u64::MAX, &mut buf),
        OOB,
        Access::Read,
        u64::MAX,
        4,
    );
    // The memory is frozen now: bounds are still reported first.
    expect(
        MemoryAccess::write_bytes(&mut &mem, SIZE as u64, &buf),
        OOB,
        Access::Write,
        SIZE as u64,
        4,
    );
    expect(
        MemoryAccess::fill(&mut &mem, 0, 1, 0),
        RO,
        Access::Write,
        0,
        1,
    );
    expect(
        MemoryAccess::write_u8(&mut &mem, 0, 0),
        RO,
        Access::Write,
        0,
        1,
    );
}

#[test]
fn display_text_of_every_kind() {
    let mem = Mem::new();
    assert_eq!(
        mem.read_u64(SIZE - 4).unwrap_err().to_string(),
        "out of bounds: 8-byte read at 0xfc, memory is 0x100 bytes"
    );
    assert_eq!(
        mem.fill(usize::MAX, 2, 0).unwrap_err().to_string(),
        "out of bounds: 2-byte write at 0xffffffffffffffff, memory is 0x100 bytes"
    );
    assert_eq!(
        mem.fetch_add::<u16>(255, 1).unwrap_err().to_string(),
        "out of bounds: 2-byte atomic at 0xff, memory is 0x100 bytes"
    );
    assert_eq!(
        MemoryAccess::fetch_u32(&&mem, 0x1000)
            .unwrap_err()
            .to_string(),
        "out of bounds: 4-byte fetch at 0x1000, memory is 0x100 bytes"
    );
    let _ = mem.freeze();
    assert_eq!(
        mem.write_u32(0x3e, 1).unwrap_err().to_string(),
        "read-only: 4-byte write at 0x3e hits read-only memory"
    );
    assert_eq!(
        mem.swap::<u8>(0, 1).unwrap_err().to_string(),
        "read-only: 1-byte atomic at 0x0 hits read-only memory"
    );
    assert_eq!(
        mem.restore(&Snapshot::new()).unwrap_err().to_string(),
        "read-only: 256-byte write at 0x0 hits read-only memory"
    );
    // Kinds that only a map or a device produces, built directly.
    let cases = [
        (ErrorKind::Unmapped, "unmapped: 4-byte read at 0x10"),
        (
            ErrorKind::Permission {
                needed: Perms::READ,
            },
            "permission denied: 4-byte read at 0x10 needs r--",
        ),
        (ErrorKind::Device, "device error: 4-byte read at 0x10"),
        (
            ErrorKind::DeniedByHook,
            "denied by hook: 4-byte read at 0x10",
        ),
        (
            ErrorKind::CrossesRegion,
            "crosses regions: 4-byte read at 0x10 runs out of its region",
        ),
        (
            ErrorKind::BadSize,
            "bad size: 4-byte read at 0x10 is not a size the target serves",
        ),
        (
            ErrorKind::AtomicUnsupported,
            "not atomic: 4-byte read at 0x10 hits a device, which cannot do guest atomics",
        ),
    ];
    for (kind, text) in cases {
        assert_eq!(VmError::new(kind, Access::Read, 0x10, 4).to_string(), text);
    }
    // `with_addr`/`with_access` and the `Error` trait.
    let e = VmError::new(ErrorKind::Unmapped, Access::Read, 1, 2)
        .with_addr(0x2000_0000)
        .with_access(Access::Fetch);
    assert_eq!(e.to_string(), "unmapped: 2-byte fetch at 0x20000000");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.source().is_none());
    assert_eq!(
        [Access::Read, Access::Write, Access::Fetch, Access::Atomic].map(Access::as_str),
        ["read", "write", "fetch", "atomic"]
    );
}

#[test]
fn failed_accesses_leave_memory_and_marks_alone_in_every_geometry() {
    fn check<const S: usize, const N: usize>() {
        let mem = ShardedMemory::<S, N>::new();
        let size = ShardedMemory::<S, N>::SIZE;
        for a in [size - 7, size - 1, size, usize::MAX - 6] {
            let e = mem.write_u64(a, u64::MAX).unwrap_err();
            assert_eq!(
                (e.kind(), e.access(), e.addr(), e.size()),
                (
                    ErrorKind::OutOfBounds { limit: size as u64 },
                    Access::Write,
                    a as u64,
                    8
                )
            );
            assert!(mem.fetch_or::<u64>(a, u64::MAX).is_err());
            assert!(mem.compare_exchange::<u64>(a, 0, 1).is_err());
        }
        let mut all = vec![0u8; size];
        mem.read_bytes(0, &mut all).unwrap();
        assert!(all.iter().all(|&b| b == 0));
        assert_eq!(mem.dirty_shards().count(), 0);
    }
    check::<1, 8>();
    check::<2, 8>();
    check::<4, 64>();
    check::<3, 16>();
}

/// Debug output of the map's errors and a handler's `Miss` prints
/// addresses in hex and permissions as `r-x`, as `Display` does.
#[test]
fn debug_output_prints_addresses_in_hex_and_permissions_as_letters() {
    use vm_mem::{MapError, MapErrorKind, Miss, Perms};
    let e = MapError::new(MapErrorKind::Overlaps, "a", "b", 0x2000_0000, 0x100);
    let text = format!("{e:?}");
    assert!(
        text.contains("base: 0x20000000") && text.contains("len: 0x100"),
        "{text}"
    );
    let m = Miss {
        addr: 0x4000_0004,
        len: 4,
        hole: 0x4000_0004,
        access: vm_mem::Access::Read,
    };
    assert!(format!("{m:?}").contains("addr: 0x40000004"));
    assert_eq!(format!("{:?}", Perms::RX), "Perms(r-x)");
    let k = vm_mem::ErrorKind::Permission {
        needed: Perms::EXEC,
    };
    assert_eq!(format!("{k:?}"), "Permission { needed: Perms(--x) }");
}
