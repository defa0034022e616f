//! Snapshots at the speed of change (issue 27): restore and re-taking the
//! baseline find the changed shards through the memory's summary, not by
//! reading every shard's marks, and a memory that opted in to line
//! tracking copies only the 64-byte lines written. Whatever path wrote
//! (typed writes of every width, straddling ones, guest atomics, bulk
//! writes and `fill`, batches, the exclusive view and its slices, the map,
//! a cursor's page hits, an owner map's plain stores, atomics and host
//! slices), restore brings back every byte, with line tracking on and off,
//! through a memory's own `Snapshot` and through a `MachineSnapshot` of a
//! `MemoryMap` and of an `OwnerMap`.

use vm_mem::{MachineSnapshot, MemoryMap, OwnerMap, Perms, ShardedMemory, Snapshot};

/// 64 KiB in 16 shards of 4 KiB: each shard holds whole pages, so a
/// cursor's and an owner map's page caches serve them.
/// Shards: 16 natively, 4 under Miri (the interpreter's time is the
/// memory's size); the shard edges the rounds write across are taken
/// modulo the count.
const SHARDS: usize = if cfg!(miri) { 4 } else { 16 };
type Mem = ShardedMemory<SHARDS, 4096>;
type Snap = Snapshot<SHARDS, 4096>;
const SIZE: usize = Mem::SIZE;
const BASE: u64 = 0x1000_0000;

/// Rounds of writes and restores (Miri runs fewer).
const ROUNDS: usize = if cfg!(miri) { 2 } else { 6 };

