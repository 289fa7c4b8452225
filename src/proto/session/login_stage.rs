//! The login stage: key-method 2 with the credentials once the chain passed, the server's
//! key-method 2 and control messages, and our `EXIT`.

use super::*;
use crate::proto::push::PushReply;

/// What the server answered to the login.
enum Answer {
    Pushed(PushReply),
    /// `AUTH_FAILED`, `RESTART`, `HALT` or `EXIT`.
    Refused,
}

impl Session {
    /// The handshake ended: our key-method 2 goes, with the credentials, unless the chain
    /// failed the policy (or there is no login to send).
    pub(super) fn start_login(&mut self, h: Box<Handshake>, now: Instant) -> State {
        let Handshake {
            mut control, chain, ..
        } = *h;
        self.established_event(&control, now);
        if self.cfg.judge.is_some() {
            // No chain, or one with a problem: no credentials.
            let clean = matches!(&chain, Chain::Seen(Some(j)) if j.problems.is_empty());
            if !clean {
                self.emit(Event::LoginWithheld);
                self.queue_tls_output(&mut control);
                self.finish(&mut control, now, Why::Withheld);
                return State::Done;
            }
        }
        let Some(hello) = &self.cfg.login else {
            self.finish(&mut control, now, Why::Reached);
            return State::Done;
        };
        let message = login::client_key_method_2(hello, &self.random.key_method_2);
        // One write, one TLS record: the server parses key-method 2 from one read.
        if control.conn.writer().write_all(&message).is_err() {
            self.finish(&mut control, now, Why::Failed);
            return State::Done;
        }
        self.progress = self.progress.max(Progress::KeySent);
        self.emit(Event::KeySent { at: now });
        self.await_key_method_2(Box::new(control), now)
    }

    /// A packet while our key-method 2 waits for the server's.
    pub(super) fn on_key_method_2_packet(
        &mut self,
        mut c: Box<Control>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        if self.take_control_packet(&mut c, now, packet).is_none() {
            return State::AwaitKeyMethod2(c);
        }
        if let Err(failure) = self.read_records(&mut c) {
            return self.tls_failed(&mut c, failure, now);
        }
        self.await_key_method_2(c, now)
    }

    /// The server's plaintext so far: its key-method 2, once whole, and what follows it.
    fn await_key_method_2(&mut self, mut c: Box<Control>, now: Instant) -> State {
        if !self.read_plain(&mut c, false, now) {
            return State::Done;
        }
        if c.plain.is_empty() {
            self.queue_tls_output(&mut c);
            return State::AwaitKeyMethod2(c);
        }
        match login::parse_server_key_method_2(&c.plain) {
            Ok((message, random, used)) => {
                c.plain.drain(..used);
                let server = ServerKey {
                    random,
                    tap: message.options.split(',').any(|o| o == "dev-type tap"),
                };
                self.progress = self.progress.max(Progress::KeyReceived);
                // A multi-client server sends no peer info of its own; a 2.6
                // point-to-point server does (for its NCP) and pushes nothing: there the
                // login ends here.
                let point_to_point = !message.peer_info.is_empty();
                self.emit(Event::ServerKeyMethod2 { message, at: now });
                if point_to_point {
                    self.progress = self.progress.max(Progress::Answered);
                    self.emit(Event::PointToPoint { at: now });
                    // Its EXIT makes a point-to-point server restart for its next
                    // peer at once, without an ack: do not wait for one.
                    self.send_exit(&mut c, now);
                    self.queue_tls_output(&mut c);
                    self.finish(&mut c, now, Why::Reached);
                    return State::Done;
                }
                self.timers
                    .set(Timer::PushRequest, now + FIRST_PUSH_REQUEST);
                self.await_push(
                    Box::new(AwaitPush {
                        control: *c,
                        server,
                        push: Vec::new(),
                    }),
                    now,
                )
            }
            Err(login::Km2Error::Incomplete) => {
                self.queue_tls_output(&mut c);
                State::AwaitKeyMethod2(c)
            }
            Err(login::Km2Error::Invalid) => {
                self.emit(Event::TlsFailed {
                    failure: TlsFailure::Protocol(ProtocolFailure::NotKeyMethod2),
                    at: now,
                });
                self.finish(&mut c, now, Why::Failed);
                State::Done
            }
        }
    }

    /// A packet while the login waits for the server's answer.
    pub(super) fn on_push_packet(
        &mut self,
        mut p: Box<AwaitPush>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        if self
            .take_control_packet(&mut p.control, now, packet)
            .is_none()
        {
            return State::AwaitPush(p);
        }
        if !self.read_after_handshake(&mut p.control, false, now) {
            return State::Done;
        }
        self.await_push(p, now)
    }

