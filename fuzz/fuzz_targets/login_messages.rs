//! The login stage's messages (`proto::login`): the server's key-method 2 message, the
//! NUL-terminated control messages after it, and the client's key-method 2 message.
//! Input layout and checks: `common::login_messages` in `common.rs` (shared with `tests/suite/regressions.rs`).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::login_messages(data));
