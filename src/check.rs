//! One check, from a [`CheckSpec`] to an [`Outcome`]: resolve, make a [`Session`] per
//! address (or per way of using a key, for [`diagnose`]), run them all in the driver under
//! one deadline, and fold the sessions' events into outcomes. No printing, no exit codes.

use crate::chain::{self, Judgement, Policy};
use crate::net::{self, Ending, Family, Flow, Proto};
use crate::proto::login::{ControlMessage, ServerKeyMethod2};
use crate::proto::probe;
use crate::proto::{Event, Progress, Session, SessionConfig, Stage, TlsFailure};
use crate::wire::{Auth, Rejection, SessionId, Wrap};
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Everything one check needs, already validated.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub host: String,
    pub port: u16,
    pub proto: Proto,
    pub family: Option<Family>,
    pub timeout: Duration,
    pub attempts: u32,
    pub wrap: Wrap,
    /// Where settings and keys came from (never key bytes), for `-v`; `report` words them.
    pub notes: Vec<Note>,
    /// `false` (`--no-validation`): any packet from the server counts as an answer.
    pub validate: bool,
    pub verbosity: u8,
    /// How deep the check goes.
    pub stage: Stage,
    /// How the server's certificate chain is judged (TLS stage).
    pub policy: Policy,
    /// The login stage's credentials and identity.
    pub login: Option<LoginSpec>,
    /// `--bind` / the config's `local`: the probe's source address (a name is resolved
    /// after the server's, within the check's budget).
    pub bind: Option<Bind>,
    /// Where the wrap's key came from, for advice about a bad HMAC.
    pub key_origin: KeyOrigin,
}

/// The probe's source: an address, or a name (OpenVPN's `local NAME`) to resolve to an
/// address of the server's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Address(std::net::IpAddr),
    Name(String),
}

/// A fact about the check's settings that `-v` shows; `report` chooses the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A `remote` of the config, and whether it is the one checked.
    ConfigRemote {
        config: String,
        host: String,
        port: Option<u16>,
        proto: Option<&'static str>,
        used: bool,
    },
    /// A tls-auth or tls-crypt static key: where from, its fingerprint, and for tls-auth
    /// the key direction and digest.
    StaticKey {
        wrap: &'static str,
        source: String,
        fingerprint: String,
        tls_auth: Option<(
            crate::keys::static_keys::KeyDirection,
            crate::digest::Digest,
        )>,
    },
    V2Key {
        source: String,
        fingerprint: String,
        wrapped_len: usize,
    },
    HexKeys {
        client: String,
        server: Option<String>,
        digest: crate::digest::Digest,
    },
    /// A key or password file that group or others can read.
    LoosePermissions {
        path: String,
        mode: u32,
    },
    CaCertificates {
        count: usize,
        from: String,
    },
    ClientCertificate {
        source: String,
        common_name: Option<String>,
        fingerprint: String,
        key: String,
    },
    AuthUserPass {
        source: String,
        user: String,
    },
    /// What the config's `local NAME` resolved to.
    LocalAddress {
        name: String,
        address: std::net::IpAddr,
    },
    /// A client key under 2048 bits: accepted (as OpenVPN 2.6 does), but weak.
    WeakClientKey {
        source: String,
        bits: usize,
    },
    /// The password goes with a TOTP code, as the config's `static-challenge` asks.
    ChallengeAnswered {
        secret: String,
        format: &'static str,
    },
    /// What the host name resolved to.
    Addresses {
        host: String,
        addresses: Vec<std::net::IpAddr>,
    },
}

