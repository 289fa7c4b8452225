//! The built binary against real OpenVPN 2.6 servers on loopback.

use crate::common;

use common::{first_line, ran, ran_against, Family, Mode, Proto, Server, ServerOpts, Wrap};

fn expect_ok(server: &Server, extra: &[&str], needle: &str) {
    ran_against(server, extra)
        .state(0)
        .line_has(needle)
        .line_has("| time=")
        .line_has(" attempts=1;");
}

fn server(proto: Proto, family: Family, mode: Mode, wrap: Wrap) -> Option<Server> {
    if !common::openvpn_available() {
        return None;
    }
    Some(Server::start(ServerOpts {
        proto,
        family,
        mode,
        wrap,
    }))
}

/// The usual case: a point-to-point server on 127.0.0.1 over UDP.
fn p2p(wrap: Wrap) -> Option<Server> {
    server(Proto::Udp, Family::V4, Mode::P2p, wrap)
}

fn key(server: &Server) -> &str {
    server.static_key.to_str().expect("utf-8 path")
}

#[test]
fn no_wrap_udp_ipv4() {
    let Some(s) = p2p(Wrap::None) else {
        return;
    };
    expect_ok(&s, &[], "127.0.0.1:");
    // A point-to-point server serves one peer: a second probe is answered only by a bare
    // P_ACK_V1, which must not pass for the server's reset.
    ran_against(&s, &["--timeout", "0.3", "--retrycount", "1", "-v"])
        .state(2)
        .line_has("no answer")
        .line_has("ignored 1 not a server hard reset");
}

#[test]
fn no_wrap_udp_ipv6() {
    let Some(s) = server(Proto::Udp, Family::V6, Mode::P2p, Wrap::None) else {
        return;
    };
    expect_ok(&s, &[], "[::1]:");
}

#[test]
fn no_wrap_tcp_ipv4() {
    let Some(s) = server(Proto::Tcp, Family::V4, Mode::P2p, Wrap::None) else {
        return;
    };
    expect_ok(&s, &[], "/tcp answered");
}

#[test]
fn no_wrap_tcp_ipv6() {
    let Some(s) = server(Proto::Tcp, Family::V6, Mode::P2p, Wrap::None) else {
        return;
    };
    expect_ok(&s, &["-6"], "[::1]:");
}

macro_rules! digest_tests {
    ($($name:ident => $digest:literal,)*) => {$(
        #[test]
        fn $name() {
            let Some(s) = p2p(Wrap::tls_auth($digest, Some(0)))
            else {
                return;
            };
            expect_ok(
                &s,
                &["--tls-auth", key(&s), "--digest", $digest],
                &format!("(tls-auth {} verified)", $digest),
            );
        }
    )*};
}

digest_tests! {
    tls_auth_md5 => "MD5",
    tls_auth_sha1 => "SHA1",
    tls_auth_sha224 => "SHA224",
    tls_auth_sha256 => "SHA256",
    tls_auth_sha384 => "SHA384",
    tls_auth_sha512 => "SHA512",
    tls_auth_sha512_224 => "SHA512-224",
    tls_auth_sha512_256 => "SHA512-256",
    tls_auth_sha3_224 => "SHA3-224",
    tls_auth_sha3_256 => "SHA3-256",
    tls_auth_sha3_384 => "SHA3-384",
    tls_auth_sha3_512 => "SHA3-512",
    tls_auth_ripemd160 => "RIPEMD160",
    tls_auth_blake2s256 => "BLAKE2s256",
    tls_auth_blake2b512 => "BLAKE2b512",
    tls_auth_sm3 => "SM3",
}

#[test]
fn python_script_digest_spelling_and_default_sha1() {
    let Some(s) = p2p(Wrap::tls_auth("SHA1", Some(0))) else {
        return;
    };
    // No --digest: SHA1, as in the Python script.
    expect_ok(&s, &["--tls-auth", key(&s)], "tls-auth SHA1 verified");
    let Some(s) = p2p(Wrap::tls_auth("SHA3-256", Some(0))) else {
        return;
    };
    expect_ok(
        &s,
        &["--tls-auth", key(&s), "--digest", "sha3_256"],
        "tls-auth SHA3-256 verified",
    );
}

