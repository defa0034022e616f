//! The reference model of vm-mem and an executor that runs one operation
//! sequence on both a real `ShardedMemory` and the model, comparing every
//! result, every error (kind, access, address, size), the dirty log and the
//! whole memory after each operation.
//!
//! Shared by `tests/model.rs` (proptest drives it) and `fuzz/` (libFuzzer
//! drives it): both build [`Op`] values and call [`run`]. To cover a new
//! operation (the map's accesses, say), add a variant to [`Op`], its arm in
//! [`Model::apply`] and in `exec`, and a generator in both drivers.
//!
//! The model is deliberately dumb: a `Vec<u8>`, one `bool` a shard for the
//! dirty log and one for "changed since the snapshot baseline", a frozen
//! flag and two snapshot slots. Its rules:
//! - an access of `n` bytes at `a` is valid iff `a + n <= SIZE` without
//!   overflow (zero-length bulk ranges too, up to `a == SIZE`), otherwise
//!   `OutOfBounds { limit: SIZE }` with the access kind, `a` and `n`;
//! - a valid write to a frozen memory is `ReadOnly` (out of bounds wins);
//! - a write of `n > 0` bytes marks every shard it touches dirty and
//!   changed; a failed compare-exchange marks nothing;
//! - snapshot makes its slot the baseline; restore of the baseline copies
//!   only changed shards, anything else copies every shard, and clears the
//!   "changed" mark of the shards it copies (they stay dirty in the user's
//!   log: their bytes changed).
#![allow(dead_code)]

use std::fmt::Write as _;
use vm_mem::{Access, ErrorKind, MemoryAccess, ShardedMemory, Snapshot, VmError};

/// A typed access width and byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    U8,
    U16,
    U32,
    U64,
    U16Be,
    U32Be,
    U64Be,
}

impl Width {
    pub const ALL: [Width; 7] = [
        Width::U8,
        Width::U16,
        Width::U32,
        Width::U64,
        Width::U16Be,
        Width::U32Be,
        Width::U64Be,
    ];

    pub fn size(self) -> usize {
        match self {
            Width::U8 => 1,
            Width::U16 | Width::U16Be => 2,
            Width::U32 | Width::U32Be => 4,
            Width::U64 | Width::U64Be => 8,
        }
    }

    pub fn big_endian(self) -> bool {
        matches!(self, Width::U16Be | Width::U32Be | Width::U64Be)
    }
}

/// The width of a guest atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicWidth {
    U8,
    U16,
    U32,
    U64,
}

impl AtomicWidth {
    pub const ALL: [AtomicWidth; 4] = [
        AtomicWidth::U8,
        AtomicWidth::U16,
        AtomicWidth::U32,
        AtomicWidth::U64,
    ];

    pub fn size(self) -> usize {
        match self {
            AtomicWidth::U8 => 1,
            AtomicWidth::U16 => 2,
            AtomicWidth::U32 => 4,
            AtomicWidth::U64 => 8,
        }
    }
}

/// A guest read-modify-write other than compare-exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rmw {
    Swap,
    Add,
    Sub,
    And,
    Or,
    Xor,
    MinU,
    MaxU,
    MinS,
    MaxS,
}

impl Rmw {
    pub const ALL: [Rmw; 10] = [
        Rmw::Swap,
        Rmw::Add,
        Rmw::Sub,
        Rmw::And,
        Rmw::Or,
        Rmw::Xor,
        Rmw::MinU,
        Rmw::MaxU,
        Rmw::MinS,
        Rmw::MaxS,
    ];
}

/// Which handle an access goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `&ShardedMemory`'s inherent methods (locks).
    Shared,
    /// `mem.exclusive()`'s inherent methods (no locks).
    Exclusive,
    /// `MemoryAccess` on `&ShardedMemory` (`u64` addresses).
    Trait,
    /// `MemoryAccess` on the exclusive view.
    TraitExclusive,
    /// `mem.freeze()`'s handle (inherent, no locks) once the memory is
    /// frozen; the shared memory before.
    Frozen,
    /// `MemoryAccess` on `&Frozen` once frozen; on `&ShardedMemory` before.
    TraitFrozen,
}

