//! One outcome's state and the words for it, without prefix or perfdata.

use super::names::{rejection_name, target_name, wrap_name};
use super::stages::{assess_login, assess_tls};
use super::state::{human, opt, State, Thresholds};
use crate::check::{Answer, KeyOrigin, Outcome};
use crate::net::Ending;
use crate::wire::Auth;

/// The state of one outcome and the words for it, without prefix or perfdata.
pub(super) fn assess(outcome: &Outcome, thresholds: &Thresholds) -> (State, String) {
    let secs = outcome.elapsed.as_secs_f64();
    let on_attempt = if outcome.attempts > 1 {
        format!(
            " on attempt {} of {}",
            outcome.attempts, outcome.max_attempts
        )
    } else {
        String::new()
    };
    let target = &target_name(&outcome.target);
    if let (Some(tls), Answer::Answered(_)) = (&outcome.tls, &outcome.result) {
        if let (Some(login), true) = (&tls.login, tls.established()) {
            return assess_login(outcome, tls, login, thresholds);
        }
        return assess_tls(outcome, tls, thresholds);
    }
    match &outcome.result {
        Answer::Answered(_) | Answer::Responded => {
            let how = match &outcome.result {
                Answer::Answered(Auth::Verified) => format!("{} verified", wrap_name(outcome.wrap)),
                Answer::Answered(Auth::NotChecked) => {
                    format!("{}, server HMAC not checked", wrap_name(outcome.wrap))
                }
                Answer::Answered(Auth::None) => wrap_name(outcome.wrap),
                _ => "answer not validated".to_string(),
            };
            let verb = if outcome.result == Answer::Responded {
                "responded"
            } else {
                "answered"
            };
            let mut text = format!("{target} {verb} in {}{on_attempt} ({how})", human(secs));
            let state = if thresholds.critical.as_ref().is_some_and(|r| r.alerts(secs)) {
                text.push_str(&format!(
                    ", response time outside critical range {}",
                    opt(&thresholds.critical)
                ));
                State::Critical
            } else if thresholds.warning.as_ref().is_some_and(|r| r.alerts(secs)) {
                text.push_str(&format!(
                    ", response time outside warning range {}",
                    opt(&thresholds.warning)
                ));
                State::Warning
            } else {
                State::Ok
            };
            (state, text)
        }
        Answer::BadAuth => {
            let advice = match outcome.key_origin {
                KeyOrigin::Hex => "check --digest-key-server and the key direction",
                KeyOrigin::File | KeyOrigin::Inline => {
                    "check the key direction (--key-direction, or the config's key-direction) and that the key is the server's"
                }
                KeyOrigin::None => "check the server's key",
            };
            (
                State::Warning,
                format!(
                    "{target} answered our session in {}, but its {} HMAC did not verify: \
                     the server is up; {advice}",
                    human(secs),
                    wrap_name(outcome.wrap)
                ),
            )
        }
        Answer::Failed(ending) => {
            let why = match ending {
                Ending::TimedOut => {
                    let tries = if outcome.max_attempts > 1 {
                        format!(" after {} attempts", outcome.attempts)
                    } else {
                        String::new()
                    };
                    format!(
                        "no answer within {}{tries} ({})",
                        human(secs),
                        wrap_name(outcome.wrap)
                    )
                }
                Ending::Refused => "connection refused".to_string(),
                Ending::Reset => "connection reset by the server before it answered".to_string(),
                Ending::Closed => "connection closed by the server before it answered".to_string(),
                Ending::FrameTooLong(n) => {
                    format!("sent a {n}-byte frame, longer than any OpenVPN control packet")
                }
                Ending::Failed(e) => format!("network error: {e}"),
            };
            let mut text = format!("{target}: {why}");
            if outcome.ignored_total() > 0 {
                let parts: Vec<String> = outcome
                    .ignored
                    .iter()
                    .map(|(r, n)| format!("{n} {}", rejection_name(*r)))
                    .collect();
                text.push_str(&format!("; ignored {}", parts.join(", ")));
            }
            (State::Critical, text)
        }
    }
}
