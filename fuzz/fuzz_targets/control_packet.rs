//! `proto::packet`: `ControlPacket::parse` against a model and its round trip through
//! `encode_body`, `early_negotiation_flags`, and packets opened with every wrap.
//! Input layout and checks: `common::control_packet` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::control_packet(data));
