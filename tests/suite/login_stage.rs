//! The login stage against real OpenVPN 2.6 multi-client servers: certificates, user and
//! password through real `auth-user-pass-verify` scripts, CRLs made by the openssl CLI,
//! deferred authentication, long pushes, and the server's management interface as the
//! witness that `EXIT` frees the client.

use crate::common;
use common::pki::{CertSpec, Issued, TestPki};
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A file with `user` on line 1 and `password` on line 2, readable by its owner only.
fn user_pass(dir: &Path, user: &str, password: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(format!("{user}.pass"));
    std::fs::write(&p, format!("{user}\n{password}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// `auth-user-pass-verify` script (via-file): monitor / s3cret is the only account.
const CHECK_PASSWORD: &str = r#"user=$(sed -n 1p "$1"); pass=$(sed -n 2p "$1")
[ "$user" = monitor ] && [ "$pass" = s3cret ] && exit 0
exit 1"#;

fn multi(proto: Proto, family: Family, wrap: Wrap, extra: &[String]) -> Server {
    let mut lines = vec!["server 10.199.0.0 255.255.255.0".to_string()];
    lines.extend_from_slice(extra);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    Server::start_with(
        ServerOpts {
            proto,
            family,
            mode: Mode::MultiClient,
            wrap,
        },
        &refs,
    )
}

/// Runs the plugin against `s` with the server's key flags, `--ca` and `extra`.
fn login(s: &Server, extra: &[&str]) -> Ran {
    let mut args = wrap_args(s);
    args.push("--ca".into());
    args.push(path(&s.ca_cert));
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ran_against(s, &refs)
}

fn cert_args(s: &Server) -> Vec<String> {
    vec![
        "--cert".into(),
        path(&s.client_cert),
        "--key".into(),
        path(&s.client_key),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn certificate_login_pushes_and_exits() {
    if !multi_client_ready() {
        return;
    }
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::tls_auth("SHA256", Some(0)),
        &[],
    );
    let c = cert_args(&s);
    let mut args = strs(&c);
    args.push("-v");
    let run = login(&s, &args).state(0);
    let out = run.out;
    let line = first_line(&out);
    assert!(
        line.contains("logged in as CN=check-openvpn-test-client"),
        "{line}"
    );
    assert!(line.contains("pushed 10.199.0."), "{line}");
    assert!(line.contains("cipher AES-256-GCM"), "{line}");
    assert!(line.contains(" login_time="), "{line}");
    assert!(line.contains(" tls_time="), "{line}");
    assert!(out.contains("\npushed: topology subnet"), "{out}");
    assert!(out.contains("\nserver key-method 2 options: V4,"), "{out}");
    assert!(
        s.wait_for_log("exit message received", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    assert!(s.log().contains("IV_GUI_VER=check_openvpn_"), "{}", s.log());
}

#[test]
fn user_and_password_only_right_and_wrong() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let verify = script(dir.path(), "verify.sh", CHECK_PASSWORD);
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::tls_auth("SHA256", Some(0)),
        &[
            "script-security 2".into(),
            format!("auth-user-pass-verify {} via-file", path(&verify)),
            "verify-client-cert none".into(),
            "username-as-common-name".into(),
        ],
    );
    let good = path(&user_pass(dir.path(), "monitor", "s3cret"));
    login(&s, &["--auth-user-pass", &good])
        .state(0)
        .line_has("logged in as monitor");
    let bad = path(&user_pass(dir.path(), "intruder", "guess"));
    let run = login(&s, &["--auth-user-pass", &bad, "-vvv"])
        .state(2)
        .line_has("login as intruder refused, AUTH_FAILED");
    let out = run.out;
    // Neither password appears at any verbosity.
    assert!(!out.contains("guess") && !out.contains("s3cret"), "{out}");
}

#[test]
fn certificate_plus_password() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let verify = script(dir.path(), "verify.sh", CHECK_PASSWORD);
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::None,
        &[
            "script-security 2".into(),
            format!("auth-user-pass-verify {} via-file", path(&verify)),
        ],
    );
    let up = path(&user_pass(dir.path(), "monitor", "s3cret"));
    let c = cert_args(&s);
    let mut args = strs(&c);
    args.extend(["--auth-user-pass", &up]);
    login(&s, &args).state(0).line_has("logged in as monitor");
    // The same server without the password: refused (it verifies passwords).
    login(&s, &strs(&c)).state(2);
}

/// A server whose client CA is a fresh TestPki CA, with `crl-verify` on a CRL made by it.
fn crl_server(pki: &mut TestPki, ca: &Issued, crl: &Path, name: &str) -> Server {
    let server_leaf = pki.issue(ca, name, &CertSpec::server("crl-server"));
    multi(
        Proto::Udp,
        Family::V4,
        Wrap::None,
        &[
            format!("ca {}", path(&ca.crt)),
            format!("cert {}", path(&server_leaf.crt)),
            format!("key {}", path(&server_leaf.key)),
            format!("crl-verify {}", path(crl)),
        ],
    )
}

#[test]
fn revoked_certificate_and_expired_crl_are_critical() {
    if !multi_client_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("CRL CA"));
    let good = pki.issue(&ca, "good", &CertSpec::client("monitor-good"));
    let revoked = pki.issue(&ca, "revoked", &CertSpec::client("monitor-revoked"));
    pki.revoke(&ca, &revoked);
    let crl = pki.crl(&ca, "current", -1, 30);
    let s = crl_server(&mut pki, &ca, &crl, "server1");
    let ca_path = path(&ca.crt);
    let run = |s: &Server, who: &Issued| {
        let (code, out, _) = check_server(
            s,
            &[
                "--ca",
                &ca_path,
                "--cert",
                &path(&who.crt),
                "--key",
                &path(&who.key),
                "--timeout",
                "1",
                "--retrycount",
                "2",
            ],
        );
        (code, out)
    };
    let (code, out) = run(&s, &good);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    let (code, out) = run(&s, &revoked);
    assert_eq!(code, 2, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("revoked client certificate"),
        "{out}"
    );
    drop(s);
    // A CRL whose nextUpdate passed: every client is refused.
    let expired = pki.crl(&ca, "expired", -30, -1);
    let s = crl_server(&mut pki, &ca, &expired, "server2");
    let (code, out) = run(&s, &good);
    assert_eq!(code, 2, "{out}\n{}", s.log());
    assert!(first_line(&out).contains("expired CRL"), "{out}");
}

#[test]
fn client_connect_script_that_refuses() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let refuse = script(dir.path(), "connect.sh", "exit 1");
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::None,
        &[
            "script-security 2".into(),
            format!("client-connect {}", path(&refuse)),
        ],
    );
    let c = cert_args(&s);
    let run = login(&s, &strs(&c)).state(2);
    let out = run.out;
    assert!(
        first_line(&out).contains("refused") || first_line(&out).contains("AUTH_FAILED"),
        "{out}"
    );
}

