//! The TLS stage against real OpenVPN 2.6 servers: every wrap, UDP and TCP, IPv4 and IPv6,
//! point-to-point and multi-client, and chains with exact dates made at test time by the
//! openssl CLI (tests/common/pki.rs), never by the code under test.

use crate::common;
use common::pki::{dh_params, CertSpec, Issued, KeyKind, TestPki};
use common::*;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Runs the plugin against `s` with the server's key flags and `extra`.
fn tls_check(s: &Server, extra: &[&str]) -> Ran {
    let mut args: Vec<String> = wrap_args(s);
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ran_against(s, &refs)
}

fn opts(proto: Proto, family: Family, mode: Mode, wrap: Wrap) -> ServerOpts {
    ServerOpts {
        proto,
        family,
        mode,
        wrap,
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Config lines that make a server use `leaf` (and send `extra` certificates).
fn cert_lines(leaf: &Issued, extra: Option<&Path>) -> Vec<String> {
    let mut v = vec![
        format!("cert {}", path(&leaf.crt)),
        format!("key {}", path(&leaf.key)),
    ];
    if let Some(e) = extra {
        v.push(format!("extra-certs {}", path(e)));
    }
    v
}

fn start(o: ServerOpts, extra: &[String]) -> Server {
    let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    Server::start_with(o, &refs)
}

/// A server whose certificate is `spec`, signed by a fresh CA valid for ten years.
fn server_with_leaf(spec: CertSpec, o: ServerOpts) -> (Server, TestPki, Issued) {
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Test Root CA"));
    let leaf = pki.issue(&ca, "leaf", &spec);
    let s = start(o, &cert_lines(&leaf, None));
    (s, pki, ca)
}

fn perf(out: &str, label: &str) -> Option<String> {
    first_line(out)
        .split(" | ")
        .nth(1)?
        .split(' ')
        .find(|p| p.starts_with(&format!("{label}=")))
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------
// Wraps, protocols, families, server kinds
// ---------------------------------------------------------------------------------------

#[test]
fn multi_udp_tls_auth_sha256_chain_verified() {
    if !multi_client_ready() {
        return;
    }
    let s = Server::start(opts(
        Proto::Udp,
        Family::V4,
        Mode::MultiClient,
        Wrap::tls_auth("SHA256", Some(0)),
    ));
    let ca = path(&s.ca_cert);
    let run = tls_check(&s, &["--ca", &ca, "-v"]).state(0);
    let out = run.out;
    let line = first_line(&out);
    assert!(line.contains("TLSv1.3 TLS_AES_"), "{line}");
    assert!(
        line.contains("certificate CN=check-openvpn-test-server valid"),
        "{line}"
    );
    assert!(line.contains("chain verified (tls-auth SHA256)"), "{line}");
    assert!(perf(&out, "tls_time").is_some(), "{line}");
    assert!(
        perf(&out, "cert_days").is_some_and(|p| p.starts_with("cert_days=36")),
        "{line}"
    );
    assert!(perf(&out, "time").is_some(), "{line}");
    assert!(
        out.contains(
            "\ncertificate: CN=check-openvpn-test-server; issuer CN=check-openvpn-test-ca;"
        ),
        "{out}"
    );
    assert!(out.contains("\nCA: CN=check-openvpn-test-ca;"), "{out}");
    assert!(out.contains("EC P-256; sha256 "), "{out}");
}

#[test]
fn multi_tcp_ipv6_tls_crypt() {
    if !multi_client_ready() {
        return;
    }
    let s = Server::start(opts(
        Proto::Tcp,
        Family::V6,
        Mode::MultiClient,
        Wrap::TlsCrypt,
    ));
    let ca = path(&s.ca_cert);
    tls_check(&s, &["--ca", &ca])
        .state(0)
        .line_has("[::1]:")
        .line_has("/tcp TLSv1.3")
        .line_has("(tls-crypt)");
}

#[test]
fn multi_tls_crypt_v2_udp_and_tcp() {
    if !multi_client_ready() {
        return;
    }
    for proto in [Proto::Udp, Proto::Tcp] {
        let s = Server::start(opts(proto, Family::V4, Mode::MultiClient, Wrap::TlsCryptV2));
        let ca = path(&s.ca_cert);
        let run = tls_check(&s, &["--ca", &ca, "-v"])
            .state(0)
            .line_has("(tls-crypt-v2)");
        let out = run.out;
        // Over UDP a 2.6 server answers statelessly and asks for the wrapped key again.
        assert_eq!(
            out.contains("asked for the wrapped client key again"),
            proto == Proto::Udp,
            "{out}"
        );
    }
}

#[test]
fn tls_crypt_v2_key_refused_by_verify_script_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("refuse.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = start(
        opts(Proto::Udp, Family::V4, Mode::MultiClient, Wrap::TlsCryptV2),
        &[
            "script-security 2".into(),
            format!("tls-crypt-v2-verify {}", path(&script)),
        ],
    );
    // The reset stage alone cannot see it: the server answers before it verifies.
    tls_check(&s, &["--timeout", "1", "--retrycount", "1"]).state(0);
    tls_check(&s, &["--tls", "--timeout", "1", "--retrycount", "1"])
        .state(2)
        .line_has("refused our tls-crypt-v2 client key");
    assert!(
        s.log().contains("TLS CRYPT V2 VERIFY SCRIPT ERROR") || s.log().contains("tls-crypt-v2"),
        "{}",
        s.log()
    );
}

#[test]
fn p2p_udp_and_tcp_without_wrap() {
    if !openvpn_available() {
        return;
    }
    for proto in [Proto::Udp, Proto::Tcp] {
        let s = Server::start(opts(proto, Family::V4, Mode::P2p, Wrap::None));
        tls_check(&s, &["--tls"])
            .state(0)
            .line_has("chain not verified (no --ca)");
    }
}

#[test]
fn p2p_ipv6_tls_auth_default_digest() {
    if !openvpn_available() {
        return;
    }
    let s = Server::start(opts(
        Proto::Udp,
        Family::V6,
        Mode::P2p,
        Wrap::tls_auth("SHA1", Some(0)),
    ));
    let ca = path(&s.ca_cert);
    tls_check(&s, &["--ca", &ca])
        .state(0)
        .line_has("chain verified (tls-auth SHA1)");
}

// ---------------------------------------------------------------------------------------
// Chains and keys
// ---------------------------------------------------------------------------------------

#[test]
fn rsa_chain_of_three_sent_with_extra_certs() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let rsa = |cn| CertSpec {
        key: KeyKind::Rsa2048,
        ..CertSpec::ca(cn)
    };
    let root = pki.self_signed_ca("root", &rsa("Root CA"));
    let inter = pki.issue(&root, "inter", &rsa("Intermediate CA"));
    let leaf = pki.issue(
        &inter,
        "leaf",
        &CertSpec {
            key: KeyKind::Rsa2048,
            subject_extra: "/O=Example/OU=VPN",
            ..CertSpec::server("vpn-rsa")
        },
    );
    let s = start(
        opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None),
        &cert_lines(&leaf, Some(&inter.crt)),
    );
    let root_path = path(&root.crt);
    let run = tls_check(&s, &["--ca", &root_path, "-v"]).state(0);
    let out = run.out;
    assert!(
        out.contains("\ncertificate: O=Example, OU=VPN, CN=vpn-rsa;"),
        "{out}"
    );
    assert!(
        out.contains("\nintermediate: CN=Intermediate CA; issuer CN=Root CA;"),
        "{out}"
    );
    assert!(out.contains("\nCA: CN=Root CA;"), "{out}");
    assert!(out.contains("; RSA 2048; "), "{out}");
}