/// One line of long output, as a fact: a note about the settings, or what the session
/// did at a time since the flow opened. `report::detail_line` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    ResetSent {
        attempt: u32,
        opcode: u8,
        len: usize,
    },
    PacketSent {
        at: Duration,
        opcode: u8,
        len: usize,
    },
    /// `-vvv`: a packet's bytes.
    Hex {
        outgoing: bool,
        bytes: Vec<u8>,
    },
    BadHmacReset {
        at: Duration,
        len: usize,
    },
    Ignored {
        at: Duration,
        len: usize,
        reason: Rejection,
        opcode: u8,
    },
    Responded {
        at: Duration,
        len: usize,
    },
    ResetAnswered {
        at: Duration,
    },
    ServerSession {
        id: SessionId,
    },
    ResendWkc,
    TlsFailed {
        at: Duration,
        failure: TlsFailure,
    },
    KeySent {
        at: Duration,
    },
    ServerKeyMethod2 {
        at: Duration,
    },
    PushRequested {
        at: Duration,
    },
    Control {
        at: Duration,
        message: ControlMessage,
    },
    ExitSent {
        at: Duration,
    },
    ExitAcked {
        at: Duration,
    },
    IgnoredTotals(BTreeMap<Rejection, u32>),
    /// The packet trace stopped here; later packets are only counted.
    TraceStopped {
        after: usize,
    },
}

/// Where the key material came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrigin {
    /// No wrap.
    #[default]
    None,
    /// A key file (`--tls-auth`, `--tls-crypt`, `--tls-crypt-v2`, or the config's).
    File,
    /// An inline block of a config.
    Inline,
    /// `--digest-key-client` / `--digest-key-server`.
    Hex,
}

/// What the login stage logs in with.
#[derive(Debug, Clone)]
pub struct LoginSpec {
    pub hello: crate::proto::login::ClientHello,
    pub client_auth: Option<std::sync::Arc<rustls::sign::CertifiedKey>>,
    /// Shown as "logged in as ...": the user name, else the certificate's CN.
    pub who: String,
    /// `--wait-for-close`: over TCP, stay after EXIT until the server closes.
    pub wait_for_close: bool,
}

impl CheckSpec {
    /// A reset-stage check with no chain policy: what the original script did.
    pub fn reset(
        host: &str,
        port: u16,
        proto: Proto,
        timeout: Duration,
        attempts: u32,
        wrap: Wrap,
    ) -> CheckSpec {
        CheckSpec {
            host: host.into(),
            port,
            proto,
            family: None,
            timeout,
            attempts,
            wrap,
            notes: Vec::new(),
            validate: true,
            verbosity: 0,
            stage: Stage::Reset,
            policy: Policy::default(),
            login: None,
            bind: None,
            key_origin: KeyOrigin::None,
        }
    }

    fn link(&self) -> net::LinkOptions {
        net::LinkOptions {
            bind: match &self.bind {
                Some(Bind::Address(ip)) => Some(*ip),
                _ => None,
            },
        }
    }

    /// UDP makes `attempts` attempts; TCP one.
    pub fn max_attempts(&self) -> u32 {
        match self.proto {
            Proto::Udp => self.attempts,
            Proto::Tcp => 1,
        }
    }

