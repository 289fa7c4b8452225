//! `--server-config`: real multi-client OpenVPN servers with PKIs made at test time
//! (exact dates from `openssl ca`), checked from their own config.

use crate::common;

use common::pki::{CertSpec, Issued, TestPki};
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A CA, a server certificate and a CRL of that CA, made for one test.
struct Setup {
    pki: TestPki,
    ca: Issued,
    server: Issued,
}

impl Setup {
    fn new() -> Setup {
        Setup::with(
            CertSpec::ca("server-test CA"),
            CertSpec::server("server-test"),
        )
    }

    fn with(ca_spec: CertSpec, server_spec: CertSpec) -> Setup {
        let mut pki = TestPki::temp();
        let ca = pki.self_signed_ca("ca", &ca_spec);
        let server = pki.issue(&ca, "server", &server_spec);
        Setup { pki, ca, server }
    }

    /// Config lines for the CA and server certificate (absolute paths).
    fn pki_lines(&self) -> Vec<String> {
        vec![
            format!("ca {}", self.ca.crt.display()),
            format!("cert {}", self.server.crt.display()),
            format!("key {}", self.server.key.display()),
        ]
    }
}

fn opts(wrap: Wrap) -> ServerOpts {
    ServerOpts {
        proto: Proto::Udp,
        family: Family::V4,
        mode: Mode::MultiClient,
        wrap,
    }
}

/// Starts a multi-client server with `lines` and a TCP management interface.
fn start(wrap: Wrap, lines: &[String]) -> Server {
    let mgmt = free_port(Proto::Tcp, Family::V4);
    let mut all: Vec<String> = lines.to_vec();
    all.push(format!("management 127.0.0.1 {mgmt}"));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    Server::start_with(opts(wrap), &refs)
}

fn start_plain(lines: &[String]) -> Server {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    Server::start_with(opts(Wrap::None), &refs)
}

fn check(server: &Server, extra: &[&str]) -> (i32, String) {
    let config = server.config_path.display().to_string();
    let mut args = vec!["--server-config", config.as_str(), "-v"];
    args.extend_from_slice(extra);
    let (code, out, err, _) = run_check(&args);
    assert!(err.is_empty(), "stderr: {err}");
    (code, out)
}

/// The whole days after `prefix` in `line`: `n`, or `n - 1` once a little of the first
/// day has passed since the file was made (days are truncated, as for certificates).
fn days(line: &str, prefix: &str, n: i64) -> i64 {
    let at = line
        .find(prefix)
        .unwrap_or_else(|| panic!("no '{prefix}' in {line}"));
    let d: i64 = line[at + prefix.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no number after '{prefix}' in {line}"));
    assert!(d == n || d == n - 1, "{d} days, {n} expected: {line}");
    d
}

fn crl_line(path: &Path) -> String {
    format!("crl-verify {}", path.display())
}

#[test]
fn crl_expiring_in_five_days_warns_or_is_critical_by_c() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let crl = s.pki.crl(&s.ca.clone(), "crl", -1, 5);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);

    let (code, out) = check(&srv, &["-C", "30,3"]);
    assert_eq!(code, 1, "{out}\n{}", srv.log());
    let first = first_line(&out);
    let d = days(first, "CRL expires in ", 5);
    assert!(
        first.starts_with(&format!(
            "OPENVPN WARNING - server.conf: CRL expires in {d} days"
        )),
        "{out}"
    );
    assert!(
        first.contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(first.contains("0 clients"), "{out}");
    assert!(first.contains(&format!("crl_days={d};30:;3:;;")), "{out}");
    assert!(first.contains("clients=0;;;0;"), "{out}");
    assert!(first.contains("bytes_in="), "{out}");

    // Each run counts the days again: the nextUpdate is five days, to the second, after the
    // CRL was made, so the whole days left fall from 5 to 4 as the second turns.
    let (code, out) = check(&srv, &["-C", "30,10"]);
    assert_eq!(code, 2, "{out}");
    days(first_line(&out), "CRL expires in ", 5);

    let (code, out) = check(&srv, &["-C", "3,1"]);
    assert_eq!(code, 0, "{out}");
    days(first_line(&out), "CRL valid ", 5);
}

#[test]
fn expired_crl_is_critical_openvpn_refuses_every_client() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let crl = s.pki.crl(&s.ca.clone(), "crl", -30, -1);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("CRL expired 1 day ago")
            && out.contains("OpenVPN refuses every client now"),
        "{out}"
    );
    // And so it does: a real client of the same CA is refused.
    client_sees(&srv, &mut s, "error=CRL has expired");
}

#[test]
fn crl_with_last_update_in_the_future_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let crl = s.pki.crl(&s.ca.clone(), "crl", 2, 60);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("CRL lastUpdate"), "{out}");
    assert!(first_line(&out).contains("is in the future"), "{out}");
    client_sees(&srv, &mut s, "error=CRL is not yet valid");
}

#[test]
fn crl_of_another_ca_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut other = TestPki::temp();
    let other_ca = other.self_signed_ca("other", &CertSpec::ca("another CA"));
    let crl = other.crl(&other_ca, "crl", -1, 60);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("CRL is signed by another CA (CN=another CA)"),
        "{out}"
    );
    // The real server takes clients without a word about revocation.
    let mut s = s;
    client_sees(&srv, &mut s, "[carol] Peer Connection Initiated");
    drop(srv);

    // Another CA under the very name of the server's: the signature tells them apart,
    // and OpenVPN, which finds this CRL by that name, refuses every client.
    let twin = other.self_signed_ca("twin", &CertSpec::ca("server-test CA"));
    let crl = other.crl(&twin, "twin-crl", -1, 60);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &["--no-probe"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("CRL signature does not verify with the CA's key"),
        "{out}"
    );
    assert!(out.contains("OpenVPN refuses every client now"), "{out}");
    // And so it does.
    client_named_sees(&srv, &mut s, "dave", "error=CRL signature failure");
}

#[test]
fn crl_revoking_the_server_itself_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let (ca, server) = (s.ca.clone(), s.server.clone());
    s.pki.revoke(&ca, &server);
    let crl = s.pki.crl(&ca, "crl", -1, 60);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("the CRL revokes the server's own certificate"),
        "{out}"
    );
}