#[test]
fn tls12_only_and_tls13_only_servers() {
    if !openvpn_available() {
        return;
    }
    for (line, version) in [
        ("tls-version-max 1.2", "TLSv1.2"),
        ("tls-version-min 1.3", "TLSv1.3"),
    ] {
        let s = start(
            opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None),
            &[line.into()],
        );
        let ca = path(&s.ca_cert);
        let run = tls_check(&s, &["--ca", &ca]).state(0);
        let out = run.out;
        assert!(first_line(&out).contains(&format!(" {version} ")), "{out}");
    }
}

/// The real `openvpn` client's verdict on `s` reached at `remote` (trusting `ca`,
/// presenting the harness's client certificate), and its log: the reference for what the
/// check must say. For servers without a wrap.
fn real_client_connects(s: &Server, remote: SocketAddr, ca: &Path) -> (bool, String) {
    assert_eq!(
        s.opts.wrap,
        Wrap::None,
        "the real client here speaks no wrap"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("client.log");
    let proto = match s.opts.proto {
        Proto::Udp => "udp4",
        Proto::Tcp => "tcp4-client",
    };
    let args: Vec<String> = vec![
        "--tls-client".into(),
        "--dev".into(),
        "null".into(),
        "--nobind".into(),
        "--remote".into(),
        remote.ip().to_string(),
        remote.port().to_string(),
        "--proto".into(),
        proto.into(),
        "--ca".into(),
        path(ca),
        "--cert".into(),
        path(&s.client_cert),
        "--key".into(),
        path(&s.client_key),
        "--verb".into(),
        "4".into(),
        "--tls-exit".into(),
        "--connect-retry-max".into(),
        "1".into(),
        "--hand-window".into(),
        "15".into(),
        "--log".into(),
        path(&log),
    ];
    let mut child = std::process::Command::new(openvpn_bin())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the openvpn client");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let verdict = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Peer Connection Initiated") {
            break (true, text);
        }
        let exited = child.try_wait().ok().flatten().is_some();
        if exited || text.contains("TLS Error: TLS handshake failed") {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            break (text.contains("Peer Connection Initiated"), text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the openvpn client neither connected nor failed within 20 s:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    verdict
}

/// A server that speaks only TLS 1.2 DHE-RSA (which the check cannot), its config lines
/// and its CA.
fn dhe_only_server() -> (TestPki, Issued, Vec<String>) {
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca(
        "ca",
        &CertSpec {
            key: KeyKind::Rsa2048,
            ..CertSpec::ca("DHE CA")
        },
    );
    let leaf = pki.issue(
        &ca,
        "leaf",
        &CertSpec {
            key: KeyKind::Rsa2048,
            ..CertSpec::server("dhe")
        },
    );
    let dh = dh_params(pki.dir());
    let mut extra = cert_lines(&leaf, None);
    extra.extend([
        format!("dh {}", path(&dh)),
        "tls-version-max 1.2".into(),
        "tls-cipher DHE-RSA-AES256-GCM-SHA384".into(),
    ]);
    (pki, ca, extra)
}

#[test]
fn dhe_only_tls12_server_is_unknown_not_critical() {
    if !multi_client_ready() {
        return;
    }
    let (_pki, ca, extra) = dhe_only_server();
    // OpenVPN sends no alert: a multi-client server drops the hello without a word (over
    // TCP it closes the connection). The check's own hello gives up on the silence early,
    // and the probing hello names what the server chose, with the default budget.
    for proto in [Proto::Udp, Proto::Tcp] {
        let s = start(
            opts(proto, Family::V4, Mode::MultiClient, Wrap::None),
            &extra,
        );
        let ca_path = path(&ca.crt);
        let run = tls_check(&s, &["--ca", &ca_path])
            .state(3)
            .line_has("the server speaks only TLS_DHE_RSA_WITH_AES_256_GCM_SHA384");
        let out = run.out;
        assert!(s.log().contains("no shared cipher"), "{}", s.log());
        // The whole text (past the status line's 300 characters) follows the status line.
        assert!(out.contains("this check cannot judge it"), "{out}");
        // The reference: OpenVPN's own client, which offers DHE, connects.
        let (ok, log) = real_client_connects(&s, s.socket_addr(), &ca.crt);
        assert!(ok, "{proto:?}: the real client failed:\n{log}");
    }
}

/// Which of the server's packets, by opcode, a [`SlowRelay`] holds back.
type Held = fn(u8) -> bool;

/// A UDP relay in front of a server that holds back by `delay` the server's packets whose
/// opcode `held` picks. Each client address gets its own socket towards the server, as it
/// would without the relay.
struct SlowRelay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Arc<Mutex<Vec<thread::JoinHandle<()>>>>,
}

impl SlowRelay {
    fn start(upstream: SocketAddr, delay: Duration, held: Held) -> SlowRelay {
        let listen = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let tick = Some(Duration::from_millis(20));
        listen.set_read_timeout(tick).unwrap();
        let addr = listen.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Arc<Mutex<Vec<thread::JoinHandle<()>>>> = Arc::default();
        let main = {
            let (stop, threads) = (stop.clone(), threads.clone());
            thread::spawn(move || {
                let mut ups: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
                let mut buf = [0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, client)) = listen.recv_from(&mut buf) else {
                        continue;
                    };
                    let up = ups.entry(client).or_insert_with(|| {
                        let up = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
                        up.connect(upstream).unwrap();
                        up.set_read_timeout(tick).unwrap();
                        let (reader, listen, stop) = (up.clone(), listen.clone(), stop.clone());
                        // The server to this client.
                        let back = thread::spawn(move || {
                            let mut buf = [0u8; 65536];
                            while !stop.load(Ordering::Relaxed) {
                                let Ok(n) = reader.recv(&mut buf) else {
                                    continue;
                                };
                                let p = buf[..n].to_vec();
                                if n > 0 && held(p[0] >> 3) {
                                    let listen = listen.clone();
                                    thread::spawn(move || {
                                        thread::sleep(delay);
                                        let _ = listen.send_to(&p, client);
                                    });
                                } else {
                                    let _ = listen.send_to(&p, client);
                                }
                            }
                        });
                        threads.lock().unwrap().push(back);
                        up
                    });
                    let _ = up.send(&buf[..n]);
                }
            })
        };
        threads.lock().unwrap().push(main);
        SlowRelay {
            addr,
            stop,
            threads,
        }
    }
}