/// A pattern with no two neighbouring bytes alike.
fn pattern(seed: u8) -> Vec<u8> {
    (0..SIZE)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// The addresses a round writes: spread over the shards, some on a shard
/// edge (so values straddle), different each round.
fn spot(round: usize, k: usize) -> usize {
    ((round * 7 + k * 5) % SHARDS) * 4096 + (round * 131 + k * 389) % 4000
}

/// A memory holding `pattern(1)`, line tracking as asked.
fn memory(lines: bool) -> Box<Mem> {
    let mem = Mem::new_boxed();
    mem.set_line_tracking(lines);
    assert_eq!(mem.is_line_tracking(), lines);
    mem.write_bytes(0, &pattern(1)).unwrap();
    mem
}

fn bytes_of(mem: &Mem) -> Vec<u8> {
    let mut now = vec![0; SIZE];
    mem.read_bytes(0, &mut now).unwrap();
    now
}

/// The first differing byte, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// Writes through every shared path of the memory itself.
fn write_shared(mem: &Mem, round: usize) {
    let v = 0x0101_0101_0101_0101u64.wrapping_mul(round as u64 + 0x40);
    mem.write_u8(spot(round, 0), v as u8).unwrap();
    mem.write_u16(spot(round, 1), v as u16).unwrap();
    mem.write_u32_be(spot(round, 2), v as u32).unwrap();
    mem.write_u64(spot(round, 3), v).unwrap();
    mem.write_u64(4096 * (1 + round % (SHARDS - 1)) - 3, v)
        .unwrap(); // straddles two shards
    mem.write_u32(4096 * (1 + (1 + round) % (SHARDS - 1)) - 1, v as u32)
        .unwrap(); // straddles
    mem.fetch_add::<u32>(spot(round, 4) & !3, 7).unwrap();
    let _ = mem
        .compare_exchange::<u64>(spot(round, 5) & !7, 0, v)
        .unwrap();
    mem.fetch_xor::<u16>(4096 * (1 + (2 + round) % (SHARDS - 1)) - 1, 0x5555)
        .unwrap(); // a straddling atomic
    mem.write_bytes(4096 * (1 + (3 + round) % (SHARDS - 1)) - 40, &[0xee; 100])
        .unwrap(); // bulk, across a shard edge
    mem.fill(spot(round, 6), 9, 0xcd).unwrap();
    mem.write_u32(spot(round, 14) | 62, v as u32).unwrap(); // across a line edge
    mem.fill(spot(round, 15) & !63 | 30, 130, 0x3e).unwrap(); // four lines
    let mut b = mem.batch();
    b.write_u32(spot(round, 7) & !3, v as u32).unwrap();
    b.write_u16(spot(round, 8), v as u16).unwrap();
}

/// Writes through every path of the exclusive view.
fn write_exclusive(mem: &mut Mem, round: usize) {
    let v = 0x0202_0202_0202_0202u64.wrapping_mul(round as u64 + 0x30);
    let mut view = mem.exclusive();
    view.write_u8(spot(round, 9), v as u8).unwrap();
    view.write_u64_be(spot(round, 10), v).unwrap();
    view.write_u64(4096 * (1 + (4 + round) % (SHARDS - 1)) - 5, v)
        .unwrap(); // straddles
    view.fetch_or::<u32>(spot(round, 11) & !3, 0x8000_0001)
        .unwrap();
    view.write_bytes(4096 * (1 + (5 + round) % (SHARDS - 1)) - 8, &[0x77; 16])
        .unwrap();
    view.fill(spot(round, 12), 3, 0x99).unwrap();
    view.write_u64(spot(round, 16) | 60, v).unwrap(); // across a line edge
    view.fill(spot(round, 17) & !63 | 1, 200, 0x9e).unwrap(); // four lines
    view.slice_mut(spot(round, 13), 5).unwrap().fill(0x11);
}

/// Writes through every path of a map (the map itself and a cursor).
fn write_map(map: &MemoryMap<'_, 4>, round: usize) {
    let a = |k| BASE + spot(round, k) as u64;
    let v = 0x0303_0303_0303_0303u64.wrapping_mul(round as u64 + 0x20);
    map.write_u32(a(0) & !3, v as u32).unwrap();
    map.write_u64(BASE + 4096 * (1 + (round % (SHARDS - 1)) as u64) - 2, v)
        .unwrap(); // straddles shards
    map.fetch_add::<u64>(a(1) & !7, 3).unwrap();
    map.write_bytes(a(2), &[0x5a; 33]).unwrap();
    map.fill(a(3), 17, 0xa5).unwrap();
    map.write_u64(a(13) | 60, v).unwrap(); // across a line edge
    map.fill(a(14) & !63 | 9, 190, 0xb6).unwrap(); // four lines
    let cpu = map.cpu();
    for k in 4..12 {
        // Twice on one page: the first may take the slow path, the second
        // is a page hit.
        cpu.write_u16(a(k) & !1, v as u16).unwrap();
        cpu.write_u32((a(k) & !3) ^ 0x40, v as u32).unwrap();
    }
    cpu.write_u64(
        BASE + 4096 * (1 + ((1 + round) % (SHARDS - 1)) as u64) - 4,
        v,
    )
    .unwrap(); // straddles shards
    cpu.fetch_add::<u32>(a(12) & !3, 1).unwrap();
}

/// Writes through every path of an owner map.
fn write_owner(owner: &mut OwnerMap<'_, 4>, round: usize) {
    let a = |k| BASE + spot(round, k) as u64;
    let v = 0x0404_0404_0404_0404u64.wrapping_mul(round as u64 + 0x10);
    for k in 0..8 {
        // Twice on one page: the first may take the slow path, the
        // second is a plain store on a page hit.
        owner.write_u32(a(k) & !3, v as u32).unwrap();
        owner.write_u8(a(k) ^ 0x80, v as u8).unwrap();
    }
    owner
        .write_u64(
            BASE + 4096 * (1 + ((2 + round) % (SHARDS - 1)) as u64) - 1,
            v,
        )
        .unwrap(); // straddles shards
    owner.write_u16(BASE + 0x2fff, v as u16).unwrap(); // straddles
    owner.fetch_add::<u32>(a(8) & !3, 5).unwrap(); // the page's plain atomic
    owner.fetch_add::<u32>(a(8) & !3, 5).unwrap();
    owner.write_bytes(a(9), &[0x3c; 70]).unwrap();
    owner.fill(a(10), 6, 0xc3).unwrap();
    owner.write_u32(a(12) | 62, v as u32).unwrap(); // across a line edge
    owner.fill(a(13) & !63 | 7, 150, 0x1d).unwrap(); // three lines
    owner.slice_mut(a(11), 12).unwrap().fill(0x42);
}

#[test]
fn every_write_path_is_restored_with_and_without_lines() {
    for lines in [false, true] {
        let mut mem = memory(lines);
        let mut snap = Snap::new_boxed();
        mem.snapshot(&mut snap);
        let want = bytes_of(&mem);
        for round in 0..ROUNDS {
            write_shared(&mem, round);
            write_exclusive(&mut mem, round);
            assert_ne!(bytes_of(&mem), want, "the round wrote");
            let copied = mem.restore(&snap).unwrap();
            assert!((1..=16).contains(&copied), "{copied} shards");
            let now = bytes_of(&mem);
            assert_eq!(
                first_difference(&now, &want),
                None,
                "lines {lines}, round {round}"
            );
            assert_eq!(mem.restore(&snap).unwrap(), 0, "nothing written since");
        }
        // The exclusive view's own restore, too.
        write_shared(&mem, 99);
        write_exclusive(&mut mem, 98);
        mem.exclusive().restore(&snap).unwrap();
        assert_eq!(first_difference(&bytes_of(&mem), &want), None);
    }
}

#[test]
fn a_retaken_snapshot_holds_every_byte_written_before_it() {
    for lines in [false, true] {
        let mut mem = memory(lines);
        let mut snap = Snap::new_boxed();
        mem.snapshot(&mut snap);
        for round in 0..ROUNDS {
            write_shared(&mem, round);
            write_exclusive(&mut mem, round + 50);
            if round % 2 == 0 {
                mem.snapshot(&mut snap); // incremental
            } else {
                mem.exclusive().snapshot(&mut snap); // incremental, plain copies
            }
            let want = bytes_of(&mem);
            write_shared(&mem, round + 7);
            write_exclusive(&mut mem, round + 3);
            mem.restore(&snap).unwrap();
            assert_eq!(
                first_difference(&bytes_of(&mem), &want),
                None,
                "lines {lines}, round {round}"
            );
        }
    }
}

#[test]
fn restore_counts_the_written_shards_however_many_there_are() {
    // 1040 shards: 65 summary words, so word 64 (shards 1024..1040)
    // shares top bit 0 with word 0 on 64-bit hosts.
    type Big = ShardedMemory<1040, 64>;
    let mem = Big::new_boxed();
    let mut snap = Snapshot::<1040, 64>::new_boxed();
    mem.snapshot(&mut snap);
    let written = [0usize, 5, 15, 16, 1027, 1030, 1039];
    for round in 0..3 {
        for &s in &written {
            mem.write_u8(s * 64 + round, 0xff).unwrap();
        }
        assert_eq!(mem.restore(&snap).unwrap(), written.len(), "round {round}");
        assert!(written
            .iter()
            .all(|&s| mem.read_u8(s * 64 + round).unwrap() == 0));
        assert_eq!(mem.restore(&snap).unwrap(), 0);
    }
    // Re-taking the baseline copies the written shards only.
    mem.write_u16(63, 1).unwrap(); // shards 0 and 1
    mem.fill(100 * 64, 64 * 3, 2).unwrap(); // 100..103
    mem.snapshot(&mut snap);
    mem.write_u8(0, 9).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 1);
    assert_eq!(mem.read_u16(63).unwrap(), 1);
    assert_eq!(mem.read_u8(101 * 64).unwrap(), 2);
    // A full restore (another snapshot) clears the summary: the next
    // incremental restore copies only what is written after it.
    let mut other = Snapshot::<1040, 64>::new_boxed();
    mem.snapshot(&mut other);
    assert_eq!(mem.restore(&snap).unwrap(), 1040);
    mem.write_u8(7 * 64, 1).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 1);
}

