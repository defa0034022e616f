//! [`Name`]: a region's or device's name as errors and snapshot reports
//! carry it, copied in (no lifetime, no heap), so names made at run time
//! (from a configuration file, say) need not be leaked.

use core::fmt;

/// Bytes a [`Name`] holds; longer names are cut at a character boundary.
pub const NAME_BYTES: usize = 31;

/// A copy of a name (up to [`NAME_BYTES`] bytes, cut at a character
/// boundary beyond), as [`MapError`](crate::MapError),
/// [`MachineError`](crate::MachineError) and
/// [`Difference`](crate::Difference) carry it: `Copy`, no lifetime, no
/// heap. It reads as a `&str` ([`as_str`](Self::as_str), `Deref`) and
/// compares with one.
///
/// ```
/// use vm_mem::Name;
///
/// let config = String::from("sram-bank-0");
/// let n = Name::new(&config);
/// drop(config);
/// assert_eq!(n, "sram-bank-0");
/// assert_eq!(n.len(), 11);
/// assert_eq!(Name::new(&"x".repeat(40)).as_str(), "x".repeat(31));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    len: u8,
    bytes: [u8; NAME_BYTES],
}

impl Name {
    /// The empty name.
    pub const EMPTY: Name = Name {
        len: 0,
        bytes: [0; NAME_BYTES],
    };

    /// A copy of `s`, cut to [`NAME_BYTES`] bytes at a character boundary.
    pub const fn new(s: &str) -> Name {
        let src = s.as_bytes();
        let mut len = if src.len() < NAME_BYTES {
            src.len()
        } else {
            NAME_BYTES
        };
        // Back to a character boundary (a UTF-8 continuation byte is
        // 0b10xx_xxxx).
        while len < src.len() && len > 0 && src[len] & 0xc0 == 0x80 {
            len -= 1;
        }
        let mut bytes = [0; NAME_BYTES];
        let mut i = 0;
        while i < len {
            bytes[i] = src[i];
            i += 1;
        }
        // `len <= NAME_BYTES`, which fits a `u8`.
        Name {
            len: len as u8,
            bytes,
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        // `new` copied whole characters of a `str`.
        core::str::from_utf8(bytes).unwrap_or("")
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::EMPTY
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}

impl core::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Name {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}
