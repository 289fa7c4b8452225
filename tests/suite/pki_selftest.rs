//! Proves the dated-PKI builder in tests/common/pki.rs with the `openssl` CLI itself,
//! independent of the plugin: exact validity windows, chains, extensions, revocation,
//! CRL dates and key types are what the spec asked for.

use crate::common;

use common::pki::{asn1_time, dh_params, CertSpec, Issued, KeyKind, TestPki};
use common::{openssl_bin, openvpn_available, Server, ServerOpts};
use std::path::Path;
use std::process::{Command, Stdio};

const DAY: f64 = 86_400.0;

/// Runs `openssl ARGS` (system config ignored); returns (success, stdout + stderr).
fn ossl(args: &[&str]) -> (bool, String) {
    let out = Command::new(openssl_bin())
        .args(args)
        .env("OPENSSL_CONF", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn text(cert: &Issued) -> String {
    let (ok, t) = ossl(&["x509", "-in", p(&cert.crt), "-noout", "-text"]);
    assert!(ok, "{t}");
    t
}

/// `openssl verify -CAfile CA [EXTRA…] CERT`.
fn verify(ca: &Issued, extra: &[&str], cert: &Issued) -> (bool, String) {
    let mut args = vec!["verify", "-CAfile", p(&ca.crt)];
    args.extend_from_slice(extra);
    args.push(p(&cert.crt));
    ossl(&args)
}

#[test]
fn asn1_time_of_known_instants() {
    assert_eq!(asn1_time(0), "19700101000000Z");
    assert_eq!(asn1_time(-1), "19691231235959Z");
    assert_eq!(asn1_time(951_782_400), "20000229000000Z");
    assert_eq!(asn1_time(1_709_210_096), "20240229123456Z");
    assert_eq!(asn1_time(4_102_444_799), "20991231235959Z");
    // 2100 is no leap year.
    assert_eq!(asn1_time(4_107_542_400 - 1), "21000228235959Z");
    assert_eq!(asn1_time(4_107_542_400), "21000301000000Z");
}

#[test]
fn leaf_expiring_in_five_days() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Dated CA"));
    let leaf = pki.issue(
        &ca,
        "leaf",
        &CertSpec {
            not_after_days: 5,
            ..CertSpec::server("soon.example")
        },
    );
    let crt = p(&leaf.crt);
    // -checkend N: exit 0 = still valid in N seconds, exit 1 = expired by then.
    let at = |days: f64| (days * DAY).round().to_string();
    let (ok, out) = ossl(&["x509", "-in", crt, "-noout", "-checkend", &at(4.9)]);
    assert!(ok, "should still be valid in 4.9 days: {out}");
    let (ok, out) = ossl(&["x509", "-in", crt, "-noout", "-checkend", &at(5.1)]);
    assert!(
        !ok && out.contains("will expire"),
        "should expire within 5.1 days: {out}"
    );
    // It is valid now, and the issuing CA is fine too.
    let (ok, out) = verify(&ca, &[], &leaf);
    assert!(ok && out.contains(": OK"), "{out}");
    assert!(
        leaf.pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{}",
        leaf.pem
    );
    assert_eq!(std::fs::read_to_string(&leaf.crt).unwrap(), leaf.pem);
}

#[test]
fn not_yet_valid_and_expired_fail_verification() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Dated CA"));
    let future = pki.issue(
        &ca,
        "future",
        &CertSpec {
            not_before_days: 10,
            not_after_days: 20,
            ..CertSpec::server("future.example")
        },
    );
    let (ok, out) = verify(&ca, &[], &future);
    assert!(!ok && out.contains("certificate is not yet valid"), "{out}");

    let expired = pki.issue(
        &ca,
        "expired",
        &CertSpec {
            not_before_days: -30,
            not_after_days: -1,
            ..CertSpec::server("expired.example")
        },
    );
    let (ok, out) = verify(&ca, &[], &expired);
    assert!(!ok && out.contains("certificate has expired"), "{out}");
}

#[test]
fn chain_through_an_intermediate() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca(
        "root",
        &CertSpec {
            subject_extra: "/O=Example/OU=VPN",
            ..CertSpec::ca("Root CA")
        },
    );
    let inter = pki.issue(&ca, "inter", &CertSpec::ca("Intermediate CA"));
    let leaf = pki.issue(&inter, "leaf", &CertSpec::server("vpn.example"));
    let second = pki.issue(&inter, "second", &CertSpec::client("client.example"));

    let (ok, out) = verify(&ca, &["-untrusted", p(&inter.crt)], &leaf);
    assert!(ok && out.contains(": OK"), "{out}");
    // Without the intermediate the leaf cannot be tied to the root.
    let (ok, out) = verify(&ca, &[], &leaf);
    assert!(
        !ok && out.contains("unable to get local issuer certificate"),
        "{out}"
    );
    // A leaf+intermediate bundle (what an OpenVPN `cert` file would send) serves too.
    let bundle = pki.chain_file("leaf-chain", &[&leaf, &inter]);
    let (ok, out) = ossl(&[
        "verify",
        "-CAfile",
        p(&ca.crt),
        "-untrusted",
        p(&bundle),
        p(&leaf.crt),
    ]);
    assert!(ok, "{out}");

    // Subject parts in order, issuers as asked.
    let (_, subj) = ossl(&["x509", "-in", p(&ca.crt), "-noout", "-subject", "-issuer"]);
    assert!(
        subj.contains("subject=O = Example, OU = VPN, CN = Root CA")
            && subj.contains("issuer=O = Example, OU = VPN, CN = Root CA"),
        "{subj}"
    );
    let (_, iss) = ossl(&["x509", "-in", p(&leaf.crt), "-noout", "-issuer"]);
    assert!(iss.contains("CN = Intermediate CA"), "{iss}");
    let t = text(&inter);
    assert!(
        t.contains("CA:TRUE") && t.contains("Certificate Sign, CRL Sign"),
        "{t}"
    );
    assert!(t.contains("ecdsa-with-SHA256"), "{t}");

    // Serials: distinct among the certificates each issuer signed.
    let serial = |c: &Issued| ossl(&["x509", "-in", p(&c.crt), "-noout", "-serial"]).1;
    assert_ne!(serial(&leaf), serial(&second));
    assert_ne!(serial(&ca), serial(&inter));
}

