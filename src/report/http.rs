//! `--http`: the request's verdict: the name's lookup, the connection, TLS and its
//! certificate, the response.

use super::dns::{server_words, Server};
use super::ping::{decrypted_words, link_problem, link_words, pushed_words, LinkProblem};
use super::state::{State, Thresholds};
use super::verdict::{words as verdict_words, Verdict};
use super::words::ms;
use crate::chain::CertInfo;
use crate::check::{DataOutcome, HttpOutcome};
use crate::proto::push::NoPath;
use std::net::IpAddr;
use std::time::Duration;

/// What became of the HTTP request to `url`.
#[derive(Debug, Clone, PartialEq)]
pub enum Http {
    /// No pushed route or address reaches the DNS server that would look the name up.
    NoPathToDns {
        url: String,
        name: String,
        path: NoPath,
    },
    /// No DNS server to look the name up: neither given nor pushed.
    NoDnsServer {
        url: String,
        name: String,
    },
    /// The DNS server answered without an address.
    LookupFailed {
        url: String,
        name: String,
        server: Server,
        why: String,
        rtt: Duration,
    },
    /// Nothing was sent: the data channel was not set up.
    NotSetUp,
    /// The lookup went unanswered, and the link layer says why.
    LookupLinkSilent {
        url: String,
        name: String,
        server: Server,
        link: LinkProblem,
    },
    LookupUnanswered {
        url: String,
        name: String,
        server: Server,
        sent: u16,
        decrypted: u32,
    },
    /// No pushed route or address reaches `target`.
    NoPath {
        url: String,
        target: Option<IpAddr>,
        path: NoPath,
    },
    /// A TCP reset.
    Refused {
        url: String,
        rtt: Duration,
    },
    TlsFailed {
        url: String,
        why: String,
    },
    /// What came back was no response.
    Broken {
        url: String,
        why: String,
    },
    /// No answer to the connection, and the link layer says why.
    LinkSilent {
        url: String,
        link: LinkProblem,
    },
    /// A response with a wanted status.
    Answered {
        url: String,
        response: Response,
    },
    /// A response with a status not wanted: `expected`, or empty for 2xx or 3xx.
    Unwanted {
        url: String,
        response: Response,
        expected: Vec<u16>,
    },
    /// The connection accepted, no whole response in time.
    NoResponse {
        url: String,
    },
    /// No SYN-ACK, no reset.
    Unanswered {
        url: String,
        decrypted: u32,
    },
    /// The request's verdict, and `-C` on the https chain's certificate that expires
    /// first, when it raises the state.
    WithCertificate {
        request: Box<Verdict>,
        cert: CertDays,
    },
}

/// An HTTP response as the status line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Body bytes, and whether the reading stopped at the limit.
    pub size: usize,
    pub cut: bool,
    pub rtt: Duration,
}

/// `-C` on an https server's certificate that expires first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertDays {
    Critical {
        url: String,
        name: String,
        left: i64,
        under: i64,
    },
    Warning {
        url: String,
        name: String,
        left: i64,
        under: i64,
    },
}

/// The verdict on the HTTP request.
pub(super) fn assess(
    h: &HttpOutcome,
    data: &DataOutcome,
    thresholds: &Thresholds,
    now_unix: i64,
) -> Verdict {
    let request = assess_request(h, data);
    // https: the chain's days under -C, as the server's own.
    match certificate_days(h, thresholds, now_unix) {
        Some(cert) => {
            let s = match cert {
                CertDays::Critical { .. } => State::Critical,
                CertDays::Warning { .. } => State::Warning,
            };
            let state = if s.severity() > request.state.severity() {
                s
            } else {
                request.state
            };
            Verdict::new(
                state,
                Http::WithCertificate {
                    request: Box::new(request),
                    cert,
                },
            )
        }
        None => request,
    }
}

