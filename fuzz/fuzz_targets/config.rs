//! `ClientConfig::parse` over any text; inline key blocks go on to the key parsers.
//! Input layout and checks: `common::config` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::config(data));
