//! The session's states, one type per stage, as in quinn-proto's `state.rs` and rustls's
//! `client/tls13.rs`: each holds only what its stage needs, and each handler consumes the
//! state it was given and returns the next, so a stage that forgets its transition does
//! not compile.
//!
//! ```text
//! AwaitReset ─┬─ Handshake ─┬─ AwaitKeyMethod2 ─ AwaitPush ─┬─ Data ─┐
//!             │             │                               │        ├─ Leaving ─ Lingering
//!             └─ Probe      │                               └────────┘     │
//!                           └───────────────── (any of them) ──────────────┴─ Done
//! ```

use super::Why;
use crate::chain::Judgement;
use crate::proto::data::DataChannel;
use crate::proto::login::ServerRandom;
use crate::proto::push::EchoPath;
use crate::proto::reliable::Reliable;
use crate::proto::tls::Capture;
use crate::wire::SessionId;
use rustls::ClientConnection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the session is.
#[derive(Default)]
pub(super) enum State {
    /// Our hard reset goes out on the attempt schedule until the server's reset for our
    /// session arrives.
    AwaitReset {
        /// Transmissions so far.
        sent: u32,
    },
    /// rustls's handshake, until the server has proven its certificate (TLS stage) or
    /// the handshake ended (login stage).
    Handshake(Box<Handshake>),
    /// The probing hello, until the server's first flight says what it chose.
    Probe(Box<Probe>),
    /// Login stage: our key-method 2 went, the server's has not come.
    AwaitKeyMethod2(Box<Control>),
    /// Login stage: the server's key-method 2 came; waiting for its push or a refusal,
    /// asking with `PUSH_REQUEST`.
    AwaitPush(Box<AwaitPush>),
    /// After the push: the data channel, with the control channel kept for its acks and
    /// a control `EXIT`.
    Data {
        control: Box<Control>,
        data: Box<DataState>,
    },
    /// Our control `EXIT` went: its ack ends the session with `why`, and nothing enters
    /// the data stage again.
    Leaving {
        control: Box<Control>,
        /// The data channel, where it ran: its last packets still leave after the
        /// control channel's, and the server's data packets are dropped unread.
        data: Option<Box<DataState>>,
        why: Why,
    },
    /// Over TCP, after our `EXIT` was acknowledged: the session has finished, but the
    /// control channel still acks until the server closes the connection (its delayed
    /// exit), so that it logs a clean exit.
    Lingering {
        control: Box<Control>,
        data: Option<Box<DataState>>,
    },
    #[default]
    Done,
}

impl State {
    /// The control channel, in every stage after the reset.
    pub(super) fn control_mut(&mut self) -> Option<&mut Control> {
        match self {
            State::Handshake(h) => Some(&mut h.control),
            State::Probe(p) => Some(&mut p.control),
            State::AwaitKeyMethod2(c) => Some(c),
            State::AwaitPush(p) => Some(&mut p.control),
            State::Data { control, .. }
            | State::Leaving { control, .. }
            | State::Lingering { control, .. } => Some(control),
            State::AwaitReset { .. } | State::Done => None,
        }
    }

    pub(super) fn control(&self) -> Option<&Control> {
        match self {
            State::Handshake(h) => Some(&h.control),
            State::Probe(p) => Some(&p.control),
            State::AwaitKeyMethod2(c) => Some(c),
            State::AwaitPush(p) => Some(&p.control),
            State::Data { control, .. }
            | State::Leaving { control, .. }
            | State::Lingering { control, .. } => Some(control),
            State::AwaitReset { .. } | State::Done => None,
        }
    }

    /// Until the server is heard, every control packet acks its reset again: only a
    /// packet with that ack creates a 2.6 server's state.
    pub(super) fn acks_reset(&self) -> bool {
        match self {
            State::Handshake(h) => matches!(h.awaiting, Awaiting::FirstWord),
            State::Probe(p) => matches!(p.awaiting, Awaiting::FirstWord),
            _ => false,
        }
    }
}

/// The control channel after the server's reset: the reliable layer carrying a TLS
/// stream, what every stage after the reset shares.
pub(super) struct Control {
    pub(super) server_session: SessionId,
    pub(super) conn: ClientConnection,
    pub(super) reliable: Reliable,
    /// Plaintext from the server not yet parsed.
    pub(super) plain: Vec<u8>,
}

/// What the hello's stage waits for from the server.
pub(super) enum Awaiting {
    /// Any packet of its after its reset (the hello timer runs): until then every control
    /// packet acks its reset again.
    FirstWord,
    /// Its handshake (or, probing, its first flight).
    Flight,
}

