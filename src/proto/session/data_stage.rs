//! The data stage, after the whole push: the data channel's keys (TLS-EKM or OpenVPN's
//! PRF) and settings from the push, ICMP echoes through the tunnel when asked
//! ([`SessionConfig::ping`]), a DNS question ([`SessionConfig::dns`]), and the goodbye a real client says: a control `EXIT` where
//! the server pushed `cc-exit`, else OCC_EXIT on the data channel (2.4 and 2.5 know only
//! that one and would keep the client until `ping-restart`).

use super::*;
use crate::chain::Role;
use crate::proto::data::ether::{self, Received};
use crate::proto::data::http::{BadResponse, Response};
use crate::proto::data::icmp::{parse_echo_reply, EchoRequest};
use crate::proto::data::lookup::{self, Looked};
use crate::proto::data::stack::{Connection, TcpProbe};
use crate::proto::data::udp::{parse_datagram, Datagram};
use crate::proto::data::{
    keys::KEY_BLOCK_LEN, DataChannel, DataError, Decapsulated, KeyBlock, Side, EKM_LABEL,
};
use crate::proto::push::{self, DataPlan, KeyDerivation, PushReply, Unsupported};
use std::net::SocketAddr;

/// The payload of our echo requests: nothing secret, and checked in the reply.
const ECHO_PAYLOAD: &[u8; 24] = b"check_openvpn echo\0\0\0\0\0\0";

/// The MTU of the userspace TCP stack: below any tunnel's with OpenVPN's overhead (it
/// sets the MSS we announce).
const STACK_MTU: usize = 1400;

/// A port of the dynamic range (RFC 6335) from two random bytes.
fn dynamic_port(random: [u8; 2]) -> u16 {
    49152 + u16::from_be_bytes(random) % 16384
}

