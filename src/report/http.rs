//! `--http`: the request's verdict: the name's lookup, the connection, TLS and its
//! certificate, the response.

use super::dates::validity_words;
use super::ping::{decrypted_words, link_words, pushed_words};
use super::state::{State, Thresholds};
use super::words::ms;
use crate::chain::CertInfo;
use crate::check::{DataOutcome, HttpOutcome};

/// The state and words of the HTTP request.
pub(super) fn assess(
    h: &HttpOutcome,
    data: &DataOutcome,
    thresholds: &Thresholds,
    now_unix: i64,
) -> (State, String) {
    let url = &h.question.url;
    let name = h.question.name.as_deref().unwrap_or_default();
    let resolved = h.lookup.as_ref().and_then(|l| l.resolved);
    if let Some(path) = h
        .no_path
        .as_ref()
        .filter(|_| !name.is_empty() && resolved.is_none())
    {
        let server = path.target.map(|t| t.to_string()).unwrap_or_default();
        return (
            State::Unknown,
            format!(
                "no pushed route or address covers the DNS server {server} to look up {name} of {url} (pushed: {}); no request was sent",
                pushed_words(&path.routes)
            ),
        );
    }
    if let Some(l) = &h.lookup {
        if l.no_server {
            return (
                State::Unknown,
                format!("no DNS server to look up {name} of {url}: the server pushes none (dhcp-option DNS, dns server) and no --dns-server was given; no request was sent"),
            );
        }
        if let Some(path) = l.path {
            let whose = if l.pushed {
                "the pushed DNS server"
            } else {
                "the DNS server"
            };
            let server = path.target;
            if let Some((why, rtt)) = &l.failed {
                return (
                    State::Critical,
                    format!(
                        "the VPN is up, but {name} of {url} did not resolve: {whose} {server} answered {why} in {}",
                        ms(*rtt)
                    ),
                );
            }
            if l.resolved.is_none() {
                if l.sent == 0 {
                    return (
                        State::Critical,
                        "the data channel was not set up, no request was sent".into(),
                    );
                }
                if let Some(words) = link_words(data, server) {
                    return (
                        State::Critical,
                        format!("the VPN is up, but {whose} {server} did not answer the lookup of {name} for {url}: {words}"),
                    );
                }
                return (
                    State::Critical,
                    format!(
                        "the VPN is up, but {whose} {server} did not answer the lookup of {name} for {url} ({} sent; {})",
                        questions(l.sent),
                        decrypted_words(data.decrypted)
                    ),
                );
            }
        }
    }
    if let Some(path) = &h.no_path {
        let pushed = pushed_words(&path.routes);
        let target = path
            .target
            .or(h.question.target.map(|t| t.ip()))
            .map(|t| t.to_string())
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
    if let Some(why) = &h.tls_failed {
        return (
            State::Critical,
            format!("the VPN is up, but {url}: TLS failed: {why}"),
        );
    }
    if let Some(why) = &h.broken {
        return (State::Critical, format!("{url}: {why}"));
    }
    if h.response.is_none() && h.connect.is_none() {
        // No SYN-ACK nor reset because nothing could go: the link layer says why.
        if let Some(words) = h.path.and_then(|p| link_words(data, p.target)) {
            return (
                State::Critical,
                format!("the VPN is up, but {url} did not answer the connection: {words}"),
            );
        }
    }
    let (state, text) = match (&h.response, h.connect) {
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
    };
    // https: the chain's days under -C, as the server's own.
    match certificate_days(h, thresholds, now_unix) {
        Some((s, why)) if s.severity() > state.severity() => (s, format!("{why}; {text}")),
        Some((s, why)) if s != State::Ok => (state, format!("{text}; {why}")),
        _ => (state, text),
    }
}

fn questions(n: u16) -> String {
    if n == 1 {
        "1 question".into()
    } else {
        format!("{n} questions")
    }
}

/// The https chain's certificate that expires first.
fn soonest(h: &HttpOutcome) -> Option<&CertInfo> {
    h.tls
        .as_ref()
        .and_then(|(_, chain)| chain.iter().min_by_key(|c| c.not_after))
}

/// The https chain judged by `-C`: the certificate that expires first against its days.
fn certificate_days(
    h: &HttpOutcome,
    thresholds: &Thresholds,
    now_unix: i64,
) -> Option<(State, String)> {
    let days = thresholds.cert_days.as_ref()?;
    let first = soonest(h)?;
    let left = first.days_left(now_unix);
    let url = &h.question.url;
    let name = first.short_name();
    if left < days.critical_days() {
        Some((
            State::Critical,
            format!(
                "{url} certificate {name} expires in {left} days (critical under {})",
                days.critical_days()
            ),
        ))
    } else if left < days.warning {
        Some((
            State::Warning,
            format!(
                "{url} certificate {name} expires in {left} days (warning under {})",
                days.warning
            ),
        ))
    } else {
        Some((
            State::Ok,
            format!(
                "{url} certificate {name} {}",
                validity_words(first, now_unix)
            ),
        ))
    }
}

/// `http_time` and `http_size` once a response came; `http_cert_days` once an https
/// server's chain was seen.
pub(super) fn perfdata(
    h: &HttpOutcome,
    thresholds: &Thresholds,
    now_unix: i64,
    label: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, _, size, _, rtt)) = &h.response {
        out.push(format!(
            "{}={:.6}s;;;0;",
            label("http_time"),
            rtt.as_secs_f64()
        ));
        out.push(format!("{}={size}B;;;0;", label("http_size")));
    }
    if let Some(first) = soonest(h) {
        let (w, c) = match &thresholds.cert_days {
            Some(d) => (format!("{}:", d.warning), format!("{}:", d.critical_days())),
            None => (String::new(), String::new()),
        };
        out.push(format!(
            "{}={};{w};{c};;",
            label("http_cert_days"),
            first.days_left(now_unix)
        ));
    }
    out
}
