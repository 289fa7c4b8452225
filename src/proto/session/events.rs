//! What a session tells its driver: how far it got ([`Progress`]), what happened
//! ([`Event`]), why a handshake failed ([`TlsFailure`]) and why it ended ([`Why`]).

use crate::chain::Judgement;
use crate::proto::data::{Compression, DataCipher, DataError};
use crate::proto::push::{EchoPath, KeyDerivation, NoPath, Unsupported};
use crate::proto::{login, probe};
use crate::wire::{Auth, Rejection, SessionId};
use rustls::pki_types::CertificateDer;
use std::net::IpAddr;
use std::time::Duration;
use std::time::Instant;

/// Why a TLS handshake (or the exchange after it) did not finish, as typed values:
/// `report` words them.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsFailure {
    /// The server sent a TLS alert; `before_server_hello` tells a refused hello apart.
    Alert {
        description: rustls::AlertDescription,
        before_server_hello: bool,
    },
    /// The server chose something this check cannot speak (a suite, group or signature
    /// scheme rustls does not offer or support).
    Incompatible(Incompatible),
    /// The server's handshake signature did not verify against its certificate.
    BadSignature(rustls::CertificateError),
    /// Anything else: garbage, a broken or oversized handshake message, or what came
    /// after the handshake is not OpenVPN's.
    Protocol(ProtocolFailure),
}

/// What this check cannot speak.
#[derive(Debug, Clone, PartialEq)]
pub enum Incompatible {
    /// rustls found the server's choice unsupported.
    Peer(rustls::PeerIncompatible),
    /// No TLS client could be set up for this server at all.
    Setup(rustls::Error),
}

/// A TLS stream that broke, or carried what OpenVPN does not send.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolFailure {
    /// rustls refused the server's records.
    Rustls(rustls::Error),
    /// The server's records did not fit rustls's buffers.
    Unreadable(Unreadable),
    /// The handshake ended without a server certificate.
    NoCertificate,
    /// After the handshake: more plaintext than any OpenVPN message, none of it parsable.
    OversizedPlaintext,
    /// After the handshake: the server's first message is not key-method 2.
    NotKeyMethod2,
    /// After the push: no keys could be made for the data channel.
    NoDataKeys,
}

/// Which of rustls's buffers a server's TLS records overflowed (`read_tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Its buffer of records not yet processed.
    MessageBuffer,
    /// Its buffer of received plaintext.
    PlaintextBuffer,
}

/// How far a session got; the last reached step names what a failure interrupted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Nothing sent yet.
    #[default]
    Idle,
    /// Our hard reset went out.
    ResetSent,
    /// The server's hard reset for our session arrived.
    ResetAnswered,
    /// Our ClientHello went out.
    HelloSent,
    /// The server acknowledged a packet of ours after its reset, but sent no TLS yet.
    HelloAcked,
    /// The server's first TLS bytes arrived.
    ServerSpoke,
    /// The server's certificate chain arrived.
    ChainSeen,
    /// The server proved its certificate.
    Established,
    /// Our key-method 2 message (with any credentials) went out.
    KeySent,
    /// The server's key-method 2 message arrived.
    KeyReceived,
    /// The server's verdict arrived: its push, or its refusal.
    Answered,
    /// The data channel's keys and settings are agreed.
    DataReady,
    /// The first echo request went through the tunnel.
    EchoSent,
    /// We left: our `EXIT` was acknowledged, or our OCC_EXIT went out.
    Exited,
}

/// A data packet that decrypted and is no echo reply of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// The server's keepalive ping.
    Keepalive,
    /// An OCC message with this opcode (none for a bare magic).
    Occ(Option<u8>),
    /// A payload that is no IP packet: the server frames for compression the push did not
    /// announce (its first byte says which).
    NotIp { first: u8 },
    /// Any other tunnel packet.
    Other,
}

