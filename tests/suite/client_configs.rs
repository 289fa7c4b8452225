//! Client configs as VPN providers, appliances and installers write them, read by the
//! check as OpenVPN reads them, against real OpenVPN 2.6 servers: a byte order mark and
//! CRLF lines, a key file line and an inline block in either order, `local NAME`, X.509 v1
//! client certificates and 1024-bit RSA client keys (VPNGate's exports carry both), and
//! `static-challenge` with and without a TOTP secret, checked by a real
//! `auth-user-pass-verify` script that computes the code itself.

use crate::common;
use common::pki::{CertSpec, Issued, KeyKind, TestPki};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn private_file(p: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.to_path_buf()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(openssl_bin())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An X.509 v1 certificate (no extensions, as `openssl x509 -req` makes without an
/// extension file) for a new key made by `newkey` (`rsa:1024`, `ec`...), signed by `ca`.
fn v1_client(dir: &Path, ca: &Issued, name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let crt = dir.join(format!("{name}.crt"));
    let mut args = vec!["req", "-new", "-nodes"];
    args.extend_from_slice(newkey);
    let subj = format!("/CN={name}");
    args.extend([
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &subj,
    ]);
    openssl(dir, &args);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            ca.crt.to_str().unwrap(),
            "-CAkey",
            ca.key.to_str().unwrap(),
            "-set_serial",
            "4242",
            "-days",
            "30",
            "-out",
            crt.to_str().unwrap(),
        ],
    );
    let text = openssl(
        dir,
        &["x509", "-in", crt.to_str().unwrap(), "-noout", "-text"],
    );
    assert!(text.contains("Version: 1 (0x0)"), "{text}");
    (crt, key)
}

/// A multi-client server whose CA is `ca` (a fresh TestPki), with `extra` lines.
fn server_of(pki: &mut TestPki, ca: &Issued, wrap: Wrap, extra: &[String]) -> Server {
    let leaf = pki.issue(ca, "server", &CertSpec::server("export-server"));
    let mut lines = vec![
        "server 10.198.0.0 255.255.255.0".to_string(),
        format!("ca {}", path(&ca.crt)),
        format!("cert {}", path(&leaf.crt)),
        format!("key {}", path(&leaf.key)),
    ];
    lines.extend_from_slice(extra);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    Server::start_with(
        ServerOpts {
            proto: Proto::Udp,
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap,
        },
        &refs,
    )
}

