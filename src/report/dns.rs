//! `--dns`: the DNS question's verdict, in the words of someone whose names do not
//! resolve.

use super::ping::{decrypted_words, link_problem, link_words, pushed_words, LinkProblem};
use super::state::State;
use super::verdict::Verdict;
use super::words::ms;
use crate::check::dns::DnsReply;
use crate::check::{DataOutcome, DnsOutcome};
use crate::proto::push::NoPath;
use std::net::IpAddr;
use std::time::Duration;

/// What the DNS question asked: `vpn.example.org A`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub name: String,
    pub record_type: String,
}

/// The server asked: its address, and whether the push named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    pub address: IpAddr,
    pub pushed: bool,
}

/// What became of the DNS question.
#[derive(Debug, Clone, PartialEq)]
pub enum Dns {
    /// Neither given nor pushed.
    NoServer {
        asked: Asked,
    },
    /// No pushed route or address reaches the server.
    NoPath {
        asked: Asked,
        path: NoPath,
    },
    NotSetUp,
    /// No reply, and the link layer says why.
    LinkSilent {
        asked: Asked,
        server: Server,
        link: LinkProblem,
    },
    Unanswered {
        asked: Asked,
        server: Server,
        sent: u16,
        decrypted: u32,
    },
    /// The reply is no DNS response.
    Malformed {
        asked: Asked,
        server: Server,
        why: String,
    },
    /// A response code other than NOERROR.
    Failed {
        asked: Asked,
        server: Server,
        code: String,
        rtt: Duration,
    },
    /// NOERROR, no record.
    Empty {
        asked: Asked,
        server: Server,
        rtt: Duration,
    },
    /// Records, but without the expected address.
    Unexpected {
        asked: Asked,
        server: Server,
        records: Vec<String>,
        expected: IpAddr,
    },
    Answered {
        asked: Asked,
        server: Server,
        records: Vec<String>,
        rtt: Duration,
    },
}

/// The verdict on the DNS question (the data channel's own failures are the echoes' to
/// say when both ran).
pub(super) fn assess(dns: &DnsOutcome, data: &DataOutcome) -> Verdict {
    let q = &dns.question;
    let asked = Asked {
        name: q.name.clone(),
        record_type: q.record_type.clone(),
    };
    if dns.no_server {
        return Verdict::new(State::Unknown, Dns::NoServer { asked });
    }
    if let Some(path) = &dns.no_path {
        return Verdict::new(
            State::Unknown,
            Dns::NoPath {
                asked,
                path: path.clone(),
            },
        );
    }
    let Some(path) = dns.path.filter(|_| dns.sent > 0) else {
        return Verdict::new(State::Critical, Dns::NotSetUp);
    };
    let server = Server {
        address: path.target,
        pushed: dns.pushed,
    };
    let Some((reply, rtt)) = &dns.reply else {
        if let Some(link) = link_problem(data, server.address) {
            return Verdict::new(
                State::Critical,
                Dns::LinkSilent {
                    asked,
                    server,
                    link,
                },
            );
        }
        return Verdict::new(
            State::Critical,
            Dns::Unanswered {
                asked,
                server,
                sent: dns.sent,
                decrypted: data.decrypted,
            },
        );
    };
    let rtt = *rtt;
    match reply {
        DnsReply::Malformed(why) => Verdict::new(
            State::Critical,
            Dns::Malformed {
                asked,
                server,
                why: why.clone(),
            },
        ),
        DnsReply::Answer {
            code,
            no_error: false,
            ..
        } => Verdict::new(
            State::Critical,
            Dns::Failed {
                asked,
                server,
                code: code.clone(),
                rtt,
            },
        ),
        DnsReply::Answer { records, .. } if records.is_empty() => {
            Verdict::new(State::Critical, Dns::Empty { asked, server, rtt })
        }
        DnsReply::Answer {
            records, addresses, ..
        } => match q.expect {
            Some(expected) if !addresses.contains(&expected) => Verdict::new(
                State::Critical,
                Dns::Unexpected {
                    asked,
                    server,
                    records: records.clone(),
                    expected,
                },
            ),
            _ => Verdict::new(
                State::Ok,
                Dns::Answered {
                    asked,
                    server,
                    records: records.clone(),
                    rtt,
                },
            ),
        },
    }
}