#[test]
fn der_crl_is_critical_for_an_openssl_server_and_pem_is_fine() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let pem = s.pki.crl(&s.ca.clone(), "crl", -1, 60);
    let der = s.pki.dir().join("crl.der");
    let ok = Command::new(openssl_bin())
        .args(["crl", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der)
        .status()
        .expect("openssl crl");
    assert!(ok.success());

    let mut lines = s.pki_lines();
    lines.push(crl_line(&pem));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}");
    days(first_line(&out), "CRL valid ", 60);
    drop(srv);

    let mut lines = s.pki_lines();
    lines.push(crl_line(&der));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("is DER, not PEM: this OpenVPN is built with OpenSSL"),
        "{out}"
    );
    client_sees(&srv, &mut s, "VERIFY ERROR: CRL not loaded");
}

#[test]
fn crl_directory_exists_or_not() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let dir = s.pki.dir().join("crl.d");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("12345"), "").unwrap();
    let mut lines = s.pki_lines();
    lines.push(format!("crl-verify {} dir", dir.display()));
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(first_line(&out).contains("CRL directory"), "{out}");
    assert!(first_line(&out).contains("readable (1 revoked)"), "{out}");

    fs::remove_file(dir.join("12345")).unwrap();
    fs::remove_dir(&dir).unwrap();
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("does not exist"), "{out}");
    // The real server accepts a client it cannot look up.
    let mut s = s;
    client_sees(&srv, &mut s, "[carol] Peer Connection Initiated");
}

#[test]
fn server_certificate_near_expiry_warns() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::with(
        CertSpec::ca("server-test CA"),
        CertSpec {
            not_after_days: 12,
            ..CertSpec::server("short-lived")
        },
    );
    let srv = start(Wrap::None, &s.pki_lines());
    let (code, out) = check(&srv, &["-C", "30,7"]);
    assert_eq!(code, 1, "{out}");
    let first = first_line(&out);
    let d = days(first, "server certificate CN=short-lived expires in ", 12);
    assert!(first.contains(&format!("cert_days={d};30:;7:;;")), "{out}");
}

#[test]
fn ca_near_expiry_is_critical_under_the_critical_days() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::with(
        CertSpec {
            not_after_days: 5,
            ..CertSpec::ca("short CA")
        },
        CertSpec {
            not_after_days: 4,
            ..CertSpec::server("srv")
        },
    );
    let srv = start(Wrap::None, &s.pki_lines());
    let (code, out) = check(&srv, &["-C", "30,7"]);
    assert_eq!(code, 2, "{out}");
    days(first_line(&out), "CA CN=short CA expires in ", 5);
}

