//! The memory map: region rejections (map unchanged), every permission for
//! read/write/fetch, unmapped holes, region edges, accesses split across
//! adjacent RAM, MMIO offsets/sizes/call counts as the device sees them,
//! bulk copies over devices, error addresses, genericity and threads.

use std::sync::Mutex;
use vm_mem::{
    Access, ErrorKind, Frozen, GuestRam, MapError, MemoryAccess, MemoryMap, MmioDevice, Perms,
    RegionKind, ShardedMemory, VmError,
};

type Mem = ShardedMemory<4, 64>; // 256 bytes

/// A device that records every call and behaves as a little register file.
struct Recorder {
    regs: Mutex<[u8; 64]>,
    calls: Mutex<Vec<(char, u64, usize, u64)>>,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            regs: Mutex::new([0; 64]),
            calls: Mutex::new(Vec::new()),
        }
    }
    fn take(&self) -> Vec<(char, u64, usize, u64)> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl MmioDevice for Recorder {
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        let regs = self.regs.lock().unwrap();
        let mut le = [0u8; 8];
        let o = offset as usize;
        le[..size].copy_from_slice(&regs[o..o + size]);
        let v = u64::from_le_bytes(le);
        self.calls.lock().unwrap().push(('r', offset, size, v));
        Ok(v | (0xdead_0000_0000_0000 * u64::from(size < 8))) // junk above `size`: must be cut
    }
    fn write(&self, offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        self.calls.lock().unwrap().push(('w', offset, size, value));
        if offset == 60 {
            return Err(VmError::new(ErrorKind::Device, Access::Write, 0, 0));
        }
        let o = offset as usize;
        self.regs.lock().unwrap()[o..o + size].copy_from_slice(&value.to_le_bytes()[..size]);
        Ok(())
    }
}

fn kind<T: std::fmt::Debug>(r: Result<T, VmError>) -> ErrorKind {
    r.unwrap_err().kind()
}

fn snapshot(map: &MemoryMap<'_, 4>) -> Vec<(String, u64, u64, Perms, RegionKind)> {
    map.regions()
        .iter()
        .map(|r| (r.name().to_string(), r.base(), r.len(), r.perms(), r.kind()))
        .collect()
}

#[test]
fn rejections_name_the_clash_and_change_nothing() {
    let (a, b) = (Mem::new(), Mem::new());
    let dev = Recorder::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("a", 0x1000, 0x100, Perms::RW, &a).unwrap();
    map.add_mmio("dev", 0x2000, 0x40, Perms::RW, &dev).unwrap();
    map.write_u32(0x1000, 7).unwrap();
    let before = snapshot(&map);

    let config = |r: Result<(), MapError>| {
        let e = r.unwrap_err();
        (
            e.kind().as_str(),
            e.region().to_owned(),
            e.other().to_owned(),
        )
    };
    // Overlaps: inside, across the start, across the end, same base, around.
    for (base, len) in [
        (0x1010, 0x10),
        (0xff0, 0x20),
        (0x10f0, 0x20),
        (0x1000, 1),
        (0xf00, 0x300),
        (0x10ff, 1),
    ] {
        let (reason, first, second) = config(map.add_mmio("x", base, len, Perms::RW, &dev));
        assert_eq!(
            (reason, first, second),
            ("overlaps", "x".to_owned(), "a".to_owned()),
            "{base:#x}+{len:#x}"
        );
    }
    assert_eq!(
        config(map.add_ram("y", 0x1fff, 2, Perms::RW, &b)),
        ("overlaps", "y".to_owned(), "dev".to_owned())
    );
    let err = map.add_ram("x", 0x10f0, 0x20, Perms::RW, &b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad region `x` at 0x10f0 (32 bytes): overlaps `a`"
    );
    assert_eq!((err.base(), err.len()), (0x10f0, 32));
    // Zero length, overflow, longer than the backing memory.
    assert_eq!(
        config(map.add_ram("z", 0x5000, 0, Perms::RW, &b)).0,
        "has zero length"
    );
    assert_eq!(
        config(map.add_mmio("o", u64::MAX - 2, 4, Perms::RW, &dev)).0,
        "runs past the end of the 64-bit address space"
    );
    assert_eq!(
        config(map.add_mmio("o", u64::MAX, u64::MAX, Perms::RW, &dev)).0,
        "runs past the end of the 64-bit address space"
    );
    assert_eq!(
        config(map.add_ram("big", 0x5000, 257, Perms::RW, &b)).0,
        "runs past the end of its backing memory"
    );
    assert_eq!(snapshot(&map), before, "nothing changed");
    assert_eq!(map.read_u32(0x1000).unwrap(), 7);

    // Adjacent on both sides is fine; then the map is full.
    map.add_ram("below", 0xf00, 0x100, Perms::RW, &b).unwrap();
    map.add_mmio("top", u64::MAX, 1, Perms::RW, &dev).unwrap();
    let full = snapshot(&map);
    assert_eq!(
        config(map.add_ram("more", 0x9000, 1, Perms::RW, &b)),
        (
            "does not fit: the map is full",
            "more".to_owned(),
            String::new()
        )
    );
    assert_eq!(snapshot(&map), full);
    assert_eq!(map.capacity(), 4);
    let names: Vec<_> = map.regions().iter().map(|r| r.name()).collect();
    assert_eq!(names, ["below", "a", "dev", "top"], "sorted by base");
    assert_eq!(map.region("dev").unwrap().last(), 0x203f);
    assert!(map.region("nope").is_none());
}

