//! What one check found, as facts: the answer, the stages reached, the notes and
//! details `-v` shows, and the errors that make a check impossible to run.

use crate::chain::Judgement;
use crate::net::{self, Ending, Proto};
use crate::proto::data::{Compression, DataCipher};
use crate::proto::login::ServerKeyMethod2;
use crate::proto::probe;
use crate::proto::push::{EchoPath, KeyDerivation, NoPath, Unsupported};
use crate::proto::{Event, TlsFailure};
use crate::wire::{Auth, Rejection, SessionId, WrapKind};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::spec::{KeyOrigin, Note};

/// One line of long output, as a fact: a note about the settings, what the check did
/// around the session, or one of the session's own events at a time since the flow
/// opened. `report::detail_line` words it.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Note(Note),
    SessionId {
        addr: SocketAddr,
        id: SessionId,
    },
    SentFrom {
        addr: SocketAddr,
        local: SocketAddr,
    },
    RecvBuffer {
        asked: usize,
        granted: usize,
    },
    /// Our hard reset, with the opcode of its wrap.
    ResetSent {
        attempt: u32,
        opcode: u8,
        len: usize,
    },
    /// `-vvv`: a packet's bytes.
    Hex {
        outgoing: bool,
        bytes: Vec<u8>,
    },
    /// A server reset for our session before any valid one, whose HMAC did not verify.
    BadHmacReset {
        at: Duration,
        len: usize,
    },
    ServerSession {
        id: SessionId,
    },
    ResendWkc,
    /// Our hello went unanswered, yet the server answered the probing hello in `probe`
    /// with a choice this check speaks: our own session ran again.
    AskedAgain {
        probe: Duration,
    },
    IgnoredTotals(BTreeMap<Rejection, u32>),
    /// The packet trace stopped here; later packets are only counted.
    TraceStopped {
        after: usize,
    },
    /// One of the session's events, as it said it, `at` after the flow opened (zero for
    /// events without a time of their own).
    Event {
        at: Duration,
        event: Event,
    },
}

/// What was checked: the host as given, the address it resolved to, the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub addr: SocketAddr,
    pub proto: Proto,
}

/// What became of the hard reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A valid server hard reset for our session.
    Answered(Auth),
    /// `--no-validation`: something came back, unexamined.
    Responded,
    /// A server reset for our session whose HMAC did not verify.
    BadAuth,
    /// Nothing valid before the deadline, or the connection failed.
    Failed(Ending),
}

/// What the TLS stage saw, once the reset was answered.
#[derive(Debug, Clone, Default)]
pub struct TlsOutcome {
    /// The version and suite, once established.
    pub version: Option<rustls::ProtocolVersion>,
    pub suite: Option<rustls::CipherSuite>,
    pub failure: Option<TlsFailure>,
    /// From the server's reset to the server proving itself.
    pub tls_time: Option<Duration>,
    /// The chain, judged by the spec's policy, when the server sent one.
    pub judgement: Option<Judgement>,
    /// tls-crypt-v2: the server answered statelessly and asked for our key again.
    pub resend_wkc: bool,
    /// When our hello went unanswered: what the server chose for the probing hello, which
    /// offers everything OpenVPN's OpenSSL may pick.
    pub probe: Option<probe::Answer>,
    /// The login stage, when it ran.
    pub login: Option<LoginOutcome>,
    /// The client config's lines that narrowed our hello (`tls-cipher ...`): a server
    /// that refuses it refuses every client with that config.
    pub offer_lines: Vec<String>,
    /// Suites of those lines OpenVPN's client offers that the check left out.
    pub unoffered: Vec<String>,
}

