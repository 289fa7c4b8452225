//! The client's own rules against real OpenVPN 2.6 servers, with OpenVPN's own client
//! (in a network namespace, on a tun device) given the same rules as the reference in the
//! same test: where the real client refuses the server, the check does not say OK; where it
//! connects, the check says OK. `allow-compression` against pushed compression; the TLS
//! rules (`tls-version-min`, `tls-cipher`, `tls-cert-profile`, `remote-cert-eku`,
//! `remote-cert-ku`) from a client config the test writes.

use crate::common;
use common::pki::*;
use common::tunnel::*;
use common::*;
use std::net::IpAddr;
use std::path::Path;

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A multi-client UDP server with a live tun device, and a namespace for the real client.
struct Bed {
    // Dropped in this order: the server, then the namespace, then the slot.
    server: Server,
    ns: Netns,
    slot: Slot,
}

impl Bed {
    fn udp(lines: &[&str]) -> Bed {
        let slot = Slot::take();
        let ns = Netns::new(&slot);
        let mut config = vec![slot.server_v4()];
        config.extend(lines.iter().map(|l| l.to_string()));
        let refs: Vec<&str> = config.iter().map(String::as_str).collect();
        let server = Server::start_tunnel(
            ServerOpts {
                proto: Proto::Udp,
                family: Family::V4,
                mode: Mode::MultiClient,
                wrap: Wrap::None,
            },
            Some(IpAddr::V4(slot.host_veth())),
            &refs,
        );
        Bed { server, ns, slot }
    }

    /// `check_openvpn -H ADDR -p PORT --ca --cert --key -v EXTRA`.
    fn check(&self, extra: &[&str]) -> Ran {
        let s = &self.server;
        let mut a: Vec<String> = [
            "--ca",
            &path(&s.ca_cert),
            "--cert",
            &path(&s.client_cert),
            "--key",
            &path(&s.client_key),
            "-v",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let run = ran_against(s, &refs);
        eprintln!("check: {}", run.line());
        run
    }

    /// OpenVPN's own client with `client` flags: whether it connected (and then got its
    /// echoes from the server's tunnel address), and its log.
    fn real_client(&self, client: &[&str]) -> (bool, String) {
        let mut c = RealClient::connect(&self.ns, &self.server, client);
        if c.connected {
            let (answered, out) = self.ns.ping(IpAddr::V4(self.slot.server_tunnel_v4()), 3);
            assert_eq!(
                answered, 3,
                "the real client's pings through the tunnel\n{out}"
            );
        }
        c.stop();
        let log = c.log();
        eprintln!("real client connected: {}", c.connected);
        (c.connected, log)
    }
}

/// The real client refuses the push, as 2.6 does, and the check says CRITICAL naming
/// `allow-compression` and what was pushed, on `--login` and on `--ping`.
fn both_refuse(bed: &Bed, client: &[&str], check: &[&str], pushed: &str) {
    let (connected, log) = bed.real_client(client);
    assert!(!connected, "the real client connected\n{log}");
    assert!(
        log.contains("server pushed compression settings that are not allowed"),
        "the real client failed otherwise\n{log}"
    );
    for stage in ["--login", "--ping"] {
        let mut args = vec![stage];
        args.extend_from_slice(check);
        bed.check(&args)
            .state(2)
            .line_has("allow-compression")
            .line_has(&format!("'{pushed}'"));
    }
}

/// Both connect: the real client gets its echoes, the check says OK with every echo.
fn both_connect(bed: &Bed, client: &[&str], check: &[&str]) {
    let (connected, log) = bed.real_client(client);
    assert!(connected, "the real client did not connect\n{log}");
    let mut args = vec!["--ping"];
    args.extend_from_slice(check);
    bed.check(&args).state(0).line_has("3/3");
}

#[test]
fn pushed_lz4_v2_without_allow_compression_is_refused_by_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    both_refuse(&bed, &[], &[], "compress lz4-v2");
}

#[test]
fn pushed_comp_lzo_yes_without_allow_compression_is_refused_by_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["comp-lzo yes", "push \"comp-lzo yes\""]);
    both_refuse(&bed, &[], &[], "comp-lzo yes");
    // `comp-lzo no` in the client's config keeps 2.6's default: still refused.
    both_refuse(
        &bed,
        &["--comp-lzo", "no"],
        &["--comp-lzo", "no"],
        "comp-lzo yes",
    );
}