#[test]
fn key_direction_zero_via_flag_and_inverse() {
    // Server `tls-auth ta.key 1` wants the client on direction 0.
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(1))) else {
        return;
    };
    expect_ok(
        &s,
        &[
            "--tls-auth",
            key(&s),
            "--digest",
            "SHA256",
            "--key-direction",
            "0",
        ],
        "verified",
    );
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(1))) else {
        return;
    };
    expect_ok(
        &s,
        &[
            "--tls-auth",
            key(&s),
            "--digest",
            "SHA256",
            "--tls-auth-inverse",
        ],
        "verified",
    );
}

#[test]
fn key_direction_bidirectional() {
    let Some(s) = p2p(Wrap::tls_auth("SHA512", None)) else {
        return;
    };
    expect_ok(
        &s,
        &[
            "--tls-auth",
            key(&s),
            "--digest",
            "SHA512",
            "--key-direction",
            "bidirectional",
        ],
        "verified",
    );
}

#[test]
fn wrong_key_direction_gets_no_answer() {
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    ran_against(
        &s,
        &[
            "--tls-auth",
            key(&s),
            "--digest",
            "SHA256",
            "--key-direction",
            "0",
            "--timeout",
            "0.4",
            "--retrycount",
            "2",
        ],
    )
    .state(2)
    .line_has("no answer within")
    .within(800);
    assert!(
        s.log().contains("HMAC"),
        "server should have dropped it for its HMAC"
    );
}

#[test]
fn wrong_key_file_gets_no_answer() {
    let Some(s) = p2p(Wrap::tls_auth("SHA1", Some(0))) else {
        return;
    };
    let other = common::genkey_static(s.dir.path(), "other.key");
    ran_against(
        &s,
        &[
            "--tls-auth",
            other.to_str().unwrap(),
            "--timeout",
            "0.3",
            "--retrycount",
            "3",
        ],
    )
    .state(2)
    .line_has("after 3 attempts")
    .within(900);
}

#[test]
fn wrong_digest_gets_no_answer() {
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    ran_against(
        &s,
        &[
            "--tls-auth",
            key(&s),
            "--digest",
            "SHA1",
            "--timeout",
            "0.3",
            "--retrycount",
            "1",
        ],
    )
    .state(2);
}

#[test]
fn tls_auth_over_tcp_and_ipv6() {
    let Some(s) = server(
        Proto::Tcp,
        Family::V4,
        Mode::P2p,
        Wrap::tls_auth("SHA256", Some(0)),
    ) else {
        return;
    };
    expect_ok(
        &s,
        &["--tls-auth", key(&s), "--digest", "SHA256"],
        "/tcp answered",
    );
    let Some(s) = server(
        Proto::Udp,
        Family::V6,
        Mode::P2p,
        Wrap::tls_auth("SHA384", Some(0)),
    ) else {
        return;
    };
    expect_ok(&s, &["--tls-auth", key(&s), "--digest", "SHA384"], "[::1]:");
    let Some(s) = server(
        Proto::Tcp,
        Family::V6,
        Mode::P2p,
        Wrap::tls_auth("SHA1", Some(0)),
    ) else {
        return;
    };
    expect_ok(&s, &["--tls-auth", key(&s)], "[::1]:");
}

/// The HMAC slots of a static key file, read here independently of the plugin's parser.
fn slots_hex(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let hex: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    assert_eq!(hex.len(), 512);
    (0..4)
        .map(|i| hex[i * 128..(i + 1) * 128].to_string())
        .collect()
}

#[test]
fn hex_keys_like_the_python_script() {
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    let slots = slots_hex(&s.static_key);
    // Client sends with hmac1 (slot 3), server with hmac0 (slot 1).
    expect_ok(
        &s,
        &[
            "--digest",
            "sha256",
            "--digest-key-client",
            &slots[3],
            "--digest-key-server",
            &slots[1],
        ],
        "tls-auth SHA256 verified",
    );
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    let slots = slots_hex(&s.static_key);
    expect_ok(
        &s,
        &["--digest", "sha256", "--digest-key-client", &slots[3]],
        "server HMAC not checked",
    );
}

