//! From an [`Outcome`] to what a monitoring engine reads: a state, one status line with
//! perfdata, and optional long output.

mod dates;
mod diagnose;
mod dns;
mod http;
mod names;
mod ping;
mod remotes;
mod server;
mod stages;
mod state;
mod tcp;
mod verdict;
mod words;

pub use dates::date;
pub use diagnose::render_diagnosis;
pub use remotes::render_remotes;
pub use server::{render_server, render_server_error, ServerThresholds};
pub use state::{BadPingLimits, CertDays, PingLimits, Report, State, Thresholds};
pub use words::{detail_line, note_line};

use crate::check::{Answer, Outcome};
use state::{human, opt};
use verdict::{assess, words, Verdict};
use words::{chain_lines, login_lines};

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
                Some(l) => l.end.answered(),
                None => outcome.end.established(),
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
            if let Some(l) = &tls.login {
                parts.extend(ping::perfdata(&l.data, thresholds, label));
                if let Some(d) = &l.data.dns {
                    parts.extend(dns::perfdata(d, label));
                }
                if let Some(t) = &l.data.tcp {
                    parts.extend(tcp::perfdata(t, label));
                }
                if let Some(h) = &l.data.http {
                    parts.extend(http::perfdata(h, thresholds, outcome.now_unix, label));
                }
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
    let verdict = assess(outcome, thresholds);
    let state = verdict.state;
    let mut long: Vec<String> = outcome.details.iter().map(detail_line).collect();
    if let Some(tls) = &outcome.tls {
        if !long.is_empty() {
            long.extend(chain_lines(tls, outcome.now_unix));
            if let Some(login) = &tls.login {
                long.extend(login_lines(login, thresholds, outcome.now_unix));
            }
        }
    }
    Report {
        state,
        line: format!(
            "OPENVPN {state} - {} | {}",
            words(&verdict),
            perfdata(outcome, thresholds, None)
        ),
        long,
    }
}

