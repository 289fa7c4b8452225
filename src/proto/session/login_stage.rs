//! The login stage: key-method 2 with the credentials once the chain passed, the server's
//! key-method 2 and control messages, and our `EXIT`.

use super::*;
use crate::proto::push::PushReply;

impl Session {
    /// The login stage, after each packet: finish the handshake, send key-method 2 once
    /// the chain passed, read the server's key-method 2 and control messages, answer a
    /// push or a refusal with `EXIT`, and end once `EXIT` is acknowledged.
    pub(super) fn drive_login(
        &mut self,
        mut t: Box<TlsState>,
        now: Instant,
    ) -> Option<Box<TlsState>> {
        self.report_chain(&mut t);
        if t.conn.is_handshaking() {
            self.queue_tls_output(&mut t);
            return Some(t);
        }
        if matches!(t.login.phase, LoginPhase::Start) {
            self.established_event(&t, now);
            if self.cfg.judge.is_some() {
                // No chain, or one with a problem: no credentials.
                let clean = t.judgement.as_ref().is_some_and(|j| j.problems.is_empty());
                if !clean {
                    self.emit(Event::LoginWithheld);
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
            t.login.phase = LoginPhase::KeySent;
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
                            failure: TlsFailure::Protocol(ProtocolFailure::OversizedPlaintext),
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
        if matches!(t.login.phase, LoginPhase::KeySent) && !t.login.plain.is_empty() {
            match login::parse_server_key_method_2(&t.login.plain) {
                Ok((message, random, used)) => {
                    t.login.plain.drain(..used);
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
                        t.login.phase = LoginPhase::Answered {
                            server,
                            pushed: None,
                        };
                        self.progress = self.progress.max(Progress::Answered);
                        self.emit(Event::PointToPoint { at: now });
                        // Its EXIT makes a point-to-point server restart for its next
                        // peer at once, without an ack: do not wait for one.
                        self.send_exit(&mut t, now);
                        self.queue_tls_output(&mut t);
                        self.finish(t, now, Why::Reached);
                        return None;
                    }
                    t.login.phase = LoginPhase::AwaitAnswer(server);
                    self.timers
                        .set(Timer::PushRequest, now + FIRST_PUSH_REQUEST);
                }
                Err(login::Km2Error::Incomplete) => {}
                Err(login::Km2Error::Invalid) => {
                    self.emit(Event::TlsFailed {
                        failure: TlsFailure::Protocol(ProtocolFailure::NotKeyMethod2),
                        at: now,
                    });
                    self.finish(t, now, Why::Failed);
                    return None;
                }
            }
        }
        if t.login.server().is_some() {
            for text in login::take_messages(&mut t.login.plain) {
                let message = login::parse_control_message(&text);
                match &message {
                    login::ControlMessage::PushReply { options, more } => {
                        t.login.push.extend(options.iter().cloned());
                        if !more && matches!(t.login.phase, LoginPhase::AwaitAnswer(_)) {
                            self.timers.stop(Timer::PushRequest);
                            self.progress = self.progress.max(Progress::Answered);
                            let reply = PushReply::new(std::mem::take(&mut t.login.push));
                            t.login.answer(Some(reply.clone()));
                            self.emit(Event::Pushed { reply, at: now });
                        }
                    }
                    login::ControlMessage::AuthFailed { .. }
                    | login::ControlMessage::Restart(_)
                    | login::ControlMessage::Halt(_)
                    | login::ControlMessage::Exit => {
                        t.login.answer(None);
                        self.timers.stop(Timer::PushRequest);
                        self.progress = self.progress.max(Progress::Answered);
                    }
                    _ => {}
                }
                self.emit(Event::Control { message, at: now });
            }
            // After a push the data stage decides how to leave.
            if t.login.answered() && !t.login.exit_sent && t.login.pushed().is_none() {
                self.send_exit(&mut t, now);
            }
        }
        self.queue_tls_output(&mut t);
        if t.login.exit_sent && t.reliable.all_acked() && self.progress < Progress::Exited {
            self.progress = Progress::Exited;
            self.emit(Event::ExitAcked { at: now });
            let why = t.login.leave_why.unwrap_or(Why::Reached);
            if self.cfg.wait_for_close && self.cfg.stream {
                // The driver ends the flow when the server closes the connection.
                self.end(why);
                return Some(t);
            }
            self.finish(t, now, why);
            return None;
        }
        Some(t)
    }

    /// `EXIT` over the control channel: a 2.6 server frees the client at once instead of
    /// keeping it until ping-restart.
    pub(super) fn send_exit(&mut self, t: &mut TlsState, now: Instant) {
        if t.login.exit_sent {
            return;
        }
        if t.conn.writer().write_all(b"EXIT\0").is_ok() {
            t.login.exit_sent = true;
            self.emit(Event::ExitSent { at: now });
        }
    }
}
