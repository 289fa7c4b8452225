//! One probe session as a state machine without sockets or clock, in the shape of
//! quinn-proto's `Connection`: the driver feeds it datagrams ([`Session::handle_packet`])
//! and wake-ups ([`Session::handle_timeout`]), and drains what it wants sent
//! ([`Session::poll_transmit`]), when it wants to be woken ([`Session::poll_timeout`]) and
//! what happened ([`Session::poll_event`]). It never prints: events are typed, and
//! `report` chooses the words.
//!
//! Stages: the hard reset (retransmitted on the attempt schedule until the server's reset
//! for our session arrives); then optionally TLS, the reliable layer carrying a rustls
//! handshake (or the probing hello, [`super::probe`]) until the server has proven its
//! certificate; then optionally the login: key-method 2 with the credentials, the server's
//! push or refusal, and our `EXIT`. Whatever stops it, the session's last event says how
//! far it got and why ([`Event::Finished`]); only a failed link or the driver's deadline
//! end it without one, and the driver knows those.

use super::login;
use super::packet::{self, ControlPacket, EARLY_NEG_RESEND_WKC, P_CONTROL_WKC_V1};
use super::probe;
use super::random::Randomness;
use super::reliable::{Incoming, Reliable};
use super::tls::{self, Capture};
use crate::chain::Policy;
use crate::wire::{self, Auth, Rejection, Replay, ServerReset, SessionId, Wrap};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::ClientConnection;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// OpenVPN's default control-channel packet size, IP and UDP headers included.
const TLS_MTU: usize = 1250;
/// IPv6 + UDP headers (the larger family, so one budget fits both).
const IP_UDP_OVERHEAD: usize = 48;
/// `byte0 | session_id | ack block with 4 acks | message id`.
const CONTROL_OVERHEAD: usize = 9 + (1 + 4 * 4 + 8) + 4;
/// Never cut TLS into pieces smaller than this, whatever the wrapped key's size.
const MIN_PAYLOAD: usize = 64;
/// Retransmission timeout of control packets after the reset: a few round trips of the
/// reset's own, within these bounds.
const MIN_RTO: Duration = Duration::from_millis(100);
const MAX_INITIAL_RTO: Duration = Duration::from_secs(1);
/// A 2.6 client sends its first `PUSH_REQUEST` 1 s after the key exchange, then every 5 s
/// (a server that announced REQUEST_PUSH support usually pushes before that).
const FIRST_PUSH_REQUEST: Duration = Duration::from_secs(1);
const PUSH_REQUEST_INTERVAL: Duration = Duration::from_secs(5);
/// Traced packets (and ignored-packet events) per session; a flood is only counted after
/// this.
pub const MAX_TRACED_PACKETS: usize = 100;

/// How deep the session goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Up to the server's hard reset for our session.
    Reset,
    /// Up to the server proving its certificate in a TLS handshake.
    Tls,
    /// A whole login: key-method 2, the server's push or refusal, then `EXIT`.
    Login,
}

/// Everything a session needs besides its id and the clock.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub wrap: Wrap,
    pub stage: Stage,
    /// `false` (`--no-validation`): any packet from the server ends the reset stage.
    pub validate: bool,
    /// The link is a stream (TCP): no retransmissions.
    pub stream: bool,
    /// Time between hard reset (re)transmissions.
    pub attempt_timeout: Duration,
    /// Hard reset transmissions (1 over TCP).
    pub attempts: u32,
    /// Only used by rustls for its own bookkeeping: no SNI is sent, no name is checked.
    pub server_name: ServerName<'static>,
    /// Emit [`Event::Packet`] for the first packets in and out (`-vv`, `-vvv`).
    pub trace: bool,
    /// Instead of rustls's hello, send the probing hello ([`super::probe`]), which offers
    /// everything an OpenVPN server's OpenSSL may pick, and report what the server chose
    /// ([`Event::ProbeAnswer`]): tells a server whose TLS this check cannot speak (and
    /// what of it) from one that is down.
    pub compat_hello: bool,
    /// The login stage: what to tell the server, with the credentials.
    pub login: Option<login::ClientHello>,
    /// The client certificate and key offered in the handshake.
    pub client_auth: Option<Arc<CertifiedKey>>,
    /// Login stage: judge the chain with this policy (at this Unix time) before sending
    /// credentials; a chain with any problem gets none.
    pub gate: Option<(Policy, i64)>,
    /// Over TCP, after `EXIT` is acknowledged, stay until the server closes the connection
    /// (its delayed exit, 5 s on a 2.6 server), so that it logs a clean exit instead of a
    /// connection reset.
    pub wait_for_close: bool,
}

