//! The push as the data stage reads it: cipher, keys, peer-id, compression, the echo's
//! source and target, and which pushed route covers a requested address.
//! Input layout and checks: `common::push_options` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::push_options(data));