#[test]
fn deferred_authentication_granted_a_second_later() {
    if !multi_client_ready() {
        return;
    }
    // Granted after 1 s (about when the first PUSH_REQUEST goes), and after 1.5 s (always
    // after it: the server answers that request once the authentication ends). OpenVPN
    // looks at a deferred authentication's result on its own schedule, so on a loaded
    // machine the answer can come seconds later: the deadline is generous.
    for (delay, at_least) in [("1", 0.9), ("1.5", 1.4)] {
        let dir = tempfile::tempdir().unwrap();
        let deferred = script(
            dir.path(),
            "deferred.sh",
            &format!(
                r#"f="$auth_control_file"
user=$(sed -n 1p "$1")
( sleep {delay}; if [ "$user" = monitor ]; then echo 1 > "$f"; else echo 0 > "$f"; fi ) >/dev/null 2>&1 &
exit 2"#
            ),
        );
        let s = multi(
            Proto::Udp,
            Family::V4,
            Wrap::None,
            &[
                "script-security 2".into(),
                format!("auth-user-pass-verify {} via-file", path(&deferred)),
                "verify-client-cert none".into(),
            ],
        );
        let up = path(&user_pass(dir.path(), "monitor", "any"));
        let run = login(&s, &["--auth-user-pass", &up, "-v", "--timeout", "20"]).state(0);
        let out = run.out;
        let line = first_line(&out);
        assert!(line.contains("logged in as monitor"), "{line}");
        // It waited for the grant.
        let login_time = line
            .split(" login_time=")
            .nth(1)
            .and_then(|t| t.split('s').next())
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap();
        assert!(login_time > at_least, "granted after {delay} s: {line}");
    }
}