#[test]
fn turning_lines_on_after_writes_restores_those_shards_whole() {
    let mem = memory(false);
    let mut snap = Snap::new_boxed();
    mem.snapshot(&mut snap);
    let want = bytes_of(&mem);
    write_shared(&mem, 0);
    mem.set_line_tracking(true);
    write_shared(&mem, 1);
    mem.restore(&snap).unwrap();
    assert_eq!(first_difference(&bytes_of(&mem), &want), None);
    mem.set_line_tracking(false);
    assert!(!mem.is_line_tracking());
    write_shared(&mem, 2);
    mem.restore(&snap).unwrap();
    assert_eq!(first_difference(&bytes_of(&mem), &want), None);
}

#[test]
fn a_machine_snapshot_of_a_map_restores_every_path() {
    for lines in [false, true] {
        let mut mem = memory(lines);
        let mut mem_snap = Snap::new_boxed();
        let want = bytes_of(&mem);
        {
            let map: MemoryMap<'_, 4> = MemoryMap::new();
            map.add_ram("ram", BASE, SIZE as u64, Perms::RW, &*mem)
                .unwrap();
            let mut snap = MachineSnapshot::<'_, '_, 4, 1, 1, 8>::new_sized();
            snap.add_memory(&*mem, &mut mem_snap).unwrap();
            map.snapshot(&mut snap).unwrap();
            for round in 0..ROUNDS {
                write_map(&map, round);
                write_shared(&mem, round);
                let done = map.restore(&mut snap).unwrap();
                assert!(done.shards >= 1);
                let mut now = vec![0; SIZE];
                map.read_bytes(BASE, &mut now).unwrap();
                assert_eq!(
                    first_difference(&now, &want),
                    None,
                    "lines {lines}, round {round}"
                );
                assert_eq!(snap.diff(&map, &mut []).unwrap(), None);
                assert_eq!(map.restore(&mut snap).unwrap().shards, 0);
            }
        }
        write_exclusive(&mut mem, 0); // the map is gone: the view may write
    }
}

