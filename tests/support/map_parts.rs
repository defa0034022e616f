//! Pieces shared by the two map model tests (`map_model.rs`,
//! `map_hooks_model.rs`): region kinds, the recording device, a model
//! region, and the device calls an access must make.

use std::sync::Mutex;
use vm_mem::{ErrorKind, MmioDevice, Perms, VmError};

/// Bytes of the recording device.
pub const DEV: usize = 512;

/// What backs a model region: two RAMs, a ROM, the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum K {
    RamA,
    RamB,
    Rom,
    Dev,
}

/// A register file that records its calls.
pub struct RegFile {
    pub bytes: Mutex<[u8; DEV]>,
    pub calls: Mutex<Vec<(u64, usize)>>,
}

impl MmioDevice for RegFile {
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        self.calls.lock().unwrap().push((offset, size));
        let b = self.bytes.lock().unwrap();
        let o = offset as usize;
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(&b[o..o + size]);
        Ok(u64::from_le_bytes(le))
    }
    fn write(&self, offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        self.calls.lock().unwrap().push((offset, size));
        let o = offset as usize;
        self.bytes.lock().unwrap()[o..o + size].copy_from_slice(&value.to_le_bytes()[..size]);
        Ok(())
    }
}

/// A region of the model map.
#[derive(Clone, Copy, Debug)]
pub struct MRegion {
    pub kind: K,
    pub base: u64,
    pub len: u64,
    pub perms: Perms,
    pub name: &'static str,
}

/// The region of `regions` holding byte `addr` (a `u128`, so that bytes
/// past the top of the address space are holes).
pub fn region_at(regions: &[MRegion], addr: u128) -> Option<MRegion> {
    regions
        .iter()
        .copied()
        .find(|r| u128::from(r.base) <= addr && addr < u128::from(r.base) + u128::from(r.len))
}

/// The regions of an access's bytes `addr..addr + len`, one per byte, or
/// the error it fails with before permissions count: bytes past the top
/// (`WrapsAround`), a byte in a hole (`Unmapped`), or, for a typed access, a device's bytes
/// next to another region's (`CrossesRegion`).
pub fn bytes_regions(
    regions: &[MRegion],
    addr: u64,
    len: usize,
    typed: bool,
) -> Result<Vec<MRegion>, (ErrorKind, u64)> {
    // Past the top of the address space: that kind first, whatever holes
    // come before it, at the access's first byte.
    if len > 0 && u128::from(addr) + len as u128 > 1 << 64 {
        return Err((ErrorKind::WrapsAround, addr));
    }
    let mut per_byte = Vec::new();
    for i in 0..len as u128 {
        let a = u128::from(addr) + i;
        match (a < 1 << 64).then(|| region_at(regions, a)).flatten() {
            Some(r) => per_byte.push(r),
            None => return Err((ErrorKind::Unmapped, a as u64)),
        }
    }
    if typed {
        for (i, w) in per_byte.windows(2).enumerate() {
            let boundary = w[0].name != w[1].name || w[0].base != w[1].base;
            if boundary && (w[0].kind == K::Dev || w[1].kind == K::Dev) {
                // The first byte past the boundary.
                return Err((ErrorKind::CrossesRegion, addr + i as u64 + 1));
            }
        }
    }
    Ok(per_byte)
}

/// Expected device calls of an access whose bytes lie in `per_byte`
/// (typed: one call per device part; bulk: naturally aligned chunks).
pub fn calls(per_byte: &[MRegion], addr: u64, typed: bool) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < per_byte.len() {
        let r = per_byte[i];
        let mut j = i;
        while j < per_byte.len() && per_byte[j].base == r.base {
            j += 1;
        }
        if r.kind == K::Dev {
            let mut pos = i;
            while pos < j {
                let a = addr + pos as u64;
                let rest = j - pos;
                let s = if typed {
                    rest
                } else {
                    [8usize, 4, 2, 1]
                        .into_iter()
                        .find(|&s| a.is_multiple_of(s as u64) && s <= rest)
                        .unwrap()
                };
                out.push((a - r.base, s));
                pos += s;
            }
        }
        i = j;
    }
    out
}
