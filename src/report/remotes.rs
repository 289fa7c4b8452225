//! A config with several remotes: each remote's own verdict, and what they mean together.
//! Clients try the remotes in turn, so some dead ones still let everyone in (after the
//! client's fallback delay): WARNING; none answering: CRITICAL.

use super::names::proto_name;
use super::state::human;
use super::{
    detail_line, note_line, perfdata,
    verdict::{assess, words, Verdict},
    Report, State, Thresholds,
};
use crate::check::{CheckError, Note, Outcome, RemoteRun, Unchecked};

/// What became of one remote.
struct Seen<'a> {
    run: &'a RemoteRun,
    finding: Finding<'a>,
}

/// One remote's result, graded but not yet worded.
#[derive(Debug)]
enum Finding<'a> {
    /// Checked: its outcome, and the verdict on it.
    Judged(&'a Outcome, Verdict),
    /// The check could not run (UNKNOWN).
    Error(&'a CheckError),
    /// Left out on purpose, and why (UNKNOWN).
    Unchecked(&'a Unchecked),
    /// Not checked, with nothing to say why (UNKNOWN).
    NotChecked,
}

impl Seen<'_> {
    /// `host:port/proto`, as perfdata labels and lists name the remote.
    fn label(&self) -> String {
        remote_label(self.run)
    }

    fn state(&self) -> State {
        match &self.finding {
            Finding::Judged(_, v) => v.state,
            Finding::Error(_) | Finding::Unchecked(_) | Finding::NotChecked => State::Unknown,
        }
    }

    fn outcome(&self) -> Option<&Outcome> {
        match &self.finding {
            Finding::Judged(o, _) => Some(o),
            _ => None,
        }
    }

    /// The words for this remote's finding, as the status line and long output say it.
    fn words(&self) -> String {
        match &self.finding {
            Finding::Judged(_, v) => words(v),
            Finding::Error(e) => format!("{}: {e}", self.label()),
            Finding::Unchecked(u) => format!("{}: {}", self.label(), unchecked_words(u)),
            Finding::NotChecked => format!("{}: not checked", self.label()),
        }
    }
}

/// Each remote's finding, in order.
fn seen<'a>(
    remotes: &'a [RemoteRun],
    results: &'a [Option<Result<Outcome, CheckError>>],
    thresholds: &Thresholds,
) -> Vec<Seen<'a>> {
    remotes
        .iter()
        .zip(results)
        .map(|(run, result)| Seen {
            run,
            finding: match (&run.check, result) {
                (_, Some(Ok(o))) => Finding::Judged(o, assess(o, thresholds)),
                (_, Some(Err(e))) => Finding::Error(e),
                (Err(u), None) => Finding::Unchecked(u),
                (Ok(_), None) => Finding::NotChecked,
            },
        })
        .collect()
}

fn remote_label(run: &RemoteRun) -> String {
    format!("{}:{}/{}", run.host, run.port, proto_name(run.proto))
}

fn unchecked_words(u: &Unchecked) -> String {
    match u {
        Unchecked::Proxy {
            directive,
            file,
            line,
        } => format!(
            "not checked: its clients reach it through the {directive} of {file} line {line}, which this check does not take"
        ),
        Unchecked::OwnWrap { directive, line } => format!(
            "not checked: its <connection> block sets its own {directive} (line {line}); check it with --remote and --{directive} FILE"
        ),
    }
}