/// Why a session ended, in its last event ([`Event::Finished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It reached what it was set to reach: the server's reset (reset stage), a proven
    /// handshake (TLS stage), or the server's verdict on the login (login stage).
    Reached,
    /// `--no-validation`: something came back.
    Responded,
    /// No valid answer to any of the hard resets by the end of the last attempt.
    Silence { attempts: u32 },
    /// The server's reset for our session failed its HMAC or tag, and nothing better came
    /// before the end of that attempt.
    BadAuth,
    /// The server neither acknowledged nor answered our hello in time
    /// ([`SessionConfig::hello_wait`](super::SessionConfig::hello_wait)).
    HelloUnanswered,
    /// The probing hello got the server's choice ([`Event::ProbeAnswer`]).
    Probed,
    /// The handshake or the exchange after it failed ([`Event::TlsFailed`] says how).
    Failed,
    /// Login stage: the chain failed the policy, so no credentials went out.
    Withheld,
    /// Data stage: the push chose a data channel this check cannot speak
    /// ([`Event::DataUnsupported`] says what).
    Unsupported,
    /// Data stage: no pushed address or route reaches the echo target
    /// ([`Event::NoEchoPath`] says which); no data packet was sent but a goodbye.
    NoEchoPath,
    /// Data stage: not every echo came back before the session's echo deadline.
    /// `decrypted` counts every data packet of the server's that decrypted (keepalives
    /// included): proof that the tunnel itself works.
    EchoesMissing {
        sent: u16,
        answered: u16,
        decrypted: u32,
    },
    /// Data stage: the DNS question has no server ([`Event::NoDnsServer`]) or no route
    /// ([`Event::NoDnsPath`]); nothing was sent.
    NoDnsPath,
    /// Data stage: no reply to the DNS question before the deadline. `decrypted` as for
    /// [`Why::EchoesMissing`].
    DnsUnanswered { sent: u16, decrypted: u32 },
    /// Data stage: no route to the TCP target ([`Event::NoTcpPath`]); nothing was sent.
    NoTcpPath,
    /// Data stage: the TCP target neither accepted nor refused before the deadline.
    TcpUnanswered { decrypted: u32 },
    /// Data stage: no route to the HTTP server; nothing was sent.
    NoHttpPath,
    /// Data stage: no whole response before the deadline.
    HttpUnanswered { decrypted: u32 },
}