#[test]
fn pushed_compression_that_allow_compression_allows_connects_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    for allow in ["yes", "asym"] {
        both_connect(
            &bed,
            &["--allow-compression", allow],
            &["--allow-compression", allow],
        );
    }
    let bed = Bed::udp(&["comp-lzo yes", "push \"comp-lzo yes\""]);
    both_connect(
        &bed,
        &["--allow-compression", "asym"],
        &["--allow-compression", "asym"],
    );
}

#[test]
fn pushed_stubs_are_allowed_by_default() {
    if !tunnel_ready() {
        return;
    }
    for server in [
        ["compress stub-v2", "push \"compress stub-v2\""],
        ["comp-lzo no", "push \"comp-lzo no\""],
        ["compress", "push \"compress\""],
    ] {
        let bed = Bed::udp(&server);
        both_connect(&bed, &[], &[]);
    }
}

#[test]
fn allow_compression_from_the_client_config() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = &bed.server;
    let config = |extra: &str| {
        let p = dir.path().join("client.ovpn");
        std::fs::write(
            &p,
            format!(
                "client\ndev tun\nproto udp\nremote {} {}\nca {}\ncert {}\nkey {}\n{extra}\n",
                s.addr,
                s.port,
                path(&s.ca_cert),
                path(&s.client_cert),
                path(&s.client_key)
            ),
        )
        .expect("write client.ovpn");
        path(&p)
    };
    let refused = config("allow-compression no");
    let run = ran(&["--config", &refused, "--login", "-v"]).state(2);
    run.line_has("allow-compression no")
        .line_has("'compress lz4-v2'");
    let allowed = config("allow-compression asym");
    ran(&["--config", &allowed, "--ping", "-v"])
        .state(0)
        .line_has("3/3");
    // OpenVPN refuses the config itself: exit 3, naming the line.
    let broken = config("allow-compression no\nallow-compression yes");
    ran(&["--config", &broken, "--login"])
        .state(3)
        .line_has("allow-compression");
}

// ---------------------------------------------------------------------------------------
// TLS rules of the client config
// ---------------------------------------------------------------------------------------

/// A UDP server whose certificate is `leaf` from `ca` (the server trusts the harness's
/// client CA too), with `lines`; or the harness's EC P-256 certificate without `leaf`.
struct TlsBed {
    bed: Bed,
    /// The CA the client verifies the server with.
    ca: std::path::PathBuf,
    _pki: Option<TestPki>,
}

impl TlsBed {
    fn new(leaf: Option<KeyKind>, lines: &[&str]) -> TlsBed {
        let Some(kind) = leaf else {
            let bed = Bed::udp(lines);
            let ca = bed.server.ca_cert.clone();
            return TlsBed {
                bed,
                ca,
                _pki: None,
            };
        };
        let mut pki = TestPki::temp();
        let ca = pki.self_signed_ca(
            "rules-ca",
            &CertSpec {
                key: kind,
                ..CertSpec::ca("rules-ca")
            },
        );
        let server = pki.issue(
            &ca,
            "server",
            &CertSpec {
                key: kind,
                ..CertSpec::server("rules-server")
            },
        );
        TlsBed::issued(pki, &ca.crt, &server, lines)
    }

