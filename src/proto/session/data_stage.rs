//! The data stage, after the whole push: the data channel's keys (TLS-EKM or OpenVPN's
//! PRF) and settings from the push, ICMP echoes through the tunnel when asked
//! ([`SessionConfig::ping`]), a DNS question ([`SessionConfig::dns`]), and the goodbye a real client says: a control `EXIT` where
//! the server pushed `cc-exit`, else OCC_EXIT on the data channel (2.4 and 2.5 know only
//! that one and would keep the client until `ping-restart`).

use super::*;
use crate::proto::data::ether::{self, Received};
use crate::proto::data::http::{BadResponse, Response};
use crate::proto::data::icmp::{parse_echo_reply, EchoRequest};
use crate::proto::data::stack::{Connection, TcpProbe};
use crate::proto::data::udp::{parse_datagram, Datagram};
use crate::proto::data::{
    keys::KEY_BLOCK_LEN, DataChannel, DataError, Decapsulated, KeyBlock, Side, EKM_LABEL,
};
use crate::proto::push::{self, DataPlan, KeyDerivation, Unsupported};

/// The payload of our echo requests: nothing secret, and checked in the reply.
const ECHO_PAYLOAD: &[u8; 24] = b"check_openvpn echo\0\0\0\0\0\0";

/// The MTU of the userspace TCP stack: below any tunnel's with OpenVPN's overhead (it
/// sets the MSS we announce).
const STACK_MTU: usize = 1400;

/// A port of the dynamic range (RFC 6335) from two random bytes.
fn dynamic_port(random: [u8; 2]) -> u16 {
    49152 + u16::from_be_bytes(random) % 16384
}

/// The least time between two questions for the target's MAC on a tap tunnel.
const RESOLICIT: Duration = Duration::from_millis(250);

