//! `MemoryAccess` from its small required set: an adapter that implements
//! only `read_sized`, `write_sized` and the three bulk methods gets every
//! named width and endianness and the fetches, stays dyn-compatible, and
//! agrees with the memory it wraps; the sized primitives of vm-mem's own
//! kinds check their size.

use vm_mem::{Access, ErrorKind, MemoryAccess, ShardedMemory, VmError};

/// A memory seen at a guest base address: five methods.
struct Rebased<M> {
    inner: M,
    base: u64,
}

impl<M> Rebased<M> {
    fn at(&self, addr: u64, access: Access, size: usize) -> Result<u64, VmError> {
        let below = VmError::new(ErrorKind::Unmapped, access, addr, size);
        addr.checked_sub(self.base).ok_or(below)
    }
}

impl<M: MemoryAccess> MemoryAccess for Rebased<M> {
    fn read_sized(&self, addr: u64, size: usize) -> Result<u64, VmError> {
        self.inner
            .read_sized(self.at(addr, Access::Read, size)?, size)
    }
    fn write_sized(&mut self, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
        let a = self.at(addr, Access::Write, size)?;
        self.inner.write_sized(a, size, v)
    }
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.inner
            .read_bytes(self.at(addr, Access::Read, buf.len())?, buf)
    }
    fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        let a = self.at(addr, Access::Write, buf.len())?;
        self.inner.write_bytes(a, buf)
    }
    fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        let a = self.at(addr, Access::Write, len)?;
        self.inner.fill(a, len, byte)
    }
}

const BASE: u64 = 0x8000_0000;
type Mem = ShardedMemory<4, 64>;

/// Writes every width and endianness through `m` (guest addresses from
/// `base`) at offsets that straddle the shard edge at 64.
fn write_all(m: &mut dyn MemoryAccess, base: u64) -> Result<(), VmError> {
    m.write_u8(base + 1, 0x11)?;
    m.write_u16(base + 2, 0x2233)?;
    m.write_u32(base + 62, 0x4455_6677)?;
    m.write_u64(base + 68, 0x8899_aabb_ccdd_eeff)?;
    m.write_u16_be(base + 100, 0x0102)?;
    m.write_u32_be(base + 126, 0x0304_0506)?;
    m.write_u64_be(base + 140, 0x0708_090a_0b0c_0d0e)?;
    m.write_bytes(base + 160, b"bulk")?;
    m.fill(base + 170, 3, 0xfe)
}

/// Reads back everything `write_all` wrote, as a list.
fn read_all(m: &dyn MemoryAccess, base: u64) -> Result<Vec<u64>, VmError> {
    let mut buf = [0u8; 8];
    m.read_bytes(base + 160, &mut buf)?;
    Ok(vec![
        m.read_u8(base + 1)?.into(),
        m.read_u16(base + 2)?.into(),
        m.read_u32(base + 62)?.into(),
        m.read_u64(base + 68)?,
        m.read_u16_be(base + 100)?.into(),
        m.read_u32_be(base + 126)?.into(),
        m.read_u64_be(base + 140)?,
        m.read_u32(base + 100)?.into(), // mixed endianness, same bytes
        m.fetch_u16(base + 2)?.into(),
        m.fetch_u32(base + 62)?.into(),
        u64::from_le_bytes(buf),
        m.read_sized(base + 68, 8)?,
    ])
}

#[test]
fn adapter_of_five_methods_matches_the_memory_it_wraps() -> Result<(), VmError> {
    let mut direct = Mem::new();
    write_all(&mut &direct, 0)?;
    let want = read_all(&&direct, 0)?;

    // The adapter over the exclusive view, then over the shared memory.
    let mut through_view = Mem::new();
    {
        let mut sram = Rebased {
            inner: through_view.exclusive(),
            base: BASE,
        };
        write_all(&mut sram, BASE)?;
        assert_eq!(read_all(&sram, BASE)?, want);
    }
    let shared = Rebased {
        inner: &through_view,
        base: BASE,
    };
    assert_eq!(read_all(&shared, BASE)?, want);
    assert_eq!(read_all(&&through_view, 0)?, want, "same bytes underneath");

    // A value of every width lands where the direct write put it.
    let mut a = [0u8; 256];
    let mut b = [0u8; 256];
    direct.exclusive().read_bytes(0, &mut a)?;
    through_view.exclusive().read_bytes(0, &mut b)?;
    assert_eq!(a, b);
    Ok(())
}

