//! The OpenVPN control channel past the first packet, without sockets, clock or system
//! randomness: the packet view and encoder, the reliable layer, the rustls glue, the
//! probing hello, the login messages, and the [`Session`] state machine that stacks them
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
    DataKind, Event, PingConfig, Progress, Session, SessionConfig, Stage, TlsFailure, Why,
    MAX_ECHOES,
};
