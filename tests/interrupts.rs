//! Interrupt handlers and re-entrant calls, on the host.
//!
//! A signal delivered to a thread stands in for an interrupt: the handler
//! runs on the interrupted thread's stack, which cannot go on until the
//! handler returns. What the host can show honestly:
//! - `try_read_*` in a signal handler never waits, whatever the interrupted
//!   writer was doing, and never returns a torn value (a blocking `read_u64`
//!   in the same handler hangs as soon as a signal lands inside a write);
//! - with feature `critical-section`, every path that holds a shard lock is
//!   inside a critical section for the whole time it holds it, and leaves it
//!   afterwards, also when unwinding (observed through the `std`
//!   implementation, a global lock: another thread's section must wait for
//!   the operation and must not wait after it); reads do not take one;
//! - with the feature, threads mixing batches, straddling writes and
//!   `freeze` never deadlock on the global section.
//!
//! What it cannot show: a handler that *writes* (or bulk-reads) under the
//! feature. The `std` critical section is a mutex that is re-entrant per
//! thread and does not block signals, so a signal landing while its thread
//! holds a shard lock enters the section as "nested" and then spins on the
//! lock: the host implementation has no notion of masking. The masking
//! story is tested where it is real, on Cortex-M cores under QEMU
//! (`tests/firmware/src/bin/irqtest.rs`, run by `.ci/steps/35-firmware.sh`).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::Duration;
use vm_mem::{ErrorKind, ShardedMemory};

#[allow(dead_code)] // this file needs only the watchdog
#[path = "support/harness.rs"]
mod harness;
use harness::with_watchdog;

type Mem = ShardedMemory<4, 64>;

/// A `u64` whose halves are both `x`: a torn value has unequal halves.
fn whole(x: u32) -> u64 {
    (u64::from(x) << 32) | u64::from(x)
}

fn is_whole(v: u64) -> bool {
    (v >> 32) as u32 == v as u32
}

#[test]
fn try_read_agrees_with_read_and_checks_bounds() {
    let mem = Mem::new();
    let size = Mem::SIZE;
    for (i, addr) in [0, 3, 60, 61, 63, 64, 127, size - 8]
        .into_iter()
        .enumerate()
    {
        let v = 0x0102_0304_0506_0708u64.wrapping_mul(i as u64 + 1);
        mem.write_u64(addr, v).unwrap();
        assert_eq!(mem.try_read_u64(addr).unwrap(), mem.read_u64(addr).unwrap());
        assert_eq!(mem.try_read_u64_be(addr).unwrap(), v.swap_bytes());
        assert_eq!(mem.try_read_u32(addr).unwrap(), mem.read_u32(addr).unwrap());
        assert_eq!(
            mem.try_read_u32_be(addr).unwrap(),
            mem.read_u32_be(addr).unwrap()
        );
        assert_eq!(mem.try_read_u16(addr).unwrap(), mem.read_u16(addr).unwrap());
        assert_eq!(
            mem.try_read_u16_be(addr).unwrap(),
            mem.read_u16_be(addr).unwrap()
        );
        assert_eq!(mem.try_read_u8(addr).unwrap(), mem.read_u8(addr).unwrap());
    }
    for addr in [
        size - 7,
        size - 1,
        size,
        size + 64,
        usize::MAX - 7,
        usize::MAX,
    ] {
        let e = mem.try_read_u64(addr).unwrap_err();
        assert_eq!(e, mem.read_u64(addr).unwrap_err());
        assert_eq!(e.kind(), ErrorKind::OutOfBounds { limit: size as u64 });
    }
    assert!(mem.try_read_u16(size - 1).is_err());
}

/// The memory the signal test's writer and handler share.
static SIGNALLED: Mem = Mem::new();
/// Addresses the handler reads: inside a shard across two words, and
/// across the edge of shards 0 and 1.
const SIGNAL_TARGETS: [usize; 2] = [0x13, 61];
static HANDLED: AtomicU32 = AtomicU32::new(0);
static WHOLE: AtomicU32 = AtomicU32::new(0);
static BLOCKED: AtomicU32 = AtomicU32::new(0);
static TORN: AtomicU32 = AtomicU32::new(0);

