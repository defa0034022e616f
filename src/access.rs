//! [`MemoryAccess`]: the one accessor trait every memory kind implements,
//! so an interpreter or device model is written once, generic over it.
//!
//! Guest addresses are `u64` here (a 32-bit host can emulate a 64-bit
//! guest); an address that does not fit the host's `usize` is an
//! out-of-bounds error, never truncated. Reads take `&self`, writes
//! `&mut self`. Every handle implements it by value, so one generic
//! `step(&mut handle)` takes each the same way: `ShardedMemory`,
//! `Exclusive`, `Frozen`, `MemoryMap`, `Cursor`, `OwnerMap`. Handles whose
//! writes need no `&mut` (`&ShardedMemory`, `&Frozen`, `&MemoryMap`,
//! `&Cursor`, `&OwnerMap`) implement it too, as `&File` implements `Write`.

use crate::error::{Access, VmError};
use crate::scalar::Scalar;

/// Typed and bulk access to guest memory at `u64` guest addresses.
///
/// An implementor writes five methods: [`read_sized`](Self::read_sized)
/// and [`write_sized`](Self::write_sized) (one access of 1, 2, 4 or 8
/// bytes, the value little-endian in a `u64`), and the bulk
/// [`read_bytes`](Self::read_bytes), [`write_bytes`](Self::write_bytes) and
/// [`fill`](Self::fill). Every named width and endianness (`read_u16`,
/// `write_u64_be`...) and the fetches come from those. vm-mem's own kinds
/// override the named methods too, so each is a direct, inlined access.
/// The defaults of the two groups call each other: implement
/// `read_sized`/`write_sized`, or every named method, or both.
///
/// Dyn-compatible (`&dyn MemoryAccess`, `&mut dyn MemoryAccess`); only the
/// generic helpers [`read_value`](Self::read_value) and
/// [`write_value`](Self::write_value) need `Self: Sized`.
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
/// bump(&mut mem, 0x100)?; // shared, locked
/// assert_eq!(bump(&mut mem.exclusive(), 0x100)?, 2); // exclusive, no locks
/// assert!(bump(&mut mem, 1 << 40).is_err()); // never truncated
///
/// // The map and its handles, the same way.
/// let map: vm_mem::MemoryMap<'_, 2> = vm_mem::MemoryMap::new();
/// map.add_ram("ram", 0x8000_0000, 0x4000, vm_mem::Perms::RW, &mem).unwrap();
/// assert_eq!(bump(&mut map.cpu(), 0x8000_0100)?, 3); // a per-vCPU cursor
/// let mut map = map;
/// assert_eq!(bump(&mut map, 0x8000_0100)?, 4);
/// # Ok::<(), VmError>(())
/// ```
///
/// An adapter in five methods: any memory, seen at a guest base address.
///
/// ```
/// use vm_mem::{Access, ErrorKind, MemoryAccess, ShardedMemory, VmError};
///
/// struct Rebased<M> {
///     inner: M,
///     base: u64,
/// }
///
/// impl<M: MemoryAccess> Rebased<M> {
///     fn at(&self, addr: u64, access: Access, size: usize) -> Result<u64, VmError> {
///         let err = VmError::new(ErrorKind::Unmapped, access, addr, size);
///         addr.checked_sub(self.base).ok_or(err)
///     }
/// }
///
/// impl<M: MemoryAccess> MemoryAccess for Rebased<M> {
///     fn read_sized(&self, addr: u64, size: usize) -> Result<u64, VmError> {
///         self.inner.read_sized(self.at(addr, Access::Read, size)?, size)
///     }
///     fn write_sized(&mut self, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
///         let a = self.at(addr, Access::Write, size)?;
///         self.inner.write_sized(a, size, v)
///     }
///     fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
///         self.inner.read_bytes(self.at(addr, Access::Read, buf.len())?, buf)
///     }
///     fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
///         let a = self.at(addr, Access::Write, buf.len())?;
///         self.inner.write_bytes(a, buf)
///     }
///     fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
///         let a = self.at(addr, Access::Write, len)?;
///         self.inner.fill(a, len, byte)
///     }
/// }
///
/// let mut mem = ShardedMemory::<4, 1024>::new();
/// let mut sram = Rebased { inner: mem.exclusive(), base: 0x2000_0000 };
/// sram.write_u32_be(0x2000_0010, 0x0102_0304)?; // every width and endianness
/// assert_eq!(sram.read_u16(0x2000_0012)?, 0x0403);
/// assert_eq!(sram.read_u8(0x1fff_ffff).unwrap_err().kind(), ErrorKind::Unmapped);
/// let dynamic: &dyn MemoryAccess = &sram; // still dyn-compatible
/// assert_eq!(dynamic.fetch_u16(0x2000_0010)?, 0x0201);
/// assert_eq!(mem.read_u32_be(0x10)?, 0x0102_0304);
/// # Ok::<(), VmError>(())
/// ```
pub trait MemoryAccess {
    /// Reads `size` (1, 2, 4 or 8) bytes at `addr`, little-endian,
    /// zero-extended into a `u64`. Any other size fails with
    /// [`ErrorKind::BadSize`](crate::ErrorKind::BadSize).
    ///
    /// Required: the named reads (`read_u8`...) default to it, so it must
    /// not call them back unless they are overridden too ([`read_by_width`]
    /// does that for a kind that overrides every named read).
    fn read_sized(&self, addr: u64, size: usize) -> Result<u64, VmError>;