/// What the login stage saw after TLS.
#[derive(Debug, Clone, Default)]
pub struct LoginOutcome {
    /// How the login ended: the server's answer, or how far it got without one.
    pub end: LoginEnd,
    /// The server's key-method 2 message, when it came.
    pub server_key: Option<ServerKeyMethod2>,
    pub push_requested: bool,
    /// Our EXIT, after the server's answer.
    pub exit: Exit,
    /// From TLS established to the server's verdict.
    pub login_time: Option<Duration>,
    /// Who logged in, for the status line: the user name, else the certificate's CN.
    pub who: String,
    /// The data stage, after a push.
    pub data: DataOutcome,
    /// The pushed compression option the client's `allow-compression` (the line or flag,
    /// else 2.6's default) does not allow: a 2.6 client stops on it.
    pub compression_refused: Option<(String, Option<crate::proto::data::AllowCompression>)>,
}

/// How a login ended. When the session said several of these, the furthest one is the
/// ending (see [`LoginEnd::settle`]): a push outranks a refusal, a refusal a pending
/// notice, any answer the silence after our key.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LoginEnd {
    /// Our key-method 2 message never went out.
    #[default]
    NotSent,
    /// Our certificate and credentials went out; the server's key-method 2 never came.
    KeySent,
    /// The server answered our key-method 2 with its own, then neither pushed, refused
    /// nor said the login was pending.
    KeyExchanged,
    /// `AUTH_PENDING` (the timeout the server named) and the method of `INFO_PRE`.
    Pending {
        timeout: Option<u32>,
        method: Option<String>,
    },
    /// `RESTART` or `HALT` (`halt`), with the server's message.
    Restart { halt: bool, message: Option<String> },
    /// `AUTH_FAILED`, with the server's reason if it gave one.
    AuthFailed { reason: Option<String> },
    /// A point-to-point server: the key exchange is the whole login.
    PointToPoint,
    /// The whole push.
    Pushed(crate::proto::push::PushReply),
    /// The chain failed the policy: no credentials were sent.
    Withheld,
}

impl LoginEnd {
    fn rank(&self) -> u8 {
        match self {
            LoginEnd::NotSent => 0,
            LoginEnd::KeySent => 1,
            LoginEnd::KeyExchanged => 2,
            LoginEnd::Pending { .. } => 3,
            LoginEnd::Restart { .. } => 4,
            LoginEnd::AuthFailed { .. } => 5,
            LoginEnd::PointToPoint | LoginEnd::Pushed(_) => 6,
            LoginEnd::Withheld => 7,
        }
    }

    /// Takes `next` as the ending unless the login already got further.
    pub(crate) fn settle(&mut self, next: LoginEnd) {
        if next.rank() >= self.rank() {
            *self = next;
        }
    }

    /// The server gave its verdict: a push (or the point-to-point key exchange), or a
    /// refusal; what the `time` perfdata measures to.
    pub fn answered(&self) -> bool {
        matches!(
            self,
            LoginEnd::Pushed(_) | LoginEnd::PointToPoint | LoginEnd::AuthFailed { .. }
        )
    }
}

/// What became of our EXIT after the server's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Exit {
    #[default]
    NotSent,
    /// Sent, not acknowledged.
    Sent,
    /// Sent and acknowledged: the server frees the session.
    Acked,
}

/// The data channel as agreed after the push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataReady {
    pub cipher: DataCipher,
    pub peer_id: Option<u32>,
    pub keys: KeyDerivation,
    pub compression: Compression,
}

