//! From an [`Outcome`] to what a monitoring engine reads: a state, one status line with
//! perfdata, and optional long output.

mod diagnose;
mod server;
mod stages;
mod words;

pub use diagnose::render_diagnosis;
pub use server::{render_server, render_server_error, ServerThresholds};
pub use stages::date;
pub use words::{detail_line, note_line};

use crate::check::{Answer, KeyOrigin, Outcome};
use crate::range::Range;
use crate::transport::Ending;
use crate::wire::Auth;
use stages::{assess_login, assess_tls};
use std::fmt;
use words::{chain_lines, login_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    /// `-C`: days a certificate must still be valid.
    pub cert_days: Option<CertDays>,
}

/// `-C WARN[,CRIT]` in days. Without CRIT, CRITICAL once a certificate expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertDays {
    pub warning: i64,
    pub critical: Option<i64>,
}

impl CertDays {
    pub fn critical_days(&self) -> i64 {
        self.critical.unwrap_or(0)
    }
}

/// What the plugin prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub state: State,
    /// The first line, perfdata included.
    pub line: String,
    pub long: Vec<String>,
}

impl Report {
    pub fn unknown(message: impl fmt::Display) -> Report {
        Report {
            state: State::Unknown,
            line: format!("OPENVPN UNKNOWN - {message}"),
            long: Vec::new(),
        }
    }