impl Path {
    pub const ALL: [Path; 6] = [
        Path::Shared,
        Path::Exclusive,
        Path::Trait,
        Path::TraitExclusive,
        Path::Frozen,
        Path::TraitFrozen,
    ];
}

/// One operation on the whole memory.
#[derive(Clone, Debug)]
pub enum Op {
    Read {
        path: Path,
        width: Width,
        addr: usize,
    },
    Write {
        path: Path,
        width: Width,
        addr: usize,
        value: u64,
    },
    /// `MemoryAccess::fetch_u16` / `fetch_u32` (on a trait path; other
    /// paths use the trait over the shared memory).
    Fetch {
        path: Path,
        wide: bool,
        addr: usize,
    },
    /// `len` is capped at [`MAX_BUF`] by the executor (a real buffer).
    ReadBytes {
        path: Path,
        addr: usize,
        len: usize,
    },
    /// Writes `len` (capped at [`MAX_BUF`]) bytes `seed, seed+1, ...`.
    WriteBytes {
        path: Path,
        addr: usize,
        len: usize,
        seed: u8,
    },
    /// `len` is not capped: no buffer is involved.
    Fill {
        path: Path,
        addr: usize,
        len: usize,
        byte: u8,
    },
    Rmw {
        exclusive: bool,
        width: AtomicWidth,
        op: Rmw,
        addr: usize,
        value: u64,
    },
    /// `current: None` compares against whatever the model holds there, so
    /// the exchange succeeds; `Some(v)` usually fails.
    Cx {
        exclusive: bool,
        width: AtomicWidth,
        addr: usize,
        current: Option<u64>,
        new: u64,
    },
    /// A run of accesses through one `Batch`.
    Batch(Vec<BatchOp>),
    Snapshot {
        exclusive: bool,
        slot: usize,
    },
    Restore {
        exclusive: bool,
        slot: usize,
    },
    TakeDirty,
    ClearDirty,
    DirtyShards,
    IsDirty(usize),
    Freeze,
}

/// One operation inside a batch (only what cannot deadlock against the
/// guard the batch holds).
#[derive(Clone, Debug)]
pub enum BatchOp {
    Read {
        width: Width,
        addr: usize,
    },
    Write {
        width: Width,
        addr: usize,
        value: u64,
    },
    ReadBytes {
        addr: usize,
        len: usize,
    },
    WriteBytes {
        addr: usize,
        len: usize,
        seed: u8,
    },
    Release,
    TakeDirty,
    ClearDirty,
    DirtyShards,
}

/// Largest buffer a `ReadBytes`/`WriteBytes` op allocates.
pub const MAX_BUF: usize = 4096;

/// Number of snapshot slots.
pub const SLOTS: usize = 2;

/// What an operation returned, normalised for comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Unit,
    Val(u64),
    Cx(Result<u64, u64>),
    Bytes(Vec<u8>),
    Count(usize),
    Shards(Vec<usize>),
    Bool(bool),
}

pub type Res = Result<Out, VmError>;

