//! The TLS stage: rustls (or the probing hello) over the reliable layer, until the server
//! has proven its certificate, and the session's end with its last flight sealed.

use super::*;

impl Session {
    /// The server's reset came: our hello goes, and the hello's stage begins. With
    /// `resend_wkc` (a tls-crypt-v2 server's stateless answer) the hello's first packet
    /// carries our wrapped key again.
    pub(super) fn start_tls(
        &mut self,
        now: Instant,
        server_session: SessionId,
        resend_wkc: bool,
    ) -> State {
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
                return self.end_now(Why::Failed);
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
        let mut control = Control {
            server_session,
            conn,
            reliable,
            plain: Vec::new(),
        };
        let state = if self.cfg.compat_hello {
            let hello = probe::client_hello(&self.random.probe_hello);
            self.queue_tls_bytes(&mut control, &hello, resend_wkc);
            State::Probe(Box::new(Probe {
                control,
                awaiting: Awaiting::FirstWord,
                flight: Vec::new(),
                hello_at: now,
            }))
        } else {
            let hello = Self::tls_output(&mut control);
            self.queue_tls_bytes(&mut control, &hello, resend_wkc);
            State::Handshake(Box::new(Handshake {
                control,
                capture,
                awaiting: Awaiting::FirstWord,
                chain: Chain::Unseen,
            }))
        };
        self.progress = Progress::HelloSent;
        // The reset stage's timers are over; give up when the server neither acks nor
        // answers our hello in time.
        self.timers.stop(Timer::Attempt);
        self.timers.stop(Timer::BadAuthStop);
        self.timers.set(Timer::Hello, now + self.hello_wait(rto));
        state
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

    /// What rustls wants to send.
    fn tls_output(c: &mut Control) -> Vec<u8> {
        let mut out = Vec::new();
        while c.conn.wants_write() {
            if c.conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        out
    }

    /// Moves what rustls wants to send into the reliable layer, cut to packet size.
    pub(super) fn queue_tls_output(&self, c: &mut Control) {
        let out = Self::tls_output(c);
        self.queue_tls_bytes(c, &out, false);
    }

    /// TLS bytes into the reliable layer, cut to packet size; with `wkc` the first packet
    /// carries our wrapped key (a tls-crypt-v2 server asked for it again).
    fn queue_tls_bytes(&self, c: &mut Control, out: &[u8], mut wkc: bool) {
        let mut rest = out;
        while !rest.is_empty() {
            let (opcode, budget) = if wkc {
                (P_CONTROL_WKC_V1, self.payload_budget(true))
            } else {
                (wire::P_CONTROL_V1, self.payload_budget(false))
            };
            wkc = false;
            let n = rest.len().min(budget);
            c.reliable.push(opcode, rest[..n].to_vec());
            rest = &rest[n..];
        }
    }

    /// Opens and checks one packet of our session, takes its acks and hands its message to
    /// the reliable layer; its opcode, or why it was ignored (said).
    pub(super) fn take_control_packet(
        &mut self,
        c: &mut Control,
        now: Instant,
        packet: &[u8],
    ) -> Option<u8> {
        let taken = self.open_control_packet(c, packet);
        if let Err(reason) = taken {
            self.ignore(reason, packet, now);
        }
        taken.ok()
    }

    fn open_control_packet(&self, c: &mut Control, packet: &[u8]) -> Result<u8, Rejection> {
        let opened = self.cfg.wrap.open(packet)?;
        if opened.auth.is_err() {
            return Err(Rejection::BadAuth);
        }
        let p = ControlPacket::parse(opened.header, &opened.body)?;
        if p.session_id != c.server_session {
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
                c.reliable.on_acks(&p.acks);
                Ok(p.opcode)
            }
            // Its reset again (our ack was lost), or TLS bytes.
            wire::P_CONTROL_HARD_RESET_SERVER_V2 | wire::P_CONTROL_V1 => {
                c.reliable.on_acks(&p.acks);
                let id = p.message_id.unwrap_or(0);
                if p.opcode == wire::P_CONTROL_HARD_RESET_SERVER_V2 && id != 0 {
                    return Err(Rejection::Unexpected);
                }
                match c.reliable.on_message(id, p.payload) {
                    Incoming::OutOfWindow => Err(Rejection::OutOfWindow),
                    Incoming::Accepted | Incoming::Duplicate => Ok(p.opcode),
                }
            }
            _ => Err(Rejection::Unexpected),
        }
    }

    /// A packet taken while the hello waits: anything but the server's reset again is its
    /// first word. A repeated reset proves nothing: a 2.6 server may still have no state
    /// for us, so keep acking its reset until something else of its arrives.
    fn hear(&mut self, awaiting: &mut Awaiting, opcode: u8) {
        if opcode != wire::P_CONTROL_HARD_RESET_SERVER_V2 {
            *awaiting = Awaiting::Flight;
            self.timers.stop(Timer::Hello);
            self.progress = self.progress.max(Progress::HelloAcked);
        }
    }

    /// A packet during rustls's handshake.
    pub(super) fn on_handshake_packet(
        &mut self,
        mut h: Box<Handshake>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        let Some(opcode) = self.take_control_packet(&mut h.control, now, packet) else {
            return State::Handshake(h);
        };
        self.hear(&mut h.awaiting, opcode);
        if let Err(failure) = self.read_records(&mut h.control) {
            self.report_chain(&mut h);
            return self.tls_failed(&mut h.control, failure, now);
        }
        if self.cfg.stage == Stage::Login {
            self.report_chain(&mut h);
            if h.control.conn.is_handshaking() {
                self.queue_tls_output(&mut h.control);
                return State::Handshake(h);
            }
            return self.start_login(h, now);
        }
        // Drain plaintext (none is expected before the handshake ends) so rustls' buffer
        // never fills.
        let mut sink = [0u8; 1024];
        while matches!(h.control.conn.reader().read(&mut sink), Ok(n) if n > 0) {}
        self.report_chain(&mut h);
        let conn = &h.control.conn;
        let proven = !conn.is_handshaking()
            || (conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2)
                && h.capture.tls12_signed());
        if proven {
            self.established_event(&h.control, now);
        }
        self.queue_tls_output(&mut h.control);
        if proven {
            self.finish(&mut h.control, now, Why::Reached);
            return State::Done;
        }
        State::Handshake(h)
    }

