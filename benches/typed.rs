//! Typed reads and writes: for every width, every vm-mem access mode side by
//! side with the baselines (raw slice, the seed design, vm-memory) in one
//! criterion group. One iteration is one pass over the perf test's 16,384
//! addresses (256 in each of 64 shards, shard after shard).

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// The harness shared with the perf test.
#[allow(dead_code)] // each bench uses part of it
mod common;
use common::*;

/// Adds one mode's reads of width `T` to the group.
fn read_mode<M: Reader, T: Width>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut m: M,
    addrs: &[usize],
) {
    g.bench_function(name, |b| {
        b.iter_custom(|n| time_reads::<M, T>(&mut m, addrs, n as usize))
    });
}

/// Adds one mode's writes of width `T` to the group.
fn write_mode<M: Writer, T: Width>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut m: M,
    addrs: &[usize],
) {
    g.bench_function(name, |b| {
        b.iter_custom(|n| time_writes::<M, T>(&mut m, addrs, n as usize))
    });
}

/// The group `read_<width>`: every mode and baseline.
fn reads<T: Width>(c: &mut Criterion, mems: &mut Memories, addrs: &[usize]) {
    let mut g = c.benchmark_group(format!("read_{}", T::NAME));
    g.throughput(Throughput::Elements(addrs.len() as u64));
    read_mode::<_, T>(&mut g, RAW, &mut mems.raw, addrs);
    read_mode::<_, T>(&mut g, SEED, Seed(&mems.seed), addrs);
    read_mode::<_, T>(&mut g, VM_MEMORY, VmMemory(mems.vmm.clone()), addrs);
    read_mode::<_, T>(&mut g, SHARED, Shared(&mems.mem), addrs);
    read_mode::<_, T>(&mut g, EXCLUSIVE, Excl(mems.mem.exclusive()), addrs);
    read_mode::<_, T>(&mut g, FROZEN, Froz(mems.frozen()), addrs);
    read_mode::<_, T>(&mut g, BATCHED, Batched(mems.mem.batch()), addrs);
    g.finish();
}

/// The group `write_<width>`: every writable mode and baseline.
fn writes<T: Width>(c: &mut Criterion, mems: &mut Memories, addrs: &[usize]) {
    let mut g = c.benchmark_group(format!("write_{}", T::NAME));
    g.throughput(Throughput::Elements(addrs.len() as u64));
    write_mode::<_, T>(&mut g, RAW, &mut mems.raw, addrs);
    write_mode::<_, T>(&mut g, SEED, Seed(&mems.seed), addrs);
    write_mode::<_, T>(&mut g, VM_MEMORY, VmMemory(mems.vmm.clone()), addrs);
    write_mode::<_, T>(&mut g, SHARED, Shared(&mems.mem), addrs);
    write_mode::<_, T>(&mut g, EXCLUSIVE, Excl(mems.mem.exclusive()), addrs);
    write_mode::<_, T>(&mut g, BATCHED, Batched(mems.mem.batch()), addrs);
    g.finish();
}

/// Every width, reads then writes.
fn typed(c: &mut Criterion) {
    let mut mems = Memories::new();
    let addrs = grouped_addrs();
    reads::<u8>(c, &mut mems, &addrs);
    reads::<u16>(c, &mut mems, &addrs);
    reads::<u32>(c, &mut mems, &addrs);
    reads::<u64>(c, &mut mems, &addrs);
    writes::<u8>(c, &mut mems, &addrs);
    writes::<u16>(c, &mut mems, &addrs);
    writes::<u32>(c, &mut mems, &addrs);
    writes::<u64>(c, &mut mems, &addrs);
}

criterion_group! {
    name = benches;
    config = criterion_config!();
    targets = typed
}
criterion_main!(benches);
