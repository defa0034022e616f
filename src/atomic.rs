//! Guest atomics: compare-exchange, swap and fetch-and-op, generic over
//! [`GuestInt`] (`u8`..`u64`, and `i8`..`i64` for the signed minimum and
//! maximum), little-endian, as ARM LDREX/STREX and LSE, RISC-V AMOs and LR/SC, and x86
//! `LOCK`-prefixed instructions need them.
//!
//! Each operation holds the write lock of its shard (both shards, ascending,
//! for a straddling one) for the whole read-modify-write, so it is atomic
//! with respect to every other vm-mem access to the same bytes. On the
//! [`Exclusive`](crate::Exclusive) view the same names are plain
//! read-modify-writes with no atomics. A failed compare-exchange stores
//! nothing and marks nothing dirty.

use crate::error::{Access, VmError};
use crate::exclusive::Exclusive;
use crate::memory::Rmw;
use crate::memory::ShardedMemory;
use crate::scalar::Scalar;

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// The one guest read-modify-write behind every atomic method: under the
    /// write lock(s), loads the old value, stores `f(old)` unless it is
    /// `None`, and returns the old value. Errors report [`Access::Atomic`].
    ///
    /// `f` runs while the value's shard (both shards, if it straddles) is
    /// write-locked, and with feature `critical-section` inside a critical
    /// section (interrupts masked on a single core): keep it short, and do
    /// not touch **this memory** from it. A write, atomic, bulk access,
    /// snapshot, restore or `freeze` of a locked shard from inside `f`, through
    /// the memory, a batch or a map, waits for ever on the lock `f`'s own call
    /// holds. `f` is given the old value only, no handle on the memory, so
    /// the named atomics (and any closure that captures no memory handle)
    /// cannot re-enter.
    ///
    /// ```
    /// let mem: vm_mem::ShardedMemory<2, 64> = vm_mem::ShardedMemory::new();
    /// mem.write_u32(62, 5)?; // straddles
    /// let old = mem.fetch_update(62, |v: u32| Some(v * 3))?;
    /// assert_eq!((old, mem.read_u32(62)?), (5, 15));
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    #[inline]
    pub fn fetch_update<T: Scalar>(
        &self,
        addr: usize,
        f: impl FnOnce(T) -> Option<T>,
    ) -> Result<T, VmError> {
        let mut f = Some(f);
        self.fetch_update_sized(addr, T::SIZE, &mut |old| {
            (f.take()?)(T::from_u64_truncating(old)).map(T::to_u64)
        })
        .map(T::from_u64_truncating)
    }

    /// `fetch_update` with the size and the operation as data: one copy in
    /// the binary serves every named atomic (they cost a lock anyway).
    #[inline(never)]
    pub(crate) fn fetch_update_sized(
        &self,
        addr: usize,
        size: usize,
        f: Rmw<'_>,
    ) -> Result<u64, VmError> {
        self.update::<true>(Access::Atomic, addr, size, f)
    }

    crate::atomic::atomic_methods!(&Self, usize);
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Exclusive<'_, SHARDS, SHARD_SIZE> {
    /// The exclusive view's read-modify-write: plain loads and stores, no
    /// atomics. Same contract as [`ShardedMemory::fetch_update`].
    #[inline]
    pub fn fetch_update<T: Scalar>(
        &mut self,
        addr: usize,
        f: impl FnOnce(T) -> Option<T>,
    ) -> Result<T, VmError> {
        let old = self
            .read::<T>(addr)
            .map_err(|e| e.with_access(Access::Atomic))?;
        // A frozen memory refuses atomics even when they would store nothing
        // (a failing compare-exchange), as the shared memory does.
        self.check_writable(Access::Atomic, addr, T::SIZE)?;
        match f(old) {
            Some(new) => self
                .write(addr, new)
                .map(|()| old)
                .map_err(|e| e.with_access(Access::Atomic)),
            None => Ok(old),
        }
    }

    crate::atomic::atomic_methods!(&mut Self, usize);
}