/// What happened, for the check to fold into an outcome and `report` to word. A session's
/// last event is always [`Event::Finished`], once, unless its link failed or the driver's
/// deadline passed first (the driver knows those endings). An event carries its time
/// (`at`) only where the long output shows it or the outcome measures from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A packet left (`outgoing`) or arrived; only with [`SessionConfig::trace`](super::SessionConfig::trace), for the
    /// first [`MAX_TRACED_PACKETS`](super::MAX_TRACED_PACKETS) of them.
    Packet {
        outgoing: bool,
        at: Instant,
        bytes: Vec<u8>,
    },
    /// Attempt `attempt` of the hard reset went out.
    ResetSent {
        attempt: u32,
        len: usize,
    },
    /// A packet that was not what the session waits for.
    Ignored {
        reason: Rejection,
        opcode: u8,
        len: usize,
        at: Instant,
    },
    /// `--no-validation`: something came back.
    Responded {
        at: Instant,
        len: usize,
    },
    /// The server's valid hard reset for our session.
    ResetAnswered {
        server_session: SessionId,
        auth: Auth,
        attempt: u32,
        at: Instant,
        /// tls-crypt-v2: the server asked for our wrapped key again (stateless answer).
        resend_wkc: bool,
    },
    /// The server's certificate chain, leaf first, as sent.
    ChainSeen {
        chain: Vec<CertificateDer<'static>>,
        /// The verdict under [`SessionConfig::judge`](super::SessionConfig::judge).
        judgement: Option<Judgement>,
    },
    /// The server proved its certificate (TLS 1.3 Finished, TLS 1.2 signed key exchange).
    TlsEstablished {
        version: Option<rustls::ProtocolVersion>,
        suite: Option<rustls::CipherSuite>,
        at: Instant,
    },
    TlsFailed {
        failure: TlsFailure,
        at: Instant,
    },
    /// With [`SessionConfig::compat_hello`](super::SessionConfig::compat_hello): what the server's first flight chose.
    ProbeAnswer {
        answer: probe::Answer,
        /// From the probing hello's first send to the answer: how long this server takes
        /// to answer a hello it takes.
        after: Duration,
    },
    /// Login stage: the chain failed the policy, so no credentials were sent.
    LoginWithheld,
    /// Our key-method 2 message went out.
    KeySent {
        at: Instant,
    },
    ServerKeyMethod2 {
        message: login::ServerKeyMethod2,
        at: Instant,
    },
    /// A control message from the server.
    Control {
        message: login::ControlMessage,
        at: Instant,
    },
    /// The whole push (every `push-continuation` part).
    Pushed {
        reply: crate::proto::push::PushReply,
        at: Instant,
    },
    /// A point-to-point server took our key exchange: it pushes nothing, so the login is
    /// complete.
    PointToPoint {
        at: Instant,
    },
    /// `PUSH_REQUEST` went out (the server had not pushed unprompted).
    PushRequested {
        at: Instant,
    },
    ExitSent {
        at: Instant,
    },
    /// The server acknowledged the packet that carried our `EXIT`.
    ExitAcked {
        at: Instant,
    },
    /// The data channel is set up.
    DataReady {
        cipher: DataCipher,
        peer_id: Option<u32>,
        keys: KeyDerivation,
        compression: Compression,
    },
    /// The push sets a compression the client's rules do not allow (`allow-compression`):
    /// a 2.6 client stops there. `allow` is the config's or flag's line, if any.
    CompressionRefused {
        pushed: String,
        allow: Option<crate::proto::data::AllowCompression>,
    },
    /// The push chose a data channel this check cannot speak (or the server compressed).
    DataUnsupported {
        what: Unsupported,
    },
    /// No echo can go where asked: nothing pushed routes it into the tunnel.
    NoEchoPath {
        path: NoPath,
    },
    /// Echoes will go from our tunnel address to this target.
    EchoPlanned {
        path: EchoPath,
        count: u16,
    },
    /// Echo request `seq` went out.
    EchoSent {
        seq: u16,
        at: Instant,
    },
    /// The reply to echo request `seq`, `rtt` after it left.
    EchoReply {
        seq: u16,
        rtt: Duration,
        at: Instant,
    },
    /// The DNS question has no server: none given, and the push names none.
    NoDnsServer,
    /// No route of the push reaches the DNS server.
    NoDnsPath {
        path: NoPath,
    },
    /// The DNS question will go from our tunnel address to this server; `pushed`: the
    /// server is the push's.
    DnsPlanned {
        path: EchoPath,
        pushed: bool,
    },
    /// The query went out (again).
    DnsSent {
        at: Instant,
    },
    /// The server's reply (a whole DNS message carrying our id), `rtt` after the first
    /// query.
    DnsReply {
        message: Vec<u8>,
        rtt: Duration,
        at: Instant,
    },
    /// No route of the push reaches the TCP target.
    NoTcpPath {
        path: NoPath,
    },
    /// The SYN went from our tunnel address to the target.
    TcpPlanned {
        path: EchoPath,
        port: u16,
    },
    /// The target completed the handshake (`refused: false`) or reset it, `rtt` after
    /// the SYN.
    TcpAnswered {
        refused: bool,
        rtt: Duration,
        at: Instant,
    },
    /// No route of the push reaches the HTTP server.
    NoHttpPath {
        path: NoPath,
    },
    /// The HTTP server's SYN went from our tunnel address to `target`.
    HttpPlanned {
        path: EchoPath,
        target: std::net::SocketAddr,
    },
    /// The URL's name: no DNS server was given or pushed to look it up.
    HttpNoDnsServer,
    /// The URL's name is asked of the DNS server at `path.target` (`pushed`: the push
    /// named it).
    HttpLookupPlanned {
        path: EchoPath,
        pushed: bool,
    },
    /// The lookup's question went out (again).
    HttpLookupSent {
        v6: bool,
        at: Instant,
    },
    /// The name's address, `rtt` after the first question.
    HttpResolved {
        address: std::net::IpAddr,
        rtt: Duration,
    },
    /// The DNS server's answer gave no address: `why` (`NXDOMAIN`, `no address`, ...).
    HttpLookupFailed {
        why: String,
        rtt: Duration,
    },
    /// The https server's TLS handshake ended: its version, and the chain it presented
    /// (already verified by then).
    HttpTls {
        version: String,
        chain: Vec<crate::chain::CertInfo>,
        rtt: Duration,
    },
    /// The https server's TLS failed: its certificate, an alert, ... (rustls's words).
    HttpTlsFailed {
        why: String,
        rtt: Duration,
    },
    /// The HTTP server accepted the connection (`refused: false`) or reset it.
    HttpConnect {
        refused: bool,
        rtt: Duration,
    },
    /// The response (or as much as the limit took), `rtt` after the SYN. `complete`: its
    /// length reached, its last chunk, or the server closed after it.
    HttpResponse {
        status: u16,
        reason: String,
        size: usize,
        cut: bool,
        rtt: Duration,
    },
    /// What came back is no HTTP response, or the server closed before one.
    HttpBroken {
        why: String,
        rtt: Duration,
    },
    /// A data packet that decrypted but is no reply of ours (for the first
    /// [`MAX_TRACED_PACKETS`](super::MAX_TRACED_PACKETS) such packets).
    DataReceived {
        kind: DataKind,
        len: usize,
        at: Instant,
    },
    /// A data packet that did not decrypt, was replayed or was not for us (bounded as
    /// [`Event::Ignored`]).
    DataIgnored {
        error: DataError,
        len: usize,
        at: Instant,
    },
    /// We left with OCC_EXIT on the data channel (servers without `cc-exit`).
    OccExitSent {
        at: Instant,
    },
    /// The tunnel's link layer where either side is tap: `tap` as the client's config
    /// says (else as the server's options string says), `server_tap` as that string
    /// says, and our made-up MAC when we speak Ethernet.
    LinkLayer {
        tap: bool,
        server_tap: bool,
        mac: Option<[u8; 6]>,
    },
    /// We asked for the MAC of `target` (an echo target, DNS server, TCP or HTTP
    /// target) with an ARP request or a neighbour solicitation.
    NeighbourAsked {
        target: IpAddr,
        at: Instant,
    },
    /// The MAC of `target` came.
    NeighbourLearned {
        target: IpAddr,
        mac: [u8; 6],
        at: Instant,
    },
    /// We answered the server's question about our address (bounded in number).
    NeighbourAnswered {
        at: Instant,
    },
    /// The session ended: how far it got, and why it stopped. Nothing follows it.
    Finished {
        reached: Progress,
        why: Why,
    },
}
