//! Zeroed heap allocation for large memories and snapshots (feature `alloc`):
//! `Box::new(ShardedMemory::new())` would build the value on the stack first,
//! which overflows a thread's stack for memories of a few MiB.
#![allow(unsafe_code)]

use alloc::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use alloc::boxed::Box;

/// A `Box<T>` whose bytes are all zero, allocated directly by `alloc_zeroed`.
///
/// # Safety
/// All-zero bits must be a valid value of `T`.
pub(crate) unsafe fn zeroed_box<T>() -> Box<T> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // SAFETY: a zero-sized `T` needs no allocation: a dangling, aligned
        // pointer is a valid `Box<T>`, and its (no) bits are valid by the
        // caller's promise. (Never `Box::new(zeroed())`: in a debug build
        // that reserves stack for a `T` even on the path not taken.)
        return unsafe { Box::from_raw(core::ptr::NonNull::<T>::dangling().as_ptr()) };
    }
    // SAFETY: `layout` has a non-zero size, as `alloc_zeroed` requires.
    let ptr = unsafe { alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: `ptr` was allocated by the global allocator with `T`'s layout
    // and holds all-zero bits, a valid `T` by the caller's promise, so the
    // `Box` owns a valid, properly allocated value.
    unsafe { Box::from_raw(ptr) }
}