/// The real `openvpn` 2.6 client as the reference: does it log in to `s` with this
/// certificate and key? Returns its log. It stops at the first pushed option it cannot
/// apply to `dev null`, after the server's PUSH_REPLY, which is the login.
fn real_client(s: &Server, ca: &Path, crt: &Path, key: &Path) -> String {
    let log = s.dir.path().join("real-client.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(openvpn_bin())
        .args(["--client", "--dev", "null", "--nobind", "--verb", "3"])
        .args(["--remote", &s.addr, &s.port.to_string(), "udp"])
        .args(["--connect-retry-max", "1", "--remote-cert-tls", "server"])
        .arg("--ca")
        .arg(ca)
        .arg("--cert")
        .arg(crt)
        .arg("--key")
        .arg(key)
        .arg("--log")
        .arg(&log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let done = text.contains("PUSH_REPLY") || text.contains("Exiting");
        if done || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    text
}

fn run(args: &[&str]) -> (i32, String) {
    let (code, out, err, _) = run_check(args);
    assert!(err.is_empty(), "stderr: {err}");
    (code, out)
}

#[test]
fn v1_certificate_and_1024_bit_rsa_keys_log_in() {
    if !multi_client_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Export CA"));
    let dir = pki.dir().to_path_buf();
    let s = server_of(&mut pki, &ca, Wrap::None, &[]);
    let port = s.port.to_string();
    let login = |crt: &Path, key: &Path| {
        run(&[
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "--ca",
            &path(&ca.crt),
            "--cert",
            &path(crt),
            "--key",
            &path(key),
            "-v",
        ])
    };

    // An X.509 v1 certificate with an EC key.
    let (crt, key) = v1_client(
        &dir,
        &ca,
        "v1-ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
    );
    let (code, out) = login(&crt, &key);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(first_line(&out).contains("logged in as CN=v1-ec"), "{out}");
    assert!(!out.contains("weak"), "{out}");

    // A 1024-bit RSA key on a v3 certificate: accepted, and -v calls it weak.
    let rsa = pki.issue(
        &ca,
        "rsa1024",
        &CertSpec {
            key: KeyKind::Rsa1024,
            ..CertSpec::client("rsa-1024")
        },
    );
    let (code, out) = login(&rsa.crt, &rsa.key);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("logged in as CN=rsa-1024"),
        "{out}"
    );
    assert!(
        out.contains("RSA with 1024 bits") && out.contains("weak"),
        "{out}"
    );

    // Both at once, as VPNGate exports them; OpenVPN's own client logs in with them too.
    let (crt, key) = v1_client(&dir, &ca, "v1-rsa1024", &["-newkey", "rsa:1024"]);
    let reference = real_client(&s, &ca.crt, &crt, &key);
    assert!(
        reference.contains("Peer Connection Initiated"),
        "{reference}"
    );
    let (code, out) = login(&crt, &key);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("logged in as CN=v1-rsa1024"),
        "{out}"
    );
    assert!(
        s.wait_for_log("v1-rsa1024", Duration::from_secs(5)),
        "{}",
        s.log()
    );

    // Under 1024 bits OpenVPN 2.6 refuses the key too; the check says so before sending.
    let (crt, key) = v1_client(&dir, &ca, "v1-rsa768", &["-newkey", "rsa:768"]);
    let reference = real_client(&s, &ca.crt, &crt, &key);
    assert!(reference.contains("ee key too small"), "{reference}");
    let (code, out) = login(&crt, &key);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out).contains("RSA key of 768 bits; OpenVPN 2.6 takes 1024 to 8192 bits"),
        "{out}"
    );
}

/// A config as a provider's export writes it: BOM, CRLF, `local NAME`, a one-word
/// `remote` with `port` apart, `tls-auth FILE` before its inline block (the file does not
/// exist: the block wins), and the v1 certificate and 1024-bit key inline.
#[test]
fn provider_export_with_bom_crlf_local_name_and_inline_blocks() {
    if !multi_client_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("Export CA"));
    let dir = pki.dir().to_path_buf();
    let s = server_of(&mut pki, &ca, Wrap::tls_auth("SHA256", Some(0)), &[]);
    let (crt, key) = v1_client(&dir, &ca, "exported", &["-newkey", "rsa:1024"]);
    let lines = [
        "# Exported by a provider".to_string(),
        "client".into(),
        "dev tun".into(),
        "proto udp".into(),
        format!("remote {}", s.addr),
        format!("port {}", s.port),
        "local localhost".into(),
        "nobind".into(),
        "auth SHA256".into(),
        "tls-auth /nonexistent/ta.key 1".into(),
        "remote-cert-tls server".into(),
        format!("<ca>\n{}</ca>", read(&ca.crt)),
        format!("<cert>\n{}</cert>", read(&crt)),
        format!("<key>\n{}</key>", read(&key)),
        format!("<tls-auth>\n{}</tls-auth>", read(&s.static_key)),
    ];
    let text = format!("\u{feff}{}\r\n", lines.join("\n").replace('\n', "\r\n"));
    let ovpn = private_file(&dir.join("provider.ovpn"), &text);
    let (code, out) = run(&["--config", &path(&ovpn), "--login", "-v"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains("logged in as CN=exported"),
        "{out}"
    );
    // The one-word remote shows the port and protocol used.
    assert!(
        out.contains(&format!("remote {} {} udp (used)", s.addr, s.port)),
        "{out}"
    );
    assert!(
        out.contains("local localhost: the probe's source address is 127.0.0.1"),
        "{out}"
    );
    assert!(out.contains("provider.ovpn <tls-auth> block"), "{out}");
    // A local name that does not resolve is UNKNOWN, and says it is the local one.
    let broken = private_file(
        &dir.join("badlocal.ovpn"),
        &format!("remote {} {}\nlocal no-such-host.invalid\n", s.addr, s.port),
    );
    let (code, out) = run(&[
        "--config",
        &path(&broken),
        "--timeout",
        "1",
        "--retrycount",
        "1",
    ]);
    assert_eq!(code, 3, "{out}");
    let line = first_line(&out);
    assert!(
        line.contains("the config's local: ") && line.contains("'no-such-host.invalid'"),
        "{out}"
    );

    // The other order: the inline block, then a file line. The file wins, so a wrong
    // block is harmless and a right file is used.
    let wrong = genkey_static(&dir, "other.key");
    let lines = [
        format!("remote {} {}", s.addr, s.port),
        format!("<tls-auth>\n{}</tls-auth>", read(&wrong)),
        format!("tls-auth {} 1", path(&s.static_key)),
        "auth SHA256".into(),
    ];
    let ovpn = private_file(&dir.join("file-last.ovpn"), &lines.join("\n"));
    let (code, out) = run(&["--config", &path(&ovpn), "-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("tls-auth key: {}", path(&s.static_key))),
        "{out}"
    );
}

/// The python3 that runs the verify script (an absolute path: OpenVPN runs scripts with
/// its own environment). Under CI it must exist.
fn python3() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => {
            assert!(!common::ci(), "python3 is required under CI=true");
            eprintln!("SKIPPED: the verify script needs python3");
            None
        }
    }
}