#[test]
fn every_permission_for_read_write_fetch_on_ram_and_mmio() {
    let ram = Mem::new();
    let dev = Recorder::new();
    for bits in 0..8u8 {
        let perms = Perms::from_bits_truncate(bits);
        let map: MemoryMap<'_, 2> = MemoryMap::new();
        map.add_ram("ram", 0x100, 0x100, perms, &ram).unwrap();
        map.add_mmio("dev", 0x400, 0x40, perms, &dev).unwrap();
        for base in [0x100u64, 0x400] {
            let addr = base + 8;
            let expect = |needed: Perms, r: Result<(), VmError>, access: Access, size: usize| {
                if perms.contains(needed) {
                    r.unwrap();
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(
                        e.kind(),
                        ErrorKind::Permission { needed },
                        "{perms} {addr:#x}"
                    );
                    assert_eq!((e.access(), e.addr(), e.size()), (access, addr, size));
                }
            };
            expect(
                Perms::WRITE,
                map.write_u32(addr, 0x4770_bf00),
                Access::Write,
                4,
            );
            expect(Perms::READ, map.read_u32(addr).map(drop), Access::Read, 4);
            expect(Perms::EXEC, map.fetch_u16(addr).map(drop), Access::Fetch, 2);
            expect(Perms::EXEC, map.fetch_u32(addr).map(drop), Access::Fetch, 4);
            expect(
                Perms::READ,
                map.read_bytes(addr, &mut [0; 3]),
                Access::Read,
                3,
            );
            expect(
                Perms::WRITE,
                map.write_bytes(addr, &[1; 3]),
                Access::Write,
                3,
            );
            expect(Perms::WRITE, map.fill(addr, 3, 0), Access::Write, 3);
            if perms.contains(Perms::RW) {
                map.write_u32(addr, 0x4770_bf00).unwrap();
                assert_eq!(map.read_u32(addr).unwrap(), 0x4770_bf00);
            }
            if perms.contains(Perms::RX) && perms.contains(Perms::WRITE) {
                assert_eq!(map.fetch_u32(addr).unwrap(), 0x4770_bf00);
                assert_eq!(map.fetch_u16(addr + 2).unwrap(), 0x4770);
            }
        }
        // A refused access never reaches the device.
        let calls = dev.take();
        let expected = [Perms::READ, Perms::WRITE, Perms::EXEC]
            .iter()
            .filter(|p| perms.contains(**p))
            .count();
        assert!(calls.len() >= expected, "{perms}: {calls:?}");
        if perms == Perms::NONE {
            assert!(calls.is_empty());
        }
    }
}

