//! One outcome graded: its state and the reason for it, as facts ([`assess`]), apart
//! from the words for it ([`words`]), without prefix or perfdata.

use super::names::{rejection_name, target_name, wrap_name};
use super::stages::{assess_login, assess_tls, Login, Tls};
use super::state::{human, State, Thresholds};
use crate::check::{Answer, KeyOrigin, Outcome, Target};
use crate::net::Ending;
use crate::range::Range;
use crate::wire::{Auth, Rejection, WrapKind};
use std::time::Duration;

/// A finding: how bad it is, and why, with the facts the words need.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub reason: Reason,
}

impl Verdict {
    pub(super) fn new(state: State, reason: impl Into<Reason>) -> Verdict {
        Verdict {
            state,
            reason: reason.into(),
        }
    }
}

/// Why a check came out as it did: one variant per stage, each stage's own enum one
/// variant per finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    Reset(Reset),
    Tls(Tls),
    Login(Login),
    Echoes(super::ping::Echoes),
    Dns(super::dns::Dns),
    Tcp(super::tcp::Tcp),
    Http(super::http::Http),
}

macro_rules! reason_from {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for Reason {
            fn from(r: $ty) -> Reason {
                Reason::$variant(r)
            }
        })*
    };
}
reason_from!(
    Reset(Reset),
    Tls(Tls),
    Login(Login),
    Echoes(super::ping::Echoes),
    Dns(super::dns::Dns),
    Tcp(super::tcp::Tcp),
    Http(super::http::Http)
);

/// The response time against `-w`/`-c`.
#[derive(Debug, Clone, PartialEq)]
pub enum Slow {
    Critical(Range),
    Warning(Range),
}

impl Slow {
    /// The range the time fell outside, critical first; `None` within both.
    pub(super) fn judge(elapsed: Duration, thresholds: &Thresholds) -> Option<Slow> {
        let secs = elapsed.as_secs_f64();
        match (&thresholds.critical, &thresholds.warning) {
            (Some(c), _) if c.alerts(secs) => Some(Slow::Critical(c.clone())),
            (_, Some(w)) if w.alerts(secs) => Some(Slow::Warning(w.clone())),
            _ => None,
        }
    }

    pub(super) fn state(slow: &Option<Slow>) -> State {
        match slow {
            Some(Slow::Critical(_)) => State::Critical,
            Some(Slow::Warning(_)) => State::Warning,
            None => State::Ok,
        }
    }

    /// `, response time outside critical range 2`, or nothing.
    pub(super) fn words(slow: &Option<Slow>) -> String {
        match slow {
            Some(Slow::Critical(r)) => format!(", response time outside critical range {r}"),
            Some(Slow::Warning(r)) => format!(", response time outside warning range {r}"),
            None => String::new(),
        }
    }
}

/// The reset stage: what became of our hard reset.
#[derive(Debug, Clone, PartialEq)]
pub enum Reset {
    /// The server answered (`auth`), or something came back unexamined (`None`,
    /// `--no-validation`).
    Answered {
        target: Target,
        auth: Option<Auth>,
        wrap: WrapKind,
        elapsed: Duration,
        /// The attempt that was answered, of how many, when it was not the first.
        attempt: Option<(u32, u32)>,
        slow: Option<Slow>,
    },
    /// Our session was answered, but its HMAC did not verify.
    BadHmac {
        target: Target,
        wrap: WrapKind,
        elapsed: Duration,
        key_origin: KeyOrigin,
    },
    /// Nothing valid came back.
    Failed {
        target: Target,
        ending: Ending,
        wrap: WrapKind,
        elapsed: Duration,
        /// The attempts made, when more than one was allowed.
        attempts: Option<u32>,
        /// Packets that were not the answer, by reason.
        ignored: Vec<(Rejection, u32)>,
    },
}

