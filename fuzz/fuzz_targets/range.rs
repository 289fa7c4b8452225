//! Nagios range parsing: 8 bytes of an f64 to test, then the range text.
//! Input layout and checks: `common::range` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::range(data));
