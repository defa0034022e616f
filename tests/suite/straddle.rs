//! Accesses that straddle two shards, at every offset, through every mode;
//! round trips; bulk operations across many shards.

use vm_mem::{MemoryAccess, ShardedMemory};

type Mem = ShardedMemory<8, 64>;

fn pattern(seed: u64) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0123_4567_89ab_cdef
}

#[test]
fn every_straddling_offset_every_width_every_mode() {
    let mut mem = Mem::new();
    for boundary in [64usize, 128, 448] {
        for size in [2usize, 4, 8] {
            for into_next in 1..size {
                let addr = boundary - (size - into_next);
                let v = pattern((addr * 10 + size) as u64);
                let bytes = v.to_le_bytes();
                // Shared write, then check bytes on both sides.
                match size {
                    2 => mem.write_u16(addr, v as u16).unwrap(),
                    4 => mem.write_u32(addr, v as u32).unwrap(),
                    _ => mem.write_u64(addr, v).unwrap(),
                }
                let mut got = [0u8; 8];
                mem.read_bytes(addr, &mut got[..size]).unwrap();
                assert_eq!(got[..size], bytes[..size], "addr {addr} size {size}");
                let read_shared = match size {
                    2 => u64::from(mem.read_u16(addr).unwrap()),
                    4 => u64::from(mem.read_u32(addr).unwrap()),
                    _ => mem.read_u64(addr).unwrap(),
                };
                let mask = if size == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * size)) - 1
                };
                assert_eq!(read_shared, v & mask);
                let mut b = mem.batch();
                let read_batch = match size {
                    2 => u64::from(b.read_u16(addr).unwrap()),
                    4 => u64::from(b.read_u32(addr).unwrap()),
                    _ => b.read_u64(addr).unwrap(),
                };
                drop(b);
                assert_eq!(read_batch, v & mask);
                // Exclusive round trip with another value.
                let w = !v;
                let mut x = mem.exclusive();
                match size {
                    2 => x.write_u16(addr, w as u16).unwrap(),
                    4 => x.write_u32(addr, w as u32).unwrap(),
                    _ => x.write_u64(addr, w).unwrap(),
                }
                let read_x = x.read_value::<u64>(addr as u64).ok();
                if size == 8 {
                    assert_eq!(read_x, Some(w));
                }
                assert_eq!(
                    MemoryAccess::read_value::<u16>(&&mem, addr as u64).unwrap(),
                    w as u16
                );
                // Neighbours untouched.
                assert_eq!(mem.read_u8(addr - 1).unwrap(), 0, "byte before {addr}");
                assert_eq!(
                    mem.read_u8(addr + size).unwrap(),
                    0,
                    "byte after {addr}+{size}"
                );
                mem.fill(addr, size, 0).unwrap();
            }
        }
    }
}

#[test]
fn straddling_the_last_shard_end_is_out_of_bounds() {
    let mem = Mem::new();
    for addr in Mem::SIZE - 7..Mem::SIZE {
        assert!(mem.read_u64(addr).is_err());
        assert!(mem.write_u64(addr, 1).is_err());
    }
    let mut all = [0u8; Mem::SIZE];
    mem.read_bytes(0, &mut all).unwrap();
    assert_eq!(all, [0; Mem::SIZE]);
}

#[test]
fn bulk_round_trip_across_many_shards() {
    let mut mem = Mem::new();
    let data: Vec<u8> = (0..Mem::SIZE - 13).map(|i| (i * 7 + 3) as u8).collect();
    mem.write_bytes(5, &data).unwrap();
    let mut back = vec![0u8; data.len()];
    mem.read_bytes(5, &mut back).unwrap();
    assert_eq!(back, data);
    let mut back2 = vec![0u8; data.len()];
    mem.exclusive().read_bytes(5, &mut back2).unwrap();
    assert_eq!(back2, data);
    assert_eq!(mem.read_u8(4).unwrap(), 0);
    assert_eq!(mem.read_u8(5 + data.len()).unwrap(), 0);
    mem.exclusive().fill(60, 200, 0xee).unwrap();
    let mut all = [0u8; Mem::SIZE];
    mem.read_bytes(0, &mut all).unwrap();
    for (i, &b) in all.iter().enumerate() {
        let want = if (60..260).contains(&i) {
            0xee
        } else if (5..5 + data.len()).contains(&i) {
            data[i - 5]
        } else {
            0
        };
        assert_eq!(b, want, "byte {i}");
    }
    mem.exclusive().write_bytes(0, &[1; Mem::SIZE]).unwrap();
    assert_eq!(mem.read_u64(Mem::SIZE - 8).unwrap(), 0x0101_0101_0101_0101);
}

#[test]
fn batch_retargets_between_shards_and_straddles() {
    let mem = Mem::new();
    let mut b = mem.batch();
    for i in 0..Mem::SIZE / 4 {
        b.write_u32(i * 4, i as u32).unwrap();
    }
    for i in (0..Mem::SIZE / 4).rev() {
        assert_eq!(b.read_u32(i * 4).unwrap(), i as u32);
    }
    b.write_u64(60, u64::MAX).unwrap();
    assert_eq!(b.read_u64(60).unwrap(), u64::MAX);
    b.release();
    assert_eq!(mem.read_u64(60).unwrap(), u64::MAX);
    let mut buf = [0u8; 4];
    b.read_bytes(8, &mut buf).unwrap();
    assert_eq!(u32::from_le_bytes(buf), 2);
}