/// The state of one outcome and why, without words.
pub(super) fn assess(outcome: &Outcome, thresholds: &Thresholds) -> Verdict {
    if let (Some(tls), Answer::Answered(_)) = (&outcome.tls, &outcome.result) {
        if let (Some(login), true) = (&tls.login, outcome.end.established()) {
            return assess_login(outcome, tls, login, thresholds);
        }
        return assess_tls(outcome, tls, thresholds);
    }
    let target = outcome.target.clone();
    let (wrap, elapsed) = (outcome.wrap, outcome.elapsed);
    match &outcome.result {
        Answer::Answered(_) | Answer::Responded => {
            let slow = Slow::judge(elapsed, thresholds);
            Verdict::new(
                Slow::state(&slow),
                Reset::Answered {
                    target,
                    auth: match outcome.result {
                        Answer::Answered(a) => Some(a),
                        _ => None,
                    },
                    wrap,
                    elapsed,
                    attempt: (outcome.attempts > 1)
                        .then_some((outcome.attempts, outcome.max_attempts)),
                    slow,
                },
            )
        }
        Answer::BadAuth => Verdict::new(
            State::Warning,
            Reset::BadHmac {
                target,
                wrap,
                elapsed,
                key_origin: outcome.key_origin,
            },
        ),
        Answer::Failed(ending) => Verdict::new(
            State::Critical,
            Reset::Failed {
                target,
                ending: ending.clone(),
                wrap,
                elapsed,
                attempts: (outcome.max_attempts > 1).then_some(outcome.attempts),
                ignored: if outcome.ignored_total() > 0 {
                    outcome.ignored.iter().map(|(r, n)| (*r, *n)).collect()
                } else {
                    Vec::new()
                },
            },
        ),
    }
}

/// The words for a verdict: the status line's text, without prefix or perfdata.
pub(super) fn words(v: &Verdict) -> String {
    match &v.reason {
        Reason::Reset(r) => reset_words(r),
        Reason::Tls(t) => super::stages::tls_words(t),
        Reason::Login(l) => super::stages::login_words(l),
        Reason::Echoes(e) => super::ping::words(e),
        Reason::Dns(d) => super::dns::words(d),
        Reason::Tcp(t) => super::tcp::words(t),
        Reason::Http(h) => super::http::words(h),
    }
}

fn reset_words(r: &Reset) -> String {
    match r {
        Reset::Answered {
            target,
            auth,
            wrap,
            elapsed,
            attempt,
            slow,
        } => {
            let how = match auth {
                Some(Auth::Verified) => format!("{} verified", wrap_name(*wrap)),
                Some(Auth::NotChecked) => format!("{}, server HMAC not checked", wrap_name(*wrap)),
                Some(Auth::None) => wrap_name(*wrap),
                None => "answer not validated".to_string(),
            };
            let verb = if auth.is_none() {
                "responded"
            } else {
                "answered"
            };
            let on_attempt = attempt
                .map(|(n, of)| format!(" on attempt {n} of {of}"))
                .unwrap_or_default();
            format!(
                "{} {verb} in {}{on_attempt} ({how}){}",
                target_name(target),
                human(elapsed.as_secs_f64()),
                Slow::words(slow)
            )
        }
        Reset::BadHmac {
            target,
            wrap,
            elapsed,
            key_origin,
        } => {
            let advice = match key_origin {
                KeyOrigin::Hex => "check --digest-key-server and the key direction",
                KeyOrigin::File | KeyOrigin::Inline => {
                    "check the key direction (--key-direction, or the config's key-direction) and that the key is the server's"
                }
                KeyOrigin::None => "check the server's key",
            };
            format!(
                "{} answered our session in {}, but its {} HMAC did not verify: \
                 the server is up; {advice}",
                target_name(target),
                human(elapsed.as_secs_f64()),
                wrap_name(*wrap)
            )
        }
        Reset::Failed {
            target,
            ending,
            wrap,
            elapsed,
            attempts,
            ignored,
        } => {
            let why = match ending {
                Ending::TimedOut => {
                    let tries = attempts
                        .map(|n| format!(" after {n} attempts"))
                        .unwrap_or_default();
                    format!(
                        "no answer within {}{tries} ({})",
                        human(elapsed.as_secs_f64()),
                        wrap_name(*wrap)
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
            let mut text = format!("{}: {why}", target_name(target));
            if !ignored.is_empty() {
                let parts: Vec<String> = ignored
                    .iter()
                    .map(|(r, n)| format!("{n} {}", rejection_name(*r)))
                    .collect();
                text.push_str(&format!("; ignored {}", parts.join(", ")));
            }
            text
        }
    }
}
