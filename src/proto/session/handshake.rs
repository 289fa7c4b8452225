//! The TLS stage: rustls (or the probing hello) over the reliable layer, until the server
//! has proven its certificate, and the session's end with its last flight sealed.

use super::*;

impl Session {
    pub(super) fn start_tls(&mut self, now: Instant, server_session: SessionId, resend_wkc: bool) {
        let capture = Arc::new(Capture::default());
        let rules = self
            .cfg
            .judge
            .as_ref()
            .map(|(p, _)| p.rules.clone())
            .unwrap_or_default();
        let conn = tls::client_config(capture.clone(), self.cfg.client_auth.clone(), &rules)
            .and_then(|config| ClientConnection::new(config, self.cfg.server_name.clone()));
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                self.emit(Event::TlsFailed {
                    failure: TlsFailure::Incompatible(Incompatible::Setup(e)),
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
            judgement: None,
            finishing: false,
            heard: false,
            login: LoginState::default(),
            probe_flight: Vec::new(),
            hello_at: now,
        });
        if self.cfg.compat_hello {
            let hello = probe::client_hello(&self.random.probe_hello);
            self.queue_tls_bytes(&mut state, &hello);
        } else {
            self.queue_tls_output(&mut state);
        }
        self.progress = Progress::HelloSent;
        // The reset stage's timers are over; give up when the server neither acks nor
        // answers our hello in time.
        self.timers.stop(Timer::Attempt);
        self.timers.stop(Timer::BadAuthStop);
        self.timers.set(Timer::Hello, now + self.hello_wait(rto));
        self.state = State::Tls(state);
    }

    /// How long the server may stay silent after our hello, whose retransmission timeout
    /// is `rto`. A 2.6 server's answer to a hello it takes leaves at once (an ack, or its
    /// first flight with the ack on it) and a duplicate hello draws an ack, so a quick wait
    /// covers a lost hello: it outlasts the first retransmission and its round trip.
    pub(super) fn hello_wait(&self, rto: Duration) -> Duration {
        let whole = self.cfg.attempt_timeout;
        match self.cfg.hello_wait {
            HelloWait::Attempt => whole,
            HelloWait::Quick { at_least } => {
                let rtt = self.reset_rtt.unwrap_or(MAX_INITIAL_RTO);
                QUICK_HELLO.max(rto + rtt * 4).max(at_least).min(whole)
            }
        }
    }