impl Session {
    /// The whole push came: set up the data channel (to ping, or just to leave with
    /// OCC_EXIT), or leave over the control channel as before.
    pub(super) fn enter_data(
        &mut self,
        t: Box<Control>,
        server: ServerKey,
        reply: PushReply,
        now: Instant,
    ) -> State {
        let Some(hello) = &self.cfg.login else {
            return self.leave_by_control(t, None, now, Why::Reached);
        };
        let ping = self.cfg.ping;
        let dns = self.cfg.dns.clone();
        let tcp = self.cfg.tcp;
        let http = self.cfg.http.clone();
        let through = ping.is_some() || dns.is_some() || tcp.is_some() || http.is_some();
        // A 2.6 client stops here on a compression its config does not allow.
        if let Some(pushed) = reply.refused_compression(&hello.data) {
            self.emit(Event::CompressionRefused {
                pushed,
                allow: hello.data.allow_compression,
            });
            return self.leave_by_control(t, None, now, Why::Reached);
        }
        let config_tap = hello.data.tap;
        let plan = match reply.plan(&hello.data) {
            Ok(plan) => plan,
            Err(what) => {
                // A plain login still ends well: its verdict is the push.
                if !through {
                    return self.leave_by_control(t, None, now, Why::Reached);
                }
                self.emit(Event::DataUnsupported { what });
                return self.leave_by_control(t, None, now, Why::Unsupported);
            }
        };
        if plan.cc_exit && !through {
            return self.leave_by_control(t, None, now, Why::Reached);
        }
        let Some(channel) = self.data_channel(&t, &server, &plan) else {
            // No keys (cannot happen after a whole key exchange): no echo was sent.
            let why = if through { Why::Failed } else { Why::Reached };
            return self.leave_by_control(t, None, now, why);
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
            scratch: Vec::new(),
            lan: None,
            pushed: reply.clone(),
        });
        if !through {
            return self.leave(t, data, now, Why::Reached);
        }
        // Ethernet frames where the client's config says tap, or, where it says nothing,
        // where the server's options string does (a mismatch is the config's, and the
        // real client's fate: framed as the config says).
        let server_tap = server.tap;
        let tap = config_tap.unwrap_or(server_tap);
        if tap || server_tap {
            let mac = tap.then(|| ether::local_mac(self.random.mac));
            self.emit(Event::LinkLayer {
                tap,
                server_tap,
                mac,
            });
            if let Some(mac) = mac {
                // Every IP packet of the stage goes through its neighbour table.
                let (v4, v6) = reply.tunnel_addresses();
                data.lan = Some(ether::Host::new(mac, v4, v6));
            }
        }
        if let Some(ping) = ping {
            let path = match reply.echo_path(ping.target) {
                Ok(path) => path,
                Err(path) => {
                    self.emit(Event::NoEchoPath { path });
                    return self.leave(t, data, now, Why::NoEchoPath);
                }
            };
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
            let pushed = reply.dns_servers();
            let Some(server) = dns.server.or_else(|| pushed.first().copied()) else {
                self.emit(Event::NoDnsServer);
                return self.leave(t, data, now, Why::NoDnsPath);
            };
            let path = match reply.echo_path(Some(server)) {
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
            let r = self.random.dns;
            let port = dynamic_port([r[2], r[3]]);
            let (path, stack) = match connect_through(&reply, tcp.target, port, now) {
                Ok(connected) => connected,
                Err(path) => {
                    self.emit(Event::NoTcpPath { path });
                    return self.leave(t, data, now, Why::NoTcpPath);
                }
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
            let r = self.random.dns;
            // Another port than --tcp-connect's.
            let mut local_port = dynamic_port([r[0], r[1]]);
            if local_port == dynamic_port([r[2], r[3]]) {
                local_port = dynamic_port(local_port.wrapping_add(1).to_be_bytes());
            }
            let tls = match &http.tls {
                Some((config, name)) => {
                    match rustls::ClientConnection::new(config.clone(), name.clone()) {
                        Ok(conn) => Some(Box::new(conn)),
                        Err(e) => {
                            self.emit(Event::HttpTlsFailed {
                                why: e.to_string(),
                                rtt: Duration::ZERO,
                            });
                            return self.leave(t, data, now, Why::Reached);
                        }
                    }
                }
                None => None,
            };
            let mut state = HttpState {
                lookup: None,
                stack: None,
                local_port,
                tls,
                tls_said: false,
                wire: Vec::new(),
                started: now,
                connected: false,
                request: http.request,
                sent: 0,
                response: Response::new(http.limit),
                done: false,
            };
            match http.target {
                HttpTarget::Address(target) => {
                    if let Err(why) = self.http_connect(&reply, &mut state, target, now) {
                        return self.leave(t, data, now, why);
                    }
                }
                HttpTarget::Name {
                    name,
                    port,
                    server,
                    resend,
                } => {
                    let pushed = reply.dns_servers();
                    let Some(via) = server.or_else(|| pushed.first().copied()) else {
                        self.emit(Event::HttpNoDnsServer);
                        return self.leave(t, data, now, Why::NoHttpPath);
                    };
                    let path = match reply.echo_path(Some(via)) {
                        Ok(path) => path,
                        Err(path) => {
                            self.emit(Event::NoHttpPath { path });
                            return self.leave(t, data, now, Why::NoHttpPath);
                        }
                    };
                    let id = u16::from_be_bytes([r[4], r[5]]);
                    let Some(query) = lookup::query(&name, false, id) else {
                        // The name was checked with the flags: cannot happen.
                        return self.leave(t, data, now, Why::Failed);
                    };
                    self.emit(Event::HttpLookupPlanned {
                        path,
                        pushed: server.is_none(),
                    });
                    state.lookup = Some(LookupState {
                        name,
                        port,
                        dns: DnsState {
                            path,
                            query,
                            port: dynamic_port([r[6], r[7]]),
                            resend,
                            sent: Vec::new(),
                            answered: false,
                        },
                        v6: false,
                        started: now,
                    });
                }
            }
            data.http = Some(state);
            self.extend_deadline(http.until, now);
            if data.http.as_ref().is_some_and(|h| h.lookup.is_some()) {
                self.send_lookup(&mut data, now);
            } else {
                self.send_stack_output(&mut data, now);
            }
        }
        if data.ping.is_some() {
            self.send_echo(&mut data, now);
        }
        State::Data { control: t, data }
    }

    /// The HTTP server's connection from our tunnel address: its route checked, the SYN
    /// sent.
    fn http_connect(
        &mut self,
        reply: &PushReply,
        h: &mut HttpState,
        target: SocketAddr,
        now: Instant,
    ) -> Result<(), Why> {
        let (path, stack) = match connect_through(reply, target, h.local_port, now) {
            Ok(connected) => connected,
            Err(path) => {
                self.emit(Event::NoHttpPath { path });
                return Err(Why::NoHttpPath);
            }
        };
        self.emit(Event::HttpPlanned { path, target });
        h.stack = Some(stack);
        h.started = now;
        Ok(())
    }

    /// The lookup's question (again) into the data outbox, and the timer for the next.
    pub(super) fn send_lookup(&mut self, data: &mut DataState, now: Instant) {
        let Some(l) = data.http.as_mut().and_then(|h| h.lookup.as_mut()) else {
            self.timers.stop(Timer::Lookup);
            return;
        };
        let ip_id = l.dns.sent.len() as u16 + 1;
        let Some(packet) = dns_packet(&l.dns, ip_id) else {
            self.timers.stop(Timer::Lookup);
            return;
        };
        l.dns.sent.push(now);
        let (v6, resend) = (l.v6, l.dns.resend);
        self.seal_ip(data, &packet, now);
        self.emit(Event::HttpLookupSent { v6, at: now });
        self.timers.set(Timer::Lookup, now + resend);
    }

    /// The DNS server's reply to the lookup: an address connects, A without one asks
    /// AAAA, anything else ends the request (said).
    fn on_lookup_reply(
        &mut self,
        control: Box<Control>,
        mut data: Box<DataState>,
        now: Instant,
        message: &[u8],
    ) -> State {
        let Some(h) = data.http.as_mut() else {
            return State::Data { control, data };
        };
        let Some(l) = h.lookup.as_mut() else {
            return State::Data { control, data };
        };
        let rtt = now.saturating_duration_since(l.started);
        let failed = match lookup::read(message) {
            Looked::Addresses(addresses) => {
                let address = addresses[0];
                let target = SocketAddr::new(address, l.port);
                h.lookup = None;
                self.timers.stop(Timer::Lookup);
                self.emit(Event::HttpResolved { address, rtt });
                if let Err(why) = self.http_connect(&data.pushed, h, target, now) {
                    return self.leave(control, data, now, why);
                }
                return self.after_stack(control, data, now);
            }
            Looked::NoAddress if !l.v6 => {
                // No IPv4 address: ask for IPv6 ones, as a resolver falls back.
                let id = u16::from_be_bytes([l.dns.query[0], l.dns.query[1]]) ^ 0x5a5a;
                match lookup::query(&l.name, true, id) {
                    Some(query) => {
                        l.v6 = true;
                        l.dns.query = query;
                        l.dns.sent.clear();
                        self.send_lookup(&mut data, now);
                        return State::Data { control, data };
                    }
                    None => "no address".to_string(),
                }
            }
            Looked::NoAddress => "no address (neither A nor AAAA)".to_string(),
            Looked::Error(code) => code,
            Looked::Malformed(why) => format!("a reply DNS cannot read ({why})"),
        };
        h.lookup = None;
        h.done = true;
        self.timers.stop(Timer::Lookup);
        self.emit(Event::HttpLookupFailed { why: failed, rtt });
        self.after_stack(control, data, now)
    }

    /// The HTTP exchange after its stack ran: the request once connected (inside TLS for
    /// https), the response as it comes; said once decided, and the connection reset.
    fn advance_http(&mut self, data: &mut DataState, now: Instant) {
        let Some(h) = data.http.as_mut().filter(|h| !h.done) else {
            return;
        };
        let HttpState {
            stack: Some(stack),
            tls,
            tls_said,
            wire,
            started,
            connected,
            request,
            sent,
            response,
            done,
            ..
        } = h
        else {
            // The name is still being looked up.
            return;
        };
        let rtt = now.saturating_duration_since(*started);
        match stack.state() {
            Connection::Connecting => return,
            Connection::Refused if !*connected => {
                *done = true;
                self.emit(Event::HttpConnect { refused: true, rtt });
                return;
            }
            _ => {}
        }
        if !*connected {
            *connected = true;
            self.emit(Event::HttpConnect {
                refused: false,
                rtt,
            });
        }
        let mut got = Vec::new();
        stack.recv(&mut got);
        let mut peer_done = stack.peer_done();
        let plain = match tls.as_deref_mut() {
            None => {
                if *sent < request.len() {
                    *sent += stack.send(&request[*sent..], now);
                }
                Ok(got)
            }
            Some(conn) => {
                let mut closed = false;
                let pumped = tls_pump(
                    conn,
                    stack,
                    wire,
                    request,
                    sent,
                    &got,
                    peer_done,
                    &mut closed,
                    now,
                );
                peer_done |= closed;
                if pumped.is_ok() && !*tls_said && !conn.is_handshaking() {
                    *tls_said = true;
                    let version = conn
                        .protocol_version()
                        .and_then(|v| v.as_str())
                        .unwrap_or("TLS")
                        .replace('_', ".")
                        .replace("TLSv", "TLS ");
                    let chain = conn
                        .peer_certificates()
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                        .filter_map(|(i, der)| {
                            let role = if i == 0 {
                                Role::Leaf
                            } else {
                                Role::Intermediate
                            };
                            crate::chain::info(der, role).ok()
                        })
                        .collect();
                    self.emit(Event::HttpTls {
                        version,
                        chain,
                        rtt,
                    });
                }
                pumped
            }
        };
        let verdict = match plain {
            Err(e) => {
                *done = true;
                stack.abort(now);
                self.emit(Event::HttpTlsFailed {
                    why: e.to_string(),
                    rtt,
                });
                return;
            }
            Ok(plain) => match response.push(&plain) {
                Err(bad) => Some(Err(match bad {
                    BadResponse::NotHttp(why) => format!("no HTTP response ({why})"),
                    BadResponse::HeadTooLong => {
                        "a response head longer than the check reads".into()
                    }
                })),
                Ok(()) if response.complete() || peer_done => Some(match response.head() {
                    Some(head) => Ok((head.status, head.reason.clone())),
                    None => Err("the server closed the connection before a response".into()),
                }),
                Ok(()) => None,
            },
        };
        let Some(verdict) = verdict else {
            return;
        };
        *done = true;
        stack.abort(now);
        match verdict {
            Ok((status, reason)) => self.emit(Event::HttpResponse {
                status,
                reason,
                size: response.body_len(),
                cut: response.cut,
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
        if let Some((stack, done)) = data
            .http
            .as_mut()
            .and_then(|h| Some((h.stack.as_mut()?, h.done)))
        {
            packets.extend(stack.take_output());
            if !done {
                next = match (next, stack.poll_at(now)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        for packet in packets {
            self.seal_ip(data, &packet, now);
        }
        match next {
            Some(at) => self.timers.set(Timer::Stack, at.max(now)),
            None => self.timers.stop(Timer::Stack),
        }
    }

    /// The TCP stack's next poll is due (a retransmission).
    pub(super) fn on_stack_timer(
        &mut self,
        control: Box<Control>,
        mut data: Box<DataState>,
        now: Instant,
    ) -> State {
        if let Some(tcp) = data.tcp.as_mut() {
            tcp.stack.poll(now);
        }
        if let Some(stack) = data.http.as_mut().and_then(|h| h.stack.as_mut()) {
            stack.poll(now);
        }
        self.after_stack(control, data, now)
    }

    /// After the stack ran: a decided connection is said and reset; the stage ends when
    /// every question has its answer.
    fn after_stack(
        &mut self,
        control: Box<Control>,
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
    fn data_channel(
        &self,
        t: &Control,
        server: &ServerKey,
        plan: &DataPlan,
    ) -> Option<DataChannel> {
        let block = match plan.keys {
            KeyDerivation::Ekm => {
                let out = zeroize::Zeroizing::new([0u8; KEY_BLOCK_LEN]);
                let out = t.conn.export_keying_material(out, EKM_LABEL, None).ok()?;
                KeyBlock::from_ekm(&out[..]).ok()?
            }
            KeyDerivation::Prf => KeyBlock::from_prf(
                &self.random.key_method_2,
                &server.random.0,
                &self.sealer.session_id,
                &t.server_session,
            ),
        };
        Some(DataChannel::new(plan.config, &block, Side::Client))
    }

    /// Leaves as the server expects: a control `EXIT` (then wait for its ack) where it
    /// pushed `cc-exit`, else OCC_EXIT on the data channel (and done at once: nothing
    /// acknowledges it).
    pub(super) fn leave(
        &mut self,
        mut control: Box<Control>,
        mut data: Box<DataState>,
        now: Instant,
        why: Why,
    ) -> State {
        // An HTTP connection still open (no whole response by the deadline) is reset, as
        // a client that gives up closes its socket: the server frees it.
        if let Some(stack) = data
            .http
            .as_mut()
            .filter(|h| !h.done)
            .and_then(|h| h.stack.as_mut())
        {
            if stack.state() == Connection::Established {
                stack.abort(now);
                self.send_stack_output(&mut data, now);
            }
        }
        self.timers.stop(Timer::Echo);
        self.timers.stop(Timer::EchoDeadline);
        self.timers.stop(Timer::Dns);
        self.timers.stop(Timer::Stack);
        self.timers.stop(Timer::Neighbour);
        self.timers.stop(Timer::Lookup);
        if data.cc_exit {
            return self.leave_by_control(control, Some(data), now, why);
        }
        let mut occ = Vec::new();
        if data.channel.occ_exit(&mut occ).is_err() {
            // No random IV for a CBC packet: say goodbye on the control channel instead.
            return self.leave_by_control(control, None, now, why);
        }
        self.emit(Event::OccExitSent { at: now });
        self.progress = self.progress.max(Progress::Exited);
        // The control channel's acks first, then what the data stage still had, then the
        // goodbye.
        self.finish_with(&mut control, Some(data), now, why);
        self.outbox.push_back(occ);
        State::Done
    }

    /// One echo request into the data outbox, and the timer for the next. On tap the
    /// echoes wait for the target's MAC (asked for now), so that each round trip is the
    /// echo's own.
    pub(super) fn send_echo(&mut self, data: &mut DataState, now: Instant) {
        let Some(ping) = data.ping.as_mut() else {
            return;
        };
        if ping.sent.len() >= usize::from(ping.count) {
            self.timers.stop(Timer::Echo);
            return;
        }
        let target = ping.path.target;
        let hop = data.pushed.next_hop(target);
        if let Some(lan) = data.lan.as_mut().filter(|l| l.mac_of(hop).is_none()) {
            // The first echo goes when the MAC comes (`on_learnt`).
            lan.want(hop);
            self.timers.stop(Timer::Echo);
            self.ask_neighbours(data, now);
            return;
        }
        let seq = ping.sent.len() as u16 + 1;
        let mut packet = Vec::with_capacity(64 + ECHO_PAYLOAD.len());
        let request = EchoRequest {
            source: ping.path.source,
            destination: target,
            identifier: ping.id,
            sequence: seq,
            payload: ECHO_PAYLOAD,
        };
        if request.encode(&mut packet).is_err() {
            self.timers.stop(Timer::Echo);
            return;
        }
        // Only the random source fails here (the target's MAC is known): no echo rather
        // than a weak IV.
        if !self.seal_ip(data, &packet, now) {
            self.timers.stop(Timer::Echo);
            return;
        }
        let Some(ping) = data.ping.as_mut() else {
            return;
        };
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

    /// One IP packet of ours into the data outbox: as it is on tun; on tap in an Ethernet
    /// frame to its next hop's MAC (the destination's own: every target lies on the
    /// tunnel's link, as for the echoes), or queued until that MAC is learnt, asked for
    /// now and again every [`ether::RESOLICIT`]. `false` when it went nowhere: not
    /// sealed (said), or on tap no IP packet or a destination past the neighbour table's
    /// bound (which the stage's few targets never reach).
    fn seal_ip(&mut self, data: &mut DataState, packet: &[u8], now: Instant) -> bool {
        let Some(lan) = data.lan.as_mut() else {
            return self.seal_frame(data, packet, now);
        };
        let pushed = &data.pushed;
        match lan.send_ip(packet, |d| pushed.next_hop(d)) {
            ether::Out::Frame(frame) => self.seal_frame(data, &frame, now),
            ether::Out::Queued => {
                self.ask_neighbours(data, now);
                true
            }
            ether::Out::Dropped => false,
        }
    }

    /// The questions for neighbours' MACs due now into the data outbox, and the timer
    /// for the next ones.
    pub(super) fn ask_neighbours(&mut self, data: &mut DataState, now: Instant) {
        let Some(lan) = data.lan.as_mut() else {
            return;
        };
        let mut asks = Vec::new();
        lan.poll(now, &mut asks);
        let next = lan.poll_at(now);
        for (target, frame) in asks {
            self.seal_frame(data, &frame, now);
            self.emit(Event::NeighbourAsked { target, at: now });
        }
        match next {
            Some(at) => self.timers.set(Timer::Neighbour, at.max(now)),
            None => self.timers.stop(Timer::Neighbour),
        }
    }

    /// The neighbours' MACs learnt from the frame just read: said, what waited for them
    /// sent, and the first echo once the echo target's came.
    fn on_learnt(&mut self, data: &mut DataState, now: Instant) {
        let Some(lan) = data.lan.as_mut() else {
            return;
        };
        let learnt = lan.take_learnt();
        if learnt.is_empty() {
            return;
        }
        let mut echo_target = false;
        for l in learnt {
            self.emit(Event::NeighbourLearned {
                target: l.ip,
                mac: l.mac,
                at: now,
            });
            for frame in &l.frames {
                self.seal_frame(data, frame, now);
            }
            echo_target |= data
                .ping
                .as_ref()
                .is_some_and(|p| data.pushed.next_hop(p.path.target) == l.ip);
        }
        self.ask_neighbours(data, now);
        if echo_target && data.ping.as_ref().is_some_and(|p| p.sent.is_empty()) {
            self.send_echo(data, now);
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

    /// One payload of ours (an IP packet on tun, a frame on tap) sealed into the data
    /// outbox; `false` when it could not be sealed (said).
    fn seal_frame(&mut self, data: &mut DataState, frame: &[u8], now: Instant) -> bool {
        let mut datagram = Vec::new();
        match data.channel.encapsulate(frame, &mut datagram) {
            Ok(_) => {
                data.outbox.push_back(datagram);
                true
            }
            Err(error) => {
                self.emit(Event::DataIgnored {
                    error,
                    len: frame.len(),
                    at: now,
                });
                false
            }
        }
    }

    /// The DNS query (again) into the data outbox, and the timer for the next copy.
    pub(super) fn send_dns(&mut self, data: &mut DataState, now: Instant) {
        let Some(dns) = data.dns.as_mut() else {
            return;
        };
        if dns.answered {
            self.timers.stop(Timer::Dns);
            return;
        }
        let Some(packet) = dns_packet(dns, dns.sent.len() as u16 + 1) else {
            self.timers.stop(Timer::Dns);
            return;
        };
        // On tap, a query that waits for the server's MAC goes when it comes, as from a
        // host's resolver.
        if !self.seal_ip(data, &packet, now) {
            self.timers.stop(Timer::Dns);
            return;
        }
        let Some(dns) = data.dns.as_mut() else {
            return;
        };
        dns.sent.push(now);
        self.progress = self.progress.max(Progress::EchoSent);
        self.emit(Event::DnsSent { at: now });
        self.timers.set(Timer::Dns, now + dns.resend);
    }

    /// Every question of the data stage has its answer: echoes and DNS.
    fn all_answered(data: &DataState) -> bool {
        data.ping.as_ref().is_none_or(|p| p.answered() == p.count)
            && data.dns.as_ref().is_none_or(|d| d.answered)
            && data.tcp.as_ref().is_none_or(|t| t.done)
            && data.http.as_ref().is_none_or(|h| h.done)
    }

    /// At the echo deadline, why the stage ends: what has not come back is lost.
    pub(super) fn echo_verdict(data: &DataState) -> Why {
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

    /// A packet while the data stage runs.
    pub(super) fn on_data_stage_packet(
        &mut self,
        control: Box<Control>,
        data: Box<DataState>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        let opcode = packet.first().map_or(0, |b| b >> 3);
        if opcode == crate::proto::data::P_DATA_V1 || opcode == crate::proto::data::P_DATA_V2 {
            self.on_data_packet(control, data, now, packet)
        } else {
            self.on_data_stage_control(control, data, now, packet)
        }
    }

    /// A control packet while the data stage runs: acks, and the server's messages.
    fn on_data_stage_control(
        &mut self,
        mut control: Box<Control>,
        data: Box<DataState>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        if self
            .take_control_packet(&mut control, now, packet)
            .is_none()
        {
            return State::Data { control, data };
        }
        if !self.read_after_handshake(&mut control, false, now) {
            // The control channel failed: what the data stage still had leaves after it.
            self.outbox.extend(data.outbox);
            return State::Done;
        }
        self.later_messages(&mut control, now);
        self.queue_tls_output(&mut control);
        State::Data { control, data }
    }

    /// One data packet from the server: an echo reply, a keepalive or other traffic that
    /// proves the tunnel decrypts, or noise (counted, bounded).
    fn on_data_packet(
        &mut self,
        control: Box<Control>,
        mut data: Box<DataState>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        let mut scratch = std::mem::take(&mut data.scratch);
        let mut result = data.channel.decapsulate(packet, &mut scratch);
        let mut reply = None;
        let mut dns_reply: Option<Vec<u8>> = None;
        let mut segment: Option<Vec<u8>> = None;
        let mut answer = None;
        // On tap the Ethernet layer first: what carries IP goes on as on tun; ARP and
        // neighbour messages end here (`link`: their noise, if any).
        let mut link: Option<Option<Event>> = None;
        if let (Some(lan), Ok(Decapsulated::Data(frame))) = (data.lan.as_mut(), &result) {
            let frame: &[u8] = frame;
            match lan.receive(frame) {
                Received::Ip(ip) => result = Ok(Decapsulated::Data(ip)),
                // An ARP request of a neighbour's teaches its MAC as well as its reply.
                Received::Learned => link = Some(None),
                Received::Answer(frame) => {
                    answer = Some(frame);
                    link = Some(None);
                }
                // Multicast, other MACs, other addresses' ARP: noise, counted.
                Received::Ignored => {
                    link = Some(Some(Event::DataReceived {
                        kind: DataKind::Other,
                        len: packet.len(),
                        at: now,
                    }))
                }
            }
        }
        // The DNS server's reply to the lookup of `--http`'s name.
        let mut lookup_reply: Option<Vec<u8>> = None;
        if let (None, Ok(Decapsulated::Data(ip))) = (&link, &result) {
            lookup_reply = data
                .http
                .as_ref()
                .and_then(|h| h.lookup.as_ref())
                .and_then(|l| dns_reply_of(&l.dns, ip))
                .map(<[u8]>::to_vec);
        }
        let noise = match result {
            _ if link.is_some() => {
                data.decrypted = data.decrypted.saturating_add(1);
                link.take().flatten()
            }
            Ok(Decapsulated::Data(ip))
                if data.tcp.as_ref().is_some_and(|t| t.stack.is_ours(ip))
                    || data
                        .http
                        .as_ref()
                        .and_then(|h| h.stack.as_ref())
                        .is_some_and(|s| s.is_ours(ip)) =>
            {
                data.decrypted = data.decrypted.saturating_add(1);
                segment = Some(ip.to_vec());
                None
            }
            Ok(Decapsulated::Data(_)) if lookup_reply.is_some() => {
                data.decrypted = data.decrypted.saturating_add(1);
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
        self.on_learnt(&mut data, now);
        if let Some(event) = noise {
            self.data_noise(event);
            return State::Data { control, data };
        }
        if let Some(message) = lookup_reply {
            return self.on_lookup_reply(control, data, now, &message);
        }
        if let Some(ip) = segment {
            if let Some(tcp) = data.tcp.as_mut().filter(|t| t.stack.is_ours(&ip)) {
                tcp.stack.receive(&ip, now);
            } else if let Some(stack) = data.http.as_mut().and_then(|h| h.stack.as_mut()) {
                stack.receive(&ip, now);
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
    if let Some(message) = dns.as_ref().and_then(|d| dns_reply_of(d, ip)) {
        *dns_reply = Some(message.to_vec());
        return None;
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

/// The DNS message in `ip` when it is the reply to `d`'s question: from the server's port
/// 53 to our address and port, with our id.
fn dns_reply_of<'a>(d: &DnsState, ip: &'a [u8]) -> Option<&'a [u8]> {
    let u = parse_datagram(ip).ok()?;
    (u.source == d.path.target
        && u.destination == d.path.source
        && u.source_port == 53
        && u.destination_port == d.port
        && u.payload.get(..2) == d.query.get(..2))
    .then_some(u.payload)
}

/// A TCP connection from our tunnel address to `target`, its SYN queued: the path, or
/// why there is none (no pushed route or address covers `target`).
fn connect_through(
    reply: &PushReply,
    target: SocketAddr,
    port: u16,
    now: Instant,
) -> Result<(push::EchoPath, TcpProbe), push::NoPath> {
    let path = reply.echo_path(Some(target.ip()))?;
    let stack = TcpProbe::connect(path.source, target, port, STACK_MTU, now).ok_or_else(|| {
        push::NoPath {
            target: Some(target.ip()),
            no_address: true,
            routes: Vec::new(),
        }
    })?;
    Ok((path, stack))
}

/// `d`'s question as an IP packet from our tunnel address.
fn dns_packet(d: &DnsState, ip_id: u16) -> Option<Vec<u8>> {
    let mut packet = Vec::with_capacity(28 + d.query.len());
    Datagram {
        source: d.path.source,
        destination: d.path.target,
        source_port: d.port,
        destination_port: 53,
        payload: &d.query,
    }
    .encode(ip_id, &mut packet)
    .ok()?;
    Some(packet)
}

/// TLS between the TCP stream and the HTTP exchange: the request handed to rustls once
/// (it keeps it until the handshake ends), the server's records in, the plaintext out,
/// our records out as far as the TCP send buffer takes them; `closed` once the server's
/// stream ended (its close_notify, or the connection's end). `Err`: the TLS failure.
#[allow(clippy::too_many_arguments)]
fn tls_pump(
    conn: &mut rustls::ClientConnection,
    stack: &mut TcpProbe,
    wire: &mut Vec<u8>,
    request: &[u8],
    sent: &mut usize,
    got: &[u8],
    peer_done: bool,
    closed: &mut bool,
    now: Instant,
) -> Result<Vec<u8>, rustls::Error> {
    use std::io::{Read, Write};
    if *sent < request.len() && conn.writer().write_all(&request[*sent..]).is_ok() {
        *sent = request.len();
    }
    let mut plain = Vec::new();
    let mut input = got;
    let mut result = Ok(());
    let mut buf = [0u8; 8192];
    loop {
        let more = !input.is_empty();
        if more {
            if conn.read_tls(&mut input).is_err() {
                break;
            }
        } else if peer_done {
            // The server closed: rustls learns the end of the stream.
            let _ = conn.read_tls(&mut &[][..]);
        }
        if let Err(e) = conn.process_new_packets() {
            result = Err(e);
            break;
        }
        loop {
            match conn.reader().read(&mut buf) {
                Ok(0) => {
                    // close_notify: the server's stream ended cleanly.
                    *closed = true;
                    break;
                }
                Ok(n) => plain.extend_from_slice(&buf[..n]),
                Err(e) => {
                    *closed |= e.kind() == std::io::ErrorKind::UnexpectedEof;
                    break;
                }
            }
        }
        if !more || input.is_empty() {
            break;
        }
    }
    while conn.wants_write() {
        if conn.write_tls(wire).is_err() {
            break;
        }
    }
    if !wire.is_empty() {
        let n = stack.send(wire, now);
        wire.drain(..n);
    }
    result.map(|()| plain)
}