    /// A UDP server whose certificate is `server` of `pki`, the client verifying it with
    /// `ca`.
    fn issued(pki: TestPki, ca: &Path, server: &Issued, lines: &[&str]) -> TlsBed {
        // The server's own CA file: the harness's client CA, so the real client's and the
        // check's client certificate log in; the client verifies with `ca` alone.
        let client_ca = pki.dir().join("client-ca.crt");
        std::fs::write(&client_ca, &common::pki().ca_crt).expect("write the client CA");
        let mut all: Vec<String> = vec![
            format!("ca {}", path(&client_ca)),
            format!("cert {}", path(&server.crt)),
            format!("key {}", path(&server.key)),
        ];
        all.extend(lines.iter().map(|l| l.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let bed = Bed::udp(&refs);
        TlsBed {
            bed,
            ca: ca.to_path_buf(),
            _pki: Some(pki),
        }
    }

    /// The server's certificate, of a bed made with a leaf of its own.
    fn leaf(&self) -> std::path::PathBuf {
        self._pki
            .as_ref()
            .map(|p| p.dir().join("server.crt"))
            .expect("the bed's own PKI")
    }

    /// The real client with the rules `rules` (config lines, given as its flags).
    fn real_client(&self, rules: &[&str]) -> (bool, String) {
        self.real_client_with(Some(&self.ca), rules)
    }

    /// The real client with `ca` (or none) and `rules`.
    fn real_client_with(&self, ca: Option<&Path>, rules: &[&str]) -> (bool, String) {
        let mut args: Vec<String> = Vec::new();
        if let Some(ca) = ca {
            args.extend(["--ca".to_string(), path(ca)]);
        }
        for r in rules {
            let w = config_words(r);
            args.push(format!("--{}", w[0]));
            args.extend(w[1..].iter().cloned());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = RealClient::connect_without_ca(&self.bed.ns, &self.bed.server, &refs);
        c.stop();
        eprintln!("real client connected: {}", c.connected);
        (c.connected, c.log())
    }

    /// check_openvpn --config (the same rules as config lines) --login -v.
    fn check(&self, rules: &[&str]) -> Ran {
        self.check_with(Some(&self.ca), rules)
    }

    /// [`TlsBed::check`] with `ca` (or no `ca` line) in the config.
    fn check_with(&self, ca: Option<&Path>, rules: &[&str]) -> Ran {
        let s = &self.bed.server;
        let file = s.dir.path().join("rules-client.ovpn");
        let ca = ca.map(|c| format!("ca {}\n", path(c))).unwrap_or_default();
        std::fs::write(
            &file,
            format!(
                "client\ndev tun\nproto udp\nremote {} {}\n{ca}cert {}\nkey {}\n{}\n",
                s.addr,
                s.port,
                path(&s.client_cert),
                path(&s.client_key),
                rules.join("\n")
            ),
        )
        .expect("write the client config");
        let run = ran(&["--config", &path(&file), "--login", "-v"]);
        eprintln!("check: {}", run.line());
        run
    }

    /// Both refuse the server: the real client does not connect, the check is CRITICAL
    /// naming `named`.
    fn both_refuse(&self, rules: &[&str], named: &str) {
        let (connected, log) = self.real_client(rules);
        assert!(
            !connected,
            "the real client connected with {rules:?}\n{log}"
        );
        self.check(rules).state(2).line_has(named);
    }

    /// Both connect: the real client's tunnel comes up, the check's login is OK.
    fn both_connect(&self, rules: &[&str]) {
        let (connected, log) = self.real_client(rules);
        assert!(
            connected,
            "the real client did not connect with {rules:?}\n{log}\n--- server ---\n{}",
            self.bed.server.diagnostics()
        );
        self.check(rules).state(0);
    }
}

/// A config line's words, as OpenVPN splits them (quotes group).
fn config_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn tls_version_min_13_against_a_tls_12_server() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(None, &["tls-version-max 1.2"]);
    bed.both_refuse(&["tls-version-min 1.3"], "tls-version-min 1.3");
    bed.both_connect(&["tls-version-min 1.2"]);
    let bed = TlsBed::new(None, &[]);
    bed.both_connect(&["tls-version-min 1.3"]);
    bed.both_connect(&["tls-version-max 1.2"]);
}

#[test]
fn tls_cipher_naming_rsa_suites_against_an_ec_certificate() {
    if !tunnel_ready() {
        return;
    }
    let rsa_only = "tls-cipher ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256";
    let bed = TlsBed::new(None, &["tls-version-max 1.2"]);
    bed.both_refuse(&[rsa_only], "tls-cipher");
    bed.both_connect(&["tls-cipher ECDHE-ECDSA-AES256-GCM-SHA384"]);
    // A DHE suite OpenVPN's client offers and the check cannot: left out of the check's
    // hello. The server takes the rest: both connect. It refuses the rest: the check cannot
    // tell (UNKNOWN), never OK.
    bed.both_connect(&[
        "tls-cipher TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    ]);
    let dhe_rsa = ["tls-cipher DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"];
    let (connected, log) = bed.real_client(&dhe_rsa);
    assert!(!connected, "the real client connected\n{log}");
    bed.check(&dhe_rsa)
        .state(3)
        .line_has("tls-cipher")
        .line_has("DHE-RSA-AES256-GCM-SHA384");
    // tls-cipher rules TLS 1.2 only: a TLS 1.3 server takes both.
    let bed = TlsBed::new(None, &[]);
    bed.both_connect(&[rsa_only]);
}

#[test]
fn tls_cert_profile_suiteb_against_an_rsa_server() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(Some(KeyKind::Rsa2048), &[]);
    bed.both_refuse(&["tls-cert-profile suiteb"], "suiteb");
    bed.both_connect(&["tls-cert-profile preferred"]);
    // The harness's EC P-256 chain, signed with ECDSA SHA-256, is Suite B, yet OpenVPN's
    // client fails against it: on TLS 1.3 it sends no client certificate, on TLS 1.2 it
    // refuses AES-256 on P-256 ("wrong curve"). The check cannot follow that: UNKNOWN,
    // never OK.
    for server in [&[][..], &["tls-version-max 1.2"][..]] {
        let bed = TlsBed::new(None, server);
        let (connected, log) = bed.real_client(&["tls-cert-profile suiteb"]);
        assert!(!connected, "the real client connected\n{log}");
        bed.check(&["tls-cert-profile suiteb"])
            .state(3)
            .line_has("tls-cert-profile suiteb");
    }
}

#[test]
fn tls_cert_profile_preferred_against_1024_bit_rsa() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(Some(KeyKind::Rsa1024), &[]);
    bed.both_refuse(
        &["tls-cert-profile preferred"],
        "tls-cert-profile preferred",
    );
    bed.both_connect(&["tls-cert-profile legacy"]);
}

#[test]
fn tls_ciphersuites_and_groups_the_server_shares() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(None, &[]);
    bed.both_connect(&[
        "tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256",
        "tls-groups secp384r1",
    ]);
    let bed = TlsBed::new(None, &["tls-groups X25519"]);
    bed.both_refuse(&["tls-groups P-384"], "tls-groups");
}

#[test]
fn remote_cert_eku_and_ku_as_openvpn_matches_them() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(None, &[]);
    bed.both_refuse(
        &["remote-cert-eku \"TLS Web Client Authentication\""],
        "remote-cert-eku",
    );
    bed.both_connect(&["remote-cert-eku \"TLS Web Server Authentication\""]);
    bed.both_connect(&["remote-cert-eku 1.3.6.1.5.5.7.3.1"]);
    // The harness's EC leaf: digitalSignature and keyAgreement, OpenVPN's 0x88.
    bed.both_refuse(&["remote-cert-ku a0"], "remote-cert-ku");
    bed.both_connect(&["remote-cert-ku a0 88"]);
}

