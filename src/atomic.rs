//! Guest atomics: compare-exchange, swap and fetch-and-op for `u8`..`u64`,
//! little-endian, as ARM LDREX/STREX and LSE, RISC-V AMOs and LR/SC, and x86
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
    fn fetch_update_sized(
        &self,
        addr: usize,
        size: usize,
        f: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, VmError> {
        self.update::<true>(Access::Atomic, addr, size, f)
    }

    crate::atomic::atomic_methods!(ref);
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

    crate::atomic::atomic_methods!(mut);
}

/// Emits the named guest atomics for every width, forwarding to
/// `fetch_update`, with receiver `&self` (`ref`) or `&mut self` (`mut`) and
/// addresses of type `usize` (the memories) or the given type (the map: `u64`).
macro_rules! atomic_methods {
    ($r:ident) => {
        $crate::atomic::atomic_methods!($r, usize);
    };
    ($r:ident, $addr:ty) => {
        $crate::atomic::atomic_methods!(@width $r, $addr, u8, i8,
            compare_exchange_u8, swap_u8, fetch_add_u8, fetch_sub_u8, fetch_and_u8,
            fetch_or_u8, fetch_xor_u8, fetch_min_u8, fetch_max_u8, fetch_min_i8, fetch_max_i8);
        $crate::atomic::atomic_methods!(@width $r, $addr, u16, i16,
            compare_exchange_u16, swap_u16, fetch_add_u16, fetch_sub_u16, fetch_and_u16,
            fetch_or_u16, fetch_xor_u16, fetch_min_u16, fetch_max_u16, fetch_min_i16, fetch_max_i16);
        $crate::atomic::atomic_methods!(@width $r, $addr, u32, i32,
            compare_exchange_u32, swap_u32, fetch_add_u32, fetch_sub_u32, fetch_and_u32,
            fetch_or_u32, fetch_xor_u32, fetch_min_u32, fetch_max_u32, fetch_min_i32, fetch_max_i32);
        $crate::atomic::atomic_methods!(@width $r, $addr, u64, i64,
            compare_exchange_u64, swap_u64, fetch_add_u64, fetch_sub_u64, fetch_and_u64,
            fetch_or_u64, fetch_xor_u64, fetch_min_u64, fetch_max_u64, fetch_min_i64, fetch_max_i64);
    };
    (@width $r:ident, $addr:ty, $t:ty, $s:ty, $cx:ident, $swap:ident, $add:ident, $sub:ident, $and:ident,
     $or:ident, $xor:ident, $min:ident, $max:ident, $smin:ident, $smax:ident) => {
        $crate::atomic::atomic_methods!(@cx $r, $addr, $t, $cx);
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $swap, "Stores `v` and returns the old value.", |_old: $t, v: $t| v);
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $add, "Adds `v` (wrapping) and returns the old value.", |old: $t, v: $t| old.wrapping_add(v));
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $sub, "Subtracts `v` (wrapping) and returns the old value.", |old: $t, v: $t| old.wrapping_sub(v));
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $and, "Bitwise AND with `v`; returns the old value.", |old: $t, v: $t| old & v);
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $or, "Bitwise OR with `v`; returns the old value.", |old: $t, v: $t| old | v);
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $xor, "Bitwise XOR with `v`; returns the old value.", |old: $t, v: $t| old ^ v);
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $min, "Stores the unsigned minimum of the old value and `v`; returns the old value.", |old: $t, v: $t| old.min(v));
        $crate::atomic::atomic_methods!(@op $r, $addr, $t, $max, "Stores the unsigned maximum of the old value and `v`; returns the old value.", |old: $t, v: $t| old.max(v));
        $crate::atomic::atomic_methods!(@sop $r, $addr, $t, $s, $smin, "Stores the signed minimum (RISC-V `AMOMIN`) of the old value and `v`; returns the old value.", |old: $s, v: $s| old.min(v));
        $crate::atomic::atomic_methods!(@sop $r, $addr, $t, $s, $smax, "Stores the signed maximum (RISC-V `AMOMAX`) of the old value and `v`; returns the old value.", |old: $s, v: $s| old.max(v));
    };
    (@cx ref, $addr:ty, $t:ty, $name:ident) => {
        #[doc = concat!("Atomically replaces the `", stringify!($t), "` at `addr` with `new` if it equals `current`.")]
        /// Returns `Ok(Ok(old))` on success and `Ok(Err(actual))` on failure (as
        /// `core`'s atomics do); a failure stores nothing.
        #[inline]
        pub fn $name(&self, addr: $addr, current: $t, new: $t) -> Result<Result<$t, $t>, VmError> {
            let old = self.fetch_update(addr, |old: $t| (old == current).then_some(new))?;
            Ok(if old == current { Ok(old) } else { Err(old) })
        }
    };
    (@cx mut, $addr:ty, $t:ty, $name:ident) => {
        #[doc = concat!("Replaces the `", stringify!($t), "` at `addr` with `new` if it equals `current`.")]
        /// Returns `Ok(Ok(old))` on success and `Ok(Err(actual))` on failure.
        #[inline]
        pub fn $name(&mut self, addr: $addr, current: $t, new: $t) -> Result<Result<$t, $t>, VmError> {
            let old = self.fetch_update(addr, |old: $t| (old == current).then_some(new))?;
            Ok(if old == current { Ok(old) } else { Err(old) })
        }
    };
    (@op ref, $addr:ty, $t:ty, $name:ident, $doc:expr, $f:expr) => {
        #[doc = concat!("Atomic `", stringify!($t), "` at `addr`: ", $doc)]
        #[inline]
        pub fn $name(&self, addr: $addr, v: $t) -> Result<$t, VmError> {
            let f = $f;
            self.fetch_update(addr, |old: $t| Some(f(old, v)))
        }
    };
    (@op mut, $addr:ty, $t:ty, $name:ident, $doc:expr, $f:expr) => {
        #[doc = concat!("`", stringify!($t), "` at `addr`: ", $doc)]
        #[inline]
        pub fn $name(&mut self, addr: $addr, v: $t) -> Result<$t, VmError> {
            let f = $f;
            self.fetch_update(addr, |old: $t| Some(f(old, v)))
        }
    };
    (@sop ref, $addr:ty, $t:ty, $s:ty, $name:ident, $doc:expr, $f:expr) => {
        #[doc = concat!("Atomic `", stringify!($s), "` at `addr`: ", $doc)]
        #[inline]
        pub fn $name(&self, addr: $addr, v: $s) -> Result<$s, VmError> {
            let f = $f;
            // `as` between same-width signed and unsigned keeps the bits.
            self.fetch_update(addr, |old: $t| Some(f(old as $s, v) as $t)).map(|old| old as $s)
        }
    };
    (@sop mut, $addr:ty, $t:ty, $s:ty, $name:ident, $doc:expr, $f:expr) => {
        #[doc = concat!("`", stringify!($s), "` at `addr`: ", $doc)]
        #[inline]
        pub fn $name(&mut self, addr: $addr, v: $s) -> Result<$s, VmError> {
            let f = $f;
            self.fetch_update(addr, |old: $t| Some(f(old as $s, v) as $t)).map(|old| old as $s)
        }
    };
}

pub(crate) use atomic_methods;