/// `results` holds, for each of `remotes` in order, its check's result (`None`: not
/// checked); `notes` are the settings' lines `-v` shows once, for all remotes.
pub fn render_remotes(
    remotes: &[RemoteRun],
    results: &[Option<Result<Outcome, CheckError>>],
    thresholds: &Thresholds,
    notes: &[Note],
) -> Report {
    let seen = seen(remotes, results, thresholds);
    let total = seen.len();
    let answered: Vec<&Seen> = seen
        .iter()
        .filter(|s| matches!(s.state(), State::Ok | State::Warning))
        .collect();
    let dead: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.state() == State::Critical)
        .collect();
    let unjudged: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.state() == State::Unknown)
        .collect();
    let worst_answered = answered
        .iter()
        .map(|s| s.state())
        .max()
        .unwrap_or(State::Ok);

    let state = match (answered.is_empty(), dead.is_empty()) {
        (true, true) => State::Unknown,
        (true, false) => State::Critical,
        (false, false) => State::Warning,
        (false, true) if worst_answered == State::Ok && !unjudged.is_empty() => State::Unknown,
        (false, true) => worst_answered,
    };

    // The worst findings first: the dead remotes, the answered ones' own warnings, the
    // unjudged ones; then the ones that answered.
    let texts = |list: &[&Seen]| -> Vec<String> { list.iter().map(|s| s.words()).collect() };
    let warned: Vec<&Seen> = answered
        .iter()
        .copied()
        .filter(|s| s.state() == State::Warning)
        .collect();
    let answered_list = answered
        .iter()
        .map(|s| match s.outcome() {
            Some(o) => format!("{} in {}", s.label(), human(o.elapsed.as_secs_f64())),
            None => s.label(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut parts: Vec<String> = Vec::new();
    if answered.is_empty() && !dead.is_empty() {
        parts.push(if dead.len() == total {
            format!("all {total} remotes failed")
        } else {
            format!("{} of {total} remotes failed, none answered", dead.len())
        });
        parts.extend(texts(&dead));
        parts.extend(texts(&unjudged));
    } else if answered.is_empty() {
        parts.push(format!("none of {total} remotes could be judged"));
        parts.extend(texts(&unjudged));
    } else {
        if !dead.is_empty() {
            parts.push(format!(
                "{} of {total} remotes failed (clients fall back to the others, after a delay)",
                dead.len()
            ));
            parts.extend(texts(&dead));
        }
        parts.extend(texts(&warned));
        parts.extend(texts(&unjudged));
        parts.push(if answered.len() == total {
            format!("all {total} remotes answered: {answered_list}")
        } else {
            format!("answered: {answered_list}")
        });
    }

    let mut perf: Vec<String> = seen
        .iter()
        .filter_map(|s| {
            s.outcome()
                .map(|o| perfdata(o, thresholds, Some(&s.label())))
        })
        .collect();
    perf.push(format!(
        "remotes_answered={};{total}:;1:;0;{total}",
        answered.len()
    ));

    let mut long: Vec<String> = seen
        .iter()
        .map(|s| format!("[{}] remote {}: {}", s.state(), s.run.number, s.words()))
        .collect();
    long.extend(notes.iter().map(note_line));
    for s in &seen {
        if let Some(o) = s.outcome() {
            long.extend(o.details.iter().map(detail_line));
        }
    }
    Report {
        state,
        line: format!(
            "OPENVPN {state} - {} | {}",
            parts.join("; "),
            perf.join(" ")
        ),
        long,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Answer, Target};
    use crate::net::{Ending, Proto};
    use crate::wire::{Auth, WrapKind};
    use std::time::Duration;

    fn run(number: usize, host: &str, check: Result<(), Unchecked>) -> RemoteRun {
        use clap::Parser;
        let spec = crate::flags::Cli::try_parse_from(["check_openvpn", host])
            .unwrap()
            .into_settings()
            .unwrap()
            .spec;
        RemoteRun {
            number,
            host: host.into(),
            port: 1194,
            proto: Proto::Udp,
            check: check.map(|_| spec),
        }
    }

    fn outcome(host: &str, result: Answer) -> Outcome {
        let addr = "192.0.2.7:1194".parse().unwrap();
        Outcome {
            target: Target {
                host: host.into(),
                addr,
                proto: Proto::Udp,
            },
            addr,
            wrap: WrapKind::None,
            end: crate::check::FlowEnd::Finished {
                reached: crate::proto::Progress::ResetAnswered,
                why: crate::proto::Why::Reached,
                then: None,
            },
            result,
            elapsed: Duration::from_millis(3),
            attempts: 1,
            max_attempts: 3,
            budget: Duration::from_secs(6),
            ignored: Default::default(),
            tls: None,
            now_unix: 0,
            key_origin: crate::check::KeyOrigin::None,
            details: vec![],
        }
    }

    /// Each remote's finding is a verdict, or why there is none; words come later.
    #[test]
    fn each_remote_is_graded_before_it_is_worded() {
        use crate::report::verdict::{Reason, Reset};
        let th = Thresholds::default();
        let remotes = [
            run(1, "a", Ok(())),
            run(2, "b", Ok(())),
            run(
                3,
                "c",
                Err(Unchecked::OwnWrap {
                    directive: "tls-crypt".into(),
                    line: 4,
                }),
            ),
            run(4, "d", Ok(())),
        ];
        let results = [
            Some(Ok(outcome("a", Answer::Failed(Ending::Refused)))),
            Some(Err(CheckError::Shared("gone".into()))),
            None,
            None,
        ];
        let found = seen(&remotes, &results, &th);
        assert!(
            matches!(
                &found[0].finding,
                Finding::Judged(
                    _,
                    Verdict {
                        state: State::Critical,
                        reason: Reason::Reset(Reset::Failed {
                            ending: Ending::Refused,
                            ..
                        })
                    }
                )
            ),
            "{:?}",
            found[0].finding
        );
        assert!(matches!(
            found[1].finding,
            Finding::Error(CheckError::Shared(_))
        ));
        assert!(matches!(
            found[2].finding,
            Finding::Unchecked(Unchecked::OwnWrap { line: 4, .. })
        ));
        assert!(matches!(found[3].finding, Finding::NotChecked));
        assert_eq!(
            found.iter().map(Seen::state).collect::<Vec<_>>(),
            [
                State::Critical,
                State::Unknown,
                State::Unknown,
                State::Unknown
            ]
        );
        assert_eq!(found[1].words(), "b:1194/udp: gone");
        assert_eq!(found[3].words(), "d:1194/udp: not checked");
    }

    #[test]
    fn verdicts_of_several_remotes() {
        let ok = || Some(Ok(outcome("a", Answer::Answered(Auth::Verified))));
        let dead = || Some(Ok(outcome("b", Answer::Failed(Ending::Refused))));
        let th = Thresholds::default();
        let two = [run(1, "a", Ok(())), run(2, "b", Ok(()))];

        let r = render_remotes(&two, &[ok(), ok()], &th, &[]);
        assert_eq!(r.state, State::Ok, "{}", r.line);
        assert!(
            r.line
                .contains("all 2 remotes answered: a:1194/udp in 3.0 ms, b:1194/udp in 3.0 ms"),
            "{}",
            r.line
        );

        let r = render_remotes(&two, &[dead(), ok()], &th, &[]);
        assert_eq!(r.state, State::Warning, "{}", r.line);
        assert!(
            r.line.contains("OPENVPN WARNING - 1 of 2 remotes failed"),
            "{}",
            r.line
        );
        assert!(
            r.line.contains("remotes_answered=1;2:;1:;0;2"),
            "{}",
            r.line
        );

        let r = render_remotes(&two, &[dead(), dead()], &th, &[]);
        assert_eq!(r.state, State::Critical, "{}", r.line);
        assert!(r.line.contains("all 2 remotes failed"), "{}", r.line);

        // A remote not checked leaves the others' OK unproven: UNKNOWN, said.
        let proxied = [
            run(1, "a", Ok(())),
            run(
                2,
                "c",
                Err(Unchecked::Proxy {
                    directive: "http-proxy".into(),
                    file: "c.ovpn".into(),
                    line: 7,
                }),
            ),
        ];
        let r = render_remotes(&proxied, &[ok(), None], &th, &[]);
        assert_eq!(r.state, State::Unknown, "{}", r.line);
        assert!(r.line.contains("c:1194/udp: not checked: its clients reach it through the http-proxy of c.ovpn line 7"), "{}", r.line);
        // ... but a dead one still says WARNING.
        let three = [run(1, "a", Ok(())), run(2, "b", Ok(())), proxied[1].clone()];
        let r = render_remotes(&three, &[ok(), dead(), None], &th, &[]);
        assert_eq!(r.state, State::Warning, "{}", r.line);
    }
}
