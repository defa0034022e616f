//! Modes, baselines, address lists and measuring loops shared by the perf
//! test (`benches/read_perf_test.rs`) and the criterion benches, so both
//! measure exactly the same code. Each user takes what it needs.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use vm_mem::{Batch, Exclusive, Frozen, MemoryAccess, Scalar, ShardedMemory};
use vm_memory::{ByteValued, Bytes, GuestAddress, GuestMemoryMmap};

/// Shards in the measured memory.
pub const SHARDS: usize = 64;
/// Bytes in one shard.
pub const SHARD_SIZE: usize = 16 * 1024;
/// The measured memory: 1 MiB.
pub type Mem = ShardedMemory<SHARDS, SHARD_SIZE>;
/// Its size in bytes.
pub const SIZE: usize = Mem::SIZE;
/// Accesses per width per iteration.
pub const READS: usize = 16_384;
/// Size of one bulk copy.
pub const BULK: usize = 64 * 1024;
/// Where bulk copies start: mid-shard, so 64 KiB touches five shards.
pub const BULK_AT: usize = SHARD_SIZE / 2;

// ---------------------------------------------------------------------------
// Widths and access modes
// ---------------------------------------------------------------------------

/// A width the harness measures: vm-mem's [`Scalar`] plus the plain-slice
/// conversions the baselines use.
pub trait Width: Scalar + ByteValued {
    /// `u8`, `u16`, ...
    const NAME: &'static str;
    /// The raw floor: `from_le_bytes` on the first `SIZE` bytes of `src`.
    fn raw_load(src: &[u8]) -> Option<Self>;
    /// The raw floor: `to_le_bytes` into the first `SIZE` bytes of `dst`.
    fn raw_store(self, dst: &mut [u8]) -> Option<()>;
    /// The seed design's read: copy `src` (exactly `SIZE` bytes) into a
    /// zeroed array with `copy_from_slice`, then convert.
    fn seed_load(src: &[u8]) -> Self;
    /// The seed design's write: convert, then `copy_from_slice` into `dst`.
    fn seed_store(self, dst: &mut [u8]);
}

/// Implements [`Width`] for the four unsigned widths.
macro_rules! width {
    ($($t:ty),*) => {$(
        impl Width for $t {
            const NAME: &'static str = stringify!($t);

            #[inline(always)]
            fn raw_load(src: &[u8]) -> Option<Self> {
                src.first_chunk().map(|b| <$t>::from_le_bytes(*b))
            }

            #[inline(always)]
            fn raw_store(self, dst: &mut [u8]) -> Option<()> {
                dst.first_chunk_mut().map(|b| *b = self.to_le_bytes())
            }

            #[inline(always)]
            fn seed_load(src: &[u8]) -> Self {
                let mut buf = [0u8; core::mem::size_of::<$t>()];
                buf.copy_from_slice(src);
                <$t>::from_le_bytes(buf)
            }

            #[inline(always)]
            fn seed_store(self, dst: &mut [u8]) {
                dst.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
width!(u8, u16, u32, u64);

/// A way to read guest memory; every mode is measured by the same loops.
pub trait Reader {
    /// Reads a little-endian `T` at `addr`; `None` on any error.
    fn read<T: Width>(&mut self, addr: usize) -> Option<T>;
}

/// A way to write guest memory.
pub trait Writer {
    /// Writes `v` little-endian at `addr`; `None` on any error.
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()>;
}

impl<M: Reader> Reader for &mut M {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        (**self).read(addr)
    }
}

impl<M: Writer> Writer for &mut M {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        (**self).write(addr, v)
    }
}

/// Baseline: a plain byte slice (`Vec<u8>`), no locks.
pub struct Raw(pub Vec<u8>);

impl Reader for Raw {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        T::raw_load(self.0.get(addr..)?)
    }
}

impl Writer for Raw {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        v.raw_store(self.0.get_mut(addr..)?)
    }
}

/// Baseline: the seed design, shards as `Vec<parking_lot::RwLock<Vec<u8>>>`.
pub struct SeedMem {
    /// One lock and one heap buffer per shard.
    pub shards: Vec<parking_lot::RwLock<Vec<u8>>>,
}

impl SeedMem {
    /// A zeroed seed memory with the same geometry as [`Mem`].
    pub fn new() -> Self {
        SeedMem {
            shards: (0..SHARDS)
                .map(|_| parking_lot::RwLock::new(vec![0; SHARD_SIZE]))
                .collect(),
        }
    }

    /// The seed's typed read: in-shard under one lock, straddling under
    /// both (ascending), always through a zeroed buffer.
    #[inline(always)]
    pub fn read<T: Width>(&self, addr: usize) -> Option<T> {
        let (idx, off) = (addr / SHARD_SIZE, addr % SHARD_SIZE);
        if off + T::SIZE <= SHARD_SIZE {
            let g = self.shards.get(idx)?.read();
            return Some(T::seed_load(g.get(off..off + T::SIZE)?));
        }
        let (a, b) = (
            self.shards.get(idx)?.read(),
            self.shards.get(idx + 1)?.read(),
        );
        let head = SHARD_SIZE - off;
        let mut buf = [0u8; 8];
        buf[..head].copy_from_slice(&a[off..]);
        buf[head..T::SIZE].copy_from_slice(&b[..T::SIZE - head]);
        Some(T::seed_load(&buf[..T::SIZE]))
    }

    /// The seed's typed write (in-shard only: the benchmarks never straddle
    /// a seed write).
    #[inline(always)]
    pub fn write<T: Width>(&self, addr: usize, v: T) -> Option<()> {
        let (idx, off) = (addr / SHARD_SIZE, addr % SHARD_SIZE);
        let mut g = self.shards.get(idx)?.write();
        v.seed_store(g.get_mut(off..off + T::SIZE)?);
        Some(())
    }
}

/// Baseline mode over a borrowed [`SeedMem`] (so threads can share it).
pub struct Seed<'a>(pub &'a SeedMem);

