//! The storing side of a write: the atomic words of one shard, handed out
//! only inside [`GShardWrite::modify`](super::guard::GShardWrite::modify)
//! (write lock held, counter odd), and what a store writes ([`Src`]).
//! Values are stored as whole words, merging a partial word with its other
//! bytes, never through a `&mut` to the bytes (module docs, `shard/mod.rs`).
// `Word` is `u64` here but `u32` on other targets: its casts must stay.
#![allow(clippy::unnecessary_cast)]

use super::handle::{GShard, Geometry};
use super::storage::{AtomicWord, Word, W};
use crate::sync::Ordering;

/// The storing side of one write: the shard's words, only handed out
/// inside [`GShardWrite::modify`](super::guard::GShardWrite::modify)
/// (write lock held, counter odd).
///
/// It holds the shard handle, not the word slice: measured with
/// `benches/callgrind.sh`, the slice changed what the optimiser inlines
/// into an emulator's loop (a map cursor's store: 10 instructions fewer
/// per access; its fetches and loads: 0.3 more), so that change is left
/// to the access-cost work.
pub(crate) struct WordStore<'a, G: Geometry>(GShard<'a, G>);

impl<'a, G: Geometry> WordStore<'a, G> {
    /// The store over `shard`'s words: called only by `modify`, with the
    /// shard's write lock held and its counter odd.
    #[inline(always)]
    pub(super) fn new(shard: GShard<'a, G>) -> Self {
        WordStore(shard)
    }

    /// Word `i`, or `None` past the end.
    #[inline(always)]
    fn word(&self, i: usize) -> Option<&'a AtomicWord> {
        self.0.word(i)
    }

    /// Stores the low `size` bytes of `v` (little-endian significance) at
    /// `off`, merging partial words with their other bytes. `None` if the
    /// range leaves the shard (nothing is stored past its end).
    #[inline(always)]
    pub(crate) fn store_value(&self, off: usize, size: usize, v: u128) -> Option<()> {
        let (i, sh) = (off / W, off % W);
        if sh == 0 && size == W {
            // A whole word: nothing to merge.
            self.word(i)?.store((v as Word).to_le(), Ordering::Relaxed);
            return Some(());
        }
        if sh + size <= W {
            // One word: merge and store.
            let word = self.word(i)?;
            let mask = (u128::MAX >> (128 - size * 8)) as Word;
            let old = Word::from_le(word.load(Ordering::Relaxed));
            let new = (old & !(mask << (sh * 8))) | (((v as Word) & mask) << (sh * 8));
            word.store(new.to_le(), Ordering::Relaxed);
            return Some(());
        }
        self.store_bytes(off, Src::Value(v, size))
    }

    /// Stores the bytes of `src` at `off`: merged words at the ends of the
    /// range, whole words in between. `None` if the range leaves the shard.
    #[inline]
    pub(crate) fn store_bytes(&self, off: usize, src: Src<'_>) -> Option<()> {
        let end = off.checked_add(src.len())?;
        if end > self.0.len() {
            return None;
        }
        let mut pos = off;
        // Head: up to the first word boundary.
        if !pos.is_multiple_of(W) {
            let n = (W - pos % W).min(end - pos);
            self.merge(pos, n, src, 0)?;
            pos += n;
        }
        // Body: whole words, in a tight loop per kind of source.
        let whole = (end - pos) / W;
        let words = self.0.words().get(pos / W..pos / W + whole)?;
        let rel = pos - off;
        match src {
            Src::Bytes(b) => {
                for (word, chunk) in words.iter().zip(b.get(rel..)?.chunks_exact(W)) {
                    let chunk: [u8; W] = chunk.try_into().ok()?;
                    word.store(Word::from_ne_bytes(chunk), Ordering::Relaxed);
                }
            }
            Src::Fill(x, _) => {
                let v = Word::from_ne_bytes([x; W]);
                words
                    .iter()
                    .for_each(|word| word.store(v, Ordering::Relaxed));
            }
            Src::Value(..) => {
                for (j, word) in words.iter().enumerate() {
                    word.store(src.word(rel + j * W), Ordering::Relaxed);
                }
            }
        }
        pos += whole * W;
        // Tail: what is left of the last word.
        if pos < end {
            self.merge(pos, end - pos, src, pos - off)?;
        }
        Some(())
    }

    /// Stores `n` bytes of `src` from its byte `rel` at `pos`, inside one
    /// word, keeping the word's other bytes.
    #[inline]
    fn merge(&self, pos: usize, n: usize, src: Src<'_>, rel: usize) -> Option<()> {
        let (i, sh) = (pos / W, pos % W);
        let word = self.word(i)?;
        let mut bytes = word.load(Ordering::Relaxed).to_ne_bytes();
        for (j, b) in bytes.get_mut(sh..sh + n)?.iter_mut().enumerate() {
            *b = src.byte(rel + j);
        }
        word.store(Word::from_ne_bytes(bytes), Ordering::Relaxed);
        Some(())
    }
}

/// What a store writes: caller bytes, one repeated byte, or the low bytes
/// of a value (little-endian significance).
#[derive(Clone, Copy)]
pub(crate) enum Src<'s> {
    /// These bytes.
    Bytes(&'s [u8]),
    /// `len` copies of one byte.
    Fill(u8, usize),
    /// The low `size` bytes of a value.
    Value(u128, usize),
}

impl Src<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        match *self {
            Src::Bytes(b) => b.len(),
            Src::Fill(_, n) | Src::Value(_, n) => n,
        }
    }

    /// Byte `k` of the source.
    #[inline(always)]
    fn byte(&self, k: usize) -> u8 {
        match *self {
            Src::Bytes(b) => b.get(k).copied().unwrap_or(0),
            Src::Fill(x, _) => x,
            Src::Value(v, _) => (v >> (k * 8)) as u8,
        }
    }

    /// Bytes `k..k + W` of the source as a word in memory order.
    #[inline(always)]
    fn word(&self, k: usize) -> Word {
        match *self {
            Src::Bytes(b) => match b.get(k..).and_then(|b| b.first_chunk::<W>()) {
                Some(chunk) => Word::from_ne_bytes(*chunk),
                None => 0,
            },
            Src::Fill(x, _) => Word::from_ne_bytes([x; W]),
            Src::Value(v, _) => ((v >> (k * 8)) as Word).to_le(),
        }
    }
}
