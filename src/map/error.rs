//! [`MapError`]: why a configuration call of a [`MemoryMap`](crate::MemoryMap)
//! (adding, removing or moving a region, `protect`, `watch`, `unwatch`) was
//! refused. Such a refusal always leaves the map exactly as it was.
//!
//! Configuration is rare and off the access path, so this error may be
//! larger than [`VmError`](crate::VmError) (which every access returns and
//! which stays 24 bytes): it names the region concerned, the region it
//! clashes with, and the reason.

use crate::map::name::Name;
use core::fmt;

/// Why a configuration call was refused. New reasons may be added: match
/// with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MapErrorKind {
    /// The region or range has zero length (or an empty hook range).
    ZeroLength,
    /// The region would run past the end of the 64-bit address space.
    PastAddressSpace,
    /// The region's window (`offset..offset + len`) runs past the end of
    /// its backing memory.
    PastBacking,
    /// The region overlaps another ([`MapError::other`] names it).
    Overlaps,
    /// Another region already has this name (names identify regions for
    /// [`remove`](crate::MemoryMap::remove) and
    /// [`move_region`](crate::MemoryMap::move_region)).
    NameTaken,
    /// The region table (`N` entries, `protect`'s splits included) is full.
    TableFull,
    /// The map has met `4 * N` distinct (name, memory or device) pairs (or
    /// `4 * H` distinct hooks) over its life, its most: see
    /// [`MemoryMap`](crate::MemoryMap)'s limits.
    BackingsFull,
    /// The hook table (`H` entries) is full.
    HookTableFull,
    /// Hook ids ran out (after 2^64 - 1 `watch` calls).
    HookIdsExhausted,
    /// `protect` covers a byte no region maps ([`MapError::base`] is that byte).
    Unmapped,
    /// No region has the name given.
    NoSuchRegion,
    /// No installed hook has the id given ([`MapError::base`] holds it).
    NoSuchHook,
}

impl MapErrorKind {
    /// Every kind, in declaration order: a kind's code is its index here.
    const ALL: [MapErrorKind; 12] = [
        MapErrorKind::ZeroLength,
        MapErrorKind::PastAddressSpace,
        MapErrorKind::PastBacking,
        MapErrorKind::Overlaps,
        MapErrorKind::NameTaken,
        MapErrorKind::TableFull,
        MapErrorKind::BackingsFull,
        MapErrorKind::HookTableFull,
        MapErrorKind::HookIdsExhausted,
        MapErrorKind::Unmapped,
        MapErrorKind::NoSuchRegion,
        MapErrorKind::NoSuchHook,
    ];

    /// The kind as a small number (its discriminant, its index in
    /// `ALL`), for a [`VmError`](crate::VmError)'s packed word.
    pub(crate) const fn code(self) -> u8 {
        self as u8
    }

    /// The kind [`code`](Self::code) gave `code` (a code it never gives
    /// reads as the first kind).
    pub(crate) const fn from_code(code: u8) -> Self {
        if (code as usize) < Self::ALL.len() {
            Self::ALL[code as usize]
        } else {
            Self::ALL[0]
        }
    }

    /// The reason as a short phrase, as `Display` prints it.
    pub const fn as_str(self) -> &'static str {
        match self {
            MapErrorKind::ZeroLength => "has zero length",
            MapErrorKind::PastAddressSpace => "runs past the end of the 64-bit address space",
            MapErrorKind::PastBacking => "runs past the end of its backing memory",
            MapErrorKind::Overlaps => "overlaps",
            MapErrorKind::NameTaken => "has the name of another region",
            MapErrorKind::TableFull => "does not fit: the map is full",
            MapErrorKind::BackingsFull => {
                "does not fit: the map has met as many memories and devices as it holds"
            }
            MapErrorKind::HookTableFull => "does not fit: the hook table is full",
            MapErrorKind::HookIdsExhausted => "does not fit: hook ids ran out",
            MapErrorKind::Unmapped => "covers an unmapped byte",
            MapErrorKind::NoSuchRegion => "no region has that name",
            MapErrorKind::NoSuchHook => "no hook has that id",
        }
    }
}

