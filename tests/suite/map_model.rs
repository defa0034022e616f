//! Property test: random region tables and random accesses through a
//! [`MemoryMap`], against a byte-by-byte model of the same map: results,
//! error kinds/addresses/sizes, the bytes in every backing, and every
//! device call (offset and size). Regions are also removed and moved at
//! random, by name, between accesses.

use proptest::prelude::*;

use crate::support::map_parts;
use map_parts::{bytes_regions, calls, MRegion, RegFile, DEV, K};
use std::sync::Mutex;
use vm_mem::{Access, ErrorKind, MapErrorKind, MemoryMap, Perms, ShardedMemory, VmError};

type Mem = ShardedMemory<4, 64>;
const MEM: usize = 256;
const CAP: usize = 6;
const NAMES: [&str; 8] = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];

#[derive(Clone, Debug)]
enum Op {
    Add(K, u64, u64, u8),
    Read(u64, usize, bool),
    Fetch(u64, usize),
    Write(u64, usize, u64, bool),
    ReadBytes(u64, usize),
    WriteBytes(u64, Vec<u8>),
    Fill(u64, usize, u8),
    Remove(usize),
    Move(usize, u64),
}

struct Model {
    regions: Vec<MRegion>,
    bytes: [[u8; DEV]; 4],
}

impl Model {
    fn add(&mut self, r: MRegion) -> Result<(), (&'static str, &'static str)> {
        let end = u128::from(r.base) + u128::from(r.len);
        if r.len == 0 {
            return Err(("has zero length", ""));
        }
        if end > 1u128 << 64 {
            return Err(("runs past the end of the 64-bit address space", ""));
        }
        if r.kind != K::Dev && r.len > MEM as u64 {
            return Err(("runs past the end of its backing memory", ""));
        }
        let clash = self
            .regions
            .iter()
            .filter(|o| {
                u128::from(o.base) < end
                    && u128::from(r.base) < u128::from(o.base) + u128::from(o.len)
            })
            .min_by_key(|o| o.base);
        if let Some(o) = clash {
            return Err(("overlaps", o.name));
        }
        if self.regions.iter().any(|o| o.name == r.name) {
            return Err(("has the name of another region", r.name));
        }
        if self.regions.len() == CAP {
            return Err(("does not fit: the map is full", ""));
        }
        self.regions.push(r);
        Ok(())
    }

    /// Removes region `name`; whether there was one.
    fn remove(&mut self, name: &str) -> bool {
        let before = self.regions.len();
        self.regions.retain(|r| r.name != name);
        self.regions.len() < before
    }

    /// Moves region `name` to `base`, or the reason it cannot move (the
    /// model of `move_region`: it keeps its memory, from offset 0).
    fn move_to(&mut self, name: &str, base: u64) -> Result<(), (&'static str, &'static str)> {
        let Some(i) = self.regions.iter().position(|r| r.name == name) else {
            return Err(("no region has that name", ""));
        };
        let r = self.regions.remove(i);
        let moved = MRegion { base, ..r };
        let end = u128::from(base) + u128::from(r.len);
        let result = if end > 1u128 << 64 {
            Err(("runs past the end of the 64-bit address space", ""))
        } else {
            let clash = self
                .regions
                .iter()
                .filter(|o| {
                    u128::from(o.base) < end
                        && u128::from(base) < u128::from(o.base) + u128::from(o.len)
                })
                .min_by_key(|o| o.base);
            clash.map_or(Ok(()), |o| Err(("overlaps", o.name)))
        };
        self.regions.push(if result.is_ok() { moved } else { r });
        result
    }

    /// The bytes' regions, or the error the access must fail with.
    fn check(
        &self,
        addr: u64,
        len: usize,
        access: Access,
        typed: bool,
    ) -> Result<Vec<MRegion>, (ErrorKind, u64)> {
        let per_byte = bytes_regions(&self.regions, addr, len, typed)?;
        let needed = match access {
            Access::Read => Perms::READ,
            Access::Write => Perms::WRITE,
            _ => Perms::EXEC,
        };
        for (i, r) in per_byte.iter().enumerate() {
            let at = addr + i as u64;
            if access == Access::Write && r.kind == K::Rom {
                return Err((ErrorKind::ReadOnly, at));
            }
            if !r.perms.contains(needed) {
                return Err((ErrorKind::Permission { needed }, at));
            }
        }
        Ok(per_byte)
    }

    fn slot(&mut self, r: &MRegion, a: u64) -> &mut u8 {
        &mut self.bytes[r.kind as usize][(a - r.base) as usize]
    }
}

fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        9 => 0u64..1200,
        1 => (0u64..700).prop_map(|x| u64::MAX - x),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(K::RamA), Just(K::RamB), Just(K::Rom), Just(K::Dev)];
    let size = prop_oneof![Just(1usize), Just(2), Just(4), Just(8)];
    prop_oneof![
        3 => (kind, addr(), 0u64..300, 0u8..8).prop_map(|(k, b, l, p)| Op::Add(k, b, l, p)),
        3 => (addr(), size.clone(), any::<bool>()).prop_map(|(a, s, be)| Op::Read(a, s, be)),
        1 => (addr(), prop_oneof![Just(2usize), Just(4)]).prop_map(|(a, s)| Op::Fetch(a, s)),
        3 => (addr(), size, any::<u64>(), any::<bool>()).prop_map(|(a, s, v, be)| Op::Write(a, s, v, be)),
        1 => (addr(), 0usize..40).prop_map(|(a, l)| Op::ReadBytes(a, l)),
        1 => (addr(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(a, d)| Op::WriteBytes(a, d)),
        1 => (addr(), 0usize..40, any::<u8>()).prop_map(|(a, l, b)| Op::Fill(a, l, b)),
        1 => (0..NAMES.len()).prop_map(Op::Remove),
        1 => (0..NAMES.len(), addr()).prop_map(|(n, b)| Op::Move(n, b)),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: if cfg!(miri) {
            None
        } else {
            ProptestConfig::default().failure_persistence
        },
        ..ProptestConfig::default()
    }
}

fn read_typed(map: &MemoryMap<'_, CAP>, a: u64, size: usize, be: bool) -> Result<u64, VmError> {
    match (size, be) {
        (1, _) => map.read_u8(a).map(u64::from),
        (2, false) => map.read_u16(a).map(u64::from),
        (2, true) => map.read_u16_be(a).map(u64::from),
        (4, false) => map.read_u32(a).map(u64::from),
        (4, true) => map.read_u32_be(a).map(u64::from),
        (_, false) => map.read_u64(a),
        (_, true) => map.read_u64_be(a),
    }
}

fn write_typed(
    map: &MemoryMap<'_, CAP>,
    a: u64,
    size: usize,
    v: u64,
    be: bool,
) -> Result<(), VmError> {
    match (size, be) {
        (1, _) => map.write_u8(a, v as u8),
        (2, false) => map.write_u16(a, v as u16),
        (2, true) => map.write_u16_be(a, v as u16),
        (4, false) => map.write_u32(a, v as u32),
        (4, true) => map.write_u32_be(a, v as u32),
        (_, false) => map.write_u64(a, v),
        (_, true) => map.write_u64_be(a, v),
    }
}