#[test]
fn renewed_certificate_without_restart_warns_restart_it() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::with(
        CertSpec::ca("server-test CA"),
        CertSpec {
            not_after_days: 20,
            ..CertSpec::server("srv")
        },
    );
    let srv = start(Wrap::None, &s.pki_lines());
    // Renew: a new certificate for the same key name, written over the file.
    let ca = s.ca.clone();
    let renewed = s.pki.issue(&ca, "renewed", &CertSpec::server("srv"));
    fs::copy(&renewed.crt, &s.server.crt).unwrap();
    fs::copy(&renewed.key, &s.server.key).unwrap();

    let (code, out) = check(&srv, &["-C", "10,5"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        first_line(&out).contains("the running server presents an older certificate: restart it"),
        "{out}"
    );
    days(first_line(&out), "server certificate ", 3650);

    let (code, out) = check(&srv, &["-C", "30,25"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("presents an older certificate"),
        "{out}"
    );
}

#[test]
fn management_over_tcp_with_a_password_file() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let pw = s.pki.dir().join("mgmt.pw");
    fs::write(&pw, "s3cret-management-word\n").unwrap();
    let port = free_port(Proto::Tcp, Family::V4);
    let mut lines = s.pki_lines();
    lines.push(format!("management 127.0.0.1 {port} {}", pw.display()));
    let srv = start_plain(&lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(first_line(&out).contains("0 clients"), "{out}");
    assert!(out.contains("(with password)"), "{out}");
    assert!(out.contains("[SSL (OpenSSL)]"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");

    // A wrong password in the file: UNKNOWN, the password not shown.
    fs::write(&pw, "wrong-word\n").unwrap();
    let (code, out) = check(&srv, &["--no-probe"]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("refused the password"), "{out}");
    assert!(!out.contains("wrong-word"), "{out}");
}

#[test]
fn management_over_a_unix_socket() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let sock = s.pki.dir().join("mgmt.sock");
    let mut lines = s.pki_lines();
    lines.push(format!("management {} unix", sock.display()));
    let srv = start_plain(&lines);
    let (code, out) = check(&srv, &["--clients-warning", "0:5"]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(
        out.contains(&format!("from management {}", sock.display())),
        "{out}"
    );
    assert!(first_line(&out).contains("clients=0;0:5;;0;"), "{out}");
}

#[test]
fn clients_critical_at_least_one_with_no_clients() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let srv = start(Wrap::None, &s.pki_lines());
    let (code, out) = check(&srv, &["--clients-critical", "1:"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("0 clients (outside critical range 1:)"),
        "{out}"
    );
}

#[test]
fn status_file_of_each_version() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    for version in ["1", "2", "3"] {
        let mut lines = s.pki_lines();
        lines.push("status status.log 1".into());
        lines.push(format!("status-version {version}"));
        let srv = start_plain(&lines);
        // An idle server writes its status file once a packet wakes it (the probe does)
        // and its interval has passed since the start.
        let (code, out) = check_until(&srv, &[], "clients=0;");
        assert_eq!(code, 0, "version {version}: {out}");
        assert!(
            out.contains(&format!("(version {version})")),
            "version {version}: {out}"
        );
        assert!(first_line(&out).contains("clients=0;;;0;"), "{out}");
    }
}

fn wait_for_file(p: &Path) -> bool {
    for _ in 0..500 {
        if fs::metadata(p).is_ok_and(|m| m.len() > 0) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn stale_status_file_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut lines = s.pki_lines();
    lines.push("status status.log 2".into());
    lines.push("status-version 2".into());
    let mut srv = start_plain(&lines);
    let status = srv.dir.path().join("status.log");
    let (code, out) = check_until(&srv, &[], "clients=0;");
    assert_eq!(code, 0, "{out}");
    assert!(wait_for_file(&status), "{}", srv.log());
    // The server hangs (here: stops); its last status file ages.
    srv.stop();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&status)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("the server stopped updating its status: hung or stopped"),
        "{out}"
    );
    // Without the probe, the running processes tell a stopped server from an idle one.
    let (code, out) = check(&srv, &["--no-probe"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("no OpenVPN process runs this config")
            && out.contains("status file not rewritten for"),
        "{out}"
    );
}

#[test]
fn tls_auth_tls_crypt_and_tls_crypt_v2_servers_probed_with_their_own_keys() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    for wrap in [
        Wrap::tls_auth("SHA256", Some(0)),
        Wrap::tls_auth("SHA1", None),
        Wrap::TlsCrypt,
        Wrap::TlsCryptV2,
    ] {
        let srv = start(wrap.clone(), &s.pki_lines());
        let (code, out) = check(&srv, &[]);
        assert_eq!(code, 0, "{wrap:?}: {out}\n{}", srv.log());
        assert!(
            first_line(&out).contains("live server presents the same certificate"),
            "{wrap:?}: {out}"
        );
        assert!(first_line(&out).contains("tls_time="), "{wrap:?}: {out}");
        if wrap == Wrap::TlsCryptV2 {
            assert!(out.contains("tls-crypt-v2"), "{out}");
            assert!(
                srv.wait_for_log(
                    "Control Channel: using tls-crypt-v2 key",
                    Duration::from_secs(5)
                ),
                "{}",
                srv.log()
            );
        }
    }
    // Over TCP and IPv6, with tls-auth's key direction 1 on the server.
    let mut o = opts(Wrap::tls_auth("SHA512", Some(1)));
    o.proto = Proto::Tcp;
    o.family = Family::V6;
    let lines = s.pki_lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let srv = Server::start_with(o, &refs);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(
        first_line(&out).contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(out.contains("[::1]:") && out.contains("/tcp"), "{out}");
}

#[test]
fn a_tls_crypt_v2_client_key_openvpn_made_unwraps_with_our_server_key() {
    if !openvpn_available() {
        return;
    }
    use check_openvpn::keys::static_keys::V2ClientKey;
    use check_openvpn::server::v2::V2ServerKey;
    let dir = tempfile::tempdir().unwrap();
    let srv = genkey_tls_crypt_v2_server(dir.path(), "s.key");
    let cli = genkey_tls_crypt_v2_client(&srv, dir.path(), "c.key");
    let server = V2ServerKey::parse(&fs::read_to_string(&srv).unwrap(), "s.key").unwrap();
    let client = V2ClientKey::from_file(&cli).unwrap();
    let (kc, metadata) = server.unwrap(&client.wkc).expect("OpenVPN's WKc verifies");
    assert_eq!(kc.len(), 256);
    // OpenVPN's default metadata: type 1 (timestamp) and eight bytes of time.
    assert_eq!(metadata.len(), 9);
    assert_eq!(metadata[0], 1);
    // And our own wrap of that Kc with that metadata is byte for byte OpenVPN's.
    let kc: [u8; 256] = kc.try_into().unwrap();
    assert_eq!(server.wrap(&kc, &metadata).wkc, client.wkc);
}

/// Runs the plugin as `nobody` (tests run as root, who reads everything).
fn run_as_nobody(args: &[&str]) -> (i32, String) {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(check_bin())
        .args(args)
        .output()
        .expect("setpriv");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn unreadable_files_are_unknown_naming_the_file_and_the_fix() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut pki = s;
    let crl = pki.pki.crl(&pki.ca.clone(), "crl", -1, 60);
    let mut lines = pki.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::TlsCrypt, &lines);
    use std::os::unix::fs::PermissionsExt;
    // The plugin's user reaches the directories, not the CRL nor the key.
    for d in [pki.pki.dir(), srv.dir.path()] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    for f in [&srv.config_path, &pki.ca.crt, &pki.server.crt] {
        fs::set_permissions(f, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(&crl, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&srv.static_key, fs::Permissions::from_mode(0o600)).unwrap();
    let key_text = fs::read_to_string(&srv.static_key).unwrap();
    let key_line = key_text
        .lines()
        .find(|l| l.len() == 32)
        .unwrap()
        .to_string();
    let config = srv.config_path.display().to_string();
    let (code, out) = run_as_nobody(&["--server-config", &config, "-v"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains(&format!(
            "cannot read CRL {}: permission denied",
            crl.display()
        )),
        "{out}"
    );
    assert!(out.contains("chmod g+r"), "{out}");
    assert!(
        out.contains("never needs the server's private key"),
        "{out}"
    );
    assert!(out.contains("cannot read control-channel key"), "{out}");
    assert!(!out.contains(&key_line), "{out}");
    // The advice once, naming both fixes; a short status line; without -v the findings
    // left out of it still get a line each.
    assert_eq!(
        out.matches("fix: let the monitoring user's group").count(),
        1,
        "{out}"
    );
    assert!(out.contains("run the check with sudo"), "{out}");
    // Root's server process: its working directory is out of nobody's reach, so its
    // command line cannot be matched to the file; said, and the file alone read.
    assert!(
        out.contains("could not be matched to this config: their working directory is not readable to this user"),
        "{out}"
    );
    assert!(
        !out.contains("no OpenVPN process runs this config"),
        "{out}"
    );
    let (code, out) = run_as_nobody(&["--server-config", &config]);
    assert_eq!(code, 3, "{out}");
    let head = first_line(&out).split(" | ").next().unwrap().to_string();
    assert!(head.chars().count() <= 300, "{head}");
    assert!(head.contains("cannot read CRL"), "{out}");
    assert!(out.contains("cannot read control-channel key"), "{out}");
    assert_eq!(
        out.matches("fix: let the monitoring user's group").count(),
        1,
        "{out}"
    );

    // The config itself.
    fs::set_permissions(&srv.config_path, fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out) = run_as_nobody(&["--server-config", &config]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with(&format!(
            "OPENVPN UNKNOWN - cannot read {config}: permission denied (give the monitoring user's group read access"
        )),
        "{out}"
    );
}

#[test]
fn include_and_cd_resolve_relative_paths_as_openvpn_does() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    s.pki.crl(&s.ca.clone(), "crl", -1, 20);
    // The PKI lives in a folder of its own; the server's config reaches it with `cd DIR`,
    // then `config FILE` (OpenVPN's include) of a file there that names them relatively.
    let pki_dir: PathBuf = s.pki.dir().to_path_buf();
    fs::write(
        pki_dir.join("pki.conf"),
        "ca ca.crt\ncert server.crt\nkey server.key\ncrl-verify crl.crl\n",
    )
    .unwrap();
    let lines = vec![
        format!("cd {}", pki_dir.display()),
        "config pki.conf".to_string(),
    ];
    let srv = start(Wrap::None, &lines);
    // The server started with these files: it read them where the check reads them.
    let (code, out) = check(&srv, &["-C", "30,7"]);
    assert_eq!(code, 1, "{out}");
    days(first_line(&out), "CRL expires in ", 20);
    assert!(
        first_line(&out).contains("live server presents the same certificate"),
        "{out}"
    );
}

/// A real OpenVPN client connected to `server`, killed on drop.
struct RealClient(std::process::Child, tempfile::TempDir);

impl RealClient {
    fn connect(server: &Server, s: &mut Setup, cn: &str) -> RealClient {
        RealClient::connect_with(server, s, cn, &[])
    }

    /// [`RealClient::connect`] with more options (`--tls-crypt-v2 KEY`).
    fn connect_with(server: &Server, s: &mut Setup, cn: &str, extra: &[&str]) -> RealClient {
        let ca = s.ca.clone();
        let client = s.pki.issue(&ca, cn, &CertSpec::client(cn));
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("client.log");
        let child = Command::new(openvpn_bin())
            .args(["--client", "--dev", "tun", "--proto", "udp4", "--nobind"])
            .args(["--remote", "127.0.0.1", &server.port.to_string()])
            .arg("--ca")
            .arg(&s.ca.crt)
            .arg("--cert")
            .arg(&client.crt)
            .arg("--key")
            .arg(&client.key)
            .args([
                "--ifconfig-noexec",
                "--route-noexec",
                "--disable-dco",
                "--verb",
                "3",
            ])
            .args(extra)
            .arg("--log")
            .arg(&log)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn openvpn client");
        RealClient(child, dir)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.1.path().join("client.log")).unwrap_or_default()
    }
}

impl Drop for RealClient {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects a real client and waits for `needle` in the server's log.
fn client_sees(server: &Server, s: &mut Setup, needle: &str) {
    client_named_sees(server, s, "carol", needle)
}

/// Like [`client_sees`] with a client of the given common name.
fn client_named_sees(server: &Server, s: &mut Setup, cn: &str, needle: &str) {
    let client = RealClient::connect(server, s, cn);
    assert!(
        server.wait_for_log(needle, Duration::from_secs(10)),
        "{}\n{}",
        server.log(),
        client.log()
    );
}

/// Runs the check until its status line contains `needle` (a client takes a moment to
/// connect), at most about ten seconds; returns the last output.
fn check_until(server: &Server, extra: &[&str], needle: &str) -> (i32, String) {
    let mut last = (0, String::new());
    for _ in 0..50 {
        last = check(server, extra);
        if first_line(&last.1).contains(needle) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    last
}

#[test]
fn a_connected_real_client_is_counted_by_management_and_status_file() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    // Management (status 3, load-stats).
    let srv = start(Wrap::None, &s.pki_lines());
    let client = RealClient::connect(&srv, &mut s, "alice");
    let (code, out) = check_until(&srv, &["--clients-critical", "1:"], " 1 client");
    assert_eq!(code, 0, "{out}\n{}\n{}", srv.log(), client.log());
    assert!(first_line(&out).contains("clients=1;;1:;0;"), "{out}");
    assert!(out.contains("clients: alice"), "{out}");
    drop(client);
    drop(srv);

    // The status file, version 3 (tab-separated).
    let mut lines = s.pki_lines();
    lines.push("status status.log 1".into());
    lines.push("status-version 3".into());
    let srv = start_plain(&lines);
    let client = RealClient::connect(&srv, &mut s, "bob");
    let (code, out) = check_until(&srv, &[], " 1 client");
    assert_eq!(code, 0, "{out}\n{}\n{}", srv.log(), client.log());
    assert!(
        out.contains("(version 3)") && out.contains("clients: bob"),
        "{out}"
    );
    let bytes_in: u64 = first_line(&out)
        .split("bytes_in=")
        .nth(1)
        .and_then(|t| t.split('c').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(bytes_in > 0, "{out}");
}

#[test]
fn a_server_listening_on_an_address_of_another_host_is_not_probed() {
    let s = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    let mut text = s.pki_lines().join("\n");
    // TEST-NET-1: no address of this host; the check sends nothing there.
    text.push_str("\nmode server\ntls-server\nlocal 192.0.2.1\nport 1194\nproto udp\n");
    fs::write(&config, text).unwrap();
    let (code, out, err, _) = run_check(&["--server-config", &config.display().to_string()]);
    assert!(err.is_empty(), "{err}");
    assert_eq!(code, 0, "{out}");
    assert!(
        first_line(&out).contains(
            "live server not probed: it listens on 192.0.2.1, not an address of this host"
        ),
        "{out}"
    );
    assert!(!first_line(&out).contains("tls_time"), "{out}");
}

#[test]
fn inline_ca_cert_and_tls_crypt_blocks() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let key = genkey_static(s.pki.dir(), "tc.key");
    let block = |name: &str, path: &Path| {
        format!("<{name}>\n{}</{name}>", fs::read_to_string(path).unwrap())
    };
    let lines = vec![
        "ca [inline]".to_string(),
        "cert [inline]".to_string(),
        format!("key {}", s.server.key.display()),
        block("ca", &s.ca.crt),
        block("cert", &s.server.crt),
        block("tls-crypt", &key),
    ];
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    let first = first_line(&out);
    assert!(
        first.contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(out.contains("(tls-crypt)"), "{out}");
    assert!(out.contains("chains to the CA"), "{out}");
}

#[test]
fn extra_certs_intermediate_near_expiry_and_the_chain_through_it() {
    if !multi_client_ready() {
        return;
    }
    let mut pki = TestPki::temp();
    let root = pki.self_signed_ca("root", &CertSpec::ca("root CA"));
    let inter = pki.issue(
        &root,
        "inter",
        &CertSpec {
            not_after_days: 10,
            ..CertSpec::ca("intermediate CA")
        },
    );
    let server = pki.issue(
        &inter,
        "server",
        &CertSpec {
            not_after_days: 9,
            ..CertSpec::server("srv")
        },
    );
    let lines = vec![
        format!("ca {}", root.crt.display()),
        format!("cert {}", server.crt.display()),
        format!("key {}", server.key.display()),
        format!("extra-certs {}", inter.crt.display()),
    ];
    let srv = start(Wrap::None, &lines);
    let (code, out) = check(&srv, &["-C", "30,3"]);
    assert_eq!(code, 1, "{out}\n{}", srv.log());
    let first = first_line(&out);
    days(first, "intermediate CN=intermediate CA expires in ", 10);
    days(first, "server certificate CN=srv expires in ", 9);
    assert!(
        first.contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(out.contains("chains to the CA"), "{out}");
}

#[test]
fn a_status_file_not_yet_written_is_no_alarm_and_the_probe_gets_it_written() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut lines = s.pki_lines();
    // OpenVPN creates the file at start and writes it when a packet first wakes it.
    lines.push("status status.log 60".into());
    let srv = start_plain(&lines);
    let (code, out) = check(&srv, &["--no-probe"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        first_line(&out).contains("clients not counted: status file")
            && first_line(&out).contains("still empty after"),
        "{out}"
    );
    assert!(!first_line(&out).contains("clients="), "{out}");
    // The probe wakes it: the file is written and read.
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(first_line(&out).contains("clients=0;"), "{out}");
}

#[test]
fn a_file_that_is_no_server_config_is_unknown_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    // A client's config given by mistake, and a file that is no config at all: neither may
    // read as a server with every default (and its probe of port 1194 as a dead server).
    let client = dir.path().join("client.ovpn");
    fs::write(
        &client,
        "\u{feff}client\r\ndev tun\r\nremote vpn.example.invalid 1194\r\n",
    )
    .unwrap();
    let other = dir.path().join("notes.txt");
    fs::write(&other, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    for (file, says) in [
        (&client, "line 1 makes it a client's"),
        (&other, "not an OpenVPN server's config"),
    ] {
        let path = file.display().to_string();
        let (code, out, _, _) = run_check(&["--server-config", &path]);
        assert_eq!(code, 3, "{out}");
        let line = first_line(&out);
        assert!(line.starts_with("OPENVPN UNKNOWN - "), "{line}");
        assert!(line.contains(says), "{line}");
        assert!(!line.contains("1194/udp"), "no probe was sent: {line}");
    }
}

#[test]
fn a_stopped_server_whose_management_refuses_is_critical_under_no_probe() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let port = free_port(Proto::Tcp, Family::V4);
    let sock = s.pki.dir().join("stopped.sock");
    for management in [
        format!("management 127.0.0.1 {port}"),
        format!("management {} unix", sock.display()),
    ] {
        let mut lines = s.pki_lines();
        lines.push(management.clone());
        let mut srv = start_plain(&lines);
        let (code, out) = check(&srv, &["--no-probe"]);
        assert_eq!(code, 0, "{management}: {out}\n{}", srv.log());
        srv.stop();
        // Nothing listens any more: the server is down, not a mystery.
        for extra in [&["--no-probe"][..], &[][..]] {
            let (code, out) = check(&srv, extra);
            assert_eq!(code, 2, "{management} {extra:?}: {out}");
            assert!(
                out.contains("the server is not running: its management"),
                "{management} {extra:?}: {out}"
            );
        }
    }
}

#[test]
fn a_client_threshold_with_nothing_to_count_from_is_unknown_naming_what_to_add() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let srv = start_plain(&s.pki_lines());
    let (code, out) = check(&srv, &["--clients-critical", "1:"]);
    assert_eq!(code, 3, "{out}\n{}", srv.log());
    assert!(
        out.contains("no 'management' and no 'status' line"),
        "{out}"
    );
    // Without a threshold the same server is fine.
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_crl_deleted_while_the_server_runs_warns_and_the_probe_still_runs() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let crl = s.pki.crl(&s.ca.clone(), "crl", -1, 30);
    let mut lines = s.pki_lines();
    lines.push(crl_line(&crl));
    let srv = start(Wrap::None, &lines);
    fs::remove_file(&crl).unwrap();
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 1, "{out}\n{}", srv.log());
    assert!(
        out.contains("is missing: the server keeps the CRL it loaded"),
        "{out}"
    );
    assert!(
        out.contains("live server presents the same certificate"),
        "{out}"
    );
    // And so it does: OpenVPN keeps the CRL it loaded and lets a client in.
    client_sees(&srv, &mut s, "Peer Connection Initiated");
}

#[test]
fn a_missing_control_channel_key_of_a_stopped_server_is_critical_as_openvpn_cannot_start() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut srv = start(Wrap::TlsCrypt, &s.pki_lines());
    srv.stop();
    let config = fs::read_to_string(&srv.config_path).unwrap();
    let key = config
        .lines()
        .find_map(|l| l.strip_prefix("tls-crypt "))
        .map(|k| k.split_whitespace().next().unwrap().to_string())
        .expect("a tls-crypt line with a file");
    let key = if Path::new(&key).is_absolute() {
        PathBuf::from(key)
    } else {
        srv.config_path.parent().unwrap().join(key)
    };
    fs::remove_file(&key).unwrap();
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("is missing: the server cannot start with this config"),
        "{out}"
    );
    // OpenVPN itself refuses to start with this config.
    let mut server = Command::new(openvpn_bin())
        .arg("--config")
        .arg(&srv.config_path)
        .current_dir(srv.config_path.parent().unwrap())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = server.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        exited.is_some_and(|s| !s.success()),
        "OpenVPN started without its key: {exited:?}"
    );
}

