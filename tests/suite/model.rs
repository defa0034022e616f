//! Model-based property tests: random sequences of every operation (typed
//! LE/BE reads and writes of each width on the shared, exclusive, trait,
//! frozen and batch paths; bulk read/write/fill; every guest atomic with
//! compare-exchange and signed min/max; snapshot/restore; the dirty log;
//! freezing near the end of some sequences) run on a real memory and on a
//! `Vec<u8>` model (`tests/support/model.rs`), which must agree on every
//! result, every error and the whole memory after every operation.
//!
//! Addresses are drawn to hit shard edges (straddles), the last valid bytes,
//! just past the end and `usize::MAX` downwards. CI runs more than 100,000
//! operations over four geometries; `VM_MEM_PROPTEST_SCALE=N` runs N times
//! as many cases (e.g. 100 for a long run). Under Miri the counts shrink.

use crate::support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::model::{run, AtomicWidth, BatchOp, Op, Path, Rmw, Width, SLOTS};

use support::harness::scale;

/// Cases per geometry and the longest sequence.
const CASES: u32 = if cfg!(miri) { 2 } else { 300 };
const MAX_LEN: usize = if cfg!(miri) { 24 } else { 200 };
/// Operations each geometry must have run (four geometries: > 100,000).
const MIN_OPS: usize = if cfg!(miri) { 10 } else { 25_000 };
/// The shortest sequence: under Miri, long enough that its two sequences
/// reach `MIN_OPS` whatever proptest draws (with lengths from 1, two
/// short draws failed the count in about 7% of runs).
const MIN_LEN: usize = if cfg!(miri) {
    MIN_OPS / CASES as usize
} else {
    1
};

/// Addresses that matter: shard edges +-9 (straddles; `0 - d` wraps to just
/// below `usize::MAX`), anywhere inside, `usize::MAX` downwards, anything.
fn addr(size: usize, shard_size: usize) -> BoxedStrategy<usize> {
    let shards = size / shard_size;
    prop_oneof![
        5 => (0..=shards, -9isize..=9).prop_map(move |(k, d)| (k * shard_size).wrapping_add_signed(d)),
        3 => 0..size,
        1 => (0usize..=16).prop_map(|k| usize::MAX - k),
        1 => any::<usize>(),
    ]
    .boxed()
}

/// A bulk range: small, ending exactly at (or one past) the end, or long.
fn range(size: usize, shard_size: usize, huge: bool) -> BoxedStrategy<(usize, usize)> {
    (addr(size, shard_size), 0..4u8, any::<usize>())
        .prop_map(move |(a, mode, l)| match mode {
            0 => (a, l % (3 * shard_size + 1)),
            1 => (a, size.saturating_sub(a) + l % 2),
            2 => (a, l % (size + 2)),
            // Only `fill` (no buffer) gets overflowing lengths.
            _ if huge => (a, usize::MAX - l % 4),
            _ => (a, l % 9),
        })
        .boxed()
}

fn value() -> BoxedStrategy<u64> {
    prop_oneof![
        3 => any::<u64>(),
        1 => Just(0u64),
        1 => Just(u64::MAX),
        1 => 0u64..4,
        1 => prop::sample::select(vec![0x80u64, 0x8000, 0x8000_0000, 1 << 63, 0x7f, 0x7fff_ffff]),
    ]
    .boxed()
}

fn width() -> impl Strategy<Value = Width> {
    prop::sample::select(Width::ALL.to_vec())
}

fn path() -> impl Strategy<Value = Path> {
    prop::sample::select(Path::ALL.to_vec())
}

fn batch_op(size: usize, ss: usize) -> BoxedStrategy<BatchOp> {
    let a = || addr(size, ss);
    prop_oneof![
        4 => (width(), a()).prop_map(|(width, addr)| BatchOp::Read { width, addr }),
        4 => (width(), a(), value()).prop_map(|(width, addr, value)| BatchOp::Write { width, addr, value }),
        1 => range(size, ss, false).prop_map(|(addr, len)| BatchOp::ReadBytes { addr, len }),
        1 => (range(size, ss, false), any::<u8>())
            .prop_map(|((addr, len), seed)| BatchOp::WriteBytes { addr, len, seed }),
        1 => Just(BatchOp::Release),
        1 => Just(BatchOp::TakeDirty),
        1 => Just(BatchOp::ClearDirty),
        1 => Just(BatchOp::DirtyShards),
    ]
    .boxed()
}