#[test]
fn a_tls_rule_the_check_cannot_honour_is_unknown_naming_the_line() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(None, &[]);
    for rule in [
        "tls-cipher HIGH:!aNULL",
        "tls-groups X448",
        "tls-verify ./verify.sh",
    ] {
        bed.check(&[rule])
            .state(3)
            .line_has(rule.split(' ').next().unwrap_or_default());
    }
}

// ---------------------------------------------------------------------------------------
// Certificate rules: peer-fingerprint, verify-hash, crl-verify, ns-cert-type
// ---------------------------------------------------------------------------------------

/// A certificate's fingerprint as `openssl x509 -fingerprint` prints it (`AB:CD:...`):
/// the independent source of the fingerprints the tests pin.
fn openssl_fingerprint(crt: &Path, hash: &str) -> String {
    let out = std::process::Command::new(openssl_bin())
        .args(["x509", "-noout", "-fingerprint", &format!("-{hash}"), "-in"])
        .arg(crt)
        .output()
        .expect("run openssl x509 -fingerprint");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let fp = text
        .trim()
        .split_once('=')
        .map(|(_, fp)| fp.to_string())
        .unwrap_or_else(|| panic!("openssl printed no fingerprint: {text}"));
    assert_eq!(fp.len(), if hash == "sha1" { 59 } else { 95 }, "{fp}");
    fp
}

/// A fingerprint of the same length that is not `fp`: its first byte changed.
fn other_fingerprint(fp: &str) -> String {
    let first = if fp.starts_with("00") { "01" } else { "00" };
    format!("{first}{}", &fp[2..])
}