/// Why a TLS handshake did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server sent a TLS alert; `before_server_hello` tells a refused hello apart.
    Alert {
        description: String,
        before_server_hello: bool,
    },
    /// The server chose something this check cannot speak (a suite, group or signature
    /// scheme rustls does not offer or support).
    Incompatible(String),
    /// The server's handshake signature did not verify against its certificate.
    BadSignature(String),
    /// Anything else rustls refused: garbage, a broken or oversized handshake message.
    Protocol(String),
}

/// How far a session got; the last reached step names what a failure interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Nothing sent yet.
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
    /// Our `EXIT` was acknowledged.
    Exited,
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
    /// The server neither acknowledged nor answered our hello in time.
    HelloUnanswered,
    /// The probing hello got the server's choice ([`Event::ProbeAnswer`]).
    Probed,
    /// The handshake or the exchange after it failed ([`Event::TlsFailed`] says how).
    Failed,
    /// Login stage: the chain failed the policy, so no credentials went out.
    Withheld,
}

/// What happened, for the probe to record and `report` to word. A session's last event is
/// always [`Event::Finished`], once, unless its link failed or the driver's deadline
/// passed first (the driver knows those endings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A packet left (`outgoing`) or arrived; only with [`SessionConfig::trace`], for the
    /// first [`MAX_TRACED_PACKETS`] of them.
    Packet {
        outgoing: bool,
        at: Instant,
        bytes: Vec<u8>,
    },
    /// Attempt `attempt` of the hard reset went out.
    ResetSent {
        attempt: u32,
        at: Instant,
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
    /// A server reset for our session whose HMAC or tag did not verify.
    BadAuth {
        at: Instant,
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
    },
    /// The server proved its certificate (TLS 1.3 Finished, TLS 1.2 signed key exchange).
    TlsEstablished {
        version: String,
        suite: String,
        at: Instant,
    },
    TlsFailed {
        failure: TlsFailure,
        at: Instant,
    },
    /// With [`SessionConfig::compat_hello`]: what the server's first flight chose.
    ProbeAnswer {
        answer: probe::Answer,
        at: Instant,
    },
    /// Login stage: the chain failed the policy, so no credentials were sent.
    LoginWithheld {
        at: Instant,
    },
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
        options: Vec<String>,
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
    /// The session ended: how far it got, and why it stopped. Nothing follows it.
    Finished {
        reached: Progress,
        why: Why,
    },
}

enum State {
    AwaitReset {
        /// Transmissions so far.
        sent: u32,
        /// After a reset with a bad HMAC: give up at the end of this attempt.
        stop_at: Option<Instant>,
    },
    Tls(Box<TlsState>),
    Done,
}

struct TlsState {
    server_session: SessionId,
    conn: ClientConnection,
    capture: Arc<Capture>,
    reliable: Reliable,
    /// tls-crypt-v2 stateless answer: the next control packet must carry our wrapped key.
    wkc_pending: bool,
    chain_reported: bool,
    /// Proven: send what rustls still has (our last flight), then end.
    finishing: bool,
    /// Any valid packet of the server's since its reset; until then every control packet
    /// acks its reset again, since only a packet with that ack creates a 2.6 server's state.
    heard: bool,
    /// Give up when the server neither acks nor answers our hello by then.
    hello_deadline: Option<Instant>,
    login: LoginState,
    /// The probing hello: the server's first flight so far.
    probe_flight: Vec<u8>,
}

#[derive(Default)]
struct LoginState {
    key_sent: bool,
    server_key: bool,
    /// Plaintext from the server not yet parsed.
    plain: Vec<u8>,
    push: Vec<String>,
    answered: bool,
    /// When to send (another) `PUSH_REQUEST`.
    push_request_at: Option<Instant>,
    exit_sent: bool,
}

/// What every packet after the reset needs to leave: our session id and the outer replay
/// id (a fresh one for every datagram, resends and acks included).
struct Sealer {
    session_id: SessionId,
    net_time: u32,
    /// The next outer packet id (tls-auth/tls-crypt replay protection).
    next_replay: u32,
}

