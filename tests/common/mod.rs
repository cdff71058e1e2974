//! The helpers the integration tests share, from the `upscale-test-support` crate
//! (tests/support, see its `//!`): a library, so no test crate carries unused helpers. Kept
//! under this name so every test file reaches them alike: `mod common; use common::…`.

pub use upscale_test_support::*;
