//! The summary of changed shards under racing writers (issue 27): a write
//! racing a restore or a re-taken snapshot is either undone or copied by
//! it, or left noted for the next one; never lost. After the writers
//! stop, one more restore brings every byte back, and one more re-take
//! holds every byte written, with line tracking on and off. (If a writer
//! published its summary bit without the `Release` on the top word, or a
//! drain cleared a word it had not read, a shard could keep its "changed"
//! mark with no summary bit: the last restore would miss it.)

use std::sync::atomic::{AtomicBool, Ordering};
use vm_mem::{ShardedMemory, Snapshot};

/// 48 shards of 256 bytes: 3 summary words, 4 lines a shard.
type Mem = ShardedMemory<48, 256>;
type Snap = Snapshot<48, 256>;

/// Writes each writer makes (Miri interprets: few).
const WRITES: usize = if cfg!(miri) { 40 } else { 20_000 };

/// A writer's next address and value, from its own LCG.
fn next(state: &mut u64) -> (usize, u32) {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let addr = ((*state >> 33) as usize % (Mem::SIZE - 8)) & !3;
    (addr, (*state >> 8) as u32 | 1)
}

fn bytes_of(mem: &Mem) -> Vec<u8> {
    let mut b = vec![0; Mem::SIZE];
    mem.read_bytes(0, &mut b).unwrap();
    b
}

/// Two writers against a thread that restores (or re-takes) in a loop.
fn race(lines: bool, retake: bool) {
    let mem = Mem::new();
    mem.set_line_tracking(lines);
    mem.fill(0, Mem::SIZE, 0x5a).unwrap();
    let mut snap = Snap::new();
    mem.snapshot(&mut snap);
    let want = bytes_of(&mem);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let mem = &mem;
                s.spawn(move || {
                    let mut state = w * 7919 + 1;
                    for k in 0..WRITES {
                        let (addr, v) = next(&mut state);
                        if k % 3 == 0 {
                            mem.write_bytes(addr, &v.to_le_bytes()).unwrap();
                        } else {
                            mem.write_u32(addr, v).unwrap();
                        }
                    }
                })
            })
            .collect();
        let snap = &mut snap;
        let (mem, done) = (&mem, &done);
        let copier = s.spawn(move || {
            while !done.load(Ordering::Acquire) {
                if retake {
                    mem.snapshot(snap);
                } else {
                    mem.restore(snap).unwrap();
                }
                std::thread::yield_now();
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        copier.join().unwrap();
    });
    if retake {
        // Every byte written since the last re-take is copied now.
        mem.snapshot(&mut snap);
        let now = bytes_of(&mem);
        mem.fill(0, Mem::SIZE, 0).unwrap();
        mem.restore(&snap).unwrap();
        assert_eq!(
            bytes_of(&mem),
            now,
            "lines {lines}: a re-take missed a write"
        );
    } else {
        mem.restore(&snap).unwrap();
        assert_eq!(
            bytes_of(&mem),
            want,
            "lines {lines}: a restore missed a shard"
        );
    }
}

#[test]
fn racing_writes_are_never_lost_by_restore() {
    race(false, false);
    race(true, false);
}

#[test]
fn racing_writes_are_never_lost_by_a_retaken_snapshot() {
    race(false, true);
    race(true, true);
}
