//! `proto::data::udp::parse_datagram`, raw packets and built datagrams with one damaged byte.
//! Input layout and checks: `common::udp_datagram` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::udp_datagram(data));