#[test]
fn a_machine_snapshot_of_an_owner_map_restores_every_path() {
    for lines in [false, true] {
        let mut mem = memory(lines);
        let want = bytes_of(&mem);
        let mut mem_snap = Snap::new_boxed();
        let mut owner: OwnerMap<'_, 4> = OwnerMap::new();
        owner
            .add_ram("ram", BASE, SIZE as u64, Perms::RW, &mut mem)
            .unwrap();
        let mut snap = MachineSnapshot::<'_, '_, 4, 1, 1, 8>::new_sized();
        snap.add_memory_of("ram", &mut mem_snap).unwrap();
        owner.snapshot(&mut snap).unwrap();
        for round in 0..ROUNDS {
            write_owner(&mut owner, round);
            let done = owner.restore(&mut snap).unwrap();
            assert!(done.shards >= 1);
            let mut now = vec![0; SIZE];
            owner.read_bytes(BASE, &mut now).unwrap();
            assert_eq!(
                first_difference(&now, &want),
                None,
                "lines {lines}, round {round}"
            );
            assert_eq!(owner.diff(&snap, &mut []).unwrap(), None);
            assert_eq!(owner.restore(&mut snap).unwrap().shards, 0);
            // Re-taken after a run: the next restore comes back to it.
            write_owner(&mut owner, round + 20);
            owner.snapshot(&mut snap).unwrap();
            let mut taken = vec![0; SIZE];
            owner.read_bytes(BASE, &mut taken).unwrap();
            write_owner(&mut owner, round + 40);
            owner.restore(&mut snap).unwrap();
            owner.read_bytes(BASE, &mut now).unwrap();
            assert_eq!(
                first_difference(&now, &taken),
                None,
                "re-taken, round {round}"
            );
            // Back to the first state for the next round.
            owner.write_bytes(BASE, &want).unwrap();
            owner.snapshot(&mut snap).unwrap();
        }
    }
}