/// OpenVPN 2.7 writes real addresses with a protocol prefix (`udp4:127.0.0.1:56436`) in
/// its status files and management output, and adds `dco_enabled` to the global stats:
/// one connected client is still one client, by every source.
#[test]
fn openvpn_2_7_clients_are_counted_by_management_and_every_status_version() {
    if !multi_client_ready() {
        return;
    }
    let Some(bin) = server_bin("2.7") else {
        return;
    };
    let mut s = Setup::new();
    let mgmt = free_port(Proto::Tcp, Family::V4);
    let mut lines = s.pki_lines();
    lines.push(format!("management 127.0.0.1 {mgmt}"));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let srv = Server::start_version(&bin, opts(Wrap::None), &refs);
    let client = RealClient::connect(&srv, &mut s, "alice");
    let (code, out) = check_until(&srv, &["--clients-critical", "1:"], " 1 client");
    assert_eq!(code, 0, "{out}\n{}\n{}", srv.log(), client.log());
    assert!(first_line(&out).contains("clients=1;;1:;0;"), "{out}");
    assert!(out.contains("clients: alice"), "{out}");
    drop(client);
    drop(srv);
    for version in ["1", "2", "3"] {
        let mut lines = s.pki_lines();
        lines.push("status status.log 1".into());
        lines.push(format!("status-version {version}"));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let srv = Server::start_version(&bin, opts(Wrap::None), &refs);
        let cn = format!("bob{version}");
        let client = RealClient::connect(&srv, &mut s, &cn);
        let (code, out) = check_until(&srv, &["--clients-critical", "1:"], " 1 client");
        assert_eq!(
            code,
            0,
            "v{version}: {out}\n{}\n{}",
            srv.log(),
            client.log()
        );
        assert!(
            out.contains(&format!("(version {version})"))
                && out.contains(&format!("clients: {cn}")),
            "v{version}: {out}"
        );
        let status = fs::read_to_string(srv.config_path.parent().unwrap().join("status.log"))
            .unwrap_or_default();
        assert!(status.contains("udp4:127.0.0.1:"), "v{version}: {status}");
    }
}

