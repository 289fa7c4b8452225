//! Folds a flow's events, as the driver drained them, into the pieces of an outcome: the
//! long output's lines, the TLS and login stages' facts, the times the report measures.

use crate::proto::login::ControlMessage;
use crate::proto::session::MAX_TRACED_PACKETS;
use crate::proto::{Event, Progress, Why};
use crate::wire::{Auth, Rejection};
use std::time::{Duration, Instant};

use super::outcome::{Detail, LoginOutcome, TlsOutcome};
use super::spec::Note;

/// What a flow's events said, as the outcome needs it.
pub(super) struct Recorder {
    /// The long output, by verbosity.
    pub(super) trace: Trace,
    /// The server's hard reset for our session, and how it was authenticated.
    pub(super) answered: Option<Auth>,
    /// The TLS stage's facts; `reached`, `tls_time`, `ending` and `login` are the
    /// outcome's to fill.
    pub(super) tls: TlsOutcome,
    pub(super) login: LoginOutcome,
    /// When the server's reset came, when it proved its certificate, when it gave its
    /// verdict on the login: what `elapsed`, `tls_time` and `login_time` measure.
    pub(super) reset_at: Option<Instant>,
    pub(super) established_at: Option<Instant>,
    pub(super) answered_at: Option<Instant>,
    /// The session's last event: how far it got and why it stopped. `None` when the link
    /// failed or the deadline passed first.
    pub(super) finished: Option<(Progress, Why)>,
}

/// The long output's lines, each at the verbosity that shows it.
pub(super) struct Trace {
    start: Instant,
    verbosity: u8,
    packet_traces: usize,
    /// The opcode of our hard reset (the wrap's), for its trace line.
    reset_opcode: u8,
    pub(super) details: Vec<Detail>,
}

impl Trace {
    fn since(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    pub(super) fn line(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
        if self.verbosity >= level {
            self.details.push(detail());
        }
    }

    /// A trace line about a packet at `-vv`/`-vvv`. A flooding peer must not grow the long
    /// output (and memory) without bound: the same cap as the session's on its packet
    /// events ([`MAX_TRACED_PACKETS`]), then a line that says the trace stopped.
    fn packet(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
        if self.verbosity < level {
            return;
        }
        self.packet_traces += 1;
        match self.packet_traces.cmp(&MAX_TRACED_PACKETS) {
            std::cmp::Ordering::Less => self.details.push(detail()),
            std::cmp::Ordering::Equal => self.details.push(Detail::TraceStopped {
                after: MAX_TRACED_PACKETS,
            }),
            std::cmp::Ordering::Greater => {}
        }
    }
}

impl Recorder {
    /// The lookup of `--http`'s name, once it started.
    fn http_lookup(&mut self) -> Option<&mut super::outcome::LookupOutcome> {
        self.login
            .data
            .http
            .as_mut()
            .and_then(|h| h.lookup.as_mut())
    }

    /// Times in the long output count from `start`; `notes` lead it at `-v`.
    pub(super) fn new(start: Instant, verbosity: u8, reset_opcode: u8, notes: Vec<Note>) -> Self {
        Recorder {
            trace: Trace {
                start,
                verbosity,
                packet_traces: 0,
                reset_opcode,
                details: if verbosity >= 1 {
                    notes.into_iter().map(Detail::Note).collect()
                } else {
                    Vec::new()
                },
            },
            answered: None,
            tls: TlsOutcome::default(),
            login: LoginOutcome::default(),
            reset_at: None,
            established_at: None,
            answered_at: None,
            finished: None,
        }
    }