    /// Writes the low `size` (1, 2, 4 or 8) bytes of `v` at `addr`,
    /// little-endian. Any other size fails with
    /// [`ErrorKind::BadSize`](crate::ErrorKind::BadSize), writing nothing.
    ///
    /// Required, as [`read_sized`](Self::read_sized) (see [`write_by_width`]).
    fn write_sized(&mut self, addr: u64, size: usize, v: u64) -> Result<(), VmError>;

    /// Copies `buf.len()` bytes at `addr` into `buf`; fails before copying
    /// anything if the range is not all accessible.
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError>;
    /// Copies `buf` to `addr`; fails before writing anything if the range is
    /// not all writable.
    fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), VmError>;
    /// Sets `len` bytes at `addr` to `byte`; fails before writing anything if
    /// the range is not all writable.
    fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), VmError>;

    /// Reads a little-endian `u8` at `addr`.
    #[inline]
    fn read_u8(&self, addr: u64) -> Result<u8, VmError> {
        self.read_sized(addr, 1).map(|v| v as u8)
    }
    /// Reads a little-endian `u16` at `addr`.
    #[inline]
    fn read_u16(&self, addr: u64) -> Result<u16, VmError> {
        self.read_sized(addr, 2).map(|v| v as u16)
    }
    /// Reads a little-endian `u32` at `addr`.
    #[inline]
    fn read_u32(&self, addr: u64) -> Result<u32, VmError> {
        self.read_sized(addr, 4).map(|v| v as u32)
    }
    /// Reads a little-endian `u64` at `addr`.
    #[inline]
    fn read_u64(&self, addr: u64) -> Result<u64, VmError> {
        self.read_sized(addr, 8)
    }
    /// Reads a big-endian `u16` at `addr`.
    #[inline]
    fn read_u16_be(&self, addr: u64) -> Result<u16, VmError> {
        self.read_u16(addr).map(u16::swap_bytes)
    }
    /// Reads a big-endian `u32` at `addr`.
    #[inline]
    fn read_u32_be(&self, addr: u64) -> Result<u32, VmError> {
        self.read_u32(addr).map(u32::swap_bytes)
    }
    /// Reads a big-endian `u64` at `addr`.
    #[inline]
    fn read_u64_be(&self, addr: u64) -> Result<u64, VmError> {
        self.read_u64(addr).map(u64::swap_bytes)
    }
    /// Writes a little-endian `u8` at `addr`.
    #[inline]
    fn write_u8(&mut self, addr: u64, v: u8) -> Result<(), VmError> {
        self.write_sized(addr, 1, u64::from(v))
    }
    /// Writes a little-endian `u16` at `addr`.
    #[inline]
    fn write_u16(&mut self, addr: u64, v: u16) -> Result<(), VmError> {
        self.write_sized(addr, 2, u64::from(v))
    }
    /// Writes a little-endian `u32` at `addr`.
    #[inline]
    fn write_u32(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        self.write_sized(addr, 4, u64::from(v))
    }
    /// Writes a little-endian `u64` at `addr`.
    #[inline]
    fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), VmError> {
        self.write_sized(addr, 8, v)
    }
    /// Writes a big-endian `u16` at `addr`.
    #[inline]
    fn write_u16_be(&mut self, addr: u64, v: u16) -> Result<(), VmError> {
        self.write_u16(addr, v.swap_bytes())
    }
    /// Writes a big-endian `u32` at `addr`.
    #[inline]
    fn write_u32_be(&mut self, addr: u64, v: u32) -> Result<(), VmError> {
        self.write_u32(addr, v.swap_bytes())
    }
    /// Writes a big-endian `u64` at `addr`.
    #[inline]
    fn write_u64_be(&mut self, addr: u64, v: u64) -> Result<(), VmError> {
        self.write_u64(addr, v.swap_bytes())
    }

    /// Fetches an instruction byte at `addr` (variable-length decoders).
    /// Plain memory has no execute permission to check; a map checks it.
    /// Errors report [`Access::Fetch`].
    fn fetch_u8(&self, addr: u64) -> Result<u8, VmError> {
        self.read_u8(addr).map_err(|e| e.with_access(Access::Fetch))
    }

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

    /// Fetches a little-endian 64-bit instruction bundle at `addr`.
    fn fetch_u64(&self, addr: u64) -> Result<u64, VmError> {
        self.read_u64(addr)
            .map_err(|e| e.with_access(Access::Fetch))
    }

    /// Reads any [`Scalar`] width, little-endian.
    fn read_value<T: Scalar>(&self, addr: u64) -> Result<T, VmError>
    where
        Self: Sized,
    {
        read_by_width(self, addr, T::SIZE).map(T::from_u64_truncating)
    }

    /// Writes any [`Scalar`] width, little-endian.
    fn write_value<T: Scalar>(&mut self, addr: u64, v: T) -> Result<(), VmError>
    where
        Self: Sized,
    {
        write_by_width(self, addr, T::SIZE, v.to_u64())
    }
}