/// Nyr's installer: no `status` in the config; its systemd unit passes
/// `--status FILE --status-version 2` on the command line, from the config's folder. The
/// running server's command line is read with the file: its clients are counted.
#[test]
fn the_command_line_of_the_running_server_is_read_with_its_file() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let refs: Vec<String> = s.pki_lines();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let status_dir = tempfile::tempdir().unwrap();
    let status = status_dir.path().join("status-server.log");
    let status_arg = status.display().to_string();
    let srv = Server::start_with_cmdline(
        opts(Wrap::None),
        &refs,
        // (Nyr's unit gives no interval, so 60 s; 1 s here, not to wait for the write.)
        &[
            "--status",
            &status_arg,
            "1",
            "--status-version",
            "2",
            "--suppress-timestamps",
        ],
    );
    let client = RealClient::connect(&srv, &mut s, "dave");
    let (code, out) = check_until(&srv, &["--clients-critical", "1:"], " 1 client");
    assert_eq!(code, 0, "{out}\n{}\n{}", srv.log(), client.log());
    assert!(first_line(&out).contains("clients=1;;1:;0;"), "{out}");
    assert!(out.contains(&status_arg), "{out}");
    assert!(
        out.contains(&format!(
            "runs this config: its command line adds --status {status_arg} 1 --status-version 2"
        )),
        "{out}"
    );
}