impl Reader for Seed<'_> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read(addr)
    }
}

impl Writer for Seed<'_> {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write(addr, v)
    }
}

/// Baseline: rust-vmm's `GuestMemoryMmap` (no locks, no tear-freedom).
pub struct VmMemory(pub GuestMemoryMmap);

impl Reader for VmMemory {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read_obj::<T>(GuestAddress(addr as u64)).ok()
    }
}

impl Writer for VmMemory {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write_obj(v, GuestAddress(addr as u64)).ok()
    }
}

/// vm-mem shared mode: `&ShardedMemory`, one shard lock per access.
pub struct Shared<'a>(pub &'a Mem);

impl Reader for Shared<'_> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read::<T>(addr).ok()
    }
}

impl Writer for Shared<'_> {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write(addr, v).ok()
    }
}

/// vm-mem exclusive mode: the `&mut` view, no locks.
pub struct Excl<'a>(pub Exclusive<'a, SHARDS, SHARD_SIZE>);

impl Reader for Excl<'_> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read::<T>(addr).ok()
    }
}

impl Writer for Excl<'_> {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write(addr, v).ok()
    }
}

/// vm-mem frozen mode: read-only, no locks.
pub struct Froz<'a>(pub Frozen<'a, SHARDS, SHARD_SIZE>);

impl Reader for Froz<'_> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read::<T>(addr).ok()
    }
}

/// vm-mem batched mode: one shard lock kept across accesses.
pub struct Batched<'a>(pub Batch<'a, SHARDS, SHARD_SIZE>);

impl Reader for Batched<'_> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read::<T>(addr).ok()
    }
}

impl Writer for Batched<'_> {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write(addr, v).ok()
    }
}

/// Any vm-mem memory kind through the generic [`MemoryAccess`] trait, as an
/// emulator written once for every kind sees it.
pub struct Generic<M>(pub M);

impl<M: MemoryAccess> Reader for Generic<M> {
    #[inline(always)]
    fn read<T: Width>(&mut self, addr: usize) -> Option<T> {
        self.0.read_value::<T>(addr as u64).ok()
    }
}

impl<M: MemoryAccess> Writer for Generic<M> {
    #[inline(always)]
    fn write<T: Width>(&mut self, addr: usize, v: T) -> Option<()> {
        self.0.write_value(addr as u64, v).ok()
    }
}

