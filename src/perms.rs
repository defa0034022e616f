//! Access permissions of a mapped region: read, write, execute.

use core::fmt;
use core::ops::{BitAnd, BitOr};

/// A set of access permissions (`r`, `w`, `x`), combined with `|`.
///
/// ```
/// use vm_mem::Perms;
/// let rx = Perms::READ | Perms::EXEC;
/// assert!(rx.contains(Perms::READ));
/// assert!(!rx.contains(Perms::WRITE));
/// assert_eq!(rx.to_string(), "r-x");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Perms(u8);

impl Perms {
    /// No access at all.
    pub const NONE: Perms = Perms(0);
    /// Data loads.
    pub const READ: Perms = Perms(1);
    /// Data stores.
    pub const WRITE: Perms = Perms(2);
    /// Instruction fetches.
    pub const EXEC: Perms = Perms(4);
    /// Read and write.
    pub const RW: Perms = Perms(1 | 2);
    /// Read and execute.
    pub const RX: Perms = Perms(1 | 4);
    /// Read, write and execute.
    pub const RWX: Perms = Perms(1 | 2 | 4);

    /// The raw bits: read = 1, write = 2, execute = 4.
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Builds a set from raw bits; bits other than 1, 2 and 4 are dropped.
    #[inline]
    pub const fn from_bits_truncate(bits: u8) -> Perms {
        Perms(bits & 7)
    }

    /// Whether every permission of `other` is in `self`.
    #[inline]
    pub const fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets (`|` in a `const` context).
    #[inline]
    pub const fn union(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }
}

impl BitOr for Perms {
    type Output = Perms;
    #[inline]
    fn bitor(self, rhs: Perms) -> Perms {
        self.union(rhs)
    }
}

impl BitAnd for Perms {
    type Output = Perms;
    #[inline]
    fn bitand(self, rhs: Perms) -> Perms {
        Perms(self.0 & rhs.0)
    }
}

/// As `Display`, in a `Perms(..)`: `Perms(r-x)`.
impl fmt::Debug for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Perms({self})")
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |p: Perms, c: char| if self.contains(p) { c } else { '-' };
        write!(
            f,
            "{}{}{}",
            flag(Perms::READ, 'r'),
            flag(Perms::WRITE, 'w'),
            flag(Perms::EXEC, 'x')
        )
    }
}