impl Session {
    /// The whole push came: set up the data channel (to ping, or just to leave with
    /// OCC_EXIT), or leave over the control channel as before.
    pub(super) fn enter_data(&mut self, mut t: Box<TlsState>, now: Instant) -> State {
        t.login.data_stage = true;
        let options = t.login.pushed.clone().unwrap_or_default();
        let Some(hello) = &self.cfg.login else {
            return self.leave_by_control(t, now, Why::Reached);
        };
        let ping = self.cfg.ping;
        let dns = self.cfg.dns.clone();
        let tcp = self.cfg.tcp;
        let http = self.cfg.http.clone();
        let through = ping.is_some() || dns.is_some() || tcp.is_some() || http.is_some();
        // A 2.6 client stops here on a compression its config does not allow.
        if let Some(pushed) = push::refused_compression(&options, &hello.data) {
            self.emit(Event::CompressionRefused {
                pushed,
                allow: hello.data.allow_compression,
            });
            return self.leave_by_control(t, now, Why::Reached);
        }
        let config_tap = hello.data.tap;
        let plan = match push::plan(&options, &hello.data) {
            Ok(plan) => plan,
            Err(what) => {
                // A plain login still ends well: its verdict is the push.
                if !through {
                    return self.leave_by_control(t, now, Why::Reached);
                }
                self.emit(Event::DataUnsupported { what });
                return self.leave_by_control(t, now, Why::Unsupported);
            }
        };
        if plan.cc_exit && !through {
            return self.leave_by_control(t, now, Why::Reached);
        }
        let Some(channel) = self.data_channel(&t, &plan) else {
            // No keys (cannot happen after a whole key exchange): no echo was sent.
            let why = if through { Why::Failed } else { Why::Reached };
            return self.leave_by_control(t, now, why);
        };
        self.progress = self.progress.max(Progress::DataReady);
        self.emit(Event::DataReady {
            cipher: plan.config.cipher,
            peer_id: plan.config.peer_id,
            keys: plan.keys,
            compression: plan.config.compression,
        });
        let mut data = Box::new(DataState {
            channel,
            cc_exit: plan.cc_exit,
            ping: None,
            dns: None,
            tcp: None,
            http: None,
            outbox: VecDeque::new(),
            decrypted: 0,
            leaving: false,
            scratch: Vec::new(),
            lan: None,
        });
        if !through {
            return self.leave(t, data, now, Why::Reached);
        }
        // Ethernet frames where the client's config says tap, or, where it says nothing,
        // where the server's options string does (a mismatch is the config's, and the
        // real client's fate: framed as the config says).
        let server_tap = t.login.server_tap;
        let tap = config_tap.unwrap_or(server_tap);
        if let Some(ping) = ping {
            let path = match push::echo_path(&options, ping.target) {
                Ok(path) => path,
                Err(path) => {
                    self.emit(Event::NoEchoPath { path });
                    return self.leave(t, data, now, Why::NoEchoPath);
                }
            };
            if tap || server_tap {
                let mac = tap.then(|| ether::local_mac(self.random.mac));
                self.emit(Event::LinkLayer {
                    tap,
                    server_tap,
                    mac,
                });
                if let Some(mac) = mac {
                    data.lan = Some(ether::Host::new(mac, path.source, path.target, None));
                }
            }
            let count = ping.count.clamp(1, MAX_ECHOES);
            self.emit(Event::EchoPlanned { path, count });
            data.ping = Some(PingState {
                path,
                id: self.random.icmp_id,
                count,
                interval: ping.interval,
                sent: Vec::with_capacity(usize::from(count)),
            });
            self.extend_deadline(ping.until, now);
        }
        if let Some(dns) = dns {
            let pushed = push::dns_servers(&options);
            let Some(server) = dns.server.or_else(|| pushed.first().copied()) else {
                self.emit(Event::NoDnsServer);
                return self.leave(t, data, now, Why::NoDnsPath);
            };
            if tap {
                self.emit(Event::DnsOnTap);
                return self.leave(t, data, now, Why::NoDnsPath);
            }
            let path = match push::echo_path(&options, Some(server)) {
                Ok(path) => path,
                Err(path) => {
                    self.emit(Event::NoDnsPath { path });
                    return self.leave(t, data, now, Why::NoDnsPath);
                }
            };
            self.emit(Event::DnsPlanned {
                path,
                pushed: dns.server.is_none(),
            });
            // Our random id, and a random port of the dynamic range (RFC 6335).
            let r = self.random.dns;
            let mut query = dns.query;
            if query.len() >= 2 {
                query[..2].copy_from_slice(&r[..2]);
            }
            data.dns = Some(DnsState {
                path,
                query,
                port: dynamic_port([r[2], r[3]]),
                resend: dns.resend,
                sent: Vec::new(),
                answered: false,
            });
            self.extend_deadline(dns.until, now);
            self.send_dns(&mut data, now);
        }
        if let Some(tcp) = tcp {
            if tap {
                self.emit(Event::TcpOnTap);
                return self.leave(t, data, now, Why::NoTcpPath);
            }
            let path = match push::echo_path(&options, Some(tcp.target.ip())) {
                Ok(path) => path,
                Err(path) => {
                    self.emit(Event::NoTcpPath { path });
                    return self.leave(t, data, now, Why::NoTcpPath);
                }
            };
            let r = self.random.dns;
            let port = dynamic_port([r[2], r[3]]);
            let Some(stack) = TcpProbe::connect(path.source, tcp.target, port, STACK_MTU, now)
            else {
                self.emit(Event::NoTcpPath {
                    path: push::NoPath {
                        target: Some(tcp.target.ip()),
                        no_address: true,
                        routes: Vec::new(),
                    },
                });
                return self.leave(t, data, now, Why::NoTcpPath);
            };
            self.emit(Event::TcpPlanned { path, port });
            data.tcp = Some(TcpState {
                stack,
                started: now,
                done: false,
            });
            self.extend_deadline(tcp.until, now);
            self.send_stack_output(&mut data, now);
        }
        if let Some(http) = http {
            if tap {
                self.emit(Event::HttpOnTap);
                return self.leave(t, data, now, Why::NoHttpPath);
            }
            let path = match push::echo_path(&options, Some(http.target.ip())) {
                Ok(path) => path,
                Err(path) => {
                    self.emit(Event::NoHttpPath { path });
                    return self.leave(t, data, now, Why::NoHttpPath);
                }
            };
            let r = self.random.dns;
            // Another port than --tcp-connect's.
            let mut port = dynamic_port([r[0], r[1]]);
            if port == dynamic_port([r[2], r[3]]) {
                port = dynamic_port(port.wrapping_add(1).to_be_bytes());
            }
            let Some(stack) = TcpProbe::connect(path.source, http.target, port, STACK_MTU, now)
            else {
                self.emit(Event::NoHttpPath {
                    path: push::NoPath {
                        target: Some(http.target.ip()),
                        no_address: true,
                        routes: Vec::new(),
                    },
                });
                return self.leave(t, data, now, Why::NoHttpPath);
            };
            self.emit(Event::HttpPlanned { path });
            data.http = Some(HttpState {
                stack,
                started: now,
                connected: false,
                request: http.request,
                sent: 0,
                response: Response::new(http.limit),
                done: false,
            });
            self.extend_deadline(http.until, now);
            self.send_stack_output(&mut data, now);
        }
        if data.ping.is_some() {
            self.send_echo(&mut data, now);
        }
        State::Data { control: t, data }
    }

