//! Code shared by the test binaries `tests/suite` and `tests/racing` (not a
//! test target itself): each binary declares this module once and uses part
//! of it.
pub mod counting;
pub mod harness;
pub mod map_parts;
pub mod model;

/// The size a `VmError` of `kind` reports for an access of `size` bytes:
/// exact, but saturated where the packed error runs out of bits (58 bits;
/// beside an `OutOfBounds` limit, the 52 bits the limit leaves). Only
/// absurd sizes (a `fill` of `usize::MAX` bytes) ever saturate.
#[allow(dead_code)] // not every binary checks sizes
pub fn reported_size(kind: vm_mem::ErrorKind, size: usize) -> usize {
    let bits = match kind {
        vm_mem::ErrorKind::OutOfBounds { limit } => 52 - (u64::BITS - limit.leading_zeros()),
        _ => 58,
    };
    (size as u64).min((1u64 << bits) - 1) as usize
}
