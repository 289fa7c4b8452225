//! The data-channel codec: forged, damaged, cut and replayed datagrams, and ICMP replies.
//! Input layout and checks: `common::data_channel` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::data_channel(data));
