//! tls-crypt, tls-crypt-v2, client configs and --diagnose, against real OpenVPN 2.6 servers.

use crate::common;

use common::{first_line, ran_against, run_check, Family, Mode, Proto, Server, ServerOpts, Wrap};
use std::path::Path;

fn start(proto: Proto, family: Family, mode: Mode, wrap: Wrap) -> Option<Server> {
    // Under CI=true a missing tool or tun device fails here instead of skipping.
    let ready = match mode {
        Mode::MultiClient => common::multi_client_ready(),
        Mode::P2p => common::openvpn_available(),
    };
    if !ready {
        return None;
    }
    Some(Server::start(ServerOpts {
        proto,
        family,
        mode,
        wrap,
    }))
}

fn expect_ok(server: &Server, extra: &[&str], needle: &str) {
    ran_against(server, extra).state(0).line_has(needle);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn tls_crypt_udp_tcp_ipv6() {
    for (proto, family, needle) in [
        (Proto::Udp, Family::V4, "127.0.0.1:"),
        (Proto::Tcp, Family::V4, "/tcp answered"),
        (Proto::Udp, Family::V6, "[::1]:"),
        (Proto::Tcp, Family::V6, "[::1]:"),
    ] {
        let Some(s) = start(proto, family, Mode::P2p, Wrap::TlsCrypt) else {
            return;
        };
        expect_ok(&s, &["--tls-crypt", path(&s.static_key)], needle);
    }
}

#[test]
fn tls_crypt_v2_point_to_point_udp_and_tcp() {
    for proto in [Proto::Udp, Proto::Tcp] {
        let Some(s) = start(proto, Family::V4, Mode::P2p, Wrap::TlsCryptV2) else {
            return;
        };
        let key = s.v2_client_key.clone().unwrap();
        expect_ok(
            &s,
            &["--tls-crypt-v2", path(&key)],
            "(tls-crypt-v2 verified)",
        );
    }
}

#[test]
fn tls_crypt_and_v2_multi_client_udp_and_tcp() {
    for proto in [Proto::Udp, Proto::Tcp] {
        let Some(s) = start(proto, Family::V4, Mode::MultiClient, Wrap::TlsCryptV2) else {
            return;
        };
        let key = s.v2_client_key.clone().unwrap();
        for _ in 0..2 {
            expect_ok(&s, &["--tls-crypt-v2", path(&key)], "tls-crypt-v2 verified");
        }
        let Some(s) = start(proto, Family::V6, Mode::MultiClient, Wrap::TlsCrypt) else {
            return;
        };
        for _ in 0..2 {
            expect_ok(
                &s,
                &["--tls-crypt", path(&s.static_key)],
                "tls-crypt verified",
            );
        }
    }
}

#[test]
fn wrong_keys_get_no_answer_within_the_budget() {
    let Some(s) = start(Proto::Udp, Family::V4, Mode::P2p, Wrap::TlsCrypt) else {
        return;
    };
    let other = common::genkey_static(s.dir.path(), "other.key");
    ran_against(
        &s,
        &[
            "--tls-crypt",
            path(&other),
            "--timeout",
            "0.3",
            "--retrycount",
            "2",
        ],
    )
    .state(2)
    .line_has("no answer within")
    .within(600);
    // The right key used for tls-auth: dropped too.
    ran_against(
        &s,
        &[
            "--tls-auth",
            path(&s.static_key),
            "--timeout",
            "0.3",
            "--retrycount",
            "1",
        ],
    )
    .state(2);

    let Some(s) = start(Proto::Udp, Family::V4, Mode::P2p, Wrap::TlsCryptV2) else {
        return;
    };
    let other_server = common::genkey_tls_crypt_v2_server(s.dir.path(), "other-srv.key");
    let foreign = common::genkey_tls_crypt_v2_client(&other_server, s.dir.path(), "foreign.key");
    ran_against(
        &s,
        &[
            "--tls-crypt-v2",
            path(&foreign),
            "--timeout",
            "0.3",
            "--retrycount",
            "2",
        ],
    )
    .state(2)
    .within(600);

    let Some(s) = start(Proto::Tcp, Family::V4, Mode::P2p, Wrap::TlsCrypt) else {
        return;
    };
    ran_against(&s, &["--tls-crypt", path(&other), "--timeout", "0.5"])
        .state(2)
        .within(500);
}

#[test]
fn v2_server_key_is_refused_with_advice() {
    let Some(s) = start(Proto::Udp, Family::V4, Mode::P2p, Wrap::TlsCryptV2) else {
        return;
    };
    ran_against(&s, &["--tls-crypt-v2", path(&s.static_key)])
        .state(3)
        .line_has("tls-crypt-v2 server key")
        .line_has("--genkey tls-crypt-v2-client");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn key_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn config_with_inline_tls_auth_block() {
    let Some(s) = start(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA256", Some(0)),
    ) else {
        return;
    };
    let cfg = write(
        s.dir.path(),
        "client.ovpn",
        &format!(
            "client\ndev tun\nproto udp\nremote {} {}\nauth SHA256\nkey-direction 1\n\
             <ca>\nnot used\n</ca>\n<tls-auth>\n{}</tls-auth>\n",
            s.addr,
            s.port,
            key_text(&s.static_key)
        ),
    );
    let (code, out, _, _) = run_check(&["--config", &cfg, "-v"]);
    assert_eq!(code, 0, "{out}\n{}", s.diagnostics());
    assert!(
        first_line(&out).contains("tls-auth SHA256 verified"),
        "{out}"
    );
    assert!(out.contains("<tls-auth> block"), "{out}");
}

#[test]
fn config_with_relative_tls_crypt_file_and_tcp() {
    let Some(s) = start(Proto::Tcp, Family::V4, Mode::P2p, Wrap::TlsCrypt) else {
        return;
    };
    let sub = s.dir.path().join("conf");
    std::fs::create_dir(&sub).unwrap();
    std::fs::copy(&s.static_key, sub.join("tc.key")).unwrap();
    let cfg = write(
        &sub,
        "client.conf",
        &format!(
            "client\nremote {} {} tcp-client\ntls-crypt tc.key\nauth SHA512\ncipher AES-256-GCM\n",
            s.addr, s.port
        ),
    );
    // Run from elsewhere: the key path must resolve against the config's folder.
    let (code, out, _, _) = run_check(&["--config", &cfg]);
    assert_eq!(code, 0, "{out}\n{}", s.diagnostics());
    assert!(first_line(&out).contains("/tcp answered"), "{out}");
    assert!(first_line(&out).contains("tls-crypt verified"), "{out}");
}

#[test]
fn config_with_inline_tls_crypt_v2_and_proto_directive() {
    let Some(s) = start(Proto::Tcp, Family::V6, Mode::P2p, Wrap::TlsCryptV2) else {
        return;
    };
    let key = s.v2_client_key.clone().unwrap();
    let cfg = write(
        s.dir.path(),
        "v2.ovpn",
        &format!(
            "remote {} {}\nproto tcp6-client\n<tls-crypt-v2>\n{}</tls-crypt-v2>\n",
            s.addr,
            s.port,
            key_text(&key)
        ),
    );
    let (code, out, _, _) = run_check(&["--config", &cfg]);
    assert_eq!(code, 0, "{out}\n{}", s.diagnostics());
    assert!(first_line(&out).contains("[::1]:"), "{out}");
    assert!(first_line(&out).contains("tls-crypt-v2 verified"), "{out}");
}

#[test]
fn command_line_overrides_the_config() {
    let Some(s) = start(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA1", Some(0)),
    ) else {
        return;
    };
    let closed = common::closed_udp_port();
    let wrong = common::genkey_static(s.dir.path(), "wrong.key");
    // The config points at a closed port, a wrong key and a wrong digest.
    let cfg = write(
        s.dir.path(),
        "stale.ovpn",
        &format!(
            "remote 127.0.0.1 {closed}\nauth SHA512\ntls-auth {} 1\n",
            wrong.display()
        ),
    );
    let port = s.port.to_string();
    let (code, out, _, _) = run_check(&[
        "--config",
        &cfg,
        "-p",
        &port,
        "--tls-auth",
        path(&s.static_key),
        "--digest",
        "SHA1",
    ]);
    assert_eq!(code, 0, "{out}\n{}", s.diagnostics());
    assert!(first_line(&out).contains("tls-auth SHA1 verified"), "{out}");
}

#[test]
fn config_errors_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let both = write(
        dir.path(),
        "both.ovpn",
        "remote h\ntls-auth ta.key 1\ntls-crypt tc.key\n",
    );
    let (code, out, _, _) = run_check(&["--config", &both]);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out).contains("both.ovpn, line 3, 'tls-crypt': both tls-auth and tls-crypt"),
        "{out}"
    );

    let server_side = write(dir.path(), "server.conf", "proto tcp-server\nport 1194\n");
    let (code, out, _, _) = run_check(&["--config", &server_side]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("server's setting"), "{out}");

    let no_remote = write(dir.path(), "empty.ovpn", "client\n");
    let (code, out, _, _) = run_check(&["--config", &no_remote]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("no host given"), "{out}");

    let missing_key = write(
        dir.path(),
        "missing.ovpn",
        "remote h\ntls-crypt nothere.key\n",
    );
    let (code, out, _, _) = run_check(&["--config", &missing_key]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("nothere.key"), "{out}");
}