fn mask(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

fn sign_extend(v: u64, n: usize) -> i64 {
    let shift = 64 - 8 * n as u32;
    ((v << shift) as i64) >> shift
}

/// The result of a read-modify-write on an `n`-byte value.
pub fn rmw_result(op: Rmw, old: u64, v: u64, n: usize) -> u64 {
    let (old, v) = (old & mask(n), v & mask(n));
    let r = match op {
        Rmw::Swap => v,
        Rmw::Add => old.wrapping_add(v),
        Rmw::Sub => old.wrapping_sub(v),
        Rmw::And => old & v,
        Rmw::Or => old | v,
        Rmw::Xor => old ^ v,
        Rmw::MinU => old.min(v),
        Rmw::MaxU => old.max(v),
        Rmw::MinS => {
            if sign_extend(old, n) <= sign_extend(v, n) {
                old
            } else {
                v
            }
        }
        Rmw::MaxS => {
            if sign_extend(old, n) >= sign_extend(v, n) {
                old
            } else {
                v
            }
        }
    };
    r & mask(n)
}

/// The trivially correct reference.
#[derive(Clone, Debug)]
pub struct Model {
    pub bytes: Vec<u8>,
    pub shard_size: usize,
    pub dirty: Vec<bool>,
    pub changed: Vec<bool>,
    pub frozen: bool,
    pub snaps: [Option<Vec<u8>>; SLOTS],
    pub baseline: Option<usize>,
}

impl Model {
    pub fn new(shards: usize, shard_size: usize) -> Self {
        Model {
            bytes: vec![0; shards * shard_size],
            shard_size,
            dirty: vec![false; shards],
            changed: vec![false; shards],
            frozen: false,
            snaps: [None, None],
            baseline: None,
        }
    }

    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    fn check(&self, access: Access, addr: usize, n: usize) -> Result<(), VmError> {
        match addr.checked_add(n) {
            Some(end) if end <= self.size() => Ok(()),
            _ => Err(VmError::new(
                ErrorKind::OutOfBounds {
                    limit: self.size() as u64,
                },
                access,
                addr as u64,
                n,
            )),
        }
    }

    fn writable(&self, access: Access, addr: usize, n: usize) -> Result<(), VmError> {
        self.check(access, addr, n)?;
        if self.frozen {
            return Err(VmError::new(ErrorKind::ReadOnly, access, addr as u64, n));
        }
        Ok(())
    }

    fn mark(&mut self, addr: usize, n: usize) {
        if n == 0 {
            return;
        }
        for s in addr / self.shard_size..=(addr + n - 1) / self.shard_size {
            self.dirty[s] = true;
            self.changed[s] = true;
        }
    }

    /// Little-endian load of `n` bytes (checked by the caller).
    fn load(&self, addr: usize, n: usize) -> u64 {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&self.bytes[addr..addr + n]);
        u64::from_le_bytes(b)
    }

    fn store(&mut self, addr: usize, n: usize, v: u64) {
        self.bytes[addr..addr + n].copy_from_slice(&v.to_le_bytes()[..n]);
        self.mark(addr, n);
    }

    /// The value at `addr` for a compare-exchange that should succeed.
    pub fn peek(&self, addr: usize, n: usize) -> u64 {
        if self.check(Access::Read, addr, n).is_ok() {
            self.load(addr, n)
        } else {
            0
        }
    }

    fn be_swap(v: u64, n: usize) -> u64 {
        (v & mask(n)).swap_bytes() >> (64 - 8 * n as u32)
    }

    fn read(&self, access: Access, width: Width, addr: usize) -> Res {
        let n = width.size();
        self.check(access, addr, n)?;
        let v = self.load(addr, n);
        Ok(Out::Val(if width.big_endian() {
            Self::be_swap(v, n)
        } else {
            v
        }))
    }

    fn write(&mut self, width: Width, addr: usize, value: u64) -> Res {
        let n = width.size();
        self.writable(Access::Write, addr, n)?;
        let v = if width.big_endian() {
            Self::be_swap(value, n)
        } else {
            value & mask(n)
        };
        self.store(addr, n, v);
        Ok(Out::Unit)
    }

    fn read_bytes(&self, addr: usize, len: usize) -> Res {
        self.check(Access::Read, addr, len)?;
        Ok(Out::Bytes(self.bytes[addr..addr + len].to_vec()))
    }

    fn fill_with(&mut self, addr: usize, len: usize, f: impl Fn(usize) -> u8) -> Res {
        self.writable(Access::Write, addr, len)?;
        for i in 0..len {
            self.bytes[addr + i] = f(i);
        }
        self.mark(addr, len);
        Ok(Out::Unit)
    }

    fn take_dirty(&mut self) -> Res {
        let v = self.dirty_list();
        self.dirty.iter_mut().for_each(|d| *d = false);
        Ok(Out::Shards(v))
    }

    pub fn dirty_list(&self) -> Vec<usize> {
        (0..self.dirty.len()).filter(|&i| self.dirty[i]).collect()
    }

    /// Applies `op` (with `Op::Batch` handled by the executor op by op).
    pub fn apply(&mut self, op: &Op) -> Res {
        match *op {
            Op::Read { width, addr, .. } => self.read(Access::Read, width, addr),
            Op::Write {
                width, addr, value, ..
            } => self.write(width, addr, value),
            Op::Fetch { wide, addr, .. } => {
                let w = if wide { Width::U32 } else { Width::U16 };
                self.read(Access::Fetch, w, addr)
            }
            Op::ReadBytes { addr, len, .. } => self.read_bytes(addr, len.min(MAX_BUF)),
            Op::WriteBytes {
                addr, len, seed, ..
            } => self.fill_with(addr, len.min(MAX_BUF), |i| seed.wrapping_add(i as u8)),
            Op::Fill {
                addr, len, byte, ..
            } => self.fill_with(addr, len, |_| byte),
            Op::Rmw {
                width,
                op,
                addr,
                value,
                ..
            } => {
                let n = width.size();
                self.writable(Access::Atomic, addr, n)?;
                let old = self.load(addr, n);
                self.store(addr, n, rmw_result(op, old, value, n));
                Ok(Out::Val(old))
            }
            Op::Cx {
                width,
                addr,
                current,
                new,
                ..
            } => {
                let n = width.size();
                self.writable(Access::Atomic, addr, n)?;
                let old = self.load(addr, n);
                let current = current.unwrap_or(old) & mask(n);
                if old == current {
                    self.store(addr, n, new & mask(n));
                    Ok(Out::Cx(Ok(old)))
                } else {
                    Ok(Out::Cx(Err(old)))
                }
            }
            Op::Batch(_) => unreachable!("batches are applied op by op"),
            Op::Snapshot { slot, .. } => {
                self.snaps[slot] = Some(self.bytes.clone());
                self.changed.iter_mut().for_each(|c| *c = false);
                self.baseline = Some(slot);
                Ok(Out::Unit)
            }
            Op::Restore { slot, .. } => {
                if self.frozen {
                    return Err(VmError::new(
                        ErrorKind::ReadOnly,
                        Access::Write,
                        0,
                        self.size(),
                    ));
                }
                let taken = self.snaps[slot].is_some();
                let incremental = taken && self.baseline == Some(slot);
                let src = self.snaps[slot]
                    .clone()
                    .unwrap_or_else(|| vec![0; self.size()]);
                let mut copied = 0;
                for s in 0..self.dirty.len() {
                    if incremental && !self.changed[s] {
                        continue;
                    }
                    let r = s * self.shard_size..(s + 1) * self.shard_size;
                    self.bytes[r.clone()].copy_from_slice(&src[r]);
                    // Its bytes changed: still dirty for the user's log.
                    self.changed[s] = false;
                    self.dirty[s] = true;
                    copied += 1;
                }
                self.baseline = if taken { Some(slot) } else { None };
                Ok(Out::Count(copied))
            }
            Op::TakeDirty => self.take_dirty(),
            Op::ClearDirty => {
                self.dirty.iter_mut().for_each(|d| *d = false);
                Ok(Out::Unit)
            }
            Op::DirtyShards => Ok(Out::Shards(self.dirty_list())),
            Op::IsDirty(i) => Ok(Out::Bool(self.dirty.get(i).copied().unwrap_or(false))),
            Op::Freeze => {
                self.frozen = true;
                Ok(Out::Unit)
            }
        }
    }

    pub fn apply_batch(&mut self, op: &BatchOp) -> Res {
        match *op {
            BatchOp::Read { width, addr } => self.read(Access::Read, width, addr),
            BatchOp::Write { width, addr, value } => self.write(width, addr, value),
            BatchOp::ReadBytes { addr, len } => self.read_bytes(addr, len.min(MAX_BUF)),
            BatchOp::WriteBytes { addr, len, seed } => {
                self.fill_with(addr, len.min(MAX_BUF), |i| seed.wrapping_add(i as u8))
            }
            BatchOp::Release => Ok(Out::Unit),
            BatchOp::TakeDirty => self.take_dirty(),
            BatchOp::ClearDirty => {
                self.dirty.iter_mut().for_each(|d| *d = false);
                Ok(Out::Unit)
            }
            BatchOp::DirtyShards => Ok(Out::Shards(self.dirty_list())),
        }
    }
}