impl Drop for SlowRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The main thread may add a reader while it stops: join until none is left.
        loop {
            let taken: Vec<_> = self.threads.lock().unwrap().drain(..).collect();
            if taken.is_empty() {
                break;
            }
            for t in taken {
                let _ = t.join();
            }
        }
    }
}

const P_CONTROL_V1: u8 = 4;
const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;

#[test]
fn a_slow_server_hello_is_waited_for_not_misread_as_a_refusal() {
    if !multi_client_ready() {
        return;
    }
    // A healthy server whose TLS records arrive 700 ms late (its reset on time). The
    // check's hello may give up on the silence early, but the probing hello then sees a
    // choice the check speaks, and the check asks again with its own, within its budget.
    let s = Server::start(opts(Proto::Udp, Family::V4, Mode::MultiClient, Wrap::None));
    let ca = path(&s.ca_cert);
    let delay = Duration::from_millis(700);
    let cases: [(&str, Held); 2] = [
        ("its TLS records", |op| op == P_CONTROL_V1),
        // Its acks too: nothing at all comes back for our hello in time.
        ("everything but its reset", |op| {
            op != P_CONTROL_HARD_RESET_SERVER_V2
        }),
    ];
    for (what, held) in cases {
        let relay = SlowRelay::start(s.socket_addr(), delay, held);
        let port = relay.addr.port().to_string();
        let mut run = ran(&["-H", "127.0.0.1", "-p", &port, "--ca", &ca, "-v"]);
        run.out = format!("{}\n(the relay held back {what})", run.out);
        let run = run.state(0).line_has("chain verified");
        if what == "everything but its reset" {
            // Nothing came for 700 ms: the hello gave up, and the check asked again.
            assert!(
                run.out.contains("asking again with our own"),
                "the hello did not give up early{}",
                run.context()
            );
        }
        // The reference: OpenVPN's own client, behind the same relay.
        let (ok, log) = real_client_connects(&s, relay.addr, &s.ca_cert);
        assert!(ok, "{what}: the real client failed:\n{log}");
    }
}

