//! [`MemoryAccess`]: the one accessor trait every memory kind implements,
//! so an interpreter or device model is written once, generic over it.
//!
//! Guest addresses are `u64` here (a 32-bit host can emulate a 64-bit
//! guest); an address that does not fit the host's `usize` is an
//! out-of-bounds error, never truncated. Reads take `&self`, writes
//! `&mut self`; shared handles (`&ShardedMemory`, `&Frozen`, `&MemoryMap`)
//! implement it too, as `&File` implements `Write`.

use crate::error::{Access, VmError};
use crate::scalar::Scalar;

/// Typed and bulk access to guest memory at `u64` guest addresses.
///
/// Dyn-compatible: the required methods are the per-width and bulk ones;
/// the generic helpers need `Self: Sized`.
///
/// ```
/// use vm_mem::{MemoryAccess, ShardedMemory, VmError};
///
/// /// A toy interpreter step, written once for every memory kind.
/// fn bump<M: MemoryAccess>(mem: &mut M, addr: u64) -> Result<u32, VmError> {
///     let v = mem.read_u32(addr)? + 1;
///     mem.write_u32(addr, v)?;
///     Ok(v)
/// }
///
/// let mut mem: ShardedMemory<4, 4096> = ShardedMemory::new();
/// bump(&mut &mem, 0x100)?; // shared, locked
/// assert_eq!(bump(&mut mem.exclusive(), 0x100)?, 2); // exclusive, no locks
/// assert!(bump(&mut &mem, 1 << 40).is_err()); // never truncated
/// # Ok::<(), VmError>(())
/// ```
pub trait MemoryAccess {
    /// Reads a little-endian `u8` at `addr`.
    fn read_u8(&self, addr: u64) -> Result<u8, VmError>;
    /// Reads a little-endian `u16` at `addr`.
    fn read_u16(&self, addr: u64) -> Result<u16, VmError>;
    /// Reads a little-endian `u32` at `addr`.
    fn read_u32(&self, addr: u64) -> Result<u32, VmError>;
    /// Reads a little-endian `u64` at `addr`.
    fn read_u64(&self, addr: u64) -> Result<u64, VmError>;
    /// Reads a big-endian `u16` at `addr`.
    fn read_u16_be(&self, addr: u64) -> Result<u16, VmError>;
    /// Reads a big-endian `u32` at `addr`.
    fn read_u32_be(&self, addr: u64) -> Result<u32, VmError>;
    /// Reads a big-endian `u64` at `addr`.
    fn read_u64_be(&self, addr: u64) -> Result<u64, VmError>;
    /// Writes a little-endian `u8` at `addr`.
    fn write_u8(&mut self, addr: u64, v: u8) -> Result<(), VmError>;
    /// Writes a little-endian `u16` at `addr`.
    fn write_u16(&mut self, addr: u64, v: u16) -> Result<(), VmError>;
    /// Writes a little-endian `u32` at `addr`.
    fn write_u32(&mut self, addr: u64, v: u32) -> Result<(), VmError>;
    /// Writes a little-endian `u64` at `addr`.
    fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), VmError>;
    /// Writes a big-endian `u16` at `addr`.
    fn write_u16_be(&mut self, addr: u64, v: u16) -> Result<(), VmError>;
    /// Writes a big-endian `u32` at `addr`.
    fn write_u32_be(&mut self, addr: u64, v: u32) -> Result<(), VmError>;
    /// Writes a big-endian `u64` at `addr`.
    fn write_u64_be(&mut self, addr: u64, v: u64) -> Result<(), VmError>;
    /// Copies `buf.len()` bytes at `addr` into `buf`; fails before copying
    /// anything if the range is not all accessible.
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError>;
    /// Copies `buf` to `addr`; fails before writing anything if the range is
    /// not all writable.
    fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), VmError>;
    /// Sets `len` bytes at `addr` to `byte`; fails before writing anything if
    /// the range is not all writable.
    fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), VmError>;

    /// Fetches a little-endian 16-bit instruction unit at `addr` (Thumb,
    /// RISC-V C). Plain memory has no execute permission to check; a map
    /// checks it. Errors report [`Access::Fetch`].
    fn fetch_u16(&self, addr: u64) -> Result<u16, VmError> {
        self.read_u16(addr)
            .map_err(|e| e.with_access(Access::Fetch))
    }

    /// Fetches a little-endian 32-bit instruction word at `addr`.
    fn fetch_u32(&self, addr: u64) -> Result<u32, VmError> {
        self.read_u32(addr)
            .map_err(|e| e.with_access(Access::Fetch))
    }

    /// Reads any [`Scalar`] width, little-endian.
    fn read_value<T: Scalar>(&self, addr: u64) -> Result<T, VmError>
    where
        Self: Sized,
    {
        let v = match T::SIZE {
            1 => self.read_u8(addr)?.to_u64(),
            2 => self.read_u16(addr)?.to_u64(),
            4 => self.read_u32(addr)?.to_u64(),
            _ => self.read_u64(addr)?,
        };
        Ok(T::from_u64_truncating(v))
    }

    /// Writes any [`Scalar`] width, little-endian.
    fn write_value<T: Scalar>(&mut self, addr: u64, v: T) -> Result<(), VmError>
    where
        Self: Sized,
    {
        let v = v.to_u64();
        match T::SIZE {
            1 => self.write_u8(addr, v as u8),
            2 => self.write_u16(addr, v as u16),
            4 => self.write_u32(addr, v as u32),
            _ => self.write_u64(addr, v),
        }
    }
}

