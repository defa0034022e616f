//! Snapshot restore, with 4096 shards of 4 KiB (16 MiB), against its two
//! baselines (issue 5):
//!
//! - group `restore_cost`: restore after 1 dirty shard against restore after
//!   all 4096 shards were written (target: 1 dirty ≤ 2% of all dirty), for
//!   the shared memory and the exclusive view. Each iteration first writes
//!   one byte into each shard to dirty (untimed, with `iter_custom`), then
//!   times the restore alone.
//! - group `restore_throughput`: a full restore (every shard copied, no
//!   setup: two snapshots restored in turn, so each restore is a
//!   non-baseline, full copy) against `copy_from_slice` of the same 16 MiB
//!   between two heap buffers (target: restore ≥ 0.8x memcpy throughput);
//!   taking a snapshot is measured beside them.
//!
//! - group `machine_restore` (issue 18): a whole machine (1 MiB of RAM in
//!   256 shards of 4 KiB, a UART and a timer with state, behind a map)
//!   restored with `MemoryMap::restore` after a run that wrote 6 shards
//!   and touched both devices, against the memory-only restore of the
//!   same 6 shards (target: machine ≥ 70% of the memory-only restores per
//!   second); and both after a run that changed nothing (target: machine
//!   ≤ 1 µs). The run is untimed (`iter_custom`); the restore alone is.
//!   Beside them (issue 25) the same machine through an `OwnerMap` (its
//!   memory lent to it, copied with plain copies): `owner/...` (target: at
//!   least as fast as `machine/...`; idle ≤ 1 µs).
//!
//! Run: `cargo bench --bench snapshot` (add `-- --quick` for a rough look,
//! `-- machine_restore` for one group).
//! The ratios are the quotients of the reported times (same bytes in the
//! throughput group, so the MiB/s columns compare directly).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vm_mem::{
    DeviceState, MachineSnapshot, MemoryMap, MmioDevice, OwnerMap, Perms, ShardedMemory, Snapshot,
    VmError,
};

const SHARDS: usize = 4096;
const SHARD_SIZE: usize = 4096;
type Mem = ShardedMemory<SHARDS, SHARD_SIZE>;
type Snap = Snapshot<SHARDS, SHARD_SIZE>;
const SIZE: usize = Mem::SIZE;

/// A boxed 16 MiB memory holding a non-zero pattern (so every page is
/// really backed, not the shared zero page), and a snapshot of it.
fn memory_and_snapshot() -> (Box<Mem>, Box<Snap>) {
    let mem = Mem::new_boxed();
    for shard in 0..SHARDS {
        mem.fill(shard * SHARD_SIZE, SHARD_SIZE, shard as u8 | 1)
            .unwrap();
    }
    let mut snap = Snap::new_boxed();
    mem.snapshot(&mut snap);
    (mem, snap)
}

/// The shard index of the `i`-th shard to dirty, spread over the memory
/// (2477 is prime, so the first 4096 are all distinct).
fn nth_shard(i: usize) -> usize {
    (i * 2477 + 1234) % SHARDS
}

/// Times `iters` restores, each after `k` shards were dirtied by `write`
/// (untimed). `restore` returns how many shards it copied.
fn time_restores(
    iters: u64,
    k: usize,
    mut write: impl FnMut(usize),
    mut restore: impl FnMut() -> usize,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        for i in 0..k {
            write(nth_shard(i) * SHARD_SIZE + 8);
        }
        let t = Instant::now();
        let copied = black_box(restore());
        total += t.elapsed();
        assert_eq!(copied, k);
    }
    total
}

fn restore_cost(c: &mut Criterion) {
    let (mut mem, snap) = memory_and_snapshot();
    let mut g = c.benchmark_group("restore_cost");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    for k in [1, SHARDS] {
        g.bench_function(format!("shared/{k}_dirty"), |b| {
            b.iter_custom(|iters| {
                time_restores(
                    iters,
                    k,
                    |addr| mem.write_u8(addr, 0xee).unwrap(),
                    || mem.restore(black_box(&snap)).unwrap(),
                )
            })
        });
    }
    for k in [1, SHARDS] {
        g.bench_function(format!("exclusive/{k}_dirty"), |b| {
            b.iter_custom(|iters| {
                // Both closures need the view, one at a time: a `RefCell`
                // (its flag check is noise next to a 4 KiB copy).
                let view = core::cell::RefCell::new(mem.exclusive());
                time_restores(
                    iters,
                    k,
                    |addr| view.borrow_mut().write_u8(addr, 0xee).unwrap(),
                    || view.borrow_mut().restore(black_box(&snap)).unwrap(),
                )
            })
        });
    }
    g.finish();
}