#[test]
fn rom_refuses_writes_whatever_its_permissions() {
    static FLASH: ShardedMemory<2, 64> = ShardedMemory::new();
    FLASH.write_u32(0, 0xe7fe_bf00).unwrap();
    let rom = FLASH.freeze();
    let ram = Mem::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_rom("flash", 0, 128, Perms::RWX, &rom).unwrap();
    map.add_ram("ram", 128, 128, Perms::RW, &ram).unwrap();
    assert_eq!(map.region_at(0).unwrap().kind(), RegionKind::Rom);
    assert_eq!(map.fetch_u32(0).unwrap(), 0xe7fe_bf00);
    for r in [
        map.write_u8(0, 1),
        map.write_u64_be(120, 1),
        map.write_u32(126, 1), // straddles into RAM: nothing written there either
        map.write_bytes(127, &[1, 2]),
        map.fill(0, 256, 0),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnly);
        assert_eq!(e.access(), Access::Write);
    }
    assert_eq!(map.read_u64(124).unwrap(), 0);
    let rx_map: MemoryMap<'_, 1> = MemoryMap::new();
    rx_map
        .add_rom("flash", 0x800_0000, 128, Perms::RX, &rom)
        .unwrap();
    let e = rx_map.write_u16(0x800_0002, 1).unwrap_err();
    assert_eq!((e.kind(), e.addr()), (ErrorKind::ReadOnly, 0x800_0002));
}

#[test]
fn unmapped_holes_and_the_ends_of_the_address_space() {
    let (a, b) = (Mem::new(), Mem::new());
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("a", 0x1000, 0x100, Perms::RWX, &a).unwrap();
    map.add_ram("b", 0x1200, 0x100, Perms::RWX, &b).unwrap();
    map.add_ram("top", u64::MAX - 0xff, 0x100, Perms::RWX, &b)
        .unwrap();
    for addr in [0, 0xfff, 0x1100, 0x11ff, 0x1300, 1 << 32, u64::MAX - 0x100] {
        for e in [
            map.read_u8(addr).unwrap_err(),
            map.write_u64(addr, 0).unwrap_err(),
            map.fetch_u16(addr).unwrap_err(),
            map.read_bytes(addr, &mut [0; 16]).unwrap_err(),
        ] {
            assert_eq!((e.kind(), e.addr()), (ErrorKind::Unmapped, addr), "{e}");
        }
    }
    // Straddling into a hole: the whole access is refused, nothing
    // written; the error names the first unmapped byte.
    for (addr, size, hole) in [
        (0x10fe, 4, 0x1100),
        (0x0ffe, 4, 0x0ffe),
        (0x11fc, 8, 0x11fc),
        (0x12ff, 2, 0x1300),
    ] {
        let e = map.write_bytes(addr, &vec![0xee; size]).unwrap_err();
        assert_eq!(
            (e.kind(), e.addr(), e.size()),
            (ErrorKind::Unmapped, hole, size)
        );
    }
    assert_eq!(map.read_u16(0x10fe).unwrap(), 0);
    assert_eq!(kind(map.read_u32(0x10fe)), ErrorKind::Unmapped);
    // The top byte of the address space is mapped; past it is not.
    map.write_u8(u64::MAX, 0xab).unwrap();
    assert_eq!(map.read_u8(u64::MAX).unwrap(), 0xab);
    map.write_u64(u64::MAX - 7, 0x1122_3344_5566_7788).unwrap();
    assert_eq!(kind(map.read_u16(u64::MAX)), ErrorKind::WrapsAround);
    assert_eq!(kind(map.read_u64(u64::MAX - 6)), ErrorKind::WrapsAround);
    assert_eq!(
        kind(map.read_bytes(u64::MAX, &mut [0; 2])),
        ErrorKind::WrapsAround
    );
    assert_eq!(
        kind(map.fill(u64::MAX - 1, usize::MAX, 0)),
        ErrorKind::WrapsAround
    );
    assert_eq!(b.read_u64(0xf8).unwrap(), 0x1122_3344_5566_7788);
    // Zero-length bulk copies succeed anywhere.
    map.read_bytes(7, &mut []).unwrap();
    map.write_bytes(u64::MAX, &[]).unwrap();
    map.fill(0, 0, 1).unwrap();
}

