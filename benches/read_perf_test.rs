//! Host perf test: what a guest memory access costs in every vm-mem access
//! mode, next to the baselines an emulator would otherwise use, as ratios
//! measured in one run on one machine. It prints measurements and
//! comparisons only; vm-mem's own speed goals, and which of them this
//! machine meets, are in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p vm-mem-benches --bin read_perf_test               # full run
//! cargo run --release -p vm-mem-benches --bin read_perf_test -- --iters 10 # quick
//! ... -- --markdown        # tables as Markdown (the README's "How fast", BENCHMARKS.md)
//! ... -- --csv             # one line per measurement, for plotting
//! cargo run --release -p vm-mem-benches --features svg --bin read_perf_test -- --svg speed.svg
//!                          # ns/byte per width, every mode and baseline
//! ```
//!
//! Method: each iteration does 16,384 accesses per width (u8, u16, u32,
//! u64) at 8-aligned addresses of a 1 MiB memory of 64 shards of 16 KiB: 256
//! pseudo-random offsets in shard 0, then 256 in shard 1, and so on (a
//! basic block's worth of accesses per shard, the pattern batches are made
//! for). Every mode walks the same list; each value read is kept alive with
//! [`black_box`]. The default is 1000 iterations, run after one warm-up
//! iteration in 10 rounds of 100: `Time (ms)` is the fastest round scaled to
//! the 1000 iterations (on a shared machine the fastest round is the one
//! least disturbed), and the other columns follow from it: ns/read = time /
//! reads, MB/s = bytes / time, Speedup = u8's ns/byte / this width's.
//!
//! Modes: `shared` (`&ShardedMemory`, a read lock per access), `exclusive`
//! (`memory.exclusive()`), `frozen` (`memory.freeze()`, a separate memory),
//! `batched` (`memory.batch()`), and the same through the generic
//! `MemoryAccess` trait. Baselines: `raw` (`u64::from_le_bytes` on a plain
//! `[u8]` slice: the physical floor), `seed` (the design vm-mem replaces:
//! `Vec<parking_lot::RwLock<Vec<u8>>>`, copying into a zeroed `[u8; N]`) and
//! rust-vmm's `vm-memory` (`GuestMemoryMmap::read_obj`, what a host VMM uses).
//!
//! Output, in the order measured: first the typed reads and writes of every
//! width and 1 vs 2 reader threads, printed as soon as they are measured
//! (the summary table first: the README's "How fast" table, with the
//! machine it ran on); then straddling reads, a batch whose shard changes on
//! every access, 64 KiB bulk copies across shards and a tiny
//! instruction-set simulator.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{IsTerminal, Write as _};
use std::time::{Duration, Instant};

use vm_mem::{Exclusive, Frozen, VmError};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// The modes, baselines, address lists and loops, shared with the benches.
#[allow(dead_code)] // the benches use parts this test does not
mod common;
use common::*;

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

/// What a sample measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    /// Typed reads, one width.
    Read,
    /// Typed writes, one width.
    Write,
    /// u64 reads that straddle two shards, and their in-shard twins.
    Straddle,
    /// Batched reads whose shard changes on every access.
    Interleaved,
    /// Aggregate reads of 1 or 2 threads.
    Threads,
    /// 64 KiB bulk copies.
    Bulk,
    /// Instructions of the toy instruction-set simulator.
    Iss,
}

impl Group {
    /// Name in CSV output.
    fn name(self) -> &'static str {
        match self {
            Group::Read => "read",
            Group::Write => "write",
            Group::Straddle => "straddle",
            Group::Interleaved => "interleaved",
            Group::Threads => "threads",
            Group::Bulk => "bulk",
            Group::Iss => "iss",
        }
    }
}

/// One measurement: `ops` operations moving `bytes` bytes in `secs`.
#[derive(Clone, Debug)]
struct Sample {
    /// What was measured.
    group: Group,
    /// The mode or baseline (one of the names in `common`).
    mode: &'static str,
    /// Width (`u64`) or case (`2 threads, same shard`).
    case: String,
    /// Operations made (reads, writes, copies, instructions).
    ops: u64,
    /// Bytes they moved.
    bytes: u64,
    /// Their time in seconds.
    secs: f64,
}

impl Sample {
    /// Nanoseconds per operation.
    fn ns_per_op(&self) -> f64 {
        self.secs * 1e9 / self.ops as f64
    }
    /// Nanoseconds per byte.
    fn ns_per_byte(&self) -> f64 {
        self.secs * 1e9 / self.bytes as f64
    }
    /// Throughput in MB/s (10^6 bytes).
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }
    /// Operations per second.
    fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// Times `reps` calls of `f` (a bulk copy, a simulator run).
fn time_calls(reps: usize, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed()
}

