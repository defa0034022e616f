//! Dirty tracking and snapshot/restore: every write path marks, restore is
//! incremental for the baseline and full otherwise, the user's dirty log
//! cannot break restore (nor restore the log: restored shards stay dirty),
//! frozen memory refuses writes on every path.

use vm_mem::{ErrorKind, MemoryAccess, ShardedMemory, Snapshot};

type Mem = ShardedMemory<8, 64>;

#[test]
fn every_write_path_marks_its_shards() {
    let mut mem = Mem::new();
    mem.write_u8(0, 1).unwrap();
    mem.write_u32_be(126, 1).unwrap(); // straddles 1/2
    mem.exclusive().write_u16(3 * 64, 1).unwrap();
    mem.batch().write_u64(4 * 64, 1).unwrap();
    mem.fetch_add::<u8>(5 * 64, 1).unwrap();
    mem.write_bytes(6 * 64 + 60, &[1; 8]).unwrap(); // 6 and 7
    assert!(mem.dirty_shards().eq(0..8));
    assert!(mem.take_dirty().eq(0..8));
    assert_eq!(mem.dirty_shards().count(), 0);
    MemoryAccess::fill(&mut &mem, 64, 1, 0).unwrap();
    mem.exclusive().fill(2 * 64, 1, 0).unwrap();
    mem.exclusive().fetch_or::<u64>(5 * 64, 0).unwrap();
    assert!(mem.dirty_shards().eq([1, 2, 5]));
    assert!(mem.is_dirty(1) && !mem.is_dirty(0) && !mem.is_dirty(99));
    mem.clear_dirty();
    assert_eq!(mem.dirty_shards().count(), 0);
    // Reads mark nothing.
    let _ = mem.read_u64(60).unwrap();
    let _ = mem.batch().read_u64(60).unwrap();
    assert_eq!(mem.dirty_shards().count(), 0);
}

#[test]
fn restore_copies_only_written_shards_and_equals_the_snapshot() {
    let mem = Mem::new();
    let mut snap = Snapshot::<8, 64>::new();
    for i in 0..Mem::SIZE / 8 {
        mem.write_u64(i * 8, i as u64 * 3).unwrap();
    }
    mem.snapshot(&mut snap);
    let mut before = [0u8; Mem::SIZE];
    mem.read_bytes(0, &mut before).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 0, "nothing written since");
    mem.write_u32(62, 0xffff_ffff).unwrap(); // shards 0 and 1
    mem.fill(300, 4, 0).unwrap(); // shard 4
    mem.take_dirty().for_each(drop); // the user's log cannot break restore
    assert_eq!(mem.restore(&snap).unwrap(), 3);
    let mut after = [0u8; Mem::SIZE];
    mem.read_bytes(0, &mut after).unwrap();
    assert_eq!(after, before);
    assert!(
        mem.dirty_shards().eq([0, 1, 4]),
        "restored shards changed bytes: they stay in the user's dirty log"
    );
    // A second, different snapshot, then restoring the first: full copy.
    let mut other = Snapshot::<8, 64>::new();
    mem.write_u8(0, 9).unwrap();
    mem.snapshot(&mut other);
    assert_eq!(mem.restore(&snap).unwrap(), 8);
    mem.read_bytes(0, &mut after).unwrap();
    assert_eq!(after, before);
    // The restored snapshot is now the baseline again: incremental.
    mem.write_u8(511, 1).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 1);
    assert_eq!(mem.restore(&other).unwrap(), 8);
    assert_eq!(mem.read_u8(0).unwrap(), 9);
    assert_eq!(snap.shard(0).map(|s| s[0]), Some(0));
    assert!(snap.is_taken() && !Snapshot::<8, 64>::new().is_taken());
}

#[test]
fn exclusive_straddling_write_marks_both_shards() {
    // The first shard already written since the snapshot, the second not:
    // a value across their edge must still mark the second, or restore
    // would leave its bytes changed.
    let mut mem = Mem::new();
    let mut snap = Snapshot::<8, 64>::new_boxed();
    mem.exclusive().snapshot(&mut snap);
    let mut view = mem.exclusive();
    view.write_u8(64, 1).unwrap();
    for (addr, size) in [(126usize, 4usize), (124, 8), (127, 2)] {
        let v = 0x0102_0304_0506_0708u64;
        match size {
            2 => view.write_u16(addr, v as u16).unwrap(),
            4 => view.write_u32(addr, v as u32).unwrap(),
            _ => view.write_u64(addr, v).unwrap(),
        }
        assert_eq!(view.restore(&snap).unwrap(), 2, "{size} bytes at {addr}");
        assert_eq!(view.read_u64(120).unwrap(), 0);
        assert_eq!(view.read_u64(128).unwrap(), 0);
        view.write_u8(64, 1).unwrap();
    }
}

#[test]
fn exclusive_snapshot_and_restore() {
    let mut mem = Mem::new();
    let mut snap = Snapshot::<8, 64>::new_boxed();
    mem.exclusive().write_u64(100, 42).unwrap();
    mem.exclusive().snapshot(&mut snap);
    mem.exclusive().write_u64(100, 43).unwrap();
    mem.write_u64(400, 1).unwrap();
    assert_eq!(mem.exclusive().restore(&snap).unwrap(), 2);
    assert_eq!(mem.read_u64(100).unwrap(), 42);
    assert_eq!(mem.read_u64(400).unwrap(), 0);
    // The shared restore sees the exclusive snapshot as the baseline.
    mem.write_u8(0, 1).unwrap();
    assert_eq!(mem.restore(&snap).unwrap(), 1);
    // A snapshot from another memory is never the baseline here.
    let other = Mem::new();
    let mut foreign = Snapshot::<8, 64>::new();
    other.snapshot(&mut foreign);
    assert_eq!(mem.restore(&foreign).unwrap(), 8);
    assert_eq!(mem.read_u64(100).unwrap(), 0);
}

