//! Fuzz target `ops`: the input is an operation sequence on a small fresh
//! memory (one of four geometries, picked by the first byte), run on the
//! real memory and on the reference model of `tests/support/model.rs`,
//! which must agree after every operation. A divergence panics with the
//! sequence that caused it.
//!
//! To add operations (the map's, say): add the variant to `Op` in the model
//! file, then a case to `op` below.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/model.rs"]
#[allow(dead_code, clippy::all)]
mod model;

use model::{AtomicWidth, BatchOp, Op, Path, Rmw, Width, SLOTS};

/// Longest sequence taken from one input (keeps every run fast).
const MAX_OPS: usize = 256;

/// Geometry of the memory under test.
#[derive(Clone, Copy)]
struct Geo {
    size: usize,
    shard_size: usize,
}

/// An address that matters: a shard edge +-9 (straddles; `0 - d` wraps to
/// just below `usize::MAX`), anywhere inside, `usize::MAX` downwards, any.
fn addr(u: &mut Unstructured, g: Geo) -> Result<usize> {
    let shards = g.size / g.shard_size;
    Ok(match u.int_in_range(0u8..=9)? {
        0..=4 => {
            let k = u.int_in_range(0..=shards)?;
            let d = u.int_in_range(-9isize..=9)?;
            (k * g.shard_size).wrapping_add_signed(d)
        }
        5..=7 => u.int_in_range(0..=g.size - 1)?,
        8 => usize::MAX - u.int_in_range(0usize..=16)?,
        _ => u.arbitrary()?,
    })
}

/// A bulk range; `huge` allows overflowing lengths (no buffer involved).
fn range(u: &mut Unstructured, g: Geo, huge: bool) -> Result<(usize, usize)> {
    let a = addr(u, g)?;
    let len = match u.int_in_range(0u8..=3)? {
        0 => u.int_in_range(0..=3 * g.shard_size)?,
        1 => g.size.saturating_sub(a) + usize::from(u.arbitrary::<bool>()?),
        2 => u.int_in_range(0..=g.size + 1)?,
        _ if huge => usize::MAX - u.int_in_range(0usize..=3)?,
        _ => u.int_in_range(0usize..=8)?,
    };
    Ok((a, len))
}

fn value(u: &mut Unstructured) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => 0,
        1 => u64::MAX,
        2 => 1 << (u.int_in_range(0u32..=63)?),
        3 => u.int_in_range(0u64..=3)?,
        _ => u.arbitrary()?,
    })
}

fn pick<T: Copy>(u: &mut Unstructured, all: &[T]) -> Result<T> {
    Ok(*u.choose(all)?)
}

fn batch_op(u: &mut Unstructured, g: Geo) -> Result<BatchOp> {
    Ok(match u.int_in_range(0u8..=11)? {
        0..=3 => BatchOp::Read {
            width: pick(u, &Width::ALL)?,
            addr: addr(u, g)?,
        },
        4..=7 => BatchOp::Write {
            width: pick(u, &Width::ALL)?,
            addr: addr(u, g)?,
            value: value(u)?,
        },
        8 => {
            let (addr, len) = range(u, g, false)?;
            BatchOp::ReadBytes { addr, len }
        }
        9 => {
            let (addr, len) = range(u, g, false)?;
            BatchOp::WriteBytes {
                addr,
                len,
                seed: u.arbitrary()?,
            }
        }
        10 => BatchOp::Release,
        _ => match u.int_in_range(0u8..=2)? {
            0 => BatchOp::TakeDirty,
            1 => BatchOp::ClearDirty,
            _ => BatchOp::DirtyShards,
        },
    })
}

fn op(u: &mut Unstructured, g: Geo) -> Result<Op> {
    let shards = g.size / g.shard_size;
    Ok(match u.int_in_range(0u8..=17)? {
        0..=2 => Op::Read {
            path: pick(u, &Path::ALL)?,
            width: pick(u, &Width::ALL)?,
            addr: addr(u, g)?,
        },
        3..=5 => Op::Write {
            path: pick(u, &Path::ALL)?,
            width: pick(u, &Width::ALL)?,
            addr: addr(u, g)?,
            value: value(u)?,
        },
        6 => Op::Fetch {
            path: pick(u, &Path::ALL)?,
            wide: u.arbitrary()?,
            addr: addr(u, g)?,
        },
        7 => {
            let (addr, len) = range(u, g, false)?;
            Op::ReadBytes {
                path: pick(u, &Path::ALL)?,
                addr,
                len,
            }
        }
        8 => {
            let (addr, len) = range(u, g, false)?;
            Op::WriteBytes {
                path: pick(u, &Path::ALL)?,
                addr,
                len,
                seed: u.arbitrary()?,
            }
        }
        9 => {
            let (addr, len) = range(u, g, true)?;
            Op::Fill {
                path: pick(u, &Path::ALL)?,
                addr,
                len,
                byte: u.arbitrary()?,
            }
        }
        10 | 11 => Op::Rmw {
            exclusive: u.arbitrary()?,
            width: pick(u, &AtomicWidth::ALL)?,
            op: pick(u, &Rmw::ALL)?,
            addr: addr(u, g)?,
            value: value(u)?,
        },
        12 => Op::Cx {
            exclusive: u.arbitrary()?,
            width: pick(u, &AtomicWidth::ALL)?,
            addr: addr(u, g)?,
            current: if u.arbitrary()? {
                Some(value(u)?)
            } else {
                None
            },
            new: value(u)?,
        },
        13 => {
            let n = u.int_in_range(1usize..=16)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(batch_op(u, g)?);
            }
            Op::Batch(v)
        }
        14 => {
            let exclusive = u.arbitrary()?;
            let slot = u.int_in_range(0..=SLOTS - 1)?;
            if u.arbitrary()? {
                Op::Snapshot { exclusive, slot }
            } else {
                Op::Restore { exclusive, slot }
            }
        }
        15 => match u.int_in_range(0u8..=3)? {
            0 => Op::TakeDirty,
            1 => Op::ClearDirty,
            2 => Op::DirtyShards,
            _ => Op::IsDirty(u.int_in_range(0..=shards + 1)?),
        },
        // Freezing is forever: rare, so most sequences stay writable.
        16 if u.ratio(1u8, 8)? => Op::Freeze,
        _ => Op::Read {
            path: Path::Shared,
            width: pick(u, &Width::ALL)?,
            addr: addr(u, g)?,
        },
    })
}

fn ops(u: &mut Unstructured, g: Geo) -> Vec<Op> {
    let mut v = Vec::new();
    while !u.is_empty() && v.len() < MAX_OPS {
        match op(u, g) {
            Ok(o) => v.push(o),
            Err(_) => break,
        }
    }
    v
}

fn check<const S: usize, const N: usize>(u: &mut Unstructured) {
    let g = Geo {
        size: S * N,
        shard_size: N,
    };
    let seq = ops(u, g);
    if let Err(e) = model::run::<S, N>(&seq) {
        panic!("{e}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    match u.int_in_range(0u8..=3).unwrap_or(0) {
        0 => check::<4, 64>(&mut u),
        1 => check::<8, 8>(&mut u),
        2 => check::<1, 32>(&mut u),
        _ => check::<16, 16>(&mut u),
    }
});
