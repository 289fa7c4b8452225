//! The session's states, one type per stage, as in quinn-proto's `state.rs`: waiting for
//! the server's reset, the TLS stage (with the login's state inside once it runs), done.

use crate::chain::Judgement;
use crate::proto::reliable::Reliable;
use crate::proto::tls::Capture;
use crate::wire::SessionId;
use rustls::ClientConnection;
use std::sync::Arc;

/// Where the session is: each stage's state holds only what that stage needs, and a
/// transition replaces one with the next.
pub(super) enum State {
    AwaitReset {
        /// Transmissions so far.
        sent: u32,
    },
    Tls(Box<TlsState>),
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
}

#[derive(Default)]
pub(super) struct LoginState {
    pub(super) key_sent: bool,
    pub(super) server_key: bool,
    /// Plaintext from the server not yet parsed.
    pub(super) plain: Vec<u8>,
    pub(super) push: Vec<String>,
    pub(super) answered: bool,
    pub(super) exit_sent: bool,
}