#[test]
fn tcp_ipv6_tls_crypt_and_udp_tls_crypt_v2() {
    if !multi_client_ready() {
        return;
    }
    for (proto, family, wrap) in [
        (Proto::Tcp, Family::V6, Wrap::TlsCrypt),
        (Proto::Udp, Family::V4, Wrap::TlsCryptV2),
    ] {
        let s = multi(proto, family, wrap.clone(), &[]);
        let c = cert_args(&s);
        login(&s, &strs(&c)).state(0).line_has("logged in as");
    }
}

#[test]
fn a_push_long_enough_for_push_continuation() {
    if !multi_client_ready() {
        return;
    }
    let routes: Vec<String> = (0..120)
        .map(|i| {
            format!(
                "push \"route 10.{}.{}.0 255.255.255.0\"",
                100 + i / 200,
                i % 200
            )
        })
        .collect();
    let s = multi(Proto::Udp, Family::V4, Wrap::None, &routes);
    let c = cert_args(&s);
    let mut args = strs(&c);
    args.push("-v");
    let run = login(&s, &args).state(0);
    let out = run.out;
    // Every route arrived, across the continuation parts.
    let pushed_routes = out
        .lines()
        .filter(|l| l.starts_with("pushed: route 10."))
        .count();
    assert_eq!(pushed_routes, 120, "{out}");
    assert!(
        s.log().contains("push-continuation"),
        "the server split its push:\n{}",
        s.log()
    );
}