/// Calls the named typed read for `width` on a handle with inherent
/// `read_u8(addr)`... methods.
macro_rules! read_named {
    ($h:expr, $w:expr, $a:expr) => {
        match $w {
            Width::U8 => $h.read_u8($a).map(u64::from),
            Width::U16 => $h.read_u16($a).map(u64::from),
            Width::U32 => $h.read_u32($a).map(u64::from),
            Width::U64 => $h.read_u64($a),
            Width::U16Be => $h.read_u16_be($a).map(u64::from),
            Width::U32Be => $h.read_u32_be($a).map(u64::from),
            Width::U64Be => $h.read_u64_be($a),
        }
    };
}

/// Calls the named typed write for `width`, truncating `v` to the width.
macro_rules! write_named {
    ($h:expr, $w:expr, $a:expr, $v:expr) => {
        match $w {
            Width::U8 => $h.write_u8($a, $v as u8),
            Width::U16 => $h.write_u16($a, $v as u16),
            Width::U32 => $h.write_u32($a, $v as u32),
            Width::U64 => $h.write_u64($a, $v),
            Width::U16Be => $h.write_u16_be($a, $v as u16),
            Width::U32Be => $h.write_u32_be($a, $v as u32),
            Width::U64Be => $h.write_u64_be($a, $v),
        }
    };
}