fn restore_throughput(c: &mut Criterion) {
    let (mut mem, snap_a) = memory_and_snapshot();
    let mut snap_b = Snap::new_boxed();
    mem.write_u64(0, 1).unwrap();
    mem.snapshot(&mut snap_b);
    // Baseline buffers, written once so both are backed by real pages.
    let src: Vec<u8> = (0..SIZE).map(|i| (i >> 12) as u8 | 1).collect();
    let mut dst = vec![0u8; SIZE];
    dst.copy_from_slice(&src);

    let mut g = c.benchmark_group("restore_throughput");
    g.throughput(Throughput::Bytes(SIZE as u64))
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    g.bench_function("memcpy_16MiB", |b| {
        b.iter(|| black_box(&mut dst[..]).copy_from_slice(black_box(&src[..])))
    });
    // Restoring a snapshot that is not the baseline copies every shard; the
    // restored one becomes the baseline, so alternating keeps every restore
    // a full copy.
    let mut flip = false;
    g.bench_function("restore_full/shared", |b| {
        b.iter(|| {
            flip = !flip;
            let snap = if flip { &snap_a } else { &snap_b };
            assert_eq!(mem.restore(black_box(snap)).unwrap(), SHARDS);
        })
    });
    g.bench_function("restore_full/exclusive", |b| {
        let mut view = mem.exclusive();
        b.iter(|| {
            flip = !flip;
            let snap = if flip { &snap_a } else { &snap_b };
            assert_eq!(view.restore(black_box(snap)).unwrap(), SHARDS);
        })
    });
    g.bench_function("snapshot/shared", |b| {
        b.iter(|| mem.snapshot(black_box(&mut snap_b)))
    });
    g.finish();
}

/// A register with snapshot support: one `u64` and a changed flag.
#[derive(Default)]
struct Reg {
    value: AtomicU64,
    dirty: AtomicBool,
}

impl MmioDevice for Reg {
    fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
        Ok(self.value.load(Ordering::Relaxed))
    }
    fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
        self.value.store(v, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }
    fn state(&self) -> Option<&dyn DeviceState> {
        Some(self)
    }
}

impl DeviceState for Reg {
    fn state_len(&self) -> usize {
        8
    }
    fn save(&self, out: &mut [u8]) -> usize {
        out[..8].copy_from_slice(&self.value.load(Ordering::Relaxed).to_le_bytes());
        8
    }
    fn restore(&self, from: &[u8]) {
        let v = u64::from_le_bytes(from[..8].try_into().unwrap_or([0; 8]));
        self.value.store(v, Ordering::Relaxed);
        self.dirty.store(false, Ordering::Relaxed);
    }
    fn changed(&self) -> bool {
        self.dirty.load(Ordering::Relaxed)
    }
    fn mark_clean(&self) {
        self.dirty.store(false, Ordering::Relaxed);
    }
}

/// 1 MiB of RAM in 256 shards of 4 KiB.
type Ram = ShardedMemory<256, 4096>;
const RAM_BASE: u64 = 0x2000_0000;

/// Times `iters` restores, each after a run of `shards` one-byte writes to
/// distinct shards and `devices` device writes (untimed).
fn time_runs(
    iters: u64,
    shards: usize,
    mut write: impl FnMut(u64),
    mut touch: impl FnMut(),
    mut restore: impl FnMut() -> usize,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        for i in 0..shards {
            write(((i * 37 + 5) % 256 * 4096 + 8) as u64);
        }
        touch();
        let t = Instant::now();
        let copied = black_box(restore());
        total += t.elapsed();
        assert_eq!(copied, shards);
    }
    total
}