/// `auth-user-pass-verify` (via-file): user monitor, password `SCRV1:b64(s3cret):b64(code)`
/// (or `s3cret` and the code, for `concat`) with the TOTP code of SECRET for this 30-second
/// step or a neighbour, computed here by Python's hmac (RFC 6238, SHA-1, 6 digits).
const VERIFY_TOTP: &str = r#"
import base64, hashlib, hmac, struct, sys, time
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
def totp(step):
    key = base64.b32decode(SECRET)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)
user, password = open(sys.argv[1]).read().split("\n")[:2]
step = int(time.time()) // 30
codes = [totp(step + d) for d in (-1, 0, 1)]
if user != "monitor":
    sys.exit(1)
parts = password.split(":")
if len(parts) == 3 and parts[0] == "SCRV1":
    ok = base64.b64decode(parts[1]).decode() == "s3cret" and base64.b64decode(parts[2]).decode() in codes
else:
    ok = password[:6] == "s3cret" and password[6:] in codes
sys.exit(0 if ok else 1)
"#;

#[test]
fn static_challenge_without_and_with_a_totp_secret() {
    if !multi_client_ready() {
        return;
    }
    let Some(python) = python3() else { return };
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("OTP CA"));
    let dir = pki.dir().to_path_buf();
    let verify = dir.join("verify.py");
    std::fs::write(&verify, format!("#!{python}\n{VERIFY_TOTP}")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&verify, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let s = server_of(
        &mut pki,
        &ca,
        Wrap::None,
        &[
            "script-security 2".into(),
            format!("auth-user-pass-verify {} via-file", path(&verify)),
            "verify-client-cert none".into(),
        ],
    );
    private_file(&dir.join("monitor.pass"), "monitor\ns3cret\n");
    let ovpn = private_file(
        &dir.join("otp.ovpn"),
        &format!(
            "client\r\nremote {} {} udp\r\nauth-user-pass monitor.pass\r\nstatic-challenge \"Enter Authenticator Code\" 1\r\n<ca>\r\n{}</ca>\r\n",
            s.addr,
            s.port,
            read(&ca.crt)
        ),
    );

    // No secret: UNKNOWN before a packet leaves, saying what to do.
    let (code, out) = run(&["--config", &path(&ovpn), "--login", "-vv"]);
    assert_eq!(code, 3, "{out}");
    let line = first_line(&out);
    assert!(line.starts_with("OPENVPN UNKNOWN"), "{out}");
    assert!(
        line.contains("otp.ovpn, line 4, 'static-challenge'"),
        "{out}"
    );
    assert!(line.contains("Enter Authenticator Code"), "{out}");
    assert!(
        // The advice may run past the status line's 300 characters: the whole text
        // follows on the next line.
        out.contains("account without OTP") && out.contains("--totp-secret"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !s.log().contains("Initial packet from"),
        "a packet reached the server:\n{}",
        s.log()
    );

    // The right secret: the server's script computes the same code.
    let secret = private_file(
        &dir.join("totp.secret"),
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n",
    );
    let (code, out) = run(&[
        "--config",
        &path(&ovpn),
        "--login",
        "--totp-secret",
        &path(&secret),
        "-v",
    ]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(first_line(&out).contains("logged in as monitor"), "{out}");
    assert!(
        out.contains("static-challenge: answered with the TOTP code from"),
        "{out}"
    );
    assert!(!out.contains("s3cret") && !out.contains("SCRV1:"), "{out}");

    // The concat format: the code appended to the password.
    let concat = private_file(
        &dir.join("concat.ovpn"),
        &format!(
            "client\nremote {} {} udp\nauth-user-pass monitor.pass\nstatic-challenge 'OTP' 0 concat\n<ca>\n{}</ca>\n",
            s.addr,
            s.port,
            read(&ca.crt)
        ),
    );
    let (code, out) = run(&[
        "--config",
        &path(&concat),
        "--login",
        "--totp-secret",
        &path(&secret),
        "-v",
    ]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(out.contains("(concat)"), "{out}");

    // Another secret: the script refuses the code.
    let other = private_file(&dir.join("other.secret"), "JBSWY3DPEHPK3PXP\n");
    let (code, out) = run(&[
        "--config",
        &path(&ovpn),
        "--login",
        "--totp-secret",
        &path(&other),
    ]);
    assert_eq!(code, 2, "{out}\n{}", s.log());
}

/// Refusals of files the config names: the config, the line and the directive, and
/// whether OpenVPN itself would go on; an encrypted inline key's advice runs as given.
#[test]
fn refusals_name_the_config_line_and_directive() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = pki();
    let ca = private_file(&d.join("ca.crt"), &pki.ca_crt);
    let cert = private_file(&d.join("client.crt"), &pki.client_crt);
    let key = private_file(&d.join("client.key"), &pki.client_key);
    let check = |name: &str, text: &str, args: &[&str]| {
        let ovpn = private_file(&d.join(name), text);
        let mut argv = vec!["--config".to_string(), path(&ovpn)];
        argv.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, out) = run(&refs);
        assert_eq!(code, 3, "{out}");
        first_line(&out).to_string()
    };
    let line = check(
        "noca.ovpn",
        "remote 127.0.0.1 1\nca /nonexistent/ca.crt\n",
        &["--tls"],
    );
    assert!(
        line.contains("noca.ovpn, line 2, 'ca': cannot read /nonexistent/ca.crt")
            && line.contains("OpenVPN itself refuses this too")
            && !line.contains("--ca"),
        "{line}"
    );
    let line = check(
        "nokey.ovpn",
        &format!(
            "remote 127.0.0.1 1\nca {}\ncert {}\n\nkey missing.key\n",
            path(&ca),
            path(&cert)
        ),
        &["--login"],
    );
    assert!(
        line.contains(&format!(
            "nokey.ovpn, line 5, 'key': cannot read private key {}",
            path(&d.join("missing.key"))
        )),
        "{line}"
    );
    let line = check("nota.ovpn", "remote 127.0.0.1 1\ntls-crypt tc.key\n", &[]);
    assert!(line.contains("nota.ovpn, line 2, 'tls-crypt'"), "{line}");

    // No password file: OpenVPN would prompt.
    let line = check(
        "prompt.ovpn",
        &format!("remote 127.0.0.1 1\nca {}\n\nauth-user-pass\n", path(&ca)),
        &["--login"],
    );
    assert!(
        line.contains("prompt.ovpn, line 4, 'auth-user-pass': no file"),
        "{line}"
    );
    // A digest this check does not know.
    let ta = genkey_static(d, "ta.key");
    let line = check(
        "digest.ovpn",
        &format!(
            "remote 127.0.0.1 1\nauth WHIRLPOOL\ntls-auth {} 1\n",
            path(&ta)
        ),
        &[],
    );
    assert!(
        line.contains("digest.ovpn, line 2, 'auth': unknown digest 'WHIRLPOOL'"),
        "{line}"
    );

    // A key that is not the certificate's.
    let other = private_file(&d.join("other.key"), &pki.server_key);
    let line = check(
        "mismatch.ovpn",
        &format!(
            "remote 127.0.0.1 1\ncert {}\nkey {}\n",
            path(&cert),
            path(&other)
        ),
        &["--login"],
    );
    assert!(
        line.contains("mismatch.ovpn, line 3, 'key'") && line.contains("does not belong"),
        "{line}"
    );
    // A key on a token: said before sending, with what to give instead.
    let line = check(
        "token.ovpn",
        "remote 127.0.0.1 1\npkcs11-providers /usr/lib/p11.so\npkcs11-id 'pkcs11:object=vpn'\nauth-user-pass\n",
        &["--login", "--auth-user-pass", &path(&d.join("none.pass"))],
    );
    assert!(
        line.contains("token.ovpn, line 3, 'pkcs11-id'") && line.contains("--cert and --key"),
        "{line}"
    );
    // A proxy for the remote checked: UNKNOWN, unless -H names the server.
    let line = check(
        "proxy.ovpn",
        "remote 127.0.0.1 1\nhttp-proxy 127.0.0.1 3128\n",
        &[],
    );
    assert!(
        line.contains("proxy.ovpn, line 2, 'http-proxy'") && line.contains("-H"),
        "{line}"
    );
    let ovpn = d.join("proxy.ovpn");
    let (code, out) = run(&[
        "--config",
        &path(&ovpn),
        "-H",
        "127.0.0.1",
        "-p",
        &closed_udp_port().to_string(),
        "--timeout",
        "0.2",
        "--retrycount",
        "1",
    ]);
    assert_eq!(code, 2, "{out}");
    // --totp-secret needs a password to go with.
    let line = check(
        "certonly.ovpn",
        &format!(
            "remote 127.0.0.1 1\ncert {}\nkey {}\n",
            path(&cert),
            path(&key)
        ),
        &["--login", "--totp-secret", "/nonexistent"],
    );
    assert!(
        line.contains("--totp-secret") && line.contains("auth-user-pass"),
        "{line}"
    );

    // An encrypted key in a <key> block: the advice's command line decrypts it.
    let encrypted = openssl(
        d,
        &[
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-aes256",
            "-passout",
            "pass:secret",
        ],
    );
    let ovpn_text = format!(
        "remote 127.0.0.1 1\r\n<ca>\r\n{}</ca>\r\n<cert>\r\n{}</cert>\r\n<key>\r\n{}</key>\r\n",
        pki.ca_crt,
        read(&cert),
        encrypted
    )
    .replace("\n", "\r\n")
    .replace("\r\r\n", "\r\n");
    let key_line = ovpn_text.lines().position(|l| l == "<key>").unwrap() + 1;
    let line = check("my enc.ovpn", &ovpn_text, &["--login"]);
    assert!(
        line.contains(&format!("enc.ovpn, line {key_line}, 'key'"))
            && line.contains("OpenVPN itself accepts"),
        "{line}"
    );
    let start = line.find("(sed ").unwrap() + 1;
    let end = line[start..].find("; chmod").unwrap() + start;
    let advice = &line[start..end];
    assert!(
        advice.ends_with("openssl pkey -out monitor.key"),
        "{advice}"
    );
    let status = Command::new("sh")
        .current_dir(d)
        .arg("-c")
        .arg(format!("{advice} -passin pass:secret"))
        .status()
        .unwrap();
    assert!(status.success(), "{advice}");
    let decrypted = read(&d.join("monitor.key"));
    assert!(decrypted.contains("BEGIN PRIVATE KEY"), "{decrypted}");
    let _ = key;
}

/// `pkcs12 FILE` and a `<pkcs12>` block, as pfSense and older exports carry them: the
/// client certificate, its key and the CA from the bundle (no `ca` line), read with an
/// empty passphrase as OpenVPN reads it; a bundle with a passphrase is said before sending.
#[test]
fn pkcs12_bundles_log_in() {
    if !multi_client_ready() {
        return;
    }
    use base64::Engine as _;
    let mut pki = TestPki::temp();
    let ca = pki.self_signed_ca("ca", &CertSpec::ca("P12 CA"));
    let dir = pki.dir().to_path_buf();
    let s = server_of(&mut pki, &ca, Wrap::None, &[]);
    let client = pki.issue(&ca, "p12client", &CertSpec::client("p12-client"));
    let export = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            client.crt.to_str().unwrap(),
            "-inkey",
            client.key.to_str().unwrap(),
            "-certfile",
            ca.crt.to_str().unwrap(),
            "-out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        openssl(&dir, &args);
        out
    };
    let modern = export("modern.p12", &["-passout", "pass:"]);
    let legacy = export(
        "legacy.p12",
        &[
            "-passout",
            "pass:",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-certpbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ],
    );
    let locked = export("locked.p12", &["-passout", "pass:secret"]);
    let remote = format!(
        "client\nremote {} {} udp\nremote-cert-tls server\n",
        s.addr, s.port
    );
    for p12 in [&modern, &legacy] {
        let ovpn = private_file(
            &dir.join("p12.ovpn"),
            &format!(
                "{remote}pkcs12 {}\n",
                p12.file_name().unwrap().to_str().unwrap()
            ),
        );
        let (code, out) = run(&["--config", &path(&ovpn), "--login", "-v"]);
        assert_eq!(code, 0, "{}: {out}\n{}", p12.display(), s.log());
        assert!(
            first_line(&out).contains("logged in as CN=p12-client"),
            "{out}"
        );
        assert!(
            out.contains("CA certificates: 1 from") && out.contains("(pkcs12)"),
            "{out}"
        );
    }
    let block = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&modern).unwrap());
    let wrapped: Vec<String> = block
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let ovpn = private_file(
        &dir.join("inline.ovpn"),
        &format!("{remote}<pkcs12>\n{}\n</pkcs12>\n", wrapped.join("\n")).replace('\n', "\r\n"),
    );
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());

    let ovpn = private_file(
        &dir.join("locked.ovpn"),
        &format!("{remote}\npkcs12 {}\n", path(&locked)),
    );
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out).contains("locked.ovpn, line 5, 'pkcs12'")
            && first_line(&out).contains("passphrase")
            // Past the status line's 300 characters: the whole text follows it.
            && out.contains("OpenVPN itself accepts"),
        "{out}"
    );
}