#[test]
fn extensions_follow_the_spec() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Ext CA"));
    let server = pki.issue(&ca, "server", &CertSpec::server("srv"));
    let t = text(&server);
    assert!(t.contains("X509v3 Extended Key Usage"), "{t}");
    assert!(t.contains("TLS Web Server Authentication"), "{t}");
    assert!(t.contains("Digital Signature, Key Agreement"), "{t}");
    assert!(t.contains("CA:FALSE"), "{t}");

    let client = pki.issue(&ca, "client", &CertSpec::client("cli"));
    assert!(text(&client).contains("TLS Web Client Authentication"));

    let bare = pki.issue(
        &ca,
        "bare",
        &CertSpec {
            eku: None,
            key_usage: false,
            ..CertSpec::server("bare")
        },
    );
    let t = text(&bare);
    assert!(!t.contains("Extended Key Usage"), "{t}");
    assert!(!t.contains("X509v3 Key Usage"), "{t}");
}

#[test]
fn revoked_certificate_and_expired_crl() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("CRL CA"));
    let good = pki.issue(&ca, "good", &CertSpec::server("good"));
    let bad = pki.issue(&ca, "bad", &CertSpec::server("bad"));
    pki.revoke(&ca, &bad);

    let crl = pki.crl(&ca, "current", -1, 30);
    let crl_args = ["-crl_check", "-CRLfile", p(&crl)];
    let (ok, out) = verify(&ca, &crl_args, &bad);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = verify(&ca, &crl_args, &good);
    assert!(ok, "{out}");

    let (_, dates) = ossl(&[
        "crl",
        "-in",
        p(&crl),
        "-noout",
        "-lastupdate",
        "-nextupdate",
    ]);
    assert!(
        dates.contains("lastUpdate=") && dates.contains("nextUpdate="),
        "{dates}"
    );

    let old = pki.crl(&ca, "expired", -10, -1);
    let (ok, out) = verify(&ca, &["-crl_check", "-CRLfile", p(&old)], &good);
    assert!(!ok && out.contains("CRL has expired"), "{out}");
}

#[test]
fn rsa_keys_are_rsa() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca(
        "rsa-ca",
        &CertSpec {
            key: KeyKind::Rsa2048,
            ..CertSpec::ca("RSA CA")
        },
    );
    let weak = pki.issue(
        &ca,
        "weak",
        &CertSpec {
            key: KeyKind::Rsa1024,
            ..CertSpec::server("old-weak-server")
        },
    );
    let t = text(&ca);
    assert!(
        t.contains("rsaEncryption") && t.contains("Public-Key: (2048 bit)"),
        "{t}"
    );
    let t = text(&weak);
    assert!(
        t.contains("rsaEncryption") && t.contains("Public-Key: (1024 bit)"),
        "{t}"
    );
    assert!(t.contains("sha256WithRSAEncryption"), "{t}");
    assert!(t.contains("Digital Signature, Key Encipherment"), "{t}");
    let (ok, out) = ossl(&["pkey", "-in", p(&weak.key), "-noout", "-text"]);
    assert!(
        ok && out.contains("Private-Key: (1024 bit, 2 primes)"),
        "{out}"
    );
    let (ok, out) = verify(&ca, &[], &weak);
    assert!(ok, "{out}");
}

#[test]
fn openvpn_loads_generated_cert_key_and_dh() {
    if !openvpn_available() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Load CA"));
    let srv = pki.issue(&ca, "srv", &CertSpec::server("load.example"));
    let dh = dh_params(pki.dir());
    let (ok, out) = ossl(&["pkeyparam", "-in", p(&dh), "-noout", "-text"]);
    assert!(ok && out.contains("2048 bit"), "{out}");

    let lines = [
        format!("ca {}", ca.crt.display()),
        format!("cert {}", srv.crt.display()),
        format!("key {}", srv.key.display()),
        format!("dh {}", dh.display()),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let server = Server::start_with(ServerOpts::default(), &lines);
    // Later lines override the harness' `cert server.crt` and `dh none`.
    let log = server.log();
    let cert_line = format!("cert_file = '{}'", srv.crt.display());
    assert!(log.contains(&cert_line), "{log}");
    assert!(
        log.contains("Diffie-Hellman initialized with 2048 bit key"),
        "{log}"
    );
}