    pub(super) fn take(&mut self, event: Event) {
        match event {
            Event::Packet {
                outgoing: true,
                at,
                bytes,
            } => {
                if self.reset_at.is_some() {
                    let t = self.trace.since(at);
                    let (opcode, len) = (bytes[0] >> 3, bytes.len());
                    self.trace
                        .packet(2, || Detail::PacketSent { at: t, opcode, len });
                }
                self.trace.packet(3, || Detail::Hex {
                    outgoing: true,
                    bytes,
                });
            }
            Event::Packet {
                outgoing: false,
                bytes,
                ..
            } => self.trace.packet(3, || Detail::Hex {
                outgoing: false,
                bytes,
            }),
            Event::ResetSent { attempt, len } => {
                let opcode = self.trace.reset_opcode;
                self.trace.line(2, || Detail::ResetSent {
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
                let t = self.trace.since(at);
                if reason == Rejection::BadAuth && self.reset_at.is_none() {
                    self.trace.packet(2, || Detail::BadHmacReset { at: t, len });
                } else {
                    self.trace.packet(2, || Detail::Ignored {
                        at: t,
                        len,
                        reason,
                        opcode,
                    });
                }
            }
            Event::Responded { at, len } => {
                let t = self.trace.since(at);
                self.trace.packet(2, || Detail::Responded { at: t, len });
                self.reset_at = Some(at);
            }
            Event::ResetAnswered {
                server_session,
                auth,
                at,
                resend_wkc,
                ..
            } => {
                let t = self.trace.since(at);
                self.trace.packet(2, || Detail::ResetAnswered { at: t });
                self.trace
                    .line(1, || Detail::ServerSession { id: server_session });
                if resend_wkc {
                    self.trace.line(1, || Detail::ResendWkc);
                }
                self.reset_at = Some(at);
                self.tls.resend_wkc = resend_wkc;
                self.answered = Some(auth);
            }
            Event::ChainSeen { judgement, .. } => self.tls.judgement = judgement,
            Event::TlsEstablished { version, suite, at } => {
                self.tls.version = version;
                self.tls.suite = suite;
                self.established_at = Some(at);
            }
            Event::ProbeAnswer { .. } => {}
            Event::LoginWithheld => self.login.withheld = true,
            Event::KeySent { at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::KeySent { at: t });
                self.login.key_sent = true;
            }
            Event::ServerKeyMethod2 { message, at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::ServerKeyMethod2 { at: t });
                self.login.server_key = Some(message);
            }
            Event::PointToPoint { at } => {
                self.answered_at.get_or_insert(at);
                self.login.point_to_point = true;
            }
            Event::PushRequested { at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::PushRequested { at: t });
                self.login.push_requested = true;
            }
            Event::Pushed { reply, at } => {
                self.answered_at.get_or_insert(at);
                self.login.pushed = Some(reply);
            }
            Event::Control { message, at } => {
                let t = self.trace.since(at);
                let shown = message.clone();
                self.trace.line(2, || Detail::Control {
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
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::ExitSent { at: t });
                self.login.exit_sent = true;
            }
            Event::ExitAcked { at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::ExitAcked { at: t });
                self.login.exit_acked = true;
            }
            Event::TlsFailed { failure, at } => {
                let t = self.trace.since(at);
                let shown = failure.clone();
                self.trace.line(2, || Detail::TlsFailed {
                    at: t,
                    failure: shown,
                });
                self.tls.failure = Some(failure);
            }
            Event::DataReady {
                cipher,
                peer_id,
                keys,
                compression,
                ..
            } => {
                let ready = super::outcome::DataReady {
                    cipher,
                    peer_id,
                    keys,
                    compression,
                };
                self.trace.line(1, || Detail::DataReady(ready));
                self.login.data.ready = Some(ready);
            }
            Event::CompressionRefused { pushed, allow } => {
                self.login.compression_refused = Some((pushed, allow));
            }
            Event::DataUnsupported { what, .. } => self.login.data.unsupported = Some(what),
            Event::NoEchoPath { path, .. } => self.login.data.no_path = Some(path),
            Event::NoHttpPath { path } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.no_path = Some(path);
                }
            }
            Event::HttpPlanned { path, target } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.path = Some(path);
                    h.target = Some(target);
                }
            }
            Event::HttpNoDnsServer => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.lookup.get_or_insert_with(Default::default).no_server = true;
                }
            }
            Event::HttpLookupPlanned { path, pushed } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    let l = h.lookup.get_or_insert_with(Default::default);
                    l.path = Some(path);
                    l.pushed = pushed;
                }
            }
            Event::HttpLookupSent { v6, .. } => {
                if let Some(l) = self.http_lookup() {
                    l.sent += 1;
                    l.asked_v6 |= v6;
                }
            }
            Event::HttpResolved { address, rtt } => {
                if let Some(l) = self.http_lookup() {
                    l.resolved = Some((address, rtt));
                }
            }
            Event::HttpLookupFailed { why, rtt } => {
                if let Some(l) = self.http_lookup() {
                    l.failed = Some((why, rtt));
                }
            }
            Event::HttpTls { version, chain, .. } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.tls = Some((version, chain));
                }
            }
            Event::HttpTlsFailed { why, .. } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.tls_failed = Some(why);
                }
            }
            Event::HttpConnect { refused, rtt } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.connect = Some((refused, rtt));
                }
            }
            Event::HttpResponse {
                status,
                reason,
                size,
                cut,
                rtt,
            } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.response = Some((status, reason, size, cut, rtt));
                }
            }
            Event::HttpBroken { why, .. } => {
                if let Some(h) = self.login.data.http.as_mut() {
                    h.broken = Some(why);
                }
            }
            Event::NoTcpPath { path } => {
                if let Some(t) = self.login.data.tcp.as_mut() {
                    t.no_path = Some(path);
                }
            }
            Event::TcpPlanned { path, .. } => {
                if let Some(t) = self.login.data.tcp.as_mut() {
                    t.path = Some(path);
                }
            }
            Event::TcpAnswered { refused, rtt, .. } => {
                if let Some(t) = self.login.data.tcp.as_mut() {
                    t.answer = Some((refused, rtt));
                }
            }
            Event::NoDnsServer => {
                if let Some(d) = self.login.data.dns.as_mut() {
                    d.no_server = true;
                }
            }
            Event::NoDnsPath { path } => {
                if let Some(d) = self.login.data.dns.as_mut() {
                    d.no_path = Some(path);
                }
            }
            Event::DnsPlanned { path, pushed } => {
                if let Some(d) = self.login.data.dns.as_mut() {
                    d.path = Some(path);
                    d.pushed = pushed;
                }
            }
            Event::DnsSent { .. } => {
                if let Some(d) = self.login.data.dns.as_mut() {
                    d.sent += 1;
                }
            }
            Event::DnsReply { message, rtt, .. } => {
                if let Some(d) = self.login.data.dns.as_mut() {
                    let reply = super::dns::read_reply(&message, &d.question.record_type);
                    d.reply = Some((reply, rtt));
                }
            }
            Event::EchoPlanned { path, count, .. } => {
                self.trace.line(1, || Detail::EchoPlanned { path, count });
                self.login.data.path = Some(path);
                self.login.data.count = count;
            }
            Event::EchoSent { seq, at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::EchoSent { at: t, seq });
                self.login.data.sent = self.login.data.sent.max(seq);
            }
            Event::EchoReply { seq, rtt, at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::EchoReply { at: t, seq, rtt });
                self.login.data.replies.push((seq, rtt));
            }
            Event::DataReceived { kind, len, at } => {
                let t = self.trace.since(at);
                self.trace
                    .packet(2, || Detail::DataReceived { at: t, kind, len });
                self.login.data.decrypted += 1;
                match kind {
                    crate::proto::DataKind::Keepalive => self.login.data.keepalives += 1,
                    crate::proto::DataKind::NotIp { first } => {
                        self.login.data.not_ip.get_or_insert(first);
                    }
                    _ => {}
                }
            }
            Event::DataIgnored { error, len, at } => {
                let t = self.trace.since(at);
                self.trace
                    .packet(2, || Detail::DataIgnored { at: t, error, len });
                self.login.data.ignored += 1;
            }
            Event::LinkLayer {
                tap,
                server_tap,
                mac,
            } => {
                self.trace.line(1, || Detail::LinkLayer {
                    tap,
                    server_tap,
                    mac,
                });
                self.login.data.link = Some((tap, server_tap));
            }
            Event::NeighbourAsked { target, at } => {
                let t = self.trace.since(at);
                self.trace
                    .line(2, || Detail::NeighbourAsked { at: t, target });
                let n = self.login.data.neighbour_mut(target);
                n.asked = n.asked.saturating_add(1);
            }
            Event::NeighbourLearned { target, mac, at } => {
                let t = self.trace.since(at);
                self.trace
                    .line(1, || Detail::NeighbourLearned { at: t, target, mac });
                self.login.data.neighbour_mut(target).mac = Some(mac);
                self.login.data.decrypted += 1;
            }
            Event::NeighbourAnswered { at } => {
                let t = self.trace.since(at);
                self.trace.packet(2, || Detail::NeighbourAnswered { at: t });
                self.login.data.decrypted += 1;
            }
            Event::OccExitSent { at } => {
                let t = self.trace.since(at);
                self.trace.line(2, || Detail::OccExitSent { at: t });
                self.login.data.occ_exit = true;
            }
            Event::Finished { reached, why } => {
                self.finished = Some((reached, why));
                self.login.data.why = Some(why);
                if let Why::EchoesMissing { decrypted, .. }
                | Why::DnsUnanswered { decrypted, .. }
                | Why::TcpUnanswered { decrypted }
                | Why::HttpUnanswered { decrypted } = why
                {
                    // The session counted them all; its events only the first ones.
                    self.login.data.decrypted = self.login.data.decrypted.max(decrypted);
                }
            }
        }
    }
}
