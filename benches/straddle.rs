//! Straddling u64 reads (4 bytes before a shard boundary, so both shards
//! are touched) next to in-shard reads of the same cache lines, in the
//! shared and exclusive modes and the seed design. One iteration is 16,384
//! reads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The harness shared with the perf test.
#[allow(dead_code)] // each bench uses part of it
mod common;
use common::*;

/// The group `straddle_u64`.
fn straddle(c: &mut Criterion) {
    let mut mems = Memories::new();
    let straddling = straddling_addrs(READS);
    let in_shard: Vec<usize> = straddling.iter().map(|a| a - 4).collect();
    let spanning: Vec<usize> = straddling.iter().map(|a| a - 8).collect();
    let mut g = c.benchmark_group("straddle_u64");
    g.throughput(Throughput::Elements(READS as u64));
    for (case, addrs) in [
        (IN_SHARD, &in_shard),
        (WORD_SPANNING, &spanning),
        (STRADDLING, &straddling),
    ] {
        let mut m = Shared(&mems.mem);
        g.bench_function(format!("{SHARED}/{case}"), |b| {
            b.iter_custom(|n| time_reads::<_, u64>(&mut m, addrs, n as usize))
        });
        let mut m = Seed(&mems.seed);
        g.bench_function(format!("{SEED}/{case}"), |b| {
            b.iter_custom(|n| time_reads::<_, u64>(&mut m, addrs, n as usize))
        });
        let mut m = Excl(mems.mem.exclusive());
        g.bench_function(format!("{EXCLUSIVE}/{case}"), |b| {
            b.iter_custom(|n| time_reads::<_, u64>(&mut m, addrs, n as usize))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config!();
    targets = straddle
}
criterion_main!(benches);
