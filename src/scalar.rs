//! The access widths vm-mem moves: `u8`, `u16`, `u32` and `u64`.
//!
//! [`Scalar`] is sealed: every typed access of the crate is written once,
//! generic over it, and the named methods (`read_u32`, `write_u16_be`, ...)
//! are thin wrappers. Guest memory is little-endian in host memory on every
//! host; a big-endian access is the little-endian one with its bytes swapped.

pub(crate) mod sealed {
    /// Keeps [`Scalar`](super::Scalar) and [`GuestInt`](crate::GuestInt) vm-mem's own.
    pub trait Sealed {}
}

/// An unsigned integer that guest memory can load and store: `u8`, `u16`,
/// `u32` or `u64`. Sealed: it cannot be implemented outside vm-mem.
///
/// ```
/// use vm_mem::Scalar;
/// assert_eq!(<u32 as Scalar>::SIZE, 4);
/// assert_eq!(u32::load_le(&[1, 2, 3, 4, 5]), Some(0x0403_0201));
/// assert_eq!(u32::load_le(&[1, 2, 3]), None);
/// ```
pub trait Scalar:
    sealed::Sealed
    + Copy
    + Eq
    + Ord
    + Default
    + core::fmt::Debug
    + core::hash::Hash
    + Send
    + Sync
    + 'static
{
    /// Width in bytes (1, 2, 4 or 8).
    const SIZE: usize;
    /// The all-zero value.
    const ZERO: Self;

    /// Loads `Self` from the first `SIZE` bytes of `src`, little-endian;
    /// `None` if `src` is shorter. Never panics.
    fn load_le(src: &[u8]) -> Option<Self>;

    /// Stores `self` little-endian into the first `SIZE` bytes of `dst`;
    /// `None` (nothing written) if `dst` is shorter. Never panics.
    fn store_le(self, dst: &mut [u8]) -> Option<()>;

    /// Reverses the byte order (`u8` stays as it is).
    fn swap_bytes(self) -> Self;

    /// Zero-extends `self` to a `u64`.
    fn to_u64(self) -> u64;

    /// Truncates `v` to `Self` (keeps the low `SIZE` bytes).
    fn from_u64_truncating(v: u64) -> Self;
}

/// An integer a guest atomic works on: `u8`..`u64`, and `i8`..`i64` for
/// the signed minimum and maximum (RISC-V `AMOMIN`/`AMOMAX`, x86 has none).
/// A signed value is stored as its unsigned bits of the same width.
/// Sealed: it cannot be implemented outside vm-mem.
///
/// ```
/// let mem: vm_mem::ShardedMemory<1, 64> = vm_mem::ShardedMemory::new();
/// mem.write_u32(0, 5)?;
/// assert_eq!(mem.fetch_min::<i32>(0, -1)?, 5); // signed: -1 < 5
/// assert_eq!(mem.read_u32(0)?, u32::MAX);
/// assert_eq!(mem.fetch_min::<u32>(0, 7)?, u32::MAX); // unsigned: 7 < MAX
/// assert_eq!(mem.read_u32(0)?, 7);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub trait GuestInt: sealed::Sealed + IntOps + Copy + Ord + core::fmt::Debug + 'static {
    /// The unsigned type of the same width, as guest memory holds it.
    type Bits: Scalar;
    /// The value's bits (`as` between same-width integers keeps them).
    fn to_bits(self) -> Self::Bits;
    /// The value these bits hold.
    fn from_bits(bits: Self::Bits) -> Self;
}

/// The operations of the atomics, vm-mem's own (unnameable outside it).
pub trait IntOps: Sized {
    /// `self + v`, wrapping.
    fn wrapping_add(self, v: Self) -> Self;
    /// `self - v`, wrapping.
    fn wrapping_sub(self, v: Self) -> Self;
    /// The bitwise operation `op` of `self` and `v`.
    fn bits(self, op: Bits, v: Self) -> Self;
}

/// A bitwise operation of a guest atomic.
#[derive(Clone, Copy)]
pub enum Bits {
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
}

