//! Code shared by test files (not a test target itself).
pub mod model;
