//! A map built and used without the heap: static memories, a device with
//! atomics, the map on the stack, under a global allocator that counts
//! this thread's allocations (which must stay at zero).

use core::sync::atomic::{AtomicU32, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use vm_mem::{ErrorKind, MemoryMap, MmioDevice, Perms, ShardedMemory, VmError};

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to `System`; only counts, with a const-initialised
// thread-local that itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static FLASH: ShardedMemory<4, 256> = ShardedMemory::new();
static SRAM: ShardedMemory<16, 256> = ShardedMemory::new();

struct Timer(AtomicU32);

impl MmioDevice for Timer {
    fn read(&self, _offset: u64, _size: usize) -> Result<u64, VmError> {
        Ok(u64::from(self.0.fetch_add(1, Ordering::Relaxed)))
    }
    fn write(&self, _offset: u64, _size: usize, value: u64) -> Result<(), VmError> {
        self.0.store(value as u32, Ordering::Relaxed);
        Ok(())
    }
}

static TIMER: Timer = Timer(AtomicU32::new(0));

#[test]
fn build_and_use_a_map_without_allocating() {
    let before = ALLOCS.with(Cell::get);

    FLASH.write_bytes(0, &[0x00, 0xbf, 0xfe, 0xe7]).unwrap();
    let flash = FLASH.freeze();
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_rom("flash", 0x0800_0000, 1024, Perms::RX, &flash)
        .unwrap();
    map.add_ram("sram", 0x2000_0000, 4096, Perms::RW, &SRAM)
        .unwrap();
    map.add_mmio("timer", 0x4000_0000, 4, Perms::RW, &TIMER)
        .unwrap();
    let clash = map.add_ram("clash", 0x2000_0ff0, 32, Perms::RW, &SRAM);

    let insn = map.fetch_u16(0x0800_0002).unwrap();
    map.write_u32(0x2000_0ff2, u32::from(insn)).unwrap();
    map.write_u32(0x4000_0000, 10).unwrap();
    let t = map.read_u32(0x4000_0000).unwrap();
    let mut buf = [0u8; 8];
    map.read_bytes(0x2000_0fec, &mut buf).unwrap();
    let refused = map.write_u8(0x0800_0000, 0);
    let unmapped = map.read_u64(0x3000_0000);

    let after = ALLOCS.with(Cell::get);
    assert_eq!(after - before, 0, "the map allocated");
    assert_eq!(insn, 0xe7fe);
    assert_eq!(t, 10);
    assert_eq!(buf, [0, 0, 0, 0, 0, 0, 0xfe, 0xe7]);
    assert_eq!(clash.unwrap_err().other(), "sram");
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(unmapped.unwrap_err().kind(), ErrorKind::Unmapped);
    // The counter does count.
    let v = std::hint::black_box(Vec::<u8>::with_capacity(3));
    assert!(ALLOCS.with(Cell::get) > after && v.capacity() >= 3);
}
