//! Property test: random regions, then random protections, hooks and
//! accesses through a [`MemoryMap`], against a byte-by-byte model: results,
//! errors, backing bytes, device calls, and every hook call in order.

use proptest::prelude::*;

use crate::support::map_parts;
use map_parts::{bytes_regions, region_at, MRegion, RegFile, DEV, K};
use std::collections::HashMap;
use std::sync::Mutex;
use vm_mem::{
    AccessHook, ErrorKind, HookId, MapErrorKind, MemoryMap, Perms, ShardedMemory, VmError,
    WriteData,
};

type Mem = ShardedMemory<4, 64>;
const MEM: usize = 256;
const CAP: usize = 32;
const HOOKS: usize = 4;
const NAMES: [&str; 6] = ["r0", "r1", "r2", "r3", "r4", "r5"];

/// (hook tag, 'r'/'w'/'x', access address, access length)
type Call = (u8, char, u64, usize);

/// Logs every call; may replace a read's first byte with `tag + 1`; may
/// refuse writes whose first byte is even.
struct TestHook<'l> {
    tag: u8,
    replace: bool,
    deny: bool,
    log: &'l Mutex<Vec<Call>>,
}

impl AccessHook for TestHook<'_> {
    fn read(&self, addr: u64, data: &mut [u8]) {
        self.log
            .lock()
            .unwrap()
            .push((self.tag, 'r', addr, data.len()));
        if self.replace {
            data[0] = self.tag + 1;
        }
    }
    fn fetch(&self, addr: u64, data: &mut [u8]) {
        self.log
            .lock()
            .unwrap()
            .push((self.tag, 'x', addr, data.len()));
        if self.replace {
            data[0] = self.tag + 1;
        }
    }
    fn write(&self, addr: u64, data: WriteData<'_>) -> bool {
        self.log
            .lock()
            .unwrap()
            .push((self.tag, 'w', addr, data.len()));
        !(self.deny && data.get(0).is_some_and(|b| b % 2 == 0))
    }
}

/// An address near a region: (which region, offset from its base), so
/// accesses, hooks and protections land on mapped bytes and their edges.
type Loc = (usize, i64);

#[derive(Clone, Debug)]
enum Op {
    Read(Loc, usize),
    Fetch(Loc, usize),
    Write(Loc, usize, u64),
    ReadBytes(Loc, usize),
    WriteBytes(Loc, Vec<u8>),
    Protect(Loc, u64, u8),
    Watch(usize, Loc, u64, u8),
    Unwatch(usize),
    Remove(usize),
    Move(usize, u64),
}

#[derive(Clone, Copy, Debug)]
struct MHook {
    hook: usize,
    first: u64,
    last: u64,
    kinds: Perms,
}

struct Model {
    regions: Vec<MRegion>,
    perms: HashMap<u64, Perms>,
    hooks: Vec<(MHook, HookId)>,
    bytes: [[u8; DEV]; 4],
}

impl Model {
    /// The guest address of a [`Loc`].
    fn at(&self, (sel, delta): Loc) -> u64 {
        let base = self
            .regions
            .get(sel % self.regions.len().max(1))
            .map_or(0, |r| r.base);
        base.wrapping_add(delta as u64)
    }

    fn add(&mut self, r: MRegion) -> bool {
        let end = u128::from(r.base) + u128::from(r.len);
        let ok = r.len > 0
            && end <= 1u128 << 64
            && (r.kind == K::Dev || r.len <= MEM as u64)
            && !self.regions.iter().any(|o| {
                u128::from(o.base) < end
                    && u128::from(r.base) < u128::from(o.base) + u128::from(o.len)
            });
        if ok {
            self.regions.push(r);
        }
        ok
    }

    /// Forgets the protections of `base..base + len`.
    fn unprotect(&mut self, base: u64, len: u64) {
        self.perms.retain(|&a, _| a < base || a - base >= len);
    }

