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
//! push or refusal; then the data stage (keys from the push, ICMP echoes through the tunnel
//! with [`SessionConfig::ping`]) and our goodbye: a control `EXIT` where the server pushed
//! `cc-exit`, else OCC_EXIT on the data channel. Whatever stops it, the session's last event says how
//! far it got and why ([`Event::Finished`]); only a failed link or the driver's deadline
//! end it without one, and the driver knows those.

mod data_stage;
mod events;
mod handshake;
mod login_stage;
mod reset;
mod state;
#[cfg(test)]
mod tests;
mod timer;

pub use events::{
    DataKind, Event, Incompatible, Progress, ProtocolFailure, TlsFailure, Unreadable, Why,
};
use state::{
    AwaitPush, Awaiting, Chain, Control, DataState, DnsState, Handshake, HttpState, LookupState,
    PingState, Probe, ServerKey, State, TcpState,
};
use timer::{Timer, TimerTable};

use crate::chain::Policy;
use crate::proto::login;
use crate::proto::packet::{self, ControlPacket, ServerReset};
use crate::proto::probe;
use crate::proto::random::Randomness;
use crate::proto::reliable::{Incoming, Reliable};
use crate::proto::tls::{self, Capture};
use crate::wire::{self, Rejection, Replay, SessionId, Wrap, P_CONTROL_WKC_V1};
use rustls::pki_types::ServerName;
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
/// [`HelloWait::Quick`]'s shortest wait for the server's first word after our hello: a
/// server that takes our hello answers or acknowledges it within a millisecond on a LAN.
pub const QUICK_HELLO: Duration = Duration::from_millis(500);
/// The first `PUSH_REQUEST` leaves right after the acknowledgement of the server's
/// key-method 2, in a packet of its own: a 2.4 server never pushes unprompted, and it takes
/// a request only once that acknowledgement has made the client's connection established
/// (a request in the same packet is deferred and forgotten). 2.5+ servers push by
/// themselves once the authentication ends, but they learn that a deferred authentication
/// ended only while they process the client (a packet of ours, or their own wake-up), and
/// then at most once a second for the first five looks, less often after. So until an
/// answer comes, ask again every [`PUSH_REQUEST_INTERVAL`]: a deferred decision is seen
/// within about a second, and a 2.4 server, which answers only a request, hears one soon
/// after. A request while the authentication is deferred is dropped without an answer; one
/// after the push is ignored for 30 s.
const FIRST_PUSH_REQUEST: Duration = Duration::from_millis(10);
const PUSH_REQUEST_INTERVAL: Duration = Duration::from_millis(250);
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
    /// How long the server may stay silent after our hello before the session ends with
    /// [`Why::HelloUnanswered`].
    pub hello_wait: HelloWait,
    /// The login stage: what to tell the server, with the credentials.
    pub login: Option<login::ClientHello>,
    /// The client certificate and key offered in the handshake.
    pub client_auth: Option<Arc<CertifiedKey>>,
    /// Judge the server's chain with this policy (at this Unix time) once it arrives, the
    /// one judgement of the check ([`Event::ChainSeen`] carries it). The login stage sends
    /// credentials only for a chain it judged without a problem.
    pub judge: Option<(Policy, i64)>,
    /// Over TCP, after `EXIT` is acknowledged, stay until the server closes the connection
    /// (its delayed exit, 5 s on a 2.6 server), so that it logs a clean exit instead of a
    /// connection reset.
    pub wait_for_close: bool,
    /// Login stage: after the push, ICMP echoes through the tunnel.
    pub ping: Option<PingConfig>,
    /// A DNS question through the tunnel (the data stage).
    pub dns: Option<DnsConfig>,
    /// A TCP connection through the tunnel (the data stage).
    pub tcp: Option<TcpConfig>,
    /// An HTTP request through the tunnel (the data stage).
    pub http: Option<HttpConfig>,
}

/// How long a session waits for the server's first word (an ack or a record) after its
/// hello. OpenVPN sends nothing when OpenSSL finds nothing in common with a hello (no
/// alert, no ack): silence is the only refusal it gives, and waiting out the whole
/// attempt for it only delays the probing hello that tells what the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloWait {
    /// The attempt timeout: nothing follows this session (the probing hello).
    Attempt,
    /// The longest of [`QUICK_HELLO`], the hello's first retransmission and four round
    /// trips of the reset after it (so that a lost hello is sent again and answered in
    /// time), and `at_least`; never more than the attempt timeout.
    Quick { at_least: Duration },
}

