//! Accesses that run from one shard into the next: a typed value whose
//! bytes straddle a shard edge is read optimistically on both counters
//! (falling back to both read locks, ascending), and read-modify-written
//! under both write locks, as one write of each shard.
//!
//! These take the access size as data and move values as `u64`, not
//! generic over the width: they sit on cold paths, and one copy per width
//! (and per guest atomic) would cost firmware flash.

use super::handle::{low_bytes, Contended, GShard, GShardWrite, Geometry, OPTIMISTIC_TRIES};
use super::storage::{Word, W};
use crate::section::{lock_pair, Masked};
use crate::sync::Ordering;

/// The value of `size` bytes at `off` of `first` running on into `second`,
/// joined from word loads with no validation.
#[inline]
fn gather_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u128> {
    let (i, sh) = (off / W, off % W);
    let tail = size.checked_sub(first.len().checked_sub(off)?)?;
    if W == 8 {
        // A value of at most 8 bytes crossing the shard edge lies in the
        // last word of `first` and the first word of `second`.
        let a = Word::from_le(first.word(i)?.load(Ordering::Relaxed));
        let b = Word::from_le(second.word(0)?.load(Ordering::Relaxed));
        return Some((u128::from(a) | (u128::from(b) << 64)) >> (sh * 8));
    }
    let (na, nb) = ((first.len() / W).checked_sub(i)?, tail.div_ceil(W));
    let v = first.gather(i, na)? | (second.gather(0, nb)? << (na * W * 8));
    Some(v >> (sh * 8))
}

/// Reads `size` bytes at `off` of `first` running on into `second` (the
/// next shard), little-endian, optimistically on both counters, falling back
/// to both read locks (ascending). `None` if the pieces do not add up.
#[inline]
pub(crate) fn read_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u64> {
    read_straddling_impl(first, off, second, size, Contended::Wait)
}

/// [`read_straddling`] that never waits: `None` also when writers kept
/// storing over every optimistic attempt.
#[inline]
pub(crate) fn try_read_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u64> {
    read_straddling_impl(first, off, second, size, Contended::GiveUp)
}

#[inline]
fn read_straddling_impl<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
    how: Contended,
) -> Option<u64> {
    for _ in 0..OPTIMISTIC_TRIES {
        if let (Some(sa), Some(sb)) = (first.seq().begin(), second.seq().begin()) {
            let v = gather_straddling(first, off, second, size)?;
            if first.seq().validate(sa) && second.seq().validate(sb) {
                return Some(low_bytes(v, size));
            }
        }
        core::hint::spin_loop();
    }
    if how == Contended::GiveUp {
        return None;
    }
    let _both = lock_pair(
        || first.try_read_lock(),
        || second.try_read_lock(),
        || false,
    )?;
    gather_straddling(first, off, second, size).map(|v| low_bytes(v, size))
}

/// Takes the write locks of `first` and the next shard `second` for one
/// straddling write; `None` as soon as `frozen()`. See [`lock_pair`].
#[inline]
pub(crate) fn write_pair<'a, G: Geometry>(
    first: &GShard<'a, G>,
    second: &GShard<'a, G>,
    frozen: impl Fn() -> bool,
) -> Option<Masked<(GShardWrite<'a, G>, GShardWrite<'a, G>)>> {
    lock_pair(
        || first.try_write_lock(),
        || second.try_write_lock(),
        frozen,
    )
}

/// Reads `size` bytes at `off` of `first` running on into `second`, both
/// write-locked by the caller (so no validation is needed).
#[inline]
pub(crate) fn read_straddling_locked<G: Geometry>(
    first: &GShardWrite<'_, G>,
    off: usize,
    second: &GShardWrite<'_, G>,
    size: usize,
) -> Option<u64> {
    gather_straddling(&first.shard, off, &second.shard, size).map(|v| low_bytes(v, size))
}

/// Stores the low `size` bytes of `v` at `off` of `first` running on into
/// `second`, both write-locked by the caller, as one write of each shard.
#[inline]
pub(crate) fn write_straddling<G: Geometry>(
    v: u64,
    size: usize,
    first: &mut GShardWrite<'_, G>,
    off: usize,
    second: &mut GShardWrite<'_, G>,
) -> Option<()> {
    let head = first.shard.len().checked_sub(off)?;
    let tail = size.checked_sub(head)?;
    let v = u128::from(v);
    first.modify(|a| {
        second.modify(|b| {
            a.store_value(off, head, v)?;
            b.store_value(0, tail, v >> (head * 8))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::storage::Shards;

    /// Two shards with every byte `0xff`.
    fn all_ones() -> Shards<2, 64> {
        let shards = Shards::<2, 64>::new();
        for shard in shards.iter() {
            let mut g = shard.write_guard(|| false).unwrap();
            assert_eq!(g.fill(0, 64, 0xff), Some(()));
        }
        shards
    }

    #[test]
    fn straddling_reads_return_only_their_own_bytes() {
        let shards = all_ones();
        let [a, b] = shards.pair(0).unwrap();
        for size in [2usize, 4, 8] {
            let want = u64::MAX >> (64 - 8 * size);
            for off in 64 - size + 1..64 {
                let v = read_straddling(&a, off, &b, size);
                assert_eq!(v, Some(want), "size {size} at {off}");
                let (ga, gb) = (
                    a.write_guard(|| false).unwrap(),
                    b.write_guard(|| false).unwrap(),
                );
                let v = read_straddling_locked(&ga, off, &gb, size);
                assert_eq!(v, Some(want), "locked, size {size} at {off}");
            }
        }
        // The word in-shard path masks the same way.
        assert_eq!(a.read(5, 2), Some(0xffff));
        assert_eq!(a.read(6, 4), Some(0xffff_ffff));
    }
}