/// A PKI-less server as OpenVPN 2.6's manual sets one up: its own self-signed
/// certificate, made with `openssl` for this test, which the client pins with
/// `peer-fingerprint` and no `ca`. (The server still verifies the clients' certificates
/// with the harness CA, so that the real client and the check log in as elsewhere.)
struct PinBed {
    bed: Bed,
    /// The server's self-signed certificate.
    crt: std::path::PathBuf,
    _pki: TestPki,
}

impl PinBed {
    fn new() -> PinBed {
        PinBed::with(&CertSpec::server("pinned-server"))
    }

    /// A PKI-less server whose self-signed certificate is `spec`.
    fn with(spec: &CertSpec) -> PinBed {
        let mut pki = TestPki::temp();
        let server = pki.self_signed_ca("pinned-server", spec);
        let client_ca = pki.dir().join("client-ca.crt");
        std::fs::write(&client_ca, &common::pki().ca_crt).expect("write the client CA");
        let lines = [
            format!("ca {}", path(&client_ca)),
            format!("cert {}", path(&server.crt)),
            format!("key {}", path(&server.key)),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        PinBed {
            bed: Bed::udp(&refs),
            crt: server.crt,
            _pki: pki,
        }
    }

    /// The server certificate's SHA-256 fingerprint, as openssl prints it.
    fn fingerprint(&self) -> String {
        openssl_fingerprint(&self.crt, "sha256")
    }

    /// A client config without `ca`, with `rules` (config lines, inline blocks too).
    fn config(&self, rules: &str) -> String {
        let s = &self.bed.server;
        let file = s.dir.path().join("pinned-client.ovpn");
        std::fs::write(
            &file,
            format!(
                "client\ndev tun\nproto udp\nremote {} {}\ncert {}\nkey {}\n{rules}\n",
                s.addr,
                s.port,
                path(&s.client_cert),
                path(&s.client_key),
            ),
        )
        .expect("write the client config");
        path(&file)
    }

    /// OpenVPN's own client without `--ca`, reading `rules` from a config file of its own
    /// (the only way to give it an inline block).
    fn real_client(&self, rules: &str) -> (bool, String) {
        let file = self.bed.server.dir.path().join("real-client-rules.conf");
        std::fs::write(&file, format!("{rules}\n")).expect("write the real client's rules");
        let mut c = RealClient::connect_without_ca(
            &self.bed.ns,
            &self.bed.server,
            &["--config", &path(&file)],
        );
        c.stop();
        eprintln!("real client connected: {}", c.connected);
        (c.connected, c.log())
    }

    /// The check with `rules` in its config, `--login -v`.
    fn check(&self, rules: &str) -> Ran {
        let run = ran(&["--config", &self.config(rules), "--login", "-v"]);
        eprintln!("check: {}", run.line());
        run
    }
}

#[test]
fn peer_fingerprint_pins_a_self_signed_server_without_a_ca() {
    if !tunnel_ready() {
        return;
    }
    let bed = PinBed::new();
    let right = bed.fingerprint();
    let wrong = other_fingerprint(&right);

    let rules = format!("peer-fingerprint {right}");
    let (connected, log) = bed.real_client(&rules);
    assert!(connected, "the real client did not connect\n{log}");
    bed.check(&rules)
        .state(0)
        .out_has("peer-fingerprint: the server's certificate matches; with no ca");

    let rules = format!("peer-fingerprint {wrong}");
    let (connected, log) = bed.real_client(&rules);
    assert!(!connected, "the real client connected\n{log}");
    // The check names what the server presented, as the real client logs it.
    assert!(
        log.contains(&right.to_lowercase()),
        "the real client's log\n{log}"
    );
    bed.check(&rules)
        .state(2)
        .line_has("peer-fingerprint")
        .line_has(&right);

    // Several, in an inline block with a comment, one of them the server's: both connect.
    let block = format!(
        "<peer-fingerprint>\n# the old one, then the new one\n{wrong}\n{}\n</peer-fingerprint>",
        right.to_lowercase()
    );
    let (connected, log) = bed.real_client(&block);
    assert!(connected, "the real client did not connect\n{log}");
    bed.check(&block).state(0);
    let block = format!("<peer-fingerprint>\n{wrong}\n</peer-fingerprint>");
    let (connected, log) = bed.real_client(&block);
    assert!(!connected, "the real client connected\n{log}");
    bed.check(&block).state(2).line_has(&right);
}

#[test]
fn peer_fingerprint_flag_and_login_without_a_config() {
    if !tunnel_ready() {
        return;
    }
    let bed = PinBed::new();
    let right = bed.fingerprint();
    let wrong = other_fingerprint(&right);
    let s = &bed.bed.server;
    let (connected, log) = bed.real_client(&format!("peer-fingerprint {right}"));
    assert!(connected, "the real client did not connect\n{log}");
    let flags = |fp: &str| -> Ran {
        let run = ran(&[
            "-H",
            &s.addr,
            "-p",
            &s.port.to_string(),
            "--peer-fingerprint",
            fp,
            "--cert",
            &path(&s.client_cert),
            "--key",
            &path(&s.client_key),
            "--login",
            "-v",
        ]);
        eprintln!("check: {}", run.line());
        run
    };
    flags(&right)
        .state(0)
        .out_has("peer-fingerprint: the server's certificate matches");
    flags(&format!("{wrong},{right}")).state(0);
    flags(&wrong).state(2).line_has(&right);
    // Not a fingerprint: exit 3.
    flags("AB:CD").state(3).line_has("--peer-fingerprint");
    // --ping through it: the data channel comes up as for the real client.
    ran(&[
        "--config",
        &bed.config(&format!("peer-fingerprint {right}")),
        "--ping",
    ])
    .state(0)
    .line_has("3/3");
}

#[test]
fn peer_fingerprint_beside_a_ca_needs_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(Some(KeyKind::Ec256), &[]);
    let leaf = bed.leaf();
    let right = openssl_fingerprint(&leaf, "sha256");
    bed.both_connect(&[&format!("peer-fingerprint {right}")]);
    bed.both_refuse(
        &[&format!("peer-fingerprint {}", other_fingerprint(&right))],
        &right,
    );
}

