//! The thin named typed methods (`read_u8` ... `write_u64_be`, the maps'
//! `fetch_u8` ... `fetch_u64`, the memory's `try_read_*`), generated once
//! for every handle from its one generic `read::<T>` / `write::<T>` (and
//! `load::<T>(addr, access)` on the maps, `try_read::<T>` on the memory).
//! Big-endian is the little-endian access with bytes swapped.

/// Emits the named typed methods of a handle:
/// - `typed_methods!(ADDR, read = RECV, write = RECV)`: `read_u8..read_u64`,
///   `read_u16_be..read_u64_be` and the matching writes, forwarding to
///   `self.read::<T>(addr)` / `self.write::<T>(addr, v)`; `RECV` is the
///   receiver type, `&Self` or `&mut Self` (a macro cannot take `self`
///   from its caller, but it can take `self`'s type);
/// - `typed_methods!(map)`: a map handle's `read`, `fetch` and
///   `fetch_u8..fetch_u64` over its `load(addr, access)`, and the family
///   above at `u64` guest addresses;
/// - `typed_methods!(cached)`: the same for a handle with a page cache (a
///   cursor, an owner map), with its `load` and `write` through the cache;
/// - `typed_methods!(try_read)`: the memory's `try_read_*` over `try_read`.
macro_rules! typed_methods {
    ($addr:ty, read = $r:ty, write = $w:ty) => {
        $crate::typed::typed_methods!(@each $addr, $r, $w,
            [read_u8, write_u8, u8, le], [read_u16, write_u16, u16, le],
            [read_u32, write_u32, u32, le], [read_u64, write_u64, u64, le],
            [read_u16_be, write_u16_be, u16, be], [read_u32_be, write_u32_be, u32, be],
            [read_u64_be, write_u64_be, u64, be]);
    };
    (@each $addr:ty, $r:ty, $w:ty, $([$rn:ident, $wn:ident, $t:ty, $e:ident]),*) => {$(
        #[doc = concat!("Reads a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $rn(self: $r, addr: $addr) -> Result<$t, $crate::VmError> {
            self.read::<$t>(addr).map($crate::typed::typed_methods!(@swap $e, $t))
        }

        #[doc = concat!("Writes `v` as a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $wn(self: $w, addr: $addr, v: $t) -> Result<(), $crate::VmError> {
            self.write::<$t>(addr, $crate::typed::typed_methods!(@swap $e, $t)(v))
        }
    )*};
    (map) => {
        $crate::typed::typed_methods!(u64, read = &Self, write = &Self);

        /// The one typed read behind every `read_*` method: needs
        /// [`Perms::READ`](crate::Perms::READ).
        #[inline(always)]
        pub fn read<T: $crate::Scalar>(&self, addr: u64) -> Result<T, $crate::VmError> {
            self.load(addr, $crate::Access::Read)
        }

        /// The one instruction fetch behind every `fetch_*` method, of any
        /// width (a byte-wise decoder fetches `u8`s): needs
        /// [`Perms::EXEC`](crate::Perms::EXEC), errors report
        /// [`Access::Fetch`](crate::Access::Fetch), fetch hooks see it.
        #[inline(always)]
        pub fn fetch<T: $crate::Scalar>(&self, addr: u64) -> Result<T, $crate::VmError> {
            self.load(addr, $crate::Access::Fetch)
        }

        $crate::typed::typed_methods!(@fetch
            [fetch_u8, u8, "an instruction byte (x86-style variable-length decoders)"],
            [fetch_u16, u16, "a little-endian 16-bit instruction unit (Thumb, RISC-V C)"],
            [fetch_u32, u32, "a little-endian 32-bit instruction word"],
            [fetch_u64, u64, "a little-endian 64-bit instruction bundle"]);
    };
    (cached) => {
        $crate::typed::typed_methods!(map);

        #[inline(always)]
        fn load<T: $crate::Scalar>(&self, addr: u64, access: $crate::Access) -> Result<T, $crate::VmError> {
            self.cached(addr, $crate::map::page_cache::Load(access, core::marker::PhantomData))
        }

        /// The one typed write behind every `write_*` method, as
        /// [`MemoryMap::write`](crate::MemoryMap::write), with the page
        /// cached.
        #[inline(always)]
        pub fn write<T: $crate::Scalar>(&self, addr: u64, v: T) -> Result<(), $crate::VmError> {
            self.cached(addr, $crate::map::page_cache::Store(v))
        }
    };
    (@fetch $([$name:ident, $t:ty, $what:literal]),*) => {$(
        #[doc = concat!("Fetches ", $what, " at `addr`, as [`fetch`](Self::fetch).")]
        #[inline]
        pub fn $name(&self, addr: u64) -> Result<$t, $crate::VmError> {
            self.load(addr, $crate::Access::Fetch)
        }
    )*};
    (try_read) => {
        $crate::typed::typed_methods!(@try
            [try_read_u8, u8, le], [try_read_u16, u16, le], [try_read_u32, u32, le],
            [try_read_u64, u64, le], [try_read_u16_be, u16, be], [try_read_u32_be, u32, be],
            [try_read_u64_be, u64, be]);
    };
    (@try $([$name:ident, $t:ty, $e:ident]),*) => {$(
        #[doc = concat!("Reads a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t),
            "` at `addr` without ever waiting: see [`try_read`](Self::try_read).")]
        #[inline]
        pub fn $name(&self, addr: usize) -> Result<$t, $crate::VmError> {
            self.try_read::<$t>(addr).map($crate::typed::typed_methods!(@swap $e, $t))
        }
    )*};
    (@endian le) => { "little-endian" };
    (@endian be) => { "big-endian" };
    (@swap le, $t:ty) => { core::convert::identity::<$t> };
    (@swap be, $t:ty) => { <$t>::swap_bytes };
}

pub(crate) use typed_methods;