/// Converts a `u64` guest address to a host offset, or reports it out of
/// bounds of a memory of `limit` bytes: never truncates.
#[inline(always)]
pub(crate) fn host_addr(
    addr: u64,
    access: Access,
    size: usize,
    limit: usize,
) -> Result<usize, VmError> {
    match usize::try_from(addr) {
        Ok(a) => Ok(a),
        Err(_) => Err(out_of_host(addr, access, size, limit)),
    }
}

#[cold]
#[inline(never)]
fn out_of_host(addr: u64, access: Access, size: usize, limit: usize) -> VmError {
    VmError::new(
        crate::ErrorKind::OutOfBounds {
            limit: limit as u64,
        },
        access,
        addr,
        size,
    )
}

/// Implements [`MemoryAccess`] for a `usize`-addressed memory kind by
/// forwarding to its inherent named methods (`$ty` must have them, plus
/// `read_bytes`, `write_bytes`, `fill`; `$limit` is its size in bytes).
/// The last argument is the dereferences that reach the inherent receiver:
/// `[**]` for `&Memory`, `[*]` for an owned view.
macro_rules! forward_memory_access {
    ([$($gen:tt)*] $ty:ty, $limit:expr, [$($d:tt)*]) => {
        impl<$($gen)*> $crate::access::MemoryAccess for $ty {
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u8, u8, 1);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u16, u16, 2);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u32, u32, 4);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u64, u64, 8);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u16_be, u16, 2);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u32_be, u32, 4);
            $crate::access::forward_memory_access!(@r [$($d)*] $limit, read_u64_be, u64, 8);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u8, u8, 1);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u16, u16, 2);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u32, u32, 4);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u64, u64, 8);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u16_be, u16, 2);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u32_be, u32, 4);
            $crate::access::forward_memory_access!(@w [$($d)*] $limit, write_u64_be, u64, 8);

            #[inline]
            fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), $crate::VmError> {
                let a = $crate::access::host_addr(addr, $crate::Access::Read, buf.len(), $limit)?;
                ($($d)* self).read_bytes(a, buf)
            }

            #[inline]
            fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), $crate::VmError> {
                let a = $crate::access::host_addr(addr, $crate::Access::Write, buf.len(), $limit)?;
                ($($d)* self).write_bytes(a, buf)
            }

            #[inline]
            fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), $crate::VmError> {
                let a = $crate::access::host_addr(addr, $crate::Access::Write, len, $limit)?;
                ($($d)* self).fill(a, len, byte)
            }
        }
    };
    (@r [$($d:tt)*] $limit:expr, $name:ident, $t:ty, $size:expr) => {
        #[inline]
        fn $name(&self, addr: u64) -> Result<$t, $crate::VmError> {
            let a = $crate::access::host_addr(addr, $crate::Access::Read, $size, $limit)?;
            ($($d)* self).$name(a)
        }
    };
    (@w [$($d:tt)*] $limit:expr, $name:ident, $t:ty, $size:expr) => {
        #[inline]
        fn $name(&mut self, addr: u64, v: $t) -> Result<(), $crate::VmError> {
            let a = $crate::access::host_addr(addr, $crate::Access::Write, $size, $limit)?;
            ($($d)* self).$name(a, v)
        }
    };
}

pub(crate) use forward_memory_access;