#[test]
fn certificate_days_thresholds() {
    if !openvpn_available() {
        return;
    }
    let spec = CertSpec {
        not_after_days: 5,
        ..CertSpec::server("soon")
    };
    let (s, _pki, ca) = server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
    let ca = path(&ca.crt);
    let run = tls_check(&s, &["--ca", &ca, "-C", "30,3"]).state(1);
    let out = run.out;
    // notAfter is five days from the moment the certificate was made: 4 or 5 whole days.
    let line = first_line(&out);
    assert!(
        line.contains("certificate CN=soon expires in 4 days (warning under 30)")
            || line.contains("certificate CN=soon expires in 5 days (warning under 30)"),
        "{out}"
    );
    assert!(line.contains("chain verified"), "{out}");
    let p = perf(&out, "cert_days").unwrap_or_default();
    assert!(
        p == "cert_days=4;30:;3:;;" || p == "cert_days=5;30:;3:;;",
        "{out}"
    );
    drop(s);
    let spec = CertSpec {
        not_after_days: 5,
        ..CertSpec::server("soon")
    };
    let (s, _pki, ca) = server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
    let ca = path(&ca.crt);
    tls_check(&s, &["--ca", &ca, "-C", "30,7"])
        .state(2)
        .line_has("(critical under 7)");
}

