//! Every TLS an OpenVPN 2.6 server speaks, each against the real `openvpn` client as the
//! reference on the same server kind: certificates with P-521, P-384, Ed25519, RSA-PSS,
//! RSA 1024 and 4096 keys, X.509 v1 leaves, key exchange restricted to secp521r1, TLS 1.3
//! restricted to one suite, Suite B, ChaCha20; and servers that speak only what this check
//! does not (TLS 1.2 CBC suites, DHE), which must be UNKNOWN naming it, never CRITICAL.
//! Keys and certificates are made at test time by the openssl CLI.

use crate::common;
use common::pki::dh_params;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the real client gets to say VERIFY OK and initiate the peer connection.
const CLIENT_WAIT: Duration = Duration::from_secs(20);

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(openssl_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl req -newkey` arguments for a key kind.
fn newkey(kind: &str) -> Vec<&'static str> {
    match kind {
        "p256" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        "p384" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"],
        "p521" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp521r1"],
        "ed25519" => vec!["-newkey", "ed25519"],
        "ed448" => vec!["-newkey", "ed448"],
        "brainpool" => vec![
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:brainpoolP256r1",
        ],
        "rsa1024" => vec!["-newkey", "rsa:1024"],
        "rsa2048" => vec!["-newkey", "rsa:2048"],
        "rsa4096" => vec!["-newkey", "rsa:4096"],
        "rsa-pss" => vec!["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"],
        other => panic!("no key kind {other}"),
    }
}

/// A CA and certificates it signs, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A self-signed CA `NAME.crt`/`NAME.key` with a `kind` key.
    fn ca(name: &str, kind: &str) -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        pki.add_ca(name, kind);
        pki
    }

    fn add_ca(&self, name: &str, kind: &str) {
        let mut args = vec!["req", "-x509", "-nodes", "-days", "30"];
        args.extend(newkey(kind));
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={name}"),
        );
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(self.dir.path(), &args);
    }

    /// A self-signed X.509 v1 CA `NAME.crt`/`NAME.key` (P-256), as `openssl x509 -req
    /// -signkey` makes it: no extensions at all.
    fn add_v1_ca(&self, name: &str) {
        let (key, csr, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("/CN={name}"),
        );
        let mut args = vec!["req", "-new", "-nodes"];
        args.extend(newkey("p256"));
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(self.dir.path(), &args);
        openssl(
            self.dir.path(),
            &[
                "x509", "-req", "-in", &csr, "-signkey", &key, "-days", "30", "-out", &crt,
            ],
        );
    }

    /// `NAME.crt`/`NAME.key` with a `kind` key, signed by `ca`: X.509 v3 with the
    /// extensions easy-rsa gives a server (or a client), or with `v1` none at all, as a
    /// plain `openssl x509 -req` makes it.
    fn leaf(&self, ca: &str, name: &str, kind: &str, eku: Option<&str>) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        let (key, csr, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("/CN={name}"),
        );
        let mut args = vec!["req", "-new", "-nodes"];
        args.extend(newkey(kind));
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(d, &args);
        let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-set_serial",
        ];
        let serial = format!("{}", std::process::id() as u64 * 1000 + name.len() as u64);
        args.extend([serial.as_str(), "-days", "30", "-out", &crt]);
        let ext = format!("{name}.ext");
        if let Some(eku) = eku {
            std::fs::write(
                d.join(&ext),
                format!(
                    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage={eku}\n"
                ),
            )
            .unwrap();
            args.extend(["-extfile", &ext]);
        }
        openssl(d, &args);
        (d.join(crt), d.join(key))
    }

    fn crt(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.crt"))
    }
}

/// A server's config lines for a certificate and key (and the CA that checks clients).
fn cert_lines(crt: &Path, key: &Path) -> Vec<String> {
    vec![format!("cert {}", p(crt)), format!("key {}", p(key))]
}

fn opts(proto: Proto, mode: Mode) -> ServerOpts {
    ServerOpts {
        proto,
        family: Family::V4,
        mode,
        wrap: Wrap::None,
    }
}

