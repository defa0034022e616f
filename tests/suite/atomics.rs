//! Guest atomics: results, stored values, signed variants, straddling,
//! exclusive twins, and that a failed compare-exchange stores nothing.

use vm_mem::{Access, ErrorKind, ShardedMemory};

#[test]
fn each_operation_returns_old_and_stores_new() {
    let mut mem: ShardedMemory<2, 64> = ShardedMemory::new();
    for addr in [0usize, 60, 62] {
        mem.write_u32(addr, 10).unwrap();
        assert_eq!(mem.fetch_add::<u32>(addr, 5).unwrap(), 10);
        assert_eq!(mem.fetch_sub::<u32>(addr, 20).unwrap(), 15);
        assert_eq!(mem.read_u32(addr).unwrap(), 15u32.wrapping_sub(20));
        assert_eq!(
            mem.swap::<u32>(addr, 0b1100).unwrap(),
            15u32.wrapping_sub(20)
        );
        assert_eq!(mem.fetch_and::<u32>(addr, 0b1010).unwrap(), 0b1100);
        assert_eq!(mem.fetch_or::<u32>(addr, 0b0101).unwrap(), 0b1000);
        assert_eq!(mem.fetch_xor::<u32>(addr, 0b1111).unwrap(), 0b1101);
        assert_eq!(mem.read_u32(addr).unwrap(), 0b0010);
        assert_eq!(mem.fetch_max::<u32>(addr, 7).unwrap(), 2);
        assert_eq!(mem.fetch_min::<u32>(addr, 3).unwrap(), 7);
        assert_eq!(mem.fetch_min::<i32>(addr, -1).unwrap(), 3);
        assert_eq!(mem.read_u32(addr).unwrap(), u32::MAX);
        assert_eq!(mem.fetch_max::<i32>(addr, 5).unwrap(), -1);
        assert_eq!(mem.fetch_max::<u32>(addr, u32::MAX).unwrap(), 5);
        assert_eq!(
            mem.compare_exchange::<u32>(addr, 1, 2).unwrap(),
            Err(u32::MAX)
        );
        assert_eq!(
            mem.compare_exchange::<u32>(addr, u32::MAX, 2).unwrap(),
            Ok(u32::MAX)
        );
        assert_eq!(mem.read_u32(addr).unwrap(), 2);
        // Exclusive twins behave the same.
        let mut x = mem.exclusive();
        assert_eq!(x.fetch_add::<u32>(addr, 1).unwrap(), 2);
        assert_eq!(x.compare_exchange::<u32>(addr, 3, 9).unwrap(), Ok(3));
        assert_eq!(x.fetch_min::<i32>(addr, -5).unwrap(), 9);
        assert_eq!(x.read_u32(addr).unwrap(), -5i32 as u32);
    }
    // Other widths.
    assert_eq!(mem.fetch_add::<u8>(41, 255).unwrap(), 0);
    assert_eq!(mem.fetch_add::<u8>(41, 2).unwrap(), 255);
    assert_eq!(mem.read_u8(41).unwrap(), 1);
    assert_eq!(mem.fetch_min::<i8>(41, -128).unwrap(), 1);
    assert_eq!(mem.read_u8(41).unwrap(), 0x80);
    mem.write_u16(63, 0).unwrap();
    assert_eq!(mem.fetch_max::<i16>(63, i16::MIN).unwrap(), 0);
    assert_eq!(mem.compare_exchange::<u16>(63, 0, 0xbeef).unwrap(), Ok(0));
    assert_eq!(mem.read_u16(63).unwrap(), 0xbeef);
    mem.write_u64(100, 5).unwrap();
    assert_eq!(mem.swap::<u64>(100, u64::MAX).unwrap(), 5);
    assert_eq!(mem.fetch_add::<u64>(100, 2).unwrap(), u64::MAX);
    assert_eq!(mem.read_u64(100).unwrap(), 1);
}

#[test]
fn failed_compare_exchange_stores_and_marks_nothing() {
    let mem: ShardedMemory<4, 64> = ShardedMemory::new();
    mem.write_u64(62, 7).unwrap();
    mem.clear_dirty();
    assert_eq!(mem.compare_exchange::<u64>(62, 8, 9).unwrap(), Err(7));
    assert_eq!(mem.compare_exchange::<u64>(16, 1, 2).unwrap(), Err(0));
    assert_eq!(mem.dirty_shards().count(), 0);
    assert_eq!(mem.compare_exchange::<u64>(62, 7, 9).unwrap(), Ok(7));
    assert!(mem.dirty_shards().eq([0, 1]));
}

#[test]
fn atomics_report_atomic_access_and_refuse_frozen_memory() {
    let mem: ShardedMemory<2, 64> = ShardedMemory::new();
    let e = mem.fetch_or::<u16>(127, 1).unwrap_err();
    assert_eq!((e.access(), e.addr(), e.size()), (Access::Atomic, 127, 2));
    let _ = mem.freeze();
    let e = mem.fetch_add::<u32>(0, 1).unwrap_err();
    assert_eq!(
        (e.kind(), e.access(), e.addr(), e.size()),
        (ErrorKind::ReadOnly, Access::Atomic, 0, 4)
    );
    let e = mem.fetch_add::<u32>(62, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly);
}