    pub fn text(&self) -> String {
        let mut out = self.line.clone();
        out.push('\n');
        for l in &self.long {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// Seconds for people: milliseconds below one second.
fn human(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

fn opt(r: &Option<Range>) -> String {
    r.as_ref().map(|r| r.to_string()).unwrap_or_default()
}

/// The state of one outcome and the words for it, without prefix or perfdata.
fn assess(outcome: &Outcome, thresholds: &Thresholds) -> (State, String) {
    let secs = outcome.elapsed.as_secs_f64();
    let on_attempt = if outcome.attempts > 1 {
        format!(
            " on attempt {} of {}",
            outcome.attempts, outcome.max_attempts
        )
    } else {
        String::new()
    };
    let target = &outcome.target;
    if let (Some(tls), Answer::Answered(_)) = (&outcome.tls, &outcome.result) {
        if let (Some(login), true) = (&tls.login, tls.established()) {
            return assess_login(outcome, tls, login, thresholds);
        }
        return assess_tls(outcome, tls, thresholds);
    }
    match &outcome.result {
        Answer::Answered(_) | Answer::Responded => {
            let how = match &outcome.result {
                Answer::Answered(Auth::Verified) => format!("{} verified", outcome.wrap),
                Answer::Answered(Auth::NotChecked) => {
                    format!("{}, server HMAC not checked", outcome.wrap)
                }
                Answer::Answered(Auth::None) => outcome.wrap.clone(),
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
                    outcome.wrap
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
                    format!("no answer within {}{tries} ({})", human(secs), outcome.wrap)
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
                    .map(|(r, n)| format!("{n} {}", r.describe()))
                    .collect();
                text.push_str(&format!("; ignored {}", parts.join(", ")));
            }
            (State::Critical, text)
        }
    }
}

/// Perfdata of one outcome; `suffix` names the address when there are several.
/// `time` is left out when nothing answered: a made-up time would distort graphs.
fn perfdata(outcome: &Outcome, thresholds: &Thresholds, suffix: Option<&str>) -> String {
    let label = |name: &str| match suffix {
        None => name.to_string(),
        Some(s) => format!("'{name}_{s}'"),
    };
    let attempts = format!(
        "{}={};;;1;{}",
        label("attempts"),
        outcome.attempts,
        outcome.max_attempts
    );
    let time = format!(
        "{}={:.6}s;{};{};0;{:.6}",
        label("time"),
        outcome.elapsed.as_secs_f64(),
        opt(&thresholds.warning),
        opt(&thresholds.critical),
        outcome.budget.as_secs_f64()
    );
    match (&outcome.result, &outcome.tls) {
        (Answer::Failed(_), _) => attempts,
        (_, Some(tls)) => {
            let mut parts = Vec::new();
            let reached = match &tls.login {
                Some(l) => l.pushed.is_some() || l.auth_failed.is_some() || l.point_to_point,
                None => tls.established(),
            };
            if reached {
                parts.push(time);
            }
            if let Some(t) = tls.login.as_ref().and_then(|l| l.login_time) {
                parts.push(format!(
                    "{}={:.6}s;;;0;{:.6}",
                    label("login_time"),
                    t.as_secs_f64(),
                    outcome.budget.as_secs_f64()
                ));
            }
            if let Some(t) = tls.tls_time {
                parts.push(format!(
                    "{}={:.6}s;;;0;{:.6}",
                    label("tls_time"),
                    t.as_secs_f64(),
                    outcome.budget.as_secs_f64()
                ));
            }
            if let Some(first) = tls.judgement.as_ref().and_then(|j| j.soonest()) {
                let (w, c) = match &thresholds.cert_days {
                    Some(d) => (format!("{}:", d.warning), format!("{}:", d.critical_days())),
                    None => (String::new(), String::new()),
                };
                parts.push(format!(
                    "{}={};{w};{c};;",
                    label("cert_days"),
                    first.days_left(outcome.now_unix)
                ));
            }
            parts.push(attempts);
            parts.join(" ")
        }
        _ => format!("{time} {attempts}"),
    }
}

pub fn render(outcome: &Outcome, thresholds: &Thresholds) -> Report {
    let (state, text) = assess(outcome, thresholds);
    let mut long: Vec<String> = outcome.details.iter().map(detail_line).collect();
    if let Some(tls) = &outcome.tls {
        if !long.is_empty() {
            long.extend(chain_lines(tls, outcome.now_unix));
            if let Some(login) = &tls.login {
                long.extend(login_lines(login));
            }
        }
    }
    Report {
        state,
        line: format!(
            "OPENVPN {state} - {text} | {}",
            perfdata(outcome, thresholds, None)
        ),
        long,
    }
}

/// `--all-addresses`: the worst state of all addresses wins; each address gets a line of
/// long output and its own perfdata (`'time_192.0.2.7'`).
pub fn render_all(host: &str, outcomes: &[Outcome], thresholds: &Thresholds) -> Report {
    let assessed: Vec<(State, String)> = outcomes.iter().map(|o| assess(o, thresholds)).collect();
    let worst = assessed
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(State::Unknown);
    let total = outcomes.len();
    let bad: Vec<&String> = assessed
        .iter()
        .filter(|(s, _)| *s == worst)
        .map(|(_, t)| t)
        .collect();
    let summary = if worst == State::Ok {
        let times: Vec<String> = outcomes
            .iter()
            .map(|o| format!("{} in {}", o.addr.ip(), human(o.elapsed.as_secs_f64())))
            .collect();
        format!(
            "{host}: all {total} addresses answered ({})",
            times.join(", ")
        )
    } else {
        format!(
            "{host}: {} of {total} addresses {worst}: {}",
            bad.len(),
            bad.iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let perf: Vec<String> = outcomes
        .iter()
        .map(|o| perfdata(o, thresholds, Some(&o.addr.ip().to_string())))
        .collect();
    let mut long: Vec<String> = assessed
        .iter()
        .map(|(state, text)| format!("[{state}] {text}"))
        .collect();
    for o in outcomes {
        long.extend(o.details.iter().map(detail_line));
    }
    Report {
        state: worst,
        line: format!("OPENVPN {worst} - {summary} | {}", perf.join(" ")),
        long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Diagnosis;
    use crate::wire::Rejection;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn outcome(result: Answer, ms: u64) -> Outcome {
        Outcome {
            target: "192.0.2.7:1194/udp".into(),
            addr: "192.0.2.7:1194".parse().unwrap(),
            wrap: "tls-auth SHA256".into(),
            result,
            elapsed: Duration::from_micros(ms * 1000 + 100),
            attempts: 1,
            max_attempts: 3,
            budget: Duration::from_secs(6),
            ignored: BTreeMap::new(),
            tls: None,
            now_unix: 0,
            key_origin: crate::check::KeyOrigin::None,
            details: vec![],
        }
    }

    fn th(w: &str, c: &str) -> Thresholds {
        Thresholds {
            warning: Some(w.parse().unwrap()),
            critical: Some(c.parse().unwrap()),
            cert_days: None,
        }
    }

    #[test]
    fn ok_line_and_perfdata() {
        let r = render(&outcome(Answer::Answered(Auth::Verified), 2), &th("1", "2"));
        assert_eq!(r.state, State::Ok);
        assert_eq!(
            r.line,
            "OPENVPN OK - 192.0.2.7:1194/udp answered in 2.1 ms (tls-auth SHA256 verified) \
             | time=0.002100s;1;2;0;6.000000 attempts=1;;;1;3"
        );
    }

    #[test]
    fn thresholds_raise_the_state() {
        let o = outcome(Answer::Answered(Auth::Verified), 1500);
        assert_eq!(render(&o, &th("1", "2")).state, State::Warning);
        let o = outcome(Answer::Answered(Auth::Verified), 2500);
        let r = render(&o, &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert!(r.line.contains("critical range 2"), "{}", r.line);
        assert_eq!(render(&o, &Thresholds::default()).state, State::Ok);
    }

    #[test]
    fn failures_are_critical_without_time_perfdata() {
        let mut o = outcome(Answer::Failed(Ending::TimedOut), 6000);
        o.attempts = 3;
        o.ignored.insert(Rejection::OtherSession, 2);
        let r = render(&o, &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert_eq!(
            r.line,
            "OPENVPN CRITICAL - 192.0.2.7:1194/udp: no answer within 6.00 s after 3 attempts \
             (tls-auth SHA256); ignored 2 for another session | attempts=3;;;1;3"
        );
        let r = render(&outcome(Answer::Failed(Ending::Refused), 0), &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert!(r.line.contains("connection refused"));
    }

    #[test]
    fn all_addresses_worst_state_wins() {
        let good = outcome(Answer::Answered(Auth::Verified), 2);
        let mut down = outcome(Answer::Failed(Ending::Refused), 0);
        down.target = "[2001:db8::1]:1194/udp".into();
        down.addr = "[2001:db8::1]:1194".parse().unwrap();
        let r = render_all("vpn", &[good.clone(), down], &Thresholds::default());
        assert_eq!(r.state, State::Critical);
        assert_eq!(
            r.line,
            "OPENVPN CRITICAL - vpn: 1 of 2 addresses CRITICAL: [2001:db8::1]:1194/udp: connection refused \
             | 'time_192.0.2.7'=0.002100s;;;0;6.000000 'attempts_192.0.2.7'=1;;;1;3 'attempts_2001:db8::1'=1;;;1;3"
        );
        assert_eq!(
            r.long[0],
            "[OK] 192.0.2.7:1194/udp answered in 2.1 ms (tls-auth SHA256 verified)"
        );
        assert!(r.long[1].starts_with("[CRITICAL] [2001:db8::1]"));
        let mut good6 = good.clone();
        good6.addr = "[2001:db8::1]:1194".parse().unwrap();
        let r = render_all("vpn", &[good, good6], &Thresholds::default());
        assert_eq!(r.state, State::Ok);
        assert!(
            r.line.starts_with(
                "OPENVPN OK - vpn: all 2 addresses answered (192.0.2.7 in 2.1 ms, 2001:db8::1 in 2.1 ms) \
                 | 'time_192.0.2.7'="
            ),
            "{}",
            r.line
        );
    }

    #[test]
    fn bad_hmac_is_a_warning() {
        let r = render(&outcome(Answer::BadAuth, 2), &Thresholds::default());
        assert_eq!(r.state, State::Warning);
        assert!(r.line.contains("did not verify"), "{}", r.line);
    }

    #[test]
    fn diagnose_verbose_words_failures_for_people() {
        let trial = |label: &str, result| crate::check::Trial {
            label: label.into(),
            advice: String::new(),
            result,
            elapsed: Duration::from_millis(1),
        };
        let d = Diagnosis {
            target: "192.0.2.7:1194/tcp".into(),
            trials: vec![
                trial(
                    "a",
                    Answer::Failed(Ending::Failed("no route to host".into())),
                ),
                trial("b", Answer::Failed(Ending::FrameTooLong(5000))),
                trial("c", Answer::Failed(Ending::TimedOut)),
            ],
            timeout: Duration::from_secs(1),
            details: vec![],
        };
        let r = render_diagnosis(&d, 1);
        let long = r.long.join("\n");
        assert!(
            long.contains("a: network error: no route to host"),
            "{long}"
        );
        assert!(
            long.contains("b: a 5000-byte frame, longer than any OpenVPN control packet"),
            "{long}"
        );
        assert!(long.contains("c: no answer"), "{long}");
        assert!(
            !long.contains("failed(") && !long.contains("frametoolong"),
            "{long}"
        );
    }

    #[test]
    fn unknown_line() {
        let r = Report::unknown("no host given");
        assert_eq!(r.state.code(), 3);
        assert_eq!(r.line, "OPENVPN UNKNOWN - no host given");
    }
}
