//! The `--server-config` parsers: the server config, status files, CRLs.
//! Input layout and checks: `common::server_files` in `common.rs` (shared with
//! `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::server_files(data));