    /// The whole check's time: every attempt over UDP, the one over TCP.
    pub fn budget(&self) -> Duration {
        self.timeout * self.max_attempts()
    }
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
#[derive(Debug, Clone)]
pub struct TlsOutcome {
    /// The furthest step reached.
    pub reached: Progress,
    /// `TLSv1.3` and the IANA suite name, once established.
    pub version: Option<String>,
    pub suite: Option<String>,
    pub failure: Option<TlsFailure>,
    /// From the server's reset to the server proving itself.
    pub tls_time: Option<Duration>,
    /// The chain, judged by the spec's policy, when the server sent one.
    pub judgement: Option<Judgement>,
    /// How the link failed (a close or reset mid-handshake, the deadline, ...); `None`
    /// when the session ended by itself.
    pub ending: Option<Ending>,
    /// tls-crypt-v2: the server answered statelessly and asked for our key again.
    pub resend_wkc: bool,
    /// When our hello went unanswered: what the server chose for the probing hello, which
    /// offers everything OpenVPN's OpenSSL may pick.
    pub probe: Option<probe::Answer>,
    /// The login stage, when it ran.
    pub login: Option<LoginOutcome>,
}

/// What the login stage saw after TLS.
#[derive(Debug, Clone, Default)]
pub struct LoginOutcome {
    /// The chain failed the policy: no credentials were sent.
    pub withheld: bool,
    pub key_sent: bool,
    pub server_key: Option<ServerKeyMethod2>,
    /// The whole push, when it came.
    pub pushed: Option<Vec<String>>,
    /// `AUTH_FAILED`, with the server's reason if it gave one.
    pub auth_failed: Option<Option<String>>,
    /// `AUTH_PENDING` (timeout the server named) and the method of `INFO_PRE`.
    pub pending: Option<(Option<u32>, Option<String>)>,
    /// `RESTART` or `HALT` (`true`), with the server's message.
    pub restart: Option<(bool, Option<String>)>,
    pub push_requested: bool,
    /// A point-to-point server: the key exchange is the whole login.
    pub point_to_point: bool,
    pub exit_sent: bool,
    pub exit_acked: bool,
    /// From TLS established to the server's verdict.
    pub login_time: Option<Duration>,
    /// Who logged in, for the status line: the user name, else the certificate's CN.
    pub who: String,
}

impl TlsOutcome {
    pub fn established(&self) -> bool {
        self.reached >= Progress::Established
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// `127.0.0.1:1194/udp`, or `vpn.example.org (192.0.2.7):1194/udp` for a name.
    pub target: String,
    pub addr: SocketAddr,
    pub wrap: String,
    pub result: Answer,
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
    #[error("cannot get random bytes for a session id: {0}")]
    Random(String),
    #[error(transparent)]
    Bind(#[from] net::BindError),
}

/// Trace lines about received packets at `-vv`/`-vvv`; later packets are only counted.
const MAX_PACKET_TRACES: usize = 100;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_session_id() -> Result<SessionId, CheckError> {
    let mut sid = [0u8; 8];
    // OpenVPN's session ids are random and never all zero.
    while sid == [0u8; 8] {
        getrandom::fill(&mut sid).map_err(|e| CheckError::Random(e.to_string()))?;
    }
    Ok(sid)
}

/// The protocol as OpenVPN's options string names it.
fn proto_name(proto: Proto, addr: SocketAddr) -> &'static str {
    match (proto, addr.is_ipv6()) {
        (Proto::Udp, false) => "UDPv4",
        (Proto::Udp, true) => "UDPv6",
        (Proto::Tcp, false) => "TCPv4_CLIENT",
        (Proto::Tcp, true) => "TCPv6_CLIENT",
    }
}

/// Builds one session for `addr`, its attempt schedule starting at `origin`.
fn new_session(
    spec: &CheckSpec,
    wrap: &Wrap,
    addr: SocketAddr,
    stage: Stage,
    attempts: u32,
    trace: bool,
    origin: Instant,
) -> Result<Session, CheckError> {
    let cfg = SessionConfig {
        wrap: wrap.clone(),
        stage,
        validate: spec.validate,
        stream: spec.proto == Proto::Tcp,
        attempt_timeout: spec.timeout,
        attempts,
        server_name: ServerName::IpAddress(addr.ip().into()),
        trace,
        compat_hello: false,
        login: spec.login.as_ref().map(|l| {
            let mut hello = l.hello.clone();
            hello.proto = proto_name(spec.proto, addr);
            hello
        }),
        client_auth: spec.login.as_ref().and_then(|l| l.client_auth.clone()),
        gate: (stage == Stage::Login).then(|| (spec.policy.clone(), unix_now())),
        wait_for_close: spec.login.as_ref().is_some_and(|l| l.wait_for_close),
    };
    Ok(Session::new(
        cfg,
        random_session_id()?,
        unix_now() as u32,
        origin,
    ))
}

/// Folds a finished flow's events into an outcome.
struct Recorder<'a> {
    spec: &'a CheckSpec,
    start: Instant,
    verbosity: u8,
    packet_traces: usize,
    details: Vec<Detail>,
    ignored: BTreeMap<Rejection, u32>,
    result: Option<Answer>,
    reset_at: Option<Instant>,
    resend_wkc: bool,
    chain: Option<Vec<CertificateDer<'static>>>,
    established: Option<(String, String, Instant)>,
    failure: Option<TlsFailure>,
    login: LoginOutcome,
    answered_at: Option<Instant>,
}

impl<'a> Recorder<'a> {
    fn new(spec: &'a CheckSpec, start: Instant, verbosity: u8, notes: Vec<Note>) -> Self {
        Recorder {
            spec,
            start,
            verbosity,
            packet_traces: 0,
            details: if verbosity >= 1 {
                notes.into_iter().map(Detail::Note).collect()
            } else {
                Vec::new()
            },
            ignored: BTreeMap::new(),
            result: None,
            reset_at: None,
            resend_wkc: false,
            chain: None,
            established: None,
            failure: None,
            login: LoginOutcome::default(),
            answered_at: None,
        }
    }

