//! The OpenVPN protocol above the wraps of [`crate::wire`], without sockets, clock or
//! system randomness: the one control-packet parser and sealer ([`packet`]), the reliable
//! layer, the rustls glue, the probing hello, the login messages, the data channel's codec
//! ([`data`]), and the [`Session`] state machine that stacks the control-channel stages
//! (reset, TLS, login), given its random bytes ([`Randomness`]). The driver in
//! [`crate::net`] runs sessions.

pub mod data;
pub mod login;
pub mod packet;
pub mod probe;
pub mod push;
pub mod random;
pub mod reliable;
pub mod session;
pub mod tls;

pub use random::{OsRandom, RandomError, RandomSource, Randomness};
pub use session::{
    DataKind, DnsConfig, Event, HelloWait, HttpConfig, HttpTarget, Incompatible, PingConfig,
    Progress, ProtocolFailure, Session, SessionConfig, Stage, TcpConfig, TlsFailure, Unreadable,
    Why, MAX_ECHOES, QUICK_HELLO,
};
