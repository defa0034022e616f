//! Lock-free shared reads racing writers: aligned (one word), word-spanning
//! and shard-straddling addresses. Under Miri (run with several
//! `-Zmiri-many-seeds`) this is the proof that the optimistic path is free
//! of data races; natively it is a torture test with a writer storm.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use vm_mem::ShardedMemory;

type Mem = ShardedMemory<4, 64>;

/// High half the complement of the low half: a torn read breaks it.
fn checked(n: u32) -> u64 {
    (u64::from(!n) << 32) | u64::from(n)
}

fn is_whole(v: u64) -> bool {
    v == 0 || (v >> 32) as u32 == !(v as u32)
}

/// u16 whose high byte is the complement of the low byte.
fn checked16(n: u8) -> u16 {
    (u16::from(!n) << 8) | u16::from(n)
}

fn is_whole16(v: u16) -> bool {
    v == 0 || (v >> 8) as u8 == !(v as u8)
}

const ITERS: u32 = if cfg!(miri) { 12 } else { 50_000 };

/// Aligned (8), word-spanning (20: words 2 and 3), shard-straddling (60).
const ADDRS: [usize; 3] = [8, 20, 60];

#[test]
fn optimistic_reads_never_tear_and_never_race() {
    let mem = Mem::new();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=ITERS {
                for a in ADDRS {
                    mem.write_u64(a, checked(i)).unwrap();
                }
                mem.write_u16(31, checked16(i as u8)).unwrap(); // spans words 3/4
            }
        });
        s.spawn(|| {
            for _ in 0..ITERS {
                for a in ADDRS {
                    let v = mem.read_u64(a).unwrap();
                    assert!(is_whole(v), "torn read at {a}: {v:#x}");
                }
                let v = mem.read_u16(31).unwrap();
                assert!(is_whole16(v), "torn u16: {v:#x}");
            }
        });
    });
}

#[test]
fn bulk_and_atomic_writers_race_optimistic_readers() {
    let mem = Mem::new();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ITERS {
                // Every byte of shard 1 equal, in one bulk write.
                mem.fill(64, 64, i as u8).unwrap();
                mem.fetch_add::<u64>(124, 1).unwrap(); // straddles shards 1/2
            }
        });
        s.spawn(|| {
            let mut last = 0;
            for _ in 0..ITERS {
                let v = mem.read_u64(68).unwrap(); // spans two words of shard 1
                let b = v.to_le_bytes();
                assert!(b.iter().all(|&x| x == b[0]), "bulk write torn: {v:#x}");
                let c = mem.read_u64(124).unwrap();
                // The counter's low 4 bytes live in shard 1 and can be
                // overwritten by `fill`; its top 4 bytes only count up.
                let hi = c >> 32;
                assert!(hi >= last, "straddling counter went back");
                last = hi;
            }
        });
    });
}

#[test]
fn writer_storm_on_one_shard_starves_no_reader() {
    // >= 4 threads: 2 writers hammer shard 0 (aligned, unaligned,
    // straddling into shard 1); 3 readers must all finish and see no tear.
    let mem = Mem::new();
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        for w in 0..2u32 {
            let (mem, stop) = (&mem, &stop);
            s.spawn(move || {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    for a in [0usize, 13, 60] {
                        mem.write_u64(a, checked(i)).unwrap();
                    }
                    i = i.wrapping_add(2);
                    if cfg!(miri) && i > 2 * ITERS {
                        break;
                    }
                }
            });
        }
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let mem = &mem;
                s.spawn(move || {
                    for _ in 0..ITERS {
                        for a in [0usize, 13, 60] {
                            let v = mem.read_u64(a).unwrap();
                            assert!(is_whole(v), "torn at {a}: {v:#x}");
                            let v = mem.batch().read_u64(a).unwrap();
                            assert!(is_whole(v), "torn batch read at {a}: {v:#x}");
                        }
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn every_offset_and_width_reads_what_was_written() {
    // Single-threaded: the word-merging store and the gather read agree
    // with plain bytes at every offset of a shard and across shards.
    let mem = ShardedMemory::<2, 32>::new();
    for off in 0..64 - 8 {
        let v = 0x1122_3344_5566_7788u64 ^ (off as u64 * 0x0101_0101);
        mem.fill(0, 64, 0xa5).unwrap();
        mem.write_u64(off, v).unwrap();
        let mut bytes = [0u8; 64];
        mem.read_bytes(0, &mut bytes).unwrap();
        let mut want = [0xa5u8; 64];
        want[off..off + 8].copy_from_slice(&v.to_le_bytes());
        assert_eq!(bytes, want, "u64 at {off}");
        assert_eq!(mem.read_u64(off).unwrap(), v);
        assert_eq!(mem.read_u32(off + 1).unwrap(), (v >> 8) as u32);
        assert_eq!(mem.read_u16(off + 3).unwrap(), (v >> 24) as u16);
        mem.write_u16(off, 0xbeef).unwrap();
        mem.write_u8(off + 7, 0x42).unwrap();
        mem.write_u32(off + 2, 0xdead_c0de).unwrap();
        want[off..off + 2].copy_from_slice(&0xbeefu16.to_le_bytes());
        want[off + 2..off + 6].copy_from_slice(&0xdead_c0deu32.to_le_bytes());
        want[off + 7] = 0x42;
        mem.read_bytes(0, &mut bytes).unwrap();
        assert_eq!(bytes, want, "narrow writes at {off}");
    }
}

#[test]
fn bulk_stores_merge_partial_words_at_every_offset_and_length() {
    // Head, whole-word body and tail of a word-store bulk write, for every
    // start offset and length inside a shard and across the shard edge.
    let mem = ShardedMemory::<2, 32>::new();
    let step = if cfg!(miri) { 3 } else { 1 };
    for off in (0..40).step_by(step) {
        for len in (0..=24).step_by(step) {
            let mut want = [0x5au8; 64];
            mem.fill(0, 64, 0x5a).unwrap();
            let data: Vec<u8> = (0..len).map(|k| (off * 31 + k * 7) as u8).collect();
            mem.write_bytes(off, &data).unwrap();
            want[off..off + len].copy_from_slice(&data);
            let mut got = [0u8; 64];
            mem.read_bytes(0, &mut got).unwrap();
            assert_eq!(got, want, "write_bytes at {off}, {len} bytes");
            mem.fill(off, len, 0xc3).unwrap();
            want[off..off + len].fill(0xc3);
            mem.read_bytes(0, &mut got).unwrap();
            assert_eq!(got, want, "fill at {off}, {len} bytes");
        }
    }
}