/// The "interrupt handler": only atomic loads and `try_read`, which is
/// lock-free, so it is async-signal-safe.
extern "C" fn on_signal(_: libc::c_int) {
    for addr in SIGNAL_TARGETS {
        match SIGNALLED.try_read_u64(addr) {
            Ok(v) if is_whole(v) => WHOLE.fetch_add(1, Ordering::Relaxed),
            Ok(_) => TORN.fetch_add(1, Ordering::Relaxed),
            Err(e) if e.kind() == ErrorKind::WouldBlock => BLOCKED.fetch_add(1, Ordering::Relaxed),
            Err(_) => TORN.fetch_add(1, Ordering::Relaxed),
        };
    }
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// A thread writing both targets in a loop is hit by SIGUSR1 thousands of
/// times; its handler reads them with `try_read_u64`. The handler must
/// always return (the watchdog fails the test otherwise), see only whole
/// values, and sometimes land inside a write (`WouldBlock`): exactly the
/// case where a blocking `read_u64` waits for a lock or counter the
/// interrupted thread can never release.
#[test]
#[cfg_attr(miri, ignore = "Miri does not deliver signals")]
fn signal_handler_try_read_never_waits_on_the_interrupted_writer() {
    const SIGNALS: u32 = 20_000;
    with_watchdog(Duration::from_secs(120), || {
        // SAFETY: installs a handler that only loads atomics (async-signal-safe).
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &act, std::ptr::null_mut()),
                0
            );
        }
        let stop = AtomicBool::new(false);
        let (id_tx, id_rx) = std::sync::mpsc::channel();
        thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: `pthread_self` has no preconditions.
                id_tx.send(unsafe { libc::pthread_self() }).unwrap();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    i = i.wrapping_add(1);
                    for addr in SIGNAL_TARGETS {
                        SIGNALLED.write_u64(addr, whole(i)).unwrap();
                    }
                }
            });
            // The writer thread runs until `stop` is set below, which
            // happens only after the last signal was sent to it.
            let target = id_rx.recv().unwrap();
            let mut sent = 0;
            while HANDLED.load(Ordering::Relaxed) < SIGNALS {
                if sent - HANDLED.load(Ordering::Relaxed) < 4 {
                    // SAFETY: `target` is the running writer thread (above).
                    assert_eq!(unsafe { libc::pthread_kill(target, libc::SIGUSR1) }, 0);
                    sent += 1;
                }
                std::hint::spin_loop();
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
    let (whole, blocked) = (
        WHOLE.load(Ordering::Relaxed),
        BLOCKED.load(Ordering::Relaxed),
    );
    println!("{whole} whole values, {blocked} WouldBlock");
    assert_eq!(TORN.load(Ordering::Relaxed), 0);
    assert_eq!(whole + blocked, 2 * HANDLED.load(Ordering::Relaxed));
    assert!(whole > 0);
    // Signals landed inside writes: without `try_read` these would hang.
    // (Checked without the feature: with it, the writer spends most of its
    // time in the `std` section's mutex, beside this binary's other tests
    // holding that section, so few signals need land inside a store.)
    if !cfg!(feature = "critical-section") {
        assert!(
            blocked > 0,
            "no signal landed inside a write: the test proves nothing"
        );
    }
}

#[cfg(feature = "critical-section")]
mod critical_section_feature {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Barrier;
    use vm_mem::Snapshot;

    /// How long an operation that must be held back is watched.
    const HELD: Duration = Duration::from_millis(150);
    /// How long one that must finish may take.
    const FREE: Duration = Duration::from_secs(20);