/// Rounds each measurement is split into; the fastest counts.
const ROUNDS: usize = 10;

/// Runs `run(n)` (which times `n` iterations) once as a warm-up, then in
/// [`ROUNDS`] rounds covering `iters` iterations, and returns the fastest
/// round's time scaled to `iters` iterations: on a shared machine the
/// fastest round is the one least disturbed by other processes.
fn best_of_rounds(iters: usize, mut run: impl FnMut(usize) -> Duration) -> Duration {
    let rounds = ROUNDS.min(iters);
    let per = iters / rounds;
    run(1);
    let best = (0..rounds).map(|_| run(per)).min().unwrap_or_default();
    best.mul_f64(iters as f64 / per as f64)
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    /// Whether stderr is a terminal.
    on: bool,
    /// Steps started so far.
    done: usize,
    /// Steps in the whole run.
    total: usize,
}

impl Progress {
    /// A progress line for `total` steps.
    fn new(total: usize) -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
            done: 0,
            total,
        }
    }

    /// Announces the next step.
    fn step(&mut self, what: &str) {
        self.done += 1;
        if self.on {
            eprint!("\r\x1b[2K[{:>3}/{}] {what}", self.done, self.total);
        }
    }

    /// Clears the line.
    fn finish(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Runs every measurement and collects the samples.
struct Bench {
    /// Iterations per measurement (`--iters`).
    iters: usize,
    /// The samples so far, in the order measured.
    samples: Vec<Sample>,
    /// The progress line.
    progress: Progress,
}

/// Widths in table order.
const WIDTHS: [&str; 4] = ["u8", "u16", "u32", "u64"];

impl Bench {
    /// Records one sample.
    fn push(
        &mut self,
        group: Group,
        mode: &'static str,
        case: &str,
        ops: usize,
        bytes: usize,
        t: Duration,
    ) {
        self.samples.push(Sample {
            group,
            mode,
            case: case.to_string(),
            ops: ops as u64,
            bytes: bytes as u64,
            secs: t.as_secs_f64().max(1e-9),
        });
    }

    /// Measures reads of one width (after a warm-up pass).
    fn read_width<M: Reader, T: Width>(&mut self, mode: &'static str, m: &mut M, addrs: &[usize]) {
        self.progress.step(&format!("read  {mode} {}", T::NAME));
        let t = best_of_rounds(self.iters, |n| time_reads::<M, T>(m, addrs, n));
        let n = self.iters * addrs.len();
        self.push(Group::Read, mode, T::NAME, n, n * T::SIZE, t);
    }

    /// Measures reads of every width in one mode.
    fn reads<M: Reader>(&mut self, mode: &'static str, m: &mut M, addrs: &[usize]) {
        self.read_width::<M, u8>(mode, m, addrs);
        self.read_width::<M, u16>(mode, m, addrs);
        self.read_width::<M, u32>(mode, m, addrs);
        self.read_width::<M, u64>(mode, m, addrs);
    }

    /// Measures writes of one width (after a warm-up pass).
    fn write_width<M: Writer, T: Width>(&mut self, mode: &'static str, m: &mut M, addrs: &[usize]) {
        self.progress.step(&format!("write {mode} {}", T::NAME));
        let t = best_of_rounds(self.iters, |n| time_writes::<M, T>(m, addrs, n));
        let n = self.iters * addrs.len();
        self.push(Group::Write, mode, T::NAME, n, n * T::SIZE, t);
    }

    /// Measures writes of every width in one mode.
    fn writes<M: Writer>(&mut self, mode: &'static str, m: &mut M, addrs: &[usize]) {
        self.write_width::<M, u8>(mode, m, addrs);
        self.write_width::<M, u16>(mode, m, addrs);
        self.write_width::<M, u32>(mode, m, addrs);
        self.write_width::<M, u64>(mode, m, addrs);
    }

    /// Measures u64 reads over `addrs` as one sample of `group`.
    fn u64_reads<M: Reader>(
        &mut self,
        group: Group,
        mode: &'static str,
        case: &str,
        m: &mut M,
        addrs: &[usize],
    ) {
        self.progress
            .step(&format!("{} {mode} {case}", group.name()));
        let t = best_of_rounds(self.iters, |n| time_reads::<M, u64>(m, addrs, n));
        let n = self.iters * addrs.len();
        self.push(group, mode, case, n, n * 8, t);
    }

    /// Aggregate u64 reads of one thread per address list, each thread with
    /// its own reader from `make`.
    fn threads<M: Reader, F: Fn() -> M + Sync>(
        &mut self,
        mode: &'static str,
        case: &str,
        make: &F,
        lists: &[&[usize]],
    ) {
        self.progress.step(&format!("threads {mode} {case}"));
        let t = best_of_rounds(self.iters, |n| time_threads(make, lists, n));
        let n = self.iters * lists.iter().map(|l| l.len()).sum::<usize>();
        self.push(Group::Threads, mode, case, n, n * 8, t);
    }

    /// Times `self.iters * 16` calls of a bulk copy of [`BULK`] bytes.
    fn bulk(&mut self, mode: &'static str, case: &str, mut f: impl FnMut()) {
        self.progress.step(&format!("bulk {mode} {case}"));
        let reps = self.iters * 16;
        let t = best_of_rounds(reps, |n| time_calls(n, &mut f));
        self.push(Group::Bulk, mode, case, reps, reps * BULK, t);
    }

    /// Runs the toy simulator's `program` (already loaded into `bus`)
    /// `self.iters * 10` times.
    fn iss<B: Bus>(&mut self, mode: &'static str, program: &iss::Program, bus: &mut B) {
        self.progress.step(&format!("iss {mode} {}", program.name));
        let reps = self.iters * 10;
        let steps = iss::run(bus).expect("program runs");
        assert_eq!(steps, program.steps, "{mode}: the program ran as written");
        assert_eq!(iss::result(bus).ok(), Some(iss::TOTAL), "{mode}: right sum");
        let t = best_of_rounds(reps, |n| {
            time_calls(n, || {
                let s = iss::run(black_box(&mut *bus)).expect("program runs");
                assert_eq!(s, steps, "{mode}: same instruction count every run");
            })
        });
        let n = reps * steps as usize;
        self.push(Group::Iss, mode, program.name, n, n * 4, t);
    }
}

/// The in-shard `read_u64` of the exclusive view, kept out of line so its
/// machine code can be read in `--emit asm` output (see BENCHMARKS.md).
#[inline(never)]
pub fn exclusive_read_u64(
    view: &Exclusive<'_, SHARDS, SHARD_SIZE>,
    addr: usize,
) -> Result<u64, VmError> {
    view.read_u64(addr)
}

/// The shared (locked) `read_u64`, out of line for the same reason.
#[inline(never)]
pub fn shared_read_u64(mem: &Mem, addr: usize) -> Result<u64, VmError> {
    mem.read_u64(addr)
}

/// The raw floor, out of line for comparison.
#[inline(never)]
pub fn raw_read_u64(bytes: &[u8], addr: usize) -> Option<u64> {
    u64::raw_load(bytes.get(addr..)?)
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// How tables are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Aligned columns for a terminal.
    Text,
    /// GitHub Markdown tables.
    Markdown,
    /// One CSV line per sample, no tables.
    Csv,
}

/// A titled table of strings.
struct Table {
    /// Printed above the table.
    title: String,
    /// A sentence printed between the title and the table (may be empty).
    note: String,
    /// Paragraphs printed under the table (may be none): what it means.
    footer: Vec<String>,
    /// Column names.
    head: Vec<String>,
    /// Cells, row by row.
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table.
    fn new(title: impl Into<String>, head: &[&str]) -> Self {
        Table {
            title: title.into(),
            note: String::new(),
            footer: Vec::new(),
            head: head.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table as text or Markdown.
    fn render(&self, fmt: Format) -> String {
        let mut out = String::new();
        let widths: Vec<usize> = (0..self.head.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, String::len))
                    .chain([self.head[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| -> String {
            let cells: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            match fmt {
                Format::Markdown => format!("| {} |\n", cells.join(" | ")),
                _ => format!("{}\n", cells.join(" | ")),
            }
        };
        match fmt {
            Format::Markdown => writeln!(out, "\n#### {}\n", self.title),
            _ => writeln!(out, "\n{}", self.title),
        }
        .expect("write to String");
        if !self.note.is_empty() {
            match fmt {
                Format::Markdown => writeln!(out, "{}\n", self.note),
                _ => writeln!(out, "{}", self.note),
            }
            .expect("write to String");
        }
        out += &line(&self.head);
        let rule: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let dashes = "-".repeat((*w).max(3));
                if fmt == Format::Markdown && i > 0 {
                    format!("{}:", &dashes[1..])
                } else {
                    dashes
                }
            })
            .collect();
        out += &line(&rule);
        for r in &self.rows {
            out += &line(r);
        }
        for paragraph in &self.footer {
            match fmt {
                Format::Markdown => writeln!(out, "\n{paragraph}"),
                _ => writeln!(out, "{paragraph}"),
            }
            .expect("write to String");
        }
        out
    }
}

/// `field` as one CSV field: quoted (with inner quotes doubled) when it
/// holds a comma or a quote, as RFC 4180 asks.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `x` as a ratio, `1.23x`.
fn ratio(x: f64) -> String {
    format!("{x:.2}x")
}

/// Looks up samples.
struct Results<'a>(&'a [Sample]);

impl<'a> Results<'a> {
    /// The sample of `group`/`mode`/`case`, if measured.
    fn get(&self, group: Group, mode: &str, case: &str) -> Option<&'a Sample> {
        self.0
            .iter()
            .find(|s| s.group == group && s.mode == mode && s.case == case)
    }

    /// ns per op of a sample (NaN when missing, so a ratio shows `NaN`).
    fn ns(&self, group: Group, mode: &str, case: &str) -> f64 {
        self.get(group, mode, case)
            .map_or(f64::NAN, Sample::ns_per_op)
    }

    /// Modes measured in `group`, in the order measured.
    fn modes(&self, group: Group) -> Vec<&'static str> {
        let mut modes: Vec<&'static str> = Vec::new();
        for s in self.0.iter().filter(|s| s.group == group) {
            if !modes.contains(&s.mode) {
                modes.push(s.mode);
            }
        }
        modes
    }

    /// Samples of `group` in the order measured.
    fn of(&self, group: Group) -> impl Iterator<Item = &'a Sample> {
        self.0.iter().filter(move |s| s.group == group)
    }
}

