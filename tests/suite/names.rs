//! Region names made at run time (issue 25): from `String`s that live as
//! long as the map, never leaked; errors and snapshot reports carry copies.

use vm_mem::{
    MachineError, MachineSnapshot, MapErrorKind, MemoryMap, Name, OwnerMap, Perms, ShardedMemory,
    Snapshot, NAME_BYTES,
};

#[test]
fn regions_named_from_strings_made_at_run_time() {
    // As read from a configuration file.
    let config: Vec<(String, u64)> = (0..3)
        .map(|i| (format!("bank{i}"), 0x1000 * (i + 1)))
        .collect();
    let clash = format!("late{}", 7);
    let ram = ShardedMemory::<4, 1024>::new();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    for (name, base) in &config {
        map.add_ram_window(name, *base, 0x400, Perms::RW, &ram, 0)
            .unwrap();
    }
    assert_eq!(map.region_at(0x2010).unwrap().name(), "bank1");
    assert_eq!(map.region("bank2").unwrap().base(), 0x3000);
    // An error names the run-time names, and outlives them as a copy.
    let err = map
        .add_ram(&clash, 0x2200, 0x10, Perms::RW, &ram)
        .unwrap_err();
    map.move_region(&config[0].0, 0x8000).unwrap();
    assert_eq!(map.region("bank0").unwrap().base(), 0x8000);
    let missing = map.remove(&String::from("nope")).unwrap_err();
    // The map is done with; the strings go, the errors stay.
    drop((clash, config));
    assert_eq!(err.kind(), MapErrorKind::Overlaps);
    assert_eq!((err.region(), err.other()), ("late7", "bank1"));
    assert_eq!(
        err.to_string(),
        "bad region `late7` at 0x2200 (16 bytes): overlaps `bank1`"
    );
    // A missing name is named too.
    assert_eq!(
        (missing.kind(), missing.region()),
        (MapErrorKind::NoSuchRegion, "nope")
    );
    assert!(missing.to_string().contains("`nope`"), "{missing}");
}

#[test]
fn names_in_errors_are_cut_at_a_character_boundary() {
    let long = "é".repeat(20); // 40 bytes
    let n = Name::new(&long);
    assert!(n.len() <= NAME_BYTES);
    assert_eq!(n.as_str(), "é".repeat(NAME_BYTES / 2));
    let ram = ShardedMemory::<1, 64>::new();
    let map: MemoryMap<'_, 1> = MemoryMap::new();
    let err = map.add_ram(&long, 0, 65, Perms::RW, &ram).unwrap_err();
    assert_eq!(err.region(), n.as_str());
    assert_eq!(Name::new(""), Name::EMPTY);
}

#[test]
fn an_owner_map_snapshot_with_run_time_names() {
    let names = [String::from("sram"), String::from("flash")];
    let missing = String::from("nvram");
    let mut spare = Snapshot::<2, 4096>::new();
    let mut sram = ShardedMemory::<2, 4096>::new();
    let flash = ShardedMemory::<1, 4096>::new();
    let flash = flash.freeze();
    let mut sram_snap = Snapshot::<2, 4096>::new();
    let map: OwnerMap<'_, 4> = OwnerMap::new();
    map.add_ram(&names[0], 0x2000_0000, 0x2000, Perms::RW, &mut sram)
        .unwrap();
    map.add_rom(&names[1], 0, 0x1000, Perms::RX, &flash)
        .unwrap();
    let mut snap = MachineSnapshot::new();
    snap.add_memory_of(&names[0], &mut sram_snap).unwrap();
    map.snapshot(&mut snap).unwrap();
    map.write_u32(0x2000_0100, 9).unwrap();
    map.restore(&mut snap).unwrap();
    assert_eq!(map.read_u32(0x2000_0100).unwrap(), 0);
    // A region with no such memory is reported by its name.
    let mut other = MachineSnapshot::new();
    other.add_memory_of(&missing, &mut spare).unwrap();
    let err = map.snapshot(&mut other).unwrap_err();
    assert_eq!(
        err,
        MachineError::NoSuchMemory {
            region: "nvram".into()
        }
    );
}