    fn since(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    fn trace(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
        if self.verbosity >= level {
            self.details.push(detail());
        }
    }

    /// A flooding peer must not grow the long output (and memory) without bound.
    fn trace_packet(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
        if self.verbosity < level {
            return;
        }
        self.packet_traces += 1;
        match self.packet_traces.cmp(&MAX_PACKET_TRACES) {
            std::cmp::Ordering::Less => self.details.push(detail()),
            std::cmp::Ordering::Equal => self.details.push(Detail::TraceStopped {
                after: MAX_PACKET_TRACES,
            }),
            std::cmp::Ordering::Greater => {}
        }
    }

    fn take(&mut self, event: Event) {
        match event {
            Event::Packet {
                outgoing: true,
                at,
                bytes,
            } => {
                if self.reset_at.is_some() {
                    let t = self.since(at);
                    let (opcode, len) = (bytes[0] >> 3, bytes.len());
                    self.trace_packet(2, || Detail::PacketSent { at: t, opcode, len });
                }
                self.trace_packet(3, || Detail::Hex {
                    outgoing: true,
                    bytes,
                });
            }
            Event::Packet {
                outgoing: false,
                bytes,
                ..
            } => self.trace_packet(3, || Detail::Hex {
                outgoing: false,
                bytes,
            }),
            Event::ResetSent { attempt, len, .. } => {
                let opcode = self.spec.wrap.reset_opcode();
                self.trace(2, || Detail::ResetSent {
                    attempt,
                    opcode,
                    len,
                });
            }
            Event::Ignored {
                reason,
                opcode,
                len,
                at,
            } => {
                let t = self.since(at);
                if reason == Rejection::BadAuth && self.reset_at.is_none() {
                    self.trace_packet(2, || Detail::BadHmacReset { at: t, len });
                } else {
                    self.trace_packet(2, || Detail::Ignored {
                        at: t,
                        len,
                        reason,
                        opcode,
                    });
                }
            }
            Event::Responded { at, len } => {
                let t = self.since(at);
                self.trace_packet(2, || Detail::Responded { at: t, len });
                self.reset_at = Some(at);
                self.result = Some(Answer::Responded);
            }
            Event::BadAuth { .. } => {
                if self.result.is_none() {
                    self.result = Some(Answer::BadAuth);
                }
            }
            Event::ResetAnswered {
                server_session,
                auth,
                at,
                resend_wkc,
                ..
            } => {
                let t = self.since(at);
                self.trace_packet(2, || Detail::ResetAnswered { at: t });
                self.trace(1, || Detail::ServerSession { id: server_session });
                if resend_wkc {
                    self.trace(1, || Detail::ResendWkc);
                }
                self.reset_at = Some(at);
                self.resend_wkc = resend_wkc;
                self.result = Some(Answer::Answered(auth));
            }
            Event::ChainSeen { chain } => self.chain = Some(chain),
            Event::TlsEstablished { version, suite, at } => {
                self.established = Some((version, suite, at));
            }
            Event::ProbeAnswer { .. } => {}
            Event::LoginWithheld { .. } => self.login.withheld = true,
            Event::KeySent { at } => {
                let t = self.since(at);
                self.trace(2, || Detail::KeySent { at: t });
                self.login.key_sent = true;
            }
            Event::ServerKeyMethod2 { message, at } => {
                let t = self.since(at);
                self.trace(2, || Detail::ServerKeyMethod2 { at: t });
                self.login.server_key = Some(message);
            }
            Event::PointToPoint { at } => {
                self.answered_at.get_or_insert(at);
                self.login.point_to_point = true;
            }
            Event::PushRequested { at } => {
                let t = self.since(at);
                self.trace(2, || Detail::PushRequested { at: t });
                self.login.push_requested = true;
            }
            Event::Pushed { options, at } => {
                self.answered_at.get_or_insert(at);
                self.login.pushed = Some(options);
            }
            Event::Control { message, at } => {
                let t = self.since(at);
                let shown = message.clone();
                self.trace(2, || Detail::Control {
                    at: t,
                    message: shown,
                });
                match message {
                    ControlMessage::AuthFailed { reason } => {
                        self.answered_at.get_or_insert(at);
                        self.login.auth_failed = Some(reason);
                    }
                    ControlMessage::AuthPending { timeout } => {
                        let method = self.login.pending.take().and_then(|p| p.1);
                        self.login.pending = Some((timeout, method));
                    }
                    ControlMessage::InfoPre(info) => {
                        let method = info.split(':').next().unwrap_or("").to_string();
                        let timeout = self.login.pending.take().and_then(|p| p.0);
                        self.login.pending = Some((timeout, Some(method)));
                    }
                    ControlMessage::Restart(m) => {
                        self.answered_at.get_or_insert(at);
                        self.login.restart = Some((false, m));
                    }
                    ControlMessage::Halt(m) => {
                        self.answered_at.get_or_insert(at);
                        self.login.restart = Some((true, m));
                    }
                    _ => {}
                }
            }
            Event::ExitSent { at } => {
                let t = self.since(at);
                self.trace(2, || Detail::ExitSent { at: t });
                self.login.exit_sent = true;
            }
            Event::ExitAcked { at } => {
                let t = self.since(at);
                self.trace(2, || Detail::ExitAcked { at: t });
                self.login.exit_acked = true;
            }
            Event::TlsFailed { failure, at } => {
                let t = self.since(at);
                let shown = failure.clone();
                self.trace(2, || Detail::TlsFailed {
                    at: t,
                    failure: shown,
                });
                self.failure = Some(failure);
            }
        }
    }
}

fn describe_target(host: &str, addr: &SocketAddr, proto: Proto) -> String {
    let ip = addr.ip();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let shown_ip = match addr {
        SocketAddr::V4(_) => ip.to_string(),
        SocketAddr::V6(_) => format!("[{ip}]"),
    };
    if literal.parse::<std::net::IpAddr>().is_ok() {
        format!("{shown_ip}:{}/{}", addr.port(), proto.name())
    } else {
        format!("{host} ({ip}):{}/{}", addr.port(), proto.name())
    }
}

/// Resolves the host, and the lines `-v` shows about it.
fn resolve(spec: &CheckSpec, limit: Duration) -> Result<(Vec<SocketAddr>, Vec<Note>), CheckError> {
    let addrs = net::resolve(&spec.host, spec.port, spec.family, limit)?;
    let notes = vec![Note::Addresses {
        host: spec.host.clone(),
        addresses: addrs.iter().map(|a| a.ip()).collect(),
    }];
    Ok((addrs, notes))
}

/// The spec with `local NAME` resolved to an address of `server`'s family, within what is
/// left of the budget (OpenVPN resolves its `local` the same way).
fn resolve_bind(
    spec: &CheckSpec,
    server: SocketAddr,
    deadline: Instant,
    notes: &mut Vec<Note>,
) -> Result<CheckSpec, CheckError> {
    let Some(Bind::Name(name)) = &spec.bind else {
        return Ok(spec.clone());
    };
    let family = if server.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let address = net::resolve(name, 0, Some(family), left).map_err(CheckError::Local)?[0].ip();
    notes.push(Note::LocalAddress {
        name: name.clone(),
        address,
    });
    Ok(CheckSpec {
        bind: Some(Bind::Address(address)),
        ..spec.clone()
    })
}

/// Runs one check against the first address of the host. `Err` is for problems that make
/// the check impossible to run (UNKNOWN); every network result is an `Ok(Outcome)`.
pub fn run(spec: &CheckSpec) -> Result<Outcome, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut outcomes = probe(spec, &addrs[..1], origin, vec![notes])?;
    Ok(outcomes.remove(0))
}

/// `--all-addresses`: resolves the host and probes every address it has, at once.
pub fn run_all(spec: &CheckSpec) -> Result<Vec<Outcome>, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut lead = vec![notes];
    lead.resize(addrs.len(), Vec::new());
    probe(spec, &addrs, origin, lead)
}