/// docker-openvpn's `ovpn_run` passes `--crl-verify` on the command line: an expired CRL
/// there refuses every client (a real client is refused), and the check says so.
#[test]
fn a_crl_given_on_the_command_line_is_judged() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let crl = s.pki.crl(&s.ca.clone(), "crl", -30, -1);
    let lines = s.pki_lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let crl_arg = crl.display().to_string();
    let srv = Server::start_with_cmdline(opts(Wrap::None), &refs, &["--crl-verify", &crl_arg]);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("CRL expired 1 day ago"), "{out}");
    client_sees(&srv, &mut s, "error=CRL has expired");
}

/// A config no process runs: CRITICAL, whether the live probe ran (it fails too) or not.
#[test]
fn a_config_no_process_runs_is_critical() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let mut srv = start_plain(&s.pki_lines());
    srv.stop();
    let (code, out) = check(&srv, &["--timeout", "0.5", "--retrycount", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no OpenVPN process runs this config"), "{out}");
    let (code, out) = check(&srv, &["--no-probe"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("no OpenVPN process runs this config"),
        "{out}"
    );
}

/// A client that connected after the status file's last write is not in it: with
/// `--clients-critical 1:` the check waits for the server's next write (within its
/// budget), wakes the server and counts again, instead of a false CRITICAL.
#[test]
fn a_count_that_alerts_is_read_again_at_the_next_status_write() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let mut lines = s.pki_lines();
    lines.push("status status.log 8".into());
    lines.push("status-version 2".into());
    let srv = start_plain(&lines);
    let status = srv.dir.path().join("status.log");
    // A first check wakes the server: the file is written (no client yet).
    let (_, out) = check(&srv, &["--no-probe"]);
    let _ = check(&srv, &[]);
    assert!(wait_for_file(&status), "{out}\n{}", srv.log());
    // Once a write is due, the client's first packet gets the file written without it.
    let written = fs::metadata(&status).unwrap().modified().unwrap();
    while written.elapsed().unwrap() < Duration::from_secs(9) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let client = RealClient::connect(&srv, &mut s, "erin");
    assert!(
        srv.wait_for_log("[erin] Peer Connection Initiated", Duration::from_secs(10)),
        "{}\n{}",
        srv.log(),
        client.log()
    );
    let before = fs::read_to_string(&status).unwrap();
    assert!(
        !before.contains("erin"),
        "the status file was rewritten with the client already: {before}"
    );
    let (code, out) = check(
        &srv,
        &[
            "--clients-critical",
            "1:",
            "--timeout",
            "5",
            "--retrycount",
            "3",
        ],
    );
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(first_line(&out).contains(" 1 client"), "{out}");
    assert!(out.contains("read again after"), "{out}");
    assert!(out.contains("clients: erin"), "{out}");
}

/// OpenVPN 2.7 opens a socket for each `local` line, each with its own port and
/// protocol (`local HOST PORT PROTO`): each is probed and named.
#[test]
fn openvpn_2_7_each_local_socket_is_probed() {
    if !multi_client_ready() {
        return;
    }
    let Some(bin) = server_bin("2.7") else {
        return;
    };
    let s = Setup::new();
    let tcp = free_port(Proto::Tcp, Family::V4);
    let mut lines = s.pki_lines();
    lines.push(format!("local 127.0.0.1 {tcp} tcp"));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let srv = Server::start_version(&bin, opts(Wrap::None), &refs);
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    for socket in [
        format!("127.0.0.1:{}/udp", srv.port),
        format!("127.0.0.1:{tcp}/tcp"),
    ] {
        assert!(
            out.contains(&format!(
                "socket {socket}: live server presents the same certificate"
            )),
            "{out}"
        );
    }
}

/// docker-openvpn: the server runs in a container (here: its own mount namespace and
/// root, as a container has), its config and PKI at the container's `/srv/ovpn`, and
/// `ovpn_run` passes `--crl-verify` on the command line. Checked from the host by the
/// host's path of the same file: the process is found, its absolute paths are read
/// through its root, and the expired CRL of its command line is CRITICAL.
#[test]
fn a_containers_server_is_read_through_its_root_with_its_command_line() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let root = tempfile::tempdir().unwrap();
    let srv_dir = root.path().join("srv/ovpn");
    fs::create_dir_all(&srv_dir).unwrap();
    for (from, to) in [
        (&s.ca.crt, "ca.crt"),
        (&s.server.crt, "server.crt"),
        (&s.server.key, "server.key"),
    ] {
        fs::copy(from, srv_dir.join(to)).unwrap();
    }
    let crl = s.pki.crl(&s.ca.clone(), "crl", -30, -1);
    fs::copy(&crl, srv_dir.join("crl.pem")).unwrap();
    let port = free_port(Proto::Udp, Family::V4);
    let config = srv_dir.join("openvpn.conf");
    fs::write(
        &config,
        format!(
            "mode server\ntls-server\ndev tun\ntopology subnet\nifconfig-noexec\nroute-noexec\n\
             server 10.199.7.0 255.255.255.0\nlocal 127.0.0.1\nport {port}\nproto udp\n\
             dh none\nca /srv/ovpn/ca.crt\ncert /srv/ovpn/server.crt\nkey /srv/ovpn/server.key\n\
             verb 3\n"
        ),
    )
    .unwrap();
    let r = root.path().display().to_string();
    let script = format!(
        "set -e; mount --make-rprivate /; \
         for d in usr lib lib64 bin sbin etc dev; do [ -e /$d ] || continue; \
         mkdir -p {r}/$d; mount --rbind /$d {r}/$d; done; \
         mkdir -p {r}/proc {r}/tmp; mount -t proc proc {r}/proc; \
         exec chroot {r} openvpn --config /srv/ovpn/openvpn.conf \
         --crl-verify /srv/ovpn/crl.pem --log /srv/ovpn/server.log"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = common::spawn_tied(cmd).expect("unshare");
    let log = srv_dir.join("server.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Initialization Sequence Completed")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the contained server did not start: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, out, err, _) = run_check(&["--server-config", &config.display().to_string(), "-v"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(err.is_empty(), "{err}");
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("CRL expired 1 day ago"), "{out}");
    assert!(
        out.contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(
        out.contains("runs this config: its command line adds --crl-verify /srv/ovpn/crl.pem"),
        "{out}"
    );
    assert!(!out.contains("cannot read"), "{out}");
}

/// A PiVPN-shaped `tls-crypt-v2-verify`: it allows a client key whose metadata is
/// user-supplied and whose first 22 characters stand, after a name, on a line of its
/// allowlist (`NAME METADATA`); anything else it refuses. The check's own client key,
/// with timestamp metadata, is refused.
struct Allowlist {
    dir: tempfile::TempDir,
    list: PathBuf,
    script: PathBuf,
}

impl Allowlist {
    fn new() -> Allowlist {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("tc-v2-metadata.txt");
        fs::write(&list, "").unwrap();
        let body = format!(
            "[ \"$script_type\" = tls-crypt-v2-verify ] || exit 1\n\
             [ \"$metadata_type\" = 0 ] || {{ echo 'metadata is not user-supplied, refused'; exit 1; }}\n\
             meta=$(head -c 22 \"$metadata_file\") || exit 1\n\
             [ ${{#meta}} -eq 22 ] || exit 1\n\
             grep -q \" $meta\\$\" {}",
            list.display()
        );
        let script = script(dir.path(), "verify.sh", &body);
        Allowlist { dir, list, script }
    }

    /// The server's config lines for the script.
    fn lines(&self) -> Vec<String> {
        vec![
            "script-security 2".into(),
            format!("tls-crypt-v2-verify {}", self.script.display()),
        ]
    }

    /// A client key of `server` with `metadata` (22 characters), on the allowlist as
    /// `name` when `allowed`.
    fn client_key(&self, server: &Server, name: &str, metadata: &str, allowed: bool) -> PathBuf {
        use base64::Engine as _;
        assert_eq!(metadata.len(), 22);
        let path = self.dir.path().join(format!("{name}.key"));
        let out = Command::new(openvpn_bin())
            .arg("--tls-crypt-v2")
            .arg(&server.static_key)
            .args(["--genkey", "tls-crypt-v2-client"])
            .arg(&path)
            .arg(base64::engine::general_purpose::STANDARD.encode(metadata))
            .output()
            .expect("openvpn --genkey tls-crypt-v2-client");
        assert!(out.status.success(), "{out:?}");
        if allowed {
            let mut list = fs::read_to_string(&self.list).unwrap();
            list.push_str(&format!("{name} {metadata}\n"));
            fs::write(&self.list, list).unwrap();
        }
        path
    }
}

/// What a server logs when its tls-crypt-v2-verify script refused a key (2.5 to master).
fn script_refusals(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("VERIFY SCRIPT ERROR")
                || l.contains("--tls-crypt-v2-verify")
                || l.contains("can not extract tls-crypt-v2 client key")
        })
        .collect()
}