/// The echoes of the data stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingConfig {
    /// Where to; `None`: the server's own tunnel address, from the push.
    pub target: Option<std::net::IpAddr>,
    /// Echo requests, 1 to [`MAX_ECHOES`].
    pub count: u16,
    /// Time between two echo requests.
    pub interval: std::time::Duration,
    /// Since the session's start: echoes unanswered by then count as lost, and the
    /// session leaves (leave the driver's deadline room for the goodbye).
    pub until: std::time::Duration,
}

/// A DNS question through the tunnel, after the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// The whole query message; the session writes its own random id into the first two
    /// bytes, which a reply must carry.
    pub query: Vec<u8>,
    /// Where to; `None`: the first DNS server the push names.
    pub server: Option<std::net::IpAddr>,
    /// The query goes again after this long without a reply.
    pub resend: std::time::Duration,
    /// Since the session's start: no reply by then is no answer (shared with the echoes'
    /// deadline when both run).
    pub until: std::time::Duration,
}

/// A TCP connection through the tunnel, after the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    pub target: std::net::SocketAddr,
    /// Since the session's start: not connected by then is no answer (shared with the
    /// echoes' deadline when both run).
    pub until: std::time::Duration,
}

/// An HTTP request through the tunnel, after the login.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub target: HttpTarget,
    /// The whole request, as sent.
    pub request: Vec<u8>,
    /// The most bytes of the response read.
    pub limit: usize,
    /// https: the TLS client, and the name (or address) the certificate must carry.
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    /// Since the session's start: no whole response by then is no answer.
    pub until: std::time::Duration,
}

/// Where the HTTP request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpTarget {
    Address(std::net::SocketAddr),
    /// A name, looked up first (A, then AAAA) through the tunnel's DNS server: `server`,
    /// or the first the push names.
    Name {
        name: String,
        port: u16,
        server: Option<std::net::IpAddr>,
        /// The lookup's query goes again after this long without a reply.
        resend: std::time::Duration,
    },
}