#[test]
fn region_edges_first_and_last_byte_every_width() {
    let mem = ShardedMemory::<8, 64>::new();
    let map: MemoryMap<'_, 1> = MemoryMap::new();
    let (base, len) = (0x2000_0000u64, 0x1f3u64); // odd length
    map.add_ram("sram", base, len, Perms::RW, &mem).unwrap();
    let last = base + len - 1;
    for size in [1u64, 2, 4, 8] {
        let v = 0x0102_0304_0506_0708u64;
        let write = |addr| match size {
            1 => map.write_u8(addr, v as u8),
            2 => map.write_u16(addr, v as u16),
            4 => map.write_u32(addr, v as u32),
            _ => map.write_u64(addr, v),
        };
        let read = |addr| match size {
            1 => map.read_u8(addr).map(u64::from),
            2 => map.read_u16(addr).map(u64::from),
            4 => map.read_u32(addr).map(u64::from),
            _ => map.read_u64(addr),
        };
        let mask = u64::MAX >> (64 - 8 * size);
        // First bytes and the last full access.
        for addr in [base, last + 1 - size] {
            write(addr).unwrap();
            assert_eq!(read(addr).unwrap(), v & mask);
        }
        // Every access that runs past the end (or starts before the base).
        for into in 1..size {
            let addr = last + 1 - size + into;
            // The first unmapped byte: the one past the end.
            let e = write(addr).unwrap_err();
            assert_eq!(
                (e.kind(), e.addr(), e.size()),
                (ErrorKind::Unmapped, last + 1, size as usize)
            );
            assert_eq!(kind(read(addr)), ErrorKind::Unmapped);
            assert_eq!(kind(read(base - into)), ErrorKind::Unmapped);
        }
    }
    // Region-relative placement in the memory.
    map.write_u8(last, 0x5a).unwrap();
    assert_eq!(mem.read_u8((len - 1) as usize).unwrap(), 0x5a);
}

#[test]
fn accesses_spanning_adjacent_ram_are_split_at_every_offset() {
    let a = ShardedMemory::<1, 64>::new();
    let b = ShardedMemory::<2, 64>::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_ram("a", 0x1000, 64, Perms::RWX, &a).unwrap();
    map.add_ram("b", 0x1040, 100, Perms::RWX, &b).unwrap();
    for size in [2u64, 4, 8] {
        for into in 1..size {
            let addr = 0x1040 - size + into;
            let v = 0x8877_6655_4433_2211u64;
            let bytes = v.to_le_bytes();
            let n = (size - into) as usize; // bytes in `a`
            match size {
                2 => map.write_u16(addr, v as u16),
                4 => map.write_u32(addr, v as u32),
                _ => map.write_u64(addr, v),
            }
            .unwrap();
            let mut in_a = [0u8; 8];
            a.read_bytes(64 - n, &mut in_a[..n]).unwrap();
            let mut in_b = [0u8; 8];
            b.read_bytes(0, &mut in_b[..size as usize - n]).unwrap();
            assert_eq!(in_a[..n], bytes[..n]);
            assert_eq!(in_b[..size as usize - n], bytes[n..size as usize]);
            let mask = u64::MAX >> (64 - 8 * size);
            let (got, got_be) = match size {
                2 => (
                    u64::from(map.read_u16(addr).unwrap()),
                    u64::from(map.read_u16_be(addr).unwrap()),
                ),
                4 => (
                    u64::from(map.read_u32(addr).unwrap()),
                    u64::from(map.read_u32_be(addr).unwrap()),
                ),
                _ => (map.read_u64(addr).unwrap(), map.read_u64_be(addr).unwrap()),
            };
            assert_eq!(got, v & mask, "{addr:#x} {size}");
            assert_eq!(got_be, (v & mask).swap_bytes() >> (64 - 8 * size));
            if size <= 4 {
                let f = if size == 2 {
                    u64::from(map.fetch_u16(addr).unwrap())
                } else {
                    u64::from(map.fetch_u32(addr).unwrap())
                };
                assert_eq!(f, v & mask);
            }
        }
    }
    // Each part is checked before any is performed.
    let ro: MemoryMap<'_, 2> = MemoryMap::new();
    ro.add_ram("a", 0x1000, 64, Perms::RW, &a).unwrap();
    ro.add_ram("b", 0x1040, 100, Perms::READ, &b).unwrap();
    a.write_u32(60, 0).unwrap();
    let e = ro.write_u64(0x103c, u64::MAX).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Permission {
            needed: Perms::WRITE
        }
    );
    // The first byte refused: the read-only part's first.
    assert_eq!((e.addr(), e.size()), (0x1040, 8));
    assert_eq!(
        a.read_u32(60).unwrap(),
        0,
        "nothing written in the first part"
    );
    let e = ro.fetch_u32(0x103e).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Permission {
            needed: Perms::EXEC
        }
    );
    // Bulk copies run over many regions.
    let mut buf = [0u8; 164];
    map.fill(0x1000, 164, 0x33).unwrap();
    map.read_bytes(0x1000, &mut buf).unwrap();
    assert!(buf.iter().all(|&x| x == 0x33));
}