/// What the data stage saw.
#[derive(Debug, Clone, Default)]
pub struct DataOutcome {
    /// `--ping` asked for echoes.
    pub pinged: bool,
    pub ready: Option<DataReady>,
    /// What the server chose that the check cannot speak.
    pub unsupported: Option<Unsupported>,
    /// No pushed route reaches the target.
    pub no_path: Option<NoPath>,
    pub path: Option<EchoPath>,
    /// Echoes planned, and sent.
    pub count: u16,
    pub sent: u16,
    /// Each reply: its sequence number and round trip.
    pub replies: Vec<(u16, Duration)>,
    /// Server data packets that decrypted, replies excepted (keepalives among them).
    pub decrypted: u32,
    pub keepalives: u32,
    /// The first byte of the first decrypted payload that was no IP packet (a compression
    /// header the push did not announce).
    pub not_ip: Option<u8>,
    /// Data packets that did not decrypt, replays, other peer-ids.
    pub ignored: u32,
    pub occ_exit: bool,
    /// Where either side is tap: (ours, the server's), `true` for tap.
    pub link: Option<(bool, bool)>,
    /// On tap: each address whose MAC was asked for (the echo target, the DNS server,
    /// the TCP and HTTP targets).
    pub neighbours: Vec<NeighbourOutcome>,
    /// `--dns`: the question and what became of it.
    pub dns: Option<DnsOutcome>,
    /// `--tcp-connect`: the connection and what became of it.
    pub tcp: Option<TcpOutcome>,
    /// `--http`: the request and what became of it.
    pub http: Option<HttpOutcome>,
}

/// One neighbour of a tap tunnel: questions for its MAC sent, and its MAC once it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourOutcome {
    pub ip: std::net::IpAddr,
    pub asked: u16,
    pub mac: Option<[u8; 6]>,
}

/// The HTTP request through the tunnel.
#[derive(Debug, Clone, Default)]
pub struct HttpOutcome {
    pub question: super::http::HttpSpec,
    pub no_path: Option<NoPath>,
    pub path: Option<EchoPath>,
    /// Where the SYN went (the URL's address, or the name's).
    pub target: Option<std::net::SocketAddr>,
    /// The lookup of the URL's name.
    pub lookup: Option<LookupOutcome>,
    /// Accepted (`false`) or reset (`true`), and when after the SYN.
    pub connect: Option<(bool, Duration)>,
    /// https: the TLS version and the server's chain, once the handshake ended.
    pub tls: Option<(String, Vec<crate::chain::CertInfo>)>,
    /// https: why TLS failed.
    pub tls_failed: Option<String>,
    /// Status, reason, body bytes, cut at the limit, time after the SYN.
    pub response: Option<(u16, String, usize, bool, Duration)>,
    /// What came back was no response.
    pub broken: Option<String>,
}

/// The lookup of the name in `--http`'s URL through the tunnel.
#[derive(Debug, Clone, Default)]
pub struct LookupOutcome {
    /// No DNS server was given or pushed.
    pub no_server: bool,
    /// The question went to this server (`pushed`: the push named it).
    pub path: Option<EchoPath>,
    pub pushed: bool,
    /// Questions sent (A, then AAAA), copies included.
    pub sent: u16,
    pub asked_v6: bool,
    /// The address it gave, and when after the first question.
    pub resolved: Option<(std::net::IpAddr, Duration)>,
    /// Why it gave none.
    pub failed: Option<(String, Duration)>,
}

/// The TCP connection through the tunnel.
#[derive(Debug, Clone, Default)]
pub struct TcpOutcome {
    pub target: Option<std::net::SocketAddr>,
    /// No pushed route reaches the target.
    pub no_path: Option<NoPath>,
    /// The SYN went out from this path.
    pub path: Option<EchoPath>,
    /// Accepted (`false`) or reset (`true`), and when after the SYN.
    pub answer: Option<(bool, Duration)>,
}

/// The DNS question through the tunnel.
#[derive(Debug, Clone, Default)]
pub struct DnsOutcome {
    pub question: super::dns::DnsSpec,
    /// Neither given nor pushed.
    pub no_server: bool,
    /// No pushed route reaches the server.
    pub no_path: Option<NoPath>,
    /// From our tunnel address to the server; `pushed`: the push's server.
    pub path: Option<EchoPath>,
    pub pushed: bool,
    /// Copies of the query sent.
    pub sent: u16,
    /// The reply, read, and its time after the first query.
    pub reply: Option<(super::dns::DnsReply, Duration)>,
}