/// Where and when the run happened, printed with the summary so a figure
/// copied from it names its machine.
struct Machine {
    /// The CPU model (`/proc/cpuinfo`'s `model name`), or `unknown CPU`.
    cpu: String,
    /// Logical CPUs this process may use.
    cpus: usize,
    /// The 1-minute load average when the run started (Linux), if known.
    load: Option<String>,
    /// The UTC date the run started, `YYYY-MM-DD`.
    date: String,
}

impl Machine {
    /// Reads the machine's description (before measuring, for the load).
    fn describe() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string));
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        Machine {
            cpu,
            cpus,
            load,
            date: civil_date(days),
        }
    }

    /// One line: `AMD EPYC 7B13, 2 logical CPUs, load 0.42 at the start, 2026-12-07 (UTC)`.
    fn line(&self) -> String {
        let load = self.load.as_ref().map_or(String::new(), |l| {
            format!(", load average {l} at the start")
        });
        format!(
            "{}, {} logical CPUs{load}, {} (UTC)",
            self.cpu, self.cpus, self.date
        )
    }
}

/// `days` since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; Howard
/// Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The summary, printed first: the README's "How fast" table (u64 accesses
/// of vm-mem's main modes against the three baselines), two threads on one
/// shard, and what it means, with the machine it ran on.
fn summary(r: &Results, machine: &Machine) -> Table {
    let mut t = Table::new(
        "How fast: u64 accesses, time per access and its ratio to each baseline (lower is faster; 1.00x = same time)",
        &[
            "u64 access",
            "ns",
            "vs a raw `&[u8]` load",
            "vs the locked seed design",
            "vs rust-vmm `vm-memory` `read_obj`",
        ],
    );
    t.note = format!("Measured on {}.", machine.line());
    let rows = [
        (
            Group::Read,
            SHARED,
            "shared read (`&ShardedMemory`, lock-free)",
        ),
        (Group::Read, EXCLUSIVE, "exclusive read (`&mut` view)"),
        (Group::Read, FROZEN, "frozen read"),
        (Group::Write, SHARED, "shared write (the shard's lock)"),
        (Group::Write, EXCLUSIVE, "exclusive write (`&mut` view)"),
    ];
    for (group, mode, label) in rows {
        let ns = r.ns(group, mode, "u64");
        let mut row = vec![label.to_string(), format!("{ns:.2}")];
        row.extend(
            BASELINES
                .iter()
                .map(|base| ratio(ns / r.ns(group, base, "u64"))),
        );
        t.row(row);
    }
    let rd = |m: &str| r.ns(Group::Read, m, "u64");
    let wr = |m: &str| r.ns(Group::Write, m, "u64");
    let agg = |m: &str, c: &str| {
        r.get(Group::Threads, m, c)
            .map_or(f64::NAN, Sample::ops_per_s)
    };
    t.footer = vec![
        format!(
            "Baselines: a raw slice load {:.2} ns, the seed design's locked read {:.2} ns, \
             vm-memory's read_obj {:.2} ns (writes: {:.2}, {:.2} and {:.2} ns). \
             Two threads reading one shard: {} one thread's reads per second \
             (two on different shards: {}).",
            rd(RAW),
            rd(SEED),
            rd(VM_MEMORY),
            wr(RAW),
            wr(SEED),
            wr(VM_MEMORY),
            ratio(agg(SHARED, TWO_SAME) / agg(SHARED, ONE_THREAD)),
            ratio(agg(SHARED, TWO_DISJOINT) / agg(SHARED, ONE_THREAD)),
        ),
        format!(
            "What this means: a shared read takes {} the time of a plain slice load and {} \
             of the locked design's read; the exclusive and frozen views read at {} and {} \
             of a slice load; a shared write takes the shard's lock and costs {} the locked \
             design's write.",
            ratio(rd(SHARED) / rd(RAW)),
            ratio(rd(SHARED) / rd(SEED)),
            ratio(rd(EXCLUSIVE) / rd(RAW)),
            ratio(rd(FROZEN) / rd(RAW)),
            ratio(wr(SHARED) / wr(SEED)),
        ),
    ];
    t
}