fn asked_words(a: &Asked) -> String {
    format!("{} {}", a.name, a.record_type.to_ascii_uppercase())
}

/// `the pushed DNS server 10.8.0.1`.
pub(super) fn server_words(s: &Server) -> String {
    let whose = if s.pushed {
        "the pushed DNS server"
    } else {
        "the DNS server"
    };
    format!("{whose} {}", s.address)
}

/// The first three records, and how many more.
fn records_words(records: &[String]) -> String {
    let shown = records
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match records.len().saturating_sub(3) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The words for the DNS question's verdict.
pub(super) fn words(d: &Dns) -> String {
    match d {
        Dns::NoServer { asked } => format!(
            "no DNS server to ask for {}: the server pushes none (dhcp-option DNS, dns server) and no --dns-server was given",
            asked_words(asked)
        ),
        Dns::NoPath { path, .. } => {
            let words = match path.target {
                Some(t) if path.no_address => format!(
                    "the server pushed no {} tunnel address to ask the DNS server {t} from (pushed: {})",
                    if t.is_ipv6() { "IPv6 (ifconfig-ipv6)" } else { "IPv4 (ifconfig)" },
                    pushed_words(&path.routes)
                ),
                Some(t) => format!(
                    "no pushed route or address covers the DNS server {t} (pushed: {})",
                    pushed_words(&path.routes)
                ),
                None => format!("no route to a DNS server (pushed: {})", pushed_words(&path.routes)),
            };
            format!("{words}; no DNS question was sent")
        }
        Dns::NotSetUp => "the data channel was not set up, no DNS question was sent".into(),
        Dns::LinkSilent {
            asked,
            server,
            link,
        } => format!(
            "the VPN is up, but {} did not answer {}: {}",
            server_words(server),
            asked_words(asked),
            link_words(link)
        ),
        Dns::Unanswered {
            asked,
            server,
            sent,
            decrypted,
        } => {
            let tunnel = match decrypted {
                0 => decrypted_words(0),
                n => format!("the tunnel carries data ({})", decrypted_words(*n)),
            };
            format!(
                "the VPN is up, but {} did not answer {} ({sent} {} sent; {tunnel})",
                server_words(server),
                asked_words(asked),
                if *sent == 1 { "query" } else { "queries" }
            )
        }
        Dns::Malformed { asked, server, why } => format!(
            "{} sent a reply to {} that is no DNS response: {why}",
            server_words(server),
            asked_words(asked)
        ),
        Dns::Failed {
            asked,
            server,
            code,
            rtt,
        } => format!(
            "{} answered {code} for {} in {}",
            server_words(server),
            asked_words(asked),
            ms(*rtt)
        ),
        Dns::Empty { asked, server, rtt } => format!(
            "{} has no record for {} (NOERROR, empty answer) in {}",
            server_words(server),
            asked_words(asked),
            ms(*rtt)
        ),
        Dns::Unexpected {
            asked,
            server,
            records,
            expected,
        } => format!(
            "{} answered {} with {}, not the expected {expected}",
            server_words(server),
            asked_words(asked),
            records_words(records)
        ),
        Dns::Answered {
            asked,
            server,
            records,
            rtt,
        } => format!(
            "DNS {} answered {}: {} in {}",
            server.address,
            asked_words(asked),
            records_words(records),
            ms(*rtt)
        ),
    }
}

/// `dns_time` once a reply came.
pub(super) fn perfdata(dns: &DnsOutcome, label: impl Fn(&str) -> String) -> Option<String> {
    let (_, rtt) = dns.reply.as_ref()?;
    Some(format!(
        "{}={:.6}s;;;0;",
        label("dns_time"),
        rtt.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::verdict::Reason;
    use super::*;
    use crate::check::dns::DnsSpec;
    use crate::proto::push::EchoPath;

    fn asked() -> Asked {
        Asked {
            name: "intranet.example".into(),
            record_type: "a".into(),
        }
    }

    fn sent(reply: Option<DnsReply>, expect: Option<IpAddr>) -> DnsOutcome {
        DnsOutcome {
            question: DnsSpec {
                name: "intranet.example".into(),
                record_type: "a".into(),
                expect,
                ..Default::default()
            },
            path: Some(EchoPath {
                source: "10.8.0.6".parse().unwrap(),
                target: "10.8.0.1".parse().unwrap(),
            }),
            pushed: true,
            sent: 2,
            reply: reply.map(|r| (r, Duration::from_micros(1500))),
            ..Default::default()
        }
    }

    fn answer(code: &str, records: &[&str]) -> DnsReply {
        DnsReply::Answer {
            code: code.into(),
            no_error: code == "NOERROR",
            records: records.iter().map(|r| r.to_string()).collect(),
            addresses: records.iter().filter_map(|r| r.parse().ok()).collect(),
            truncated: false,
        }
    }

    #[test]
    fn verdicts_of_the_question() {
        let data = DataOutcome::default();
        let server = Server {
            address: "10.8.0.1".parse().unwrap(),
            pushed: true,
        };
        let rtt = Duration::from_micros(1500);
        let ok = sent(Some(answer("NOERROR", &["10.1.2.3"])), None);
        assert_eq!(
            assess(&ok, &data),
            Verdict::new(
                State::Ok,
                Dns::Answered {
                    asked: asked(),
                    server,
                    records: vec!["10.1.2.3".into()],
                    rtt
                }
            )
        );
        let other = sent(
            Some(answer("NOERROR", &["10.1.2.3"])),
            Some("10.9.9.9".parse().unwrap()),
        );
        assert!(matches!(
            assess(&other, &data),
            Verdict {
                state: State::Critical,
                reason: Reason::Dns(Dns::Unexpected { .. })
            }
        ));
        let nx = sent(Some(answer("NXDOMAIN", &[])), None);
        assert_eq!(
            assess(&nx, &data),
            Verdict::new(
                State::Critical,
                Dns::Failed {
                    asked: asked(),
                    server,
                    code: "NXDOMAIN".into(),
                    rtt
                }
            )
        );
        let empty = sent(Some(answer("NOERROR", &[])), None);
        assert!(matches!(
            assess(&empty, &data).reason,
            Reason::Dns(Dns::Empty { .. })
        ));
        let silent = DataOutcome {
            decrypted: 4,
            ..Default::default()
        };
        assert_eq!(
            assess(&sent(None, None), &silent),
            Verdict::new(
                State::Critical,
                Dns::Unanswered {
                    asked: asked(),
                    server,
                    sent: 2,
                    decrypted: 4
                }
            )
        );
        let nobody = DnsOutcome {
            no_server: true,
            ..sent(None, None)
        };
        assert_eq!(
            assess(&nobody, &data),
            Verdict::new(State::Unknown, Dns::NoServer { asked: asked() })
        );
        let unplanned = DnsOutcome {
            path: None,
            ..sent(None, None)
        };
        assert_eq!(
            assess(&unplanned, &data),
            Verdict::new(State::Critical, Dns::NotSetUp)
        );
    }

    #[test]
    fn words_golden() {
        let data = DataOutcome {
            decrypted: 4,
            ..Default::default()
        };
        let said = |d: &DnsOutcome| super::super::verdict::words(&assess(d, &data));
        let many = sent(
            Some(answer(
                "NOERROR",
                &["10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"],
            )),
            None,
        );
        assert_eq!(
            said(&many),
            "DNS 10.8.0.1 answered intranet.example A: 10.1.2.3, 10.1.2.4, 10.1.2.5 and 1 more in 1.5 ms"
        );
        assert_eq!(
            said(&sent(None, None)),
            "the VPN is up, but the pushed DNS server 10.8.0.1 did not answer intranet.example A \
             (2 queries sent; the tunnel carries data (4 data packets of the server's decrypted))"
        );
    }
}