/// `auth none` with tls-auth: OpenVPN's own client stops on it ("tls-auth enabled, but no
/// valid --auth algorithm"), and so does the check, naming the line, with exit 3.
#[test]
fn auth_none_with_tls_auth_is_refused_as_openvpn_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex: String = (0..256)
        .map(|i| format!("{:02x}", (i * 37 + 11) % 256))
        .collect::<Vec<_>>()
        .chunks(16)
        .map(|c| c.concat() + "\n")
        .collect();
    let key = private_file(
        &d.join("ta.key"),
        &format!(
            "-----BEGIN OpenVPN Static key V1-----\n{hex}-----END OpenVPN Static key V1-----\n"
        ),
    );
    let up = private_file(&d.join("up"), "monitor\ns3cret\n");
    let ovpn = private_file(
        &d.join("none.ovpn"),
        &format!(
            "client\ndev null\nremote 127.0.0.1 1\nproto udp\ntls-auth {} 1\nauth none\nauth-user-pass {}\nca {}\n",
            path(&key),
            path(&up),
            path(&private_file(&d.join("ca.crt"), &pki().ca_crt))
        ),
    );
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 3, "{out}");
    let line = first_line(&out);
    assert!(
        line.contains("none.ovpn, line 6, 'auth'")
            && line.contains("OpenVPN itself refuses this too")
            && !line.contains("OpenSSL knows"),
        "{line}"
    );
    if openvpn_available() {
        // OpenVPN stops while reading its options, before any packet.
        // (`timeout`: were it to go on, it would only knock at 127.0.0.1:1.)
        let real = Command::new("timeout")
            .arg("20")
            .arg(openvpn_bin())
            .arg("--config")
            .arg(&ovpn)
            .current_dir(d)
            .output()
            .expect("run openvpn");
        let log = String::from_utf8_lossy(&real.stdout);
        assert!(
            log.contains("tls-auth enabled, but no valid --auth algorithm"),
            "{log}"
        );
    }
}