/// `--all-addresses`: the worst state of all addresses wins; each address gets a line of
/// long output and its own perfdata (`'time_192.0.2.7'`).
pub fn render_all(host: &str, outcomes: &[Outcome], thresholds: &Thresholds) -> Report {
    let verdicts: Vec<Verdict> = outcomes.iter().map(|o| assess(o, thresholds)).collect();
    let worst = verdicts
        .iter()
        .map(|v| v.state)
        .max()
        .unwrap_or(State::Unknown);
    let total = outcomes.len();
    let bad: Vec<String> = verdicts
        .iter()
        .filter(|v| v.state == worst)
        .map(words)
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
            bad.join("; ")
        )
    };
    let perf: Vec<String> = outcomes
        .iter()
        .map(|o| perfdata(o, thresholds, Some(&o.addr.ip().to_string())))
        .collect();
    let mut long: Vec<String> = verdicts
        .iter()
        .map(|v| format!("[{}] {}", v.state, words(v)))
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
    use super::verdict::{Reason, Reset, Slow};
    use super::*;
    use crate::check::{Diagnosis, Target};
    use crate::net::{Ending, Proto};
    use crate::wire::Rejection;
    use crate::wire::{Auth, WrapKind};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn outcome(result: Answer, ms: u64) -> Outcome {
        Outcome {
            target: Target {
                host: "192.0.2.7".into(),
                addr: "192.0.2.7:1194".parse().unwrap(),
                proto: Proto::Udp,
            },
            addr: "192.0.2.7:1194".parse().unwrap(),
            wrap: WrapKind::TlsAuth(crate::digest::Digest::Sha256),
            end: crate::check::FlowEnd::Finished {
                reached: crate::proto::Progress::ResetAnswered,
                why: crate::proto::Why::Reached,
                then: None,
            },
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
            ..Default::default()
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
        let v = assess(&o, &th("1", "2"));
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(&v.reason, Reason::Reset(Reset::Answered { slow: Some(Slow::Warning(r)), .. }) if r.to_string() == "1"),
            "{v:?}"
        );
        let o = outcome(Answer::Answered(Auth::Verified), 2500);
        let v = assess(&o, &th("1", "2"));
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(&v.reason, Reason::Reset(Reset::Answered { slow: Some(Slow::Critical(r)), .. }) if r.to_string() == "2"),
            "{v:?}"
        );
        let v = assess(&o, &Thresholds::default());
        assert_eq!(v.state, State::Ok);
        assert!(
            matches!(
                &v.reason,
                Reason::Reset(Reset::Answered {
                    auth: Some(Auth::Verified),
                    attempt: None,
                    slow: None,
                    ..
                })
            ),
            "{v:?}"
        );
        // Answered on a later attempt: which one, of how many.
        let mut later = outcome(Answer::Responded, 2);
        later.attempts = 2;
        let v = assess(&later, &Thresholds::default());
        assert!(
            matches!(
                &v.reason,
                Reason::Reset(Reset::Answered {
                    auth: None,
                    attempt: Some((2, 3)),
                    ..
                })
            ),
            "{v:?}"
        );
    }

    /// The words of a failure and of the slow range, pinned.
    #[test]
    fn failure_and_slow_words() {
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
        let o = outcome(Answer::Answered(Auth::Verified), 2500);
        assert_eq!(
            words(&assess(&o, &th("1", "2"))),
            "192.0.2.7:1194/udp answered in 2.50 s (tls-auth SHA256 verified), \
             response time outside critical range 2"
        );
    }

    #[test]
    fn failures_are_critical() {
        let mut o = outcome(Answer::Failed(Ending::TimedOut), 6000);
        o.attempts = 3;
        o.ignored.insert(Rejection::OtherSession, 2);
        let v = assess(&o, &th("1", "2"));
        assert_eq!(v.state, State::Critical);
        assert_eq!(
            v.reason,
            Reason::Reset(Reset::Failed {
                target: o.target.clone(),
                ending: Ending::TimedOut,
                wrap: o.wrap,
                elapsed: o.elapsed,
                attempts: Some(3),
                ignored: vec![(Rejection::OtherSession, 2)],
            })
        );
        let mut once = outcome(Answer::Failed(Ending::Refused), 0);
        once.max_attempts = 1;
        let v = assess(&once, &th("1", "2"));
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(
                &v.reason,
                Reason::Reset(Reset::Failed {
                    ending: Ending::Refused,
                    attempts: None,
                    ignored,
                    ..
                }) if ignored.is_empty()
            ),
            "{v:?}"
        );
        // No time perfdata without an answer.
        let r = render(&once, &th("1", "2"));
        assert!(r.line.ends_with("| attempts=1;;;1;1"), "{}", r.line);
    }

    #[test]
    fn all_addresses_worst_state_wins() {
        let good = outcome(Answer::Answered(Auth::Verified), 2);
        let mut down = outcome(Answer::Failed(Ending::Refused), 0);
        down.target = Target {
            host: "2001:db8::1".into(),
            addr: "[2001:db8::1]:1194".parse().unwrap(),
            proto: Proto::Udp,
        };
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
        let mut o = outcome(Answer::BadAuth, 2);
        o.key_origin = crate::check::KeyOrigin::Hex;
        let v = assess(&o, &Thresholds::default());
        assert_eq!(v.state, State::Warning);
        assert_eq!(
            v.reason,
            Reason::Reset(Reset::BadHmac {
                target: o.target.clone(),
                wrap: o.wrap,
                elapsed: o.elapsed,
                key_origin: crate::check::KeyOrigin::Hex,
            })
        );
        assert_eq!(
            words(&v),
            "192.0.2.7:1194/udp answered our session in 2.1 ms, but its tls-auth SHA256 HMAC \
             did not verify: the server is up; check --digest-key-server and the key direction"
        );
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
            target: Target {
                host: "192.0.2.7".into(),
                addr: "192.0.2.7:1194".parse().unwrap(),
                proto: Proto::Tcp,
            },
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
