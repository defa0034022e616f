//! Concurrency torture: many threads on one memory, each test bounded by
//! time (and by an iteration cap under Miri) and guarded by a watchdog that
//! fails the test instead of hanging.
//!
//! - writers store self-checking values (u16, u32, u64; LE and BE; plain
//!   writes, batch writes and atomic swaps) at aligned, unaligned and
//!   straddling addresses while readers verify them (shared, batch, bulk
//!   and snapshot reads): nothing torn;
//! - `fetch_add`, `fetch_sub`, `fetch_max` and compare-exchange loops on
//!   in-shard and straddling counters: counts exact;
//! - bulk writes (`fill`, `write_bytes` over several shards) racing typed
//!   reads: atomic per shard;
//! - `take_dirty` racing writers: no mark is ever lost;
//! - `freeze` racing writers and readers: never hangs, frozen bytes never
//!   change.
//!
//! `VM_MEM_PROPTEST_SCALE=N` runs every test N times longer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use vm_mem::{ErrorKind, ShardedMemory, Snapshot};

use crate::support::harness;
use harness::scale;

type Mem = ShardedMemory<8, 64>;

/// How long each test hammers (per unit of scale).
fn duration() -> Duration {
    Duration::from_millis(if cfg!(miri) { 0 } else { 700 }) * scale()
}

/// Iteration cap of each worker loop under Miri (elsewhere time bounds it).
const MIRI_CAP: u64 = 12;

/// A loop guard: true while under the cap and (checked every 64 rounds)
/// before the deadline.
struct Clock {
    end: Instant,
    i: u64,
}

impl Clock {
    fn new() -> Self {
        Clock {
            end: Instant::now() + duration(),
            i: 0,
        }
    }

    fn tick(&mut self) -> bool {
        self.i += 1;
        if cfg!(miri) {
            // Under Miri run the capped count, whatever the time.
            return self.i <= MIRI_CAP;
        }
        !self.i.is_multiple_of(64) || Instant::now() < self.end
    }
}

/// The watchdog, with the test's own running time added to `limit`.
fn with_watchdog(limit: Duration, f: impl FnOnce() + Send + 'static) {
    harness::with_watchdog(limit + duration() * 2, f);
}

/// Self-checking values: the high half is the complement of the low half,
/// so a value assembled from two different writes fails the check (0, the
/// initial memory, passes too).
fn make(n: u64, size: usize) -> u64 {
    let half = 4 * size as u32; // bits in a half
    let lo = n & ((1u64 << half) - 1);
    let hi = !lo & ((1u64 << half) - 1);
    (hi << half) | lo
}

fn whole(v: u64, size: usize) -> bool {
    v == 0 || make(v, size) == v
}

/// A slot: an address and a width; `be` slots are written big-endian.
#[derive(Clone, Copy, Debug)]
struct Slot {
    addr: usize,
    size: usize,
    be: bool,
}

const fn slot(addr: usize, size: usize, be: bool) -> Slot {
    Slot { addr, size, be }
}

/// Aligned, unaligned and straddling slots that do not overlap.
const SLOTS: [Slot; 14] = [
    slot(0, 8, false),   // aligned, shard 0
    slot(13, 8, false),  // unaligned in-shard
    slot(60, 8, false),  // straddles 0/1 (4 + 4)
    slot(127, 8, false), // straddles 1/2 (1 + 7)
    slot(185, 8, true),  // straddles 2/3 (7 + 1), big-endian
    slot(200, 8, true),  // in-shard big-endian
    slot(254, 4, false), // u32 straddles 3/4 (2 + 2)
    slot(301, 4, true),  // u32 unaligned in-shard, BE
    slot(319, 2, false), // u16 straddles 4/5 (1 + 1)
    slot(330, 2, true),  // u16 in-shard BE
    slot(381, 4, false), // u32 straddles 5/6 (3 + 1)
    slot(420, 8, false), // in-shard
    slot(447, 8, false), // straddles 6/7 (1 + 7)
    slot(505, 4, false), // u32 in-shard, last shard
];

