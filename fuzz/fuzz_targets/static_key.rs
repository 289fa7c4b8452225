//! `StaticKey::parse` over any text; accepted keys round-trip.
//! Input layout and checks: `common::static_key` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::static_key(data));