impl Sealer {
    fn replay(&mut self) -> Replay {
        let replay = Replay {
            packet_id: self.next_replay,
            net_time: self.net_time,
        };
        self.next_replay = self.next_replay.wrapping_add(1);
        replay
    }

    /// The reliable layer's next packet, wrapped. Until the server is heard every control
    /// packet acks its reset again: only a packet with that ack creates a 2.6 server's
    /// state.
    fn next(&mut self, wrap: &Wrap, t: &mut TlsState, now: Instant) -> Option<Vec<u8>> {
        let mut tx = t.reliable.poll_transmit(now)?;
        if tx.acks.is_empty() && !t.heard && tx.opcode != wire::P_ACK_V1 {
            tx.acks.push(0);
        }
        let body = packet::encode_body(&tx.acks, &t.server_session, tx.message_id, &tx.payload);
        let replay = self.replay();
        let with_wkc = tx.opcode == P_CONTROL_WKC_V1;
        Some(packet::seal(
            wrap,
            tx.opcode,
            self.session_id,
            replay,
            &body,
            with_wkc,
        ))
    }
}

pub struct Session {
    cfg: SessionConfig,
    sealer: Sealer,
    origin: Instant,
    state: State,
    progress: Progress,
    events: VecDeque<Event>,
    traced: usize,
    reset_rtt: Option<Duration>,
    /// Reset transmissions when the reset stage ended.
    attempts_done: u32,
    /// Packets sealed when the session ended (a last flight or an alert), still to go out.
    outbox: VecDeque<Vec<u8>>,
    /// Every ignored packet, by reason; [`Event::Ignored`] only for the first ones.
    ignored: std::collections::BTreeMap<Rejection, u32>,
    ignored_events: usize,
    random: Randomness,
    /// [`Event::Finished`] went out: no event follows it.
    finished: bool,
}

impl Session {
    /// A session whose attempt schedule starts at `now`, with every random byte it will use
    /// (its session id among them) already drawn, and `net_time` the current Unix time in
    /// seconds (OpenVPN's replay `time` field).
    pub fn new(cfg: SessionConfig, random: Randomness, net_time: u32, now: Instant) -> Self {
        let sealer = Sealer {
            session_id: random.session_id,
            net_time,
            next_replay: cfg.wrap.packet_id(1),
        };
        Session {
            cfg,
            sealer,
            random,
            origin: now,
            state: State::AwaitReset {
                sent: 0,
                stop_at: None,
            },
            progress: Progress::Idle,
            events: VecDeque::new(),
            traced: 0,
            reset_rtt: None,
            attempts_done: 0,
            outbox: VecDeque::new(),
            ignored: Default::default(),
            ignored_events: 0,
            finished: false,
        }
    }

    pub fn session_id(&self) -> SessionId {
        self.sealer.session_id
    }

    /// True once the session has nothing more to do: it reached its stage, failed, or gave
    /// up. The driver still drains [`Session::poll_transmit`] once (a last flight or
    /// alert), then closes.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Every packet ignored so far, by reason (events report only the first
    /// [`MAX_TRACED_PACKETS`] of them).
    pub fn ignored(&self) -> &std::collections::BTreeMap<Rejection, u32> {
        &self.ignored
    }

    /// Hard reset transmissions so far.
    pub fn attempts(&self) -> u32 {
        match &self.state {
            State::AwaitReset { sent, .. } => *sent,
            _ => self.attempts_done,
        }
    }

