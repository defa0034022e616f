//! The toy instruction-set simulator (generic over `MemoryAccess`) on a
//! plain `Vec<u8>`, on the shared memory and on the exclusive view, for a
//! read-mostly program (fetch + load) and one that also stores every sixth
//! instruction. Throughput in simulated instructions.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The harness shared with the perf test.
#[allow(dead_code)] // each bench uses part of it
mod common;
use common::*;

/// The groups `iss/<program>`.
fn simulator(c: &mut Criterion) {
    let mut vec_bus = VecBus(vec![0; SIZE]);
    let mut mem = Mem::new_boxed();
    for program in [&iss::CHECKSUM, &iss::PREFIX_SUMS] {
        iss::load(&mut vec_bus, program).expect("load program");
        iss::load(&mut &*mem, program).expect("load program");
        let steps = iss::run(&mut vec_bus).expect("program runs");
        assert_eq!(steps, program.steps);
        let mut g = c.benchmark_group(format!("iss/{}", program.name));
        g.throughput(Throughput::Elements(steps));
        g.bench_function(VEC, |b| b.iter(|| iss::run(black_box(&mut vec_bus))));
        g.bench_function(SHARED, |b| b.iter(|| iss::run(black_box(&mut &*mem))));
        g.bench_function(EXCLUSIVE, |b| {
            let mut view = mem.exclusive();
            b.iter(|| iss::run(black_box(&mut view)))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion_config!();
    targets = simulator
}
criterion_main!(benches);
