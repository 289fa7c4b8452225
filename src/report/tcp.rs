//! `--tcp-connect`: the connection's verdict, in the words of someone whose intranet
//! does not load.

use super::ping::{decrypted_words, link_words, pushed_words};
use super::state::State;
use super::words::ms;
use crate::check::{DataOutcome, TcpOutcome};

/// The state and words of the TCP connection.
pub(super) fn assess(tcp: &TcpOutcome, data: &DataOutcome) -> (State, String) {
    let target = tcp
        .target
        .map(|t| t.to_string())
        .unwrap_or_else(|| "the target".into());
    if let Some(path) = &tcp.no_path {
        let pushed = pushed_words(&path.routes);
        let words = if path.no_address {
            format!("the server pushed no tunnel address of {target}'s family to connect from (pushed: {pushed})")
        } else {
            format!("no pushed route or address covers {target} (pushed: {pushed})")
        };
        return (State::Unknown, format!("{words}; no connection was tried"));
    }
    let Some(path) = tcp.path else {
        return (
            State::Critical,
            "the data channel was not set up, no connection was tried".into(),
        );
    };
    if tcp.answer.is_none() {
        // No SYN-ACK nor reset because nothing could go: the link layer says why.
        if let Some(words) = link_words(data, path.target) {
            return (
                State::Critical,
                format!("the VPN is up, but {target} did not answer the connection: {words}"),
            );
        }
    }
    match tcp.answer {
        Some((false, rtt)) => (State::Ok, format!("TCP {target} connected in {}", ms(rtt))),
        Some((true, rtt)) => (
            State::Critical,
            format!(
                "the VPN is up, but {target} refused the connection (a TCP reset, in {}): nothing listens there",
                ms(rtt)
            ),
        ),
        None => (
            State::Critical,
            format!(
                "the VPN is up, but {target} did not answer the connection (no SYN-ACK, no reset: a firewall drops it, or the host is down; {})",
                decrypted_words(data.decrypted)
            ),
        ),
    }
}

/// `tcp_time` once the target accepted.
pub(super) fn perfdata(tcp: &TcpOutcome, label: impl Fn(&str) -> String) -> Option<String> {
    match tcp.answer {
        Some((false, rtt)) => Some(format!(
            "{}={:.6}s;;;0;",
            label("tcp_time"),
            rtt.as_secs_f64()
        )),
        _ => None,
    }
}
