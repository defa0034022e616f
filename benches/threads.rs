//! 1 vs 2 threads reading u64s through `&self`: on disjoint shards (no
//! shared lock) and on the same shard (a shared lock word), for the shared
//! and frozen modes and the seed design. Throughput is the aggregate reads
//! of all threads, so "2 threads" at twice "1 thread"'s rate scales
//! perfectly. One iteration is 16,384 reads per thread.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// The harness shared with the perf example.
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

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = threads
}
criterion_main!(benches);
