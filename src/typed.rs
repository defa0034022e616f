//! The thin named typed methods (`read_u8` ... `write_u64_be`), generated
//! once for every memory kind from its one generic `read::<T>` /
//! `write::<T>`. Big-endian is the little-endian access with bytes swapped.

/// Emits `read_u8..read_u64`, `read_u16_be..read_u64_be` and the matching
/// writes, forwarding to `self.read::<T>(addr)` / `self.write::<T>(addr, v)`.
/// `read = ref|mut` and `write = ref|mut` pick `&self` or `&mut self`
/// (a macro cannot take `self` from its caller).
macro_rules! typed_methods {
    ($addr:ty, read = $r:ident, write = $w:ident) => {
        $crate::typed::typed_methods!(@each $addr, $r, $w,
            [read_u8, write_u8, u8, le], [read_u16, write_u16, u16, le],
            [read_u32, write_u32, u32, le], [read_u64, write_u64, u64, le],
            [read_u16_be, write_u16_be, u16, be], [read_u32_be, write_u32_be, u32, be],
            [read_u64_be, write_u64_be, u64, be]);
    };
    (@each $addr:ty, $r:ident, $w:ident, $([$rn:ident, $wn:ident, $t:ty, $e:ident]),*) => {$(
        $crate::typed::typed_methods!(@read $r, $addr, $rn, $t, $e);
        $crate::typed::typed_methods!(@write $w, $addr, $wn, $t, $e);
    )*};
    (@read ref, $addr:ty, $name:ident, $t:ty, $e:ident) => {
        #[doc = concat!("Reads a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $name(&self, addr: $addr) -> Result<$t, $crate::VmError> {
            self.read::<$t>(addr).map($crate::typed::typed_methods!(@swap $e, $t))
        }
    };
    (@read mut, $addr:ty, $name:ident, $t:ty, $e:ident) => {
        #[doc = concat!("Reads a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $name(&mut self, addr: $addr) -> Result<$t, $crate::VmError> {
            self.read::<$t>(addr).map($crate::typed::typed_methods!(@swap $e, $t))
        }
    };
    (@write ref, $addr:ty, $name:ident, $t:ty, $e:ident) => {
        #[doc = concat!("Writes `v` as a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $name(&self, addr: $addr, v: $t) -> Result<(), $crate::VmError> {
            self.write::<$t>(addr, $crate::typed::typed_methods!(@swap $e, $t)(v))
        }
    };
    (@write mut, $addr:ty, $name:ident, $t:ty, $e:ident) => {
        #[doc = concat!("Writes `v` as a ", $crate::typed::typed_methods!(@endian $e), " `", stringify!($t), "` at `addr`.")]
        #[inline]
        pub fn $name(&mut self, addr: $addr, v: $t) -> Result<(), $crate::VmError> {
            self.write::<$t>(addr, $crate::typed::typed_methods!(@swap $e, $t)(v))
        }
    };
    (@endian le) => { "little-endian" };
    (@endian be) => { "big-endian" };
    (@swap le, $t:ty) => { core::convert::identity::<$t> };
    (@swap be, $t:ty) => { <$t>::swap_bytes };
}

pub(crate) use typed_methods;
