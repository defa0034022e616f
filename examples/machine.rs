//! Owning a whole machine: the two honest ways to give a [`MemoryMap`] the
//! `'a` it borrows its memories and devices for, and a DMA device that
//! reaches the bus from inside its own register callback.
//!
//! 1. **Firmware**: everything in `static`s, the map too. `'a` is
//!    `'static`, nothing is freed, no heap; the DMA engine names the map
//!    directly.
//! 2. **Host**: a `Board` struct owns the memories and devices; the map is
//!    built over `&` borrows of it and lives no longer than it (here a
//!    local in the function that runs the machine). The DMA engine gets
//!    `&MemoryMap` after the map is built, through a `OnceLock`, because
//!    the map already borrows the engine. (Or leak the memories with
//!    `Box::leak` and use a `MemoryMap<'static>` you can move anywhere.)
//!
//! ```sh
//! cargo run --features std --example machine
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use vm_mem::{
    Access, ErrorKind, MemoryAccess, MemoryMap, MmioDevice, Perms, ShardedMemory, VmError,
};

/// The bus a DMA engine copies over: any map size will do.
trait Bus: Sync {
    fn copy(&self, src: u64, dst: u64, len: u64) -> Result<(), VmError>;
}

impl<const N: usize, const H: usize> Bus for MemoryMap<'_, N, H> {
    /// Copies through the map in 64-byte bursts, as a bus master would:
    /// every burst is checked (mapped, permitted) and may reach devices.
    fn copy(&self, src: u64, dst: u64, len: u64) -> Result<(), VmError> {
        let mut buf = [0u8; 64];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(64) as usize;
            self.read_bytes(src + done, &mut buf[..n])?;
            self.write_bytes(dst + done, &buf[..n])?;
            done += n as u64;
        }
        Ok(())
    }
}

/// A DMA engine: registers SRC (0x0), DST (0x8), LEN (0x10) and GO (0x18);
/// writing GO copies LEN bytes from SRC to DST over the bus, from inside
/// the write callback. A failed copy makes the GO write fail with a
/// device error (the guest would see a bus fault).
struct Dma<'m> {
    bus: OnceLock<&'m dyn Bus>,
    regs: [AtomicU64; 3],
}

impl<'m> Dma<'m> {
    const fn new() -> Self {
        Dma {
            bus: OnceLock::new(),
            regs: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
}

impl MmioDevice for Dma<'_> {
    fn read(&self, offset: u64, _size: usize) -> Result<u64, VmError> {
        Ok(self
            .regs
            .get(offset as usize / 8)
            .map_or(0, |r| r.load(Ordering::Relaxed)))
    }

    fn write(&self, offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        match offset {
            0x18 => {
                let [src, dst, len] = self.regs.each_ref().map(|r| r.load(Ordering::Relaxed));
                let bus = self.bus.get().expect("DMA wired to its bus");
                bus.copy(src, dst, len)
                    .map_err(|_| VmError::new(ErrorKind::Device, Access::Write, offset, size))
            }
            _ => {
                if let Some(r) = self.regs.get(offset as usize / 8) {
                    r.store(value, Ordering::Relaxed);
                }
                Ok(())
            }
        }
    }
}

const RAM_BASE: u64 = 0x2000_0000;
const DMA_BASE: u64 = 0x4002_6000;

/// Programs the DMA engine through the bus, as guest code would: any
/// [`MemoryAccess`] (here `&MemoryMap`) will do.
fn dma_copy(mut bus: impl MemoryAccess, src: u64, dst: u64, len: u64) -> Result<(), VmError> {
    bus.write_u64(DMA_BASE, src)?;
    bus.write_u64(DMA_BASE + 8, dst)?;
    bus.write_u64(DMA_BASE + 0x10, len)?;
    bus.write_u64(DMA_BASE + 0x18, 1)
}

/// 1. Firmware: statics all the way down.
mod firmware {
    use super::*;

    pub static RAM: ShardedMemory<4, 1024> = ShardedMemory::new();
    pub static DMA: Dma<'static> = Dma::new();
    pub static MAP: MemoryMap<'static, 4> = MemoryMap::new();

    pub fn boot() -> Result<(), Box<dyn std::error::Error>> {
        MAP.add_ram("sram", RAM_BASE, 4096, Perms::RW, &RAM)?;
        MAP.add_mmio("dma", DMA_BASE, 0x20, Perms::RW, &DMA)?;
        assert!(DMA.bus.set(&MAP).is_ok(), "wired once");
        MAP.write_bytes(RAM_BASE, b"firmware")?;
        dma_copy(&MAP, RAM_BASE, RAM_BASE + 0x800, 8)?;
        let mut out = [0u8; 8];
        MAP.read_bytes(RAM_BASE + 0x800, &mut out)?;
        println!("firmware: DMA copied {:?}", std::str::from_utf8(&out)?);
        Ok(())
    }
}

/// 2. Host: a struct owns the memories and devices.
struct Board<'m> {
    ram: Box<ShardedMemory<64, 4096>>, // 256 KiB, allocated zeroed on the heap
    dma: Dma<'m>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    firmware::boot()?;

    // The board owns its memories and devices; the map, built after it,
    // borrows them and is dropped first. The DMA engine borrows the map
    // back: the map has no drop glue, so the two may borrow each other.
    let board = Board {
        ram: ShardedMemory::new_boxed(),
        dma: Dma::new(),
    };
    let map: MemoryMap<'_, 4> = MemoryMap::new();
    map.add_ram("ram", RAM_BASE, 0x4_0000, Perms::RW, &*board.ram)?;
    // The top 4 KiB again, read-only, at another address: a window.
    map.add_ram_window(
        "mirror",
        0x3000_0000,
        0x1000,
        Perms::READ,
        &*board.ram,
        0x3_f000,
    )?;
    map.add_mmio("dma", DMA_BASE, 0x20, Perms::RW, &board.dma)?;
    assert!(board.dma.bus.set(&map).is_ok(), "wired once");

    map.write_bytes(RAM_BASE, b"host machine")?;
    dma_copy(&map, RAM_BASE, RAM_BASE + 0x3_f000, 12)?; // into the mirrored page
    let mut out = [0u8; 12];
    map.read_bytes(0x3000_0000, &mut out)?;
    println!(
        "host: DMA copied {:?}, seen through the window",
        std::str::from_utf8(&out)?
    );

    // A DMA copy onto the read-only window fails the guest's GO write.
    let e = dma_copy(&map, RAM_BASE, 0x3000_0000, 4).unwrap_err();
    println!("host: DMA onto read-only memory: {e}");

    // The leaked variant: `'static` memories, so the map can go anywhere
    // (a thread, a struct with no lifetime).
    let ram: &'static ShardedMemory<4, 1024> = Box::leak(ShardedMemory::new_boxed());
    let leaked: &'static MemoryMap<'static, 2> = Box::leak(Box::new(MemoryMap::new()));
    leaked.add_ram("ram", 0, 4096, Perms::RW, ram)?;
    std::thread::spawn(|| leaked.write_u32(0, 7))
        .join()
        .expect("thread")?;
    println!("leaked: {}", leaked.read_u32(0)?);
    Ok(())
}