/// A refused configuration call: the reason, the region concerned (its
/// name, guest base and length as requested) and, for an overlap, the
/// region it clashes with. The map is unchanged.
///
/// ```
/// use vm_mem::{MapErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// let ram = ShardedMemory::<1, 64>::new();
/// let map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_ram("low", 0x1000, 64, Perms::RW, &ram)?;
/// let err = map.add_ram("clash", 0x1020, 16, Perms::RW, &ram).unwrap_err();
/// assert_eq!(err.kind(), MapErrorKind::Overlaps);
/// assert_eq!((err.region(), err.other()), ("clash", "low"));
/// assert_eq!((err.base(), err.len()), (0x1020, 16));
/// assert_eq!(err.to_string(), "bad region `clash` at 0x1020 (16 bytes): overlaps `low`");
/// # Ok::<(), vm_mem::MapError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MapError {
    kind: MapErrorKind,
    region: Name,
    other: Name,
    base: u64,
    len: u64,
}

impl MapError {
    /// Builds an error (the map builds them; public for tests and wrappers).
    pub const fn new(kind: MapErrorKind, region: &str, other: &str, base: u64, len: u64) -> Self {
        MapError {
            kind,
            region: Name::new(region),
            other: Name::new(other),
            base,
            len,
        }
    }

    /// Why the call was refused.
    pub const fn kind(&self) -> MapErrorKind {
        self.kind
    }

    /// Name of the region concerned, as the call gave it (the name looked
    /// for, for [`MapErrorKind::NoSuchRegion`]; `"hook"` for hook calls;
    /// cut to [`NAME_BYTES`](crate::NAME_BYTES) bytes).
    pub fn region(&self) -> &str {
        self.region.as_str()
    }

    /// Name of the region it clashes with (empty if none).
    pub fn other(&self) -> &str {
        self.other.as_str()
    }

    /// Guest address of the request (a region's base, a range's start, the
    /// unmapped byte for [`MapErrorKind::Unmapped`], the id for
    /// [`MapErrorKind::NoSuchHook`]).
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// Length in bytes of the request (0 when it has none).
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Whether the request had no length (`len() == 0`).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, base, len, reason) = (self.region, self.base, self.len, self.kind.as_str());
        match self.kind {
            MapErrorKind::NoSuchRegion => write!(f, "cannot change region `{name}`: {reason}"),
            MapErrorKind::NoSuchHook => write!(f, "cannot remove hook {base}: {reason}"),
            MapErrorKind::Unmapped => {
                write!(f, "cannot protect: byte {base:#x} is unmapped")
            }
            _ => {
                if name == "hook" {
                    write!(f, "bad hook range at {base:#x} ({len} bytes): {reason}")?;
                } else {
                    write!(
                        f,
                        "bad region `{name}` at {base:#x} ({len} bytes): {reason}"
                    )?;
                }
                if !self.other.is_empty() {
                    write!(f, " `{}`", self.other)?;
                }
                Ok(())
            }
        }
    }
}

/// Addresses in hex, as `VmError`'s.
impl fmt::Debug for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapError")
            .field("kind", &self.kind)
            .field("region", &self.region)
            .field("other", &self.other)
            .field("base", &format_args!("{:#x}", self.base))
            .field("len", &format_args!("{:#x}", self.len))
            .finish()
    }
}

impl core::error::Error for MapError {}

#[cfg(test)]
mod tests {
    use super::MapErrorKind;

    #[test]
    fn every_kind_round_trips_through_its_code() {
        for (i, kind) in MapErrorKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(kind.code()), i);
            assert_eq!(MapErrorKind::from_code(kind.code()), *kind);
        }
    }
}