/// Emits the generic guest atomics (`compare_exchange`, `swap`,
/// `fetch_add`, ...) over the handle's `fetch_update`, with receiver
/// `&Self` or `&mut Self` and addresses of type `usize` (the memories) or
/// `u64` (the maps).
macro_rules! atomic_methods {
    ($r:ty, $addr:ty) => {
        $crate::atomic::atomic_methods!(@cx $r, $addr);
        $crate::atomic::atomic_methods!(@op $r, $addr, swap, "Stores `v` and returns the old value.", |_old, v| v,
            "swap_u8", "swap_u16", "swap_u32", "swap_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_add, "Adds `v` (wrapping) and returns the old value.",
            |old: T, v| old.wrapping_add(v), "fetch_add_u8", "fetch_add_u16", "fetch_add_u32", "fetch_add_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_sub, "Subtracts `v` (wrapping) and returns the old value.",
            |old: T, v| old.wrapping_sub(v), "fetch_sub_u8", "fetch_sub_u16", "fetch_sub_u32", "fetch_sub_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_and, "Bitwise AND with `v`; returns the old value.",
            |old: T, v| old.bits($crate::scalar::Bits::And, v), "fetch_and_u8", "fetch_and_u16", "fetch_and_u32", "fetch_and_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_or, "Bitwise OR with `v`; returns the old value.",
            |old: T, v| old.bits($crate::scalar::Bits::Or, v), "fetch_or_u8", "fetch_or_u16", "fetch_or_u32", "fetch_or_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_xor, "Bitwise XOR with `v`; returns the old value.",
            |old: T, v| old.bits($crate::scalar::Bits::Xor, v), "fetch_xor_u8", "fetch_xor_u16", "fetch_xor_u32", "fetch_xor_u64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_min,
            "Stores the minimum of the old value and `v` (signed for `i8`..`i64`, as RISC-V `AMOMIN`); returns the old value.",
            |old: T, v| old.min(v), "fetch_min_u8", "fetch_min_u16", "fetch_min_u32", "fetch_min_u64",
            "fetch_min_i8", "fetch_min_i16", "fetch_min_i32", "fetch_min_i64");
        $crate::atomic::atomic_methods!(@op $r, $addr, fetch_max,
            "Stores the maximum of the old value and `v` (signed for `i8`..`i64`, as RISC-V `AMOMAX`); returns the old value.",
            |old: T, v| old.max(v), "fetch_max_u8", "fetch_max_u16", "fetch_max_u32", "fetch_max_u64",
            "fetch_max_i8", "fetch_max_i16", "fetch_max_i32", "fetch_max_i64");
    };
    (@cx $r:ty, $addr:ty) => {
        /// Atomically replaces the `T` at `addr` with `new` if it equals
        /// `current`. Returns `Ok(Ok(old))` on success and `Ok(Err(actual))`
        /// on failure (as `core`'s atomics do); a failure stores nothing.
        #[doc(alias = "compare_exchange_u8", alias = "compare_exchange_u16")]
        #[doc(alias = "compare_exchange_u32", alias = "compare_exchange_u64")]
        #[inline]
        pub fn compare_exchange<T: $crate::GuestInt>(
            self: $r, addr: $addr, current: T, new: T,
        ) -> Result<Result<T, T>, $crate::VmError> {
            let cx = |old: T::Bits| (T::from_bits(old) == current).then_some(new.to_bits());
            let old = T::from_bits(self.fetch_update(addr, cx)?);
            Ok(if old == current { Ok(old) } else { Err(old) })
        }
    };
    (@op $r:ty, $addr:ty, $name:ident, $doc:expr, $f:expr, $($alias:literal),*) => {
        #[doc = concat!("Atomically, on the `T` at `addr`: ", $doc)]
        $(#[doc(alias = $alias)])*
        #[inline]
        pub fn $name<T: $crate::GuestInt>(
            self: $r, addr: $addr, v: T,
        ) -> Result<T, $crate::VmError> {
            let f: fn(T, T) -> T = $f;
            self.fetch_update(addr, |old: T::Bits| Some(f(T::from_bits(old), v).to_bits()))
                .map(T::from_bits)
        }
    };
}

pub(crate) use atomic_methods;
