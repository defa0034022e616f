//! Every width at the first and last valid address of the memory and of each
//! shard; every address past the end, up to `usize::MAX`, is an error for
//! every method; failed bulk writes leave memory unchanged.

use vm_mem::{Access, ErrorKind, MemoryAccess, ShardedMemory, VmError};

type Mem = ShardedMemory<4, 64>;
const SIZE: usize = Mem::SIZE;

fn oob(access: Access, addr: usize, size: usize) -> VmError {
    VmError::new(
        ErrorKind::OutOfBounds { limit: SIZE as u64 },
        access,
        addr as u64,
        size,
    )
}

#[test]
fn geometry_constants() {
    assert_eq!((Mem::SIZE, Mem::SHARDS, Mem::SHARD_SIZE), (256, 4, 64));
    assert_eq!(Mem::new().size(), 256);
}

#[test]
fn first_and_last_valid_addresses_every_width() {
    let mem = Mem::new();
    for shard in 0..4 {
        let base = shard * 64;
        mem.write_u8(base, 0x11).unwrap();
        mem.write_u8(base + 63, 0x22).unwrap();
        assert_eq!(mem.read_u8(base).unwrap(), 0x11);
        assert_eq!(mem.read_u8(base + 63).unwrap(), 0x22);
        mem.write_u16(base + 62, 0x3344).unwrap();
        assert_eq!(mem.read_u16(base + 62).unwrap(), 0x3344);
        mem.write_u32(base + 60, 0x5566_7788).unwrap();
        assert_eq!(mem.read_u32(base + 60).unwrap(), 0x5566_7788);
        mem.write_u64(base + 56, 0x99aa_bbcc_ddee_ff00).unwrap();
        assert_eq!(mem.read_u64(base + 56).unwrap(), 0x99aa_bbcc_ddee_ff00);
        mem.write_u64(base, 1).unwrap();
        assert_eq!(mem.read_u64(base).unwrap(), 1);
    }
    assert_eq!(mem.read_u64(SIZE - 8).unwrap(), 0x99aa_bbcc_ddee_ff00);
}

fn bad_addresses(size: usize) -> Vec<usize> {
    let mut v = vec![
        SIZE - size + 1,
        SIZE - 1,
        SIZE,
        SIZE + 1,
        SIZE + 64,
        1 << 20,
    ];
    v.extend((0..16).map(|k| usize::MAX - k));
    v.push(usize::MAX / 2);
    v.push(usize::MAX - 3);
    v.retain(|&a| a > SIZE - size);
    v
}

#[test]
fn every_typed_method_rejects_every_address_past_the_end() {
    let mut mem = Mem::new();
    macro_rules! check {
        ($m:expr, $size:expr) => {
            for a in bad_addresses($size) {
                let m = &$m;
                if $size == 1 {
                    assert_eq!(m.read_u8(a), Err(oob(Access::Read, a, 1)));
                }
                if $size == 2 {
                    assert_eq!(m.read_u16(a), Err(oob(Access::Read, a, 2)));
                    assert_eq!(m.read_u16_be(a), Err(oob(Access::Read, a, 2)));
                }
                if $size == 4 {
                    assert_eq!(m.read_u32(a), Err(oob(Access::Read, a, 4)));
                    assert_eq!(m.read_u32_be(a), Err(oob(Access::Read, a, 4)));
                }
                if $size == 8 {
                    assert_eq!(m.read_u64(a), Err(oob(Access::Read, a, 8)));
                    assert_eq!(m.read_u64_be(a), Err(oob(Access::Read, a, 8)));
                }
            }
        };
    }
    for size in [1, 2, 4, 8] {
        check!(mem, size);
        check!(mem.exclusive(), size);
    }
    for a in bad_addresses(1) {
        assert_eq!(mem.write_u8(a, 1), Err(oob(Access::Write, a, 1)));
        assert_eq!(
            mem.exclusive().write_u8(a, 1),
            Err(oob(Access::Write, a, 1))
        );
    }
    for a in bad_addresses(2) {
        assert_eq!(mem.write_u16(a, 1), Err(oob(Access::Write, a, 2)));
        assert_eq!(mem.write_u16_be(a, 1), Err(oob(Access::Write, a, 2)));
        assert_eq!(
            mem.exclusive().write_u16_be(a, 1),
            Err(oob(Access::Write, a, 2))
        );
    }
    for a in bad_addresses(4) {
        assert_eq!(mem.write_u32(a, 1), Err(oob(Access::Write, a, 4)));
        assert_eq!(mem.write_u32_be(a, 1), Err(oob(Access::Write, a, 4)));
        assert_eq!(
            mem.exclusive().write_u32(a, 1),
            Err(oob(Access::Write, a, 4))
        );
    }
    for a in bad_addresses(8) {
        assert_eq!(mem.write_u64(a, 1), Err(oob(Access::Write, a, 8)));
        assert_eq!(mem.write_u64_be(a, 1), Err(oob(Access::Write, a, 8)));
        assert_eq!(
            mem.exclusive().write_u64(a, 1),
            Err(oob(Access::Write, a, 8))
        );
        assert_eq!(mem.batch().read_u64(a), Err(oob(Access::Read, a, 8)));
        assert_eq!(mem.batch().write_u64(a, 1), Err(oob(Access::Write, a, 8)));
        assert_eq!(mem.fetch_add::<u64>(a, 1), Err(oob(Access::Atomic, a, 8)));
        assert_eq!(
            mem.compare_exchange::<u64>(a, 0, 1),
            Err(oob(Access::Atomic, a, 8))
        );
        assert_eq!(
            mem.exclusive().swap::<u64>(a, 1),
            Err(oob(Access::Atomic, a, 8))
        );
    }
    assert!(mem.exclusive().read_bytes(0, &mut [0; 256]).is_ok());
    assert_eq!(
        mem.read_u64(usize::MAX - 3),
        Err(oob(Access::Read, usize::MAX - 3, 8))
    );
    // Nothing wrapped around to a low address.
    let mut all = [0xffu8; 256];
    mem.read_bytes(0, &mut all).unwrap();
    assert_eq!(all, [0; 256]);
}

