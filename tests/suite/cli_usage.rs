//! Usage and configuration errors: always exit 3 with one `OPENVPN UNKNOWN` line that says
//! what to fix; never a panic, never clap's exit code 2.

use crate::common;

use common::run_check;
use std::io::Write;

fn unknown(args: &[&str], needle: &str) {
    let (code, out, err, _) = run_check(args);
    assert_eq!(code, 3, "{args:?}: {out}{err}");
    let line = out.lines().next().unwrap_or("");
    assert!(line.starts_with("OPENVPN UNKNOWN - "), "{args:?}: {line}");
    let head = line.split(" | ").next().unwrap_or_default();
    assert!(head.chars().count() <= 300, "{args:?}: {line}");
    assert!(line.contains(needle), "{args:?}: {line} lacks {needle:?}");
    assert!(!out.contains("panicked"), "{out}");
}

/// A usage error whose status line names both flags `a` and `b`.
fn unknown_both(args: &[&str], a: &str, b: &str) {
    unknown(args, a);
    unknown(args, b);
}

#[test]
fn usage_errors_exit_3() {
    unknown(&[], "no host given");
    unknown(&["a", "-H", "b"], "two different hosts");
    unknown(&["--bogus", "h"], "unexpected argument '--bogus'");
    unknown(&["h", "-p", "0"], "--port");
    unknown(&["h", "-p", "70000"], "--port");
    unknown(&["h", "-p", "x"], "--port");
    unknown(&["h", "--timeout", "0"], "--timeout '0'");
    unknown(&["h", "--timeout", "-2"], "--timeout '-2'");
    unknown(&["h", "--timeout", "soon"], "--timeout 'soon'");
    unknown(
        &["h", "--retrycount", "0"],
        "--retrycount must be at least 1",
    );
    // Below a millisecond the retries would become a flood.
    unknown(&["h", "--timeout", "1e-10"], "from 0.001 to 3600");
    unknown(
        &["h", "--tls-auth", "/dev/zero"],
        "/dev/zero: not a regular file",
    );
    unknown(
        &["h", "--digest", "whirlpool"],
        "unknown digest 'whirlpool'",
    );
    unknown(&["h", "-4", "-6"], "cannot be used with");
    unknown(&["h", "-w", "5:1"], "--warning: invalid range '5:1'");
    unknown(&["h", "-c", "abc"], "--critical: invalid range 'abc'");
    unknown(
        &["h", "--key-direction", "1"],
        "--key-direction needs a tls-auth key",
    );
    unknown(
        &["h", "--digest-key-server", "00"],
        "--digest-key-server needs --digest-key-client",
    );
    unknown(
        &["h", "--digest-key-client", "xyz"],
        "--digest-key-client is not a hex string",
    );
    unknown(
        &["h", "--tls-auth", "/nonexistent/ta.key"],
        "cannot read key file /nonexistent/ta.key",
    );
    unknown_both(
        &["h", "--tls-auth", "k", "--digest-key-client", "00"],
        "--tls-auth",
        "--digest-key-client",
    );
    unknown(
        &["h", "--digest-key-client", "00", "--digest-size", "99"],
        "--digest-size",
    );
    unknown_both(
        &["h", "--tls-auth", "k", "--tls-crypt", "k"],
        "--tls-auth",
        "--tls-crypt",
    );
    unknown_both(
        &[
            "h",
            "--tls-crypt",
            "/nonexistent/tc.key",
            "--tls-crypt-v2",
            "v2.key",
        ],
        "--tls-crypt",
        "--tls-crypt-v2",
    );
    unknown_both(
        &["h", "--tls-crypt", "k", "--digest-key-server", "00"],
        "--tls-crypt",
        "--digest-key-server",
    );
    // A flag given without one it needs names both on the status line.
    unknown(&["h", "--cert", "c.crt"], "--cert needs --key");
    unknown(&["h", "--key", "c.key"], "--key needs --cert");
    unknown(
        &["h", "--dns-server", "10.8.0.1"],
        "--dns-server needs one of --dns, --http",
    );
    unknown(
        &["h", "--totp-secret", "s", "--tls"],
        "--totp-secret needs one of --login",
    );
    unknown(
        &["h", "--wait-for-close", "--tcp"],
        "--wait-for-close needs one of --login",
    );
    unknown(
        &["h", "--diagnose", "--no-validation"],
        "cannot be used with",
    );
    unknown(
        &["--config", "/nonexistent/client.ovpn"],
        "cannot read config /nonexistent/client.ovpn",
    );
    unknown(&["127.0.0.1", "-6"], "has no IPv6 address");
    unknown(&["::1", "-4"], "has no IPv4 address");
    unknown(
        &["nonexistent.invalid"],
        "cannot resolve 'nonexistent.invalid'",
    );
}

#[test]
fn malformed_key_files_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p.to_str().unwrap().to_string()
    };
    let not_a_key = write("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    unknown(
        &["h", "--tls-auth", &not_a_key],
        "cert.pem: no '-----BEGIN OpenVPN Static key V1-----'",
    );

    let mut short = String::from("-----BEGIN OpenVPN Static key V1-----\n");
    for _ in 0..15 {
        short.push_str(&"ab".repeat(16));
        short.push('\n');
    }
    short.push_str("-----END OpenVPN Static key V1-----\n");
    let short = write("short.key", &short);
    unknown(&["h", "--tls-auth", &short], "key holds 240 bytes");

    let bad = write(
        "bad.key",
        "-----BEGIN OpenVPN Static key V1-----\nzz\n-----END OpenVPN Static key V1-----\n",
    );
    unknown(&["h", "--tls-auth", &bad], "line 2: expected hex digits");
}

#[test]
fn help_and_version_exit_0() {
    let (code, out, _, _) = run_check(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--hostname",
        "--port",
        "--tcp",
        "--timeout",
        "--retrycount",
        "--digest",
        "--digest-size",
        "--digest-key-client",
        "--digest-key-server",
        "--tls-auth",
        "--tls-auth-inverse",
        "--key-direction",
        "--no-validation",
        "--warning",
        "--critical",
        "--verbose",
        "--version",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}");
    }
    // The first line says what the check does, every stage of it.
    let about = out.lines().next().unwrap_or_default();
    for stage in ["hard reset", "TLS handshake", "login", "server host"] {
        assert!(about.contains(stage), "first line lacks {stage:?}: {about}");
    }
    // Flags grouped by what they are for, in the order a check goes deeper; each heading
    // holds its own flags.
    let mut at = 0;
    for (heading, flag) in [
        ("\nTarget and transport:\n", "--hostname"),
        ("\nKeys and wraps:\n", "--tls-crypt-v2"),
        (
            "\nTLS stage (--tls, or any of these):\n",
            "--verify-x509-name",
        ),
        (
            "\nLogin stage (--login, or any of these):\n",
            "--auth-user-pass",
        ),
        ("\nServer host (--server-config):\n", "--clients-warning"),
        ("\nThresholds:\n", "--certificate"),
        ("\nOutput:\n", "--verbose"),
    ] {
        let start = at
            + out[at..]
                .find(heading)
                .unwrap_or_else(|| panic!("no {heading:?} after byte {at}:\n{out}"));
        let end = out[start + 1..]
            .find("\n\n")
            .map_or(out.len(), |e| start + 1 + e);
        assert!(
            out[start..end].contains(flag),
            "{flag} is not under {heading:?}:\n{out}"
        );
        at = end;
    }
    let (code, out, _, _) = run_check(&["-V"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("check_openvpn "), "{out}");
}
