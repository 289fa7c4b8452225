//! `--ping` against real OpenVPN 2.6 multi-client servers whose tun device carries the
//! server's tunnel address, so that its kernel answers the echoes the check sends through
//! the tunnel: UDP and TCP, AES-256-GCM with TLS-EKM keys, and AES-256-CBC with
//! `auth SHA256` (a cipher and digest the client's config gives, not the push). Each server
//! has its own subnet (10.232.N.0/24) and tun device; traffic goes to loopback and to that
//! tunnel address only.

use crate::common;
use check_openvpn::digest::Digest;
use check_openvpn::flags::Cli;
use clap::Parser;
use common::*;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

fn ip_bin() -> String {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("ip")
        .to_string()
}

fn ip(args: &[&str]) -> String {
    let out = std::process::Command::new(ip_bin())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A multi-client server (`dev tun`) whose tun device has the server's address and is up.
struct Tunnel {
    server: Server,
    /// The server's tunnel address (topology subnet: the pushed route-gateway).
    gateway: Ipv4Addr,
}

/// A subnet number no interface of this host uses yet, and a tun device name to match.
fn free_subnet() -> u8 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let used = ip(&["-o", "addr", "show"]);
    for _ in 0..250 {
        let n = (std::process::id() + NEXT.fetch_add(1, Ordering::SeqCst) * 37) % 250 + 1;
        if !used.contains(&format!("10.232.{n}.")) && !used.contains(&format!("ckping{n}")) {
            return n as u8;
        }
    }
    panic!("no free 10.232.N.0/24 subnet");
}

fn tunnel(proto: Proto, extra: &[&str]) -> Option<Tunnel> {
    if !multi_client_ready() {
        return None;
    }
    let n = free_subnet();
    let dev = format!("ckping{n}");
    let mut lines = vec![
        format!("server 10.232.{n}.0 255.255.255.0"),
        // The last `dev` wins: a name of our own, to address it below.
        format!("dev {dev}"),
        "dev-type tun".to_string(),
    ];
    lines.extend(extra.iter().map(|l| l.to_string()));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let server = Server::start_with(
        ServerOpts {
            proto,
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap: Wrap::TlsCrypt,
        },
        &refs,
    );
    // The harness starts servers with ifconfig-noexec: address the device as OpenVPN
    // would have.
    let gateway = Ipv4Addr::new(10, 232, n, 1);
    ip(&["addr", "add", &format!("{gateway}/24"), "dev", &dev]);
    ip(&["link", "set", &dev, "up"]);
    Some(Tunnel { server, gateway })
}

fn cert_args(s: &Server) -> Vec<String> {
    vec![
        "--ca".into(),
        s.ca_cert.display().to_string(),
        "--cert".into(),
        s.client_cert.display().to_string(),
        "--key".into(),
        s.client_key.display().to_string(),
    ]
}

fn ping(t: &Tunnel, extra: &[&str]) -> Ran {
    let mut args = wrap_args(&t.server);
    args.extend(cert_args(&t.server));
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ran_against(&t.server, &refs)
}

#[test]
fn udp_aes_256_gcm_with_ekm_keys() {
    let Some(t) = tunnel(Proto::Udp, &["data-ciphers AES-256-GCM"]) else {
        return;
    };
    let gw = t.gateway.to_string();
    let run = ping(&t, &["--ping", "-v"])
        .state(0)
        .line_has(&format!("3/3 echoes from {gw}, rta "))
        .line_has("pl=0%;;;0;100")
        .line_has("rta=")
        .out_has("data channel: AES-256-GCM, keys from TLS-EKM, peer-id 0 (P_DATA_V2)")
        .out_has(&format!("to {gw} through the tunnel"));
    // A 2.6 server pushes cc-exit: the goodbye goes over the control channel.
    assert!(
        t.server.wait_for_log(
            "CC-EEN exit message received by peer",
            std::time::Duration::from_secs(5)
        ),
        "{}",
        run.context()
    );
    println!("{}", run.out);
}

