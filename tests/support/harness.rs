//! Helpers of the threaded and scaled tests: the scale knob and a watchdog.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// `VM_MEM_PROPTEST_SCALE` (default 1): multiplies the property tests'
/// cases and the torture tests' running time, for long runs.
pub fn scale() -> u32 {
    std::env::var("VM_MEM_PROPTEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Runs `f` on a thread and fails the test if it does not finish within
/// `limit` (20x under Miri, which is that much slower): a deadlock or
/// livelock fails instead of hanging CI.
pub fn with_watchdog(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let limit = if cfg!(miri) { limit * 20 } else { limit };
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let h = thread::spawn(move || {
        f();
        d.store(true, Ordering::SeqCst);
    });
    let start = Instant::now();
    while !done.load(Ordering::SeqCst) && !h.is_finished() {
        assert!(
            start.elapsed() < limit,
            "deadlock or livelock: not finished after {limit:?}"
        );
        thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 10 }));
    }
    h.join().expect("worker panicked");
}