/// Implements [`Scalar`] (and [`GuestInt`] with itself as the bits) for
/// each unsigned width, and [`GuestInt`] over the unsigned bits of the
/// same width for each signed one.
macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            const ZERO: Self = 0;

            #[inline(always)]
            fn load_le(src: &[u8]) -> Option<Self> {
                src.first_chunk().map(|b| <$t>::from_le_bytes(*b))
            }

            #[inline(always)]
            fn store_le(self, dst: &mut [u8]) -> Option<()> {
                dst.first_chunk_mut().map(|b| *b = self.to_le_bytes())
            }

            #[inline(always)]
            fn swap_bytes(self) -> Self {
                <$t>::swap_bytes(self)
            }

            #[inline(always)]
            fn to_u64(self) -> u64 {
                u64::from(self)
            }

            #[inline(always)]
            fn from_u64_truncating(v: u64) -> Self {
                // Truncation is the point: the guest asked for SIZE bytes.
                v as $t
            }
        }
        scalar!(@int $t, $t);
    )*};
    (@int $t:ty, $bits:ty) => {
        impl GuestInt for $t {
            type Bits = $bits;

            #[inline(always)]
            fn to_bits(self) -> $bits {
                // Same width: `as` keeps the bits.
                self as $bits
            }

            #[inline(always)]
            fn from_bits(bits: $bits) -> Self {
                bits as $t
            }
        }
        impl IntOps for $t {
            #[inline(always)]
            fn wrapping_add(self, v: Self) -> Self {
                <$t>::wrapping_add(self, v)
            }

            #[inline(always)]
            fn wrapping_sub(self, v: Self) -> Self {
                <$t>::wrapping_sub(self, v)
            }

            #[inline(always)]
            fn bits(self, op: Bits, v: Self) -> Self {
                match op {
                    Bits::And => self & v,
                    Bits::Or => self | v,
                    Bits::Xor => self ^ v,
                }
            }
        }
    };
    ($(signed $t:ty as $bits:ty),*) => {$(
        impl sealed::Sealed for $t {}
        scalar!(@int $t, $bits);
    )*};
}

scalar!(u8, u16, u32, u64);
scalar!(signed i8 as u8, signed i16 as u16, signed i32 as u32, signed i64 as u64);

/// Whether `size` is a width vm-mem moves: 1, 2, 4 or 8.
#[inline(always)]
const fn is_width(size: usize) -> bool {
    size.is_power_of_two() && size <= 8
}

/// Loads `size` (1, 2, 4 or 8) bytes little-endian from the start of `src`,
/// zero-extended; `None` if `src` is shorter or the size is not one of
/// those. The width is data, not a `match`: with a constant `size` (after
/// inlining) this is one load; without, one short copy serves every width.
#[inline(always)]
pub(crate) fn load_sized(src: &[u8], size: usize) -> Option<u64> {
    if !is_width(size) {
        return None;
    }
    let mut le = [0u8; 8];
    le.get_mut(..size)?.copy_from_slice(src.get(..size)?);
    Some(u64::from_le_bytes(le))
}

/// Stores the low `size` (1, 2, 4 or 8) bytes of `v` little-endian at the
/// start of `dst`; `None` (nothing stored) if `dst` is shorter or the size
/// is not one of those.
#[inline(always)]
pub(crate) fn store_sized(dst: &mut [u8], size: usize, v: u64) -> Option<()> {
    if !is_width(size) {
        return None;
    }
    dst.get_mut(..size)?
        .copy_from_slice(v.to_le_bytes().get(..size)?);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::Scalar;

    #[test]
    fn load_store_round_trip_every_width() {
        let mut buf = [0u8; 9];
        assert_eq!(0xdead_beef_u32.store_le(&mut buf[1..]), Some(()));
        assert_eq!(buf[1..5], 0xdead_beef_u32.to_le_bytes());
        assert_eq!(u32::load_le(&buf[1..]), Some(0xdead_beef));
        assert_eq!(u64::load_le(&buf[2..]), None);
        assert_eq!(1u64.store_le(&mut buf[2..]), None);
        assert_eq!(
            buf[1..5],
            0xdead_beef_u32.to_le_bytes(),
            "short store wrote nothing"
        );
    }
}