/// Probes each of `addrs` at once, each with its own session and the spec's retries, all
/// within one budget. Apart from name resolution so that tests can give the list.
pub fn probe_addresses(spec: &CheckSpec, addrs: &[SocketAddr]) -> Result<Vec<Outcome>, CheckError> {
    probe(spec, addrs, Instant::now(), vec![Vec::new(); addrs.len()])
}

fn probe(
    spec: &CheckSpec,
    addrs: &[SocketAddr],
    origin: Instant,
    notes: Vec<Vec<Note>>,
) -> Result<Vec<Outcome>, CheckError> {
    let trace = spec.verbosity >= 2;
    if let Some(Bind::Address(bind)) = spec.bind {
        for &addr in addrs {
            net::check_bind(bind, addr)?;
        }
    }
    let mut flows = Vec::with_capacity(addrs.len());
    for &addr in addrs {
        let session = new_session(
            spec,
            &spec.wrap,
            addr,
            spec.stage,
            spec.max_attempts(),
            trace,
            origin,
        )?;
        flows.push(Flow::new(addr, spec.proto, session, spec.link()));
    }
    let deadline = origin + spec.budget();
    net::drive(&mut flows, deadline);
    let now_unix = unix_now();
    let mut outcomes: Vec<Outcome> = flows
        .into_iter()
        .zip(notes)
        .map(|(flow, notes)| outcome(spec, flow, origin, notes, now_unix))
        .collect();
    ask_with_another_hello(spec, &mut outcomes, deadline)?;
    Ok(outcomes)
}