// ---------------------------------------------------------------------------
// The measuring loops
// ---------------------------------------------------------------------------

/// Times `iters` passes of typed reads of width `T` over `addrs`: the one
/// loop behind every typed-read figure. Out of line, so every mode's loop
/// is compiled (and shows in a profile) on its own.
#[inline(never)]
pub fn time_reads<M: Reader, T: Width>(m: &mut M, addrs: &[usize], iters: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        for &a in black_box(addrs) {
            black_box(m.read::<T>(a).expect("reads stay in bounds"));
        }
        black_box(&mut *m);
    }
    start.elapsed()
}

/// Times `iters` passes of typed writes of width `T` over `addrs` (the
/// value depends on the address and the pass, so no store is redundant).
#[inline(never)]
pub fn time_writes<M: Writer, T: Width>(m: &mut M, addrs: &[usize], iters: usize) -> Duration {
    let start = Instant::now();
    for it in 0..iters {
        for &a in black_box(addrs) {
            let v = T::from_u64_truncating((a ^ it) as u64);
            m.write::<T>(a, v).expect("writes stay in bounds");
        }
        black_box(&mut *m);
    }
    start.elapsed()
}

/// Starts one thread per address list, each reading u64s over its list
/// `iters` times with its own reader from `make`, releases them together and
/// returns the span from the first thread's start to the last one's end (so
/// threads that did not really run in parallel show as such).
pub fn time_threads<M: Reader, F: Fn() -> M + Sync>(
    make: &F,
    lists: &[&[usize]],
    iters: usize,
) -> Duration {
    let barrier = Barrier::new(lists.len());
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = lists
            .iter()
            .map(|addrs| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut m = make();
                    barrier.wait();
                    let start = Instant::now();
                    time_reads::<M, u64>(&mut m, addrs, iters);
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .collect()
    });
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    match (first, last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    }
}

// ---------------------------------------------------------------------------
// A tiny instruction-set simulator, generic over the memory it runs on
// ---------------------------------------------------------------------------

/// The toy simulator (its own file, so the callgrind harness can use it
/// without the rest of this module).
mod sim;
#[allow(unused_imports)] // each user takes part of it
pub use sim::{iss, Bus, VecBus};

// ---------------------------------------------------------------------------
// Address lists and set-up
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift64), so every run and every
/// mode sees the same addresses.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `n` pseudo-random 8-aligned addresses inside shard `shard`.
pub fn shard_addrs(shard: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| shard * SHARD_SIZE + (xorshift(&mut s) as usize % (SHARD_SIZE / 8)) * 8)
        .collect()
}

/// The main list: [`READS`] addresses, `READS / SHARDS` in each shard, shard
/// after shard.
pub fn grouped_addrs() -> Vec<usize> {
    (0..SHARDS)
        .flat_map(|s| shard_addrs(s, READS / SHARDS, 0x9e37_79b9 + s as u64))
        .collect()
}

/// The main list reordered so that consecutive accesses are in different
/// shards (a batch's worst case).
pub fn interleaved_addrs(grouped: &[usize]) -> Vec<usize> {
    let per = READS / SHARDS;
    (0..per)
        .flat_map(|i| (0..SHARDS).map(move |s| grouped[s * per + i]))
        .collect()
}

/// `n` u64 addresses 4 bytes before a shard boundary, cycling over every
/// boundary: each read straddles two shards. 4 bytes lower, each is an
/// in-shard read of the same cache lines.
pub fn straddling_addrs(n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| (1 + i % (SHARDS - 1)) * SHARD_SIZE - 4)
        .collect()
}

/// The contents every memory starts with.
pub fn pattern() -> Vec<u8> {
    let mut s = 0x1234_5678_u64;
    (0..SIZE).map(|_| xorshift(&mut s) as u8).collect()
}

// Mode and baseline names: the example's sample keys, the benches' ids.