fn assess_request(h: &HttpOutcome, data: &DataOutcome) -> Verdict {
    let url = h.question.url.clone();
    let name = h.question.name.clone().unwrap_or_default();
    let resolved = h.lookup.as_ref().and_then(|l| l.resolved);
    if let Some(path) = h
        .no_path
        .as_ref()
        .filter(|_| !name.is_empty() && resolved.is_none())
    {
        return Verdict::new(
            State::Unknown,
            Http::NoPathToDns {
                url,
                name,
                path: path.clone(),
            },
        );
    }
    if let Some(l) = &h.lookup {
        if l.no_server {
            return Verdict::new(State::Unknown, Http::NoDnsServer { url, name });
        }
        if let Some(path) = l.path {
            let server = Server {
                address: path.target,
                pushed: l.pushed,
            };
            if let Some((why, rtt)) = &l.failed {
                return Verdict::new(
                    State::Critical,
                    Http::LookupFailed {
                        url,
                        name,
                        server,
                        why: why.clone(),
                        rtt: *rtt,
                    },
                );
            }
            if l.resolved.is_none() {
                if l.sent == 0 {
                    return Verdict::new(State::Critical, Http::NotSetUp);
                }
                if let Some(link) = link_problem(data, server.address) {
                    return Verdict::new(
                        State::Critical,
                        Http::LookupLinkSilent {
                            url,
                            name,
                            server,
                            link,
                        },
                    );
                }
                return Verdict::new(
                    State::Critical,
                    Http::LookupUnanswered {
                        url,
                        name,
                        server,
                        sent: l.sent,
                        decrypted: data.decrypted,
                    },
                );
            }
        }
    }
    if let Some(path) = &h.no_path {
        return Verdict::new(
            State::Unknown,
            Http::NoPath {
                url,
                target: path.target.or(h.question.target.map(|t| t.ip())),
                path: path.clone(),
            },
        );
    }
    if h.path.is_none() {
        return Verdict::new(State::Critical, Http::NotSetUp);
    }
    if let Some((true, rtt)) = h.connect {
        return Verdict::new(State::Critical, Http::Refused { url, rtt });
    }
    if let Some(why) = &h.tls_failed {
        return Verdict::new(
            State::Critical,
            Http::TlsFailed {
                url,
                why: why.clone(),
            },
        );
    }
    if let Some(why) = &h.broken {
        return Verdict::new(
            State::Critical,
            Http::Broken {
                url,
                why: why.clone(),
            },
        );
    }
    if h.response.is_none() && h.connect.is_none() {
        // No SYN-ACK nor reset because nothing could go: the link layer says why.
        if let Some(link) = h.path.and_then(|p| link_problem(data, p.target)) {
            return Verdict::new(State::Critical, Http::LinkSilent { url, link });
        }
    }
    match (&h.response, h.connect) {
        (Some((status, reason, size, cut, rtt)), _) => {
            let response = Response {
                status: *status,
                reason: reason.clone(),
                size: *size,
                cut: *cut,
                rtt: *rtt,
            };
            if h.question.wanted(*status) {
                Verdict::new(State::Ok, Http::Answered { url, response })
            } else {
                Verdict::new(
                    State::Critical,
                    Http::Unwanted {
                        url,
                        response,
                        expected: h.question.expect.clone(),
                    },
                )
            }
        }
        (None, Some((false, _))) => Verdict::new(State::Critical, Http::NoResponse { url }),
        (None, _) => Verdict::new(
            State::Critical,
            Http::Unanswered {
                url,
                decrypted: data.decrypted,
            },
        ),
    }
}

fn questions(n: u16) -> String {
    if n == 1 {
        "1 question".into()
    } else {
        format!("{n} questions")
    }
}

/// `https://intranet/ answered 200 OK, 512 bytes in 3.0 ms`.
fn response_words(url: &str, r: &Response) -> String {
    let size = if r.cut {
        format!("more than {} bytes (read no further)", r.size)
    } else {
        format!("{} bytes", r.size)
    };
    format!(
        "{url} answered {} {}, {size} in {}",
        r.status,
        r.reason,
        ms(r.rtt)
    )
}