/// How long to wait before asking again a server that refused or closed the link: a
/// point-to-point server restarts after a failed handshake and is back within a second.
const PROBE_PAUSE: Duration = Duration::from_millis(200);

/// A server that drops our ClientHello without a word may be down, or may speak only TLS
/// this check cannot (OpenVPN sends no alert when OpenSSL finds nothing in common; a
/// point-to-point server restarts, so the next packet meets a closed port). Ask again,
/// within what is left of the budget, with the probing hello: what the server chooses
/// for it says which.
fn ask_with_another_hello(
    spec: &CheckSpec,
    outcomes: &mut [Outcome],
    deadline: Instant,
) -> Result<(), CheckError> {
    let mut pending: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            o.tls.as_ref().is_some_and(|t| {
                matches!(t.reached, Progress::HelloSent | Progress::HelloAcked)
                    && matches!(
                        t.failure,
                        None | Some(TlsFailure::Alert {
                            before_server_hello: true,
                            ..
                        })
                    )
            })
        })
        .map(|(i, _)| i)
        .collect();
    while !pending.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let mut flows = Vec::new();
        for &i in &pending {
            let addr = outcomes[i].addr;
            let cfg = SessionConfig {
                wrap: spec.wrap.clone(),
                stage: Stage::Tls,
                validate: true,
                stream: spec.proto == Proto::Tcp,
                attempt_timeout: spec.timeout.min(deadline.saturating_duration_since(now)),
                attempts: spec.max_attempts(),
                server_name: ServerName::IpAddress(addr.ip().into()),
                trace: false,
                compat_hello: true,
                login: None,
                client_auth: spec.login.as_ref().and_then(|l| l.client_auth.clone()),
                gate: None,
                wait_for_close: false,
            };
            let session = Session::new(cfg, random_session_id()?, unix_now() as u32, now);
            flows.push(Flow::new(addr, spec.proto, session, spec.link()));
        }
        net::drive(&mut flows, deadline);
        let mut again = Vec::new();
        for (flow, &i) in flows.iter_mut().zip(&pending) {
            let mut answer = None;
            while let Some(e) = flow.session.poll_event() {
                if let Event::ProbeAnswer { answer: a, .. } = e {
                    answer = Some(a);
                }
            }
            // Refused, closed or reset before any answer: a restarting server.
            let restarting = answer.is_none()
                && matches!(
                    flow.ending,
                    Some(Ending::Refused | Ending::Closed | Ending::Reset)
                );
            if restarting {
                again.push(i);
            }
            if let Some(t) = outcomes[i].tls.as_mut() {
                t.probe = Some(answer.unwrap_or(probe::Answer::Silent));
            }
        }
        pending = again;
        if !pending.is_empty() {
            std::thread::sleep(PROBE_PAUSE.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
    Ok(())
}

fn outcome(
    spec: &CheckSpec,
    mut flow: Flow,
    origin: Instant,
    notes: Vec<Note>,
    now_unix: i64,
) -> Outcome {
    let start = flow.started.unwrap_or(origin);
    let end = flow.ended_at.unwrap_or_else(Instant::now);
    let ending = flow.ending.clone();
    let mut rec = Recorder::new(spec, start, spec.verbosity, notes);
    let id = flow.session.session_id();
    let addr = flow.addr;
    rec.trace(1, || Detail::SessionId { addr, id });
    if let Some(local) = flow.info.local {
        rec.trace(1, || Detail::SentFrom { addr, local });
    }
    if let Some(granted) = flow.info.recv_buffer {
        rec.trace(1, || Detail::RecvBuffer {
            asked: net::UDP_RCVBUF,
            granted,
        });
    }
    while let Some(event) = flow.session.poll_event() {
        rec.take(event);
    }
    rec.ignored = flow.session.ignored().clone();
    if !rec.ignored.is_empty() {
        let totals = rec.ignored.clone();
        rec.trace(1, || Detail::IgnoredTotals(totals));
    }
    let result = match (&ending, rec.result.take()) {
        (_, Some(r @ (Answer::Answered(_) | Answer::Responded))) => r,
        // The server answered our session with an HMAC that did not verify, and nothing
        // better came before the end: the server is up.
        (_, Some(Answer::BadAuth)) => Answer::BadAuth,
        // The session gave up by itself (a bad HMAC, a silent hello): no answer in time.
        (None, _) => Answer::Failed(Ending::TimedOut),
        (Some(e), _) => Answer::Failed(e.clone()),
    };
    let reached_stage_at = match (&rec.established, rec.reset_at) {
        _ if spec.stage == Stage::Login => rec.answered_at,
        (Some((_, _, at)), _) if spec.stage == Stage::Tls => Some(*at),
        (_, Some(at)) if spec.stage == Stage::Reset => Some(at),
        _ => None,
    };
    let elapsed = reached_stage_at
        .unwrap_or(end)
        .saturating_duration_since(start);
    let login = (spec.stage == Stage::Login).then(|| {
        let mut l = rec.login.clone();
        l.login_time = match (&rec.established, rec.answered_at) {
            (Some((_, _, tls)), Some(done)) => Some(done.saturating_duration_since(*tls)),
            _ => None,
        };
        l.who = spec
            .login
            .as_ref()
            .map(|s| s.who.clone())
            .unwrap_or_default();
        l
    });
    let tls = (spec.stage >= Stage::Tls && matches!(result, Answer::Answered(_))).then(|| {
        let judgement = rec
            .chain
            .as_ref()
            .map(|c| chain::judge(c, &spec.policy, now_unix));
        TlsOutcome {
            reached: flow.session.progress(),
            version: rec.established.as_ref().map(|e| e.0.clone()),
            suite: rec.established.as_ref().map(|e| e.1.clone()),
            failure: rec.failure.clone(),
            tls_time: match (&rec.established, rec.reset_at) {
                (Some((_, _, done)), Some(reset)) => Some(done.saturating_duration_since(reset)),
                _ => None,
            },
            judgement,
            ending: ending.clone(),
            resend_wkc: rec.resend_wkc,
            probe: None,
            login,
        }
    });
    Outcome {
        target: describe_target(&spec.host, &flow.addr, spec.proto),
        addr: flow.addr,
        wrap: spec.wrap.describe(),
        result,
        elapsed,
        attempts: flow.session.attempts().max(1),
        max_attempts: spec.max_attempts(),
        budget: spec.budget(),
        ignored: rec.ignored,
        tls,
        now_unix,
        key_origin: spec.key_origin,
        details: rec.details,
    }
}

/// One way of using the key material that `--diagnose` tries.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `tls-auth SHA512 key-direction 1`
    pub label: String,
    /// What to change to use it: flags, or config directives.
    pub advice: String,
    pub wrap: Wrap,
}

