//! The reset stage: the server's hard reset for our session, validated, then on to TLS.

use super::*;

impl Session {
    /// A packet while our hard reset waits for the server's: the state that follows.
    pub(super) fn on_reset_packet(&mut self, sent: u32, now: Instant, packet: &[u8]) -> State {
        if !self.cfg.validate {
            self.emit(Event::Responded {
                at: now,
                len: packet.len(),
            });
            self.attempts_done = sent;
            return self.end_now(Why::Responded);
        }
        // Our own client reset (its opcode and our session id in the clear header), sent
        // back.
        let client_reset = [
            wire::P_CONTROL_HARD_RESET_CLIENT_V2,
            wire::P_CONTROL_HARD_RESET_CLIENT_V3,
        ];
        if packet.len() >= wire::HEADER_LEN
            && client_reset.contains(&(packet[0] >> 3))
            && packet[1..wire::HEADER_LEN] == self.sealer.session_id
        {
            self.ignore(Rejection::Echo, packet, now);
            return State::AwaitReset { sent };
        }
        match packet::validate_server_reset(&self.cfg.wrap, packet, &self.sealer.session_id) {
            Ok(ServerReset {
                session_id: server_session,
                auth,
                resend_wkc,
            }) => {
                self.reset_rtt =
                    Some(now.saturating_duration_since(self.attempt_start(sent.saturating_sub(1))));
                self.progress = Progress::ResetAnswered;
                self.attempts_done = sent;
                self.emit(Event::ResetAnswered {
                    server_session,
                    auth,
                    attempt: sent,
                    at: now,
                    resend_wkc,
                });
                match self.cfg.stage {
                    Stage::Reset => self.end_now(Why::Reached),
                    Stage::Tls | Stage::Login => self.start_tls(now, server_session, resend_wkc),
                }
            }
            Err(Rejection::BadAuth) => {
                self.ignore(Rejection::BadAuth, packet, now);
                // No point in retrying: wait out this attempt for a better answer.
                let end = self.attempt_start(sent.max(1));
                self.timers.set(Timer::BadAuthStop, end);
                State::AwaitReset { sent }
            }
            Err(reason) => {
                self.ignore(reason, packet, now);
                State::AwaitReset { sent }
            }
        }
    }
}
