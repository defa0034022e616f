//! Code shared by test files (not a test target itself).
#[allow(dead_code)] // each test file uses part of it
pub mod harness;
pub mod model;