/// Calls the generic guest atomic for one width.
macro_rules! rmw_width {
    ($h:expr, $op:expr, $a:expr, $v:expr, $t:ty, $s:ty) => {
        match $op {
            Rmw::Swap => $h.swap::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::Add => $h.fetch_add::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::Sub => $h.fetch_sub::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::And => $h.fetch_and::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::Or => $h.fetch_or::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::Xor => $h.fetch_xor::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::MinU => $h.fetch_min::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::MaxU => $h.fetch_max::<$t>($a, $v as $t).map(|o| o as u64),
            Rmw::MinS => $h
                .fetch_min::<$s>($a, $v as $t as $s)
                .map(|o| o as $t as u64),
            Rmw::MaxS => $h
                .fetch_max::<$s>($a, $v as $t as $s)
                .map(|o| o as $t as u64),
        }
    };
}

macro_rules! rmw_named {
    ($h:expr, $w:expr, $op:expr, $a:expr, $v:expr) => {
        match $w {
            AtomicWidth::U8 => rmw_width!($h, $op, $a, $v, u8, i8),
            AtomicWidth::U16 => rmw_width!($h, $op, $a, $v, u16, i16),
            AtomicWidth::U32 => rmw_width!($h, $op, $a, $v, u32, i32),
            AtomicWidth::U64 => rmw_width!($h, $op, $a, $v, u64, i64),
        }
    };
}

macro_rules! cx_named {
    ($h:expr, $w:expr, $a:expr, $c:expr, $n:expr) => {
        match $w {
            AtomicWidth::U8 => $h
                .compare_exchange::<u8>($a, $c as u8, $n as u8)
                .map(|r| r.map(u64::from).map_err(u64::from)),
            AtomicWidth::U16 => $h
                .compare_exchange::<u16>($a, $c as u16, $n as u16)
                .map(|r| r.map(u64::from).map_err(u64::from)),
            AtomicWidth::U32 => $h
                .compare_exchange::<u32>($a, $c as u32, $n as u32)
                .map(|r| r.map(u64::from).map_err(u64::from)),
            AtomicWidth::U64 => $h.compare_exchange::<u64>($a, $c, $n),
        }
    };
}

/// Typed read through the accessor trait only (generic, so inherent
/// methods cannot be picked instead).
fn trait_read<M: MemoryAccess>(m: &M, width: Width, addr: usize) -> Result<u64, VmError> {
    let a = addr as u64;
    read_named!(m, width, a)
}