#[test]
fn wrong_server_key_is_a_warning() {
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    let slots = slots_hex(&s.static_key);
    ran_against(
        &s,
        &[
            "--digest",
            "SHA256",
            "--digest-key-client",
            &slots[3],
            "--digest-key-server",
            &slots[3],
            "--timeout",
            "0.5",
        ],
    )
    .state(1)
    .line_has("did not verify")
    // It waits out the attempt for a better answer but does not retry.
    .within(500);
}

#[test]
fn no_validation_accepts_the_first_answer() {
    let Some(s) = p2p(Wrap::None) else {
        return;
    };
    expect_ok(&s, &["--no-validation"], "responded in");
}

#[test]
fn thresholds_on_a_real_answer() {
    let Some(s) = p2p(Wrap::None) else {
        return;
    };
    // `~:0` alerts for any time above zero.
    ran_against(&s, &["-w", "~:0", "-c", "10"])
        .state(1)
        .line_has("outside warning range ~:0")
        .line_has("time=")
        .line_has(";~:0;10;0;");

    let Some(s) = p2p(Wrap::None) else {
        return;
    };
    let run = ran_against(&s, &["-w", "5", "-c", "@0:5"]).state(2);
    let out = run.out;
    assert!(first_line(&out).starts_with("OPENVPN CRITICAL"), "{out}");
}

#[test]
fn closed_ports_are_critical_at_once() {
    // No server needed: nothing listens on these ports.
    let udp = common::closed_udp_port().to_string();
    ran(&[
        "127.0.0.1",
        "-p",
        &udp,
        "--timeout",
        "20",
        "--retrycount",
        "1",
    ])
    .state(2)
    .line_has("connection refused")
    .before_deadline(20_000);

    let tcp = common::closed_tcp_port().to_string();
    ran(&["::1", "-p", &tcp, "-t", "--timeout", "20"])
        .state(2)
        .line_has("/tcp: connection refused")
        .before_deadline(20_000);
}

#[test]
fn verbose_output_never_shows_key_bytes() {
    let Some(s) = p2p(Wrap::tls_auth("SHA256", Some(0))) else {
        return;
    };
    let run = ran_against(&s, &["--tls-auth", key(&s), "--digest", "SHA256", "-vvv"]).state(0);
    let out = run.out;
    assert!(out.contains("  > 38"), "hex of our packet expected:\n{out}");
    assert!(out.contains("  < 40"), "hex of the answer expected:\n{out}");
    let all: String = slots_hex(&s.static_key).concat();
    for i in (0..all.len() - 16).step_by(8) {
        assert!(!out.contains(&all[i..i + 16]), "key bytes leaked:\n{out}");
    }
}

#[test]
fn multi_client_server_answers_every_check() {
    if !common::multi_client_ready() {
        return;
    }
    for proto in [Proto::Udp, Proto::Tcp] {
        let s = Server::start(ServerOpts {
            proto,
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
        });
        for _ in 0..3 {
            expect_ok(
                &s,
                &["--tls-auth", key(&s), "--digest", "SHA256"],
                "verified",
            );
        }
    }
    let s = Server::start(ServerOpts {
        proto: Proto::Udp,
        family: Family::V6,
        mode: Mode::MultiClient,
        wrap: Wrap::None,
    });
    for _ in 0..3 {
        expect_ok(&s, &[], "[::1]:");
    }
}

/// A server with a bidirectional key accepts a probe that signs with slot 0 but answers
/// with slot 0 too, which a key direction 0 probe does not expect: the advice is about
/// the key direction of the key file, not about hex keys the user never gave.
#[test]
fn bad_hmac_with_a_key_file_advises_the_key_direction() {
    if !common::openvpn_available() {
        return;
    }
    let s = Server::start(ServerOpts {
        wrap: Wrap::tls_auth("SHA256", None),
        ..Default::default()
    });
    let key = s.static_key.display().to_string();
    let (code, out, _) = common::check_server(
        &s,
        &[
            "--tls-auth",
            &key,
            "--digest",
            "SHA256",
            "--key-direction",
            "0",
            "--timeout",
            "0.5",
            "--retrycount",
            "1",
        ],
    );
    assert_eq!(code, 1, "{out}\n{}", s.log());
    let line = first_line(&out);
    assert!(line.contains("HMAC did not verify"), "{line}");
    assert!(
        line.contains("check the key direction (--key-direction"),
        "{line}"
    );
    assert!(!line.contains("--digest-key-server"), "{line}");
}