    /// A packet while the probing hello waits for the server's first flight.
    pub(super) fn on_probe_packet(
        &mut self,
        mut p: Box<Probe>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        let Some(opcode) = self.take_control_packet(&mut p.control, now, packet) else {
            return State::Probe(p);
        };
        self.hear(&mut p.awaiting, opcode);
        while let Some(chunk) = p.control.reliable.read() {
            if chunk.is_empty() {
                continue;
            }
            self.progress = self.progress.max(Progress::ServerSpoke);
            p.flight.extend_from_slice(&chunk);
            if let Some(answer) = probe::read_flight(&p.flight) {
                self.emit(Event::ProbeAnswer {
                    answer,
                    after: now.saturating_duration_since(p.hello_at),
                });
                self.finish(&mut p.control, now, Why::Probed);
                return State::Done;
            }
        }
        State::Probe(p)
    }

    /// Feeds the in-order stream to rustls; how it failed, if it did.
    pub(super) fn read_records(&mut self, c: &mut Control) -> Result<(), TlsFailure> {
        while let Some(chunk) = c.reliable.read() {
            if !chunk.is_empty() {
                self.progress = self.progress.max(Progress::ServerSpoke);
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let fed = c.conn.read_tls(&mut rest);
                // A ServerHello sets the version: an alert before it refused our hello.
                let before_server_hello = c.conn.protocol_version().is_none();
                fed.map_err(|e| TlsFailure::Protocol(ProtocolFailure::Unreadable(unreadable(&e))))
                    .and_then(|_| {
                        c.conn
                            .process_new_packets()
                            .map(|_| ())
                            .map_err(|e| self.classify(&e, before_server_hello))
                    })?;
            }
        }
        Ok(())
    }

    /// rustls refused the server's records: its alert goes out (it ends the server's side
    /// of the handshake), and the session ends.
    pub(super) fn tls_failed(
        &mut self,
        c: &mut Control,
        failure: TlsFailure,
        now: Instant,
    ) -> State {
        self.queue_tls_output(c);
        self.emit(Event::TlsFailed { failure, at: now });
        self.finish(c, now, Why::Failed);
        State::Done
    }

    pub(super) fn established_event(&mut self, c: &Control, now: Instant) {
        self.progress = self.progress.max(Progress::Established);
        self.emit(Event::TlsEstablished {
            version: c.conn.protocol_version(),
            suite: c.conn.negotiated_cipher_suite().map(|s| s.suite()),
            at: now,
        });
    }

    /// Ends the session, sealing what the reliable layer still has to send (our last
    /// flight, or rustls's alert) into the outbox: the driver drains `poll_transmit`
    /// before it closes, so they still leave, once. The server has spoken by then (a
    /// last flight answers its own), so nothing acks its reset again.
    pub(super) fn finish(&mut self, c: &mut Control, now: Instant, why: Why) {
        while let Some(packet) = self.sealer.next(&self.cfg.wrap, c, false, now) {
            self.outbox.push_back(packet);
        }
        self.end(why);
    }

    /// The chain, the first time it is there: judged once, and said.
    fn report_chain(&mut self, h: &mut Handshake) {
        if !matches!(h.chain, Chain::Unseen) || !h.capture.has_chain() {
            return;
        }
        self.progress = self.progress.max(Progress::ChainSeen);
        let chain = h.capture.chain();
        let judgement = self.cfg.judge.as_ref().map(|(policy, now_unix)| {
            let mut j = crate::chain::judge(&chain, policy, *now_unix);
            // tls-version-min 1.3: the server chose TLS 1.2 though 1.3 was offered.
            if let Some(rule) = &policy.rules.min_tls13 {
                if h.control.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2) {
                    j.problems.push(crate::chain::Problem::Rule {
                        rule: rule.clone(),
                        found: "it chose TLS 1.2 over 1.3".into(),
                    });
                }
            }
            j
        });
        h.chain = Chain::Seen(judgement.clone());
        self.emit(Event::ChainSeen { chain, judgement });
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