fn trait_write<M: MemoryAccess>(
    m: &mut M,
    width: Width,
    addr: usize,
    v: u64,
) -> Result<(), VmError> {
    let a = addr as u64;
    write_named!(m, width, a, v)
}

fn trait_fetch<M: MemoryAccess>(m: &M, wide: bool, addr: usize) -> Result<u64, VmError> {
    if wide {
        m.fetch_u32(addr as u64).map(u64::from)
    } else {
        m.fetch_u16(addr as u64).map(u64::from)
    }
}

fn trait_read_bytes<M: MemoryAccess>(m: &M, addr: usize, len: usize) -> Res {
    let mut buf = vec![0xa5; len];
    m.read_bytes(addr as u64, &mut buf)?;
    Ok(Out::Bytes(buf))
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn trait_write_bytes<M: MemoryAccess>(m: &mut M, addr: usize, len: usize, seed: u8) -> Res {
    m.write_bytes(addr as u64, &pattern(len, seed))?;
    Ok(Out::Unit)
}

fn trait_fill<M: MemoryAccess>(m: &mut M, addr: usize, len: usize, byte: u8) -> Res {
    m.fill(addr as u64, len, byte)?;
    Ok(Out::Unit)
}

/// The real memory under test and its snapshot slots.
pub struct Real<const S: usize, const N: usize> {
    pub mem: Box<ShardedMemory<S, N>>,
    pub snaps: [Box<Snapshot<S, N>>; SLOTS],
    pub frozen: bool,
}

impl<const S: usize, const N: usize> Default for Real<S, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const S: usize, const N: usize> Real<S, N> {
    pub fn new() -> Self {
        Real {
            mem: ShardedMemory::new_boxed(),
            snaps: [Snapshot::new_boxed(), Snapshot::new_boxed()],
            frozen: false,
        }
    }

    /// Runs one non-batch operation on the real memory.
    fn exec(&mut self, op: &Op) -> Res {
        let frozen = self.frozen;
        let mem = &mut *self.mem;
        let val = |r: Result<u64, VmError>| r.map(Out::Val);
        let unit = |r: Result<(), VmError>| r.map(|()| Out::Unit);
        match *op {
            Op::Read { path, width, addr } => val(match path {
                Path::Shared => read_named!(mem, width, addr),
                Path::Exclusive => read_named!(mem.exclusive(), width, addr),
                Path::Trait => trait_read(&&*mem, width, addr),
                Path::TraitExclusive => trait_read(&mem.exclusive(), width, addr),
                Path::Frozen if frozen => read_named!(mem.freeze(), width, addr),
                Path::TraitFrozen if frozen => trait_read(&&mem.freeze(), width, addr),
                Path::Frozen | Path::TraitFrozen => read_named!(mem, width, addr),
            }),
            Op::Write {
                path,
                width,
                addr,
                value,
            } => unit(match path {
                // `&*mem`: the inherent shared write (`&self`, a `usize`
                // address), not `MemoryAccess`'s (`&mut self`, a `u64`).
                Path::Shared => write_named!(&*mem, width, addr, value),
                Path::Exclusive => write_named!(mem.exclusive(), width, addr, value),
                Path::Trait => trait_write(&mut &*mem, width, addr, value),
                Path::TraitExclusive => trait_write(&mut mem.exclusive(), width, addr, value),
                Path::Frozen if frozen => write_named!(mem.freeze(), width, addr, value),
                Path::TraitFrozen if frozen => trait_write(&mut &mem.freeze(), width, addr, value),
                Path::Frozen | Path::TraitFrozen => write_named!(&*mem, width, addr, value),
            }),
            Op::Fetch { path, wide, addr } => val(match path {
                Path::TraitExclusive | Path::Exclusive => trait_fetch(&mem.exclusive(), wide, addr),
                Path::Frozen | Path::TraitFrozen if frozen => {
                    trait_fetch(&&mem.freeze(), wide, addr)
                }
                _ => trait_fetch(&&*mem, wide, addr),
            }),
            Op::ReadBytes { path, addr, len } => {
                let len = len.min(MAX_BUF);
                let mut buf = vec![0x5a; len];
                let r = match path {
                    Path::Shared => mem.read_bytes(addr, &mut buf),
                    Path::Exclusive => mem.exclusive().read_bytes(addr, &mut buf),
                    Path::Trait => return trait_read_bytes(&&*mem, addr, len),
                    Path::TraitExclusive => return trait_read_bytes(&mem.exclusive(), addr, len),
                    Path::Frozen if frozen => mem.freeze().read_bytes(addr, &mut buf),
                    Path::TraitFrozen if frozen => {
                        return trait_read_bytes(&&mem.freeze(), addr, len)
                    }
                    Path::Frozen | Path::TraitFrozen => mem.read_bytes(addr, &mut buf),
                };
                r.map(|()| Out::Bytes(buf))
            }
            Op::WriteBytes {
                path,
                addr,
                len,
                seed,
            } => {
                let len = len.min(MAX_BUF);
                let buf = pattern(len, seed);
                unit(match path {
                    Path::Shared => (*mem).write_bytes(addr, &buf),
                    Path::Exclusive => mem.exclusive().write_bytes(addr, &buf),
                    Path::Trait => return trait_write_bytes(&mut &*mem, addr, len, seed),
                    Path::TraitExclusive => {
                        return trait_write_bytes(&mut mem.exclusive(), addr, len, seed)
                    }
                    Path::Frozen if frozen => mem.freeze().write_bytes(addr, &buf),
                    Path::TraitFrozen if frozen => {
                        return trait_write_bytes(&mut &mem.freeze(), addr, len, seed)
                    }
                    Path::Frozen | Path::TraitFrozen => (*mem).write_bytes(addr, &buf),
                })
            }
            Op::Fill {
                path,
                addr,
                len,
                byte,
            } => unit(match path {
                Path::Shared => (*mem).fill(addr, len, byte),
                Path::Exclusive => mem.exclusive().fill(addr, len, byte),
                Path::Trait => return trait_fill(&mut &*mem, addr, len, byte),
                Path::TraitExclusive => return trait_fill(&mut mem.exclusive(), addr, len, byte),
                Path::Frozen if frozen => mem.freeze().fill(addr, len, byte),
                Path::TraitFrozen if frozen => {
                    return trait_fill(&mut &mem.freeze(), addr, len, byte)
                }
                Path::Frozen | Path::TraitFrozen => (*mem).fill(addr, len, byte),
            }),
            Op::Rmw {
                exclusive,
                width,
                op,
                addr,
                value,
            } => val(if exclusive {
                rmw_named!(mem.exclusive(), width, op, addr, value)
            } else {
                rmw_named!(mem, width, op, addr, value)
            }),
            Op::Cx { .. } => unreachable!("resolved by run"),
            Op::Batch(_) => unreachable!("run executes batches op by op"),
            Op::Snapshot { exclusive, slot } => {
                if exclusive {
                    mem.exclusive().snapshot(&mut self.snaps[slot]);
                } else {
                    mem.snapshot(&mut self.snaps[slot]);
                }
                Ok(Out::Unit)
            }
            Op::Restore { exclusive, slot } => if exclusive {
                mem.exclusive().restore(&self.snaps[slot])
            } else {
                mem.restore(&self.snaps[slot])
            }
            .map(Out::Count),
            Op::TakeDirty => Ok(Out::Shards(mem.take_dirty().collect())),
            Op::ClearDirty => {
                mem.clear_dirty();
                Ok(Out::Unit)
            }
            Op::DirtyShards => Ok(Out::Shards(mem.dirty_shards().collect())),
            Op::IsDirty(i) => Ok(Out::Bool(mem.is_dirty(i))),
            Op::Freeze => {
                let _rom = mem.freeze();
                self.frozen = true;
                Ok(Out::Unit)
            }
        }
    }

    fn exec_cx(
        &mut self,
        exclusive: bool,
        width: AtomicWidth,
        addr: usize,
        cur: u64,
        new: u64,
    ) -> Res {
        let mem = &mut *self.mem;
        let r = if exclusive {
            cx_named!(mem.exclusive(), width, addr, cur, new)
        } else {
            cx_named!(mem, width, addr, cur, new)
        };
        r.map(Out::Cx)
    }
}

fn exec_batch<const S: usize, const N: usize>(
    b: &mut vm_mem::Batch<'_, S, N>,
    op: &BatchOp,
) -> Res {
    match *op {
        BatchOp::Read { width, addr } => read_named!(b, width, addr).map(Out::Val),
        BatchOp::Write { width, addr, value } => {
            write_named!(b, width, addr, value).map(|()| Out::Unit)
        }
        BatchOp::ReadBytes { addr, len } => {
            let mut buf = vec![0x3c; len.min(MAX_BUF)];
            b.read_bytes(addr, &mut buf).map(|()| Out::Bytes(buf))
        }
        BatchOp::WriteBytes { addr, len, seed } => b
            .write_bytes(addr, &pattern(len.min(MAX_BUF), seed))
            .map(|()| Out::Unit),
        BatchOp::Release => {
            b.release();
            Ok(Out::Unit)
        }
        BatchOp::TakeDirty => Ok(Out::Shards(b.memory().take_dirty().collect())),
        BatchOp::ClearDirty => {
            b.memory().clear_dirty();
            Ok(Out::Unit)
        }
        BatchOp::DirtyShards => Ok(Out::Shards(b.memory().dirty_shards().collect())),
    }
}

fn describe(ops: &[Op], upto: usize) -> String {
    let mut s = String::new();
    for (i, op) in ops.iter().enumerate().take(upto + 1) {
        let _ = writeln!(s, "  #{i}: {op:?}");
    }
    s
}

/// Runs `ops` on a fresh `ShardedMemory<S, N>` and on the model, comparing
/// after every operation. Returns how many operations ran (a batch counts
/// its inner operations), or a description of the first divergence.
pub fn run<const S: usize, const N: usize>(ops: &[Op]) -> Result<usize, String> {
    let mut real = Real::<S, N>::new();
    let mut model = Model::new(S, N);
    let mut count = 0;
    for (i, op) in ops.iter().enumerate() {
        let fail = |what: String| {
            Err(format!(
                "ShardedMemory<{S}, {N}>: {what}\nsequence:\n{}",
                describe(ops, i)
            ))
        };
        match op {
            Op::Batch(bops) => {
                let mut b = real.mem.batch();
                for (j, bop) in bops.iter().enumerate() {
                    count += 1;
                    let got = exec_batch(&mut b, bop);
                    let want = model.apply_batch(bop);
                    if got != want {
                        return fail(format!(
                            "batch op {j} ({bop:?}): got {got:?}, model says {want:?}"
                        ));
                    }
                }
            }
            &Op::Cx {
                exclusive,
                width,
                addr,
                current,
                new,
            } => {
                count += 1;
                let cur = current.unwrap_or_else(|| model.peek(addr, width.size()));
                let got = real.exec_cx(exclusive, width, addr, cur, new);
                let want = model.apply(&Op::Cx {
                    exclusive,
                    width,
                    addr,
                    current: Some(cur),
                    new,
                });
                if got != want {
                    return fail(format!("got {got:?}, model says {want:?}"));
                }
            }
            op => {
                count += 1;
                let got = real.exec(op);
                let want = model.apply(op);
                if got != want {
                    return fail(format!("got {got:?}, model says {want:?}"));
                }
            }
        }
        // Whole memory, dirty log and frozen state agree after every op.
        let mut all = vec![0u8; model.size()];
        real.mem
            .read_bytes(0, &mut all)
            .map_err(|e| format!("whole-memory read failed: {e}"))?;
        if all != model.bytes {
            let at = all.iter().zip(&model.bytes).position(|(a, b)| a != b);
            return fail(format!("memory differs first at byte {at:?}"));
        }
        let dirty: Vec<usize> = real.mem.dirty_shards().collect();
        if dirty != model.dirty_list() {
            return fail(format!(
                "dirty shards {dirty:?}, model says {:?}",
                model.dirty_list()
            ));
        }
        if real.mem.is_frozen() != model.frozen {
            return fail("frozen state differs".into());
        }
    }
    Ok(count)
}