/// The words for the HTTP request's verdict.
pub(super) fn words(h: &Http) -> String {
    match h {
        Http::NoPathToDns { url, name, path } => format!(
            "no pushed route or address covers the DNS server {} to look up {name} of {url} (pushed: {}); no request was sent",
            path.target.map(|t| t.to_string()).unwrap_or_default(),
            pushed_words(&path.routes)
        ),
        Http::NoDnsServer { url, name } => format!(
            "no DNS server to look up {name} of {url}: the server pushes none (dhcp-option DNS, dns server) and no --dns-server was given; no request was sent"
        ),
        Http::LookupFailed {
            url,
            name,
            server,
            why,
            rtt,
        } => format!(
            "the VPN is up, but {name} of {url} did not resolve: {} answered {why} in {}",
            server_words(server),
            ms(*rtt)
        ),
        Http::NotSetUp => "the data channel was not set up, no request was sent".into(),
        Http::LookupLinkSilent {
            url,
            name,
            server,
            link,
        } => format!(
            "the VPN is up, but {} did not answer the lookup of {name} for {url}: {}",
            server_words(server),
            link_words(link)
        ),
        Http::LookupUnanswered {
            url,
            name,
            server,
            sent,
            decrypted,
        } => format!(
            "the VPN is up, but {} did not answer the lookup of {name} for {url} ({} sent; {})",
            server_words(server),
            questions(*sent),
            decrypted_words(*decrypted)
        ),
        Http::NoPath { url, target, path } => format!(
            "no pushed route or address covers {} of {url} (pushed: {}); no request was sent",
            target.map(|t| t.to_string()).unwrap_or_default(),
            pushed_words(&path.routes)
        ),
        Http::Refused { url, rtt } => format!(
            "the VPN is up, but {url} refused the connection (a TCP reset, in {})",
            ms(*rtt)
        ),
        Http::TlsFailed { url, why } => format!("the VPN is up, but {url}: TLS failed: {why}"),
        Http::Broken { url, why } => format!("{url}: {why}"),
        Http::LinkSilent { url, link } => format!(
            "the VPN is up, but {url} did not answer the connection: {}",
            link_words(link)
        ),
        Http::Answered { url, response } => response_words(url, response),
        Http::Unwanted {
            url,
            response,
            expected,
        } => {
            let want = if expected.is_empty() {
                "a 2xx or 3xx".to_string()
            } else {
                expected
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            format!(
                "the VPN is up, but {}, not {want}",
                response_words(url, response)
            )
        }
        Http::NoResponse { url } => format!(
            "the VPN is up, {url} accepted the connection but sent no whole response in time"
        ),
        Http::Unanswered { url, decrypted } => format!(
            "the VPN is up, but {url} did not answer the connection (no SYN-ACK, no reset; {})",
            decrypted_words(*decrypted)
        ),
        Http::WithCertificate { request, cert } => {
            let cert_state = match cert {
                CertDays::Critical { .. } => State::Critical,
                CertDays::Warning { .. } => State::Warning,
            };
            let request_state = request.state;
            let (request, cert) = (verdict_words(request), cert_words(cert));
            if cert_state.severity() > request_state.severity() {
                format!("{cert}; {request}")
            } else {
                format!("{request}; {cert}")
            }
        }
    }
}

fn cert_words(c: &CertDays) -> String {
    match c {
        CertDays::Critical {
            url,
            name,
            left,
            under,
        } => format!("{url} certificate {name} expires in {left} days (critical under {under})"),
        CertDays::Warning {
            url,
            name,
            left,
            under,
        } => format!("{url} certificate {name} expires in {left} days (warning under {under})"),
    }
}

/// The https chain's certificate that expires first.
fn soonest(h: &HttpOutcome) -> Option<&CertInfo> {
    h.tls
        .as_ref()
        .and_then(|(_, chain)| chain.iter().min_by_key(|c| c.not_after))
}

/// The https chain judged by `-C`: the certificate that expires first against its days,
/// when it raises the state.
fn certificate_days(h: &HttpOutcome, thresholds: &Thresholds, now_unix: i64) -> Option<CertDays> {
    let days = thresholds.cert_days.as_ref()?;
    let first = soonest(h)?;
    let left = first.days_left(now_unix);
    let url = h.question.url.clone();
    let name = first.short_name();
    if left < days.critical_days() {
        Some(CertDays::Critical {
            url,
            name,
            left,
            under: days.critical_days(),
        })
    } else if left < days.warning {
        Some(CertDays::Warning {
            url,
            name,
            left,
            under: days.warning,
        })
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::http::HttpSpec;
    use crate::proto::push::EchoPath;

    fn asked(response: Option<(u16, &str)>) -> HttpOutcome {
        HttpOutcome {
            question: HttpSpec {
                url: "https://10.8.0.1/".into(),
                ..Default::default()
            },
            path: Some(EchoPath {
                source: "10.8.0.6".parse().unwrap(),
                target: "10.8.0.1".parse().unwrap(),
            }),
            connect: Some((false, Duration::from_millis(1))),
            response: response
                .map(|(s, r)| (s, r.to_string(), 512, false, Duration::from_millis(3))),
            ..Default::default()
        }
    }

    fn with_cert(mut h: HttpOutcome, days: i64) -> HttpOutcome {
        let cert = CertInfo {
            role: crate::chain::Role::Leaf,
            subject: "CN=intranet".into(),
            issuer: "CN=ca".into(),
            common_name: Some("intranet".into()),
            not_before: 0,
            not_after: days * 86_400 + 60,
            key: "EC P-256".into(),
            sha256: String::new(),
        };
        h.tls = Some(("TLSv1.3".into(), vec![cert]));
        h
    }

    fn response(status: u16, reason: &str) -> Response {
        Response {
            status,
            reason: reason.into(),
            size: 512,
            cut: false,
            rtt: Duration::from_millis(3),
        }
    }

    #[test]
    fn verdicts_of_the_request() {
        let data = DataOutcome::default();
        let none = Thresholds::default();
        let url = "https://10.8.0.1/".to_string();
        assert_eq!(
            assess(&asked(Some((200, "OK"))), &data, &none, 0),
            Verdict::new(
                State::Ok,
                Http::Answered {
                    url: url.clone(),
                    response: response(200, "OK")
                }
            )
        );
        assert_eq!(
            assess(&asked(Some((404, "Not Found"))), &data, &none, 0),
            Verdict::new(
                State::Critical,
                Http::Unwanted {
                    url: url.clone(),
                    response: response(404, "Not Found"),
                    expected: vec![]
                }
            )
        );
        assert_eq!(
            assess(&asked(None), &data, &none, 0),
            Verdict::new(State::Critical, Http::NoResponse { url: url.clone() })
        );
        // -C on the https chain: a warning leads an OK request.
        let days = Thresholds {
            cert_days: Some(super::super::state::CertDays {
                warning: 30,
                critical: Some(7),
            }),
            ..Default::default()
        };
        let v = assess(&with_cert(asked(Some((200, "OK"))), 20), &data, &days, 0);
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(&v.reason, super::super::verdict::Reason::Http(Http::WithCertificate { request, cert: CertDays::Warning { left: 20, under: 30, .. } })
                if request.state == State::Ok),
            "{v:?}"
        );
        // ... and nothing is said of a certificate with days enough.
        let v = assess(&with_cert(asked(Some((200, "OK"))), 90), &data, &days, 0);
        assert!(matches!(
            v.reason,
            super::super::verdict::Reason::Http(Http::Answered { .. })
        ));
    }

    #[test]
    fn words_golden() {
        let data = DataOutcome::default();
        let days = Thresholds {
            cert_days: Some(super::super::state::CertDays {
                warning: 30,
                critical: Some(7),
            }),
            ..Default::default()
        };
        let said = |h: &HttpOutcome| super::super::verdict::words(&assess(h, &data, &days, 0));
        assert_eq!(
            said(&with_cert(asked(Some((200, "OK"))), 20)),
            "https://10.8.0.1/ certificate CN=intranet expires in 20 days (warning under 30); \
             https://10.8.0.1/ answered 200 OK, 512 bytes in 3.0 ms"
        );
        assert_eq!(
            said(&with_cert(asked(Some((503, "Unavailable"))), 20)),
            "the VPN is up, but https://10.8.0.1/ answered 503 Unavailable, 512 bytes in 3.0 ms, \
             not a 2xx or 3xx; https://10.8.0.1/ certificate CN=intranet expires in 20 days (warning under 30)"
        );
    }
}
