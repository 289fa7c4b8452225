//! A `proto::Session` in the TLS stage, after a genuine server reset, fed datagrams and
//! time steps: no panic, bounded and well-formed output, a timer that never spins.
//! Input layout and checks: `common::session` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::session(data));