/// Compares an actual error with the model's: its first failing byte `addr`, the access's `size`.
fn same_error(e: VmError, kind: ErrorKind, access: Access, addr: u64, size: usize) {
    assert_eq!(
        (e.kind(), e.access(), e.addr(), e.size()),
        (kind, access, addr, size)
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_matches_its_model(ops in prop::collection::vec(op(), 1..60)) {
        let (ram_a, ram_b, rom_mem) = (Mem::new(), Mem::new(), Mem::new());
        let mut model = Model { regions: Vec::new(), bytes: [[0; DEV]; 4] };
        for i in 0..MEM {
            model.bytes[K::Rom as usize][i] = (i as u8).wrapping_mul(7) ^ 0x5a;
        }
        rom_mem.write_bytes(0, &model.bytes[K::Rom as usize][..MEM]).unwrap();
        let rom = rom_mem.freeze();
        let dev = RegFile { bytes: Mutex::new([0; DEV]), calls: Mutex::new(Vec::new()) };
        let map: MemoryMap<'_, CAP> = MemoryMap::new();
        let mut adds = 0;

        for op in ops {
            match op {
                Op::Add(kind, base, len, p) => {
                    let name = NAMES[adds % NAMES.len()];
                    adds += 1;
                    let perms = Perms::from_bits_truncate(p);
                    let expect = model.add(MRegion { kind, base, len, perms, name });
                    let got = match kind {
                        K::RamA => map.add_ram(name, base, len, perms, &ram_a),
                        K::RamB => map.add_ram(name, base, len, perms, &ram_b),
                        K::Rom => map.add_rom(name, base, len, perms, &rom),
                        K::Dev => map.add_mmio(name, base, len, perms, &dev),
                    };
                    match (got, expect) {
                        (Ok(()), Ok(())) => {}
                        (Err(e), Err((reason, second))) => prop_assert_eq!(
                            (e.kind().as_str(), e.region(), e.other()),
                            (reason, name, second)
                        ),
                        (g, x) => prop_assert!(false, "add {name}: got {g:?}, model {x:?}"),
                    }
                    prop_assert_eq!(map.regions().len(), model.regions.len());
                }
                Op::Read(..) | Op::Fetch(..) => {
                    let (a, size, access, be) = match op {
                        Op::Read(a, size, be) => (a, size, Access::Read, be),
                        Op::Fetch(a, size) => (a, size, Access::Fetch, false),
                        _ => unreachable!(),
                    };
                    let got = match access {
                        Access::Fetch if size == 2 => map.fetch_u16(a).map(u64::from),
                        Access::Fetch => map.fetch_u32(a).map(u64::from),
                        _ => read_typed(&map, a, size, be),
                    };
                    match model.check(a, size, access, true) {
                        Err((kind, at)) => same_error(got.unwrap_err(), kind, access, at, size),
                        Ok(per_byte) => {
                            let mut le = [0u8; 8];
                            for (i, r) in per_byte.iter().enumerate() {
                                le[i] = *model.slot(r, a + i as u64);
                            }
                            let mut v = u64::from_le_bytes(le);
                            if be {
                                v = v.swap_bytes() >> (64 - 8 * size);
                            }
                            prop_assert_eq!(got.unwrap(), v);
                            let calls = calls(&per_byte, a, true);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), calls);
                        }
                    }
                }
                Op::Write(a, size, v, be) => {
                    let got = write_typed(&map, a, size, v, be);
                    match model.check(a, size, Access::Write, true) {
                        Err((kind, at)) => same_error(got.unwrap_err(), kind, Access::Write, at, size),
                        Ok(per_byte) => {
                            got.unwrap();
                            let v = if be { v.swap_bytes() >> (64 - 8 * size) } else { v };
                            for (i, r) in per_byte.iter().enumerate() {
                                *model.slot(r, a + i as u64) = v.to_le_bytes()[i];
                            }
                            let calls = calls(&per_byte, a, true);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), calls);
                        }
                    }
                }
                Op::ReadBytes(a, len) => {
                    let mut buf = vec![0u8; len];
                    let got = map.read_bytes(a, &mut buf);
                    match (len, model.check(a, len, Access::Read, false)) {
                        (0, _) => got.unwrap(),
                        (_, Err((kind, at))) => same_error(got.unwrap_err(), kind, Access::Read, at, len),
                        (_, Ok(per_byte)) => {
                            got.unwrap();
                            for (i, r) in per_byte.iter().enumerate() {
                                prop_assert_eq!(buf[i], *model.slot(r, a + i as u64));
                            }
                            let calls = calls(&per_byte, a, false);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), calls);
                        }
                    }
                }
                Op::WriteBytes(..) | Op::Fill(..) => {
                    let (a, data) = match &op {
                        Op::WriteBytes(a, d) => (*a, d.clone()),
                        Op::Fill(a, l, b) => (*a, vec![*b; *l]),
                        _ => unreachable!(),
                    };
                    let got = match op {
                        Op::Fill(_, l, b) => map.fill(a, l, b),
                        _ => map.write_bytes(a, &data),
                    };
                    match (data.len(), model.check(a, data.len(), Access::Write, false)) {
                        (0, _) => got.unwrap(),
                        (_, Err((kind, at))) => same_error(got.unwrap_err(), kind, Access::Write, at, data.len()),
                        (_, Ok(per_byte)) => {
                            got.unwrap();
                            for (i, r) in per_byte.iter().enumerate() {
                                *model.slot(r, a + i as u64) = data[i];
                            }
                            let calls = calls(&per_byte, a, false);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), calls);
                        }
                    }
                }
                Op::Remove(n) => {
                    let existed = model.remove(NAMES[n]);
                    match map.remove(NAMES[n]) {
                        Ok(()) => prop_assert!(existed),
                        Err(e) => {
                            prop_assert!(!existed);
                            prop_assert_eq!(e.kind(), MapErrorKind::NoSuchRegion);
                        }
                    }
                    prop_assert_eq!(map.regions().len(), model.regions.len());
                }
                Op::Move(n, base) => {
                    let before = map.regions();
                    let expect = model.move_to(NAMES[n], base);
                    match (map.move_region(NAMES[n], base), expect) {
                        (Ok(()), Ok(())) => {
                            prop_assert_eq!(map.region(NAMES[n]).map(|r| r.base()), Some(base));
                        }
                        (Err(e), Err((reason, other))) => {
                            prop_assert_eq!((e.kind().as_str(), e.other()), (reason, other));
                            let after = map.regions();
                            prop_assert_eq!(format!("{before:?}"), format!("{after:?}"), "unchanged");
                        }
                        (g, x) => prop_assert!(false, "move {}: got {g:?}, model {x:?}", NAMES[n]),
                    }
                }
            }
            prop_assert!(dev.calls.lock().unwrap().is_empty(), "no device call for a refused access");
        }
        // Every backing holds what the model says.
        let mut buf = [0u8; MEM];
        ram_a.read_bytes(0, &mut buf).unwrap();
        prop_assert_eq!(&buf[..], &model.bytes[K::RamA as usize][..MEM]);
        ram_b.read_bytes(0, &mut buf).unwrap();
        prop_assert_eq!(&buf[..], &model.bytes[K::RamB as usize][..MEM]);
        prop_assert_eq!(&dev.bytes.lock().unwrap()[..], &model.bytes[K::Dev as usize][..]);
    }
}