    /// The next event, oldest first. Call after every `handle_*`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the driver must call [`Session::handle_timeout`] next, or `None` when no timer
    /// runs (the driver's own deadline still applies). Changes after every `handle_*` and
    /// every `poll_transmit` that returned `Some`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::AwaitReset { sent, stop_at } => {
                // The next attempt, or the end of the last one: the session gives up then.
                let next = self.attempt_start((*sent).min(self.cfg.attempts));
                Some(stop_at.map_or(next, |s| s.min(next)))
            }
            State::Tls(t) => [
                t.reliable.poll_timeout(),
                t.hello_deadline,
                t.login.push_request_at,
            ]
            .into_iter()
            .flatten()
            .min(),
            State::Done => None,
        }
    }

    /// When attempt `n` (0-based) of the hard reset starts.
    fn attempt_start(&self, n: u32) -> Instant {
        self.origin + self.cfg.attempt_timeout * n
    }

    /// The timer from [`Session::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::AwaitReset { sent, stop_at } = self.state {
            if stop_at.is_some_and(|s| now >= s) {
                self.end_now(Why::BadAuth);
            } else if sent >= self.cfg.attempts && now >= self.attempt_start(self.cfg.attempts) {
                self.attempts_done = sent;
                self.end_now(Why::Silence { attempts: sent });
            }
        }
        if let State::Tls(t) = &self.state {
            if t.hello_deadline.is_some_and(|d| now >= d) {
                self.end_now(Why::HelloUnanswered);
            }
        }
        if let State::Tls(t) = &mut self.state {
            if t.login.push_request_at.is_some_and(|d| now >= d) {
                // A 2.6 client asks again every 5 s; a server answers one request per 30 s.
                t.login.push_request_at = Some(now + PUSH_REQUEST_INTERVAL);
                if t.conn.writer().write_all(b"PUSH_REQUEST\0").is_ok() {
                    self.emit(Event::PushRequested { at: now });
                }
                let State::Tls(mut t) = std::mem::replace(&mut self.state, State::Done) else {
                    return;
                };
                self.queue_tls_output(&mut t);
                self.state = State::Tls(t);
            }
        }
        // Retransmissions are handed out by poll_transmit when they are due.
    }

    /// The next datagram (or TCP frame payload) to send, or `None`. Call until `None`
    /// after every `handle_*`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let packet = match &mut self.state {
            State::AwaitReset { sent, .. } => {
                if *sent >= self.cfg.attempts
                    || now < self.origin + self.cfg.attempt_timeout * *sent
                {
                    return None;
                }
                *sent += 1;
                let attempt = *sent;
                let replay = Replay {
                    packet_id: self.cfg.wrap.packet_id(attempt),
                    net_time: self.sealer.net_time,
                };
                self.sealer.next_replay = replay.packet_id.wrapping_add(1);
                let packet = wire::client_reset(&self.cfg.wrap, self.sealer.session_id, replay);
                self.progress = self.progress.max(Progress::ResetSent);
                self.emit(Event::ResetSent {
                    attempt,
                    at: now,
                    len: packet.len(),
                });
                packet
            }
            State::Tls(t) => self.sealer.next(&self.cfg.wrap, t, now)?,
            State::Done => self.outbox.pop_front()?,
        };
        self.trace(true, now, &packet);
        Some(packet)
    }

    /// Queues an event; none after [`Event::Finished`].
    fn emit(&mut self, event: Event) {
        if !self.finished {
            self.events.push_back(event);
        }
    }

    /// The session's last event. A session lingering for the server's close (over TCP,
    /// after its `EXIT` was acknowledged) has finished although it is not yet done.
    fn end(&mut self, why: Why) {
        if !self.finished {
            self.emit(Event::Finished {
                reached: self.progress,
                why,
            });
            self.finished = true;
        }
    }

    /// Ends the session now.
    fn end_now(&mut self, why: Why) {
        self.state = State::Done;
        self.end(why);
    }

    fn trace(&mut self, outgoing: bool, at: Instant, bytes: &[u8]) {
        if self.cfg.trace && self.traced < MAX_TRACED_PACKETS {
            self.traced += 1;
            self.emit(Event::Packet {
                outgoing,
                at,
                bytes: bytes.to_vec(),
            });
        }
    }

    fn ignore(&mut self, reason: Rejection, packet: &[u8], at: Instant) {
        *self.ignored.entry(reason).or_default() += 1;
        // A flood is counted, not queued: the driver keeps every event until the check
        // reads them.
        self.ignored_events += 1;
        if self.ignored_events > MAX_TRACED_PACKETS {
            return;
        }
        self.emit(Event::Ignored {
            reason,
            opcode: packet.first().map(|b| b >> 3).unwrap_or(0),
            len: packet.len(),
            at,
        });
    }

    /// One datagram, or one TCP frame without its length prefix, from the server.
    pub fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        if matches!(self.state, State::Done) {
            return;
        }
        self.trace(false, now, packet);
        match self.state {
            State::AwaitReset { .. } => self.on_reset_stage_packet(now, packet),
            State::Tls(_) => self.on_tls_stage_packet(now, packet),
            State::Done => {}
        }
    }

    fn on_reset_stage_packet(&mut self, now: Instant, packet: &[u8]) {
        let State::AwaitReset { sent, .. } = self.state else {
            return;
        };
        if !self.cfg.validate {
            self.emit(Event::Responded {
                at: now,
                len: packet.len(),
            });
            self.attempts_done = sent;
            self.end_now(Why::Responded);
            return;
        }
        match wire::validate_server_reset(&self.cfg.wrap, packet, &self.sealer.session_id) {
            Ok(ServerReset {
                session_id: server_session,
                auth,
            }) => {
                let resend_wkc = self.resend_wkc_requested(packet);
                self.reset_rtt =
                    Some(now.saturating_duration_since(self.attempt_start(sent.saturating_sub(1))));
                self.progress = Progress::ResetAnswered;
                self.attempts_done = sent;
                self.emit(Event::ResetAnswered {
                    server_session,
                    auth,
                    attempt: sent,
                    at: now,
                    resend_wkc,
                });
                match self.cfg.stage {
                    Stage::Reset => self.end_now(Why::Reached),
                    Stage::Tls | Stage::Login => self.start_tls(now, server_session, resend_wkc),
                }
            }
            Err(Rejection::BadAuth) => {
                self.emit(Event::BadAuth { at: now });
                self.ignore(Rejection::BadAuth, packet, now);
                // No point in retrying: wait out this attempt for a better answer.
                let end = self.attempt_start(sent.max(1));
                if let State::AwaitReset { stop_at, .. } = &mut self.state {
                    *stop_at = Some(end);
                }
            }
            Err(reason) => self.ignore(reason, packet, now),
        }
    }

    /// A tls-crypt-v2 server that answered statelessly flags it in its reset's payload.
    fn resend_wkc_requested(&self, packet: &[u8]) -> bool {
        if self.cfg.wrap.wrapped_key().is_none() {
            return false;
        }
        let Ok(opened) = self.cfg.wrap.open(packet) else {
            return false;
        };
        match ControlPacket::parse(opened.header, &opened.body) {
            Ok(p) => packet::early_negotiation_flags(p.payload) & EARLY_NEG_RESEND_WKC != 0,
            Err(_) => false,
        }
    }

    fn start_tls(&mut self, now: Instant, server_session: SessionId, resend_wkc: bool) {
        let capture = Arc::new(Capture::default());
        let conn = tls::client_config(capture.clone(), self.cfg.client_auth.clone())
            .and_then(|config| ClientConnection::new(config, self.cfg.server_name.clone()));
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                self.emit(Event::TlsFailed {
                    failure: TlsFailure::Incompatible(e.to_string()),
                    at: now,
                });
                self.end_now(Why::Failed);
                return;
            }
        };
        let rto = self
            .reset_rtt
            .map(|r| r * 4)
            .unwrap_or(MAX_INITIAL_RTO)
            .clamp(MIN_RTO, MAX_INITIAL_RTO);
        let mut reliable = Reliable::new(1, 1, !self.cfg.stream, rto);
        // The server's reset was its message 0: ack it on our first control packet, which
        // a 2.6 server needs to create its state for us.
        reliable.ack_later(0);
        let mut state = Box::new(TlsState {
            server_session,
            conn,
            capture,
            reliable,
            wkc_pending: resend_wkc,
            chain_reported: false,
            finishing: false,
            heard: false,
            hello_deadline: Some(now + self.cfg.attempt_timeout),
            login: LoginState::default(),
            probe_flight: Vec::new(),
        });
        if self.cfg.compat_hello {
            let hello = probe::client_hello(&self.random.probe_hello);
            self.queue_tls_bytes(&mut state, &hello);
        } else {
            self.queue_tls_output(&mut state);
        }
        self.progress = Progress::HelloSent;
        self.state = State::Tls(state);
    }

    /// TLS bytes a control packet can carry: OpenVPN's tls-mtu less every header, and
    /// less the wrapped key where one rides along.
    fn payload_budget(&self, with_wkc: bool) -> usize {
        let wkc = if with_wkc {
            self.cfg.wrap.wrapped_key().map_or(0, <[u8]>::len)
        } else {
            0
        };
        TLS_MTU
            .saturating_sub(IP_UDP_OVERHEAD + CONTROL_OVERHEAD + self.cfg.wrap.overhead() + wkc)
            .max(MIN_PAYLOAD)
    }

    /// Moves what rustls wants to send into the reliable layer, cut to packet size.
    fn queue_tls_output(&self, t: &mut TlsState) {
        let mut out = Vec::new();
        while t.conn.wants_write() {
            if t.conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        self.queue_tls_bytes(t, &out);
    }

    /// TLS bytes into the reliable layer, cut to packet size; the first packet carries our
    /// wrapped key when a tls-crypt-v2 server asked for it again.
    fn queue_tls_bytes(&self, t: &mut TlsState, out: &[u8]) {
        let mut rest = out;
        while !rest.is_empty() {
            let (opcode, budget) = if t.wkc_pending {
                (P_CONTROL_WKC_V1, self.payload_budget(true))
            } else {
                (wire::P_CONTROL_V1, self.payload_budget(false))
            };
            t.wkc_pending = false;
            let n = rest.len().min(budget);
            t.reliable.push(opcode, rest[..n].to_vec());
            rest = &rest[n..];
        }
    }

    fn on_tls_stage_packet(&mut self, now: Instant, packet: &[u8]) {
        let State::Tls(mut t) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let verdict = self.take_control_packet(&mut t, now, packet);
        if let Err(reason) = verdict {
            self.ignore(reason, packet, now);
            self.state = State::Tls(t);
            return;
        }
        // A repeated server reset proves nothing: a 2.6 server may still have no state for
        // us, so keep acking its reset until something else of its arrives.
        if verdict != Ok(wire::P_CONTROL_HARD_RESET_SERVER_V2) {
            t.heard = true;
            t.hello_deadline = None;
            self.progress = self.progress.max(Progress::HelloAcked);
        }
        self.state = match self.feed_tls(t, now) {
            Some(t) => State::Tls(t),
            None => State::Done,
        };
    }

    /// Opens and checks one packet of our session, takes its acks and hands its message to
    /// the reliable layer.
    fn take_control_packet(
        &self,
        t: &mut TlsState,
        _now: Instant,
        packet: &[u8],
    ) -> Result<u8, Rejection> {
        let opened = self.cfg.wrap.open(packet)?;
        if opened.auth.is_err() {
            return Err(Rejection::BadAuth);
        }
        let p = ControlPacket::parse(opened.header, &opened.body)?;
        if p.session_id != t.server_session {
            return Err(Rejection::OtherSession);
        }
        if p.key_id != 0 {
            return Err(Rejection::Unexpected);
        }
        if p.remote_session_id
            .is_some_and(|r| r != self.sealer.session_id)
        {
            return Err(Rejection::OtherSession);
        }
        match p.opcode {
            wire::P_ACK_V1 => {
                t.reliable.on_acks(&p.acks);
                Ok(p.opcode)
            }
            // Its reset again (our ack was lost), or TLS bytes.
            wire::P_CONTROL_HARD_RESET_SERVER_V2 | wire::P_CONTROL_V1 => {
                t.reliable.on_acks(&p.acks);
                let id = p.message_id.unwrap_or(0);
                if p.opcode == wire::P_CONTROL_HARD_RESET_SERVER_V2 && id != 0 {
                    return Err(Rejection::Unexpected);
                }
                match t.reliable.on_message(id, p.payload) {
                    Incoming::OutOfWindow => Err(Rejection::OutOfWindow),
                    Incoming::Accepted | Incoming::Duplicate => Ok(p.opcode),
                }
            }
            _ => Err(Rejection::Unexpected),
        }
    }

    /// Feeds the in-order stream to rustls and looks at what that changed. `None` when the
    /// session ended.
    fn feed_tls(&mut self, mut t: Box<TlsState>, now: Instant) -> Option<Box<TlsState>> {
        if self.cfg.compat_hello {
            while let Some(chunk) = t.reliable.read() {
                if chunk.is_empty() {
                    continue;
                }
                self.progress = self.progress.max(Progress::ServerSpoke);
                t.probe_flight.extend_from_slice(&chunk);
                if let Some(answer) = probe::read_flight(&t.probe_flight) {
                    self.emit(Event::ProbeAnswer { answer, at: now });
                    self.finish(t, now, Why::Probed);
                    return None;
                }
            }
            return Some(t);
        }
        while let Some(chunk) = t.reliable.read() {
            if !chunk.is_empty() {
                self.progress = self.progress.max(Progress::ServerSpoke);
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let fed = t.conn.read_tls(&mut rest);
                // A ServerHello sets the version: an alert before it refused our hello.
                let before_server_hello = t.conn.protocol_version().is_none();
                let processed = fed
                    .map_err(|e| TlsFailure::Protocol(e.to_string()))
                    .and_then(|_| {
                        t.conn
                            .process_new_packets()
                            .map(|_| ())
                            .map_err(|e| self.classify(&e, before_server_hello))
                    });
                if let Err(failure) = processed {
                    self.report_chain(&mut t);
                    // Let rustls's alert go out: it ends the server's side of the handshake.
                    self.queue_tls_output(&mut t);
                    self.emit(Event::TlsFailed { failure, at: now });
                    self.finish(t, now, Why::Failed);
                    return None;
                }
            }
        }
        if self.cfg.stage == Stage::Login {
            return self.drive_login(t, now);
        }
        // Drain plaintext (none is expected before the handshake ends) so rustls' buffer
        // never fills.
        let mut sink = [0u8; 1024];
        while matches!(t.conn.reader().read(&mut sink), Ok(n) if n > 0) {}
        self.report_chain(&mut t);
        let proven = !t.conn.is_handshaking()
            || (t.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2)
                && t.capture.tls12_signed());
        if proven && !t.finishing {
            t.finishing = true;
            self.established_event(&t, now);
        }
        self.queue_tls_output(&mut t);
        if t.finishing {
            self.finish(t, now, Why::Reached);
            return None;
        }
        Some(t)
    }

    fn established_event(&mut self, t: &TlsState, now: Instant) {
        self.progress = self.progress.max(Progress::Established);
        self.emit(Event::TlsEstablished {
            version: t
                .conn
                .protocol_version()
                .map(tls::version_name)
                .unwrap_or_default(),
            suite: t
                .conn
                .negotiated_cipher_suite()
                .map(|s| tls::suite_name(s.suite()))
                .unwrap_or_default(),
            at: now,
        });
    }

    /// The login stage, after each packet: finish the handshake, send key-method 2 once
    /// the chain passed, read the server's key-method 2 and control messages, answer a
    /// push or a refusal with `EXIT`, and end once `EXIT` is acknowledged.
    fn drive_login(&mut self, mut t: Box<TlsState>, now: Instant) -> Option<Box<TlsState>> {
        self.report_chain(&mut t);
        if t.conn.is_handshaking() {
            self.queue_tls_output(&mut t);
            return Some(t);
        }
        if !t.login.key_sent {
            self.established_event(&t, now);
            if let Some((policy, now_unix)) = &self.cfg.gate {
                let judged = crate::chain::judge(&t.capture.chain(), policy, *now_unix);
                if !judged.problems.is_empty() {
                    self.emit(Event::LoginWithheld { at: now });
                    self.queue_tls_output(&mut t);
                    self.finish(t, now, Why::Withheld);
                    return None;
                }
            }
            let Some(hello) = &self.cfg.login else {
                self.finish(t, now, Why::Reached);
                return None;
            };
            let message = login::client_key_method_2(hello, &self.random.key_method_2);
            // One write, one TLS record: the server parses key-method 2 from one read.
            if t.conn.writer().write_all(&message).is_err() {
                self.finish(t, now, Why::Failed);
                return None;
            }
            t.login.key_sent = true;
            self.progress = self.progress.max(Progress::KeySent);
            self.emit(Event::KeySent { at: now });
        }
        let mut chunk = [0u8; 4096];
        loop {
            match t.conn.reader().read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if t.login.plain.len() + n > login::MAX_PLAINTEXT {
                        self.emit(Event::TlsFailed {
                            failure: TlsFailure::Protocol(
                                "the server sent more unparsable data than any OpenVPN message"
                                    .into(),
                            ),
                            at: now,
                        });
                        self.send_exit(&mut t, now);
                        self.finish(t, now, Why::Failed);
                        return None;
                    }
                    t.login.plain.extend_from_slice(&chunk[..n]);
                }
            }
        }
        if !t.login.server_key && !t.login.plain.is_empty() {
            match login::parse_server_key_method_2(&t.login.plain) {
                Ok((message, used)) => {
                    t.login.plain.drain(..used);
                    t.login.server_key = true;
                    self.progress = self.progress.max(Progress::KeyReceived);
                    // A multi-client server sends no peer info of its own; a 2.6
                    // point-to-point server does (for its NCP) and pushes nothing: there the
                    // login ends here.
                    let point_to_point = !message.peer_info.is_empty();
                    self.emit(Event::ServerKeyMethod2 { message, at: now });
                    if point_to_point {
                        t.login.answered = true;
                        self.progress = self.progress.max(Progress::Answered);
                        self.emit(Event::PointToPoint { at: now });
                        // Its EXIT makes a point-to-point server restart for its next
                        // peer at once, without an ack: do not wait for one.
                        self.send_exit(&mut t, now);
                        self.queue_tls_output(&mut t);
                        self.finish(t, now, Why::Reached);
                        return None;
                    }
                    t.login.push_request_at = Some(now + FIRST_PUSH_REQUEST);
                }
                Err(login::Km2Error::Incomplete) => {}
                Err(login::Km2Error::Invalid) => {
                    self.emit(Event::TlsFailed {
                        failure: TlsFailure::Protocol(
                            "the server's first message after TLS is not key-method 2".into(),
                        ),
                        at: now,
                    });
                    self.finish(t, now, Why::Failed);
                    return None;
                }
            }
        }
        if t.login.server_key {
            for text in login::take_messages(&mut t.login.plain) {
                let message = login::parse_control_message(&text);
                match &message {
                    login::ControlMessage::PushReply { options, more } => {
                        t.login.push.extend(options.iter().cloned());
                        if !more && !t.login.answered {
                            t.login.answered = true;
                            t.login.push_request_at = None;
                            self.progress = self.progress.max(Progress::Answered);
                            self.emit(Event::Pushed {
                                options: std::mem::take(&mut t.login.push),
                                at: now,
                            });
                        }
                    }
                    login::ControlMessage::AuthFailed { .. }
                    | login::ControlMessage::Restart(_)
                    | login::ControlMessage::Halt(_)
                    | login::ControlMessage::Exit => {
                        t.login.answered = true;
                        t.login.push_request_at = None;
                        self.progress = self.progress.max(Progress::Answered);
                    }
                    _ => {}
                }
                self.emit(Event::Control { message, at: now });
            }
            if t.login.answered && !t.login.exit_sent {
                self.send_exit(&mut t, now);
            }
        }
        self.queue_tls_output(&mut t);
        if t.login.exit_sent && t.reliable.all_acked() && self.progress < Progress::Exited {
            self.progress = Progress::Exited;
            self.emit(Event::ExitAcked { at: now });
            if self.cfg.wait_for_close && self.cfg.stream {
                // The driver ends the flow when the server closes the connection.
                self.end(Why::Reached);
                return Some(t);
            }
            self.finish(t, now, Why::Reached);
            return None;
        }
        Some(t)
    }

    /// `EXIT` over the control channel: a 2.6 server frees the client at once instead of
    /// keeping it until ping-restart.
    fn send_exit(&mut self, t: &mut TlsState, now: Instant) {
        if t.login.exit_sent {
            return;
        }
        if t.conn.writer().write_all(b"EXIT\0").is_ok() {
            t.login.exit_sent = true;
            self.emit(Event::ExitSent { at: now });
        }
    }

    /// Ends the session, sealing what the reliable layer still has to send (our last
    /// flight, or rustls's alert) into the outbox: the driver drains `poll_transmit`
    /// before it closes, so they still leave, once.
    fn finish(&mut self, mut t: Box<TlsState>, now: Instant, why: Why) {
        while let Some(packet) = self.sealer.next(&self.cfg.wrap, &mut t, now) {
            self.outbox.push_back(packet);
        }
        self.end(why);
    }

    fn report_chain(&mut self, t: &mut TlsState) {
        if !t.chain_reported && t.capture.has_chain() {
            t.chain_reported = true;
            self.progress = self.progress.max(Progress::ChainSeen);
            self.emit(Event::ChainSeen {
                chain: t.capture.chain(),
            });
        }
    }

    fn classify(&self, e: &rustls::Error, before_server_hello: bool) -> TlsFailure {
        use rustls::Error as E;
        match e {
            E::AlertReceived(a) => TlsFailure::Alert {
                description: format!("{a:?}"),
                before_server_hello,
            },
            E::PeerIncompatible(p) => TlsFailure::Incompatible(format!("{p:?}")),
            E::NoCertificatesPresented => {
                TlsFailure::Protocol("the server sent no certificate".into())
            }
            E::InvalidCertificate(c) => TlsFailure::BadSignature(format!("{c:?}")),
            other => TlsFailure::Protocol(other.to_string()),
        }
    }
}