    /// Removes region `i` and its protections.
    fn remove(&mut self, i: usize) -> &'static str {
        let r = self.regions.remove(i);
        self.unprotect(r.base, r.len);
        r.name
    }

    /// Moves region `i` (with its protections) to `base`, or the reason
    /// `move_region` refuses.
    fn move_to(&mut self, i: usize, base: u64) -> Result<(), MapErrorKind> {
        let r = self.regions[i];
        let end = u128::from(base) + u128::from(r.len);
        if end > 1u128 << 64 {
            return Err(MapErrorKind::PastAddressSpace);
        }
        let clash = self.regions.iter().enumerate().any(|(j, o)| {
            j != i
                && u128::from(o.base) < end
                && u128::from(base) < u128::from(o.base) + u128::from(o.len)
        });
        if clash {
            return Err(MapErrorKind::Overlaps);
        }
        let moved: Vec<(u64, Perms)> = (0..r.len)
            .filter_map(|k| self.perms.get(&(r.base + k)).map(|&p| (base + k, p)))
            .collect();
        self.unprotect(r.base, r.len);
        self.unprotect(base, r.len);
        self.perms.extend(moved);
        self.regions[i].base = base;
        Ok(())
    }

    fn perms_at(&self, r: &MRegion, a: u64) -> Perms {
        self.perms.get(&a).copied().unwrap_or(r.perms)
    }

    fn check(
        &self,
        addr: u64,
        len: usize,
        needed: Perms,
        typed: bool,
    ) -> Result<Vec<MRegion>, (ErrorKind, u64)> {
        let per_byte = bytes_regions(&self.regions, addr, len, typed)?;
        for (i, r) in per_byte.iter().enumerate() {
            let at = addr + i as u64;
            if needed == Perms::WRITE && r.kind == K::Rom {
                return Err((ErrorKind::ReadOnly, at));
            }
            if !self.perms_at(r, at).contains(needed) {
                return Err((ErrorKind::Permission { needed }, at));
            }
        }
        Ok(per_byte)
    }

    fn slot(&mut self, r: &MRegion, a: u64) -> &mut u8 {
        &mut self.bytes[r.kind as usize][(a - r.base) as usize]
    }

    /// The hooks that watch an access, in order.
    fn watching(&self, kind: Perms, addr: u64, len: usize) -> Vec<MHook> {
        let last = addr + (len as u64 - 1);
        self.hooks
            .iter()
            .map(|h| h.0)
            .filter(|h| h.kinds.contains(kind) && h.first <= last && addr <= h.last)
            .collect()
    }
}

/// Addresses in a small window (so regions, hooks, protections and
/// accesses meet often), sometimes at the top of the address space.
fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        9 => 0u64..512,
        1 => (0u64..300).prop_map(|x| u64::MAX - x),
    ]
}

/// Mostly fully permitted, so accesses get as far as the hooks.
fn perms() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(7u8), 1 => 0u8..8]
}

fn region() -> impl Strategy<Value = (K, u64, u64, u8)> {
    let kind = prop_oneof![Just(K::RamA), Just(K::RamB), Just(K::Rom), Just(K::Dev)];
    (kind, addr(), 1u64..160, perms())
}