fn machine_restore(c: &mut Criterion) {
    // Memory only: the baseline.
    let mem = Ram::new_boxed();
    let mut mem_snap = Snapshot::new_boxed();
    mem.snapshot(&mut mem_snap);
    // The machine: the same RAM geometry behind a map, two devices.
    let ram = Ram::new_boxed();
    let (uart, timer) = (Reg::default(), Reg::default());
    let map: MemoryMap<'_, 8> = MemoryMap::new();
    map.add_ram("ram", RAM_BASE, Ram::SIZE as u64, Perms::RW, &*ram)
        .unwrap();
    map.add_mmio("uart", 0x4000_0000, 8, Perms::RW, &uart)
        .unwrap();
    map.add_mmio("timer", 0x4000_1000, 8, Perms::RW, &timer)
        .unwrap();
    let mut ram_snap = Snapshot::new_boxed();
    let mut snap = MachineSnapshot::<'_, '_, 8, 1, 4, 64>::new_sized_boxed();
    snap.add_memory(&ram, &mut ram_snap).unwrap();
    map.snapshot(&mut snap).unwrap();

    let mut g = c.benchmark_group("machine_restore");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    g.bench_function("memory_only/6_shards", |b| {
        b.iter_custom(|iters| {
            time_runs(
                iters,
                6,
                |off| mem.write_u8(off as usize, 0xee).unwrap(),
                || {},
                || mem.restore(black_box(&mem_snap)).unwrap(),
            )
        })
    });
    g.bench_function("machine/6_shards_2_devices", |b| {
        b.iter_custom(|iters| {
            time_runs(
                iters,
                6,
                |off| map.write_u8(RAM_BASE + off, 0xee).unwrap(),
                || {
                    map.write_u32(0x4000_0000, 1).unwrap();
                    map.write_u64(0x4000_1000, 2).unwrap();
                },
                || {
                    let done = map.restore(black_box(&mut snap)).unwrap();
                    assert_eq!(done.devices, 2);
                    done.shards
                },
            )
        })
    });
    g.bench_function("memory_only/idle", |b| {
        b.iter(|| assert_eq!(mem.restore(black_box(&mem_snap)).unwrap(), 0))
    });
    g.bench_function("machine/idle", |b| {
        b.iter(|| {
            let done = map.restore(black_box(&mut snap)).unwrap();
            assert_eq!((done.table, done.shards, done.devices), (false, 0, 0));
        })
    });

    // The same machine through an owner map (issue 25): its memory lent to
    // it, restored with plain copies.
    let mut owned = Ram::new_boxed();
    let (uart2, timer2) = (Reg::default(), Reg::default());
    let owner: OwnerMap<'_, 8> = OwnerMap::new();
    owner
        .add_ram("ram", RAM_BASE, Ram::SIZE as u64, Perms::RW, &mut owned)
        .unwrap();
    owner
        .add_mmio("uart", 0x4000_0000, 8, Perms::RW, &uart2)
        .unwrap();
    owner
        .add_mmio("timer", 0x4000_1000, 8, Perms::RW, &timer2)
        .unwrap();
    let mut owned_snap = Snapshot::<256, 4096>::new_boxed();
    let mut osnap = MachineSnapshot::<'_, '_, 8, 1, 4, 64>::new_sized_boxed();
    osnap.add_memory_of("ram", &mut owned_snap).unwrap();
    owner.snapshot(&mut osnap).unwrap();
    g.bench_function("owner/6_shards_2_devices", |b| {
        b.iter_custom(|iters| {
            time_runs(
                iters,
                6,
                |off| owner.write_u8(RAM_BASE + off, 0xee).unwrap(),
                || {
                    owner.write_u32(0x4000_0000, 1).unwrap();
                    owner.write_u64(0x4000_1000, 2).unwrap();
                },
                || {
                    let done = owner.restore(black_box(&mut osnap)).unwrap();
                    assert_eq!(done.devices, 2);
                    done.shards
                },
            )
        })
    });
    g.bench_function("owner/idle", |b| {
        b.iter(|| {
            let done = owner.restore(black_box(&mut osnap)).unwrap();
            assert_eq!((done.table, done.shards, done.devices), (false, 0, 0));
        })
    });
    g.finish();
}

criterion_group!(benches, restore_cost, restore_throughput, machine_restore);
criterion_main!(benches);
