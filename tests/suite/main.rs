//! The fast suite, one test binary: every integration test but the package builds
//! (tests/packaging/). Each module was once a test binary of its own; they share the
//! harness in tests/common/, compiled once. Tests of different modules run at the same
//! time, so the harness names what they share (ports, tunnel slots, scratch directories)
//! uniquely per test.

#[path = "../common/mod.rs"]
mod common;

mod all_addresses;
mod bind;
mod cli_usage;
mod client_configs;
mod client_rules;
mod data_channel;
mod data_channel_vectors;
mod data_stage;
mod exit_path;
mod harness_selftest;
mod hmac_vectors;
mod hostile_peers;
mod login_stage;
mod ping;
mod pki_selftest;
mod probe_crypt;
mod probe_real;
mod properties;
mod regressions;
mod server_config;
mod server_log;
mod session_sim;
mod tls_algorithms;
mod tls_crypt_vectors;
mod tls_stage;
mod versions;