/// Kills the real client when the test is done with it, whatever happened.
struct ClientProcess(Child);

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `openvpn` client's verdict on `s`, trusting `ca` with `extra` options, and
/// its log. It presents the harness's client certificate (or `--cert`/`--key` in
/// `extra`), which the server's default `ca` trusts.
fn real_client(s: &Server, ca: &Path, extra: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("client.log");
    let port = s.port.to_string();
    let proto = match s.opts.proto {
        Proto::Udp => "udp4",
        Proto::Tcp => "tcp4-client",
    };
    let mut args: Vec<String> = [
        "--tls-client",
        "--dev",
        "null",
        "--nobind",
        "--remote",
        &s.addr,
        &port,
        "--proto",
        proto,
        "--ca",
        &p(ca),
        "--verb",
        "4",
        "--tls-exit",
        "--connect-retry-max",
        "1",
        "--hand-window",
        "15",
        "--log",
        &p(&log),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    // The client's side of the server's wrap.
    match &s.opts.wrap {
        Wrap::None => {}
        Wrap::TlsAuth { digest, .. } => args.extend([
            "--tls-auth".into(),
            p(&s.static_key),
            "1".into(),
            "--auth".into(),
            digest.clone(),
        ]),
        Wrap::TlsCrypt => args.extend(["--tls-crypt".into(), p(&s.static_key)]),
        Wrap::TlsCryptV2 => args.extend([
            "--tls-crypt-v2".into(),
            p(s.v2_client_key.as_ref().expect("v2 client key")),
        ]),
    }
    if !extra.contains(&"--cert") {
        args.extend([
            "--cert".into(),
            p(&s.client_cert),
            "--key".into(),
            p(&s.client_key),
        ]);
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let child = Command::new(openvpn_bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the openvpn client");
    let mut child = ClientProcess(child);
    let deadline = Instant::now() + CLIENT_WAIT;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Peer Connection Initiated") {
            return (true, text);
        }
        let failed = [
            "VERIFY ERROR",
            "VERIFY KU ERROR",
            "VERIFY EKU ERROR",
            "VERIFY X509NAME ERROR",
            "TLS Error: TLS handshake failed",
            "TLS_ERROR",
            "Exiting due to fatal error",
        ]
        .iter()
        .any(|m| text.contains(m));
        let exited = child.0.try_wait().ok().flatten().is_some();
        if exited {
            // Read again: it may have written its last lines between the read above and
            // its exit.
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return (text.contains("Peer Connection Initiated"), text);
        }
        if failed {
            return (false, text);
        }
        assert!(
            Instant::now() < deadline,
            "the openvpn client neither connected nor failed within {CLIENT_WAIT:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The check's (exit code, output) and the real client's (verdict, log), each on its own
/// server with `extra` config lines (a point-to-point server serves one peer), or on one
/// multi-client server.
fn both(
    o: ServerOpts,
    extra: &[String],
    ca: &Path,
    check_args: &[&str],
    client_args: &[&str],
) -> (i32, String, bool, String) {
    let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    let s = Server::start_with(o.clone(), &refs);
    let ca_s = p(ca);
    let wrap = wrap_args(&s);
    let mut args: Vec<&str> = wrap.iter().map(String::as_str).collect();
    args.extend(["--ca", ca_s.as_str(), "-v"]);
    args.extend_from_slice(check_args);
    let (code, out, _) = check_server(&s, &args);
    let out = format!("{out}\n--- server log ---\n{}", s.log());
    let client_server;
    let target = if o.mode == Mode::P2p {
        client_server = Server::start_with(o, &refs);
        &client_server
    } else {
        &s
    };
    let (ok, log) = real_client(target, ca, client_args);
    (code, out, ok, log)
}

/// Point-to-point servers over `p2p`, and where they can run, multi-client servers over
/// `multi`.
fn kinds(p2p: &[Proto], multi: &[Proto]) -> Vec<(Proto, Mode)> {
    let mut v: Vec<(Proto, Mode)> = p2p.iter().map(|p| (*p, Mode::P2p)).collect();
    if multi_client_ready() {
        v.extend(multi.iter().map(|p| (*p, Mode::MultiClient)));
    }
    v
}

/// A server whose certificate has a `leaf` key, signed by a CA with a `ca` key (`ca.crt`):
/// the PKI and the server's config lines, `extra` last.
fn server_pki(ca: &str, leaf: &str, extra: &[&str]) -> (Pki, Vec<String>) {
    let pki = Pki::ca("ca", ca);
    let (crt, key) = pki.leaf("ca", "server", leaf, Some("serverAuth"));
    let mut lines = cert_lines(&crt, &key);
    lines.extend(extra.iter().map(|l| l.to_string()));
    (pki, lines)
}

/// [`assert_both_accept`] on each server kind of `kinds`.
fn assert_all_accept(kinds: &[(Proto, Mode)], server: &(Pki, Vec<String>), expect: &[&str]) {
    for (proto, mode) in kinds {
        assert_both_accept(opts(*proto, *mode), &server.1, &server.0.crt("ca"), expect);
    }
}

/// Both the check and the real client accept the server: OK and VERIFY OK.
fn assert_both_accept(o: ServerOpts, extra: &[String], ca: &Path, expect: &[&str]) -> String {
    let (code, out, ok, log) = both(o.clone(), extra, ca, &[], &[]);
    assert!(ok, "{o:?}: the real client refused the server:\n{log}");
    assert!(log.contains("VERIFY OK: depth=0"), "{log}");
    assert_eq!(code, 0, "{o:?}: {out}\n--- client ---\n{log}");
    for e in expect {
        assert!(out.contains(e), "{o:?}: no {e:?} in\n{out}");
    }
    out
}

// ---------------------------------------------------------------------------------------
// What the check now speaks
// ---------------------------------------------------------------------------------------

#[test]
fn p521_certificate_p2p_and_multi_client_udp_and_tcp() {
    if !openvpn_available() {
        return;
    }
    assert_all_accept(
        &kinds(&[Proto::Udp, Proto::Tcp], &[Proto::Udp, Proto::Tcp]),
        &server_pki("p521", "p521", &[]),
        &[
            "certificate CN=server valid",
            "chain verified",
            "; EC P-521; ",
        ],
    );
    // TLS 1.2: the signed key exchange of a P-521 key.
    assert_all_accept(
        &kinds(&[Proto::Udp], &[]),
        &server_pki("p521", "p521", &["tls-version-max 1.2"]),
        &[" TLSv1.2 TLS_ECDHE_ECDSA_", "chain verified"],
    );
}

#[test]
fn p384_certificate_with_key_exchange_on_secp521r1_only() {
    if !openvpn_available() {
        return;
    }
    assert_all_accept(
        &kinds(&[Proto::Udp], &[Proto::Tcp]),
        &server_pki("p384", "p384", &["tls-groups secp521r1"]),
        &["chain verified", "; EC P-384; "],
    );
}

#[test]
fn rsa_pss_certificate() {
    if !openvpn_available() {
        return;
    }
    assert_all_accept(
        &kinds(&[Proto::Udp], &[Proto::Udp]),
        &server_pki("rsa2048", "rsa-pss", &[]),
        &[
            "certificate CN=server valid",
            "chain verified",
            "; RSA-PSS 2048; ",
        ],
    );
}

#[test]
fn rsa_1024_server_certificate_and_ca() {
    if !openvpn_available() {
        return;
    }
    // easy-rsa 2's default key size; OpenVPN 2.6's default profile takes RSA >= 1024 bits.
    // TLS 1.3 signs with RSA-PSS, TLS 1.2 with PKCS#1 v1.5 or PSS; the CA signs with
    // PKCS#1 v1.5.
    assert_all_accept(
        &kinds(&[Proto::Udp], &[Proto::Udp]),
        &server_pki("rsa1024", "rsa1024", &[]),
        &[" TLSv1.3 ", "chain verified", "; RSA 1024; "],
    );
    assert_all_accept(
        &kinds(&[Proto::Tcp], &[]),
        &server_pki("rsa1024", "rsa1024", &["tls-version-max 1.2"]),
        &[" TLSv1.2 TLS_ECDHE_RSA_", "chain verified"],
    );
}

#[test]
fn what_already_worked_still_works() {
    if !openvpn_available() {
        return;
    }
    for (kind, extra_line, expect) in [
        ("ed25519", None, "; Ed25519; "),
        ("p384", None, "; EC P-384; "),
        ("rsa4096", None, "; RSA 4096; "),
        (
            "p256",
            Some("tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256"),
            "TLS_CHACHA20_POLY1305_SHA256",
        ),
        (
            "p256",
            Some("tls-ciphersuites TLS_AES_128_GCM_SHA256"),
            " TLSv1.3 TLS_AES_128_GCM_SHA256 ",
        ),
        ("p384", Some("tls-cert-profile suiteb"), "chain verified"),
    ] {
        assert_all_accept(
            &kinds(&[Proto::Udp], &[]),
            &server_pki(kind, kind, extra_line.as_slice()),
            &[expect],
        );
    }
}

#[test]
fn login_with_a_p521_client_key() {
    if !openvpn_available() {
        return;
    }
    let pki = Pki::ca("p521-ca", "p521");
    let (crt, key) = pki.leaf("p521-ca", "p521-client", "p521", Some("clientAuth"));
    let extra = [format!("ca {}", p(&pki.crt("p521-ca")))];
    let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    let o = opts(Proto::Udp, Mode::P2p);
    let s = Server::start_with(o.clone(), &refs);
    let (crt_s, key_s) = (p(&crt), p(&key));
    let (code, out, _) = check_server(&s, &["--cert", &crt_s, "--key", &key_s]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("logged in as CN=p521-client"),
        "{out}"
    );
    assert!(
        s.log().contains("VERIFY OK: depth=0, CN=p521-client"),
        "{}",
        s.log()
    );
    // The real client logs in with the same key on a server of the same config.
    let s2 = Server::start_with(o, &refs);
    let (ok, log) = real_client(&s2, &s2.ca_cert, &["--cert", &crt_s, "--key", &key_s]);
    assert!(ok, "{log}");
}

// ---------------------------------------------------------------------------------------
// What it does not speak: named, UNKNOWN
// ---------------------------------------------------------------------------------------

/// The real client accepts the server, and the check says UNKNOWN with `words`.
fn assert_unknown(o: ServerOpts, server: &(Pki, Vec<String>), check_args: &[&str], words: &str) {
    let (code, out, ok, log) = both(o.clone(), &server.1, &server.0.crt("ca"), check_args, &[]);
    assert!(ok, "{o:?}: the real client refused:\n{log}");
    assert_eq!(code, 3, "{o:?}: {out}");
    // The words may run past the status line's 300 characters: its whole text follows.
    assert!(out.contains(words), "{o:?}: {out}");
}

#[test]
fn cbc_only_tls12_server_is_unknown_naming_the_suite() {
    if !openvpn_available() {
        return;
    }
    let server = server_pki(
        "p256",
        "p256",
        &["tls-version-max 1.2", "tls-cipher ECDHE-ECDSA-AES256-SHA"],
    );
    for (proto, mode) in kinds(&[Proto::Udp, Proto::Tcp], &[Proto::Udp, Proto::Tcp]) {
        // A point-to-point TCP server takes about two seconds to drop our hello and one to
        // restart before the probing hello can ask: more than the TCP default budget.
        let budget: &[&str] = if (proto, mode) == (Proto::Tcp, Mode::P2p) {
            &["--timeout", "6"]
        } else {
            &[]
        };
        assert_unknown(
            opts(proto, mode),
            &server,
            budget,
            "the server speaks only TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, which this check does not implement",
        );
    }
}

#[test]
fn cbc_only_behind_tls_crypt_and_tls_crypt_v2() {
    if !multi_client_ready() {
        return;
    }
    // The probing hello goes through the same wrap; a 2.6 server answers a tls-crypt-v2
    // reset over UDP statelessly and asks for the wrapped key again.
    let server = server_pki(
        "p256",
        "p256",
        &["tls-version-max 1.2", "tls-cipher ECDHE-ECDSA-AES256-SHA"],
    );
    for wrap in [Wrap::TlsCrypt, Wrap::TlsCryptV2] {
        let o = ServerOpts {
            wrap,
            ..opts(Proto::Udp, Mode::MultiClient)
        };
        assert_unknown(
            o,
            &server,
            &[],
            "the server speaks only TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        );
    }
}

#[test]
fn dhe_only_tls12_server_is_unknown_by_the_probing_hello() {
    if !openvpn_available() {
        return;
    }
    let (pki, mut lines) = server_pki("rsa2048", "rsa2048", &[]);
    let dh = dh_params(pki.dir.path());
    lines.extend([
        format!("dh {}", p(&dh)),
        "tls-version-max 1.2".into(),
        "tls-cipher DHE-RSA-AES256-GCM-SHA384".into(),
    ]);
    assert_unknown(
        opts(Proto::Udp, Mode::P2p),
        &(pki, lines),
        &[],
        "the server speaks only TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    );
}

#[test]
fn ed448_certificate_is_unknown_not_critical() {
    if !openvpn_available() {
        return;
    }
    // ring and RustCrypto's kept crates verify no Ed448. TLS 1.3 hides the certificate
    // from the probing hello, which sees only a suite and group the check speaks.
    assert_unknown(
        opts(Proto::Udp, Mode::P2p),
        &server_pki("ed448", "ed448", &[]),
        &[],
        "Ed448",
    );
}

// ---------------------------------------------------------------------------------------
// X.509 v1 server certificates
// ---------------------------------------------------------------------------------------

#[test]
fn x509_v1_server_certificate_judged_as_the_openvpn_client_judges_it() {
    if !openvpn_available() {
        return;
    }
    let pki = Pki::ca("v1-ca", "p256");
    let (crt, key) = pki.leaf("v1-ca", "v1-server", "p256", None);
    let text = Command::new(openssl_bin())
        .args(["x509", "-noout", "-text", "-in", &p(&crt)])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Version: 1 (0x0)"),
        "not a v1 certificate"
    );
    let extra = cert_lines(&crt, &key);
    let ca = pki.crt("v1-ca");
    let kinds = kinds(&[Proto::Udp, Proto::Tcp], &[Proto::Udp]);
    for (proto, mode) in kinds {
        let o = opts(proto, mode);
        let (code, out, ok, log) = both(
            o.clone(),
            &extra,
            &ca,
            &[
                "-C",
                "5,2",
                "--verify-x509-name",
                "v1-server",
                "--verify-x509-type",
                "name",
            ],
            &["--verify-x509-name", "v1-server", "name"],
        );
        assert!(ok, "{o:?}: the real client refused:\n{log}");
        assert_eq!(code, 0, "{o:?}: {out}");
        assert!(
            first_line(&out).contains("certificate CN=v1-server valid"),
            "{out}"
        );
        assert!(first_line(&out).contains("chain verified"), "{out}");
        assert!(out.contains("\nCA: CN=v1-ca;"), "{out}");
    }
    // Under -C thresholds beyond its 30 days: WARNING, as for a v3 one.
    let (code, out, _, _) = both(
        opts(Proto::Udp, Mode::P2p),
        &extra,
        &ca,
        &["-C", "40,10"],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    // A wrong name: both refuse.
    let (code, out, ok, log) = both(
        opts(Proto::Udp, Mode::P2p),
        &extra,
        &ca,
        &["--verify-x509-name", "other", "--verify-x509-type", "name"],
        &["--verify-x509-name", "other", "name"],
    );
    assert!(!ok && log.contains("VERIFY X509NAME ERROR"), "{log}");
    assert_eq!(code, 2, "{out}");
    // remote-cert-tls server: a v1 certificate has no key usage to show; both refuse.
    let (code, out, ok, log) = both(
        opts(Proto::Udp, Mode::P2p),
        &extra,
        &ca,
        &["--remote-cert-tls", "server"],
        &["--remote-cert-tls", "server"],
    );
    assert!(!ok, "{log}");
    assert_eq!(code, 2, "{out}");
}

#[test]
fn x509_v1_root_and_leaf() {
    if !openvpn_available() {
        return;
    }
    let pki = Pki {
        dir: tempfile::tempdir().unwrap(),
    };
    pki.add_v1_ca("v1-root");
    let ca = pki.crt("v1-root");
    for (name, eku) in [("v1-leaf", None), ("v3-leaf", Some("serverAuth"))] {
        let (crt, key) = pki.leaf("v1-root", name, "p256", eku);
        let (code, out, ok, log) = both(
            opts(Proto::Udp, Mode::P2p),
            &cert_lines(&crt, &key),
            &ca,
            &["-C", "5"],
            &[],
        );
        assert!(ok, "{name}: the real client refused:\n{log}");
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("\nCA: CN=v1-root;"), "{out}");
    }
}

#[test]
fn x509_v1_leaf_signed_by_another_ca_is_critical() {
    if !openvpn_available() {
        return;
    }
    let pki = Pki::ca("v1-ca", "p256");
    pki.add_ca("other-ca", "p256");
    let (crt, key) = pki.leaf("v1-ca", "v1-server", "p256", None);
    let (code, out, ok, log) = both(
        opts(Proto::Udp, Mode::P2p),
        &cert_lines(&crt, &key),
        &pki.crt("other-ca"),
        &[],
        &[],
    );
    assert!(!ok && log.contains("VERIFY ERROR"), "{log}");
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("not signed by a certificate in --ca"),
        "{out}"
    );
}
