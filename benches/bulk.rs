//! Bulk copies of 64 KiB starting mid-shard (so five shards are touched):
//! `read_bytes` and `write_bytes` in each mode against a plain
//! `copy_from_slice` on a `Vec<u8>` and vm-memory's `read_slice` /
//! `write_slice`. Throughput in bytes.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vm_memory::{Bytes, GuestAddress};

/// The harness shared with the perf test.
#[allow(dead_code)] // each bench uses part of it
mod common;
use common::*;

/// The groups `bulk_read_64KiB` and `bulk_write_64KiB`.
fn bulk(c: &mut Criterion) {
    let mut mems = Memories::new();
    let range = BULK_AT..BULK_AT + BULK;
    let src: Vec<u8> = mems.image[..BULK].to_vec();
    let mut buf = vec![0u8; BULK];
    let at = GuestAddress(BULK_AT as u64);

    let mut g = c.benchmark_group("bulk_read_64KiB");
    g.throughput(Throughput::Bytes(BULK as u64));
    g.bench_function(COPY, |b| {
        b.iter(|| buf.copy_from_slice(&black_box(&mems.raw.0)[range.clone()]))
    });
    g.bench_function(SHARED, |b| {
        b.iter(|| mems.mem.read_bytes(black_box(BULK_AT), &mut buf))
    });
    let rom = mems.frozen();
    g.bench_function(FROZEN, |b| {
        b.iter(|| rom.read_bytes(black_box(BULK_AT), &mut buf))
    });
    g.bench_function(VM_MEMORY, |b| {
        b.iter(|| mems.vmm.read_slice(&mut buf, black_box(at)))
    });
    {
        let view = mems.mem.exclusive();
        g.bench_function(EXCLUSIVE, |b| {
            b.iter(|| view.read_bytes(black_box(BULK_AT), &mut buf))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("bulk_write_64KiB");
    g.throughput(Throughput::Bytes(BULK as u64));
    g.bench_function(COPY, |b| {
        b.iter(|| black_box(&mut mems.raw.0)[range.clone()].copy_from_slice(black_box(&src)))
    });
    g.bench_function(SHARED, |b| {
        b.iter(|| mems.mem.write_bytes(black_box(BULK_AT), black_box(&src)))
    });
    g.bench_function(VM_MEMORY, |b| {
        b.iter(|| mems.vmm.write_slice(black_box(&src), black_box(at)))
    });
    {
        let mut view = mems.mem.exclusive();
        g.bench_function(EXCLUSIVE, |b| {
            b.iter(|| view.write_bytes(black_box(BULK_AT), black_box(&src)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config!();
    targets = bulk
}
criterion_main!(benches);