    /// TLS bytes a control packet can carry: OpenVPN's tls-mtu less every header, and
    /// less the wrapped key where one rides along.
    pub(super) fn payload_budget(&self, with_wkc: bool) -> usize {
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
    pub(super) fn queue_tls_output(&self, t: &mut TlsState) {
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
    pub(super) fn queue_tls_bytes(&self, t: &mut TlsState, out: &[u8]) {
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

    pub(super) fn on_tls_stage_packet(&mut self, now: Instant, packet: &[u8]) {
        let (mut t, leaving) = match std::mem::replace(&mut self.state, State::Done) {
            State::Tls(t) => (t, false),
            State::Leaving(t) => (t, true),
            other => {
                self.state = other;
                return;
            }
        };
        let keep = |t| {
            if leaving {
                State::Leaving(t)
            } else {
                State::Tls(t)
            }
        };
        let verdict = self.take_control_packet(&mut t, now, packet);
        if let Err(reason) = verdict {
            self.ignore(reason, packet, now);
            self.state = keep(t);
            return;
        }
        // A repeated server reset proves nothing: a 2.6 server may still have no state for
        // us, so keep acking its reset until something else of its arrives.
        if verdict != Ok(wire::P_CONTROL_HARD_RESET_SERVER_V2) {
            t.heard = true;
            self.timers.stop(Timer::Hello);
            self.progress = self.progress.max(Progress::HelloAcked);
        }
        self.state = match self.feed_tls(t, now) {
            // The whole push came: the data stage decides what follows.
            Some(t) if !leaving && t.login.pushed().is_some() => self.enter_data(t, now),
            Some(t) => keep(t),
            None => State::Done,
        };
    }

    /// Opens and checks one packet of our session, takes its acks and hands its message to
    /// the reliable layer.
    pub(super) fn take_control_packet(
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
    pub(super) fn feed_tls(&mut self, mut t: Box<TlsState>, now: Instant) -> Option<Box<TlsState>> {
        if self.cfg.compat_hello {
            while let Some(chunk) = t.reliable.read() {
                if chunk.is_empty() {
                    continue;
                }
                self.progress = self.progress.max(Progress::ServerSpoke);
                t.probe_flight.extend_from_slice(&chunk);
                if let Some(answer) = probe::read_flight(&t.probe_flight) {
                    self.emit(Event::ProbeAnswer {
                        answer,
                        after: now.saturating_duration_since(t.hello_at),
                    });
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
                    .map_err(|e| TlsFailure::Protocol(ProtocolFailure::Unreadable(unreadable(&e))))
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

    pub(super) fn established_event(&mut self, t: &TlsState, now: Instant) {
        self.progress = self.progress.max(Progress::Established);
        self.emit(Event::TlsEstablished {
            version: t.conn.protocol_version(),
            suite: t.conn.negotiated_cipher_suite().map(|s| s.suite()),
            at: now,
        });
    }

    /// Ends the session, sealing what the reliable layer still has to send (our last
    /// flight, or rustls's alert) into the outbox: the driver drains `poll_transmit`
    /// before it closes, so they still leave, once.
    pub(super) fn finish(&mut self, mut t: Box<TlsState>, now: Instant, why: Why) {
        while let Some(packet) = self.sealer.next(&self.cfg.wrap, &mut t, now) {
            self.outbox.push_back(packet);
        }
        self.end(why);
    }

    pub(super) fn report_chain(&mut self, t: &mut TlsState) {
        if !t.chain_reported && t.capture.has_chain() {
            t.chain_reported = true;
            self.progress = self.progress.max(Progress::ChainSeen);
            let chain = t.capture.chain();
            t.judgement = self.cfg.judge.as_ref().map(|(policy, now_unix)| {
                let mut j = crate::chain::judge(&chain, policy, *now_unix);
                // tls-version-min 1.3: the server chose TLS 1.2 though 1.3 was offered.
                if let Some(rule) = &policy.rules.min_tls13 {
                    if t.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2) {
                        j.problems.push(crate::chain::Problem::Rule {
                            rule: rule.clone(),
                            found: "it chose TLS 1.2 over 1.3".into(),
                        });
                    }
                }
                j
            });
            self.emit(Event::ChainSeen {
                chain,
                judgement: t.judgement.clone(),
            });
        }
    }

    pub(super) fn classify(&self, e: &rustls::Error, before_server_hello: bool) -> TlsFailure {
        use rustls::Error as E;
        match e {
            E::AlertReceived(a) => TlsFailure::Alert {
                description: *a,
                before_server_hello,
            },
            E::PeerIncompatible(p) => TlsFailure::Incompatible(Incompatible::Peer(p.clone())),
            E::NoCertificatesPresented => TlsFailure::Protocol(ProtocolFailure::NoCertificate),
            E::InvalidCertificate(c) => TlsFailure::BadSignature(c.clone()),
            other => TlsFailure::Protocol(ProtocolFailure::Rustls(other.clone())),
        }
    }
}

/// Which buffer a failed `read_tls` found full: rustls says `InvalidData` for its record
/// buffer and `Other` for its plaintext buffer (reading from a slice fails no other way).
fn unreadable(e: &std::io::Error) -> Unreadable {
    match e.kind() {
        std::io::ErrorKind::InvalidData => Unreadable::MessageBuffer,
        _ => Unreadable::PlaintextBuffer,
    }
}
