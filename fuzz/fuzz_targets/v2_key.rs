//! `V2ClientKey::parse` over any text; accepted keys have a sane WKc.
//! Input layout and checks: `common::v2_key` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::v2_key(data));
