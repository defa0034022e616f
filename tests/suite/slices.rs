//! Zero-copy access for owners: `Exclusive::as_slice`/`slice` and
//! `as_mut_slice`/`slice_mut`, `Frozen::as_slice`/`slice`. Writes through a
//! mutable slice are seen by the dirty log and undone by `restore`; frozen
//! memory refuses a mutable slice; every range is checked.

use vm_mem::{Access, ErrorKind, ShardedMemory, Snapshot};

type Mem = ShardedMemory<8, 64>;

#[test]
fn slices_are_the_guest_bytes_in_address_order() -> Result<(), vm_mem::VmError> {
    let mut mem = Mem::new();
    mem.write_u64(60, 0x0807_0605_0403_0201)?; // straddles shards 0 and 1
    let mut view = mem.exclusive();
    assert_eq!(view.as_slice().len(), Mem::SIZE);
    assert_eq!(&view.as_slice()[60..68], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(view.slice(62, 3)?, &[3, 4, 5]);
    view.slice_mut(126, 4)?
        .copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
    assert_eq!(view.read_u32_be(126)?, 0xaabb_ccdd);
    view.as_mut_slice()?[511] = 0x5a;
    assert_eq!(view.read_u8(511)?, 0x5a);
    assert_eq!(mem.read_u32(126)?, 0xddcc_bbaa);
    Ok(())
}

#[test]
fn ranges_are_checked_without_panics() {
    let mut mem = Mem::new();
    let mut view = mem.exclusive();
    for (addr, len) in [
        (512, 1),
        (511, 2),
        (0, 513),
        (usize::MAX, 1),
        (1, usize::MAX),
    ] {
        let e = view.slice(addr, len).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfBounds { limit: 512 });
        let len = crate::support::reported_size(e.kind(), len);
        assert_eq!(
            (e.access(), e.addr(), e.size()),
            (Access::Read, addr as u64, len)
        );
        let e = view.slice_mut(addr, len).unwrap_err();
        assert_eq!(
            (e.kind(), e.access()),
            (ErrorKind::OutOfBounds { limit: 512 }, Access::Write)
        );
    }
    assert_eq!(view.slice(512, 0).map(<[u8]>::len), Ok(0));
    assert_eq!(view.slice_mut(512, 0).map(|s| s.len()), Ok(0));
    assert_eq!(
        view.memory().dirty_shards().count(),
        0,
        "refused or empty ranges mark nothing"
    );
}

#[test]
fn mutable_slices_mark_their_shards_for_the_dirty_log() -> Result<(), vm_mem::VmError> {
    let mut mem = Mem::new();
    let mut view = mem.exclusive();
    view.slice_mut(120, 10)?; // shards 1 and 2, even if nothing is written
    let marked: Vec<usize> = view.memory().dirty_shards().collect();
    assert_eq!(marked, [1, 2]);
    view.memory().clear_dirty();
    view.as_mut_slice()?;
    assert_eq!(view.memory().dirty_shards().count(), 8);
    Ok(())
}

#[test]
fn restore_undoes_writes_made_through_slices() -> Result<(), vm_mem::VmError> {
    let mut mem = Mem::new();
    let mut snap = Snapshot::<8, 64>::new();
    mem.fill(0, Mem::SIZE, 0x11)?;
    mem.snapshot(&mut snap);
    {
        let mut view = mem.exclusive();
        view.memory().clear_dirty(); // the user's log must not matter
        view.slice_mut(200, 1)?[0] = 0xee; // shard 3
        view.as_mut_slice()?[500] = 0xee; // shard 7 (every shard marked)
        assert_eq!(view.restore(&snap)?, 8, "as_mut_slice marked every shard");
        assert_eq!(view.read_u8(200)?, 0x11);
        assert_eq!(view.read_u8(500)?, 0x11);
        view.slice_mut(70, 1)?[0] = 0xee; // shard 1 only
    }
    assert_eq!(mem.restore(&snap)?, 1, "slice_mut marked its one shard");
    assert_eq!(mem.read_u8(70)?, 0x11);
    Ok(())
}

#[test]
fn frozen_memory_gives_shared_slices_and_refuses_mutable_ones() -> Result<(), vm_mem::VmError> {
    let mut mem = Mem::new();
    mem.write_bytes(100, b"rom image")?;
    let image = {
        let rom = mem.freeze();
        assert_eq!(rom.slice(100, 9)?, b"rom image");
        assert!(rom.slice(510, 3).is_err());
        assert!(rom.slice(usize::MAX, 2).is_err());
        rom.as_slice()[96..112].to_vec()
    };
    assert_eq!(&image[4..13], b"rom image");
    let mut view = mem.exclusive();
    let e = view.as_mut_slice().unwrap_err();
    assert_eq!((e.kind(), e.access()), (ErrorKind::ReadOnly, Access::Write));
    assert_eq!(
        view.slice_mut(0, 1).unwrap_err().kind(),
        ErrorKind::ReadOnly
    );
    assert_eq!(view.slice(100, 3)?, b"rom", "shared slices still work");
    assert_eq!(
        view.memory().dirty_shards().count(),
        1,
        "only the load marked"
    );
    Ok(())
}

#[test]
fn a_static_memory_gives_its_owner_slices_through_const_static_cell() -> Result<(), vm_mem::VmError>
{
    use static_cell::ConstStaticCell;
    static RAM: ConstStaticCell<Mem> = ConstStaticCell::new(Mem::new());
    let ram: &'static mut Mem = RAM.take();
    let mut view = ram.exclusive();
    view.slice_mut(0x40, 4)?
        .copy_from_slice(&[0xfe, 0xe7, 0x00, 0xbf]);
    assert_eq!(view.read_u16(0x40)?, 0xe7fe);
    assert_eq!(view.memory().dirty_shards().collect::<Vec<_>>(), [1]);
    Ok(())
}