fn loc() -> impl Strategy<Value = Loc> {
    (0usize..8, -10i64..170)
}

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![Just(1usize), Just(2), Just(4), Just(8)];
    prop_oneof![
        3 => (loc(), size.clone()).prop_map(|(a, s)| Op::Read(a, s)),
        1 => (loc(), prop_oneof![Just(2usize), Just(4)]).prop_map(|(a, s)| Op::Fetch(a, s)),
        3 => (loc(), size, any::<u64>()).prop_map(|(a, s, v)| Op::Write(a, s, v)),
        1 => (loc(), 1usize..40).prop_map(|(a, l)| Op::ReadBytes(a, l)),
        1 => (loc(), prop::collection::vec(any::<u8>(), 1..40)).prop_map(|(a, d)| Op::WriteBytes(a, d)),
        1 => (loc(), 1u64..64, perms()).prop_map(|(a, l, p)| Op::Protect(a, l, p)),
        2 => (0usize..HOOKS, loc(), 1u64..128, perms()).prop_map(|(h, a, l, k)| Op::Watch(h, a, l, k)),
        1 => (0usize..HOOKS).prop_map(Op::Unwatch),
        1 => (0usize..8).prop_map(Op::Remove),
        2 => (0usize..8, addr()).prop_map(|(r, b)| Op::Move(r, b)),
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

fn read_typed(map: &MemoryMap<'_, CAP, HOOKS>, a: u64, size: usize) -> Result<u64, VmError> {
    match size {
        1 => map.read_u8(a).map(u64::from),
        2 => map.read_u16(a).map(u64::from),
        4 => map.read_u32(a).map(u64::from),
        _ => map.read_u64(a),
    }
}

fn write_typed(
    map: &MemoryMap<'_, CAP, HOOKS>,
    a: u64,
    size: usize,
    v: u64,
) -> Result<(), VmError> {
    match size {
        1 => map.write_u8(a, v as u8),
        2 => map.write_u16(a, v as u16),
        4 => map.write_u32(a, v as u32),
        _ => map.write_u64(a, v),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_with_hooks_and_protections_matches_its_model(
        regions in prop::collection::vec(region(), 1..7),
        flags in prop::array::uniform4((any::<bool>(), any::<bool>())),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let (ram_a, ram_b, rom_mem) = (Mem::new(), Mem::new(), Mem::new());
        let mut model = Model { regions: Vec::new(), perms: HashMap::new(), hooks: Vec::new(), bytes: [[0; DEV]; 4] };
        for i in 0..MEM {
            model.bytes[K::Rom as usize][i] = (i as u8).wrapping_mul(7) ^ 0x5a;
        }
        rom_mem.write_bytes(0, &model.bytes[K::Rom as usize][..MEM]).unwrap();
        let rom = rom_mem.freeze();
        let dev = RegFile { bytes: Mutex::new([0; DEV]), calls: Mutex::new(Vec::new()) };
        let log = Mutex::new(Vec::new());
        let hooks: Vec<TestHook<'_>> = (0..HOOKS)
            .map(|i| TestHook { tag: i as u8, replace: flags[i].0, deny: flags[i].1, log: &log })
            .collect();
        let map: MemoryMap<'_, CAP, HOOKS> = MemoryMap::new();

        for (i, (kind, base, len, p)) in regions.into_iter().enumerate() {
            let perms = Perms::from_bits_truncate(p);
            let name = NAMES[i];
            let expect = model.add(MRegion { kind, base, len, perms, name });
            let got = match kind {
                K::RamA => map.add_ram(name, base, len, perms, &ram_a),
                K::RamB => map.add_ram(name, base, len, perms, &ram_b),
                K::Rom => map.add_rom(name, base, len, perms, &rom),
                K::Dev => map.add_mmio(name, base, len, perms, &dev),
            };
            prop_assert_eq!(got.is_ok(), expect);
        }

        for op in ops {
            let op = match op {
                Op::Read(l, s) => Op::Read((0, model.at(l) as i64), s),
                Op::Fetch(l, s) => Op::Fetch((0, model.at(l) as i64), s),
                Op::Write(l, s, v) => Op::Write((0, model.at(l) as i64), s, v),
                Op::ReadBytes(l, n) => Op::ReadBytes((0, model.at(l) as i64), n),
                Op::WriteBytes(l, d) => Op::WriteBytes((0, model.at(l) as i64), d),
                Op::Protect(l, n, p) => Op::Protect((0, model.at(l) as i64), n, p),
                Op::Watch(h, l, n, k) => Op::Watch(h, (0, model.at(l) as i64), n, k),
                op => op,
            };
            // From here on a `Loc` holds a resolved address.
            let a_of = |l: Loc| l.1 as u64;
            match op {
                Op::Read(l, size) | Op::Fetch(l, size) => {
                    let a = a_of(l);
                    let (kind, name, got) = match op {
                        Op::Read(..) => (Perms::READ, 'r', read_typed(&map, a, size)),
                        _ if size == 2 => (Perms::EXEC, 'x', map.fetch_u16(a).map(u64::from)),
                        _ => (Perms::EXEC, 'x', map.fetch_u32(a).map(u64::from)),
                    };
                    match model.check(a, size, kind, true) {
                        Err((k, at)) => {
                            let e = got.unwrap_err();
                            prop_assert_eq!((e.kind(), e.addr(), e.size()), (k, at, size));
                        }
                        Ok(per_byte) => {
                            let mut le = [0u8; 8];
                            for (i, r) in per_byte.iter().enumerate() {
                                le[i] = *model.slot(r, a + i as u64);
                            }
                            let mut calls = Vec::new();
                            for h in model.watching(kind, a, size) {
                                calls.push((h.hook as u8, name, a, size));
                                if hooks[h.hook].replace {
                                    le[0] = h.hook as u8 + 1;
                                }
                            }
                            prop_assert_eq!(got.unwrap(), u64::from_le_bytes(le));
                            prop_assert_eq!(std::mem::take(&mut *log.lock().unwrap()), calls);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), map_parts::calls(&per_byte, a, true));
                        }
                    }
                }
                Op::Write(..) | Op::WriteBytes(..) => {
                    let (a, data, typed, got) = match &op {
                        Op::Write(l, size, v) => (a_of(*l), v.to_le_bytes()[..*size].to_vec(), true, write_typed(&map, a_of(*l), *size, *v)),
                        Op::WriteBytes(l, d) => (a_of(*l), d.clone(), false, map.write_bytes(a_of(*l), d)),
                        _ => unreachable!(),
                    };
                    match model.check(a, data.len(), Perms::WRITE, typed) {
                        Err((k, at)) => {
                            let e = got.unwrap_err();
                            prop_assert_eq!((e.kind(), e.addr(), e.size()), (k, at, data.len()));
                        }
                        Ok(per_byte) => {
                            let mut calls = Vec::new();
                            let mut denied = false;
                            for h in model.watching(Perms::WRITE, a, data.len()) {
                                calls.push((h.hook as u8, 'w', a, data.len()));
                                if hooks[h.hook].deny && data[0] % 2 == 0 {
                                    denied = true;
                                    break;
                                }
                            }
                            prop_assert_eq!(std::mem::take(&mut *log.lock().unwrap()), calls);
                            if denied {
                                prop_assert_eq!(got.unwrap_err().kind(), ErrorKind::DeniedByHook);
                            } else {
                                got.unwrap();
                                for (i, r) in per_byte.iter().enumerate() {
                                    *model.slot(r, a + i as u64) = data[i];
                                }
                                prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), map_parts::calls(&per_byte, a, typed));
                            }
                        }
                    }
                }
                Op::ReadBytes(l, len) => {
                    let a = a_of(l);
                    let mut buf = vec![0u8; len];
                    let got = map.read_bytes(a, &mut buf);
                    match model.check(a, len, Perms::READ, false) {
                        Err((k, at)) => {
                            let e = got.unwrap_err();
                            prop_assert_eq!((e.kind(), e.addr()), (k, at));
                        }
                        Ok(per_byte) => {
                            got.unwrap();
                            let mut want: Vec<u8> = per_byte.iter().enumerate().map(|(i, r)| *model.slot(r, a + i as u64)).collect();
                            let mut calls = Vec::new();
                            for h in model.watching(Perms::READ, a, len) {
                                calls.push((h.hook as u8, 'r', a, len));
                                if hooks[h.hook].replace {
                                    want[0] = h.hook as u8 + 1;
                                }
                            }
                            prop_assert_eq!(buf, want);
                            prop_assert_eq!(std::mem::take(&mut *log.lock().unwrap()), calls);
                            prop_assert_eq!(std::mem::take(&mut *dev.calls.lock().unwrap()), map_parts::calls(&per_byte, a, false));
                        }
                    }
                }
                Op::Protect(l, len, p) => {
                    let a = a_of(l);
                    let perms = Perms::from_bits_truncate(p);
                    let last = a.saturating_add(len - 1);
                    let got = map.protect(a..=last, perms);
                    let hole = (a..=last).find(|&x| region_at(&model.regions, u128::from(x)).is_none());
                    match hole {
                        Some(h) => {
                            let e = got.unwrap_err();
                            prop_assert_eq!((e.kind(), e.base()), (MapErrorKind::Unmapped, h));
                        }
                        None => {
                            got.unwrap();
                            for x in a..=last {
                                model.perms.insert(x, perms);
                            }
                        }
                    }
                }
                Op::Watch(h, l, len, k) => {
                    let a = a_of(l);
                    let (first, last) = (a, a.saturating_add(len - 1));
                    let kinds = Perms::from_bits_truncate(k);
                    let got = map.watch(first..=last, kinds, &hooks[h]);
                    if model.hooks.len() == HOOKS {
                        prop_assert!(got.is_err());
                    } else {
                        model.hooks.push((MHook { hook: h, first, last, kinds }, got.unwrap()));
                    }
                }
                Op::Remove(sel) => {
                    if !model.regions.is_empty() {
                        let name = model.remove(sel % model.regions.len());
                        map.remove(name).unwrap();
                    }
                    prop_assert_eq!(map.regions().iter().map(|r| r.name()).collect::<std::collections::BTreeSet<_>>().len(), model.regions.len());
                }
                Op::Move(sel, base) => {
                    if !model.regions.is_empty() {
                        let i = sel % model.regions.len();
                        let name = model.regions[i].name;
                        let before = format!("{:?}", map.regions());
                        match (map.move_region(name, base), model.move_to(i, base)) {
                            (Ok(()), Ok(())) => {}
                            (Err(e), Err(kind)) => {
                                prop_assert_eq!(e.kind(), kind);
                                prop_assert_eq!(format!("{:?}", map.regions()), before);
                            }
                            (g, x) => prop_assert!(false, "move {name}: got {g:?}, model {x:?}"),
                        }
                    }
                }
                Op::Unwatch(i) => {
                    if i < model.hooks.len() {
                        let (_, id) = model.hooks.remove(i);
                        prop_assert!(map.unwatch(id).is_ok());
                    }
                }
            }
            prop_assert!(dev.calls.lock().unwrap().is_empty(), "no device call for a refused access");
            prop_assert!(log.lock().unwrap().is_empty(), "no hook call for a refused access");
        }
        let mut buf = [0u8; MEM];
        ram_a.read_bytes(0, &mut buf).unwrap();
        prop_assert_eq!(&buf[..], &model.bytes[K::RamA as usize][..MEM]);
        ram_b.read_bytes(0, &mut buf).unwrap();
        prop_assert_eq!(&buf[..], &model.bytes[K::RamB as usize][..MEM]);
        prop_assert_eq!(&dev.bytes.lock().unwrap()[..], &model.bytes[K::Dev as usize][..]);
    }
}