#[test]
fn expired_and_not_yet_valid_are_critical_with_or_without_ca() {
    if !openvpn_available() {
        return;
    }
    let cases = [
        (
            CertSpec {
                not_before_days: -30,
                not_after_days: -2,
                ..CertSpec::server("old")
            },
            "certificate CN=old expired 2 days ago",
        ),
        (
            CertSpec {
                not_before_days: 3,
                not_after_days: 300,
                ..CertSpec::server("early")
            },
            "certificate CN=early is not valid before",
        ),
    ];
    for (spec, words) in cases {
        for with_ca in [true, false] {
            let (s, _pki, ca) =
                server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
            let ca = path(&ca.crt);
            let args: Vec<&str> = if with_ca {
                vec!["--ca", &ca, "-v"]
            } else {
                vec!["--tls", "-v"]
            };
            let run = tls_check(&s, &args).state(2);
            let out = run.out;
            assert!(first_line(&out).contains(words), "{out}");
            // The chain is still reported in full.
            assert!(
                out.contains(&format!("\ncertificate: CN={}", spec.cn)),
                "{out}"
            );
        }
    }
}

#[test]
fn ca_that_expires_soon_is_named() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca(
        "ca",
        &CertSpec {
            not_after_days: 10,
            ..CertSpec::ca("Short CA")
        },
    );
    let leaf = pki.issue(
        &ca,
        "leaf",
        &CertSpec {
            not_after_days: 9,
            ..CertSpec::server("short")
        },
    );
    let leaf2 = leaf.clone();
    let _ = leaf2;
    let s = start(
        opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None),
        &cert_lines(&leaf, None),
    );
    let ca_path = path(&ca.crt);
    tls_check(&s, &["--ca", &ca_path, "-C", "30"])
        .state(1)
        .line_has(" days (warning under 30)");

    // A CA that expires before its leaf is named as the one that expires first.
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca(
        "ca",
        &CertSpec {
            not_after_days: 6,
            ..CertSpec::ca("Dying CA")
        },
    );
    let leaf = pki.issue(
        &ca,
        "leaf",
        &CertSpec {
            not_after_days: 6,
            ..CertSpec::server("long")
        },
    );
    let _ = leaf;
    let leaf = pki.issue(
        &ca,
        "leaf2",
        &CertSpec {
            not_after_days: 400,
            ..CertSpec::server("long2")
        },
    );
    let s = start(
        opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None),
        &cert_lines(&leaf, None),
    );
    let ca_path = path(&ca.crt);
    tls_check(&s, &["--ca", &ca_path, "-C", "30,2"])
        .state(1)
        .line_has("CA CN=Dying CA expires");
}

#[test]
fn wrong_ca_is_critical_and_unreadable_ca_unknown() {
    if !openvpn_available() {
        return;
    }
    let s = Server::start(opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
    let mut pki = TestPki::temp();
    let other = pki.self_signed_ca("other", &CertSpec::ca("Other CA"));
    let other_path = path(&other.crt);
    tls_check(&s, &["--ca", &other_path])
        .state(2)
        .line_has("chain does not lead to --ca");
    // Not PEM: UNKNOWN before any packet.
    let junk = pki.dir().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let (code, out, _, _) = run_check(&["-H", "127.0.0.1", "--ca", &path(&junk)]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("no PEM certificate"), "{out}");
    let (code, out, _, _) = run_check(&["-H", "127.0.0.1", "--ca", "/nonexistent/ca.crt"]);
    assert_eq!(code, 3, "{out}");
}

#[test]
fn remote_cert_tls_server_refuses_a_certificate_without_eku() {
    if !openvpn_available() {
        return;
    }
    let spec = CertSpec {
        eku: None,
        ..CertSpec::server("no-eku")
    };
    let (s, _pki, ca) = server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
    let ca = path(&ca.crt);
    tls_check(&s, &["--ca", &ca, "--remote-cert-tls", "server"])
        .state(2)
        .line_has("remote-cert-tls server requires");
    drop(s);
    // Without remote-cert-tls, an OpenVPN client accepts a leaf without EKU.
    let spec = CertSpec {
        eku: None,
        ..CertSpec::server("no-eku")
    };
    let (s, _pki, ca) = server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
    let ca = path(&ca.crt);
    tls_check(&s, &["--ca", &ca]).state(0);
}

#[test]
fn verify_x509_name_types() {
    if !openvpn_available() {
        return;
    }
    let spec = CertSpec {
        subject_extra: "/C=DE/O=Example",
        ..CertSpec::server("vpn1.example.org")
    };
    let cases: [(&[&str], i32); 6] = [
        (
            &["--verify-x509-name", "C=DE, O=Example, CN=vpn1.example.org"],
            0,
        ),
        (
            &["--verify-x509-name", "C=DE, O=Example, CN=vpn2.example.org"],
            2,
        ),
        (
            &[
                "--verify-x509-name",
                "vpn1.example.org",
                "--verify-x509-type",
                "name",
            ],
            0,
        ),
        (
            &["--verify-x509-name", "vpn1", "--verify-x509-type", "name"],
            2,
        ),
        (
            &[
                "--verify-x509-name",
                "vpn1.",
                "--verify-x509-type",
                "name-prefix",
            ],
            0,
        ),
        (
            &[
                "--verify-x509-name",
                "vpn2.",
                "--verify-x509-type",
                "name-prefix",
            ],
            2,
        ),
    ];
    for (args, want) in cases {
        let (s, _pki, ca) =
            server_with_leaf(spec, opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None));
        let ca = path(&ca.crt);
        let mut all = vec!["--ca", ca.as_str()];
        all.extend_from_slice(args);
        let run = tls_check(&s, &all).state(want);
        if want == 2 {
            run.line_has("does not match");
        }
    }
}