#[test]
fn a_device_sees_one_call_per_access_with_its_offset_and_size() {
    let dev = Recorder::new();
    let (ram, next_ram) = (Mem::new(), Mem::new());
    let map: MemoryMap<'_, 3> = MemoryMap::new();
    map.add_ram("ram", 0x4000_bfc0, 0x40, Perms::RW, &ram)
        .unwrap();
    map.add_mmio("uart", 0x4000_c000, 0x40, Perms::RW, &dev)
        .unwrap();
    let base = 0x4000_c000u64;
    for size in [1usize, 2, 4, 8] {
        for off in 0..=(0x40 - size as u64) {
            if off == 60 {
                continue; // the recorder fails writes there
            }
            let v = 0xa1b2_c3d4_e5f6_0718u64 & (u64::MAX >> (64 - 8 * size));
            let addr = base + off;
            match size {
                1 => map.write_u8(addr, v as u8),
                2 => map.write_u16(addr, v as u16),
                4 => map.write_u32(addr, v as u32),
                _ => map.write_u64(addr, v),
            }
            .unwrap();
            assert_eq!(dev.take(), [('w', off, size, v)], "write {size}@{off}");
            let got = match size {
                1 => u64::from(map.read_u8(addr).unwrap()),
                2 => u64::from(map.read_u16(addr).unwrap()),
                4 => u64::from(map.read_u32(addr).unwrap()),
                _ => map.read_u64(addr).unwrap(),
            };
            assert_eq!(got, v, "junk above the access's size is cut");
            assert_eq!(dev.take(), [('r', off, size, v)], "read {size}@{off}");
        }
    }
    // Big-endian accesses are one call with the byte-swapped value.
    map.write_u32_be(base, 0x1122_3344).unwrap();
    assert_eq!(dev.take(), [('w', 0, 4, 0x4433_2211)]);
    assert_eq!(map.read_u32_be(base).unwrap(), 0x1122_3344);
    dev.take();

    // Crossing the device's end, or into it from RAM: refused, no call.
    let uart_end = base + 0x40;
    for (addr, size, _first, second) in [
        (uart_end - 2, 4usize, "uart", ""),
        (base - 1, 2, "ram", "uart"),
        (base - 4, 8, "ram", "uart"),
    ] {
        let r = if size == 4 {
            map.read_u32(addr).map(drop)
        } else if size == 2 {
            map.write_u16(addr, 0)
        } else {
            map.read_u64(addr).map(drop)
        };
        let e = r.unwrap_err();
        if second.is_empty() {
            // Past the device lies a hole: unmapped wins.
            assert_eq!(e.kind(), ErrorKind::Unmapped);
        } else {
            // The error names the first byte past the boundary crossed.
            let boundary = if addr < base { base } else { uart_end };
            assert_eq!(e.kind(), ErrorKind::CrossesRegion);
            assert_eq!((e.addr(), e.size()), (boundary, size));
        }
    }
    map.add_ram("after", uart_end, 0x10, Perms::RW, &next_ram)
        .unwrap();
    let e = map.read_u64(uart_end - 4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CrossesRegion);
    assert!(dev.take().is_empty(), "no device call for a refused access");
    // A device error keeps its kind and gets the guest address and size.
    let e = map.write_u16(base + 60, 1).unwrap_err();
    assert_eq!(
        (e.kind(), e.access(), e.addr(), e.size()),
        (ErrorKind::Device, Access::Write, base + 60, 2)
    );
}

