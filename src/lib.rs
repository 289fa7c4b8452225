//! check_openvpn: probes an OpenVPN server with a control-channel hard reset and reports
//! the result the way Nagios-compatible monitoring engines expect.

pub mod chain;
pub mod check;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod guard;
pub mod key;
pub mod net;
pub mod proto;
pub mod range;
pub mod report;
pub mod transport;
pub mod wire;
