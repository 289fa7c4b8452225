//! check_openvpn: probes an OpenVPN server (its control-channel hard reset, then
//! optionally the TLS handshake and a login) and reports the result the way
//! Nagios-compatible monitoring engines expect.

pub mod algorithms;
pub mod chain;
pub mod check;
pub mod client_rules;
pub mod config;
pub mod digest;
pub mod flags;
pub mod guard;
pub mod keys;
pub mod net;
pub mod proto;
pub mod range;
pub mod report;
pub mod server;
pub mod wire;
