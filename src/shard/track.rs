//! What a write leaves for snapshot and restore to find: the *summary* of
//! the shards changed since the baseline, and, for a memory that opted in,
//! the 64-byte *lines* written in each.
//!
//! # The summary
//! Two levels of bits, so restore and re-taking the baseline snapshot find
//! the changed shards without reading every shard's marks:
//! - a summary word per 16 shards (`Ctl::sum`, an `AtomicU16` kept in the
//!   padding of control block `j` for the shards `16j..16j + 16`: no
//!   memory of its own on 64-bit hosts), bit `b` for shard `16j + b`;
//! - one top word per memory (`Shards::top`), bit `j % usize::BITS` for
//!   summary word `j`.
//!
//! A writer notes its shard (both bits) only when it turns the shard's
//! [`CHANGED`] mark on, which it already tests on every write: the write
//! hot path is unchanged, the note is once per shard per snapshot cycle.
//! Bits are candidates, never proof: snapshot and restore check the
//! shard's mark under its lock, so a bit left over costs a test, never a
//! copy.
//!
//! ORDERING: the summary must never lose a shard whose [`CHANGED`] mark is
//! set. A writer of shard `i` holds its write lock while it (1) sets the
//! marks with a read-modify-write that sees [`CHANGED`] clear, (2) sets the
//! summary bit (`Relaxed`) and (3) the top bit (`Release`). A drain (under
//! the memory's snapshot lock, so one at a time) (a) swaps the top word
//! with 0 (`Acquire`), (b) swaps each summary word its bits name with 0
//! (after a `Relaxed` load that skips the word if it reads 0),
//! (c) takes each named shard's lock and tests [`CHANGED`]. If (a) read the
//! bit of (3), then (2) happens before (b), so (b)'s load and swap read
//! (2)'s bit (coherence) and (c), waiting for the writer's lock, sees (1). If (a)
//! came before (3) in the top word's order, the top bit stays set for the
//! next drain; and if (b) came before (2), the summary bit stays set too.
//! Either way the next drain finds shard `i`, unless this one already
//! copied it after the write (and cleared its mark under the lock). A full
//! copy clears the summary *before* it copies the shards, so a write after
//! its clear leaves its bits, and one before it is copied over.
//!
//! # Lines
//! A memory that opted in ([`LINES`] set in every shard's marks, see
//! `ShardedMemory::set_line_tracking`) keeps in each shard's `Ctl::lines`
//! the lines written since the baseline: bit `k` for bytes
//! `k * L..(k + 1) * L` of the shard, `L` = [`line_size`] (64 bytes up to
//! shards of `64 * usize::BITS` bytes... 4 KiB on 64-bit hosts, 2 KiB on
//! 32-bit ones; `SHARD_SIZE / usize::BITS` above). Since [`LINES`] keeps the
//! marks from ever equalling [`ALL_MARKS`], every write of such a memory
//! takes the marking slow path, which records its lines; memories that did
//! not opt in never reach it after the shard's first write. The lines are
//! set and cleared under the shard's lock, as the marks.

use super::storage::{Ctl, Shards, ALL_MARKS, CHANGED, DIRTY, LINES};
use crate::sync::{AtomicUsize, Ordering};

/// Shards per summary word.
pub(crate) const SUM_BITS: usize = 16;
/// Bits of the top word (and of a shard's line word).
pub(crate) const WORD_BITS: usize = usize::BITS as usize;

/// The bytes a line bit stands for in shards of `n` bytes: 64, or
/// `n / usize::BITS` when the shard has more than `usize::BITS` lines of 64.
pub(crate) const fn line_size(n: usize) -> usize {
    let l = n / WORD_BITS;
    if l > 64 {
        l
    } else {
        64
    }
}

/// The line bits of bytes `off..off + len` of a shard of `n` bytes (0 for
/// an empty range; clamped to the shard).
#[inline]
pub(crate) fn line_mask(n: usize, off: usize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let l = line_size(n);
    let first = (off / l).min(WORD_BITS - 1);
    let last = (off.saturating_add(len - 1).min(n.saturating_sub(1)) / l).min(WORD_BITS - 1);
    let upto = if last + 1 >= WORD_BITS {
        usize::MAX
    } else {
        (1usize << (last + 1)) - 1
    };
    upto & !((1usize << first) - 1)
}

/// The byte ranges of the lines in `lines` of a shard of `n` bytes, runs
/// of neighbouring lines joined: what a line-wise copy copies.
pub(crate) fn line_runs(n: usize, lines: usize) -> impl Iterator<Item = core::ops::Range<usize>> {
    let l = line_size(n);
    let mut rest = lines;
    core::iter::from_fn(move || {
        if rest == 0 {
            return None;
        }
        let first = rest.trailing_zeros() as usize;
        let run = (rest >> first).trailing_ones() as usize;
        rest = if first + run >= WORD_BITS {
            0
        } else {
            rest & !(((1usize << run) - 1) << first)
        };
        let start = (first * l).min(n);
        let end = ((first + run) * l).min(n);
        (start < end).then_some(start..end)
    })
}