#[test]
fn adapter_errors_come_from_the_adapter_or_the_memory() {
    let mem = Mem::new();
    let mut m = Rebased {
        inner: &mem,
        base: BASE,
    };
    let below = m.read_u32(BASE - 1).unwrap_err();
    assert_eq!(below.kind(), ErrorKind::Unmapped);
    assert_eq!(
        (below.access(), below.addr(), below.size()),
        (Access::Read, BASE - 1, 4)
    );
    let past = m.write_u64_be(BASE + 252, 1).unwrap_err();
    assert_eq!(past.kind(), ErrorKind::OutOfBounds { limit: 256 });
    assert_eq!(past.access(), Access::Write);
    let fetch = m.fetch_u32(BASE + 254).unwrap_err();
    assert_eq!(fetch.access(), Access::Fetch);
    assert_eq!(
        m.write_sized(BASE, 3, 1).unwrap_err().kind(),
        ErrorKind::BadSize
    );
    assert_eq!(mem.read_u32(0), Ok(0), "a refused write wrote nothing");
}

#[test]
fn sized_primitives_of_every_kind_check_size_and_bounds() -> Result<(), VmError> {
    let mut mem = Mem::new();
    for size in [0, 3, 5, 16, usize::MAX] {
        let r = mem.read_sized(0, size).unwrap_err();
        let reported = crate::support::reported_size(ErrorKind::BadSize, size);
        assert_eq!((r.kind(), r.size()), (ErrorKind::BadSize, reported));
        let w = mem.write_sized(0, size, 1).unwrap_err();
        assert_eq!((w.kind(), w.access()), (ErrorKind::BadSize, Access::Write));
        assert_eq!(
            mem.exclusive().write_sized(0, size, 1).unwrap_err().kind(),
            ErrorKind::BadSize
        );
    }
    mem.write_sized(61, 8, 0x0102_0304_0506_0708)?; // straddles
    assert_eq!(mem.read_u64(61)?, 0x0102_0304_0506_0708);
    assert_eq!(mem.read_sized(61, 2)?, 0x0708);
    assert_eq!(mem.exclusive().read_sized(63, 4)?, 0x0304_0506);
    let oob = mem.read_sized(u64::MAX, 1).unwrap_err();
    assert_eq!(oob.kind(), ErrorKind::OutOfBounds { limit: 256 });
    let rom = mem.freeze();
    assert_eq!(rom.read_sized(61, 8)?, 0x0102_0304_0506_0708);
    Ok(())
}

/// One interpreter step, written once: a fetch-free read-modify-write and
/// a bulk copy through any handle.
fn step<M: MemoryAccess>(m: &mut M, addr: u64) -> Result<u32, VmError> {
    let v = m.read_u32(addr)?.wrapping_add(1);
    m.write_u32(addr, v)?;
    let mut buf = [0u8; 4];
    m.read_bytes(addr, &mut buf)?;
    assert_eq!(u32::from_le_bytes(buf), v);
    Ok(v)
}

#[test]
fn one_generic_step_takes_every_handle_the_same_way() {
    use vm_mem::{MemoryMap, OwnerMap, Perms};
    let mut mem = ShardedMemory::<2, 4096>::new();
    assert_eq!(step(&mut mem, 0x10), Ok(1)); // the shared memory, owned
    assert_eq!(step(&mut &mem, 0x10), Ok(2)); // and by reference
    assert_eq!(step(&mut mem.exclusive(), 0x10), Ok(3));
    {
        let map: MemoryMap<'_, 2> = MemoryMap::new();
        map.add_ram("ram", 0x1000, 0x2000, Perms::RW, &mem).unwrap();
        let mut map = map;
        assert_eq!(step(&mut map, 0x1010), Ok(4));
        assert_eq!(step(&mut &map, 0x1010), Ok(5));
        let mut cpu = map.cpu();
        assert_eq!(step(&mut cpu, 0x1010), Ok(6));
        assert_eq!(step(&mut &cpu, 0x1010), Ok(7));
    }
    {
        let owner: OwnerMap<'_, 2> = OwnerMap::new();
        owner
            .add_ram("ram", 0x1000, 0x2000, Perms::RW, &mut mem)
            .unwrap();
        let mut owner = owner;
        assert_eq!(step(&mut owner, 0x1010), Ok(8));
        assert_eq!(step(&mut &owner, 0x1010), Ok(9));
    }
    let mut rom = mem.freeze();
    let err = step(&mut rom, 0x10).unwrap_err(); // frozen: reads, then refuses
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert_eq!(
        step(&mut &rom, 0x10).unwrap_err().kind(),
        ErrorKind::ReadOnly
    );
    assert_eq!(rom.read_u32(0x10), Ok(9));
}