#[test]
fn verify_hash_pins_the_issuing_ca_not_the_server() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(Some(KeyKind::Ec256), &[]);
    let leaf = bed.leaf();
    let ca_sha1 = openssl_fingerprint(&bed.ca, "sha1");
    let ca_sha256 = openssl_fingerprint(&bed.ca, "sha256");
    // SHA-1 unless the line says SHA256.
    bed.both_connect(&[&format!("verify-hash {ca_sha1}")]);
    bed.both_connect(&[&format!("verify-hash {ca_sha256} SHA256")]);
    // The server's own certificate is not what verify-hash pins: both refuse, the check
    // naming the CA's fingerprint.
    let leaf_sha1 = openssl_fingerprint(&leaf, "sha1");
    bed.both_refuse(&[&format!("verify-hash {leaf_sha1}")], &ca_sha1);
}

/// The certificate's serial in decimal, as OpenVPN names files in a CRL directory.
fn decimal_serial(crt: &Path) -> String {
    let out = std::process::Command::new(openssl_bin())
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(crt)
        .output()
        .expect("run openssl x509 -serial");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let hex = text.trim().trim_start_matches("serial=");
    u128::from_str_radix(hex, 16)
        .unwrap_or_else(|e| panic!("serial {hex}: {e}"))
        .to_string()
}

#[test]
fn crl_verify_with_the_servers_certificate_revoked_or_not() {
    if !tunnel_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("crl-ca", &CertSpec::ca("crl-ca"));
    let server = pki.issue(&ca, "server", &CertSpec::server("crl-server"));
    let other = pki.issue(&ca, "other", &CertSpec::server("crl-other"));
    pki.revoke(&ca, &other);
    let clean = pki.crl(&ca, "clean", -1, 30);
    pki.revoke(&ca, &server);
    let revoked = pki.crl(&ca, "revoked", -1, 30);
    let crl_dir = pki.dir().join("crl-dir");
    std::fs::create_dir(&crl_dir).expect("create the CRL directory");
    let serial = decimal_serial(&server.crt);
    let ca_crt = ca.crt.clone();
    let bed = TlsBed::issued(pki, &ca_crt, &server, &[]);

    bed.both_connect(&[&format!("crl-verify {}", path(&clean))]);
    bed.both_refuse(&[&format!("crl-verify {}", path(&revoked))], "revoked");
    bed.both_connect(&[&format!("crl-verify {} dir", path(&crl_dir))]);
    std::fs::write(crl_dir.join(&serial), "").expect("revoke in the CRL directory");
    bed.both_refuse(&[&format!("crl-verify {} dir", path(&crl_dir))], &serial);
}