    /// Runs `op` on a thread while this test holds a critical section:
    /// returns whether `op` finished before the section was let go. Then
    /// checks that `op` finished and left no section behind (a fresh thread
    /// can enter one).
    fn finishes_inside_foreign_section(op: impl FnOnce() + Send) -> bool {
        let (held_tx, held_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let finished_early = thread::scope(|s| {
            s.spawn(move || {
                critical_section::with(|_| {
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
            });
            held_rx.recv().unwrap();
            s.spawn(move || {
                op();
                done_tx.send(()).unwrap();
            });
            let early = done_rx.recv_timeout(HELD).is_ok();
            release_tx.send(()).unwrap();
            if !early {
                done_rx
                    .recv_timeout(FREE)
                    .expect("operation never finished");
            }
            early
        });
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || critical_section::with(|_| tx.send(()).unwrap()));
        rx.recv_timeout(FREE)
            .expect("a critical section was left held");
        finished_early
    }

    /// Every path that takes a shard lock waits for another thread's
    /// critical section: it takes the lock inside one. Reads, which take no
    /// lock, do not (which also shows the check can tell the two apart).
    #[test]
    fn lock_holders_enter_a_critical_section_and_leave_it() {
        let mem = Mem::new();
        let mut snap = Snapshot::<4, 64>::new();
        mem.snapshot(&mut snap);
        mem.write_u64(61, whole(7)).unwrap();
        let m = &mem;
        let snap = &snap;
        type Op<'a> = (&'static str, Box<dyn FnOnce() + Send + 'a>);
        let locking: Vec<Op<'_>> = vec![
            (
                "write_u64 in a shard",
                Box::new(move || m.write_u64(8, 1).unwrap()),
            ),
            (
                "write_u64 straddling",
                Box::new(move || m.write_u64(61, 2).unwrap()),
            ),
            ("write_u8", Box::new(move || m.write_u8(130, 3).unwrap())),
            (
                "fetch_add_u32",
                Box::new(move || {
                    let _ = m.fetch_add::<u32>(16, 1).unwrap();
                }),
            ),
            (
                "compare_exchange_u64 straddling",
                Box::new(move || {
                    let _ = m.compare_exchange::<u64>(125, 0, 1).unwrap();
                }),
            ),
            (
                "read_bytes",
                Box::new(move || m.read_bytes(0, &mut [0; 100]).unwrap()),
            ),
            (
                "write_bytes",
                Box::new(move || m.write_bytes(60, &[1; 9]).unwrap()),
            ),
            ("fill", Box::new(move || m.fill(0, 256, 5).unwrap())),
            (
                "snapshot",
                Box::new(move || m.snapshot(&mut Snapshot::new())),
            ),
            (
                "restore",
                Box::new(move || {
                    let _ = m.restore(snap).unwrap();
                }),
            ),
            (
                "batch",
                Box::new(move || m.batch().write_u32(4, 1).unwrap()),
            ),
        ];
        for (name, op) in locking {
            assert!(
                !finishes_inside_foreign_section(op),
                "{name} ran while another thread held the critical section"
            );
        }
        let lock_free: Vec<Op<'_>> = vec![
            (
                "read_u64 straddling",
                Box::new(move || {
                    let _ = m.read_u64(61).unwrap();
                }),
            ),
            (
                "read_u32",
                Box::new(move || {
                    let _ = m.read_u32(8).unwrap();
                }),
            ),
            (
                "try_read_u64",
                Box::new(move || {
                    let _ = m.try_read_u64(61).unwrap();
                }),
            ),
        ];
        for (name, op) in lock_free {
            assert!(
                finishes_inside_foreign_section(op),
                "{name} waited for a critical section"
            );
        }
        // Last: freezing is for ever.
        assert!(!finishes_inside_foreign_section(move || {
            let _ = m.freeze();
        }));
    }

    /// A `fetch_update` closure runs inside the section (the lock is held):
    /// another thread's section waits for it; a panic in it unwinds out of
    /// the section and the lock.
    #[test]
    fn fetch_update_closure_runs_in_the_section_and_unwinds_out_of_it() {
        let mem = Mem::new();
        let (tx, rx) = mpsc::channel();
        let mut entered_meanwhile = None;
        mem.fetch_update(61, |v: u64| {
            let tx = tx.clone();
            let other = thread::spawn(move || critical_section::with(|_| tx.send(()).unwrap()));
            entered_meanwhile = Some(rx.recv_timeout(HELD).is_ok());
            drop(other); // detached: it enters once the update is done
            Some(v + 1)
        })
        .unwrap();
        assert_eq!(entered_meanwhile, Some(false));
        rx.recv_timeout(FREE).expect("the section was not left");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = mem.fetch_update(61, |_: u64| -> Option<u64> { panic!("in the closure") });
        }));
        assert!(caught.is_err());
        assert!(!finishes_inside_foreign_section(|| mem
            .write_u64(61, 9)
            .unwrap()));
        assert_eq!(mem.read_u64(61).unwrap(), 9);
    }

    /// Threads holding batches (a lock kept outside any section) while
    /// others write straddling values over the batch's shard and a third
    /// freezes: with one global section, waiting for the second lock of a
    /// straddling write inside the first's section would deadlock against
    /// the batch's own stores; the pair is taken both-or-neither instead.
    #[test]
    fn batches_and_straddling_writes_never_deadlock_on_the_section() {
        const ITERS: u32 = if cfg!(miri) { 20 } else { 5_000 };
        with_watchdog(Duration::from_secs(120), || {
            let mem = Mem::new();
            let start = Barrier::new(3);
            thread::scope(|s| {
                s.spawn(|| {
                    start.wait();
                    let mut b = mem.batch();
                    for i in 0..ITERS {
                        b.write_u32(72 + 8 * (i as usize % 4), i).unwrap(); // holds shard 1
                        mem.write_u32(200, i).unwrap(); // another shard, through the memory
                    }
                });
                s.spawn(|| {
                    start.wait();
                    for i in 0..ITERS {
                        mem.write_u64(61, whole(i)).unwrap(); // shards 0 and 1
                        mem.write_u64(125, whole(i)).unwrap(); // shards 1 and 2
                        assert!(is_whole(mem.read_u64(61).unwrap()));
                    }
                });
                start.wait();
                for _ in 0..ITERS {
                    mem.fetch_add::<u64>(189, 1).unwrap(); // shards 2 and 3
                }
            });
            assert_eq!(mem.read_u64(189).unwrap(), u64::from(ITERS));
            mem.freeze();
            assert_eq!(mem.write_u8(0, 1).unwrap_err().kind(), ErrorKind::ReadOnly);
        });
    }
}
