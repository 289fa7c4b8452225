//! `--tcp-connect`: the connection's verdict, in the words of someone whose intranet
//! does not load.

use super::state::State;
use crate::check::{DataOutcome, TcpOutcome};
use std::time::Duration;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The state and words of the TCP connection.
pub(super) fn assess(tcp: &TcpOutcome, data: &DataOutcome) -> (State, String) {
    let target = tcp
        .target
        .map(|t| t.to_string())
        .unwrap_or_else(|| "the target".into());
    if tcp.on_tap {
        return (
            State::Unknown,
            "--tcp-connect through a tap tunnel is not supported; the login worked".into(),
        );
    }
    if let Some(path) = &tcp.no_path {
        let pushed = if path.routes.is_empty() {
            "no address or route".to_string()
        } else {
            path.routes.join(", ")
        };
        let words = if path.no_address {
            format!("the server pushed no tunnel address of {target}'s family to connect from (pushed: {pushed})")
        } else {
            format!("no pushed route or address covers {target} (pushed: {pushed})")
        };
        return (State::Unknown, format!("{words}; no connection was tried"));
    }
    if tcp.path.is_none() {
        return (
            State::Critical,
            "the data channel was not set up, no connection was tried".into(),
        );
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
                if data.decrypted > 0 {
                    format!(
                        "{} data {} of the server's decrypted",
                        data.decrypted,
                        if data.decrypted == 1 { "packet" } else { "packets" }
                    )
                } else {
                    "nothing came back through the tunnel at all".into()
                }
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