#[test]
fn ns_cert_type_as_openvpn_26_still_checks_it() {
    if !tunnel_ready() {
        return;
    }
    let bed = TlsBed::new(None, &[]);
    bed.both_connect(&["ns-cert-type server"]);
    bed.both_refuse(&["ns-cert-type client"], "ns-cert-type client");
}

#[test]
fn peer_fingerprint_alone_takes_an_expired_certificate_as_openvpn_does() {
    if !tunnel_ready() {
        return;
    }
    // OpenVPN's client ignores OpenSSL's verdict without a CA, the dates included: it
    // connects to an expired pinned server, and the check says OK, showing the expiry.
    let bed = PinBed::with(&CertSpec {
        not_before_days: -30,
        not_after_days: -2,
        ..CertSpec::server("pinned-server")
    });
    let rules = format!("peer-fingerprint {}", bed.fingerprint());
    let (connected, log) = bed.real_client(&rules);
    assert!(connected, "the real client did not connect\n{log}");
    bed.check(&rules).state(0).out_has("expired 2 days ago");
    // -C asks to hear of it: CRITICAL, as -C is once a certificate expired.
    let config = bed.config(&rules);
    ran(&["--config", &config, "--login", "-C", "30,7"])
        .state(2)
        .line_has("expired 2 days ago");
    // With the CA that is the certificate itself, OpenSSL's dates count again: both refuse.
    let with_ca = format!("{rules}\nca {}", path(&bed.crt));
    let (connected, log) = bed.real_client(&with_ca);
    assert!(!connected, "the real client connected\n{log}");
    bed.check(&with_ca).state(2).line_has("expired");
}

/// `openssl rehash DIR`: the hashed names OpenSSL's lookup reads, made by OpenSSL itself.
fn rehash(dir: &Path) {
    let out = std::process::Command::new(openssl_bin())
        .arg("rehash")
        .arg(dir)
        .output()
        .expect("run openssl rehash");
    assert!(out.status.success(), "openssl rehash: {out:?}");
}

#[test]
fn capath_as_openssls_hashed_lookup_finds_it() {
    if !tunnel_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("capath-ca", &CertSpec::ca("Capath  CA"));
    let server = pki.issue(&ca, "server", &CertSpec::server("capath-server"));
    let stranger = pki.self_signed_ca("stranger", &CertSpec::ca("Stranger CA"));
    pki.revoke(&ca, &server);
    let revoking = pki.crl(&ca, "revoking", -1, 30);
    let dirs = pki.dir().join("capaths");
    let dir = |name: &str, files: &[(&Path, &str)]| -> std::path::PathBuf {
        let d = dirs.join(name);
        std::fs::create_dir_all(&d).expect("create a capath");
        for (from, to) in files {
            std::fs::copy(from, d.join(to)).expect("copy into the capath");
        }
        d
    };
    let hashed = dir(
        "hashed",
        &[(&ca.crt, "ca.pem"), (&stranger.crt, "stranger.pem")],
    );
    rehash(&hashed);
    let foreign = dir("foreign", &[(&stranger.crt, "stranger.pem")]);
    rehash(&foreign);
    // The right CA under a name that is not its hash: OpenSSL never finds it.
    let misnamed = dir("misnamed", &[(&ca.crt, "00000000.0")]);
    let with_crl = dir("with-crl", &[(&ca.crt, "ca.pem"), (&revoking, "ca.crl")]);
    rehash(&with_crl);
    let ca_crt = ca.crt.clone();
    let bed = TlsBed::issued(pki, &ca_crt, &server, &[]);

    let agree = |d: &Path, ok: bool, named: &str| {
        let rule = format!("capath {}", path(d));
        let (connected, log) = bed.real_client_with(None, &[&rule]);
        assert_eq!(connected, ok, "the real client with {rule}\n{log}");
        let run = bed.check_with(None, &[&rule]);
        if ok {
            run.state(0);
        } else {
            run.state(2).line_has(named);
        }
    };
    agree(&hashed, true, "");
    agree(&foreign, false, "--ca");
    agree(&misnamed, false, "--ca");
    agree(&with_crl, false, "revoked");
}