/// Whether the server's certificate chain came, and what was judged of it.
pub(super) enum Chain {
    Unseen,
    /// Said ([`super::Event::ChainSeen`]), with its judgement under
    /// [`super::SessionConfig::judge`].
    Seen(Option<Judgement>),
}

/// rustls's handshake.
pub(super) struct Handshake {
    pub(super) control: Control,
    pub(super) capture: Arc<Capture>,
    pub(super) awaiting: Awaiting,
    pub(super) chain: Chain,
}

/// The probing hello.
pub(super) struct Probe {
    pub(super) control: Control,
    pub(super) awaiting: Awaiting,
    /// The server's first flight so far.
    pub(super) flight: Vec<u8>,
    /// When our hello first went out.
    pub(super) hello_at: Instant,
}

/// Waiting for the server's answer to the login.
pub(super) struct AwaitPush {
    pub(super) control: Control,
    pub(super) server: ServerKey,
    /// The push so far (`push-continuation`).
    pub(super) push: Vec<String>,
}

/// What the server's key-method 2 told.
pub(super) struct ServerKey {
    /// Its randoms (the PRF's half of the keys).
    pub(super) random: ServerRandom,
    /// Its options string says `dev-type tap`: the data channel carries Ethernet frames.
    pub(super) tap: bool,
}

/// The data stage: the data channel's codec, the echoes, and how to leave.
pub(super) struct DataState {
    pub(super) channel: DataChannel,
    /// The server takes a control `EXIT`; otherwise OCC_EXIT on the data channel.
    pub(super) cc_exit: bool,
    pub(super) ping: Option<PingState>,
    pub(super) dns: Option<DnsState>,
    pub(super) tcp: Option<TcpState>,
    pub(super) http: Option<HttpState>,
    /// Data packets sealed, to leave after the control channel's.
    pub(super) outbox: VecDeque<Vec<u8>>,
    /// Data packets from the server that decrypted (keepalives and anything else).
    pub(super) decrypted: u32,
    /// Decryption buffer, reused.
    pub(super) scratch: Vec<u8>,
    /// The push: where packets go (a tap link's next hops).
    pub(super) pushed: crate::proto::push::PushReply,
    /// Our end of a tap tunnel: its MAC and addresses, its neighbour table (what it
    /// learnt, what waits for a MAC) (`None` on tun).
    pub(super) lan: Option<crate::proto::data::ether::Host>,
}

/// The TCP connection through the tunnel.
pub(super) struct TcpState {
    pub(super) stack: crate::proto::data::stack::TcpProbe,
    pub(super) started: Instant,
    /// Connected or refused: said, and the connection reset.
    pub(super) done: bool,
}

/// The HTTP request through the tunnel.
pub(super) struct HttpState {
    /// The lookup of the URL's name, while it runs.
    pub(super) lookup: Option<LookupState>,
    /// The connection, once the address is known.
    pub(super) stack: Option<crate::proto::data::stack::TcpProbe>,
    /// Our TCP port.
    pub(super) local_port: u16,
    /// https: the TLS client inside the connection.
    pub(super) tls: Option<Box<ClientConnection>>,
    /// The end of the TLS handshake was said.
    pub(super) tls_said: bool,
    /// TLS records the TCP send buffer has not taken yet.
    pub(super) wire: Vec<u8>,
    /// When the SYN went out.
    pub(super) started: Instant,
    pub(super) connected: bool,
    pub(super) request: Vec<u8>,
    pub(super) sent: usize,
    pub(super) response: crate::proto::data::http::Response,
    pub(super) done: bool,
}

/// The lookup of the name in `--http`'s URL.
pub(super) struct LookupState {
    pub(super) name: String,
    /// The URL's port.
    pub(super) port: u16,
    /// The question (A, then AAAA once A has no address) and its copies.
    pub(super) dns: DnsState,
    pub(super) v6: bool,
    pub(super) started: Instant,
}

/// The DNS question through the tunnel.
pub(super) struct DnsState {
    pub(super) path: EchoPath,
    pub(super) query: Vec<u8>,
    pub(super) port: u16,
    pub(super) resend: Duration,
    /// When each copy of the query left.
    pub(super) sent: Vec<Instant>,
    pub(super) answered: bool,
}

/// The echoes through the tunnel.
pub(super) struct PingState {
    pub(super) path: EchoPath,
    pub(super) id: u16,
    pub(super) count: u16,
    pub(super) interval: Duration,
    /// When echo `seq` (from 1) left, and whether its reply came.
    pub(super) sent: Vec<(Instant, bool)>,
}

impl PingState {
    pub(super) fn answered(&self) -> u16 {
        self.sent.iter().filter(|(_, a)| *a).count() as u16
    }
}