#[test]
fn diagnose_finds_digest_and_direction() {
    // Server `tls-auth ta.key 1` with SHA512: the client needs direction 0 and SHA512.
    let Some(s) = start(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA512", Some(1)),
    ) else {
        return;
    };
    ran_against(
        &s,
        &[
            "--tls-auth",
            path(&s.static_key),
            "--diagnose",
            "--timeout",
            "1",
        ],
    )
    .state(0)
    .line_has("1 of 50 ways answered: tls-auth SHA512 key-direction 0")
    .out_has("\ntls-auth SHA512 key-direction 0: answered in ")
    .out_has(&format!(
        "use: --tls-auth {} --digest SHA512 --key-direction 0",
        s.static_key.display()
    ))
    .within(1000);
}

#[test]
fn diagnose_recognises_tls_crypt_and_reports_nothing_when_nothing_answers() {
    let Some(s) = start(Proto::Udp, Family::V4, Mode::P2p, Wrap::TlsCrypt) else {
        return;
    };
    let run = ran_against(&s, &["--tls-auth", path(&s.static_key), "--diagnose"])
        .state(0)
        .line_has("ways answered: tls-crypt");
    let out = run.out;
    assert!(
        out.contains(&format!("use: --tls-crypt {}", s.static_key.display())),
        "{out}"
    );

    let Some(s) = start(Proto::Udp, Family::V4, Mode::P2p, Wrap::TlsCrypt) else {
        return;
    };
    let other = common::genkey_static(s.dir.path(), "other.key");
    ran_against(
        &s,
        &[
            "--tls-crypt",
            path(&other),
            "--diagnose",
            "--timeout",
            "0.5",
        ],
    )
    .state(2)
    .line_has("none of 50 ways answered within 500.0 ms")
    .within(500);
}