/// [`MemoryAccess::read_sized`] for a kind that overrides every named
/// read: calls the one of width `size` (other sizes fail with `BadSize`).
///
/// ```
/// use vm_mem::{read_by_width, ShardedMemory};
///
/// let mem = ShardedMemory::<1, 64>::new();
/// mem.write_u16(2, 0xbeef)?;
/// assert_eq!(read_by_width(&&mem, 2, 2)?, 0xbeef);
/// assert!(read_by_width(&&mem, 2, 3).is_err());
/// # Ok::<(), vm_mem::VmError>(())
/// ```
#[inline(always)]
pub fn read_by_width<M: MemoryAccess + ?Sized>(
    m: &M,
    addr: u64,
    size: usize,
) -> Result<u64, VmError> {
    match size {
        1 => m.read_u8(addr).map(u64::from),
        2 => m.read_u16(addr).map(u64::from),
        4 => m.read_u32(addr).map(u64::from),
        8 => m.read_u64(addr),
        _ => Err(bad_size(Access::Read, addr, size)),
    }
}

/// [`MemoryAccess::write_sized`] for a kind that overrides every named
/// write: calls the one of width `size` with the low bytes of `v` (other
/// sizes fail with `BadSize`, writing nothing).
///
/// ```
/// use vm_mem::{write_by_width, ShardedMemory};
///
/// let mem = ShardedMemory::<1, 64>::new();
/// write_by_width(&mut &mem, 4, 2, 0x1_beef)?;
/// assert_eq!(mem.read_u32(4)?, 0xbeef);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
#[inline(always)]
pub fn write_by_width<M: MemoryAccess + ?Sized>(
    m: &mut M,
    addr: u64,
    size: usize,
    v: u64,
) -> Result<(), VmError> {
    // Truncating casts are the point: the access is `size` bytes wide.
    match size {
        1 => m.write_u8(addr, v as u8),
        2 => m.write_u16(addr, v as u16),
        4 => m.write_u32(addr, v as u32),
        8 => m.write_u64(addr, v),
        _ => Err(bad_size(Access::Write, addr, size)),
    }
}

