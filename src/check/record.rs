//! Folds a finished flow's events into the facts of an outcome.

use crate::chain::Judgement;
use crate::proto::login::ControlMessage;
use crate::proto::session::MAX_TRACED_PACKETS;
use crate::proto::{Event, Progress, TlsFailure, Why};
use crate::wire::Rejection;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::outcome::{Answer, Detail, LoginOutcome};
use super::spec::{CheckSpec, Note};

/// The version and suite the handshake settled on, and when the server proved itself.
pub(super) type Established = (
    Option<rustls::ProtocolVersion>,
    Option<rustls::CipherSuite>,
    Instant,
);

/// Folds a finished flow's events into an outcome.
pub(super) struct Recorder<'a> {
    pub(super) spec: &'a CheckSpec,
    pub(super) start: Instant,
    pub(super) verbosity: u8,
    pub(super) packet_traces: usize,
    pub(super) details: Vec<Detail>,
    pub(super) ignored: BTreeMap<Rejection, u32>,
    pub(super) result: Option<Answer>,
    pub(super) reset_at: Option<Instant>,
    pub(super) resend_wkc: bool,
    pub(super) judgement: Option<Judgement>,
    pub(super) established: Option<Established>,
    pub(super) failure: Option<TlsFailure>,
    pub(super) login: LoginOutcome,
    pub(super) answered_at: Option<Instant>,
    /// The session's own ending, when it ended by itself.
    pub(super) finished: Option<(Progress, Why)>,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(
        spec: &'a CheckSpec,
        start: Instant,
        verbosity: u8,
        notes: Vec<Note>,
    ) -> Self {
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
            judgement: None,
            established: None,
            failure: None,
            login: LoginOutcome::default(),
            answered_at: None,
            finished: None,
        }
    }

    pub(super) fn since(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    pub(super) fn trace(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
        if self.verbosity >= level {
            self.details.push(detail());
        }
    }

    /// A trace line about a packet at `-vv`/`-vvv`. A flooding peer must not grow the long
    /// output (and memory) without bound: the same cap as the session's on its packet
    /// events ([`MAX_TRACED_PACKETS`]), then a line that says the trace stopped.
    pub(super) fn trace_packet(&mut self, level: u8, detail: impl FnOnce() -> Detail) {
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

    pub(super) fn take(&mut self, event: Event) {
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
            Event::ChainSeen { judgement, .. } => self.judgement = judgement,
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
                self.trace(1, || Detail::DataReady(ready));
                self.login.data.ready = Some(ready);
            }
            Event::DataUnsupported { what, .. } => self.login.data.unsupported = Some(what),
            Event::NoEchoPath { path, .. } => self.login.data.no_path = Some(path),
            Event::EchoPlanned { path, count, .. } => {
                self.trace(1, || Detail::EchoPlanned { path, count });
                self.login.data.path = Some(path);
                self.login.data.count = count;
            }
            Event::EchoSent { seq, at } => {
                let t = self.since(at);
                self.trace(2, || Detail::EchoSent { at: t, seq });
                self.login.data.sent = self.login.data.sent.max(seq);
            }
            Event::EchoReply { seq, rtt, at } => {
                let t = self.since(at);
                self.trace(2, || Detail::EchoReply { at: t, seq, rtt });
                self.login.data.replies.push((seq, rtt));
            }
            Event::DataReceived { kind, len, at } => {
                let t = self.since(at);
                self.trace_packet(2, || Detail::DataReceived { at: t, kind, len });
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
                let t = self.since(at);
                self.trace_packet(2, || Detail::DataIgnored { at: t, error, len });
                self.login.data.ignored += 1;
            }
            Event::OccExitSent { at } => {
                let t = self.since(at);
                self.trace(2, || Detail::OccExitSent { at: t });
                self.login.data.occ_exit = true;
            }
            Event::Finished { reached, why } => {
                self.finished = Some((reached, why));
                self.login.data.why = Some(why);
                if let Why::EchoesMissing { decrypted, .. } = why {
                    // The session counted them all; its events only the first ones.
                    self.login.data.decrypted = self.login.data.decrypted.max(decrypted);
                }
            }
        }
    }
}
