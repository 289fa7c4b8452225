//! `check::dns::read_reply`, raw replies and the check's own questions turned into answers.
//! Input layout and checks: `common::dns_reply` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::dns_reply(data));