/// Every operation. `prop_oneof!` stays lazy (generates only the arm it
/// picks) up to 10 arms, so the arms are grouped.
fn op(size: usize, ss: usize) -> BoxedStrategy<Op> {
    let a = || addr(size, ss);
    let aw = || prop::sample::select(AtomicWidth::ALL.to_vec());
    let shards = size / ss;
    let accesses = prop_oneof![
        6 => (path(), width(), a()).prop_map(|(path, width, addr)| Op::Read { path, width, addr }),
        6 => (path(), width(), a(), value())
            .prop_map(|(path, width, addr, value)| Op::Write { path, width, addr, value }),
        1 => (path(), any::<bool>(), a()).prop_map(|(path, wide, addr)| Op::Fetch { path, wide, addr }),
        2 => (path(), range(size, ss, false))
            .prop_map(|(path, (addr, len))| Op::ReadBytes { path, addr, len }),
        2 => (path(), range(size, ss, false), any::<u8>())
            .prop_map(|(path, (addr, len), seed)| Op::WriteBytes { path, addr, len, seed }),
        2 => (path(), range(size, ss, true), any::<u8>())
            .prop_map(|(path, (addr, len), byte)| Op::Fill { path, addr, len, byte }),
    ];
    let atomics = prop_oneof![
        5 => (any::<bool>(), aw(), prop::sample::select(Rmw::ALL.to_vec()), a(), value())
            .prop_map(|(exclusive, width, op, addr, value)| Op::Rmw { exclusive, width, op, addr, value }),
        3 => (any::<bool>(), aw(), a(), prop::option::of(value()), value())
            .prop_map(|(exclusive, width, addr, current, new)| Op::Cx { exclusive, width, addr, current, new }),
    ];
    let whole = prop_oneof![
        1 => (any::<bool>(), 0..SLOTS).prop_map(|(exclusive, slot)| Op::Snapshot { exclusive, slot }),
        1 => (any::<bool>(), 0..SLOTS).prop_map(|(exclusive, slot)| Op::Restore { exclusive, slot }),
        1 => Just(Op::TakeDirty),
        1 => Just(Op::ClearDirty),
        1 => Just(Op::DirtyShards),
        1 => (0..shards + 2).prop_map(Op::IsDirty),
    ];
    prop_oneof![
        19 => accesses,
        8 => atomics,
        2 => prop::collection::vec(batch_op(size, ss), 1..16).prop_map(Op::Batch),
        6 => whole,
    ]
    .boxed()
}

/// A sequence; a quarter of them freeze the memory near the end and go on
/// with a few more operations (writes must then fail, reads still work).
fn sequence(size: usize, ss: usize) -> BoxedStrategy<Vec<Op>> {
    (
        prop::collection::vec(op(size, ss), MIN_LEN..MAX_LEN),
        prop::option::weighted(0.25, prop::collection::vec(op(size, ss), 0..24)),
    )
        .prop_map(|(mut ops, tail)| {
            if let Some(tail) = tail {
                ops.push(Op::Freeze);
                ops.extend(tail);
            }
            ops
        })
        .boxed()
}