#[test]
fn bulk_copies_over_a_device_are_naturally_aligned_accesses() {
    let dev = Recorder::new();
    let ram = Mem::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_ram("ram", 0xff0, 0x10, Perms::RW, &ram).unwrap();
    map.add_mmio("dev", 0x1000, 0x40, Perms::RW, &dev).unwrap();
    let data: Vec<u8> = (1..=22).collect();
    map.write_bytes(0x1001, &data).unwrap();
    let calls: Vec<_> = dev.take().iter().map(|c| (c.1, c.2)).collect();
    assert_eq!(
        calls,
        [(1, 1), (2, 2), (4, 4), (8, 8), (16, 4), (20, 2), (22, 1)]
    );
    let mut back = [0u8; 22];
    map.read_bytes(0x1001, &mut back).unwrap();
    assert_eq!(back[..], data[..]);
    assert_eq!(dev.take().len(), 7);
    // RAM then device in one copy (bulk copies may cross into a device).
    map.fill(0xffe, 4, 0x77).unwrap();
    assert_eq!(ram.read_u16(0xe).unwrap(), 0x7777);
    assert_eq!(dev.take(), [('w', 0, 2, 0x7777)]);
    let mut buf = [0u8; 4];
    map.read_bytes(0xffe, &mut buf).unwrap();
    assert_eq!(buf, [0x77; 4]);
    assert_eq!(dev.take(), [('r', 0, 2, 0x7777)]);
    // A device error stops the copy, reported at the copy's address.
    let e = map.fill(0x103a, 6, 0).unwrap_err();
    assert_eq!(
        (e.kind(), e.addr(), e.size()),
        (ErrorKind::Device, 0x103a, 6)
    );
    assert_eq!(
        dev.take().len(),
        2,
        "the 2-byte part done, the 4-byte one failed"
    );
    assert_eq!(map.read_u16(0x103a).unwrap(), 0);
}

