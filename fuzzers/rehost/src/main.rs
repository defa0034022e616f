//! A LibAFL rehosting fuzzer over vm-mem: the firmware in `firmware/` runs
//! on rrs-lib's RV32IM executor over a vm-mem owner map (see
//! `machine.rs`); each input is restored into one machine snapshot, fed
//! through the UART, and run until the firmware idles, faults (the
//! objective) or uses up its instruction budget. README.md explains the
//! modes and the figures.
//!
//! ```text
//! rehost [fuzz] [--cores 0-1] [--port 31337] [--seed 1] [--seconds N]
//!               [--until-crash] [--expect-crash] [--corpus DIR]
//!               [--solutions DIR] [--max-len 64] [--stack-pow 7] [--budget N]
//!               [--report-secs 3] [--quiet-clients]
//! rehost plain-loop [--seconds N] [--seed 1] [--max-len 64] [--budget N]
//! rehost replay [--check] FILE...
//! ```

mod machine;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libafl::corpus::{Corpus, InMemoryCorpus, OnDiskCorpus};
use libafl::events::{
    ClientDescription, EventConfig, Launcher, LlmpRestartingEventManager, ProgressReporter,
};
use libafl::executors::{Executor, ExitKind, HasObservers};
use libafl::feedback_and_fast;
use libafl::feedbacks::{CrashFeedback, MaxMapFeedback};
use libafl::fuzzer::{Fuzzer, StdFuzzer};
use libafl::generators::RandBytesGenerator;
use libafl::inputs::{BytesInput, HasTargetBytes};
use libafl::monitors::SimpleMonitor;
use libafl::mutators::{havoc_mutations, HavocScheduledMutator};
use libafl::observers::{HitcountsMapObserver, StdMapObserver};
use libafl::schedulers::QueueScheduler;
use libafl::stages::StdMutationalStage;
use libafl::state::{HasExecutions, HasMaxSize, HasSolutions, StdState, Stoppable};
use libafl::Error;
use libafl_bolts::core_affinity::Cores;
use libafl_bolts::rands::StdRand;
use libafl_bolts::shmem::{ShMemProvider, StdShMem, StdShMemProvider};
use libafl_bolts::tuples::{tuple_list, RefIndexable};
use libafl_bolts::ToSlice;

use machine::{Machine, Outcome, MAP_SIZE};

/// The edge map the emulator fills and the observer reads (one per
/// process: each client is its own process).
static mut EDGES: [u8; MAP_SIZE] = [0; MAP_SIZE];

/// A client's fuzzing state and event manager.
type State = StdState<InMemoryCorpus<BytesInput>, BytesInput, StdRand, OnDiskCorpus<BytesInput>>;
type Manager = LlmpRestartingEventManager<(), BytesInput, State, StdShMem, StdShMemProvider>;

struct Options {
    mode: String,
    cores: String,
    port: u16,
    seed: u64,
    seconds: u64,
    until_crash: bool,
    expect_crash: bool,
    corpus: Option<PathBuf>,
    solutions: PathBuf,
    budget: u64,
    max_len: usize,
    quiet_clients: bool,
    check: bool,
    stack_pow: usize,
    report_secs: u64,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        mode: "fuzz".into(),
        cores: "0-1".into(),
        port: 31337,
        seed: 1,
        seconds: 0,
        until_crash: false,
        expect_crash: false,
        corpus: None,
        // fuzzers/rehost/solutions (git ignores it), wherever it runs from.
        solutions: concat!(env!("CARGO_MANIFEST_DIR"), "/solutions").into(),
        budget: 200_000,
        max_len: 64,
        quiet_clients: false,
        check: false,
        stack_pow: 7,
        report_secs: 3,
        files: vec![],
    };
    let mut args = std::env::args().skip(1).peekable();
    if let Some(m) = args.peek() {
        if !m.starts_with("--") {
            o.mode = args.next().unwrap();
        }
    }
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let num = |v: String, name: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match a.as_str() {
            "--cores" => o.cores = value("--cores")?,
            "--port" => o.port = num(value("--port")?, "--port")? as u16,
            "--seed" => o.seed = num(value("--seed")?, "--seed")?,
            "--seconds" => o.seconds = num(value("--seconds")?, "--seconds")?,
            "--until-crash" => o.until_crash = true,
            "--expect-crash" => o.expect_crash = true,
            "--corpus" => o.corpus = Some(value("--corpus")?.into()),
            "--solutions" => o.solutions = value("--solutions")?.into(),
            "--budget" => o.budget = num(value("--budget")?, "--budget")?,
            "--max-len" => o.max_len = num(value("--max-len")?, "--max-len")?.max(1) as usize,
            "--report-secs" => o.report_secs = num(value("--report-secs")?, "--report-secs")?,
            "--quiet-clients" => o.quiet_clients = true,
            "--check" => o.check = true,
            "--stack-pow" => {
                o.stack_pow = num(value("--stack-pow")?, "--stack-pow")?.clamp(1, 7) as usize
            }
            "--plain-loop" => o.mode = "plain-loop".into(),
            "-h" | "--help" => return Err(String::new()),
            f if o.mode == "replay" && !f.starts_with("--") => o.files.push(f.into()),
            _ => return Err(format!("unknown argument `{a}`")),
        }
    }
    Ok(o)
}

