//! Guest byte order: little-endian by default, `_be` for big-endian guests,
//! checked against `to_le_bytes`/`to_be_bytes` on whatever host runs this.

use vm_mem::ShardedMemory;

#[test]
fn le_and_be_layouts_match_core() {
    let mut mem: ShardedMemory<2, 32> = ShardedMemory::new();
    for addr in [0usize, 3, 28, 30, 31] {
        let mut buf = [0u8; 8];
        mem.write_u16(addr, 0xa1b2).unwrap();
        mem.read_bytes(addr, &mut buf[..2]).unwrap();
        assert_eq!(buf[..2], 0xa1b2u16.to_le_bytes());
        mem.write_u16_be(addr, 0xa1b2).unwrap();
        mem.read_bytes(addr, &mut buf[..2]).unwrap();
        assert_eq!(buf[..2], 0xa1b2u16.to_be_bytes());
        assert_eq!(mem.read_u16(addr).unwrap(), 0xb2a1);
        if addr + 4 <= 64 {
            mem.write_u32_be(addr, 0x0102_0304).unwrap();
            mem.read_bytes(addr, &mut buf[..4]).unwrap();
            assert_eq!(buf[..4], [1, 2, 3, 4]);
            assert_eq!(mem.read_u32(addr).unwrap(), 0x0403_0201);
            assert_eq!(mem.exclusive().read_u32_be(addr).unwrap(), 0x0102_0304);
        }
        if addr + 8 <= 64 {
            mem.write_u64(addr, 0x0102_0304_0506_0708).unwrap();
            mem.read_bytes(addr, &mut buf).unwrap();
            assert_eq!(buf, 0x0102_0304_0506_0708u64.to_le_bytes());
            assert_eq!(mem.read_u64_be(addr).unwrap(), 0x0807_0605_0403_0201);
            mem.exclusive()
                .write_u64_be(addr, 0x1122_3344_5566_7788)
                .unwrap();
            mem.read_bytes(addr, &mut buf).unwrap();
            assert_eq!(buf, 0x1122_3344_5566_7788u64.to_be_bytes());
        }
    }
    mem.write_bytes(10, &[0xde, 0xad, 0xbe, 0xef]).unwrap();
    assert_eq!(
        mem.read_u32(10).unwrap(),
        u32::from_le_bytes([0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(mem.read_u32_be(10).unwrap(), 0xdead_beef);
}
