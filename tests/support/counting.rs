//! The stub device of the machine tests (`machine.rs`, `machine_demand.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use vm_mem::{MmioDevice, VmError};

/// A device without snapshot state that counts the accesses it serves;
/// a read returns its offset, so a test sees where it landed.
pub struct Counting(AtomicUsize);

impl Counting {
    /// A device that has served nothing (`const`, for a `static`).
    pub const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Reads and writes served so far.
    pub fn accesses(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Counting {
    fn default() -> Self {
        Self::new()
    }
}

impl MmioDevice for Counting {
    fn read(&self, off: u64, _: usize) -> Result<u64, VmError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(off)
    }
    fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