const USAGE: &str = "usage:
  rehost [fuzz] [--cores 0-1] [--port 31337] [--seed 1] [--seconds N] [--until-crash] [--expect-crash]
                [--corpus DIR] [--solutions DIR] [--max-len 64] [--stack-pow 7] [--budget N] [--report-secs 3] [--quiet-clients]
  rehost plain-loop [--seconds N] [--seed 1] [--max-len 64] [--budget N]
  rehost replay [--check] FILE...";

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("rehost: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let r = match o.mode.as_str() {
        "fuzz" => fuzz(&o),
        "plain-loop" => plain_loop(&o),
        "replay" => replay(&o),
        m => Err(format!("unknown mode `{m}`\n{USAGE}").into()),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rehost: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs each file once; succeeds if every one makes the firmware fault.
fn replay(o: &Options) -> Res<ExitCode> {
    if o.files.is_empty() {
        return Err("replay: no files".into());
    }
    let m = Machine::boot(o.budget)?;
    let mut edges = Box::new([0u8; MAP_SIZE]);
    let mut all = true;
    for f in &o.files {
        let input = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let before = m.instructions.get();
        let outcome = m.run(&input, &mut edges);
        let n = m.instructions.get() - before;
        if o.check {
            // The restore brings the whole machine back, and a second run
            // of the input does exactly what the first did.
            m.check_restore()?;
            let again = m.run(&input, &mut edges);
            if format!("{again:?}") != format!("{outcome:?}")
                || m.instructions.get() - before != 2 * n
            {
                return Err(format!("{}: a second run differs: {again:?}", f.display()).into());
            }
            m.check_restore()?;
        }
        match outcome {
            Outcome::Fault(fault) => println!(
                "{}: {} bytes: guest fault after {n} instructions: {fault}{}",
                f.display(),
                input.len(),
                if fault.is_guard_write() {
                    " [the planted bug: a write into the guard page]"
                } else {
                    ""
                }
            ),
            other => {
                all = false;
                println!(
                    "{}: {} bytes: no fault ({other:?}) after {n} instructions",
                    f.display(),
                    input.len()
                );
            }
        }
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// This process's CPU time so far, in nanoseconds.
fn cpu_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// xorshift64*: the plain loop's inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The baseline: the same machine, restore and run, with random inputs
/// (uniform length 1..=max-len, uniform bytes) and no LibAFL, on one core.
fn plain_loop(o: &Options) -> Res<ExitCode> {
    let m = Machine::boot(o.budget)?;
    let mut edges = Box::new([0u8; MAP_SIZE]);
    let mut rng = Rng(o.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let seconds = if o.seconds == 0 { 10 } else { o.seconds };
    let mut input = Vec::with_capacity(o.max_len);
    let (mut iters, mut faults, mut guard) = (0u64, 0u64, 0u64);
    let (start, cpu) = (Instant::now(), cpu_ns());
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        for _ in 0..256 {
            let len = 1 + (rng.next() % o.max_len as u64) as usize;
            input.clear();
            while input.len() < len {
                input.extend_from_slice(&rng.next().to_le_bytes());
            }
            input.truncate(len);
            if let Outcome::Fault(f) = m.run(&input, &mut edges) {
                faults += 1;
                guard += u64::from(f.is_guard_write());
            }
            iters += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = (cpu_ns() - cpu) as f64 / 1e9;
    println!(
        "plain loop: {iters} iterations in {secs:.1} s: {:.0} iterations/s ({:.0} per CPU second, {:.0}% of a CPU), {:.0} guest instructions per iteration, {faults} faults ({guard} in the guard page)",
        iters as f64 / secs,
        iters as f64 / cpu,
        100.0 * cpu / secs,
        m.instructions.get() as f64 / iters as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// What the clients tell the launching process, in memory shared across
/// the launcher's forks.
#[repr(C)]
struct Shared {
    /// Set by the first client that finds a crash with `--until-crash`:
    /// every client stops.
    stop: AtomicBool,
    /// Nanoseconds from the start to the first crash found, 0 if none.
    found_ns: AtomicU64,
    clients: [Slot; 64],
}

#[repr(C)]
struct Slot {
    execs: AtomicU64,
    /// Nanoseconds the client has been fuzzing (from its first input).
    busy_ns: AtomicU64,
    instructions: AtomicU64,
    solutions: AtomicU64,
    /// CPU time the client's process used while fuzzing, nanoseconds.
    cpu_ns: AtomicU64,
    /// Set when the client left its fuzzing loop.
    done: AtomicBool,
}

/// Ends the campaign from the launching process: once every client left
/// its loop, or 5 s after a stop (a crash with `--until-crash`, or the
/// deadline), it sends SIGINT to this process's children: the broker (a
/// fork of this process: the launcher runs it under a restarting manager)
/// takes it as the signal to shut down, the clients' restarters ignore it,
/// a client still running exits. The launcher then returns here. The
/// broker's own ending (once as many clients said they exit as it
/// launched) misses clients that exit before it mapped their channel (a
/// campaign from a crashing input, CI's, did not end without this).
/// Started before the launcher forks, so only the launching process has
/// it; it sleeps, loads atomics and reads /proc between forks' ends.
fn watchdog(shared: &'static Shared, clients: usize, start: Instant, seconds: u64) {
    let mut stopping: Option<Instant> = None;
    let children = format!("/proc/{0}/task/{0}/children", std::process::id());
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let done = shared
            .clients
            .iter()
            .filter(|c| c.done.load(Ordering::SeqCst))
            .count();
        let ending = shared.stop.load(Ordering::SeqCst)
            || (seconds > 0 && start.elapsed() >= Duration::from_secs(seconds));
        if ending && stopping.is_none() {
            stopping = Some(Instant::now());
        }
        if done >= clients || stopping.is_some_and(|t| t.elapsed() >= Duration::from_secs(5)) {
            let pids = std::fs::read_to_string(&children).unwrap_or_default();
            for pid in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<libc::pid_t>().ok())
            {
                // SAFETY: a signal to a child of this process.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            if stopping.is_some_and(|t| t.elapsed() >= Duration::from_secs(30)) {
                eprintln!("rehost: the launcher did not stop; exiting");
                std::process::exit(1);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// `Shared`, zeroed, in an anonymous shared mapping: the launcher's forks
/// (clients, and the restarting manager's forks of them) all see it.
fn shared() -> Res<&'static Shared> {
    // SAFETY: a fresh anonymous mapping of the struct's size; all-zero
    // bytes are a valid `Shared` (atomics and a bool).
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            std::mem::size_of::<Shared>(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err("mmap of the shared stats failed".into());
        }
        Ok(&*(p as *const Shared))
    }
}

/// The executor: one run of the machine per input. No signal handlers or
/// timers (a guest fault is a value, the budget bounds a run), so an
/// execution costs the restore, the run and the map's bookkeeping.
struct EmuExecutor<OT> {
    machine: Machine,
    observers: OT,
}

impl<OT> HasObservers for EmuExecutor<OT> {
    type Observers = OT;
    fn observers(&self) -> RefIndexable<&OT, OT> {
        RefIndexable::from(&self.observers)
    }
    fn observers_mut(&mut self) -> RefIndexable<&mut OT, OT> {
        RefIndexable::from(&mut self.observers)
    }
}

impl<EM, S, Z, OT> Executor<EM, BytesInput, S, Z> for EmuExecutor<OT>
where
    S: HasExecutions,
{
    fn run_target(
        &mut self,
        _fuzzer: &mut Z,
        state: &mut S,
        _mgr: &mut EM,
        input: &BytesInput,
    ) -> std::result::Result<ExitKind, Error> {
        *state.executions_mut() += 1;
        let bytes = input.target_bytes();
        // SAFETY: the observer reads the map only before and after a run
        // (pre_exec/post_exec), never during it; one thread.
        let edges = unsafe { &mut *std::ptr::addr_of_mut!(EDGES) };
        Ok(match self.machine.run(bytes.to_slice(), edges) {
            Outcome::Idle => ExitKind::Ok,
            Outcome::Fault(_) => ExitKind::Crash,
            Outcome::Budget => ExitKind::Timeout,
        })
    }
}

fn fuzz(o: &Options) -> Res<ExitCode> {
    let start = Instant::now();
    let shared = shared()?;
    let main_pid = std::process::id();
    let cores = Cores::from_cmdline(&o.cores)?;
    let shmem_provider = StdShMemProvider::new()?;
    let monitor = SimpleMonitor::new(|s| println!("{s}"));
    println!(
        "rehost: fuzzing {} bytes of firmware on cores {} (broker port {}, seed {}{}{})",
        machine::FIRMWARE.len(),
        o.cores,
        o.port,
        o.seed,
        if o.seconds > 0 {
            format!(", for {} s", o.seconds)
        } else {
            String::new()
        },
        if o.until_crash {
            ", until the first crash"
        } else {
            ""
        }
    );

    let run_client = |state: Option<State>,
                      mut mgr: Manager,
                      desc: ClientDescription|
     -> std::result::Result<(), Error> {
        let id = desc.id();
        let slot = &shared.clients[id % 64];
        let machine = Machine::boot(o.budget).map_err(|e| Error::illegal_state(e.to_string()))?;
        // SAFETY: the map lives for the process; only this thread touches it.
        let edges = unsafe {
            StdMapObserver::from_mut_ptr(
                "edges",
                std::ptr::addr_of_mut!(EDGES) as *mut u8,
                MAP_SIZE,
            )
        };
        let edges = HitcountsMapObserver::new(edges);
        let mut feedback = MaxMapFeedback::new(&edges);
        // A crash is kept if it also reaches edges no kept crash reached
        // (without that, every mutation of a crashing input is a new file).
        let mut objective = feedback_and_fast!(
            CrashFeedback::new(),
            MaxMapFeedback::with_name("crash_edges", &edges)
        );
        let mut state = match state {
            Some(s) => s,
            None => StdState::new(
                StdRand::with_seed(o.seed.wrapping_add(id as u64)),
                InMemoryCorpus::<BytesInput>::new(),
                OnDiskCorpus::new(&o.solutions)?,
                &mut feedback,
                &mut objective,
            )?,
        };
        state.set_max_size(o.max_len);
        let mut fuzzer = StdFuzzer::new(QueueScheduler::new(), feedback, objective);
        let mut executor = EmuExecutor {
            machine,
            observers: tuple_list!(edges),
        };
        if state.must_load_initial_inputs() {
            if let Some(dir) = &o.corpus {
                state.load_initial_inputs_forced(
                    &mut fuzzer,
                    &mut executor,
                    &mut mgr,
                    std::slice::from_ref(dir),
                )?;
            }
            // From an empty corpus: a few random inputs to mutate.
            let mut generator = RandBytesGenerator::new(NonZeroUsize::new(16).unwrap());
            state.generate_initial_inputs_forced(
                &mut fuzzer,
                &mut executor,
                &mut generator,
                &mut mgr,
                4,
            )?;
        }
        // Havoc stacks 2 to 2^stack_pow mutations per execution (LibAFL's
        // default: 2^7).
        let mutator = HavocScheduledMutator::with_max_stack_pow(havoc_mutations(), o.stack_pow);
        let mut stages = tuple_list!(StdMutationalStage::new(mutator));
        let deadline = (o.seconds > 0).then(|| start + Duration::from_secs(o.seconds));
        let (fuzz_start, fuzz_cpu) = (Instant::now(), cpu_ns());
        let report = Duration::from_secs(o.report_secs.max(1));
        let mut found = false;
        loop {
            mgr.maybe_report_progress(&mut state, report)?;
            match fuzzer.fuzz_one(&mut stages, &mut executor, &mut state, &mut mgr) {
                Ok(_) => {}
                Err(Error::ShuttingDown) => break,
                Err(e) => return Err(e),
            }
            slot.execs.store(*state.executions(), Ordering::Relaxed);
            slot.busy_ns
                .store(fuzz_start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            slot.cpu_ns.store(cpu_ns() - fuzz_cpu, Ordering::Relaxed);
            slot.instructions
                .store(executor.machine.instructions.get(), Ordering::Relaxed);
            let solutions = state.solutions().count() as u64;
            slot.solutions.store(solutions, Ordering::Relaxed);
            if solutions > 0 && !found {
                found = true;
                let ns = start.elapsed().as_nanos() as u64;
                let _ = shared
                    .found_ns
                    .compare_exchange(0, ns, Ordering::SeqCst, Ordering::SeqCst);
                if !o.quiet_clients {
                    println!(
                        "rehost: client {id} found a crash after {:.1} s ({} executions here); saved in {}",
                        ns as f64 / 1e9,
                        state.executions(),
                        o.solutions.display()
                    );
                }
                if o.until_crash {
                    shared.stop.store(true, Ordering::SeqCst);
                }
            }
            if shared.stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d)
            {
                state.request_stop();
            }
        }
        slot.done.store(true, Ordering::SeqCst);
        Ok(())
    };

    let (n, seconds) = (cores.ids.len(), o.seconds);
    std::thread::spawn(move || watchdog(shared, n, start, seconds));
    let result = Launcher::builder()
        .shmem_provider(shmem_provider)
        .configuration(EventConfig::from_name("rehost"))
        .monitor(monitor)
        .run_client(run_client)
        .cores(&cores)
        .broker_port(o.port)
        .stdout_file(o.quiet_clients.then_some("/dev/null"))
        .build()
        .launch();
    if std::process::id() != main_pid {
        // A client (or its restarter) that stopped: nothing to report.
        std::process::exit(0);
    }
    match result {
        Ok(()) | Err(Error::ShuttingDown) => {}
        Err(e) => return Err(format!("the launcher failed: {e}").into()),
    }

    let wall = start.elapsed().as_secs_f64();
    let ran = shared
        .clients
        .iter()
        .filter(|s| s.execs.load(Ordering::Relaxed) > 0)
        .count();
    println!(
        "rehost: {ran} clients ran (LibAFL launcher, cores {})",
        o.cores
    );
    let (mut execs, mut rate, mut cpu_rate, mut insns, mut solutions) =
        (0u64, 0f64, 0f64, 0u64, 0u64);
    for (i, s) in shared.clients.iter().enumerate() {
        let (e, busy) = (
            s.execs.load(Ordering::Relaxed),
            s.busy_ns.load(Ordering::Relaxed),
        );
        if e == 0 {
            continue;
        }
        let r = e as f64 / (busy as f64 / 1e9);
        let cpu = s.cpu_ns.load(Ordering::Relaxed) as f64 / 1e9;
        println!(
            "rehost: client {i}: {e} executions in {:.1} s: {r:.0} executions/s ({:.0} per CPU second, {:.0}% of a CPU), {:.0} guest instructions per execution",
            busy as f64 / 1e9,
            e as f64 / cpu,
            100.0 * cpu / (busy as f64 / 1e9),
            s.instructions.load(Ordering::Relaxed) as f64 / e as f64
        );
        execs += e;
        rate += r;
        cpu_rate += e as f64 / cpu;
        insns += s.instructions.load(Ordering::Relaxed);
        solutions += s.solutions.load(Ordering::Relaxed);
    }
    println!(
        "rehost: {execs} executions in {wall:.1} s: {rate:.0} executions/s summed over clients ({cpu_rate:.0} per CPU second), {:.0} guest instructions per execution",
        insns as f64 / execs.max(1) as f64
    );
    let found = shared.found_ns.load(Ordering::SeqCst);
    if found > 0 {
        println!(
            "rehost: first crash after {:.1} s ({solutions} solutions kept in {})",
            found as f64 / 1e9,
            o.solutions.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("rehost: no crash found");
        Ok(if o.until_crash || o.expect_crash {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
}
