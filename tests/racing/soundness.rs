//! Regression tests of issue 14 (soundness), racing threads natively and
//! under Miri (`-Zmiri-many-seeds`, see `.ci/steps/40-miri.sh`):
//! - the exclusive view lends a shared handle only through `&mut self`, so
//!   threads may use it while the view waits (the pattern that compiles; the
//!   one that raced is a `compile_fail` doctest in `src/exclusive.rs`);
//! - two snapshots racing a writer each restore exactly their own bytes;
//! - a restore racing `freeze` copies all or nothing;
//! - a frozen memory's lock-free reader never races a writer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use vm_mem::{ErrorKind, ShardedMemory, Snapshot};

use crate::support;

const SHARDS: usize = 4;
const N: usize = 64;
type Mem = ShardedMemory<SHARDS, N>;
type Snap = Snapshot<SHARDS, N>;

/// Rounds of each racing test: Miri explores interleavings over many seeds
/// instead of many rounds.
const ROUNDS: usize = if cfg!(miri) { 4 } else { 300 };

/// The whole memory as bytes.
fn bytes(mem: &Mem) -> Vec<u8> {
    let mut v = vec![0; Mem::SIZE];
    mem.read_bytes(0, &mut v).unwrap();
    v
}

/// The snapshot's bytes, shard after shard.
fn snap_bytes(snap: &Snap) -> Vec<u8> {
    (0..SHARDS).flat_map(|i| *snap.shard(i).unwrap()).collect()
}

#[test]
fn exclusive_view_lends_its_memory_to_threads_only_while_it_waits() {
    let mut mem = Mem::new();
    let mut view = mem.exclusive();
    view.write_u64(N - 4, 1).unwrap(); // straddles shards 0 and 1
    let shared = view.memory(); // borrows `view` mutably until the scope ends
    thread::scope(|s| {
        s.spawn(|| {
            for i in 2..6u64 {
                shared.write_u64(N - 4, i).unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..4 {
                let v = shared.read_u64(N - 4).unwrap();
                assert!((1..6).contains(&v), "torn: {v:#x}");
            }
        });
    });
    // The shared borrow has ended: the view reads with plain loads again.
    assert_eq!(view.read_u64(N - 4).unwrap(), 5);
    assert!(view.memory().is_dirty(0) && view.memory().is_dirty(1));
}

#[test]
fn two_snapshots_racing_a_writer_each_restore_their_own_bytes() {
    support::harness::with_watchdog(std::time::Duration::from_secs(60), || {
        let mem = Mem::new();
        let (mut a, mut b) = (Snap::new(), Snap::new());
        for round in 0..ROUNDS {
            let stop = AtomicBool::new(false);
            let finished = AtomicUsize::new(0);
            let a_last = thread::scope(|s| {
                // The writer: every shard, over and over, values that change.
                s.spawn(|| {
                    let mut i = 1u64;
                    while !stop.load(Ordering::Relaxed) || i < 2 * SHARDS as u64 {
                        let shard = (i as usize) % SHARDS;
                        mem.write_u64(shard * N + 8, i).unwrap();
                        i += 1;
                    }
                });
                let ta = s.spawn(|| {
                    mem.snapshot(&mut a);
                    finished.fetch_add(1, Ordering::SeqCst)
                });
                let tb = s.spawn(|| {
                    mem.snapshot(&mut b);
                    finished.fetch_add(1, Ordering::SeqCst)
                });
                let (ra, rb) = (ta.join().unwrap(), tb.join().unwrap());
                stop.store(true, Ordering::Relaxed);
                ra > rb
            });
            // The one that finished last is (almost always) the baseline:
            // restore it first, incrementally. It must still give back
            // exactly its own bytes.
            let (first, second) = if a_last { (&a, &b) } else { (&b, &a) };
            mem.restore(first).unwrap();
            assert_eq!(
                bytes(&mem),
                snap_bytes(first),
                "round {round}: baseline restore"
            );
            mem.restore(second).unwrap();
            assert_eq!(
                bytes(&mem),
                snap_bytes(second),
                "round {round}: second restore"
            );
            // And once more each, now incremental from a known baseline.
            mem.write_u64(8, u64::MAX).unwrap();
            mem.restore(second).unwrap();
            assert_eq!(
                bytes(&mem),
                snap_bytes(second),
                "round {round}: incremental"
            );
        }
    });
}

#[test]
fn restore_racing_freeze_copies_all_or_nothing() {
    // Many small shards: a long restore, so a freeze often starts during it.
    const S: usize = if cfg!(miri) { 8 } else { 256 };
    type Big = ShardedMemory<S, 8>;
    for round in 0..ROUNDS {
        let mem = Big::new();
        mem.fill(0, Big::SIZE, 0xaa).unwrap();
        let mut snap = Snapshot::<S, 8>::new();
        mem.snapshot(&mut snap);
        mem.fill(0, Big::SIZE, 0x55).unwrap(); // every shard changed
        let restored = thread::scope(|s| {
            let r = s.spawn(|| mem.restore(&snap));
            s.spawn(|| {
                // Freeze once the restore has copied its first shard (it
                // copies every shard, the first first).
                while mem.read_u8(0).unwrap() != 0xaa {
                    std::hint::spin_loop();
                }
                let _ = mem.freeze();
            });
            r.join().unwrap()
        });
        let mut all = vec![0; Big::SIZE];
        mem.read_bytes(0, &mut all).unwrap();
        match restored {
            Ok(n) => {
                assert_eq!(n, S, "round {round}");
                assert!(
                    all.iter().all(|&x| x == 0xaa),
                    "round {round}: partial restore"
                );
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ReadOnly, "round {round}");
                assert!(
                    all.iter().all(|&x| x == 0x55),
                    "round {round}: ReadOnly after copying"
                );
            }
        }
        assert!(mem.is_frozen());
        // Restored shards stay in the user's dirty log; a refused restore
        // leaves it as the fill left it: every shard dirty either way.
        assert!(mem.dirty_shards().eq(0..S));
    }
}

#[test]
fn frozen_reader_races_refused_writers() {
    let mem = Mem::new();
    mem.write_u64(N - 4, 0x0102_0304_0506_0708).unwrap();
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..if cfg!(miri) { 4 } else { 1000 } {
                // Before the freeze a write lands; after it, it is refused.
                match mem.write_u64(N - 4, 0x0102_0304_0506_0708) {
                    Ok(()) => {}
                    Err(e) => assert_eq!(e.kind(), ErrorKind::ReadOnly),
                }
            }
        });
        let rom = mem.freeze();
        for _ in 0..4 {
            assert_eq!(rom.read_u64(N - 4).unwrap(), 0x0102_0304_0506_0708);
        }
    });
}
