//! `proto::reliable::Reliable` driven by a stream of operations (push, acks, messages,
//! polls at later times, reads) against a model of OpenVPN's reliable layer.
//! Input layout and checks: `common::reliable` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::reliable(data));
