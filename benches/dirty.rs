//! The cost of dirty tracking on a shared-mode `write_u64` (issue 5's
//! target: at most 10% of a write).
//!
//! Method. Marking is built into every write path (the shard's write guard
//! marks the shard when its bytes are first borrowed mutably), so vm-mem
//! has no "write without marking" to compare against from outside. What
//! marking costs depends on the mark's state:
//!
//! - steady state, the shard already marked: one `Relaxed` load of the
//!   shard's mark byte, which sits next to the lock the write just took
//!   (`write_u64/marked`);
//! - the first write after the log was cleared: that load plus a
//!   `fetch_or` (`write_u64/after_clear`, which also pays the clear itself:
//!   `clear_dirty` on a one-shard memory is one `fetch_and`, measured alone
//!   as `clear_dirty` so it can be subtracted).
//!
//! As a reference without any marking, `spin_rwlock/write_u64` does what a
//! shard's fast path does (take a `spin::RwLock` write lock, store 8
//! little-endian bytes at a bounds-checked offset, unlock) on a bare
//! `spin::RwLock<[u8; 4096]>`. It is not vm-mem's code, only the same work
//! minus the marks and the address split, so `marked / spin_rwlock` is an
//! upper bound on what steady-state marking costs.
//!
//! Ratios to report: `marked / spin_rwlock` (steady-state overhead, target
//! ≤ 1.10) and `(after_clear - clear_dirty) / marked` (the price of the
//! first write after a clear, paid once per shard per clear).
//!
//! Run: `cargo bench --bench dirty` (add `-- --quick` for a rough look).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use vm_mem::ShardedMemory;

/// One shard, so `clear_dirty` is a single atomic operation.
type Mem = ShardedMemory<1, 4096>;

/// 8-aligned bytes, as a shard's.
#[repr(C, align(8))]
struct Bytes([u8; 4096]);

fn dirty_write(c: &mut Criterion) {
    let mem = Mem::new();
    let bare = spin::RwLock::new(Bytes([0; 4096]));
    let mut g = c.benchmark_group("dirty_write_u64");
    g.bench_function("spin_rwlock/write_u64", |b| {
        b.iter(|| {
            let (off, v) = (black_box(0x100usize), black_box(42u64));
            if let Some(dst) = bare.write().0.get_mut(off..off + 8) {
                dst.copy_from_slice(&v.to_le_bytes());
            }
        })
    });
    mem.write_u64(0x100, 1).unwrap(); // marked from here on
    g.bench_function("write_u64/marked", |b| {
        b.iter(|| mem.write_u64(black_box(0x100), black_box(42)).unwrap())
    });
    g.bench_function("clear_dirty", |b| b.iter(|| black_box(&mem).clear_dirty()));
    g.bench_function("write_u64/after_clear", |b| {
        b.iter(|| {
            black_box(&mem).clear_dirty();
            mem.write_u64(black_box(0x100), black_box(42)).unwrap()
        })
    });
    g.finish();
    assert!(mem.is_dirty(0));
}

criterion_group!(benches, dirty_write);
criterion_main!(benches);
