//! Folds a flow's events, as the driver drained them, into the pieces of an outcome: the
//! long output's lines, the TLS and login stages' facts, the times the report measures.

use crate::proto::login::ControlMessage;
use crate::proto::session::MAX_TRACED_PACKETS;
use crate::proto::{Event, Progress, Why};
use crate::wire::{Auth, Rejection};
use std::time::{Duration, Instant};

use super::outcome::{Detail, Exit, LoginEnd, LoginOutcome, TlsOutcome};
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
        // The trace keeps the session's own events; `report` words them.
        if let Some((level, packet)) = shown(&event, self.reset_at.is_some()) {
            let at = event_at(&event).map_or(Duration::ZERO, |at| self.trace.since(at));
            let traced = || Detail::Event {
                at,
                event: event.clone(),
            };
            if packet {
                self.trace.packet(level, traced);
            } else {
                self.trace.line(level, traced);
            }
        }
        match event {
            // `-vvv`: its bytes, after its own line (an outgoing one's, after the reset).
            Event::Packet {
                outgoing, bytes, ..
            } => self.trace.packet(3, || Detail::Hex { outgoing, bytes }),
            Event::ResetSent { attempt, len } => {
                let opcode = self.trace.reset_opcode;
                self.trace.line(2, || Detail::ResetSent {
                    attempt,
                    opcode,
                    len,
                });
            }
            Event::Ignored {
                reason, len, at, ..
            } => {
                if reason == Rejection::BadAuth && self.reset_at.is_none() {
                    let t = self.trace.since(at);
                    self.trace.packet(2, || Detail::BadHmacReset { at: t, len });
                }
            }
            Event::Responded { at, .. } => self.reset_at = Some(at),
            Event::ResetAnswered {
                server_session,
                auth,
                at,
                resend_wkc,
                ..
            } => {
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
            Event::LoginWithheld => self.login.end.settle(LoginEnd::Withheld),
            Event::KeySent { .. } => self.login.end.settle(LoginEnd::KeySent),
            Event::ServerKeyMethod2 { message, .. } => {
                self.login.server_key = Some(message);
                self.login.end.settle(LoginEnd::KeyExchanged);
            }
            Event::PointToPoint { at } => {
                self.answered_at.get_or_insert(at);
                self.login.end.settle(LoginEnd::PointToPoint);
            }
            Event::PushRequested { .. } => self.login.push_requested = true,
            Event::Pushed { reply, at } => {
                self.answered_at.get_or_insert(at);
                self.login.end.settle(LoginEnd::Pushed(reply));
            }
            Event::Control { message, at } => match message {
                ControlMessage::AuthFailed { reason } => {
                    self.answered_at.get_or_insert(at);
                    self.login.end.settle(LoginEnd::AuthFailed { reason });
                }
                ControlMessage::AuthPending { timeout } => {
                    let method = match &self.login.end {
                        LoginEnd::Pending { method, .. } => method.clone(),
                        _ => None,
                    };
                    self.login.end.settle(LoginEnd::Pending { timeout, method });
                }
                ControlMessage::InfoPre(info) => {
                    let method = info.split(':').next().unwrap_or("").to_string();
                    let timeout = match self.login.end {
                        LoginEnd::Pending { timeout, .. } => timeout,
                        _ => None,
                    };
                    self.login.end.settle(LoginEnd::Pending {
                        timeout,
                        method: Some(method),
                    });
                }
                ControlMessage::Restart(m) => {
                    self.answered_at.get_or_insert(at);
                    self.login.end.settle(LoginEnd::Restart {
                        halt: false,
                        message: m,
                    });
                }
                ControlMessage::Halt(m) => {
                    self.answered_at.get_or_insert(at);
                    self.login.end.settle(LoginEnd::Restart {
                        halt: true,
                        message: m,
                    });
                }
                _ => {}
            },
            Event::ExitSent { .. } => self.login.exit = Exit::Sent,
            Event::ExitAcked { .. } => self.login.exit = Exit::Acked,
            Event::TlsFailed { failure, .. } => self.tls.failure = Some(failure),
            Event::DataReady {
                cipher,
                peer_id,
                keys,
                compression,
                ..
            } => {
                self.login.data.ready = Some(super::outcome::DataReady {
                    cipher,
                    peer_id,
                    keys,
                    compression,
                });
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
                self.login.data.path = Some(path);
                self.login.data.count = count;
            }
            Event::EchoSent { seq, .. } => {
                self.login.data.sent = self.login.data.sent.max(seq);
            }
            Event::EchoReply { seq, rtt, .. } => {
                self.login.data.replies.push((seq, rtt));
            }
            Event::DataReceived { kind, .. } => {
                self.login.data.decrypted += 1;
                match kind {
                    crate::proto::DataKind::Keepalive => self.login.data.keepalives += 1,
                    crate::proto::DataKind::NotIp { first } => {
                        self.login.data.not_ip.get_or_insert(first);
                    }
                    _ => {}
                }
            }
            Event::DataIgnored { .. } => self.login.data.ignored += 1,
            Event::LinkLayer {
                tap, server_tap, ..
            } => {
                self.login.data.link = Some((tap, server_tap));
            }
            Event::NeighbourAsked { target, .. } => {
                let n = self.login.data.neighbour_mut(target);
                n.asked = n.asked.saturating_add(1);
            }
            Event::NeighbourLearned { target, mac, .. } => {
                self.login.data.neighbour_mut(target).mac = Some(mac);
                self.login.data.decrypted += 1;
            }
            Event::NeighbourAnswered { .. } => self.login.data.decrypted += 1,
            Event::OccExitSent { .. } => self.login.data.occ_exit = true,
            Event::Finished { reached, why } => {
                self.finished = Some((reached, why));
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

/// The verbosity whose long output shows `event` as a line of its own, and whether it
/// counts against the packet cap; `None` for events shown otherwise or not at all.
/// `reset_seen`: the server's valid reset came (before it, a reset whose HMAC does not
/// verify is a line of its own, [`Detail::BadHmacReset`], and our packets are our hard
/// resets, each a [`Detail::ResetSent`] line).
fn shown(event: &Event, reset_seen: bool) -> Option<(u8, bool)> {
    Some(match event {
        Event::Ignored {
            reason: Rejection::BadAuth,
            ..
        } if !reset_seen => return None,
        Event::Packet {
            outgoing: false, ..
        } => return None,
        Event::Packet { .. } if !reset_seen => return None,
        Event::Packet { .. }
        | Event::Ignored { .. }
        | Event::Responded { .. }
        | Event::ResetAnswered { .. }
        | Event::DataReceived { .. }
        | Event::DataIgnored { .. }
        | Event::NeighbourAnswered { .. } => (2, true),
        Event::TlsFailed { .. }
        | Event::KeySent { .. }
        | Event::ServerKeyMethod2 { .. }
        | Event::PushRequested { .. }
        | Event::Control { .. }
        | Event::ExitSent { .. }
        | Event::ExitAcked { .. }
        | Event::EchoSent { .. }
        | Event::EchoReply { .. }
        | Event::NeighbourAsked { .. }
        | Event::OccExitSent { .. } => (2, false),
        Event::DataReady { .. }
        | Event::EchoPlanned { .. }
        | Event::LinkLayer { .. }
        | Event::NeighbourLearned { .. } => (1, false),
        _ => return None,
    })
}

/// When a shown event happened, for those that say.
fn event_at(event: &Event) -> Option<Instant> {
    match event {
        Event::Packet { at, .. }
        | Event::Ignored { at, .. }
        | Event::Responded { at, .. }
        | Event::ResetAnswered { at, .. }
        | Event::DataReceived { at, .. }
        | Event::DataIgnored { at, .. }
        | Event::NeighbourAnswered { at }
        | Event::TlsFailed { at, .. }
        | Event::KeySent { at }
        | Event::ServerKeyMethod2 { at, .. }
        | Event::PushRequested { at }
        | Event::Control { at, .. }
        | Event::ExitSent { at }
        | Event::ExitAcked { at }
        | Event::EchoSent { at, .. }
        | Event::EchoReply { at, .. }
        | Event::NeighbourAsked { at, .. }
        | Event::NeighbourLearned { at, .. }
        | Event::OccExitSent { at } => Some(*at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_keeps_the_sessions_events() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let events = [
            Event::KeySent { at: at(5) },
            Event::Control {
                message: ControlMessage::AuthPending { timeout: Some(30) },
                at: at(7),
            },
            Event::Control {
                message: ControlMessage::AuthFailed {
                    reason: Some("expired".into()),
                },
                at: at(9),
            },
        ];
        let mut rec = Recorder::new(start, 2, 7, vec![]);
        for e in events.clone() {
            rec.take(e);
        }
        let expected: Vec<Detail> = events
            .iter()
            .zip([5, 7, 9])
            .map(|(event, ms)| Detail::Event {
                at: Duration::from_millis(ms),
                event: event.clone(),
            })
            .collect();
        assert_eq!(rec.trace.details, expected);
        assert_eq!(
            rec.login.end,
            LoginEnd::AuthFailed {
                reason: Some("expired".into())
            }
        );
        assert_eq!(rec.answered_at, Some(at(9)));
        let lines: Vec<String> = rec
            .trace
            .details
            .iter()
            .map(crate::report::detail_line)
            .collect();
        assert_eq!(
            lines,
            [
                "5.0 ms: sent our key-method 2 message",
                "7.0 ms: received AUTH_PENDING, timeout 30 s",
                "9.0 ms: received AUTH_FAILED: expired",
            ]
        );
        // Below -vv none of them is a line; the facts are folded all the same.
        let mut quiet = Recorder::new(start, 1, 7, vec![]);
        for e in events {
            quiet.take(e);
        }
        assert!(quiet.trace.details.is_empty());
        assert_eq!(quiet.login.end, rec.login.end);
    }

    #[test]
    fn our_packets_after_the_reset_are_their_events() {
        let start = Instant::now();
        let sent = |ms| Event::Packet {
            outgoing: true,
            at: start + Duration::from_millis(ms),
            bytes: vec![4 << 3, 0, 0],
        };
        let mut rec = Recorder::new(start, 3, 7, vec![]);
        rec.take(sent(1));
        rec.take(Event::Responded {
            at: start + Duration::from_millis(2),
            len: 40,
        });
        rec.take(sent(3));
        let hex = Detail::Hex {
            outgoing: true,
            bytes: vec![4 << 3, 0, 0],
        };
        assert_eq!(rec.trace.details[0], hex);
        assert_eq!(
            rec.trace.details[2],
            Detail::Event {
                at: Duration::from_millis(3),
                event: sent(3)
            }
        );
        assert_eq!(rec.trace.details[3], hex);
        assert_eq!(rec.trace.details.len(), 4);
        assert_eq!(
            crate::report::detail_line(&rec.trace.details[2]),
            "3.0 ms: sent P_CONTROL_V1, 3 bytes"
        );
    }

    #[test]
    fn a_bad_hmac_before_the_reset_is_its_own_line() {
        let start = Instant::now();
        let ignored = |ms| Event::Ignored {
            reason: Rejection::BadAuth,
            opcode: 8,
            len: 40,
            at: start + Duration::from_millis(ms),
        };
        let mut rec = Recorder::new(start, 2, 7, vec![]);
        rec.take(ignored(1));
        rec.take(Event::Responded {
            at: start + Duration::from_millis(2),
            len: 40,
        });
        rec.take(ignored(3));
        assert_eq!(
            rec.trace.details,
            vec![
                Detail::BadHmacReset {
                    at: Duration::from_millis(1),
                    len: 40
                },
                Detail::Event {
                    at: Duration::from_millis(2),
                    event: Event::Responded {
                        at: start + Duration::from_millis(2),
                        len: 40
                    }
                },
                Detail::Event {
                    at: Duration::from_millis(3),
                    event: ignored(3)
                },
            ]
        );
    }
}