/// The typed read and write tables: one per mode, then each mode against
/// each baseline.
fn typed_tables(r: &Results) -> Vec<Table> {
    let mut out = Vec::new();
    for (group, verb, noun) in [
        (Group::Read, "Read", "read"),
        (Group::Write, "Write", "write"),
    ] {
        for mode in r.modes(group) {
            let ns_col = format!("ns/{noun}");
            let mut t = Table::new(
                format!("{noun}s: {mode}"),
                &[
                    &format!("{verb} Size"),
                    "Time (ms)",
                    &ns_col,
                    "MB/s",
                    "ns/byte",
                    "Speedup",
                ],
            );
            let u8_per_byte = r
                .get(group, mode, "u8")
                .map_or(f64::NAN, Sample::ns_per_byte);
            for w in WIDTHS {
                if let Some(s) = r.get(group, mode, w) {
                    t.row(vec![
                        w.to_string(),
                        format!("{:.2}", s.secs * 1e3),
                        format!("{:.3}", s.ns_per_op()),
                        format!("{:.1}", s.mb_per_s()),
                        format!("{:.4}", s.ns_per_byte()),
                        ratio(u8_per_byte / s.ns_per_byte()),
                    ]);
                }
            }
            out.push(t);
        }
        for base in BASELINES {
            let mut t = Table::new(
                format!("{noun}s: time per {noun} / {base} (lower is faster; 1.00x = same)"),
                &["Mode", "u8", "u16", "u32", "u64"],
            );
            for mode in r.modes(group) {
                let mut row = vec![mode.to_string()];
                row.extend(
                    WIDTHS
                        .iter()
                        .map(|w| ratio(r.ns(group, mode, w) / r.ns(group, base, w))),
                );
                t.row(row);
            }
            out.push(t);
        }
    }
    out
}

