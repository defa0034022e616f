//! The test harness of vm-mem's firmware: named checks, each printed over
//! semihosting with its verdict, and a closing `N passed, N failed` line.
//! The binaries in `src/bin/` are the firmware images.
#![no_std]

use core::fmt;
use cortex_m_semihosting::debug;
pub use cortex_m_semihosting::hprintln;
use vm_mem::VmError;

/// Why a check failed: a false assertion, or an unexpected `VmError`.
pub enum Failure {
    /// `ensure!(cond)` found `cond` false.
    Assert {
        /// Source line of the assertion.
        line: u32,
        /// The assertion, as written.
        expr: &'static str,
    },
    /// An access that should have worked returned an error.
    Vm(VmError),
}

impl From<VmError> for Failure {
    fn from(e: VmError) -> Self {
        Failure::Vm(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Assert { line, expr } => write!(f, "line {line}: {expr}"),
            Failure::Vm(e) => write!(f, "unexpected error: {e}"),
        }
    }
}

/// The result of one check.
pub type Check = Result<(), Failure>;

/// Fails the enclosing check (returns `Err(Failure::Assert)`) if the
/// condition is false.
#[macro_export]
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            return Err($crate::Failure::Assert {
                line: line!(),
                expr: stringify!($cond),
            });
        }
    };
}

/// Runs checks, prints each one's name and verdict, and counts them.
#[derive(Default)]
pub struct Runner {
    passed: u32,
    failed: u32,
}

impl Runner {
    /// Runs `f` as the check called `name`.
    pub fn check(&mut self, name: &str, f: impl FnOnce() -> Check) {
        match f() {
            Ok(()) => {
                self.passed += 1;
                hprintln!("ok   {}", name);
            }
            Err(e) => {
                self.failed += 1;
                hprintln!("FAIL {}: {}", name, e);
            }
        }
    }

    /// Prints the tally and exits QEMU: code 0 if every check passed.
    pub fn finish(self) -> ! {
        hprintln!("{} passed, {} failed", self.passed, self.failed);
        debug::exit(if self.failed == 0 {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        #[allow(clippy::empty_loop)]
        loop {}
    }
}

/// A `core::fmt::Write` into a fixed buffer, for checking `Display` output
/// without a heap. Output past the buffer's end is an error.
pub struct FixedBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FixedBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        FixedBuf {
            buf: [0; N],
            len: 0,
        }
    }

    /// What was written so far.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("<invalid utf-8>")
    }
}

impl<const N: usize> Default for FixedBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for FixedBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