/// The most echoes one session sends.
pub const MAX_ECHOES: u16 = 20;

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

    /// The reliable layer's next packet, wrapped; with `ack_reset` (the server not heard
    /// yet, [`State::acks_reset`]) a control packet acks the server's reset again.
    fn next(
        &mut self,
        wrap: &Wrap,
        c: &mut Control,
        ack_reset: bool,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let mut tx = c.reliable.poll_transmit(now)?;
        if tx.acks.is_empty() && ack_reset && tx.opcode != wire::P_ACK_V1 {
            tx.acks.push(0);
        }
        let body = packet::encode_body(&tx.acks, &c.server_session, tx.message_id, &tx.payload);
        let replay = self.replay();
        let with_wkc = tx.opcode == P_CONTROL_WKC_V1;
        Some(packet::seal(
            wrap,
            wire::byte0(tx.opcode, 0),
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
    /// Every deadline of the session's own.
    timers: TimerTable,
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
            state: State::AwaitReset { sent: 0 },
            timers: {
                let mut timers = TimerTable::default();
                timers.set(Timer::Attempt, now);
                timers
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
        match (&self.state, self.state.control()) {
            (State::Done, _) => None,
            (_, None) => self.timers.next(),
            (_, Some(c)) => [c.reliable.poll_timeout(), self.timers.next()]
                .into_iter()
                .flatten()
                .min(),
        }
    }

    /// When attempt `n` (0-based) of the hard reset starts.
    fn attempt_start(&self, n: u32) -> Instant {
        self.origin + self.cfg.attempt_timeout * n
    }

    /// The timer from [`Session::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            if matches!(self.state, State::Done) {
                break;
            }
            if self.timers.is_expired(timer, now) {
                self.fire(timer, now);
            }
        }
        // Retransmissions are handed out by poll_transmit when they are due.
    }

    /// What an expired timer does: the one place. A stage stops its timers when it ends;
    /// one that still fires in another stage is stopped, and changes nothing.
    fn fire(&mut self, timer: Timer, now: Instant) {
        self.state = match (timer, std::mem::take(&mut self.state)) {
            (Timer::BadAuthStop, _) => self.end_now(Why::BadAuth),
            (Timer::Attempt, State::AwaitReset { sent }) => self.on_attempt_timer(sent, now),
            (Timer::Hello, _) => self.end_now(Why::HelloUnanswered),
            (Timer::PushRequest, State::AwaitPush(p)) => self.request_push(p, now),
            (Timer::Echo, State::Data { control, mut data }) => {
                self.send_echo(&mut data, now);
                State::Data { control, data }
            }
            (Timer::EchoDeadline, State::Data { control, data }) => {
                let why = Self::echo_verdict(&data);
                self.leave(control, data, now, why)
            }
            (Timer::Dns, State::Data { control, mut data }) => {
                self.send_dns(&mut data, now);
                State::Data { control, data }
            }
            (Timer::Stack, State::Data { control, data }) => {
                self.on_stack_timer(control, data, now)
            }
            (Timer::Lookup, State::Data { control, mut data }) => {
                self.send_lookup(&mut data, now);
                State::Data { control, data }
            }
            (Timer::Neighbour, State::Data { control, mut data }) => {
                self.ask_neighbours(&mut data, now);
                State::Data { control, data }
            }
            (timer, state) => {
                self.timers.stop(timer);
                state
            }
        };
    }

    /// An attempt that is due leaves through poll_transmit; after the last one, the session
    /// gives up.
    fn on_attempt_timer(&mut self, sent: u32, now: Instant) -> State {
        if sent == 0 && self.cfg.stream {
            // Still connecting: the connect and the reset share the first attempt's time,
            // whatever the whole budget of a deeper stage.
            let until = self.origin + self.cfg.attempt_timeout;
            if now >= until {
                return self.end_now(Why::Silence { attempts: 0 });
            }
            self.timers.set(Timer::Attempt, until);
        } else if sent >= self.cfg.attempts {
            self.attempts_done = sent;
            return self.end_now(Why::Silence { attempts: sent });
        }
        State::AwaitReset { sent }
    }

    /// `PUSH_REQUEST`, now and again every [`PUSH_REQUEST_INTERVAL`] until an answer.
    fn request_push(&mut self, mut p: Box<AwaitPush>, now: Instant) -> State {
        // Until the push, a refusal or the end: the server answers one request per 30 s.
        self.timers
            .set(Timer::PushRequest, now + PUSH_REQUEST_INTERVAL);
        if p.control.conn.writer().write_all(b"PUSH_REQUEST\0").is_ok() {
            self.emit(Event::PushRequested { at: now });
        }
        self.queue_tls_output(&mut p.control);
        State::AwaitPush(p)
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
                // The next attempt, or the end of the last one's wait.
                self.timers.set(
                    Timer::Attempt,
                    self.origin + self.cfg.attempt_timeout * attempt,
                );
                let replay = Replay {
                    packet_id: self.cfg.wrap.packet_id(attempt),
                    net_time: self.sealer.net_time,
                };
                self.sealer.next_replay = replay.packet_id.wrapping_add(1);
                let packet = packet::client_reset(&self.cfg.wrap, self.sealer.session_id, replay);
                self.progress = self.progress.max(Progress::ResetSent);
                self.emit(Event::ResetSent {
                    attempt,
                    len: packet.len(),
                });
                packet
            }
            State::Done => self.outbox.pop_front()?,
            state => {
                let ack_reset = state.acks_reset();
                let from_control = state
                    .control_mut()
                    .and_then(|c| self.sealer.next(&self.cfg.wrap, c, ack_reset, now));
                match (from_control, state) {
                    (Some(p), _) => p,
                    (
                        None,
                        State::Data { data, .. }
                        | State::Leaving {
                            data: Some(data), ..
                        }
                        | State::Lingering {
                            data: Some(data), ..
                        },
                    ) => data.outbox.pop_front()?,
                    (None, _) => return None,
                }
            }
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
        self.timers.stop_all();
        if !self.finished {
            self.emit(Event::Finished {
                reached: self.progress,
                why,
            });
            self.finished = true;
        }
    }

    /// Ends the session now: the state that follows.
    fn end_now(&mut self, why: Why) -> State {
        self.end(why);
        State::Done
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
        // Each stage's handler takes its state and returns the next.
        self.state = match std::mem::take(&mut self.state) {
            State::AwaitReset { sent } => self.on_reset_packet(sent, now, packet),
            State::Handshake(h) => self.on_handshake_packet(h, now, packet),
            State::Probe(p) => self.on_probe_packet(p, now, packet),
            State::AwaitKeyMethod2(c) => self.on_key_method_2_packet(c, now, packet),
            State::AwaitPush(p) => self.on_push_packet(p, now, packet),
            State::Data { control, data } => self.on_data_stage_packet(control, data, now, packet),
            State::Leaving { control, data, why } => {
                self.on_leaving_packet(control, data, Some(why), now, packet)
            }
            State::Lingering { control, data } => {
                self.on_leaving_packet(control, data, None, now, packet)
            }
            State::Done => State::Done,
        };
    }
}
