//! Threads writing self-checking `u64` patterns at in-shard and straddling
//! addresses while others read: no torn value, no deadlock (a watchdog
//! fails the test instead of hanging). Guest atomics counted exactly.

use std::sync::Arc;
use std::thread;
use std::time::Duration;
use vm_mem::ShardedMemory;

use crate::support::harness;
use harness::with_watchdog;

type Mem = ShardedMemory<4, 64>;

/// A value whose high half is the complement of its low half: a torn read
/// (half from one write, half from another) breaks the relation.
fn checked(n: u32) -> u64 {
    (u64::from(!n) << 32) | u64::from(n)
}

fn is_whole(v: u64) -> bool {
    v == 0 || (v >> 32) as u32 == !(v as u32)
}

const ITERS: u32 = if cfg!(miri) { 30 } else { 20_000 };

#[test]
fn straddling_and_in_shard_writes_never_tear() {
    with_watchdog(
        Duration::from_secs(if cfg!(miri) { 600 } else { 60 }),
        || {
            static MEM: Mem = Mem::new();
            // 60..68 straddles shards 0/1; 8 and 128 are in-shard; 188 straddles 2/3.
            let addrs = [60usize, 8, 128, 188];
            thread::scope(|s| {
                for w in 0..2u32 {
                    s.spawn(move || {
                        for i in 0..ITERS {
                            for &a in &addrs {
                                MEM.write_u64(a, checked(i * 2 + w)).unwrap();
                            }
                            let mut b = MEM.batch();
                            b.write_u64(addrs[(i % 4) as usize], checked(i)).unwrap();
                        }
                    });
                }
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..ITERS {
                            for &a in &addrs {
                                let v = MEM.read_u64(a).unwrap();
                                assert!(is_whole(v), "torn read at {a}: {v:#x}");
                                let v = MEM.batch().read_u64(a).unwrap();
                                assert!(is_whole(v), "torn batch read at {a}: {v:#x}");
                            }
                        }
                    });
                }
            });
        },
    );
}

#[test]
fn atomics_count_exactly_in_shard_and_straddling() {
    with_watchdog(
        Duration::from_secs(if cfg!(miri) { 600 } else { 60 }),
        || {
            let mem = Arc::new(Mem::new());
            let threads = 4u64;
            let per = u64::from(ITERS / 4);
            thread::scope(|s| {
                for _ in 0..threads {
                    let mem = &mem;
                    s.spawn(move || {
                        for _ in 0..per {
                            mem.fetch_add::<u64>(16, 1).unwrap(); // in-shard
                            mem.fetch_add::<u64>(61, 1).unwrap(); // straddling
                            mem.fetch_add::<u32>(126, 1).unwrap(); // straddling u32
                                                                   // CAS loop increment.
                            let mut cur = mem.read_u32(200).unwrap();
                            loop {
                                match mem.compare_exchange::<u32>(200, cur, cur + 1).unwrap() {
                                    Ok(_) => break,
                                    Err(actual) => cur = actual,
                                }
                            }
                        }
                    });
                }
            });
            let n = threads * per;
            assert_eq!(mem.read_u64(16).unwrap(), n);
            assert_eq!(mem.read_u64(61).unwrap(), n);
            assert_eq!(u64::from(mem.read_u32(126).unwrap()), n);
            assert_eq!(u64::from(mem.read_u32(200).unwrap()), n);
        },
    );
}

#[test]
fn cas_spinlock_in_guest_memory_guards_a_critical_section() {
    with_watchdog(
        Duration::from_secs(if cfg!(miri) { 600 } else { 60 }),
        || {
            // Lock word at 62 (straddling), protected counter at 100..108 written
            // non-atomically (read, then write) inside the critical section.
            let mem = Mem::new();
            let per = ITERS / 10;
            thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| {
                        for _ in 0..per {
                            while mem.compare_exchange::<u32>(62, 0, 1).unwrap().is_err() {
                                std::hint::spin_loop();
                            }
                            let v = mem.read_u64(100).unwrap();
                            mem.write_u64(100, v + 1).unwrap();
                            assert_eq!(mem.swap::<u32>(62, 0).unwrap(), 1);
                        }
                    });
                }
            });
            assert_eq!(mem.read_u64(100).unwrap(), 3 * u64::from(per));
        },
    );
}

#[test]
fn bulk_writes_racing_typed_reads_are_atomic_per_shard() {
    with_watchdog(
        Duration::from_secs(if cfg!(miri) { 600 } else { 60 }),
        || {
            let mem = Mem::new();
            thread::scope(|s| {
                s.spawn(|| {
                    for i in 0..ITERS / 4 {
                        // Every byte of shard 1 gets the same value in one bulk write.
                        mem.fill(64, 64, i as u8).unwrap();
                        mem.write_bytes(128, &[(i as u8).wrapping_add(1); 64])
                            .unwrap();
                    }
                });
                s.spawn(|| {
                    for _ in 0..ITERS / 4 {
                        for a in [64usize, 68, 120, 128, 184] {
                            let v = mem.read_u64(a).unwrap();
                            let b = v.to_le_bytes();
                            assert!(
                                b.iter().all(|&x| x == b[0]),
                                "bulk write torn in shard: {v:#x}"
                            );
                        }
                    }
                });
            });
        },
    );
}
