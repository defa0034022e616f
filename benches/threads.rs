//! 1 vs 2 threads reading u64s through `&self`: on disjoint shards (no
//! shared lock) and on the same shard (a shared lock word), for the shared
//! and frozen modes and the seed design. Throughput is the aggregate reads
//! of all threads, so "2 threads" at twice "1 thread"'s rate scales
//! perfectly. One iteration is 16,384 reads per thread.
//!
//! The group `threads_write_neighbours` asks whether the per-shard control
//! blocks (lock, counter, marks: 24 bytes each, so about three to a cache
//! line) should be padded to a cache line each: two threads write u64s
//! into neighbouring shards 0 and 1 (control blocks in one line) and into
//! distant shards 0 and 32 (control blocks lines apart), beside one thread
//! alone. Padding pays only if "neighbours" is clearly slower than
//! "distant". One iteration is 16,384 writes per thread.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The harness shared with the perf test.
#[allow(dead_code)] // each bench uses part of it
mod common;
use common::*;

/// Adds the 1-thread, 2-disjoint and 2-same cases of one mode.
fn mode<M: Reader, F: Fn() -> M + Sync>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    make: F,
    shard0: &[usize],
    shard1: &[usize],
) {
    let cases: [(&str, [&[usize]; 2], usize); 3] = [
        (ONE_THREAD, [shard0, shard0], 1),
        (TWO_DISJOINT, [shard0, shard1], 2),
        (TWO_SAME, [shard0, shard0], 2),
    ];
    for (case, lists, threads) in cases {
        let lists = &lists[..threads];
        g.throughput(Throughput::Elements((READS * threads) as u64));
        g.bench_function(format!("{name}/{case}"), |b| {
            b.iter_custom(|n| time_threads(&make, lists, n as usize))
        });
    }
}

/// The group `threads_u64`.
fn threads(c: &mut Criterion) {
    let mems = Memories::new();
    let shard0 = shard_addrs(0, READS, 7);
    let shard1 = shard_addrs(1, READS, 11);
    let mut g = c.benchmark_group("threads_u64");
    mode(&mut g, SHARED, || Shared(&mems.mem), &shard0, &shard1);
    mode(&mut g, FROZEN, || Froz(mems.frozen()), &shard0, &shard1);
    mode(&mut g, SEED, || Seed(&mems.seed), &shard0, &shard1);
    g.finish();
}

/// Writes `u64`s at `addrs` through `&ShardedMemory`, `iters` times.
fn write_all(mem: &Mem, addrs: &[usize], iters: usize) {
    for i in 0..iters {
        for &a in addrs {
            let _ = black_box(mem.write_u64(a, i as u64));
        }
    }
}

/// Wall time for one thread per address list to write its list `iters`
/// times, started together.
fn time_writers(mem: &Mem, lists: &[&[usize]], iters: usize) -> Duration {
    let barrier = Barrier::new(lists.len());
    let start = std::thread::scope(|s| {
        for addrs in lists {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                write_all(mem, addrs, iters);
            });
        }
        Instant::now()
    });
    start.elapsed()
}

/// The group `threads_write_neighbours`.
fn neighbours(c: &mut Criterion) {
    let mems = Memories::new();
    let mem = &*mems.mem;
    let shard0 = shard_addrs(0, READS, 7);
    let shard1 = shard_addrs(1, READS, 11);
    let shard32 = shard_addrs(32, READS, 13);
    let cases: [(&str, Vec<&[usize]>); 3] = [
        ("1 thread", vec![&shard0]),
        ("2 threads, neighbouring shards", vec![&shard0, &shard1]),
        ("2 threads, distant shards", vec![&shard0, &shard32]),
    ];
    let mut g = c.benchmark_group("threads_write_neighbours");
    for (case, lists) in &cases {
        g.throughput(Throughput::Elements((READS * lists.len()) as u64));
        g.bench_function(*case, |b| {
            b.iter_custom(|n| time_writers(mem, lists, n as usize))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config!();
    targets = threads, neighbours
}
criterion_main!(benches);
