//! `proto::data::stack::TcpProbe` (smoltcp) fed raw IP packets or checksummed segments of its connection.
//! Input layout and checks: `common::tcp_stack` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::tcp_stack(data));
