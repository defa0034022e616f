//! Snapshots at the speed of change (issue 27), each figure beside its
//! baseline in the same group:
//!
//! - group `retake_64MiB`: re-taking the baseline snapshot of a 64 MiB
//!   memory (16384 shards of 4 KiB) after 8 pages were written, against a
//!   `copy_from_slice` of 64 MiB (what a full copy costs; target: the
//!   re-take ≤ 10 µs); and the first snapshot (every shard) against the
//!   same memcpy (target: memcpy speed). The writes are untimed
//!   (`iter_custom`).
//! - group `restore`: restoring the baseline after 1 and after 8 written
//!   pages, for 1 MiB (256 shards) and 64 MiB (16384 shards) memories
//!   (target: 1 page of 64 MiB ≤ 1 µs, ≤ 0.2 µs per further page: the
//!   size no longer matters); and a whole machine (`MemoryMap::restore`
//!   of the 64 MiB memory behind a map) after 1 page. Writes untimed.
//! - group `line_cycle_1MiB`: a fuzzing cycle on 1 MiB, 64 pages with one
//!   4-byte write each, then the restore, all timed: with whole-page
//!   tracking and with line tracking (`set_line_tracking`), through the
//!   shared memory and through the exclusive view (target with lines:
//!   ≤ 3.5 µs; icicle's copy-on-write cycle: 35 µs).
//!
//! Run: `cargo bench -p vm-mem-benches --bench snapshot_speed` (add
//! `-- --quick` for a rough look, or a group name to run one group).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};
use vm_mem::{MachineSnapshot, MemoryMap, Perms, ShardedMemory, Snapshot};

const PAGE: usize = 4096;
/// 64 MiB.
type Big = ShardedMemory<16384, PAGE>;
type BigSnap = Snapshot<16384, PAGE>;
/// 1 MiB.
type SmallSnap = Snapshot<256, PAGE>;

/// The `i`-th page to write in a memory of `pages` pages: spread out
/// (40503 is prime, so distinct for the first `pages`).
fn nth_page(i: usize, pages: usize) -> usize {
    (i * 40503 + 17) % pages
}

/// A boxed memory whose every page holds a non-zero pattern (so every
/// page is backed, not the shared zero page).
fn patterned<const S: usize>() -> Box<ShardedMemory<S, PAGE>> {
    let mem = ShardedMemory::<S, PAGE>::new_boxed();
    for p in 0..S {
        mem.fill(p * PAGE, PAGE, p as u8 | 1).unwrap();
    }
    mem
}

/// Times `iters` runs of `timed`, each after `untimed`.
fn time_each(iters: u64, mut untimed: impl FnMut(), mut timed: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        untimed();
        let t = Instant::now();
        timed();
        total += t.elapsed();
    }
    total
}

fn retake_64mib(c: &mut Criterion) {
    let mem = patterned::<16384>();
    let mut snap = BigSnap::new_boxed();
    let mut other = BigSnap::new_boxed();
    mem.snapshot(&mut snap);
    let src: Vec<u8> = (0..Big::SIZE).map(|i| (i >> 12) as u8 | 1).collect();
    let mut dst = vec![0u8; Big::SIZE];
    dst.copy_from_slice(&src);

    let mut g = c.benchmark_group("retake_64MiB");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let mut round = 0u8;
    g.bench_function("retake/8_pages", |b| {
        b.iter_custom(|iters| {
            time_each(
                iters,
                || {
                    round = round.wrapping_add(1);
                    for i in 0..8 {
                        mem.write_u32(nth_page(i, 16384) * PAGE + 64, round as u32)
                            .unwrap();
                    }
                },
                || mem.snapshot(black_box(&mut snap)),
            )
        })
    });
    g.throughput(Throughput::Bytes(Big::SIZE as u64));
    g.bench_function("memcpy_64MiB", |b| {
        b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(&src[..])))
    });
    // Taking another snapshot than the baseline copies every shard, and
    // makes it the baseline: alternating keeps every one a first snapshot.
    let mut flip = false;
    g.bench_function("first_snapshot", |b| {
        b.iter(|| {
            flip = !flip;
            let s = if flip { &mut other } else { &mut snap };
            mem.snapshot(black_box(s));
        })
    });
    g.finish();
}

/// Benches restoring `mem` to `snap` after `k` written pages.
fn restore_after<const S: usize>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mem: &ShardedMemory<S, PAGE>,
    snap: &Snapshot<S, PAGE>,
    k: usize,
) {
    g.bench_function(format!("{name}/{k}_pages"), |b| {
        b.iter_custom(|iters| {
            time_each(
                iters,
                || {
                    for i in 0..k {
                        mem.write_u8(nth_page(i, S) * PAGE + 8, 0xee).unwrap();
                    }
                },
                || {
                    let copied = mem.restore(black_box(snap)).unwrap();
                    assert_eq!(copied, k);
                },
            )
        })
    });
}

fn restore(c: &mut Criterion) {
    let small = patterned::<256>();
    let mut small_snap = SmallSnap::new_boxed();
    small.snapshot(&mut small_snap);
    let big = patterned::<16384>();
    let mut big_snap = BigSnap::new_boxed();
    big.snapshot(&mut big_snap);

    let mut g = c.benchmark_group("restore");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    for k in [1, 8] {
        restore_after(&mut g, "1MiB", &small, &small_snap, k);
        restore_after(&mut g, "64MiB", &big, &big_snap, k);
    }

    // A whole machine: the 64 MiB memory behind a map.
    let ram = patterned::<16384>();
    let mut ram_snap = BigSnap::new_boxed();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", 0x1000_0000, Big::SIZE as u64, Perms::RW, &*ram)
        .unwrap();
    let mut snap = MachineSnapshot::<'_, '_, 4, 1, 1, 8>::new_sized_boxed();
    snap.add_memory(&*ram, &mut ram_snap).unwrap();
    map.snapshot(&mut snap).unwrap();
    g.bench_function("machine_64MiB/1_pages", |b| {
        b.iter_custom(|iters| {
            time_each(
                iters,
                || {
                    map.write_u8(0x1000_0000 + 12345 * PAGE as u64, 0xee)
                        .unwrap()
                },
                || {
                    let done = map.restore(black_box(&mut snap)).unwrap();
                    assert_eq!(done.shards, 1);
                },
            )
        })
    });
    g.finish();
}

fn line_cycle_1mib(c: &mut Criterion) {
    let mut g = c.benchmark_group("line_cycle_1MiB");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    for lines in [false, true] {
        let what = if lines { "lines" } else { "pages" };
        let mut mem = patterned::<256>();
        mem.set_line_tracking(lines);
        let mut snap = SmallSnap::new_boxed();
        mem.snapshot(&mut snap);
        g.bench_function(format!("shared/{what}"), |b| {
            b.iter(|| {
                for i in 0..64 {
                    mem.write_u32(nth_page(i, 256) * PAGE + 100, 0xdead_beef)
                        .unwrap();
                }
                assert_eq!(mem.restore(black_box(&snap)).unwrap(), 64);
            })
        });
        g.bench_function(format!("exclusive/{what}"), |b| {
            let mut view = mem.exclusive();
            b.iter(|| {
                for i in 0..64 {
                    view.write_u32(nth_page(i, 256) * PAGE + 100, 0xdead_beef)
                        .unwrap();
                }
                assert_eq!(view.restore(black_box(&snap)).unwrap(), 64);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, retake_64mib, restore, line_cycle_1mib);
criterion_main!(benches);