#[test]
fn config_with_inline_ca_and_tls_auth() {
    if !openvpn_available() {
        return;
    }
    let s = Server::start(opts(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA256", Some(0)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("client.ovpn");
    let ta = std::fs::read_to_string(&s.static_key).unwrap();
    let ca = std::fs::read_to_string(&s.ca_cert).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "client\nremote {} {}\nproto udp\nauth SHA256\nkey-direction 1\nremote-cert-tls server\n<ca>\n{ca}</ca>\n<tls-auth>\n{ta}</tls-auth>\n",
            s.addr, s.port
        ),
    )
    .unwrap();
    let cfg = path(&cfg);
    // A config alone stays at the reset stage.
    let (code, out, _, _) = run_check(&["--config", &cfg]);
    assert_eq!(code, 0, "{out}");
    assert!(!first_line(&out).contains("TLSv1"), "{out}");
    drop(s);
    let s = Server::start(opts(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA256", Some(0)),
    ));
    std::fs::write(
        dir.path().join("client.ovpn"),
        format!(
            "client\nremote {} {}\nproto udp\nauth SHA256\nkey-direction 1\nremote-cert-tls server\n<ca>\n{ca}</ca>\n<tls-auth>\n{}</tls-auth>\n",
            s.addr,
            s.port,
            std::fs::read_to_string(&s.static_key).unwrap()
        ),
    )
    .unwrap();
    let (code, out, _, _) = run_check(&["--config", &cfg, "--tls"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("chain verified (tls-auth SHA256)"),
        "{out}"
    );
}

#[test]
fn usage_errors() {
    for (args, words) in [
        (&["-H", "h", "--tls", "--diagnose"][..], "--diagnose"),
        (
            &["-H", "h", "--tls", "--no-validation"][..],
            "--no-validation",
        ),
        (&["-H", "h", "-C", "7,30"][..], "-C/--certificate"),
        (&["-H", "h", "-C", "x"][..], "-C/--certificate"),
        (
            &["-H", "h", "--remote-cert-tls", "client"][..],
            "remote-cert-tls",
        ),
        (
            &[
                "-H",
                "h",
                "--verify-x509-name",
                "a",
                "--verify-x509-type",
                "cn",
            ][..],
            "verify-x509",
        ),
    ] {
        let (code, out, _, _) = run_check(args);
        assert_eq!(code, 3, "{args:?}: {out}");
        assert!(first_line(&out).contains(words), "{args:?}: {out}");
    }
}

#[test]
fn x509_v1_server_certificate_is_read_as_an_openvpn_client_reads_it() {
    if !openvpn_available() {
        return;
    }
    // `openssl x509 -req` without extensions makes a version 1 certificate, as old
    // easy-rsa setups did; OpenVPN clients accept it, webpki does not parse it.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ossl = |args: &[&str]| {
        let st = std::process::Command::new(openssl_bin())
            .args(args)
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=v1-ca",
    ]);
    ossl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "v1.key",
        "-out",
        "v1.csr",
        "-subj",
        "/CN=v1-server",
    ]);
    ossl(&[
        "x509",
        "-req",
        "-in",
        "v1.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "v1.crt",
        "-days",
        "2",
    ]);
    let s = start(
        opts(Proto::Udp, Family::V4, Mode::P2p, Wrap::None),
        &[
            format!("cert {}", path(&d.join("v1.crt"))),
            format!("key {}", path(&d.join("v1.key"))),
        ],
    );
    tls_check(&s, &["--tls"])
        .state(0)
        .line_has("certificate CN=v1-server valid");
}