#[test]
fn frozen_memory_as_ram_and_guest_ram_through_dyn() {
    static M: ShardedMemory<2, 64> = ShardedMemory::new();
    M.write_u64(0, 0x0807_0605_0403_0201).unwrap();
    let frozen: Frozen<'static, 2, 64> = M.freeze();
    let g: &dyn GuestRam = &frozen;
    assert_eq!(g.size(), 128);
    assert_eq!(g.load(2, 4).unwrap(), 0x0605_0403);
    assert_eq!(g.store(0, 1, 1).unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(
        g.load(u64::MAX, 1).unwrap_err().kind(),
        ErrorKind::OutOfBounds { limit: 128 }
    );
    let map: MemoryMap<'_, 1> = MemoryMap::new();
    map.add_ram("frozen", 0x100, 128, Perms::RW, &frozen)
        .unwrap();
    let e = map.write_u16(0x101, 0).unwrap_err();
    assert_eq!(
        (e.kind(), e.addr(), e.size()),
        (ErrorKind::ReadOnly, 0x101, 2)
    );
}

/// An interpreter step written once, for any memory kind.
fn step<M: MemoryAccess>(mem: &mut M, pc: u64) -> Result<u64, VmError> {
    let insn = mem.fetch_u16(pc)?;
    let v = mem.read_u32(0x2000_0000)?;
    mem.write_u32(0x2000_0000, v + u32::from(insn))?;
    Ok(pc + 2)
}

#[test]
fn emulator_code_is_generic_over_map_and_memory() {
    let flash = ShardedMemory::<1, 64>::new();
    flash.write_u16(0, 5).unwrap();
    let rom = flash.freeze();
    let sram = Mem::new();
    let map: MemoryMap<'_, 2> = MemoryMap::new();
    map.add_rom("flash", 0, 64, Perms::RX, &rom).unwrap();
    map.add_ram("sram", 0x2000_0000, 256, Perms::RW, &sram)
        .unwrap();
    let mut m = &map;
    assert_eq!(step(&mut m, 0).unwrap(), 2);
    assert_eq!(step(&mut m, 0).unwrap(), 2);
    assert_eq!(sram.read_u32(0).unwrap(), 10);
    let e = step(&mut m, 0x2000_0000).unwrap_err();
    assert_eq!(
        (e.kind(), e.access()),
        (
            ErrorKind::Permission {
                needed: Perms::EXEC
            },
            Access::Fetch
        )
    );
    // The trait's bulk and BE methods go through the map too.
    MemoryAccess::write_u32_be(&mut m, 0x2000_0004, 0x0102_0304).unwrap();
    assert_eq!(
        MemoryAccess::read_u32(&m, 0x2000_0004).unwrap(),
        0x0403_0201
    );
    MemoryAccess::fill(&mut m, 0x2000_0010, 4, 9).unwrap();
    let mut buf = [0; 4];
    MemoryAccess::read_bytes(&m, 0x2000_0010, &mut buf).unwrap();
    assert_eq!(buf, [9; 4]);
    assert_eq!(
        MemoryAccess::write_bytes(&mut m, 0, &[1])
            .unwrap_err()
            .kind(),
        ErrorKind::ReadOnly
    );
    assert_eq!(m.read_value::<u16>(0).unwrap(), 5);
}

#[test]
fn a_map_serves_several_threads() {
    let ram = ShardedMemory::<4, 64>::new();
    let map: MemoryMap<'_, 1> = MemoryMap::new();
    map.add_ram("ram", 0x8000_0000, 256, Perms::RW, &ram)
        .unwrap();
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let map = &map;
            s.spawn(move || {
                for i in 0..rounds {
                    let addr = 0x8000_0000 + t * 64 + (i % 7) * 8;
                    map.write_u64(addr, i).unwrap();
                    assert_eq!(map.read_u64(addr).unwrap(), i);
                }
            });
        }
    });
}

#[test]
fn debug_output_lists_regions() {
    let ram = Mem::new();
    let map: MemoryMap<'_, 1> = MemoryMap::new();
    map.add_ram("sram", 0x2000_0000, 16, Perms::RW, &ram)
        .unwrap();
    let s = format!("{map:?}");
    assert!(
        s.contains("sram") && s.contains("0x2000000f") && s.contains("rw-"),
        "{s}"
    );
}

