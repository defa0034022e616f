//! The hot paths kept out of line (`#[inline(never)]`), so their machine
//! code can be read: `cargo rustc --release --features std --example
//! hot_paths -- --emit asm`, then `target/release/examples/hot_paths-*.s`.
//! `BENCHMARKS.md` shows the result. Running it checks the paths agree.

use std::hint::black_box;
use vm_mem::{Cursor, Exclusive, MemoryMap, OwnerMap, Perms, ShardedMemory, VmError};

type Mem = ShardedMemory<16, 4096>;

/// The exclusive view's `read_u32`.
#[inline(never)]
pub fn exclusive_read_u32(m: &Exclusive<'_, 16, 4096>, a: usize) -> Result<u32, VmError> {
    m.read_u32(a)
}

/// The exclusive view's `write_u32`.
#[inline(never)]
pub fn exclusive_write_u32(
    m: &mut Exclusive<'_, 16, 4096>,
    a: usize,
    v: u32,
) -> Result<(), VmError> {
    m.write_u32(a, v)
}

/// The shared memory's lock-free `read_u32`.
#[inline(never)]
pub fn shared_read_u32(m: &Mem, a: usize) -> Result<u32, VmError> {
    m.read_u32(a)
}

/// The shared memory's `write_u32` (the shard's write lock).
#[inline(never)]
pub fn shared_write_u32(m: &Mem, a: usize, v: u32) -> Result<(), VmError> {
    m.write_u32(a, v)
}

/// A cursor's `read_u32` (window hit: the map's version, one compare for
/// the region, one atomic word load).
#[inline(never)]
pub fn cursor_read_u32(c: &Cursor<'_, '_, 4>, a: u64) -> Result<u32, VmError> {
    c.read_u32(a)
}

/// A cursor's `write_u32` (cache hit: the shard's write lock).
#[inline(never)]
pub fn cursor_write_u32(c: &Cursor<'_, '_, 4>, a: u64, v: u32) -> Result<(), VmError> {
    c.write_u32(a, v)
}

/// The shared map's `read_u32` (directory hit: RAM inline, a device in
/// one call).
#[inline(never)]
pub fn map_read_u32(m: &MemoryMap<'_, 8>, a: u64) -> Result<u32, VmError> {
    m.read_u32(a)
}

/// The shared map's `write_u32` (directory hit: RAM under the shard's
/// lock, a device in one call).
#[inline(never)]
pub fn map_write_u32(m: &MemoryMap<'_, 8>, a: u64, v: u32) -> Result<(), VmError> {
    m.write_u32(a, v)
}

/// The owner map's `read_u32` (cache hit: one tag compare, a plain load).
#[inline(never)]
pub fn owner_read_u32(m: &OwnerMap<'_, 4>, a: u64) -> Result<u32, VmError> {
    m.read_u32(a)
}

/// The owner map's `write_u32` (plain store and dirty mark).
#[inline(never)]
pub fn owner_write_u32(m: &OwnerMap<'_, 4>, a: u64, v: u32) -> Result<(), VmError> {
    m.write_u32(a, v)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shared = Mem::new_boxed();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", 0, Mem::SIZE as u64, Perms::RW, &*shared)?;
    let cpu = map.cpu();
    let map8: MemoryMap<'_, 8> = MemoryMap::new();
    map8.add_ram("ram", 0, Mem::SIZE as u64, Perms::RW, &*shared)?;
    cursor_write_u32(black_box(&cpu), black_box(0x100), 7)?;
    assert_eq!(cursor_read_u32(black_box(&cpu), black_box(0x100))?, 7);
    shared_write_u32(black_box(&shared), black_box(0x104), 8)?;
    assert_eq!(shared_read_u32(black_box(&shared), black_box(0x100))?, 7);
    map_write_u32(black_box(&map8), black_box(0x104), 8)?;
    assert_eq!(map_read_u32(black_box(&map8), black_box(0x104))?, 8);
    assert_eq!(map_read_u32(black_box(&map8), black_box(0x100))?, 7);
    let mut mem = Mem::new_boxed();
    {
        let owner: OwnerMap<'_, 4> = OwnerMap::new();
        owner.add_ram("ram", 0, Mem::SIZE as u64, Perms::RW, &mut mem)?;
        owner_write_u32(black_box(&owner), black_box(0x100), 9)?;
        assert_eq!(owner_read_u32(black_box(&owner), black_box(0x100))?, 9);
    }
    let mut view = mem.exclusive();
    exclusive_write_u32(black_box(&mut view), black_box(0x104), 10)?;
    assert_eq!(exclusive_read_u32(black_box(&view), black_box(0x100))?, 9);
    assert_eq!(exclusive_read_u32(black_box(&view), black_box(0x104))?, 10);
    println!("hot paths agree");
    Ok(())
}
