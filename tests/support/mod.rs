//! Code shared by the test binaries `tests/suite` and `tests/racing` (not a
//! test target itself): each binary declares this module once and uses part
//! of it.
pub mod counting;
pub mod harness;
pub mod map_parts;
pub mod model;