/// Baseline: a plain byte slice.
pub const RAW: &str = "raw slice";
/// Baseline: the seed design.
pub const SEED: &str = "seed (parking_lot)";
/// Baseline: rust-vmm vm-memory.
pub const VM_MEMORY: &str = "vm-memory mmap";
/// Mode: `&ShardedMemory`.
pub const SHARED: &str = "shared";
/// Mode: the exclusive view.
pub const EXCLUSIVE: &str = "exclusive";
/// Mode: a frozen memory.
pub const FROZEN: &str = "frozen";
/// Mode: a batch.
pub const BATCHED: &str = "batched";
/// Mode: `&ShardedMemory` through `MemoryAccess`.
pub const GENERIC_SHARED: &str = "MemoryAccess: &shared";
/// Mode: the exclusive view through `MemoryAccess`.
pub const GENERIC_EXCLUSIVE: &str = "MemoryAccess: exclusive";
/// Bulk baseline: `copy_from_slice` on a `Vec<u8>`.
pub const COPY: &str = "copy_from_slice";
/// Simulator baseline: a `Vec<u8>`.
pub const VEC: &str = "Vec<u8>";
/// Case: u64 reads inside a shard.
pub const IN_SHARD: &str = "in-shard";
/// Case: u64 reads inside a shard, across two machine words.
pub const WORD_SPANNING: &str = "spanning two words";
/// Case: u64 reads across a shard boundary.
pub const STRADDLING: &str = "straddling";
/// Case: one reader thread.
pub const ONE_THREAD: &str = "1 thread";
/// Case: two reader threads on different shards.
pub const TWO_DISJOINT: &str = "2 threads, disjoint shards";
/// Case: two reader threads on one shard.
pub const TWO_SAME: &str = "2 threads, same shard";
/// The baselines, which the per-mode targets do not apply to.
pub const BASELINES: [&str; 3] = [RAW, SEED, VM_MEMORY];

/// Every memory the measurements use, all starting with [`pattern`]'s bytes.
pub struct Memories {
    /// The initial contents.
    pub image: Vec<u8>,
    /// The raw-slice baseline.
    pub raw: Raw,
    /// The seed-design baseline.
    pub seed: SeedMem,
    /// The vm-memory baseline.
    pub vmm: GuestMemoryMmap,
    /// vm-mem's memory for the shared, exclusive and batched modes.
    pub mem: Box<Mem>,
    /// A second vm-mem memory, frozen: the frozen mode.
    pub rom: Box<Mem>,
}

impl Memories {
    /// Builds and fills every memory, and freezes [`Memories::rom`].
    pub fn new() -> Self {
        let image = pattern();
        let seed = SeedMem::new();
        for (shard, chunk) in seed.shards.iter().zip(image.chunks(SHARD_SIZE)) {
            shard.write().copy_from_slice(chunk);
        }
        let vmm = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), SIZE)])
            .expect("mmap the vm-memory baseline");
        vmm.write_slice(&image, GuestAddress(0))
            .expect("fill vm-memory");
        let mem = Mem::new_boxed();
        mem.write_bytes(0, &image).expect("fill");
        let rom = Mem::new_boxed();
        rom.write_bytes(0, &image).expect("fill");
        rom.freeze();
        Memories {
            raw: Raw(image.clone()),
            image,
            seed,
            vmm,
            mem,
            rom,
        }
    }

    /// A lock-free reader of the frozen memory.
    pub fn frozen(&self) -> Frozen<'_, SHARDS, SHARD_SIZE> {
        self.rom.freeze()
    }
}

/// Criterion settings for every bench: short warm-up and measurement so a
/// full `cargo bench -p vm-mem-benches` stays within a few minutes on a
/// 2-core machine (and `-- --quick` well under that). A macro, not a
/// function, so this module names criterion (a dev-dependency, for the
/// benches only) nowhere the perf test compiles.
#[allow(unused_macros)] // the perf test and some benches do not use it
macro_rules! criterion_config {
    () => {
        criterion::Criterion::default()
            .warm_up_time(std::time::Duration::from_millis(300))
            .measurement_time(std::time::Duration::from_secs(1))
            .sample_size(30)
    };
}
#[allow(unused_imports)] // as above
pub(crate) use criterion_config;