/// The server's log a moment after the check, when its last packet has been read.
fn settled_log(server: &Server) -> String {
    std::thread::sleep(Duration::from_millis(500));
    server.log()
}

/// A PiVPN-shaped server: tls-crypt-v2 with a verify script and an allowlist. The check's
/// own key stops at the server's stateless answer to its reset (OpenVPN 2.6 runs the
/// script only on the client's next packet): OK, with no script error in the log. With a
/// client key the script allows, the probe reaches the TLS stage; with one it refuses,
/// not OK; with a key of another server, nothing is sent.
#[test]
fn a_tls_crypt_v2_verify_server_is_probed_to_its_script_without_a_refusal_in_its_log() {
    if !multi_client_ready() {
        return;
    }
    let mut s = Setup::new();
    let allow = Allowlist::new();
    let mut lines = s.pki_lines();
    lines.extend(allow.lines());
    let srv = start(Wrap::TlsCryptV2, &lines);

    // The reference: a real client with a key on the allowlist connects.
    let alice = allow.client_key(&srv, "alice", "AbCdEfGhIjKlMnOpQrStUv", true);
    let alice_arg = alice.display().to_string();
    let client = RealClient::connect_with(&srv, &mut s, "carol", &["--tls-crypt-v2", &alice_arg]);
    assert!(
        srv.wait_for_log("Peer Connection Initiated", Duration::from_secs(15)),
        "{}\n{}",
        srv.log(),
        client.log()
    );
    drop(client);
    assert!(
        srv.log().contains("TLS CRYPT V2 VERIFY SCRIPT OK"),
        "{}",
        srv.log()
    );
    let before = script_refusals(&srv.log()).len();
    assert_eq!(before, 0, "{}", srv.log());

    // No key of the user's: the reset only.
    let (code, out) = check(&srv, &[]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(
        first_line(&out)
            .contains("live server answered, stopped before its tls-crypt-v2-verify script"),
        "{out}"
    );
    assert!(
        out.contains("give --tls-crypt-v2 with a client key"),
        "{out}"
    );
    assert!(
        out.contains("answers a reset before it runs the script"),
        "{out}"
    );
    let log = settled_log(&srv);
    assert!(script_refusals(&log).is_empty(), "{}", log);

    // A key the script allows: the TLS stage, the certificate compared.
    let (code, out) = check(&srv, &["--tls-crypt-v2", &alice_arg]);
    assert_eq!(code, 0, "{out}\n{}", srv.log());
    assert!(
        first_line(&out).contains("live server presents the same certificate"),
        "{out}"
    );
    assert!(
        script_refusals(&settled_log(&srv)).is_empty(),
        "{}",
        srv.log()
    );

    // A key the script refuses (not on the allowlist): the server refuses it, not OK.
    let mallory = allow.client_key(&srv, "mallory", "ZyXwVuTsRqPoNmLkJiHgFe", false);
    let (code, out) = check(&srv, &["--tls-crypt-v2", &mallory.display().to_string()]);
    assert_eq!(code, 2, "{out}\n{}", srv.log());
    assert!(out.contains("tls-crypt-v2-verify script said no"), "{out}");
    assert!(
        !script_refusals(&settled_log(&srv)).is_empty(),
        "{}",
        srv.log()
    );

    // A key of another server: nothing sent, UNKNOWN.
    let other = tempfile::tempdir().unwrap();
    let other_srv = genkey_tls_crypt_v2_server(other.path(), "other.key");
    let stranger = genkey_tls_crypt_v2_client(&other_srv, other.path(), "stranger.key");
    let refusals = script_refusals(&srv.log()).len();
    let (code, out) = check(&srv, &["--tls-crypt-v2", &stranger.display().to_string()]);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out)
            .contains("this client key was not made with the server's tls-crypt-v2 key"),
        "{out}"
    );
    let log = settled_log(&srv);
    assert_eq!(script_refusals(&log).len(), refusals, "{log}");
    assert!(
        !log.contains("Can not unwrap tls-crypt-v2 client key"),
        "{log}"
    );
}

