//! What checks leave in a real OpenVPN 2.6 server's log, held against the patterns of
//! fail2ban's stock `openvpn` filter (`config/filter.d/openvpn.conf`), so that a check every
//! minute cannot get the monitoring host banned where the stage can be clean.

use crate::common;
use common::*;
use std::time::Duration;

/// fail2ban's stock openvpn failregex lines, without the syslog prefix each starts with
/// (`%(__hostname)s ovpn-server\[pid\]:`): `host_port` means `<HOST>:[0-9]{3,5}` with one
/// character before it; the text must follow it (after one space) or, for the last
/// pattern, precede it.
struct Pattern {
    text: &'static str,
    /// `true`: `text <HOST>:port` (the host follows the text), else `<HOST>:port text`.
    host_after: bool,
}

const FAIL2BAN_OPENVPN: [Pattern; 5] = [
    Pattern {
        text: "TLS Auth Error:",
        host_after: false,
    },
    Pattern {
        text: "VERIFY ERROR:",
        host_after: false,
    },
    Pattern {
        text: "TLS Error: TLS handshake failed",
        host_after: false,
    },
    Pattern {
        text: "SIGUSR1[soft,connection-reset] received",
        host_after: false,
    },
    Pattern {
        text: "TLS Error: cannot locate HMAC in incoming packet from [AF_INET]",
        host_after: true,
    },
];

/// `HOST:NNN[NN]` at the start of `s`, and what follows it.
fn host_port<'a>(s: &'a str, host: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(host)?.strip_prefix(':')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (3..=5).contains(&digits).then(|| &rest[digits..])
}

/// The log lines a fail2ban jail with the stock filter would count against `host`.
fn banned_lines(log: &str, host: &str) -> Vec<String> {
    log.lines()
        .filter(|line| {
            FAIL2BAN_OPENVPN.iter().any(|p| {
                if p.host_after {
                    line.find(p.text)
                        .and_then(|i| host_port(&line[i + p.text.len()..], host))
                        .is_some()
                } else {
                    // `.<HOST>:port text`: any one character, then the host.
                    line.char_indices().any(|(i, _)| {
                        i > 0
                            && host_port(&line[i..], host)
                                .and_then(|rest| rest.strip_prefix(' '))
                                .is_some_and(|rest| rest.starts_with(p.text))
                    })
                }
            })
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn the_matcher_matches_what_the_filter_bans() {
    let log = "\
2026-11-29 05:31:15 127.0.0.1:33771 TLS Error: TLS handshake failed
2026-11-29 05:31:15 monitor/127.0.0.1:43896 SIGUSR1[soft,connection-reset] received, client-instance restarting
2026-11-29 05:31:15 TLS Error: cannot locate HMAC in incoming packet from [AF_INET]127.0.0.1:40001
2026-11-29 05:31:15 127.0.0.1:33771 TLS Error: TLS object -> incoming plaintext read error
2026-11-29 05:31:15 monitor/127.0.0.1:43896 SIGTERM[soft,delayed-exit] received, client-instance exiting
2026-11-29 05:31:15 10.0.0.9:33771 TLS Error: TLS handshake failed
2026-11-29 05:31:15 127.0.0.1:12 TLS Error: TLS handshake failed";
    let banned = banned_lines(log, "127.0.0.1");
    assert_eq!(banned.len(), 3, "{banned:#?}");
}

fn multi(proto: Proto) -> Option<Server> {
    if !multi_client_ready() {
        return None;
    }
    Some(Server::start_with(
        ServerOpts {
            proto,
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
        },
        &["server 10.199.0.0 255.255.255.0", "verb 3"],
    ))
}

fn args(s: &Server, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--tls-auth".into(),
        s.static_key.display().to_string(),
        "--digest".into(),
        "SHA256".into(),
    ];
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

fn login_args(s: &Server, extra: &[&str]) -> Vec<String> {
    let ca = s.ca_cert.display().to_string();
    let cert = s.client_cert.display().to_string();
    let key = s.client_key.display().to_string();
    let mut e = vec!["--ca", &ca, "--cert", &cert, "--key", &key];
    e.extend_from_slice(extra);
    args(s, &e)
}

fn run(s: &Server, a: &[String]) -> (i32, String) {
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, out, _) = check_server(s, &refs);
    (code, out)
}

/// Waits until `needle` appears `n` times in the log.
fn wait_count(s: &Server, needle: &str, n: usize, limit: Duration) -> bool {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < limit {
        if s.log().matches(needle).count() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn reset_and_login_over_udp_leave_nothing_fail2ban_bans() {
    let Some(s) = multi(Proto::Udp) else {
        return;
    };
    const CHECKS: usize = 5;
    for _ in 0..CHECKS {
        let (code, out) = run(&s, &args(&s, &[]));
        assert_eq!(code, 0, "{out}");
    }
    for _ in 0..CHECKS {
        let (code, out) = run(&s, &login_args(&s, &[]));
        assert_eq!(code, 0, "{out}\n{}", s.log());
    }
    // The server took every EXIT; a new login under the same certificate drops the
    // previous session at once, so the last one's delayed exit (5 s) ends the run.
    assert_eq!(
        s.log().matches("exit message received").count(),
        CHECKS,
        "{}",
        s.log()
    );
    assert!(
        wait_count(&s, "client-instance exiting", 1, Duration::from_secs(20)),
        "{}",
        s.log()
    );
    let banned = banned_lines(&s.log(), "127.0.0.1");
    assert!(
        banned.is_empty(),
        "fail2ban would count: {banned:#?}\n{}",
        s.log()
    );
    // And the matcher is not blind: a TLS-stage check without a client certificate is
    // counted on the same server.
    let (code, out) = run(&s, &args(&s, &["--tls"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_count(&s, "TLS handshake failed", 1, Duration::from_secs(10)),
        "{}",
        s.log()
    );
    assert_eq!(banned_lines(&s.log(), "127.0.0.1").len(), 1, "{}", s.log());
}

#[test]
fn login_over_tcp_is_clean_only_when_it_waits_for_the_close() {
    let Some(s) = multi(Proto::Tcp) else {
        return;
    };
    let (code, out) = run(
        &s,
        &login_args(&s, &["--wait-for-close", "--timeout", "10"]),
    );
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(s.log().contains("delayed-exit"), "{}", s.log());
    let banned = banned_lines(&s.log(), "127.0.0.1");
    assert!(
        banned.is_empty(),
        "fail2ban would count: {banned:#?}\n{}",
        s.log()
    );
    // Without the wait, the close shows up as a connection reset, which the filter bans.
    let (code, out) = run(&s, &login_args(&s, &[]));
    assert_eq!(code, 0, "{out}");
    assert!(
        wait_count(&s, "connection-reset", 1, Duration::from_secs(10)),
        "{}",
        s.log()
    );
    assert_eq!(banned_lines(&s.log(), "127.0.0.1").len(), 1, "{}", s.log());
}