#[derive(Debug, Clone)]
pub struct Trial {
    pub label: String,
    pub advice: String,
    pub result: Answer,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub target: String,
    /// In the order tried.
    pub trials: Vec<Trial>,
    pub timeout: Duration,
    pub details: Vec<Detail>,
}

/// Sends one reset per candidate, all at once, each with its own socket and session, and
/// waits at most one `spec.timeout` for all of them together.
pub fn diagnose(spec: &CheckSpec, candidates: &[Candidate]) -> Result<Diagnosis, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.timeout)?;
    let addr = addrs[0];
    let spec = &resolve_bind(spec, addr, origin + spec.timeout, &mut notes)?;
    if let Some(Bind::Address(bind)) = spec.bind {
        net::check_bind(bind, addr)?;
    }
    let mut flows = Vec::with_capacity(candidates.len());
    for c in candidates {
        let session = new_session(spec, &c.wrap, addr, Stage::Reset, 1, false, origin)?;
        flows.push(Flow::new(addr, spec.proto, session, spec.link()));
    }
    net::drive(&mut flows, origin + spec.timeout);
    let quiet = CheckSpec {
        verbosity: 0,
        ..spec.clone()
    };
    let trials = candidates
        .iter()
        .zip(flows)
        .map(|(c, flow)| {
            let o = outcome(&quiet, flow, origin, Vec::new(), 0);
            Trial {
                label: c.label.clone(),
                advice: c.advice.clone(),
                result: o.result,
                elapsed: o.elapsed,
            }
        })
        .collect();
    Ok(Diagnosis {
        target: describe_target(&spec.host, &addr, spec.proto),
        trials,
        timeout: spec.timeout,
        details: if spec.verbosity >= 1 {
            notes
                .into_iter()
                .chain(spec.notes.iter().cloned())
                .map(Detail::Note)
                .collect()
        } else {
            Vec::new()
        },
    })
}