fn check_geometry<const S: usize, const N: usize>() {
    let cases = CASES * scale();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let ops = std::cell::Cell::new(0usize);
    let start = std::time::Instant::now();
    let result = runner.run(&sequence(S * N, N), |seq| {
        let n = run::<S, N>(&seq).map_err(TestCaseError::fail)?;
        ops.set(ops.get() + n);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "model ShardedMemory<{S}, {N}>: {cases} sequences, {} operations in {:.1?}",
        ops.get(),
        start.elapsed()
    );
    assert!(
        ops.get() >= MIN_OPS * scale() as usize,
        "only {} operations ran",
        ops.get()
    );
}

#[test]
fn model_4_shards_of_64() {
    check_geometry::<4, 64>();
}

#[test]
fn model_8_shards_of_8() {
    // The smallest shard: every u64 not 8-aligned straddles.
    check_geometry::<8, 8>();
}

#[test]
fn model_1_shard_of_32() {
    // No second shard: every straddle is out of bounds.
    check_geometry::<1, 32>();
}

#[test]
fn model_16_shards_of_16() {
    check_geometry::<16, 16>();
}

/// A fixed sweep, so every path is covered whatever proptest draws (and
/// under Miri, every `unsafe` read path: exclusive and frozen, in-shard,
/// straddling and out of bounds): every width on every path at every edge
/// address, writes then reads, bulk ops and atomics, then the same frozen.
#[test]
fn model_fixed_sweep_every_path_every_width_every_edge() {
    type M = vm_mem::ShardedMemory<4, 64>;
    let size = M::SIZE;
    let addrs: Vec<usize> = if cfg!(miri) {
        vec![0, 61, 63, size - 8, size - 3, size, usize::MAX - 2]
    } else {
        let mut v: Vec<usize> = (0..=4)
            .flat_map(|k| (-9isize..=9).map(move |d| (k * 64usize).wrapping_add_signed(d)))
            .collect();
        v.extend([size + 100, usize::MAX / 2, usize::MAX]);
        v
    };
    let mut ops = Vec::new();
    let mut n = 0u64;
    for phase in 0..2 {
        for path in Path::ALL {
            for width in Width::ALL {
                for &addr in &addrs {
                    n += 1;
                    let value = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    ops.push(Op::Write {
                        path,
                        width,
                        addr,
                        value,
                    });
                    ops.push(Op::Read { path, width, addr });
                }
            }
            for &addr in &addrs {
                ops.push(Op::Fetch {
                    path,
                    wide: addr % 2 == 0,
                    addr,
                });
                ops.push(Op::ReadBytes { path, addr, len: 9 });
                ops.push(Op::WriteBytes {
                    path,
                    addr,
                    len: 5,
                    seed: addr as u8,
                });
                ops.push(Op::Fill {
                    path,
                    addr,
                    len: 70,
                    byte: 0xee,
                });
            }
        }
        for &addr in &addrs {
            for exclusive in [false, true] {
                for width in AtomicWidth::ALL {
                    for op in Rmw::ALL {
                        ops.push(Op::Rmw {
                            exclusive,
                            width,
                            op,
                            addr,
                            value: 0x8000_0000_8000_0081,
                        });
                    }
                    ops.push(Op::Cx {
                        exclusive,
                        width,
                        addr,
                        current: None,
                        new: 5,
                    });
                    ops.push(Op::Cx {
                        exclusive,
                        width,
                        addr,
                        current: Some(1),
                        new: 6,
                    });
                }
            }
        }
        ops.push(Op::Batch(
            addrs
                .iter()
                .flat_map(|&addr| {
                    Width::ALL.into_iter().flat_map(move |width| {
                        [
                            BatchOp::Write {
                                width,
                                addr,
                                value: addr as u64,
                            },
                            BatchOp::Read { width, addr },
                        ]
                    })
                })
                .collect(),
        ));
        ops.extend([
            Op::Snapshot {
                exclusive: phase == 0,
                slot: 0,
            },
            Op::Write {
                path: Path::Shared,
                width: Width::U64,
                addr: 60,
                value: 1,
            },
            Op::Restore {
                exclusive: phase == 1,
                slot: 0,
            },
            Op::Restore {
                exclusive: false,
                slot: 1,
            },
            Op::TakeDirty,
        ]);
        if phase == 0 {
            ops.push(Op::Freeze);
        }
    }
    let count = run::<4, 64>(&ops).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("model fixed sweep: {count} operations");
}

/// Guest memory is little-endian whatever the host: on s390x (the
/// big-endian CI step) this also proves the suite really ran big-endian.
#[test]
fn guest_bytes_are_little_endian_on_every_host() {
    let mem = vm_mem::ShardedMemory::<2, 8>::new();
    mem.write_u32(6, 0x0102_0304).unwrap(); // straddles
    mem.write_u16_be(0, 0x0a0b).unwrap();
    let mut b = [0u8; 16];
    mem.read_bytes(0, &mut b).unwrap();
    assert_eq!(b[6..10], [4, 3, 2, 1]);
    assert_eq!(b[..2], [0x0a, 0x0b]);
    // The host's own byte order, observed at run time.
    let host_big = u16::from_ne_bytes([1, 0]) == 0x0100;
    if std::env::consts::ARCH == "s390x" {
        assert!(host_big, "s390x is big-endian");
    }
    let order = if host_big { "big" } else { "little" };
    eprintln!(
        "host {} ({order}-endian): guest little-endian",
        std::env::consts::ARCH
    );
}