/// Aggregate reads of 1 and 2 threads.
fn threads_table(r: &Results) -> Table {
    let mut t = Table::new(
        "threads: aggregate u64 reads",
        &["Mode", "Case", "Mreads/s", "vs 1 thread"],
    );
    for s in r.of(Group::Threads) {
        let one = r
            .get(Group::Threads, s.mode, ONE_THREAD)
            .map_or(f64::NAN, Sample::ops_per_s);
        t.row(vec![
            s.mode.into(),
            s.case.clone(),
            format!("{:.1}", s.ops_per_s() / 1e6),
            ratio(s.ops_per_s() / one),
        ]);
    }
    t.footer = vec![format!(
        "With {} logical CPUs, 2.00x is the most two threads can reach; on a shared \
         machine these rows move the most from run to run.",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )];
    t
}

/// Straddling reads, the batch whose shard changes on every access, bulk
/// copies and the simulator.
fn other_tables(r: &Results) -> Vec<Table> {
    let mut out = Vec::new();
    let mut t = Table::new(
        "u64 reads at a shard's end: in-shard (boundary - 8), spanning two words (- 12), straddling (- 4)",
        &["Mode", "Case", "ns/read", "vs in-shard"],
    );
    for s in r.of(Group::Straddle) {
        let base = r.ns(Group::Straddle, s.mode, IN_SHARD);
        t.row(vec![
            s.mode.into(),
            s.case.clone(),
            format!("{:.3}", s.ns_per_op()),
            ratio(s.ns_per_op() / base),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        "u64 reads whose shard changes on every access",
        &["Mode", "ns/read", "vs shared"],
    );
    for s in r.of(Group::Interleaved) {
        let base = r.ns(Group::Interleaved, SHARED, &s.case);
        t.row(vec![
            s.mode.into(),
            format!("{:.3}", s.ns_per_op()),
            ratio(s.ns_per_op() / base),
        ]);
    }
    out.push(t);

    let mut t = Table::new(
        format!("bulk {} KiB copies across shards", BULK / 1024),
        &["Op", "Mode", "Time (ms)", "GB/s", "vs copy_from_slice"],
    );
    for s in r.of(Group::Bulk) {
        let base = r.ns(Group::Bulk, COPY, &s.case);
        t.row(vec![
            s.case.clone(),
            s.mode.into(),
            format!("{:.2}", s.secs * 1e3),
            format!("{:.2}", s.mb_per_s() / 1e3),
            ratio(base / s.ns_per_op()),
        ]);
    }
    t.footer = vec!["vs copy_from_slice is a speed ratio (higher is faster; 1.00x = same).".into()];
    out.push(t);

    let mut t = Table::new(
        "instruction-set simulator (a toy ISA interpreted through the memory)",
        &[
            "Program",
            "Memory",
            "Instructions",
            "Time (ms)",
            "ns/instr",
            "MIPS",
            "time vs Vec<u8>",
        ],
    );
    for s in r.of(Group::Iss) {
        let base = r.ns(Group::Iss, VEC, &s.case);
        t.row(vec![
            s.case.clone(),
            s.mode.into(),
            s.ops.to_string(),
            format!("{:.2}", s.secs * 1e3),
            format!("{:.3}", s.ns_per_op()),
            format!("{:.1}", s.ops_per_s() / 1e6),
            ratio(s.ns_per_op() / base),
        ]);
    }
    out.push(t);
    out
}

/// Draws ns/byte per width for every read and write mode into an SVG file.
#[cfg(feature = "svg")]
fn draw_svg(path: &str, r: &Results) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let root = SVGBackend::new(path, (1200, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    for (area, group) in [(left, Group::Read), (right, Group::Write)] {
        let modes = r.modes(group);
        let values: Vec<f64> = r
            .of(group)
            .map(Sample::ns_per_byte)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        if values.is_empty() {
            continue;
        }
        // Head room above the data for the legend.
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
        let hi = values.iter().copied().fold(0.0, f64::max) * 30.0;
        let mut chart = ChartBuilder::on(&area)
            .caption(
                format!(
                    "vm-mem {}s: ns/byte (log scale, lower is faster)",
                    group.name()
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.2f64..3.2f64, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| {
                WIDTHS
                    .get(x.round().max(0.0) as usize)
                    .filter(|_| (x - x.round()).abs() < 1e-6)
                    .map_or(String::new(), |w| w.to_string())
            })
            .x_desc("access width")
            .y_desc("ns/byte")
            .draw()?;
        for (i, mode) in modes.iter().enumerate() {
            // Baselines in greys and brown, vm-mem's modes in colours.
            let color = match BASELINES.iter().position(|b| b == mode) {
                Some(0) => BLACK.to_rgba(),
                Some(1) => RGBColor(140, 140, 140).to_rgba(),
                Some(_) => RGBColor(150, 90, 40).to_rgba(),
                None => Palette99::pick(i).to_rgba(),
            };
            let points: Vec<(f64, f64)> = WIDTHS
                .iter()
                .enumerate()
                .filter_map(|(x, w)| r.get(group, mode, w).map(|s| (x as f64, s.ns_per_byte())))
                .collect();
            let baseline = BASELINES.contains(mode);
            let style = color.stroke_width(if baseline { 1 } else { 2 });
            chart
                .draw_series(LineSeries::new(points.clone(), style))?
                .label(if baseline {
                    format!("{mode} (baseline)")
                } else {
                    mode.to_string()
                })
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Without the `svg` feature there is no chart: says how to get one.
#[cfg(not(feature = "svg"))]
fn draw_svg(_: &str, _: &Results) -> Result<(), Box<dyn std::error::Error>> {
    Err("built without the chart: add `--features svg` to the cargo command".into())
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

/// Command-line options.
struct Options {
    /// Iterations per measurement.
    iters: usize,
    /// How to print the results.
    format: Format,
    /// Where to draw the SVG chart, if anywhere.
    svg: Option<String>,
}

/// Parses the command line; exits with a usage message on a bad one.
fn options() -> Options {
    let usage = "usage: read_perf_test [--iters N] [--csv | --markdown] [--svg FILE]";
    let mut o = Options {
        iters: 1000,
        format: Format::Text,
        svg: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => o.iters = n,
                _ => fail(usage),
            },
            "--csv" => o.format = Format::Csv,
            "--markdown" => o.format = Format::Markdown,
            "--svg" if cfg!(not(feature = "svg")) => fail(
                "--svg needs the chart, which is behind a feature: \
                 cargo run --release -p vm-mem-benches --features svg --bin read_perf_test -- --svg FILE",
            ),
            "--svg" => o.svg = Some(args.next().unwrap_or_else(|| fail(usage))),
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench` to every target it builds.
            "--bench" => {}
            _ => fail(usage),
        }
    }
    o
}

/// Prints `msg` and exits with status 2.
fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(2);
}

/// Checks that every mode reads the same values (the harness measures the
/// real thing) and that the out-of-line wrappers work.
fn sanity(
    raw: &Raw,
    seed: &SeedMem,
    vmm: &GuestMemoryMmap,
    mem: &mut Mem,
    rom: &Frozen<'_, SHARDS, SHARD_SIZE>,
) {
    for a in [0, 8, SHARD_SIZE - 8, SHARD_SIZE - 4, SIZE - 8] {
        let want = raw_read_u64(&raw.0, a);
        assert_eq!(seed.read::<u64>(a), want, "seed at {a:#x}");
        assert_eq!(
            vmm.read_obj::<u64>(GuestAddress(a as u64)).ok(),
            want,
            "vm-memory at {a:#x}"
        );
        assert_eq!(shared_read_u64(mem, a).ok(), want, "shared at {a:#x}");
        assert_eq!(rom.read_u64(a).ok(), want, "frozen at {a:#x}");
        assert_eq!(
            exclusive_read_u64(&mem.exclusive(), a).ok(),
            want,
            "exclusive at {a:#x}"
        );
    }
    assert!(exclusive_read_u64(&mem.exclusive(), SIZE - 4).is_err());
}

/// Measures everything, prints the tables (or CSV), draws the SVG.
fn main() {
    let opts = options();
    let iters = opts.iters;
    let grouped = grouped_addrs();
    let interleaved = interleaved_addrs(&grouped);
    let straddling = straddling_addrs(READS);
    let in_shard: Vec<usize> = straddling.iter().map(|a| a - 4).collect();
    // 8 bytes lower still: inside the shard, but across two machine words.
    let spanning: Vec<usize> = straddling.iter().map(|a| a - 8).collect();
    let shard0 = shard_addrs(0, READS, 7);
    let shard1 = shard_addrs(1, READS, 11);

    // Every memory starts with the same bytes.
    let Memories {
        image,
        mut raw,
        seed,
        vmm,
        mut mem,
        rom: rom_mem,
    } = Memories::new();
    let rom = rom_mem.freeze();
    sanity(&raw, &seed, &vmm, &mut mem, &rom);
    let machine = Machine::describe();

    let read_modes = 9;
    let write_modes = 7;
    let steps = 4 * (read_modes + write_modes) + 6 + 2 + 9 + 9 + 6;
    let mut b = Bench {
        iters,
        samples: Vec::new(),
        progress: Progress::new(steps),
    };
    let start = Instant::now();

    // Typed reads and writes, every width, every mode.
    b.reads(RAW, &mut raw, &grouped);
    b.reads(SEED, &mut Seed(&seed), &grouped);
    b.reads(VM_MEMORY, &mut VmMemory(vmm.clone()), &grouped);
    b.reads(SHARED, &mut Shared(&mem), &grouped);
    b.reads(EXCLUSIVE, &mut Excl(mem.exclusive()), &grouped);
    b.reads(FROZEN, &mut Froz(rom), &grouped);
    b.reads(BATCHED, &mut Batched(mem.batch()), &grouped);
    b.reads(GENERIC_SHARED, &mut Generic(&*mem), &grouped);
    b.reads(GENERIC_EXCLUSIVE, &mut Generic(mem.exclusive()), &grouped);

    b.writes(RAW, &mut raw, &grouped);
    b.writes(SEED, &mut Seed(&seed), &grouped);
    b.writes(VM_MEMORY, &mut VmMemory(vmm.clone()), &grouped);
    b.writes(SHARED, &mut Shared(&mem), &grouped);
    b.writes(EXCLUSIVE, &mut Excl(mem.exclusive()), &grouped);
    b.writes(BATCHED, &mut Batched(mem.batch()), &grouped);
    b.writes(GENERIC_EXCLUSIVE, &mut Generic(mem.exclusive()), &grouped);

    // 1 vs 2 threads (in the summary, so measured before it is printed).
    let cases: [(&str, Vec<&[usize]>); 3] = [
        (ONE_THREAD, vec![&shard0]),
        (TWO_DISJOINT, vec![&shard0, &shard1]),
        (TWO_SAME, vec![&shard0, &shard0]),
    ];
    for (case, lists) in &cases {
        b.threads(SHARED, case, &|| Shared(&mem), lists);
        b.threads(FROZEN, case, &|| Froz(rom), lists);
        b.threads(SEED, case, &|| Seed(&seed), lists);
    }

    // What is measured so far is printed now: the summary first, so the
    // main figures appear long before the whole run ends.
    if opts.format != Format::Csv {
        b.progress.finish();
        let results = Results(&b.samples);
        println!(
            "vm-mem perf test: {iters} iterations x {READS} accesses per width; memory {SHARDS} shards x {} KiB",
            SHARD_SIZE / 1024,
        );
        print!("{}", summary(&results, &machine).render(opts.format));
        for t in typed_tables(&results) {
            print!("{}", t.render(opts.format));
        }
        print!("{}", threads_table(&results).render(opts.format));
        std::io::stdout().flush().expect("write to stdout");
    }

    // Straddling u64 reads next to their in-shard twins 4 bytes lower and
    // word-spanning ones 8 bytes lower.
    for (case, addrs) in [
        (IN_SHARD, &in_shard),
        (WORD_SPANNING, &spanning),
        (STRADDLING, &straddling),
    ] {
        b.u64_reads(Group::Straddle, SHARED, case, &mut Shared(&mem), addrs);
        b.u64_reads(
            Group::Straddle,
            EXCLUSIVE,
            case,
            &mut Excl(mem.exclusive()),
            addrs,
        );
    }
    b.u64_reads(
        Group::Interleaved,
        SHARED,
        "u64",
        &mut Shared(&mem),
        &interleaved,
    );
    b.u64_reads(
        Group::Interleaved,
        BATCHED,
        "u64",
        &mut Batched(mem.batch()),
        &interleaved,
    );

    // Bulk copies of 64 KiB across five shards.
    let mut buf = vec![0u8; BULK];
    let src: Vec<u8> = image[..BULK].to_vec();
    let range = BULK_AT..BULK_AT + BULK;
    b.bulk(COPY, "read_bytes", || {
        buf.copy_from_slice(&black_box(&raw.0)[range.clone()]);
        black_box(&mut buf);
    });
    b.bulk(SHARED, "read_bytes", || {
        mem.read_bytes(black_box(BULK_AT), &mut buf)
            .expect("in bounds");
        black_box(&mut buf);
    });
    b.bulk(FROZEN, "read_bytes", || {
        rom.read_bytes(black_box(BULK_AT), &mut buf)
            .expect("in bounds");
        black_box(&mut buf);
    });
    b.bulk(VM_MEMORY, "read_bytes", || {
        vmm.read_slice(&mut buf, GuestAddress(black_box(BULK_AT) as u64))
            .expect("in bounds");
        black_box(&mut buf);
    });
    {
        let view = mem.exclusive();
        b.bulk(EXCLUSIVE, "read_bytes", || {
            view.read_bytes(black_box(BULK_AT), &mut buf)
                .expect("in bounds");
            black_box(&mut buf);
        });
    }
    b.bulk(COPY, "write_bytes", || {
        black_box(&mut raw.0)[range.clone()].copy_from_slice(black_box(&src));
    });
    b.bulk(SHARED, "write_bytes", || {
        mem.write_bytes(black_box(BULK_AT), black_box(&src))
            .expect("in bounds");
    });
    b.bulk(VM_MEMORY, "write_bytes", || {
        vmm.write_slice(black_box(&src), GuestAddress(black_box(BULK_AT) as u64))
            .expect("in bounds");
    });
    {
        let mut view = mem.exclusive();
        b.bulk(EXCLUSIVE, "write_bytes", || {
            view.write_bytes(black_box(BULK_AT), black_box(&src))
                .expect("in bounds");
        });
    }

    // The instruction-set simulator on a Vec, shared and exclusive memory,
    // with a read-mostly program and one that stores every sixth instruction.
    let mut vec_bus = VecBus(vec![0; SIZE]);
    for program in [&iss::CHECKSUM, &iss::PREFIX_SUMS] {
        iss::load(&mut vec_bus, program).expect("load program");
        iss::load(&mut &*mem, program).expect("load program");
        b.iss(VEC, program, &mut vec_bus);
        b.iss(SHARED, program, &mut &*mem);
        b.iss(EXCLUSIVE, program, &mut mem.exclusive());
    }
    b.progress.finish();
    let total = start.elapsed();

    let results = Results(&b.samples);
    match opts.format {
        Format::Csv => {
            println!("group,mode,case,ops,bytes,time_ms,ns_per_op,mb_per_s,ns_per_byte");
            for s in &b.samples {
                println!(
                    "{},{},{},{},{},{:.3},{:.4},{:.1},{:.5}",
                    s.group.name(),
                    csv_field(s.mode),
                    csv_field(&s.case),
                    s.ops,
                    s.bytes,
                    s.secs * 1e3,
                    s.ns_per_op(),
                    s.mb_per_s(),
                    s.ns_per_byte()
                );
            }
        }
        fmt => {
            for t in other_tables(&results) {
                print!("{}", t.render(fmt));
            }
            println!(
                "\nmeasured in {:.1} s on {}",
                total.as_secs_f64(),
                machine.line()
            );
        }
    }
    if let Some(path) = &opts.svg {
        if let Err(e) = draw_svg(path, &results) {
            fail(&format!("drawing {path}: {e}"));
        }
        eprintln!("wrote {path}");
    }
}