    /// The HTTP exchange after its stack ran: the request once connected, the response
    /// as it comes; said once decided, and the connection reset.
    fn advance_http(&mut self, data: &mut DataState, now: Instant) {
        let Some(h) = data.http.as_mut().filter(|h| !h.done) else {
            return;
        };
        let rtt = now.saturating_duration_since(h.started);
        match h.stack.state() {
            Connection::Connecting => return,
            Connection::Refused if !h.connected => {
                h.done = true;
                self.emit(Event::HttpConnect { refused: true, rtt });
                return;
            }
            _ => {}
        }
        if !h.connected {
            h.connected = true;
            self.emit(Event::HttpConnect {
                refused: false,
                rtt,
            });
        }
        if h.sent < h.request.len() {
            let n = h.stack.send(&h.request[h.sent..], now);
            h.sent += n;
        }
        let mut got = Vec::new();
        h.stack.recv(&mut got);
        let verdict = match h.response.push(&got) {
            Err(bad) => Some(Err(match bad {
                BadResponse::NotHttp(why) => format!("no HTTP response ({why})"),
                BadResponse::HeadTooLong => "a response head longer than the check reads".into(),
            })),
            Ok(()) if h.response.complete() || h.stack.peer_done() => {
                Some(match h.response.head() {
                    Some(head) => Ok((head.status, head.reason.clone())),
                    None => Err("the server closed the connection before a response".into()),
                })
            }
            Ok(()) => None,
        };
        let Some(verdict) = verdict else {
            return;
        };
        h.done = true;
        h.stack.abort(now);
        match verdict {
            Ok((status, reason)) => self.emit(Event::HttpResponse {
                status,
                reason,
                size: h.response.body_len(),
                cut: h.response.cut,
                rtt,
            }),
            Err(why) => self.emit(Event::HttpBroken { why, rtt }),
        }
    }