/// Fetches of every width (`fetch_u8` for byte-wise decoders up to
/// `fetch_u64`) check execute permission through every handle, report
/// `Access::Fetch`, and agree with the reads.
#[test]
fn fetches_of_every_width_check_execute_permission_on_every_handle() {
    use vm_mem::{Access, ErrorKind, MemoryAccess, OwnerMap};
    let code = ShardedMemory::<1, 4096>::new();
    code.write_bytes(0, &[0x48, 0x89, 0xe5, 0xc3, 1, 2, 3, 4])
        .unwrap();
    let mut data = ShardedMemory::<1, 4096>::new();
    let shared_data = ShardedMemory::<1, 4096>::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("code", 0x1000, 0x1000, Perms::RX, &code)
        .unwrap();
    map.add_ram("data", 0x2000, 0x1000, Perms::RW, &shared_data)
        .unwrap();
    fn check<M: MemoryAccess>(m: &M) {
        assert_eq!(m.fetch_u8(0x1001), Ok(0x89));
        assert_eq!(m.fetch_u64(0x1000), Ok(0x0403_0201_c3e5_8948));
        assert_eq!(m.fetch_u8(0x1003), m.read_u8(0x1003));
        let e = m.fetch_u8(0x2000).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Permission {
                needed: Perms::EXEC
            }
        );
        assert_eq!((e.access(), e.size()), (Access::Fetch, 1));
        let e = m.fetch_u64(0x2008).unwrap_err();
        assert_eq!(
            (e.kind(), e.access()),
            (
                ErrorKind::Permission {
                    needed: Perms::EXEC
                },
                Access::Fetch
            )
        );
    }
    check(&map);
    check(&map.cpu());
    assert_eq!(map.fetch::<u16>(0x1002), Ok(0xc3e5));
    let frozen = code.freeze();
    let owner: OwnerMap<'_, 4> = OwnerMap::new();
    owner
        .add_rom("code", 0x1000, 0x1000, Perms::RX, &frozen)
        .unwrap();
    owner
        .add_ram("data", 0x2000, 0x1000, Perms::RW, &mut data)
        .unwrap();
    check(&owner);
}

/// Several changes published as one (`update`), and a bank switch
/// (`replace_ram`) keeping the region's permissions and hooks.
#[test]
fn updates_publish_all_their_changes_or_none() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use vm_mem::{AccessHook, MapErrorKind, WriteData};
    struct Count(AtomicUsize);
    impl AccessHook for Count {
        fn write(&self, _: u64, _: WriteData<'_>) -> bool {
            self.0.fetch_add(1, Ordering::Relaxed);
            true
        }
    }
    let (a, b) = (
        ShardedMemory::<1, 4096>::new(),
        ShardedMemory::<1, 8192>::new(),
    );
    b.write_u32(0x1000, 0xb).unwrap();
    let count = Count(AtomicUsize::new(0));
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("a", 0x1000, 0x1000, Perms::RW, &a).unwrap();
    let v = map.version();
    let id = map
        .update(|u| {
            u.protect(0x1800..=0x1fff, Perms::READ)?;
            u.add_ram_window("b", 0x4000, 0x1000, Perms::RW, &b, 0x1000)?;
            u.watch(0x1000..=0x1003, Perms::WRITE, &count)
        })
        .unwrap();
    assert_eq!(map.version(), v + 2, "one version for three changes");
    assert_eq!(map.read_u32(0x4000), Ok(0xb));
    map.write_u32(0x1000, 1).unwrap();
    assert_eq!(count.0.load(Ordering::Relaxed), 1);
    // A refused change: nothing of the update is published.
    let err = map
        .update(|u| {
            u.unwatch(id)?;
            u.remove("b")?;
            u.move_region("a", 0x3800)?; // into the place "b" left
            u.remove("nope") // refused: the whole update is dropped
        })
        .unwrap_err();
    assert_eq!(err.kind(), MapErrorKind::NoSuchRegion);
    assert_eq!(map.version(), v + 2);
    assert_eq!(map.read_u32(0x4000), Ok(0xb));
    // A bank switch: the parts, permissions and hook stay.
    map.replace_ram("a", &b, 0).unwrap();
    assert_eq!(map.read_u32(0x1000), Ok(0));
    assert_eq!(map.read_u32(0x4000), Ok(0xb));
    map.write_u32(0x1000, 5).unwrap();
    assert_eq!((b.read_u32(0), a.read_u32(0)), (Ok(5), Ok(1)));
    assert_eq!(count.0.load(Ordering::Relaxed), 2);
    assert!(
        map.write_u8(0x1800, 1).is_err(),
        "the protected part stays read-only"
    );
    let err = map.replace_ram("a", &a, 1).unwrap_err();
    assert_eq!(err.kind(), MapErrorKind::PastBacking);
    assert_eq!(
        map.replace_ram("nope", &a, 0).unwrap_err().kind(),
        MapErrorKind::NoSuchRegion
    );
}