/// A client config for `s`'s PKI and tls-auth key with these remote lines (or
/// `<connection>` blocks); `extra` lines after them.
fn remotes_config(s: &Server, name: &str, remotes: &[String], extra: &[&str]) -> PathBuf {
    let mut lines = vec![
        "client".to_string(),
        "dev tun".into(),
        "nobind".into(),
        "remote-cert-tls server".into(),
        "auth SHA256".into(),
        format!("ca {}", path(&s.ca_cert)),
        format!("cert {}", path(&s.client_cert)),
        format!("key {}", path(&s.client_key)),
        format!("tls-auth {} 1", path(&s.static_key)),
    ];
    lines.extend(remotes.iter().cloned());
    lines.extend(extra.iter().map(|l| l.to_string()));
    private_file(&s.dir.path().join(name), &(lines.join("\n") + "\n"))
}

/// The real `openvpn` 2.6 client with this config as the reference, its timers shortened
/// so that it gives up a dead remote in seconds instead of a minute: the remote it logged
/// in to ("host:port" as its log says it), or `None` when it gave up. Returns its log too.
fn real_client_of(ovpn: &Path) -> (Option<String>, String) {
    let log = ovpn.with_extension("client.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(openvpn_bin())
        .arg("--config")
        .arg(ovpn)
        .args(["--dev", "null", "--verb", "3", "--connect-retry-max", "1"])
        .args(["--server-poll-timeout", "3", "--hand-window", "4"])
        .args([
            "--connect-retry",
            "1",
            "1",
            "--route-noexec",
            "--ifconfig-noexec",
        ])
        .arg("--log")
        .arg(&log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let done = text.contains("PUSH_REPLY") || text.contains("Exiting");
        if done || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    if !text.contains("PUSH_REPLY") {
        return (None, text);
    }
    // The last peer it spoke to before the push: "link remote: [AF_INET]127.0.0.1:PORT"
    // (UDP) or "TCP connection established with [AF_INET]127.0.0.1:PORT".
    let peer = text
        .lines()
        .rev()
        .filter(|l| l.contains("link remote:") || l.contains("connection established with"))
        .find_map(|l| l.rsplit(']').next())
        .map(str::to_string);
    (peer, text)
}

/// Two `remote` lines, the first dead: the real client falls back to the second and logs
/// in, so the check is WARNING naming the dead one and the one that answered; with
/// `remote-random` the same; each one alone with `--remote`.
#[test]
fn several_remotes_first_dead_is_warning_as_clients_fall_back() {
    if !multi_client_ready() {
        return;
    }
    let s = Server::start(ServerOpts {
        proto: Proto::Udp,
        family: Family::V4,
        mode: Mode::MultiClient,
        wrap: Wrap::tls_auth("SHA256", Some(0)),
    });
    let dead = closed_udp_port();
    let remotes = [
        format!("remote 127.0.0.1 {dead} udp"),
        format!("remote 127.0.0.1 {} udp", s.port),
    ];
    for extra in [&[][..], &["remote-random"][..]] {
        let ovpn = remotes_config(&s, "two.ovpn", &remotes, extra);
        let (peer, log) = real_client_of(&ovpn);
        assert_eq!(
            peer.as_deref(),
            Some(&*format!("127.0.0.1:{}", s.port)),
            "{log}"
        );

        let (code, out) = run(&["--config", &path(&ovpn), "--login", "-v"]);
        assert_eq!(code, 1, "{out}\n{}", s.log());
        let first = first_line(&out);
        assert!(
            first.starts_with("OPENVPN WARNING - 1 of 2 remotes failed"),
            "{out}"
        );
        assert!(first.contains(&format!("127.0.0.1:{dead}/udp")), "{out}");
        assert!(first.contains("connection refused"), "{out}");
        assert!(
            first.contains(&format!("answered: 127.0.0.1:{}/udp in ", s.port)),
            "{out}"
        );
        assert!(out.contains("remotes_answered=1;2:;1:;0;2"), "{out}");
        assert!(
            out.contains(&format!("'login_time_127.0.0.1:{}/udp'=", s.port)),
            "{out}"
        );
        assert!(out.contains("[CRITICAL] remote 1: "), "{out}");
        assert!(out.contains("[OK] remote 2: "), "{out}");
        assert!(
            out.contains(&format!("remote 127.0.0.1 {dead} udp (used)")),
            "{out}"
        );
    }

    let ovpn = remotes_config(&s, "two.ovpn", &remotes, &[]);
    let (code, out) = run(&["--config", &path(&ovpn), "--login", "--remote", "2"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("remotes_answered"), "{out}");
    let (code, out) = run(&["--config", &path(&ovpn), "--remote", "1"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = run(&["--config", &path(&ovpn), "--remote", "3"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out).contains("its remotes: 1 127.0.0.1, 2 127.0.0.1"),
        "{out}"
    );
    // A host given names the server; the config's remotes are not all checked.
    let (code, out) = run(&[
        "--config",
        &path(&ovpn),
        "-H",
        "127.0.0.1",
        "-p",
        &s.port.to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
}

/// Two `<connection>` blocks, UDP dead and TCP live: the real client falls back to TCP;
/// the check is WARNING. Both dead: the real client gives up and the check is CRITICAL.
/// Both live: OK.
#[test]
fn connection_blocks_udp_dead_tcp_live_and_all_dead() {
    if !multi_client_ready() {
        return;
    }
    let s = Server::start(ServerOpts {
        proto: Proto::Tcp,
        family: Family::V4,
        mode: Mode::MultiClient,
        wrap: Wrap::tls_auth("SHA256", Some(0)),
    });
    let dead_udp = closed_udp_port();
    let dead_tcp = closed_tcp_port();
    let block = |port: u16, proto: &str| {
        format!("<connection>\nremote 127.0.0.1 {port}\nproto {proto}\n</connection>")
    };

    let ovpn = remotes_config(
        &s,
        "blocks.ovpn",
        &[block(dead_udp, "udp"), block(s.port, "tcp-client")],
        &[],
    );
    let (peer, log) = real_client_of(&ovpn);
    assert_eq!(
        peer.as_deref(),
        Some(&*format!("127.0.0.1:{}", s.port)),
        "{log}"
    );
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 1, "{out}\n{}", s.log());
    assert!(
        first_line(&out).contains(&format!("127.0.0.1:{dead_udp}/udp")),
        "{out}"
    );
    assert!(
        first_line(&out).contains(&format!("answered: 127.0.0.1:{}/tcp", s.port)),
        "{out}"
    );

    let ovpn = remotes_config(
        &s,
        "dead.ovpn",
        &[block(dead_udp, "udp"), block(dead_tcp, "tcp-client")],
        &[],
    );
    let (peer, log) = real_client_of(&ovpn);
    assert_eq!(peer, None, "{log}");
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).starts_with("OPENVPN CRITICAL - all 2 remotes failed"),
        "{out}"
    );
    assert!(out.contains("remotes_answered=0;2:;1:;0;2"), "{out}");

    let ovpn = remotes_config(
        &s,
        "live.ovpn",
        &[
            block(s.port, "tcp-client"),
            format!(
                "<connection>\nremote localhost {}\nproto tcp-client\n</connection>",
                s.port
            ),
        ],
        &[],
    );
    let (code, out) = run(&["--config", &path(&ovpn), "--login"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(first_line(&out).contains("all 2 remotes answered"), "{out}");
    assert!(out.contains("remotes_answered=2;2:;1:;0;2"), "{out}");
}