#[test]
fn tcp_two_echoes_and_thresholds() {
    let Some(t) = tunnel(Proto::Tcp, &[]) else {
        return;
    };
    let gw = t.gateway.to_string();
    ping(
        &t,
        &[
            "--ping-count",
            "2",
            "--ping-warning",
            "1000,50%",
            "--ping-critical",
            "2000,100%",
        ],
    )
    .state(0)
    .line_has(&format!("2/2 echoes from {gw}"))
    .line_has("ms;1000;2000;0; pl=0%;50;100;0;100");
    // A round trip of 0 ms is at or above a limit of 0 ms: CRITICAL by the threshold.
    ping(&t, &["--ping-count", "1", "--ping-critical", "0,100%"])
        .state(2)
        .line_has("1/1 echoes from")
        .line_has("critical limit 0,100%");
}

#[test]
fn an_address_no_pushed_route_covers_is_unknown_before_any_echo() {
    let Some(t) = tunnel(Proto::Udp, &[]) else {
        return;
    };
    ping(&t, &["--ping-address", "192.0.2.1", "-vv"])
        .state(3)
        .line_has("no pushed route or address covers 192.0.2.1")
        .line_has("route-gateway ")
        .line_has("no echo was sent");
}

/// AES-256-CBC with HMAC-SHA256: the digest is never pushed, so it comes from the
/// client's settings (here set on the spec as a client config would set it).
#[test]
fn udp_aes_256_cbc_with_auth_sha256() {
    let Some(t) = tunnel(Proto::Udp, &["data-ciphers AES-256-CBC", "auth SHA256"]) else {
        return;
    };
    let port = t.server.port.to_string();
    let mut args: Vec<String> = vec!["check_openvpn".into(), "-H".into(), t.server.addr.clone()];
    args.extend(["-p".to_string(), port]);
    args.extend(wrap_args(&t.server));
    args.extend(cert_args(&t.server));
    args.extend(["--ping".to_string(), "-v".to_string()]);
    // As for a 2.6 client: `data-ciphers` names the cipher, or the server finds none shared.
    args.extend(["--data-ciphers".to_string(), "AES-256-CBC".to_string()]);
    let mut settings = Cli::try_parse_from(&args).unwrap().into_settings().unwrap();
    let login = settings.spec.login.as_mut().unwrap();
    login.hello.data.auth = Some(Digest::Sha256);
    let outcome = check_openvpn::check::run(&settings.spec).unwrap();
    let report = check_openvpn::report::render(&outcome, &settings.thresholds);
    let text = report.text();
    assert_eq!(report.state.code(), 0, "{text}\n{}", t.server.diagnostics());
    assert!(
        report
            .line
            .contains(&format!("3/3 echoes from {}", t.gateway)),
        "{text}"
    );
    assert!(
        text.contains("data channel: AES-256-CBC, keys from TLS-EKM"),
        "{text}"
    );
    // With the default SHA1 the server drops every packet: no data comes back.
    let mut settings = Cli::try_parse_from(&args).unwrap().into_settings().unwrap();
    settings.spec.timeout = std::time::Duration::from_millis(1500);
    settings.spec.attempts = 1;
    let outcome = check_openvpn::check::run(&settings.spec).unwrap();
    let report = check_openvpn::report::render(&outcome, &settings.thresholds);
    assert_eq!(report.state.code(), 2, "{}", report.text());
    assert!(
        report.line.contains("no data came back"),
        "{}",
        report.text()
    );
}

#[test]
fn bad_ping_values_are_usage_errors() {
    for args in [
        &["-H", "127.0.0.1", "--ping-count", "0"][..],
        &["-H", "127.0.0.1", "--ping-count", "21"],
        &["-H", "127.0.0.1", "--ping-warning", "100"],
        &["-H", "127.0.0.1", "--ping-critical", "x,20%"],
        &["-H", "127.0.0.1", "--ping-warning", "100,200%"],
    ] {
        let r = ran(args);
        assert_eq!(r.code, 3, "{}", r.context());
        assert!(
            r.line().starts_with("OPENVPN UNKNOWN - "),
            "{}",
            r.context()
        );
    }
}
