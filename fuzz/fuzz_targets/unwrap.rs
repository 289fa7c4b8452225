//! The tls-auth / tls-crypt(-v2) opening paths with keys from the input: raw packets,
//! sealed-then-opened bodies checked against a model, and single bit flips.
//! Input layout and checks: `common::unwrap` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::unwrap(data));
