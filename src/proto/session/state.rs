//! The session's states, one type per stage, as in quinn-proto's `state.rs`: waiting for
//! the server's reset, the TLS stage (with the login's state inside once it runs), the
//! data stage (the control channel still up beside it), done.

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

/// Where the session is: each stage's state holds only what that stage needs, and a
/// transition replaces one with the next.
pub(super) enum State {
    AwaitReset {
        /// Transmissions so far.
        sent: u32,
    },
    Tls(Box<TlsState>),
    /// After the push, leaving over the control channel (the data stage was not needed,
    /// or could not run): our `EXIT` went, its ack ends the session, and nothing enters
    /// the data stage again.
    Leaving(Box<TlsState>),
    /// After the push: the data channel, with the control channel kept for its acks and
    /// a control `EXIT`.
    Data {
        control: Box<TlsState>,
        data: Box<DataState>,
    },
    Done,
}

pub(super) struct TlsState {
    pub(super) server_session: SessionId,
    pub(super) conn: ClientConnection,
    pub(super) capture: Arc<Capture>,
    pub(super) reliable: Reliable,
    /// tls-crypt-v2 stateless answer: the next control packet must carry our wrapped key.
    pub(super) wkc_pending: bool,
    pub(super) chain_reported: bool,
    /// The chain's judgement under [`SessionConfig::judge`], once the chain arrived.
    pub(super) judgement: Option<Judgement>,
    /// Proven: send what rustls still has (our last flight), then end.
    pub(super) finishing: bool,
    /// Any valid packet of the server's since its reset; until then every control packet
    /// acks its reset again, since only a packet with that ack creates a 2.6 server's state.
    pub(super) heard: bool,
    pub(super) login: LoginState,
    /// The probing hello: the server's first flight so far.
    pub(super) probe_flight: Vec<u8>,
    /// When our hello first went out.
    pub(super) hello_at: Instant,
}

/// Where the login stands, each step holding what it learnt.
#[derive(Default)]
pub(super) enum LoginPhase {
    /// TLS is not established, or our key-method 2 has not gone yet.
    #[default]
    Start,
    /// Ours went; the server's has not come.
    KeySent,
    /// The server's came: waiting for `PUSH_REPLY` or a refusal.
    AwaitAnswer(ServerKey),
    /// The server answered: its whole push, or a refusal (`AUTH_FAILED`, `RESTART`,
    /// `HALT`, `EXIT`), or, on a point-to-point server, its key-method 2 alone.
    Answered {
        server: ServerKey,
        pushed: Option<crate::proto::push::PushReply>,
    },
}

/// What the server's key-method 2 told.
pub(super) struct ServerKey {
    /// Its randoms (the PRF's half of the keys).
    pub(super) random: ServerRandom,
    /// Its options string says `dev-type tap`: the data channel carries Ethernet frames.
    pub(super) tap: bool,
}

#[derive(Default)]
pub(super) struct LoginState {
    pub(super) phase: LoginPhase,
    /// Why the session ends once our `EXIT` is acknowledged (the login's own verdict
    /// when unset).
    pub(super) leave_why: Option<Why>,
    /// Plaintext from the server not yet parsed.
    pub(super) plain: Vec<u8>,
    /// The push so far (`push-continuation`).
    pub(super) push: Vec<String>,
    /// Our `EXIT` went out (at any step: a broken server is left too).
    pub(super) exit_sent: bool,
}

impl LoginState {
    /// The server's key-method 2, once it came.
    pub(super) fn server(&self) -> Option<&ServerKey> {
        match &self.phase {
            LoginPhase::AwaitAnswer(k) | LoginPhase::Answered { server: k, .. } => Some(k),
            LoginPhase::Start | LoginPhase::KeySent => None,
        }
    }

    /// The whole push, once it came.
    pub(super) fn pushed(&self) -> Option<&crate::proto::push::PushReply> {
        match &self.phase {
            LoginPhase::Answered { pushed, .. } => pushed.as_ref(),
            _ => None,
        }
    }

    pub(super) fn answered(&self) -> bool {
        matches!(self.phase, LoginPhase::Answered { .. })
    }

    /// The server's answer came (its push, or a refusal): from waiting for it to
    /// answered. `false` when it was not waited for (an answer before the server's
    /// key-method 2, or a second one), which changes nothing.
    pub(super) fn answer(&mut self, pushed: Option<crate::proto::push::PushReply>) -> bool {
        match std::mem::take(&mut self.phase) {
            LoginPhase::AwaitAnswer(server) => {
                self.phase = LoginPhase::Answered { server, pushed };
                true
            }
            other => {
                self.phase = other;
                false
            }
        }
    }
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
    /// Our control `EXIT` went out: nothing more to do but wait for its ack.
    pub(super) leaving: bool,
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