impl DataOutcome {
    /// What became of the questions for `ip`'s MAC, if any was asked.
    pub fn neighbour(&self, ip: std::net::IpAddr) -> Option<&NeighbourOutcome> {
        self.neighbours.iter().find(|n| n.ip == ip)
    }

    pub(crate) fn neighbour_mut(&mut self, ip: std::net::IpAddr) -> &mut NeighbourOutcome {
        let i = match self.neighbours.iter().position(|n| n.ip == ip) {
            Some(i) => i,
            None => {
                self.neighbours.push(NeighbourOutcome {
                    ip,
                    asked: 0,
                    mac: None,
                });
                self.neighbours.len() - 1
            }
        };
        &mut self.neighbours[i]
    }

    /// Lost echoes in percent of those planned.
    pub fn loss_percent(&self) -> u32 {
        let count = u32::from(self.count.max(1));
        let answered = (self.replies.len() as u32).min(count);
        (count - answered) * 100 / count
    }

    /// The mean round trip of the replies.
    pub fn rta(&self) -> Option<Duration> {
        let n = u32::try_from(self.replies.len()).ok().filter(|n| *n > 0)?;
        Some(self.replies.iter().map(|(_, rtt)| *rtt).sum::<Duration>() / n)
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// `127.0.0.1:1194/udp`, or `vpn.example.org (192.0.2.7):1194/udp` for a name.
    pub target: Target,
    pub addr: SocketAddr,
    pub wrap: WrapKind,
    pub result: Answer,
    /// How the flow ended: the session's word or the driver's, and how far it got.
    pub end: super::FlowEnd,
    /// To the reset's answer (reset stage), to the server proving itself (TLS stage), or
    /// to the end.
    pub elapsed: Duration,
    pub attempts: u32,
    pub max_attempts: u32,
    pub budget: Duration,
    /// Packets that were not the answer, by reason.
    pub ignored: BTreeMap<Rejection, u32>,
    /// The TLS stage, when it ran and the reset was answered.
    pub tls: Option<TlsOutcome>,
    /// Unix time the chain was judged at (for days left).
    pub now_unix: i64,
    pub key_origin: KeyOrigin,
    /// Long output, by verbosity.
    pub details: Vec<Detail>,
}

impl Outcome {
    pub fn ignored_total(&self) -> u32 {
        self.ignored.values().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Resolve(#[from] net::ResolveError),
    /// The config's `local NAME` did not resolve.
    #[error("the config's local: {0}")]
    Local(net::ResolveError),
    #[error("the system gave no random numbers for a session id and key material: {0}")]
    Random(String),
    #[error(transparent)]
    Bind(#[from] net::BindError),
    /// What another remote of the config, at the same address, port and protocol, met.
    #[error("{0}")]
    Shared(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::push::PushReply;

    #[test]
    fn the_furthest_ending_stands() {
        let mut end = LoginEnd::default();
        end.settle(LoginEnd::KeySent);
        end.settle(LoginEnd::KeyExchanged);
        assert_eq!(end, LoginEnd::KeyExchanged);
        end.settle(LoginEnd::Pending {
            timeout: Some(60),
            method: None,
        });
        assert!(!end.answered());
        // A push outranks what came before and a refusal after it.
        end.settle(LoginEnd::Pushed(PushReply::default()));
        end.settle(LoginEnd::Restart {
            halt: false,
            message: None,
        });
        end.settle(LoginEnd::AuthFailed { reason: None });
        assert_eq!(end, LoginEnd::Pushed(PushReply::default()));
        assert!(end.answered());
        // A refusal outranks a RESTART, either way round; the later of two of a kind wins.
        let mut end = LoginEnd::AuthFailed { reason: None };
        end.settle(LoginEnd::Restart {
            halt: true,
            message: None,
        });
        end.settle(LoginEnd::AuthFailed {
            reason: Some("expired".into()),
        });
        assert_eq!(
            end,
            LoginEnd::AuthFailed {
                reason: Some("expired".into())
            }
        );
    }
}
