//! `--http`: the request's verdict.

use super::ping::{decrypted_words, pushed_words};
use super::state::State;
use super::words::ms;
use crate::check::{DataOutcome, HttpOutcome};

/// The state and words of the HTTP request.
pub(super) fn assess(h: &HttpOutcome, data: &DataOutcome) -> (State, String) {
    let url = &h.question.url;
    if h.on_tap {
        return (
            State::Unknown,
            "--http through a tap tunnel is not supported; the login worked".into(),
        );
    }
    if let Some(path) = &h.no_path {
        let pushed = pushed_words(&path.routes);
        let target = h
            .question
            .target
            .map(|t| t.ip().to_string())
            .unwrap_or_default();
        return (
            State::Unknown,
            format!("no pushed route or address covers {target} of {url} (pushed: {pushed}); no request was sent"),
        );
    }
    if h.path.is_none() {
        return (
            State::Critical,
            "the data channel was not set up, no request was sent".into(),
        );
    }
    if let Some((true, rtt)) = h.connect {
        return (
            State::Critical,
            format!(
                "the VPN is up, but {url} refused the connection (a TCP reset, in {})",
                ms(rtt)
            ),
        );
    }
    if let Some(why) = &h.broken {
        return (State::Critical, format!("{url}: {why}"));
    }
    match (&h.response, h.connect) {
        (Some((status, reason, size, cut, rtt)), _) => {
            let size = if *cut {
                format!("more than {size} bytes (read no further)")
            } else {
                format!("{size} bytes")
            };
            let words = format!("{url} answered {status} {reason}, {size} in {}", ms(*rtt));
            if h.question.wanted(*status) {
                (State::Ok, words)
            } else {
                let want = if h.question.expect.is_empty() {
                    "a 2xx or 3xx".to_string()
                } else {
                    h.question
                        .expect
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                };
                (
                    State::Critical,
                    format!("the VPN is up, but {words}, not {want}"),
                )
            }
        }
        (None, Some((false, _))) => (
            State::Critical,
            format!(
                "the VPN is up, {url} accepted the connection but sent no whole response in time"
            ),
        ),
        (None, _) => (
            State::Critical,
            format!(
                "the VPN is up, but {url} did not answer the connection (no SYN-ACK, no reset; {})",
                decrypted_words(data.decrypted)
            ),
        ),
    }
}

/// `http_time` and `http_size` once a response came.
pub(super) fn perfdata(h: &HttpOutcome, label: impl Fn(&str) -> String) -> Vec<String> {
    match &h.response {
        Some((_, _, size, _, rtt)) => vec![
            format!("{}={:.6}s;;;0;", label("http_time"), rtt.as_secs_f64()),
            format!("{}={size}B;;;0;", label("http_size")),
        ],
        None => Vec::new(),
    }
}