#[test]
fn static_snapshot_of_a_static_memory() {
    static RAM: ShardedMemory<4, 256> = ShardedMemory::new();
    static mut SNAP: Snapshot<4, 256> = Snapshot::new();
    // A test owns its statics; `addr_of_mut!` avoids a `&mut` to a static.
    let snap = unsafe { &mut *core::ptr::addr_of_mut!(SNAP) };
    RAM.write_u16(255, 0xabcd).unwrap();
    RAM.snapshot(snap);
    RAM.write_u16(255, 0).unwrap();
    assert_eq!(RAM.restore(snap).unwrap(), 2);
    assert_eq!(RAM.read_u16(255).unwrap(), 0xabcd);
}

#[test]
fn frozen_memory_refuses_writes_on_every_path() {
    let mut mem = Mem::new();
    mem.write_u32(0, 0x4770_bf00).unwrap();
    let mut snap = Snapshot::<8, 64>::new();
    mem.snapshot(&mut snap);
    let rom = mem.freeze();
    assert_eq!(rom.read_u32(0).unwrap(), 0x4770_bf00);
    assert_eq!(mem.freeze().read_u16(2).unwrap(), 0x4770);
    let ro = |r: Result<(), vm_mem::VmError>| r.unwrap_err().kind();
    assert_eq!(ro(mem.write_u8(0, 1)), ErrorKind::ReadOnly);
    assert_eq!(ro(mem.write_u64(60, 1)), ErrorKind::ReadOnly);
    assert_eq!(ro(mem.write_bytes(0, &[1])), ErrorKind::ReadOnly);
    assert_eq!(ro(mem.fill(0, 1, 1)), ErrorKind::ReadOnly);
    assert_eq!(ro(mem.batch().write_u8(0, 1)), ErrorKind::ReadOnly);
    assert_eq!(ro(rom.write_u8(0, 1)), ErrorKind::ReadOnly);
    assert_eq!(
        ro(MemoryAccess::write_u8(&mut &rom, 0, 1)),
        ErrorKind::ReadOnly
    );
    assert_eq!(
        ro(rom.write_u8(Mem::SIZE, 1)),
        ErrorKind::OutOfBounds {
            limit: Mem::SIZE as u64
        }
    );
    assert_eq!(mem.restore(&snap).unwrap_err().kind(), ErrorKind::ReadOnly);
    assert!(mem.is_frozen());
    // Reads still work on every path, the batch's included.
    assert_eq!(mem.batch().read_u32(0).unwrap(), 0x4770_bf00);
    let mut buf = [0u8; 4];
    rom.read_bytes(0, &mut buf).unwrap();
    assert_eq!(u32::from_le_bytes(buf), 0x4770_bf00);
    assert_eq!(ro(mem.exclusive().write_u8(0, 1)), ErrorKind::ReadOnly);
    assert_eq!(
        ro(mem.exclusive().write_bytes(0, &[1])),
        ErrorKind::ReadOnly
    );
    assert_eq!(mem.read_u32(0).unwrap(), 0x4770_bf00);
}

#[test]
fn freezing_while_writers_run_never_hangs() {
    let mem = Mem::new();
    std::thread::scope(|s| {
        for t in 0..2 {
            let mem = &mem;
            s.spawn(move || loop {
                if mem.write_u64(60 + t * 100, 1).is_err() {
                    break;
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
            0
        } else {
            20
        }));
        let rom = mem.freeze();
        assert_eq!(rom.read_u64(60).unwrap(), mem.read_u64(60).unwrap());
    });
}

/// Re-taking the baseline (which copies only the shards written since)
/// and taking another snapshot (which copies all) both leave a snapshot
/// that restores exactly, through the shared memory and the exclusive view.
#[test]
fn retaking_the_baseline_keeps_the_snapshot_exact() {
    let mut mem = ShardedMemory::<8, 64>::new();
    let (mut a, mut b) = (Snapshot::<8, 64>::new(), Snapshot::<8, 64>::new());
    mem.snapshot(&mut a);
    mem.snapshot(&mut a); // nothing written since
    mem.write_u32(70, 1).unwrap(); // shard 1
    mem.write_u16(511, 2).unwrap_err(); // out of bounds: nothing written
    mem.write_u16(200, 3).unwrap(); // shard 3
    mem.snapshot(&mut a); // shards 1 and 3
    mem.write_u32(70, 9).unwrap();
    assert_eq!(mem.restore(&a), Ok(1));
    assert_eq!((mem.read_u32(70), mem.read_u16(200)), (Ok(1), Ok(3)));
    // Another snapshot moves the baseline: `a` is then taken whole.
    mem.snapshot(&mut b);
    mem.write_u8(0, 5).unwrap();
    mem.snapshot(&mut a);
    assert_eq!(
        mem.restore(&a),
        Ok(0),
        "`a` is the baseline, nothing changed"
    );
    // The exclusive view, the same rule.
    let mut view = mem.exclusive();
    view.write_u8(448, 6).unwrap(); // shard 7
    view.snapshot(&mut a);
    view.write_u8(448, 0).unwrap();
    assert_eq!(view.restore(&a), Ok(1));
    assert_eq!((view.read_u8(448), view.read_u8(0)), (Ok(6), Ok(5)));
    assert_eq!(mem.restore(&b), Ok(8));
    assert_eq!((mem.read_u8(0), mem.read_u8(448)), (Ok(0), Ok(0)));
    assert_eq!((mem.read_u32(70), mem.read_u16(200)), (Ok(1), Ok(3)));
}