/// Which lines of a shard with marks `marks` a snapshot's copy moves:
/// `None` if none (not `whole` and the shard is not marked changed); else
/// `usize::MAX` (all) if `whole`, if the shard keeps no lines or if its line
/// word (`lines()`, called only then) is empty (never so for a changed shard
/// that keeps them; all, to be safe), or the line word.
pub(crate) fn lines_to_copy(
    whole: bool,
    marks: u8,
    lines: impl FnOnce() -> usize,
) -> Option<usize> {
    if !whole && marks & CHANGED == 0 {
        return None;
    }
    let lines = if whole || marks & LINES == 0 {
        0
    } else {
        lines()
    };
    Some(if lines == 0 { usize::MAX } else { lines })
}

/// A snapshot's copy of one shard with the snapshot's buffer: which way it
/// goes is all that differs between taking a snapshot and restoring one.
pub(crate) enum ShardCopy<'b> {
    /// The shard into the buffer (taking a snapshot).
    Out(&'b mut [u8]),
    /// The buffer back into the shard (restoring).
    In(&'b [u8]),
}

impl ShardCopy<'_> {
    /// The buffer's length (one shard's).
    pub(crate) fn len(&self) -> usize {
        match self {
            ShardCopy::Out(b) => b.len(),
            ShardCopy::In(b) => b.len(),
        }
    }

    /// The marks the copy leaves on a shard marked `marks`: no longer
    /// changed since the baseline; dirty in the user's log after a restore,
    /// because its bytes changed.
    pub(crate) fn marks_after(&self, marks: u8) -> u8 {
        match self {
            ShardCopy::Out(_) => marks & !CHANGED,
            ShardCopy::In(_) => (marks | DIRTY) & !CHANGED,
        }
    }

    /// Copies the bytes `run` between the buffer and `shard` (nothing if
    /// `run` lies outside either).
    pub(crate) fn run(&mut self, shard: &mut [u8], run: core::ops::Range<usize>) {
        let (to, from) = match self {
            ShardCopy::Out(b) => (b.get_mut(run.clone()), shard.get(run)),
            ShardCopy::In(b) => (shard.get_mut(run.clone()), b.get(run)),
        };
        if let (Some(to), Some(from)) = (to, from) {
            to.copy_from_slice(from);
        }
    }
}

/// Where shard `i` sits in its memory's summary: the memory's control
/// blocks and top word. What a write guard of a memory's own shard carries
/// (a page of a map's cache has none: its writes refuse a shard whose
/// marks are not all set, and the map's slow path, which has one, writes).
#[derive(Clone, Copy)]
pub(crate) struct Track<'a> {
    pub(crate) ctl: &'a [Ctl],
    pub(crate) top: &'a AtomicUsize,
    pub(crate) i: usize,
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// Where shard `i` sits in the summary (for its write guards).
    #[inline(always)]
    pub(crate) fn track(&self, i: usize) -> Track<'_> {
        Track {
            ctl: &self.ctl,
            top: &self.top,
            i,
        }
    }
}

impl<'a> Track<'a> {
    /// The same memory's shard `i`.
    #[inline(always)]
    pub(crate) fn at(self, i: usize) -> Self {
        Track { i, ..self }
    }

    /// Marks bytes `off..off + len` of shard `i` (of `n` bytes) written:
    /// both marks, its lines if it keeps them, and the summary if the
    /// [`CHANGED`] mark was clear. The slow path of every write (the hot
    /// one only tests that the marks are all set); under the shard's write
    /// lock, or with the memory owned (`&mut`, or an owner map's handle).
    #[cold]
    #[inline(never)]
    pub(crate) fn mark(self, n: usize, off: usize, len: usize) {
        let Some(ctl) = self.ctl.get(self.i) else {
            return;
        };
        // ORDERING: `Relaxed`: the marks and lines are set under the
        // shard's write lock (or by the memory's owner) and read under it.
        let old = ctl.marks.fetch_or(ALL_MARKS, Ordering::Relaxed);
        if old & LINES != 0 {
            ctl.lines
                .fetch_or(line_mask(n, off, len), Ordering::Relaxed);
        }
        if old & CHANGED == 0 {
            self.note();
        }
    }