/// Where the server's version is unknown (no management interface, a status file not yet
/// written) or its script runs on the first packet (TCP), the check's own key is not
/// sent: WARNING, naming the fix, and nothing in the server's log. With an allowed key
/// it probes to the TLS stage, over TCP too.
#[test]
fn a_tls_crypt_v2_verify_server_of_unknown_version_or_over_tcp_is_not_sent_the_checks_own_key() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let allow = Allowlist::new();
    let mut lines = s.pki_lines();
    lines.extend(allow.lines());
    lines.push("status status.log 60".into());
    lines.push("status-version 3".into());
    for proto in [Proto::Udp, Proto::Tcp] {
        let mut o = opts(Wrap::TlsCryptV2);
        o.proto = proto;
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let srv = Server::start_with(o, &refs);
        let (code, out) = check(&srv, &[]);
        assert_eq!(code, 1, "{proto:?}: {out}\n{}", srv.log());
        assert!(
            first_line(&out).contains(
                "live server not probed: its tls-crypt-v2-verify script would refuse the check's own client key"
            ),
            "{proto:?}: {out}"
        );
        let why = match proto {
            Proto::Udp => "the server's version is unknown",
            Proto::Tcp => "over TCP OpenVPN runs it on a client's first packet",
        };
        assert!(out.contains(why), "{proto:?}: {out}");
        let log = settled_log(&srv);
        assert!(script_refusals(&log).is_empty(), "{proto:?}: {log}");
        assert!(
            !log.contains("Control Channel: using tls-crypt-v2 key"),
            "{proto:?}: {log}"
        );

        let key = allow.client_key(&srv, "monitor", "MoNiToRiNgKeY012345678", true);
        let (code, out) = check(&srv, &["--tls-crypt-v2", &key.display().to_string()]);
        assert_eq!(code, 0, "{proto:?}: {out}\n{}", srv.log());
        assert!(
            first_line(&out).contains("live server presents the same certificate"),
            "{proto:?}: {out}"
        );
        assert!(
            script_refusals(&settled_log(&srv)).is_empty(),
            "{proto:?}: {}",
            srv.log()
        );
    }
}

/// The other versions: 2.5 runs the script on the first packet (nothing sent, WARNING);
/// 2.7 and master answer the reset first, as 2.6 does (OK). No refusal in any log; an
/// allowed key reaches the TLS stage everywhere.
#[test]
fn tls_crypt_v2_verify_servers_of_other_versions() {
    if !multi_client_ready() {
        return;
    }
    let s = Setup::new();
    let allow = Allowlist::new();
    for label in ["2.5", "2.7", "master"] {
        let Some(bin) = server_bin(label) else {
            continue;
        };
        let mgmt = free_port(Proto::Tcp, Family::V4);
        let mut lines = s.pki_lines();
        lines.extend(allow.lines());
        lines.push(format!("management 127.0.0.1 {mgmt}"));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let srv = Server::start_version(&bin, opts(Wrap::TlsCryptV2), &refs);
        let (code, out) = check(&srv, &[]);
        if bin.version < (2, 6) {
            assert_eq!(code, 1, "{label}: {out}\n{}", srv.log());
            assert!(
                first_line(&out).contains("live server not probed"),
                "{label}: {out}"
            );
            assert!(
                out.contains("runs it on a client's first packet"),
                "{label}: {out}"
            );
        } else {
            assert_eq!(code, 0, "{label}: {out}\n{}", srv.log());
            assert!(
                first_line(&out).contains("stopped before its tls-crypt-v2-verify script"),
                "{label}: {out}"
            );
        }
        assert!(
            script_refusals(&settled_log(&srv)).is_empty(),
            "{label}: {}",
            srv.log()
        );

        let key = allow.client_key(
            &srv,
            &format!("m{}", label.replace('.', "")),
            "VeRsIoNmAtRiXkEy012345",
            true,
        );
        let (code, out) = check(&srv, &["--tls-crypt-v2", &key.display().to_string()]);
        assert_eq!(code, 0, "{label}: {out}\n{}", srv.log());
        assert!(
            first_line(&out).contains("live server presents the same certificate"),
            "{label}: {out}"
        );
        assert!(
            script_refusals(&settled_log(&srv)).is_empty(),
            "{label}: {}",
            srv.log()
        );
    }
}