#[test]
fn bulk_ranges_past_the_end_fail_before_writing() {
    let mem = Mem::new();
    mem.fill(0, SIZE, 0xa5).unwrap();
    let data = [7u8; 100];
    for addr in [SIZE - 99, SIZE - 1, SIZE, usize::MAX - 10, usize::MAX] {
        assert_eq!(
            mem.write_bytes(addr, &data),
            Err(oob(Access::Write, addr, 100))
        );
        assert_eq!(mem.fill(addr, 100, 1), Err(oob(Access::Write, addr, 100)));
        let mut buf = [0u8; 100];
        assert_eq!(
            mem.read_bytes(addr, &mut buf),
            Err(oob(Access::Read, addr, 100))
        );
        assert_eq!(buf, [0; 100], "a failed read leaves the buffer alone");
    }
    assert_eq!(
        mem.fill(1, usize::MAX, 0),
        Err(oob(Access::Write, 1, usize::MAX))
    );
    let mut all = [0u8; SIZE];
    mem.read_bytes(0, &mut all).unwrap();
    assert!(
        all.iter().all(|&b| b == 0xa5),
        "failed bulk writes wrote nothing"
    );
    // Empty ranges up to the end are fine; past it they are not.
    mem.write_bytes(SIZE, &[]).unwrap();
    assert!(mem.write_bytes(SIZE + 1, &[]).is_err());
}

#[test]
fn trait_addresses_wider_than_usize_are_never_truncated() {
    let mem = Mem::new();
    let r = &mem;
    for addr in [SIZE as u64, u64::MAX, 1 << 32, (1u64 << 63) | 8] {
        let e = MemoryAccess::read_u32(&r, addr).unwrap_err();
        assert_eq!(
            (e.kind(), e.addr(), e.size()),
            (ErrorKind::OutOfBounds { limit: SIZE as u64 }, addr, 4)
        );
        let mut buf = [0u8; 4];
        assert!(MemoryAccess::read_bytes(&r, addr, &mut buf).is_err());
    }
}

#[test]
fn a_static_memory_works() {
    static RAM: ShardedMemory<16, 1024> = ShardedMemory::new();
    RAM.write_u64(1020, 0x0807_0605_0403_0201).unwrap();
    assert_eq!(RAM.read_u64(1020).unwrap(), 0x0807_0605_0403_0201);
    assert_eq!(RAM.read_u8(1024).unwrap(), 5);
}

#[test]
fn boxed_memory_starts_zeroed_and_works() {
    // 256 KiB natively; 32 KiB under Miri, whose time is the memory's size.
    const SHARDS: usize = if cfg!(miri) { 8 } else { 64 };
    let mem = ShardedMemory::<SHARDS, 4096>::new_boxed();
    let mut buf = vec![0xffu8; SHARDS * 4096];
    mem.read_bytes(0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    assert!(!mem.is_frozen());
    assert_eq!(mem.dirty_shards().count(), 0);
    mem.write_u64(4095, u64::MAX).unwrap();
    assert_eq!(mem.read_u64(4095).unwrap(), u64::MAX);
    // Every field behaves as `new()`'s: the snapshot lock is free and there
    // is no baseline (a first restore copies every shard), the state is live.
    let mut snap = vm_mem::Snapshot::<SHARDS, 4096>::new_boxed();
    assert!(!snap.is_taken());
    assert_eq!(
        mem.restore(&snap).unwrap(),
        SHARDS,
        "no baseline: full copy"
    );
    mem.snapshot(&mut snap);
    mem.write_u8(0, 1).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 1);
    assert_eq!(mem.freeze().read_u8(0).unwrap(), 0);
}