fn write_slot(mem: &Mem, s: Slot, v: u64) {
    match (s.size, s.be) {
        (8, false) => mem.write_u64(s.addr, v),
        (8, true) => mem.write_u64_be(s.addr, v),
        (4, false) => mem.write_u32(s.addr, v as u32),
        (4, true) => mem.write_u32_be(s.addr, v as u32),
        (2, false) => mem.write_u16(s.addr, v as u16),
        _ => mem.write_u16_be(s.addr, v as u16),
    }
    .unwrap();
}

/// Reads a slot in its own byte order (LE bytes swapped for BE slots).
fn read_slot(mem: &Mem, s: Slot) -> u64 {
    let v = match s.size {
        8 => mem.read_u64(s.addr).unwrap(),
        4 => u64::from(mem.read_u32(s.addr).unwrap()),
        _ => u64::from(mem.read_u16(s.addr).unwrap()),
    };
    if s.be {
        v.swap_bytes() >> (64 - 8 * s.size)
    } else {
        v
    }
}

fn read_slot_be_named(mem: &Mem, s: Slot) -> u64 {
    match s.size {
        8 => mem.read_u64_be(s.addr).unwrap(),
        4 => u64::from(mem.read_u32_be(s.addr).unwrap()),
        _ => u64::from(mem.read_u16_be(s.addr).unwrap()),
    }
}

fn batch_read_slot(b: &mut vm_mem::Batch<'_, 8, 64>, s: Slot) -> u64 {
    let v = match (s.size, s.be) {
        (8, false) => b.read_u64(s.addr),
        (8, true) => b.read_u64_be(s.addr),
        (4, false) => b.read_u32(s.addr).map(u64::from),
        (4, true) => b.read_u32_be(s.addr).map(u64::from),
        (2, false) => b.read_u16(s.addr).map(u64::from),
        _ => b.read_u16_be(s.addr).map(u64::from),
    };
    v.unwrap()
}