    /// The server's control messages: a whole push enters the data stage, a refusal is
    /// answered with `EXIT`.
    fn await_push(&mut self, mut p: Box<AwaitPush>, now: Instant) -> State {
        let mut answer = None;
        for text in login::take_messages(&mut p.control.plain) {
            let message = login::parse_control_message(&text);
            match &message {
                login::ControlMessage::PushReply { options, more } => {
                    p.push.extend(options.iter().cloned());
                    if !more && answer.is_none() {
                        self.timers.stop(Timer::PushRequest);
                        self.progress = self.progress.max(Progress::Answered);
                        let reply = PushReply::new(std::mem::take(&mut p.push));
                        answer = Some(Answer::Pushed(reply.clone()));
                        self.emit(Event::Pushed { reply, at: now });
                    }
                }
                login::ControlMessage::AuthFailed { .. }
                | login::ControlMessage::Restart(_)
                | login::ControlMessage::Halt(_)
                | login::ControlMessage::Exit => {
                    answer.get_or_insert(Answer::Refused);
                    self.timers.stop(Timer::PushRequest);
                    self.progress = self.progress.max(Progress::Answered);
                }
                _ => {}
            }
            self.emit(Event::Control { message, at: now });
        }
        match answer {
            None => {
                self.queue_tls_output(&mut p.control);
                State::AwaitPush(p)
            }
            Some(Answer::Refused) => {
                self.leave_by_control(Box::new(p.control), None, now, Why::Reached)
            }
            Some(Answer::Pushed(reply)) => {
                let AwaitPush {
                    control, server, ..
                } = *p;
                let mut control = Box::new(control);
                self.queue_tls_output(&mut control);
                // The data stage decides what follows.
                self.enter_data(control, server, reply, now)
            }
        }
    }

    /// After the handshake: the server's records into rustls and its plaintext read.
    /// `false` when that ended the session (said, and sealed): rustls refused the records,
    /// or the plaintext outgrew any OpenVPN message (then `EXIT` goes unless it went).
    pub(super) fn read_after_handshake(
        &mut self,
        c: &mut Control,
        exit_sent: bool,
        now: Instant,
    ) -> bool {
        if let Err(failure) = self.read_records(c) {
            self.tls_failed(c, failure, now);
            return false;
        }
        self.read_plain(c, exit_sent, now)
    }

    /// The server's plaintext into `c.plain`; `false` when it outgrew any OpenVPN message:
    /// the session ended (said, `EXIT` sent unless it went, sealed).
    fn read_plain(&mut self, c: &mut Control, exit_sent: bool, now: Instant) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match c.conn.reader().read(&mut chunk) {
                Ok(0) | Err(_) => return true,
                Ok(n) => {
                    if c.plain.len() + n > login::MAX_PLAINTEXT {
                        self.emit(Event::TlsFailed {
                            failure: TlsFailure::Protocol(ProtocolFailure::OversizedPlaintext),
                            at: now,
                        });
                        if !exit_sent {
                            self.send_exit(c, now);
                        }
                        self.finish(c, now, Why::Failed);
                        return false;
                    }
                    c.plain.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }

    /// The server's control messages after its answer: said, nothing more.
    pub(super) fn later_messages(&mut self, c: &mut Control, now: Instant) {
        for text in login::take_messages(&mut c.plain) {
            let message = login::parse_control_message(&text);
            self.emit(Event::Control { message, at: now });
        }
    }

    /// `EXIT` over the control channel: a 2.6 server frees the client at once instead of
    /// keeping it until ping-restart. `false` when rustls would not take it.
    pub(super) fn send_exit(&mut self, c: &mut Control, now: Instant) -> bool {
        let sent = c.conn.writer().write_all(b"EXIT\0").is_ok();
        if sent {
            self.emit(Event::ExitSent { at: now });
        }
        sent
    }

    /// `EXIT` over the control channel; its ack ends the session with `why`. The data
    /// channel's last packets, if it ran, leave after the control channel's.
    pub(super) fn leave_by_control(
        &mut self,
        mut control: Box<Control>,
        data: Option<Box<DataState>>,
        now: Instant,
        why: Why,
    ) -> State {
        let sent = self.send_exit(&mut control, now);
        self.queue_tls_output(&mut control);
        if !sent {
            // Nothing will be acknowledged: there is nothing to wait for.
            return self.finish_with(&mut control, data, now, why);
        }
        State::Leaving { control, data, why }
    }

    /// A packet after our `EXIT` went (`why`: how the session ends once it is
    /// acknowledged), or while lingering after its ack (`why` is `None`).
    pub(super) fn on_leaving_packet(
        &mut self,
        mut control: Box<Control>,
        data: Option<Box<DataState>>,
        why: Option<Why>,
        now: Instant,
        packet: &[u8],
    ) -> State {
        let keep = |control, data| match why {
            Some(why) => State::Leaving { control, data, why },
            None => State::Lingering { control, data },
        };
        let opcode = packet.first().map_or(0, |b| b >> 3);
        let data_packet =
            opcode == crate::proto::data::P_DATA_V1 || opcode == crate::proto::data::P_DATA_V2;
        if data.is_some() && data_packet {
            // The data stage is over: its packets are dropped unread.
            return keep(control, data);
        }
        if self
            .take_control_packet(&mut control, now, packet)
            .is_none()
        {
            return keep(control, data);
        }
        if !self.read_after_handshake(&mut control, true, now) {
            self.outbox.extend(data.into_iter().flat_map(|d| d.outbox));
            return State::Done;
        }
        self.later_messages(&mut control, now);
        self.queue_tls_output(&mut control);
        let Some(why) = why.filter(|_| control.reliable.all_acked()) else {
            return keep(control, data);
        };
        self.progress = Progress::Exited;
        self.emit(Event::ExitAcked { at: now });
        if self.cfg.wait_for_close && self.cfg.stream {
            // The driver ends the flow when the server closes the connection.
            self.end(why);
            return State::Lingering { control, data };
        }
        self.finish_with(&mut control, data, now, why)
    }

    /// Ends the session: the control channel's last packets, then the data channel's.
    pub(super) fn finish_with(
        &mut self,
        control: &mut Control,
        data: Option<Box<DataState>>,
        now: Instant,
        why: Why,
    ) -> State {
        self.finish(control, now, why);
        self.outbox.extend(data.into_iter().flat_map(|d| d.outbox));
        State::Done
    }
}
