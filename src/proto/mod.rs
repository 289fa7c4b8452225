//! The OpenVPN control channel past the first packet, without sockets or clock: the
//! packet view and encoder, the reliable layer, the rustls glue, and the [`Session`] state
//! machine that stacks them (reset, then TLS). The driver in [`crate::net`] runs sessions.

pub mod login;
pub mod packet;
pub mod probe;
pub mod random;
pub mod reliable;
pub mod session;
pub mod tls;

pub use random::{OsRandom, RandomError, RandomSource, Randomness};
pub use session::{Event, Progress, Session, SessionConfig, Stage, TlsFailure};