#[test]
fn self_checking_values_never_tear() {
    with_watchdog(Duration::from_secs(60), || {
        let mem = Mem::new();
        let mem = &mem;
        let reads = AtomicU64::new(0);
        thread::scope(|s| {
            // Plain writers, one batch writer, one atomic-swap writer.
            for w in 0..2u64 {
                s.spawn(move || {
                    let mut c = Clock::new();
                    let mut n = w;
                    while c.tick() {
                        for slot in SLOTS {
                            write_slot(mem, slot, make(n, slot.size));
                            n += 2;
                        }
                    }
                });
            }
            s.spawn(move || {
                let mut c = Clock::new();
                let mut n = 1u64 << 20;
                while c.tick() {
                    let mut b = mem.batch();
                    for slot in SLOTS.iter().filter(|s| s.size == 8 && !s.be) {
                        b.write_u64(slot.addr, make(n, 8)).unwrap();
                        n += 1;
                    }
                }
            });
            s.spawn(move || {
                let mut c = Clock::new();
                let mut n = 1u64 << 30;
                while c.tick() {
                    for slot in SLOTS.iter().filter(|s| !s.be) {
                        let old = match slot.size {
                            8 => mem.swap::<u64>(slot.addr, make(n, 8)).unwrap(),
                            4 => u64::from(mem.swap::<u32>(slot.addr, make(n, 4) as u32).unwrap()),
                            _ => u64::from(mem.swap::<u16>(slot.addr, make(n, 2) as u16).unwrap()),
                        };
                        assert!(whole(old, slot.size), "torn swap old {old:#x} at {slot:?}");
                        n += 1;
                    }
                }
            });
            // Readers: shared (LE and BE names), batch, bulk (in-shard slots).
            for r in 0..2 {
                let reads = &reads;
                s.spawn(move || {
                    let mut c = Clock::new();
                    while c.tick() {
                        for slot in SLOTS {
                            let v = read_slot(mem, slot);
                            assert!(whole(v, slot.size), "torn read {v:#x} at {slot:?}");
                            if slot.be {
                                let v = read_slot_be_named(mem, slot);
                                assert!(whole(v, slot.size), "torn BE read {v:#x} at {slot:?}");
                            }
                        }
                        let mut b = mem.batch();
                        for slot in SLOTS.iter().rev() {
                            let v = batch_read_slot(&mut b, *slot);
                            assert!(whole(v, slot.size), "torn batch read {v:#x} at {slot:?}");
                        }
                        drop(b);
                        if r == 0 {
                            for slot in SLOTS
                                .iter()
                                .filter(|s| s.addr / 64 == (s.addr + s.size - 1) / 64)
                            {
                                let mut buf = [0u8; 8];
                                mem.read_bytes(slot.addr, &mut buf[..slot.size]).unwrap();
                                let v = u64::from_le_bytes(buf);
                                let v = if slot.be {
                                    v.swap_bytes() >> (64 - 8 * slot.size)
                                } else {
                                    v
                                };
                                assert!(whole(v, slot.size), "torn bulk read {v:#x} at {slot:?}");
                            }
                        }
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            // Snapshots: every in-shard slot whole in the copy.
            s.spawn(move || {
                let mut snap = Snapshot::<8, 64>::new_boxed();
                let mut c = Clock::new();
                while c.tick() {
                    mem.snapshot(&mut snap);
                    for slot in SLOTS
                        .iter()
                        .filter(|s| s.addr / 64 == (s.addr + s.size - 1) / 64)
                    {
                        let shard = snap.shard(slot.addr / 64).unwrap();
                        let off = slot.addr % 64;
                        let mut buf = [0u8; 8];
                        buf[..slot.size].copy_from_slice(&shard[off..off + slot.size]);
                        let v = u64::from_le_bytes(buf);
                        let v = if slot.be {
                            v.swap_bytes() >> (64 - 8 * slot.size)
                        } else {
                            v
                        };
                        assert!(
                            whole(v, slot.size),
                            "torn value in snapshot {v:#x} at {slot:?}"
                        );
                    }
                    if cfg!(not(miri)) {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            });
        });
        assert!(reads.into_inner() > 0);
    });
}

#[test]
fn counters_are_exact() {
    with_watchdog(Duration::from_secs(60), || {
        let mem = Mem::new();
        let mem = &mem;
        let total = AtomicU64::new(0);
        let threads = 4u64;
        thread::scope(|s| {
            for t in 0..threads {
                let total = &total;
                s.spawn(move || {
                    let mut c = Clock::new();
                    let mut n = 0u64;
                    while c.tick() {
                        mem.fetch_add::<u64>(16, 1).unwrap(); // in-shard, aligned
                        mem.fetch_add::<u64>(61, 1).unwrap(); // straddles 0/1
                        mem.fetch_add::<u32>(126, 1).unwrap(); // straddles 1/2
                        mem.fetch_add::<u16>(191, 1).unwrap(); // straddles 2/3, wraps
                        mem.fetch_sub::<u64>(300, 3).unwrap(); // in-shard, below zero
                        mem.fetch_add::<u8>(400, 1).unwrap(); // wraps every 256
                        mem.fetch_max::<u64>(445, t * 1_000_000 + n).unwrap(); // straddles 6/7
                                                                               // Compare-exchange increment loops, in-shard and straddling.
                        for addr in [200usize, 254] {
                            let mut cur = mem.read_u32(addr).unwrap();
                            loop {
                                match mem
                                    .compare_exchange::<u32>(addr, cur, cur.wrapping_add(1))
                                    .unwrap()
                                {
                                    Ok(old) => {
                                        assert_eq!(old, cur);
                                        break;
                                    }
                                    Err(actual) => cur = actual,
                                }
                            }
                        }
                        // A 64-bit CAS loop doing a non-trivial update.
                        let mut cur = mem.read_u64(507 - 8).unwrap();
                        while let Err(actual) = mem
                            .compare_exchange::<u64>(
                                507 - 8,
                                cur,
                                cur.wrapping_mul(3).wrapping_add(1) | 1 << 63,
                            )
                            .unwrap()
                        {
                            cur = actual;
                        }
                        n += 1;
                    }
                    total.fetch_add(n, Ordering::Relaxed);
                    n
                });
            }
        });
        let n = total.into_inner();
        assert!(n > 0);
        assert_eq!(mem.read_u64(16).unwrap(), n);
        assert_eq!(mem.read_u64(61).unwrap(), n);
        assert_eq!(u64::from(mem.read_u32(126).unwrap()), n);
        assert_eq!(u64::from(mem.read_u16(191).unwrap()), n % (1 << 16));
        assert_eq!(mem.read_u64(300).unwrap(), 0u64.wrapping_sub(3 * n));
        assert_eq!(u64::from(mem.read_u8(400).unwrap()), n % 256);
        assert_eq!(u64::from(mem.read_u32(200).unwrap()), n);
        assert_eq!(u64::from(mem.read_u32(254).unwrap()), n);
        assert!(mem.read_u64(445).unwrap() >= (threads - 1) * 1_000_000);
        assert_eq!(mem.read_u64(507 - 8).unwrap() >> 63, 1);
        eprintln!("torture counters: {n} rounds of 10 atomics");
    });
}

/// Whether the bytes that lie in each shard are all equal (a bulk write is
/// atomic per shard, so a read may see two fills, split at the boundary).
fn uniform_per_shard(addr: usize, bytes: &[u8]) -> bool {
    let shard = |i: usize| (addr + i) / 64;
    (0..bytes.len()).all(|i| {
        let first = (0..bytes.len())
            .find(|&j| shard(j) == shard(i))
            .unwrap_or(i);
        bytes[i] == bytes[first]
    })
}

#[test]
fn bulk_writes_racing_typed_reads_are_atomic_per_shard() {
    with_watchdog(Duration::from_secs(60), || {
        let mem = Mem::new();
        let mem = &mem;
        thread::scope(|s| {
            // Shards 1..=3 by `fill`, shards 4..=6 by one `write_bytes`.
            s.spawn(move || {
                let mut c = Clock::new();
                let mut i = 0u8;
                while c.tick() {
                    mem.fill(64, 192, i).unwrap();
                    i = i.wrapping_add(1);
                }
            });
            s.spawn(move || {
                let mut c = Clock::new();
                let mut i = 0u8;
                while c.tick() {
                    let mut buf = [0u8; 192];
                    buf.iter_mut()
                        .enumerate()
                        .for_each(|(k, b)| *b = i.wrapping_add((k / 64) as u8 * 85));
                    mem.write_bytes(256, &buf).unwrap();
                    i = i.wrapping_add(1);
                }
            });
            for r in 0..2 {
                s.spawn(move || {
                    let mut c = Clock::new();
                    let addrs = [
                        64usize, 67, 121, 125, 127, 190, 200, 256, 263, 313, 318, 383, 440,
                    ];
                    while c.tick() {
                        for &a in &addrs {
                            for size in [2usize, 4, 8] {
                                let v = match size {
                                    8 => mem.read_u64(a).unwrap(),
                                    4 => u64::from(mem.read_u32(a).unwrap()),
                                    _ => u64::from(mem.read_u16(a).unwrap()),
                                };
                                let b = &v.to_le_bytes()[..size];
                                assert!(
                                    uniform_per_shard(a, b),
                                    "bulk write torn in a shard: {a}: {b:x?}"
                                );
                            }
                        }
                        if r == 1 {
                            let mut b = mem.batch();
                            for &a in &addrs {
                                let v = b.read_u64(a).unwrap().to_le_bytes();
                                assert!(uniform_per_shard(a, &v), "batch: torn at {a}: {v:x?}");
                            }
                            drop(b);
                            let mut shard = [0u8; 64];
                            mem.read_bytes(320, &mut shard).unwrap();
                            assert!(
                                shard.iter().all(|&x| x == shard[0]),
                                "bulk read of a shard torn"
                            );
                        }
                    }
                });
            }
        });
    });
}

#[test]
fn dirty_marks_are_never_lost() {
    // Each writer owns one shard: clears its flag, writes, then waits until
    // the collector's `take_dirty` has reported the shard. A lost mark
    // would leave the writer waiting: the watchdog fails the test.
    with_watchdog(Duration::from_secs(60), || {
        let mem = Mem::new();
        let mem = &mem;
        let seen: [AtomicBool; 8] = std::array::from_fn(|_| AtomicBool::new(false));
        let seen = &seen;
        let stop = AtomicBool::new(false);
        let stop = &stop;
        thread::scope(|s| {
            let writers: Vec<_> = [1usize, 4, 7]
                .into_iter()
                .map(|shard| {
                    s.spawn(move || {
                        let mut c = Clock::new();
                        let mut n = 0u64;
                        while c.tick() {
                            seen[shard].store(false, Ordering::SeqCst);
                            match n % 3 {
                                0 => mem.write_u64(shard * 64 + 8, n).unwrap(),
                                1 => drop(mem.fetch_add::<u32>(shard * 64 + 20, 1).unwrap()),
                                _ => mem.fill(shard * 64, 4, n as u8).unwrap(),
                            }
                            while !seen[shard].load(Ordering::SeqCst) {
                                std::hint::spin_loop();
                                thread::yield_now();
                            }
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            s.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    for shard in mem.take_dirty() {
                        seen[shard].store(true, Ordering::SeqCst);
                    }
                    thread::yield_now();
                }
            });
            let n: u64 = writers.into_iter().map(|h| h.join().unwrap()).sum();
            stop.store(true, Ordering::SeqCst);
            assert!(n > 0);
        });
    });
}

#[test]
fn freeze_racing_writers_and_readers_never_hangs_and_freezes_for_good() {
    with_watchdog(Duration::from_secs(60), || {
        let mem = Mem::new();
        let mem = &mem;
        thread::scope(|s| {
            for t in 0..3usize {
                s.spawn(move || {
                    let mut n = 0u64;
                    loop {
                        let r = match t {
                            0 => mem.write_u64(60, make(n, 8)),
                            1 => mem.fetch_add::<u64>(8, 1).map(drop),
                            _ => mem.batch().write_u64(130, make(n, 8)),
                        };
                        match r {
                            Ok(()) => n += 1,
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::ReadOnly);
                                break;
                            }
                        }
                    }
                });
            }
            s.spawn(move || {
                while !mem.is_frozen() {
                    assert!(whole(mem.read_u64(60).unwrap(), 8));
                    std::hint::spin_loop();
                }
            });
            thread::sleep(duration() / 4);
            let rom = mem.freeze();
            let (a, b, c) = (
                rom.read_u64(60).unwrap(),
                rom.read_u64(8).unwrap(),
                rom.read_u64(130).unwrap(),
            );
            assert!(whole(a, 8) && whole(c, 8));
            for _ in 0..if cfg!(miri) { 3 } else { 1000 } {
                assert_eq!(rom.read_u64(60).unwrap(), a);
                assert_eq!(mem.read_u64(8).unwrap(), b);
                assert_eq!(mem.batch().read_u64(130).unwrap(), c);
            }
        });
    });
}

#[test]
fn freeze_refuses_a_batch_that_holds_a_write_guard() {
    with_watchdog(Duration::from_secs(5), || {
        let mem = Mem::new();
        let mem = &mem;
        let started = AtomicBool::new(false);
        let started = &started;
        thread::scope(|s| {
            s.spawn(move || {
                let mut b = mem.batch();
                let mut n = 0u64;
                // An interpreter loop storing to one page until a fault.
                while b.write_u64(0, n).is_ok() {
                    started.store(true, Ordering::SeqCst);
                    n += 1;
                }
            });
            while !started.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            let _rom = mem.freeze(); // never returns today
        });
    });
}