#[test]
fn client_ovpn_with_inline_blocks_and_relative_password_file() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let verify = script(dir.path(), "verify.sh", CHECK_PASSWORD);
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::tls_auth("SHA256", Some(0)),
        &[
            "script-security 2".into(),
            format!("auth-user-pass-verify {} via-file", path(&verify)),
        ],
    );
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    user_pass(dir.path(), "monitor", "s3cret");
    let ovpn = dir.path().join("monitor.ovpn");
    std::fs::write(
        &ovpn,
        format!(
            "client\ndev tun\nremote {} {}\nproto udp\nauth SHA256\nkey-direction 1\nremote-cert-tls server\nauth-user-pass monitor.pass\n<ca>\n{}</ca>\n<cert>\n{}</cert>\n<key>\n{}</key>\n<tls-auth>\n{}</tls-auth>\n",
            s.addr,
            s.port,
            read(&s.ca_cert),
            read(&s.client_cert),
            read(&s.client_key),
            read(&s.static_key)
        ),
    )
    .unwrap();
    let (code, out, _, _) = run_check(&["--config", &path(&ovpn), "--login", "-vvv"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(first_line(&out).contains("logged in as monitor"), "{out}");
    // -vvv shows neither the password nor key material.
    assert!(!out.contains("s3cret"), "{out}");
    let key_body: String = read(&s.client_key).lines().nth(1).unwrap().to_string();
    assert!(!out.contains(&key_body), "{out}");
    let ta_line: String = read(&s.static_key)
        .lines()
        .find(|l| l.len() == 32 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap()
        .to_string();
    assert!(!out.contains(&ta_line), "{out}");
}

#[test]
fn exit_frees_the_client_within_seconds() {
    if !multi_client_ready() {
        return;
    }
    let mgmt = free_port(Proto::Tcp, Family::V4);
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::None,
        &[format!("management 127.0.0.1 {mgmt}")],
    );
    assert!(management_clients(mgmt).is_empty());
    let c = cert_args(&s);
    login(&s, &strs(&c)).state(0);
    // Logged in: the server lists it, until EXIT's delayed exit (5 s) frees it.
    let t0 = Instant::now();
    loop {
        let clients = management_clients(mgmt);
        if clients.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the client is still listed: {clients:?}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(s.log().contains("exit message received"), "{}", s.log());
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut pki = TestPki::new(dir.path());
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Usage CA"));
    let a = pki.issue(&ca, "a", &CertSpec::client("a"));
    let b = pki.issue(&ca, "b", &CertSpec::client("b"));
    let nopass = dir.path().join("nopass");
    std::fs::write(&nopass, "monitor\n").unwrap();
    let encrypted = dir.path().join("enc.key");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--login".into()],
            "--login needs something to log in with",
        ),
        (
            vec!["--auth-user-pass".into(), "/nonexistent/pass".into()],
            "cannot read auth-user-pass file",
        ),
        (
            vec!["--auth-user-pass".into(), path(&nopass)],
            "line 2 must hold the password",
        ),
        (vec!["--key".into(), path(&a.key)], "--key needs --cert"),
        (
            vec!["--cert".into(), path(&a.crt), "--key".into(), path(&b.key)],
            "does not belong to the certificate",
        ),
        (
            vec![
                "--cert".into(),
                path(&a.crt),
                "--key".into(),
                path(&encrypted),
            ],
            "is encrypted",
        ),
        (
            vec!["--cert".into(), path(&a.key), "--key".into(), path(&a.key)],
            "no PEM certificate",
        ),
    ];
    for (args, words) in cases {
        let mut all = vec!["-H".to_string(), "127.0.0.1".into()];
        all.extend(args.clone());
        let (code, out, _, _) = run_check(&strs(&all));
        assert_eq!(code, 3, "{args:?}: {out}");
        assert!(first_line(&out).contains(words), "{args:?}: {out}");
    }
}

#[test]
fn point_to_point_login_ends_at_the_key_exchange() {
    if !openvpn_available() {
        return;
    }
    let s = Server::start(ServerOpts {
        proto: Proto::Udp,
        family: Family::V4,
        mode: Mode::P2p,
        wrap: Wrap::None,
    });
    let c = cert_args(&s);
    let args = strs(&c);
    let run = login(&s, &args).state(0);
    let out = run.out;
    let line = first_line(&out);
    assert!(
        line.contains("logged in as CN=check-openvpn-test-client"),
        "{line}"
    );
    assert!(
        line.contains("point-to-point server (it pushes nothing)"),
        "{line}"
    );
    // It ended at the key exchange, without waiting for a push request's answer.
    assert!(!line.contains(" in 1.0"), "{line}");
    // EXIT lets the server restart for its next peer.
    assert!(
        s.wait_for_log("remote-exit", Duration::from_secs(5)),
        "{}",
        s.log()
    );
}

#[test]
fn authentication_still_pending_at_the_end_is_a_warning_naming_the_method() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pending = script(
        dir.path(),
        "pending.sh",
        r#"printf '60\nwebauth\nWEB_AUTH::https://sso.example.org/login\n' > "$auth_pending_file"
exit 2"#,
    );
    let s = multi(
        Proto::Udp,
        Family::V4,
        Wrap::None,
        &[
            "script-security 2".into(),
            format!("auth-user-pass-verify {} via-file", path(&pending)),
            "verify-client-cert none".into(),
        ],
    );
    let up = path(&user_pass(dir.path(), "monitor", "any"));
    let run = login(
        &s,
        &[
            "--auth-user-pass",
            &up,
            "--timeout",
            "1",
            "--retrycount",
            "2",
        ],
    )
    .state(1);
    let out = run.out;
    let line = first_line(&out);
    assert!(line.contains("still pending by WEB_AUTH"), "{line}");
    assert!(line.contains("(the server allows 60 s)"), "{line}");
}
