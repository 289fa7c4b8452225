//! `--diagnose`: which ways of using the key the server answered.

use super::names::target_name;
use super::state::{human, Report, State};
use super::words::{detail_line, ending_words};
use crate::check::{Answer, Diagnosis};
use crate::net::Ending;

/// `--diagnose`: which ways of using the key the server answered. OK when any did.
pub fn render_diagnosis(d: &Diagnosis, verbosity: u8) -> Report {
    let total = d.trials.len();
    let mut answered: Vec<&crate::check::Trial> = d
        .trials
        .iter()
        .filter(|t| matches!(t.result, Answer::Answered(_)))
        .collect();
    answered.sort_by_key(|t| t.elapsed);
    let bad_auth: Vec<_> = d
        .trials
        .iter()
        .filter(|t| t.result == Answer::BadAuth)
        .collect();
    let mut long: Vec<String> = d.details.iter().map(detail_line).collect();
    for t in &answered {
        long.push(format!(
            "{}: answered in {}",
            t.label,
            human(t.elapsed.as_secs_f64())
        ));
    }
    for t in &bad_auth {
        long.push(format!(
            "{}: answered our session, but its HMAC did not verify",
            t.label
        ));
    }
    if verbosity >= 1 {
        for t in d
            .trials
            .iter()
            .filter(|t| matches!(t.result, Answer::Failed(_)))
        {
            let why = match &t.result {
                Answer::Failed(e) => ending_words(e),
                _ => String::new(),
            };
            long.push(format!("{}: {why}", t.label));
        }
    }
    let perf_max = d.timeout.as_secs_f64();
    match answered.first() {
        Some(best) => {
            long.push(format!("use: {}", best.advice));
            let names: Vec<&str> = answered.iter().take(3).map(|t| t.label.as_str()).collect();
            let more = if answered.len() > 3 { ", …" } else { "" };
            Report {
                state: State::Ok,
                line: format!(
                    "OPENVPN OK - {}: {} of {total} ways answered: {}{more} | answered={};;;0;{total} time={:.6}s;;;0;{perf_max:.6}",
                    target_name(&d.target),
                    answered.len(),
                    names.join(", "),
                    answered.len(),
                    best.elapsed.as_secs_f64()
                ),
                long,
            }
        }
        None => {
            let refused = !d.trials.is_empty()
                && d.trials
                    .iter()
                    .all(|t| t.result == Answer::Failed(Ending::Refused));
            let why = if refused {
                ": connection refused".to_string()
            } else if !bad_auth.is_empty() {
                format!(
                    " with a verified HMAC within {}; {} answered our session with an HMAC that did not verify",
                    human(d.timeout.as_secs_f64()),
                    bad_auth.len()
                )
            } else {
                format!(" within {}", human(d.timeout.as_secs_f64()))
            };
            Report {
                state: State::Critical,
                line: format!(
                    "OPENVPN CRITICAL - {}: none of {total} ways answered{why} | answered=0;;;0;{total}",
                    target_name(&d.target)
                ),
                long,
            }
        }
    }
}