#[test]
fn diagnose_on_a_multi_client_server_with_a_bidirectional_key() {
    let Some(s) = start(
        Proto::Udp,
        Family::V4,
        Mode::MultiClient,
        Wrap::tls_auth("BLAKE2b512", None),
    ) else {
        return;
    };
    let run = ran_against(&s, &["--tls-auth", path(&s.static_key), "--diagnose"]).state(0);
    let out = run.out;
    assert!(
        out.contains("tls-auth BLAKE2b512 key-direction bidirectional: answered in"),
        "{out}"
    );
    // Direction 0 signs with the right slot too, but the answer then fails our check.
    assert!(
        out.contains("tls-auth BLAKE2b512 key-direction 0: answered our session, but its HMAC did not verify"),
        "{out}"
    );
    assert!(
        out.contains("--digest BLAKE2b512 --key-direction bidirectional"),
        "{out}"
    );
}

#[test]
fn a_key_flag_keeps_the_config_direction() {
    // Server `tls-auth ta.key 1`: the client side is direction 0, which only the config says.
    let Some(s) = start(
        Proto::Udp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA1", Some(1)),
    ) else {
        return;
    };
    let stale = common::genkey_static(s.dir.path(), "stale.key");
    let cfg = write(
        s.dir.path(),
        "dir0.ovpn",
        &format!(
            "remote {} {}\ntls-auth {} 0\n",
            s.addr,
            s.port,
            stale.display()
        ),
    );
    let (code, out, _, _) = run_check(&["--config", &cfg, "--tls-auth", path(&s.static_key), "-v"]);
    assert_eq!(code, 0, "{out}\n{}", s.diagnostics());
    assert!(out.contains("key direction 0"), "{out}");
}
