//! `--tcp-connect`: the connection's verdict, in the words of someone whose intranet
//! does not load.

use super::ping::{decrypted_words, link_problem, link_words, pushed_words, LinkProblem};
use super::state::State;
use super::verdict::Verdict;
use super::words::ms;
use crate::check::{DataOutcome, TcpOutcome};
use crate::proto::push::NoPath;
use std::net::SocketAddr;
use std::time::Duration;

/// What became of the TCP connection; `target` is `None` when it was never known.
#[derive(Debug, Clone, PartialEq)]
pub enum Tcp {
    /// No pushed route or address reaches the target.
    NoPath {
        target: Option<SocketAddr>,
        path: NoPath,
    },
    NotSetUp,
    /// No answer, and the link layer says why.
    LinkSilent {
        target: Option<SocketAddr>,
        link: LinkProblem,
    },
    Connected {
        target: Option<SocketAddr>,
        rtt: Duration,
    },
    /// A TCP reset: nothing listens there.
    Refused {
        target: Option<SocketAddr>,
        rtt: Duration,
    },
    /// No SYN-ACK, no reset.
    Unanswered {
        target: Option<SocketAddr>,
        decrypted: u32,
    },
}

/// The verdict on the TCP connection.
pub(super) fn assess(tcp: &TcpOutcome, data: &DataOutcome) -> Verdict {
    let target = tcp.target;
    if let Some(path) = &tcp.no_path {
        return Verdict::new(
            State::Unknown,
            Tcp::NoPath {
                target,
                path: path.clone(),
            },
        );
    }
    let Some(path) = tcp.path else {
        return Verdict::new(State::Critical, Tcp::NotSetUp);
    };
    if tcp.answer.is_none() {
        // No SYN-ACK nor reset because nothing could go: the link layer says why.
        if let Some(link) = link_problem(data, path.target) {
            return Verdict::new(State::Critical, Tcp::LinkSilent { target, link });
        }
    }
    match tcp.answer {
        Some((false, rtt)) => Verdict::new(State::Ok, Tcp::Connected { target, rtt }),
        Some((true, rtt)) => Verdict::new(State::Critical, Tcp::Refused { target, rtt }),
        None => Verdict::new(
            State::Critical,
            Tcp::Unanswered {
                target,
                decrypted: data.decrypted,
            },
        ),
    }
}

fn target_words(target: &Option<SocketAddr>) -> String {
    target
        .map(|t| t.to_string())
        .unwrap_or_else(|| "the target".into())
}

/// The words for the TCP connection's verdict.
pub(super) fn words(t: &Tcp) -> String {
    match t {
        Tcp::NoPath { target, path } => {
            let target = target_words(target);
            let pushed = pushed_words(&path.routes);
            let words = if path.no_address {
                format!("the server pushed no tunnel address of {target}'s family to connect from (pushed: {pushed})")
            } else {
                format!("no pushed route or address covers {target} (pushed: {pushed})")
            };
            format!("{words}; no connection was tried")
        }
        Tcp::NotSetUp => "the data channel was not set up, no connection was tried".into(),
        Tcp::LinkSilent { target, link } => format!(
            "the VPN is up, but {} did not answer the connection: {}",
            target_words(target),
            link_words(link)
        ),
        Tcp::Connected { target, rtt } => {
            format!("TCP {} connected in {}", target_words(target), ms(*rtt))
        }
        Tcp::Refused { target, rtt } => format!(
            "the VPN is up, but {} refused the connection (a TCP reset, in {}): nothing listens there",
            target_words(target),
            ms(*rtt)
        ),
        Tcp::Unanswered { target, decrypted } => format!(
            "the VPN is up, but {} did not answer the connection (no SYN-ACK, no reset: a firewall drops it, or the host is down; {})",
            target_words(target),
            decrypted_words(*decrypted)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::push::EchoPath;

    fn tried(answer: Option<(bool, Duration)>) -> TcpOutcome {
        TcpOutcome {
            target: Some("10.8.0.1:443".parse().unwrap()),
            path: Some(EchoPath {
                source: "10.8.0.6".parse().unwrap(),
                target: "10.8.0.1".parse().unwrap(),
            }),
            answer,
            ..Default::default()
        }
    }

    #[test]
    fn verdicts_of_the_connection() {
        let data = DataOutcome {
            decrypted: 1,
            ..Default::default()
        };
        let target = Some("10.8.0.1:443".parse().unwrap());
        let rtt = Duration::from_millis(2);
        assert_eq!(
            assess(&tried(Some((false, rtt))), &data),
            Verdict::new(State::Ok, Tcp::Connected { target, rtt })
        );
        assert_eq!(
            assess(&tried(Some((true, rtt))), &data),
            Verdict::new(State::Critical, Tcp::Refused { target, rtt })
        );
        assert_eq!(
            assess(&tried(None), &data),
            Verdict::new(
                State::Critical,
                Tcp::Unanswered {
                    target,
                    decrypted: 1
                }
            )
        );
        let unplanned = TcpOutcome {
            path: None,
            ..tried(None)
        };
        assert_eq!(
            assess(&unplanned, &data),
            Verdict::new(State::Critical, Tcp::NotSetUp)
        );
    }

    #[test]
    fn words_golden() {
        let data = DataOutcome::default();
        let said = |t: &TcpOutcome| super::super::verdict::words(&assess(t, &data));
        assert_eq!(
            said(&tried(Some((false, Duration::from_micros(2500))))),
            "TCP 10.8.0.1:443 connected in 2.5 ms"
        );
        assert_eq!(
            said(&tried(None)),
            "the VPN is up, but 10.8.0.1:443 did not answer the connection (no SYN-ACK, no reset: \
             a firewall drops it, or the host is down; nothing came back through the tunnel at all)"
        );
    }
}