/// The error of a sized access whose size is not 1, 2, 4 or 8.
#[cold]
#[inline(never)]
fn bad_size(access: Access, addr: u64, size: usize) -> VmError {
    VmError::new(crate::ErrorKind::BadSize, access, addr, size)
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

/// Forwards methods, in three families:
/// - `forward! { whole: fn NAME(self: RECV, ARGS) -> R = WINDOW; ... }`: an
///   `add_*` that maps a whole backing, as its `WINDOW` method (`add_*_window`)
///   at offset 0;
/// - `forward! { updates: fn NAME(&self, ARGS) -> R; ... }`: a map
///   handle's changes, each published as one update (the handle's
///   `update`, which takes a closure over [`MapUpdate`](crate::MapUpdate)),
///   through the [`MapUpdate`](crate::MapUpdate) method of the same name;
/// - `forward!(guest(BULK), DEREFS)` and `forward!(host(SIZE), DEREFS)`:
///   the body of a handle's [`MemoryAccess`] impl, below.
///
/// The body of a handle's [`MemoryAccess`] impl: every method forwards to
/// the handle's inherent one of the same name, reached through the
/// dereferences `[$($d)*]` (`[*]` for the handle by value, `[**]` for a
/// reference to it). Addresses are passed on as they are (`guest`: the
/// maps, whose `fetch_*` check execute permission) or converted to the
/// memory's `usize` offsets without truncation (`host(SIZE)`: the memories,
/// `OutOfBounds` past `SIZE`; their fetches are the trait's reads).
macro_rules! forward {
    (whole: $($(#[$m:meta])* fn $name:ident $(<$(const $c:ident: $ct:ty),*>)?
        (self: $recv:ty $(, $a:ident: $t:ty)*) -> $r:ty = $window:ident;)*) => {$(
        $(#[$m])*
        pub fn $name $(<$(const $c: $ct),*>)? (self: $recv $(, $a: $t)*) -> $r {
            self.$window($($a,)* 0)
        }
    )*};
    (updates: $($(#[$m:meta])* fn $name:ident $(<$(const $c:ident: $ct:ty),*>)?
        (&self $(, $a:ident: $t:ty)*) -> $r:ty;)*) => {$(
        $(#[$m])*
        pub fn $name $(<$(const $c: $ct),*>)? (&self $(, $a: $t)*) -> $r {
            self.update(|u| u.$name($($a),*))
        }
    )*};
    (guest($bulk:ident), $d:tt) => {
        $crate::access::forward!(@all (guest), $d);

        #[inline]
        fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), $crate::VmError> {
            $bulk::read_bytes(self, addr, buf)
        }

        #[inline]
        fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), $crate::VmError> {
            $bulk::write_bytes(self, addr, buf)
        }

        #[inline]
        fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), $crate::VmError> {
            $bulk::fill(self, addr, len, byte)
        }
        $crate::access::forward!(@r (guest), $d, Fetch,
            fetch_u8 1 u8, fetch_u16 2 u16, fetch_u32 4 u32, fetch_u64 8 u64);
    };
    (host($limit:expr), $d:tt) => {
        $crate::access::forward!(@all (host($limit)), $d);

        #[inline]
        fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), $crate::VmError> {
            let a = $crate::access::host_addr(addr, $crate::Access::Read, buf.len(), $limit)?;
            $crate::access::forward!(@deref $d, self).read_bytes(a, buf)
        }

        #[inline]
        fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), $crate::VmError> {
            let a = $crate::access::host_addr(addr, $crate::Access::Write, buf.len(), $limit)?;
            $crate::access::forward!(@deref $d, self).write_bytes(a, buf)
        }

        #[inline]
        fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), $crate::VmError> {
            let a = $crate::access::host_addr(addr, $crate::Access::Write, len, $limit)?;
            $crate::access::forward!(@deref $d, self).fill(a, len, byte)
        }
    };
    (@all $mode:tt, $d:tt) => {
        #[inline]
        fn read_sized(&self, addr: u64, size: usize) -> Result<u64, $crate::VmError> {
            $crate::access::read_by_width(self, addr, size)
        }

        #[inline]
        fn write_sized(&mut self, addr: u64, size: usize, v: u64) -> Result<(), $crate::VmError> {
            $crate::access::write_by_width(self, addr, size, v)
        }

        $crate::access::forward!(@r $mode, $d, Read,
            read_u8 1 u8, read_u16 2 u16, read_u32 4 u32, read_u64 8 u64,
            read_u16_be 2 u16, read_u32_be 4 u32, read_u64_be 8 u64);
        $crate::access::forward!(@w $mode, $d,
            write_u8 1 u8, write_u16 2 u16, write_u32 4 u32, write_u64 8 u64,
            write_u16_be 2 u16, write_u32_be 4 u32, write_u64_be 8 u64);
    };
    (@r $mode:tt, $d:tt, $acc:ident, $($name:ident $size:literal $t:ty),*) => {$(
        #[inline]
        fn $name(&self, addr: u64) -> Result<$t, $crate::VmError> {
            let a = $crate::access::forward!(@at $mode, addr, $acc, $size);
            $crate::access::forward!(@deref $d, self).$name(a)
        }
    )*};
    (@w $mode:tt, $d:tt, $($name:ident $size:literal $t:ty),*) => {$(
        #[inline]
        fn $name(&mut self, addr: u64, v: $t) -> Result<(), $crate::VmError> {
            let a = $crate::access::forward!(@at $mode, addr, Write, $size);
            $crate::access::forward!(@deref $d, self).$name(a, v)
        }
    )*};
    (@deref [$($star:tt)*], $x:expr) => {
        ($($star)* $x)
    };
    (@at (guest), $addr:ident, $acc:ident, $size:expr) => {
        $addr
    };
    (@at (host($limit:expr)), $addr:ident, $acc:ident, $size:expr) => {
        $crate::access::host_addr($addr, $crate::Access::$acc, $size, $limit)?
    };
}

pub(crate) use forward;
