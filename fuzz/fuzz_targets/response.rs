//! `validate_server_reset` over raw bytes, the wrap picked by the first byte.
//! Input layout and checks: `common::response` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::response(data));
