//! The probe's source address (`--bind`, the config's `local`) as a real OpenVPN server
//! sees it, and the cases that cannot work.

use crate::common;
use common::*;
use std::time::Duration;

fn p2p(proto: Proto, family: Family) -> Option<Server> {
    if !openvpn_available() {
        return None;
    }
    Some(Server::start(ServerOpts {
        proto,
        family,
        mode: Mode::P2p,
        wrap: Wrap::None,
    }))
}

#[test]
fn udp_and_tcp_from_the_chosen_ipv4_address() {
    for (proto, seen) in [
        (Proto::Udp, "Initial packet from [AF_INET]127.0.0.2:"),
        (
            Proto::Tcp,
            "TCP connection established with [AF_INET]127.0.0.2:",
        ),
    ] {
        let Some(s) = p2p(proto, Family::V4) else {
            return;
        };
        let (code, out, _) = check_server(&s, &["--bind", "127.0.0.2", "-v"]);
        assert_eq!(code, 0, "{proto:?}: {out}\n{}", s.log());
        assert!(out.contains(": sent from 127.0.0.2:"), "{out}");
        assert!(
            s.wait_for_log(seen, Duration::from_secs(5)),
            "{proto:?}: the server did not see 127.0.0.2:\n{}",
            s.log()
        );
    }
}

#[test]
fn ipv6_bind_and_the_receive_buffer_granted() {
    let Some(s) = p2p(Proto::Udp, Family::V6) else {
        return;
    };
    let (code, out, _) = check_server(&s, &["-b", "::1", "-v"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(out.contains(": sent from [::1]:"), "{out}");
    assert!(
        out.contains("UDP receive buffer: asked for 1048576 bytes, the kernel granted "),
        "{out}"
    );
}

#[test]
fn the_configs_local_sets_it_and_the_flag_wins() {
    let Some(s) = p2p(Proto::Udp, Family::V4) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("client.ovpn");
    std::fs::write(
        &cfg,
        format!("client\nremote {} {}\nlocal 127.0.0.3\n", s.addr, s.port),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let (code, out, _, _) = run_check(&["--config", &cfg, "-v"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        s.wait_for_log("[AF_INET]127.0.0.3:", Duration::from_secs(5)),
        "{}",
        s.log()
    );
    drop(s);
    let Some(s) = p2p(Proto::Udp, Family::V4) else {
        return;
    };
    std::fs::write(
        dir.path().join("client.ovpn"),
        format!("client\nremote {} {}\nlocal 127.0.0.3\n", s.addr, s.port),
    )
    .unwrap();
    let (code, out, _, _) = run_check(&["--config", &cfg, "--bind", "127.0.0.4"]);
    assert_eq!(code, 0, "{out}\n{}", s.log());
    assert!(
        s.wait_for_log("[AF_INET]127.0.0.4:", Duration::from_secs(5)),
        "{}",
        s.log()
    );
}

#[test]
fn an_address_this_host_lacks_or_of_the_other_family_is_unknown() {
    // 192.0.2.1 is TEST-NET-1: no host has it; the check must not send a packet.
    let (code, out, _, _) = run_check(&["-H", "127.0.0.1", "-p", "9", "--bind", "192.0.2.1"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        first_line(&out).contains("this host has no such address"),
        "{out}"
    );
    let (code, out, _, _) = run_check(&["-H", "127.0.0.1", "-p", "9", "--bind", "::1"]);
    assert_eq!(code, 3, "{out}");
    assert!(first_line(&out).contains("different families"), "{out}");
    let (code, out, _, _) = run_check(&["-H", "127.0.0.1", "--bind", "not-an-address"]);
    assert_eq!(code, 3, "{out}");
}
