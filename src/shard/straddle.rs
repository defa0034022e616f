//! Accesses that run from one shard into the next: a typed value whose
//! bytes straddle a shard edge is read optimistically on both counters
//! (falling back to both read locks, ascending), and read-modify-written
//! under both write locks, as one write of each shard.
//!
//! These take the access size as data and move values as `u64`, not
//! generic over the width: they sit on cold paths, and one copy per width
//! (and per guest atomic) would cost firmware flash.

use super::guard::{Contended, GShardWrite, OPTIMISTIC_TRIES};
use super::handle::{low_bytes, Fixed, GShard, Geometry};
use super::storage::{Shards, Word, W};
use super::track::Track;
use crate::section::{lock_pair, Masked};
use crate::sync::Ordering;

/// Two neighbouring shards, `i` and `i + 1`, with the same geometry: where
/// a typed value that runs over the edge between them lives. Offsets are
/// into `first`; the value runs on into `second`.
#[derive(Clone, Copy)]
pub(crate) struct ShardPair<'a, G: Geometry> {
    first: GShard<'a, G>,
    second: GShard<'a, G>,
    /// Where `first` sits in its memory's summary (`second` is next).
    track: Track<'a>,
}

/// Both write guards of a [`ShardPair`], taken ascending (as one `Masked`
/// guard, see [`ShardPair::write_guard`]).
pub(crate) struct PairWrite<'a, G: Geometry> {
    first: GShardWrite<'a, G>,
    second: GShardWrite<'a, G>,
    /// Where `first` sits in its memory's summary.
    track: Track<'a>,
}

impl<'a, G: Geometry> ShardPair<'a, G> {
    /// `first` and the shard after it, `second`.
    #[inline]
    fn new(first: GShard<'a, G>, second: GShard<'a, G>, track: Track<'a>) -> Self {
        ShardPair {
            first,
            second,
            track,
        }
    }

    /// Reads `size` bytes at `off` of `first` running on into `second`,
    /// little-endian, optimistically on both counters, falling back to both
    /// read locks (ascending). `None` if the pieces do not add up.
    #[inline]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        self.read_impl(off, size, Contended::Wait)
    }

    /// [`read`](Self::read) that never waits: `None` also when writers kept
    /// storing over every optimistic attempt.
    #[inline]
    pub(crate) fn try_read(&self, off: usize, size: usize) -> Option<u64> {
        self.read_impl(off, size, Contended::GiveUp)
    }

    #[inline]
    fn read_impl(&self, off: usize, size: usize, how: Contended) -> Option<u64> {
        let (first, second) = (&self.first, &self.second);
        for _ in 0..OPTIMISTIC_TRIES {
            if let (Some(sa), Some(sb)) = (first.seq().begin(), second.seq().begin()) {
                let v = gather(first, off, second, size)?;
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
        gather(first, off, second, size).map(|v| low_bytes(v, size))
    }

    /// Takes both write locks for one straddling write; `None` as soon as
    /// `frozen()`. See [`lock_pair`].
    #[inline]
    pub(crate) fn write_guard(
        &self,
        frozen: impl Fn() -> bool,
    ) -> Option<Masked<PairWrite<'a, G>>> {
        let (first, second, track) = (&self.first, &self.second, self.track);
        let both = lock_pair(
            || first.try_write_lock(),
            || second.try_write_lock(),
            frozen,
        )?;
        Some(both.map(|(first, second)| PairWrite {
            first,
            second,
            track,
        }))
    }
}

impl<G: Geometry> PairWrite<'_, G> {
    /// Reads `size` bytes at `off` of `first` running on into `second`
    /// (both write-locked, so no validation is needed).
    #[inline]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        gather(&self.first.shard, off, &self.second.shard, size).map(|v| low_bytes(v, size))
    }

    /// Stores the low `size` bytes of `v` at `off` of `first` running on
    /// into `second`, as one write of each shard.
    #[inline]
    pub(crate) fn write(&mut self, off: usize, size: usize, v: u64) -> Option<()> {
        let head = self.first.shard.len().checked_sub(off)?;
        let tail = size.checked_sub(head)?;
        let v = u128::from(v);
        let second = &mut self.second;
        let (ta, tb) = (self.track, self.track.at(self.track.i.wrapping_add(1)));
        let (na, nb) = (self.first.shard.len(), second.shard.len());
        self.first
            .modify(Some(|_, o, l| ta.mark(na, o, l)), off, head, |a| {
                second.modify(Some(|_, o, l| tb.mark(nb, o, l)), 0, tail, |b| {
                    a.store_value(off, head, v)?;
                    b.store_value(0, tail, v >> (head * 8))
                })
            })??
    }
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// Shards `i` and `i + 1`, if both exist.
    #[inline]
    pub(crate) fn pair(&self, i: usize) -> Option<ShardPair<'_, Fixed<N>>> {
        let second = self.get(i.checked_add(1)?)?;
        Some(ShardPair::new(self.get(i)?, second, self.track(i)))
    }
}

/// The value of `size` bytes at `off` of `first` running on into `second`,
/// joined from word loads with no validation.
#[inline]
fn gather<G: Geometry>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::storage::DIRTY;

    /// Two shards with every byte `0xff`.
    fn all_ones() -> Shards<2, 64> {
        let shards = Shards::<2, 64>::new();
        for (i, shard) in shards.iter().enumerate() {
            let mut g = shard.write_guard(|| false).unwrap();
            assert_eq!(g.fill(shards.track(i), 0, 64, 0xff), Some(()));
        }
        shards
    }

    #[test]
    fn straddling_reads_return_only_their_own_bytes() {
        let shards = all_ones();
        let pair = shards.pair(0).unwrap();
        for size in [2usize, 4, 8] {
            let want = u64::MAX >> (64 - 8 * size);
            for off in 64 - size + 1..64 {
                assert_eq!(pair.read(off, size), Some(want), "size {size} at {off}");
                assert_eq!(
                    pair.try_read(off, size),
                    Some(want),
                    "try, size {size} at {off}"
                );
                let both = pair.write_guard(|| false).unwrap();
                let v = both.read(off, size);
                assert_eq!(v, Some(want), "locked, size {size} at {off}");
            }
        }
        // The word in-shard path masks the same way.
        assert_eq!(pair.first.read(5, 2), Some(0xffff));
        assert_eq!(pair.first.read(6, 4), Some(0xffff_ffff));
    }

    #[test]
    fn a_straddling_write_stores_both_halves_and_marks_both_shards() {
        let shards = Shards::<2, 64>::new();
        let pair = shards.pair(0).unwrap();
        let mut both = pair.write_guard(|| false).unwrap();
        assert_eq!(both.write(61, 8, 0x1122_3344_5566_7788), Some(()));
        assert_eq!(both.write(60, 2, 0), None, "inside the first shard");
        drop(both);
        assert_eq!(pair.read(61, 8), Some(0x1122_3344_5566_7788));
        assert_eq!(pair.first.read(61, 2), Some(0x7788));
        assert_eq!(pair.second.read(0, 4), Some(0x2233_4455));
        assert!(pair.first.is_marked(DIRTY));
        assert!(pair.second.is_marked(DIRTY));
    }
}