    /// [`mark`](Self::mark) for an owner: the memory held by `&mut` (the
    /// exclusive view) or lent to one thread (an owner map's handle), so
    /// no other thread touches the marks, lines or summary meanwhile, and
    /// loads and stores do what the read-modify-writes do, cheaper
    /// (measured: 64 first writes of the exclusive view cost 2.7 us more
    /// with the read-modify-writes).
    #[cold]
    #[inline(never)]
    pub(crate) fn mark_owned(self, n: usize, off: usize, len: usize) {
        let Some(ctl) = self.ctl.get(self.i) else {
            return;
        };
        let old = ctl.marks.load(Ordering::Relaxed);
        ctl.marks.store(old | ALL_MARKS, Ordering::Relaxed);
        if old & LINES != 0 {
            let lines = ctl.lines.load(Ordering::Relaxed);
            ctl.lines
                .store(lines | line_mask(n, off, len), Ordering::Relaxed);
        }
        if old & CHANGED == 0 {
            let j = self.i / SUM_BITS;
            if let Some(word) = self.ctl.get(j) {
                let sum = word.sum.load(Ordering::Relaxed);
                word.sum
                    .store(sum | 1 << (self.i % SUM_BITS), Ordering::Relaxed);
                let top = self.top.load(Ordering::Relaxed);
                self.top
                    .store(top | 1 << (j % WORD_BITS), Ordering::Relaxed);
            }
        }
    }

    /// Sets shard `i`'s summary bits (see the module docs for the order).
    #[inline]
    fn note(self) {
        let j = self.i / SUM_BITS;
        if let Some(word) = self.ctl.get(j) {
            // ORDERING: `Relaxed`; the top bit's `Release` publishes it.
            word.sum
                .fetch_or(1 << (self.i % SUM_BITS), Ordering::Relaxed);
            // ORDERING: `Release`: a drain that reads this bit with its
            // `Acquire` swap then reads the summary bit set above.
            self.top.fetch_or(1 << (j % WORD_BITS), Ordering::Release);
        }
    }

    /// Takes the top word (`Acquire`, see the module docs).
    #[inline]
    pub(crate) fn take_top(self) -> usize {
        self.top.swap(0, Ordering::Acquire)
    }

    /// Takes summary word `j` (0 past the end). Most words a top bit
    /// names are empty in a large memory (a top bit stands for every 64th
    /// word): a plain load skips those, and only a non-empty word pays for
    /// the swap (measured with the `restore` group of the `snapshot_speed`
    /// bench: restoring 8 written pages of a 64 MiB memory, whose 8 top
    /// bits name 16 words each, 1.62 us with a swap of every word, 1.24 us
    /// with the load first; 1 page 239 -> 158 ns).
    #[inline]
    pub(crate) fn take_sum(self, j: usize) -> u16 {
        let Some(c) = self.ctl.get(j) else {
            return 0;
        };
        // ORDERING: `Relaxed` for both: ordered after the top word's
        // `Acquire` swap (module docs), so the load reads every bit a
        // writer published through the top bit this drain took; a bit set
        // after it is the next drain's (its top bit is set again).
        if c.sum.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        c.sum.swap(0, Ordering::Relaxed)
    }

    /// Clears the whole summary: before a full copy.
    pub(crate) fn clear(self) {
        self.top.store(0, Ordering::Relaxed);
        for c in self.ctl.iter().take(self.ctl.len().div_ceil(SUM_BITS)) {
            c.sum.store(0, Ordering::Relaxed);
        }
    }
}

/// A summary that can be drained: the top word and the summary words of a
/// memory of [`count`](Summary::count) shards.
pub(crate) trait Summary {
    /// The shards of the memory.
    fn count(&self) -> usize;
    /// The memory's summary words (any shard's [`Track`] reaches them).
    fn summary(&self) -> Track<'_>;
}

/// Calls `each` for every shard noted in `c`'s summary, clearing the bits
/// as it goes: O(noted shards), plus one summary word per top bit and
/// `count / (16 * usize::BITS)` summary words (all but one of them empty
/// unless more shards changed) per top bit set.
pub(crate) fn for_each_noted<C: Summary>(c: &mut C, mut each: impl FnMut(&mut C, usize)) {
    let words = c.count().div_ceil(SUM_BITS);
    let mut top = c.summary().take_top();
    while top != 0 {
        let t = top.trailing_zeros() as usize;
        top &= top - 1;
        let mut j = t;
        while j < words {
            let mut w = c.summary().take_sum(j);
            while w != 0 {
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                each(c, j * SUM_BITS + b);
            }
            j += WORD_BITS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_masks_and_runs() {
        assert_eq!(line_size(4096), 64);
        assert_eq!(line_size(1 << 16), (1 << 16) / WORD_BITS);
        assert_eq!(line_mask(4096, 0, 1), 1);
        assert_eq!(line_mask(4096, 63, 2), 0b11);
        assert_eq!(line_mask(4096, 0, 0), 0);
        assert_eq!(line_mask(4096, 0, 4096).count_ones() as usize, 4096 / 64);
        assert_eq!(line_mask(64, 0, 64), 1);
        assert_eq!(line_mask(8, 4, 4), 1);
        let runs: Vec<_> = line_runs(4096, 0b1011).collect();
        assert_eq!(runs, [0..128, 192..256]);
        let all: Vec<_> = line_runs(4096, usize::MAX).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0], 0..4096);
        let small: Vec<_> = line_runs(128, usize::MAX).collect();
        assert_eq!(small.len(), 1);
        assert_eq!(small[0], 0..128);
    }
}
