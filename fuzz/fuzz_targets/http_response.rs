//! `proto::data::http::Response::push`, the stream whole and in fuzz-chosen pieces.
//! Input layout and checks: `common::http_response` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::http_response(data));