    /// What the TCP stack has to send, sealed into the data outbox; its next poll set.
    fn send_stack_output(&mut self, data: &mut DataState, now: Instant) {
        let mut packets = Vec::new();
        let mut next: Option<Instant> = None;
        if let Some(tcp) = data.tcp.as_mut() {
            packets.extend(tcp.stack.take_output());
            if !tcp.done {
                next = tcp.stack.poll_at(now);
            }
        }
        if let Some(h) = data.http.as_mut() {
            packets.extend(h.stack.take_output());
            if !h.done {
                next = match (next, h.stack.poll_at(now)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        for packet in packets {
            let mut sealed = Vec::new();
            match data.channel.encapsulate(&packet, &mut sealed) {
                Ok(_) => data.outbox.push_back(sealed),
                Err(error) => self.emit(Event::DataIgnored {
                    error,
                    len: packet.len(),
                    at: now,
                }),
            }
        }
        match next {
            Some(at) => self.timers.set(Timer::Stack, at.max(now)),
            None => self.timers.stop(Timer::Stack),
        }
    }

    pub(super) fn on_stack_timer(&mut self, now: Instant) {
        let State::Data { control, mut data } = std::mem::replace(&mut self.state, State::Done)
        else {
            return;
        };
        if let Some(tcp) = data.tcp.as_mut() {
            tcp.stack.poll(now);
        }
        if let Some(h) = data.http.as_mut() {
            h.stack.poll(now);
        }
        self.state = self.after_stack(control, data, now);
    }

    /// After the stack ran: a decided connection is said and reset; the stage ends when
    /// every question has its answer.
    fn after_stack(
        &mut self,
        control: Box<TlsState>,
        mut data: Box<DataState>,
        now: Instant,
    ) -> State {
        if let Some(tcp) = data.tcp.as_mut().filter(|t| !t.done) {
            let refused = match tcp.stack.state() {
                Connection::Connecting => None,
                Connection::Established => Some(false),
                Connection::Refused => Some(true),
            };
            if let Some(refused) = refused {
                tcp.done = true;
                if !refused {
                    tcp.stack.abort(now);
                }
                let rtt = now.saturating_duration_since(tcp.started);
                self.emit(Event::TcpAnswered {
                    refused,
                    rtt,
                    at: now,
                });
            }
        }
        self.advance_http(&mut data, now);
        self.send_stack_output(&mut data, now);
        let stack_done =
            data.tcp.as_ref().is_none_or(|t| t.done) && data.http.as_ref().is_none_or(|h| h.done);
        if stack_done && Self::all_answered(&data) {
            return self.leave(control, data, now, Why::Reached);
        }
        State::Data { control, data }
    }

    /// The data channel's codec, with keys from TLS-EKM or the PRF. `None` when the keys
    /// cannot be had (no server randoms, an export rustls refused).
    fn data_channel(&self, t: &TlsState, plan: &DataPlan) -> Option<DataChannel> {
        let block = match plan.keys {
            KeyDerivation::Ekm => {
                let out = zeroize::Zeroizing::new([0u8; KEY_BLOCK_LEN]);
                let out = t.conn.export_keying_material(out, EKM_LABEL, None).ok()?;
                KeyBlock::from_ekm(&out[..]).ok()?
            }
            KeyDerivation::Prf => {
                let server = t.login.server_random.as_ref()?;
                KeyBlock::from_prf(
                    &self.random.key_method_2,
                    &server.0,
                    &self.sealer.session_id,
                    &t.server_session,
                )
            }
        };
        Some(DataChannel::new(plan.config, &block, Side::Client))
    }

    /// `EXIT` over the control channel; the login stage ends the session with `why` once
    /// it is acknowledged.
    fn leave_by_control(&mut self, mut t: Box<TlsState>, now: Instant, why: Why) -> State {
        t.login.leave_why = Some(why);
        self.send_exit(&mut t, now);
        self.queue_tls_output(&mut t);
        State::Tls(t)
    }

    /// Leaves as the server expects: a control `EXIT` (then wait for its ack) where it
    /// pushed `cc-exit`, else OCC_EXIT on the data channel (and done at once: nothing
    /// acknowledges it).
    fn leave(
        &mut self,
        mut control: Box<TlsState>,
        mut data: Box<DataState>,
        now: Instant,
        why: Why,
    ) -> State {
        // An HTTP connection still open (no whole response by the deadline) is reset, as
        // a client that gives up closes its socket: the server frees it.
        if let Some(h) = data.http.as_mut().filter(|h| !h.done) {
            if h.stack.state() == Connection::Established {
                h.stack.abort(now);
                self.send_stack_output(&mut data, now);
            }
        }
        self.timers.stop(Timer::Echo);
        self.timers.stop(Timer::EchoDeadline);
        self.timers.stop(Timer::Dns);
        self.timers.stop(Timer::Stack);
        if data.cc_exit {
            data.leaving = true;
            control.login.leave_why = Some(why);
            self.send_exit(&mut control, now);
            self.queue_tls_output(&mut control);
            return State::Data { control, data };
        }
        let mut occ = Vec::new();
        if data.channel.occ_exit(&mut occ).is_err() {
            // No random IV for a CBC packet: say goodbye on the control channel instead.
            return self.leave_by_control(control, now, why);
        }
        self.emit(Event::OccExitSent { at: now });
        self.progress = self.progress.max(Progress::Exited);
        // The control channel's acks first, then what the data stage still had, then the
        // goodbye.
        self.finish(control, now, why);
        self.outbox.extend(data.outbox.drain(..));
        self.outbox.push_back(occ);
        State::Done
    }

    /// One echo request into the data outbox, and the timer for the next.
    fn send_echo(&mut self, data: &mut DataState, now: Instant) {
        let Some(ping) = data.ping.as_mut() else {
            return;
        };
        if ping.sent.len() >= usize::from(ping.count) {
            self.timers.stop(Timer::Echo);
            return;
        }
        if let Some(lan) = data.lan.as_ref().filter(|l| l.target_mac.is_none()) {
            // Ask for the target's MAC (again every quarter second at most, as a host
            // would not ask faster); the echoes wait for it.
            let mut frame = Vec::with_capacity(90);
            lan.solicit(&mut frame);
            let next = now + ping.interval.max(RESOLICIT);
            self.seal_frame(data, &frame, now);
            self.emit(Event::NeighbourAsked { at: now });
            self.timers.set(Timer::Echo, next);
            return;
        }
        let seq = ping.sent.len() as u16 + 1;
        let mut packet = Vec::with_capacity(64 + ECHO_PAYLOAD.len());
        let request = EchoRequest {
            source: ping.path.source,
            destination: ping.path.target,
            identifier: ping.id,
            sequence: seq,
            payload: ECHO_PAYLOAD,
        };
        if request.encode(&mut packet).is_err() {
            self.timers.stop(Timer::Echo);
            return;
        }
        if let Some(lan) = &data.lan {
            let mut frame = Vec::with_capacity(14 + packet.len());
            lan.frame_ip(&packet, &mut frame);
            packet = frame;
        }
        let mut datagram = Vec::new();
        if let Err(error) = data.channel.encapsulate(&packet, &mut datagram) {
            // Only the random source fails here: no echo rather than a weak IV.
            self.emit(Event::DataIgnored {
                error,
                len: packet.len(),
                at: now,
            });
            self.timers.stop(Timer::Echo);
            return;
        }
        data.outbox.push_back(datagram);
        ping.sent.push((now, false));
        let more = ping.sent.len() < usize::from(ping.count);
        let next = now + ping.interval;
        self.progress = self.progress.max(Progress::EchoSent);
        self.emit(Event::EchoSent { seq, at: now });
        if more {
            self.timers.set(Timer::Echo, next);
        } else {
            self.timers.stop(Timer::Echo);
        }
    }

    /// The data stage's deadline: `until` after the session's start (never before now),
    /// or later if another question of the stage already set it later.
    fn extend_deadline(&mut self, until: Duration, now: Instant) {
        let at = (self.origin + until).max(now);
        let at = self
            .timers
            .get(Timer::EchoDeadline)
            .map_or(at, |d| d.max(at));
        self.timers.set(Timer::EchoDeadline, at);
    }

    /// One frame of ours (an ARP or neighbour message) into the data outbox.
    fn seal_frame(&mut self, data: &mut DataState, frame: &[u8], now: Instant) {
        let mut datagram = Vec::new();
        match data.channel.encapsulate(frame, &mut datagram) {
            Ok(_) => data.outbox.push_back(datagram),
            Err(error) => self.emit(Event::DataIgnored {
                error,
                len: frame.len(),
                at: now,
            }),
        }
    }

    pub(super) fn on_echo_timer(&mut self, now: Instant) {
        let State::Data { control, mut data } = std::mem::replace(&mut self.state, State::Done)
        else {
            return;
        };
        self.send_echo(&mut data, now);
        self.state = State::Data { control, data };
    }

    /// The DNS query (again) into the data outbox, and the timer for the next copy.
    fn send_dns(&mut self, data: &mut DataState, now: Instant) {
        let Some(dns) = data.dns.as_mut() else {
            return;
        };
        if dns.answered {
            self.timers.stop(Timer::Dns);
            return;
        }
        let mut packet = Vec::with_capacity(28 + dns.query.len());
        let datagram = Datagram {
            source: dns.path.source,
            destination: dns.path.target,
            source_port: dns.port,
            destination_port: 53,
            payload: &dns.query,
        };
        let ip_id = dns.sent.len() as u16 + 1;
        if datagram.encode(ip_id, &mut packet).is_err() {
            self.timers.stop(Timer::Dns);
            return;
        }
        let mut sealed = Vec::new();
        if let Err(error) = data.channel.encapsulate(&packet, &mut sealed) {
            self.emit(Event::DataIgnored {
                error,
                len: packet.len(),
                at: now,
            });
            self.timers.stop(Timer::Dns);
            return;
        }
        data.outbox.push_back(sealed);
        dns.sent.push(now);
        self.progress = self.progress.max(Progress::EchoSent);
        self.emit(Event::DnsSent { at: now });
        self.timers.set(Timer::Dns, now + dns.resend);
    }

    pub(super) fn on_dns_timer(&mut self, now: Instant) {
        let State::Data { control, mut data } = std::mem::replace(&mut self.state, State::Done)
        else {
            return;
        };
        self.send_dns(&mut data, now);
        self.state = State::Data { control, data };
    }

    /// Every question of the data stage has its answer: echoes and DNS.
    fn all_answered(data: &DataState) -> bool {
        data.ping.as_ref().is_none_or(|p| p.answered() == p.count)
            && data.dns.as_ref().is_none_or(|d| d.answered)
            && data.tcp.as_ref().is_none_or(|t| t.done)
            && data.http.as_ref().is_none_or(|h| h.done)
    }

    /// The echo deadline: what has not come back is lost.
    pub(super) fn on_echo_deadline(&mut self, now: Instant) {
        let State::Data { control, data } = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let why = Self::echo_verdict(&data);
        self.state = self.leave(control, data, now, why);
    }

    fn echo_verdict(data: &DataState) -> Why {
        match (&data.ping, &data.dns) {
            (Some(p), _) if p.answered() < p.count => Why::EchoesMissing {
                sent: p.sent.len() as u16,
                answered: p.answered(),
                decrypted: data.decrypted,
            },
            (_, Some(d)) if !d.answered => Why::DnsUnanswered {
                sent: d.sent.len() as u16,
                decrypted: data.decrypted,
            },
            _ if data.tcp.as_ref().is_some_and(|t| !t.done) => Why::TcpUnanswered {
                decrypted: data.decrypted,
            },
            _ if data.http.as_ref().is_some_and(|h| !h.done) => Why::HttpUnanswered {
                decrypted: data.decrypted,
            },
            _ => Why::Reached,
        }
    }

    pub(super) fn on_data_stage_packet(&mut self, now: Instant, packet: &[u8]) {
        let State::Data { control, data } = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let opcode = packet.first().map_or(0, |b| b >> 3);
        self.state =
            if opcode == crate::proto::data::P_DATA_V1 || opcode == crate::proto::data::P_DATA_V2 {
                self.on_data_packet(control, data, now, packet)
            } else {
                self.on_data_stage_control(control, data, now, packet)
            };
    }

    /// A control packet while the data stage runs: acks, the server's messages, and the
    /// ack of our `EXIT`, through the login stage as before.
    fn on_data_stage_control(
        &mut self,
        mut control: Box<TlsState>,
        mut data: Box<DataState>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        if let Err(reason) = self.take_control_packet(&mut control, now, packet) {
            self.ignore(reason, packet, now);
            return State::Data { control, data };
        }
        match self.feed_tls(control, now) {
            Some(control) => State::Data { control, data },
            None => {
                // Ended (our EXIT acknowledged, or the control channel failed).
                self.outbox.extend(data.outbox.drain(..));
                State::Done
            }
        }
    }

    /// One data packet from the server: an echo reply, a keepalive or other traffic that
    /// proves the tunnel decrypts, or noise (counted, bounded).
    fn on_data_packet(
        &mut self,
        control: Box<TlsState>,
        mut data: Box<DataState>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        if data.leaving {
            return State::Data { control, data };
        }
        let mut scratch = std::mem::take(&mut data.scratch);
        let result = data.channel.decapsulate(packet, &mut scratch);
        let mut reply = None;
        let mut dns_reply: Option<Vec<u8>> = None;
        let mut segment: Option<Vec<u8>> = None;
        let mut learned = false;
        let mut answer = None;
        let noise = match result {
            Ok(Decapsulated::Data(frame)) if data.lan.is_some() => {
                data.decrypted = data.decrypted.saturating_add(1);
                let lan = data.lan.as_mut().expect("a tap tunnel");
                let knew = lan.target_mac.is_some();
                let received = lan.receive(frame);
                // An ARP request of the target's teaches its MAC as well as its reply.
                learned = !knew && lan.target_mac.is_some();
                match received {
                    Received::Ip(ip) => echo_or_noise(
                        &data.ping,
                        &data.dns,
                        ip,
                        packet.len(),
                        now,
                        &mut reply,
                        &mut dns_reply,
                    ),
                    Received::Learned => None,
                    Received::Answer(frame) => {
                        answer = Some(frame);
                        None
                    }
                    // Multicast, other MACs, other addresses' ARP: noise, counted.
                    Received::Ignored => Some(Event::DataReceived {
                        kind: DataKind::Other,
                        len: packet.len(),
                        at: now,
                    }),
                }
            }
            Ok(Decapsulated::Data(ip))
                if data.tcp.as_ref().is_some_and(|t| t.stack.is_ours(ip))
                    || data.http.as_ref().is_some_and(|h| h.stack.is_ours(ip)) =>
            {
                data.decrypted = data.decrypted.saturating_add(1);
                segment = Some(ip.to_vec());
                None
            }
            Ok(Decapsulated::Data(ip)) => {
                data.decrypted = data.decrypted.saturating_add(1);
                echo_or_noise(
                    &data.ping,
                    &data.dns,
                    ip,
                    packet.len(),
                    now,
                    &mut reply,
                    &mut dns_reply,
                )
            }
            Ok(Decapsulated::Ping) => {
                data.decrypted = data.decrypted.saturating_add(1);
                Some(Event::DataReceived {
                    kind: DataKind::Keepalive,
                    len: packet.len(),
                    at: now,
                })
            }
            Ok(Decapsulated::Occ(m)) => {
                data.decrypted = data.decrypted.saturating_add(1);
                Some(Event::DataReceived {
                    kind: DataKind::Occ(m.opcode),
                    len: packet.len(),
                    at: now,
                })
            }
            Err(DataError::Compressed(algorithm)) => {
                data.scratch = scratch;
                self.emit(Event::DataUnsupported {
                    what: Unsupported::Compressed(algorithm),
                });
                return self.leave(control, data, now, Why::Unsupported);
            }
            Err(error) => Some(Event::DataIgnored {
                error,
                len: packet.len(),
                at: now,
            }),
        };
        data.scratch = scratch;
        if let Some(frame) = answer {
            self.seal_frame(&mut data, &frame, now);
            self.data_noise(Event::NeighbourAnswered { at: now });
        }
        if learned {
            if let Some(mac) = data.lan.as_ref().and_then(|l| l.target_mac) {
                self.emit(Event::NeighbourLearned { mac, at: now });
            }
        }
        if learned && data.ping.as_ref().is_some_and(|p| p.sent.is_empty()) {
            // The target's MAC came: the first echo goes now.
            self.send_echo(&mut data, now);
        }
        if let Some(event) = noise {
            self.data_noise(event);
            return State::Data { control, data };
        }
        if let Some(ip) = segment {
            if let Some(tcp) = data.tcp.as_mut().filter(|t| t.stack.is_ours(&ip)) {
                tcp.stack.receive(&ip, now);
            } else if let Some(h) = data.http.as_mut() {
                h.stack.receive(&ip, now);
            }
            return self.after_stack(control, data, now);
        }
        if let (Some(message), Some(dns)) = (dns_reply, data.dns.as_mut()) {
            if !dns.answered {
                dns.answered = true;
                self.timers.stop(Timer::Dns);
                let rtt = dns
                    .sent
                    .first()
                    .map_or(Duration::ZERO, |t| now.saturating_duration_since(*t));
                self.emit(Event::DnsReply {
                    message,
                    rtt,
                    at: now,
                });
                if Self::all_answered(&data) {
                    return self.leave(control, data, now, Why::Reached);
                }
            }
            return State::Data { control, data };
        }
        let answered_all = match (reply, data.ping.as_mut()) {
            (Some(seq), Some(ping)) => {
                match usize::from(seq)
                    .checked_sub(1)
                    .and_then(|i| ping.sent.get_mut(i))
                {
                    // A duplicate reply counts once.
                    Some(slot) if !slot.1 => {
                        slot.1 = true;
                        let rtt = now.saturating_duration_since(slot.0);
                        self.emit(Event::EchoReply { seq, rtt, at: now });
                        ping.answered() == ping.count
                            && data.dns.as_ref().is_none_or(|d| d.answered)
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if answered_all {
            return self.leave(control, data, now, Why::Reached);
        }
        State::Data { control, data }
    }

    /// An event about a data packet that is no answer: the first ones, then only counted
    /// (a flood never grows the queue).
    fn data_noise(&mut self, event: Event) {
        self.ignored_events += 1;
        if self.ignored_events <= MAX_TRACED_PACKETS {
            self.emit(event);
        }
    }
}

/// An IP packet from the tunnel: `None` with `reply` set when it is the answer to one of
/// our echoes, else the noise event that says what it was.
#[allow(clippy::too_many_arguments)]
fn echo_or_noise(
    ping: &Option<PingState>,
    dns: &Option<DnsState>,
    ip: &[u8],
    len: usize,
    now: Instant,
    reply: &mut Option<u16>,
    dns_reply: &mut Option<Vec<u8>>,
) -> Option<Event> {
    if let (Some(d), Ok(u)) = (dns, parse_datagram(ip)) {
        if u.source == d.path.target
            && u.destination == d.path.source
            && u.source_port == 53
            && u.destination_port == d.port
            && u.payload.get(..2) == d.query.get(..2)
        {
            *dns_reply = Some(u.payload.to_vec());
            return None;
        }
    }
    match (ping, parse_echo_reply(ip)) {
        (Some(p), Ok(r))
            if r.identifier == p.id
                && r.source == p.path.target
                && r.destination == p.path.source
                && r.payload == ECHO_PAYLOAD =>
        {
            *reply = Some(r.sequence);
            None
        }
        _ => Some(Event::DataReceived {
            kind: match ip.first() {
                Some(&first) if first >> 4 != 4 && first >> 4 != 6 => DataKind::NotIp { first },
                _ => DataKind::Other,
            },
            len,
            at: now,
        }),
    }
}
