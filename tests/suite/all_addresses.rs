//! `--all-addresses`: every address of a host probed in parallel, the worst state wins.
//! Name resolution is kept apart, so these tests hand the prober real servers on
//! 127.0.0.1 and ::1 directly.

use crate::common;

use check_openvpn::check::{probe_addresses, Answer, CheckSpec};
use check_openvpn::keys::static_keys::{KeyDirection, StaticKey};
use check_openvpn::net::Proto;
use check_openvpn::report::{render_all, State, Thresholds};
use check_openvpn::wire::{Auth, Wrap, WrapPair};
use common::{Family, Mode, Server, ServerOpts};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn spec(wrap: Wrap) -> CheckSpec {
    CheckSpec {
        host: "vpn.test".into(),
        port: 0,
        proto: Proto::Udp,
        family: None,
        timeout: Duration::from_millis(400),
        attempts: 2,
        wrap,
        notes: vec![],
        validate: true,
        verbosity: 0,
        stage: check_openvpn::proto::Stage::Reset,
        policy: Default::default(),
        login: None,
        ping: None,
        dns: None,
        tcp_connect: None,
        http: None,
        bind: None,
        key_origin: Default::default(),
    }
}

#[test]
fn both_families_up_then_one_down() {
    // Under CI=true a missing tun device fails here instead of skipping.
    if !common::multi_client_ready() {
        eprintln!("SKIPPED: both_families_up_then_one_down needs OpenVPN, root and /dev/net/tun");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key_path = common::genkey_static(dir.path(), "shared.key");
    // Real servers behind one name share their key: the extra line overrides the
    // harness's own tls-auth line.
    let v4 = Server::start_with(
        ServerOpts {
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap: common::Wrap::tls_auth("SHA256", Some(0)),
            ..Default::default()
        },
        &[&format!("tls-auth {} 0", key_path.display())],
    );
    let mut v6 = Server::start_with(
        ServerOpts {
            family: Family::V6,
            mode: Mode::MultiClient,
            wrap: common::Wrap::tls_auth("SHA256", Some(0)),
            ..Default::default()
        },
        &[&format!("tls-auth {} 0", key_path.display())],
    );
    let key = StaticKey::from_file(&key_path).unwrap();
    let wrap = WrapPair::tls_auth(
        &key,
        KeyDirection::One,
        check_openvpn::digest::Digest::Sha256,
        None,
    )
    .unwrap()
    .client;
    let spec = spec(wrap);
    let addrs: Vec<SocketAddr> = vec![v4.socket_addr(), v6.socket_addr()];

    let outcomes = probe_addresses(&spec, &addrs).unwrap();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(o.result, Answer::Answered(Auth::Verified), "{o:?}");
    }
    let r = render_all(&spec.host, &outcomes, &Thresholds::default());
    assert_eq!(r.state, State::Ok, "{}", r.line);
    assert!(r.line.contains("'time_127.0.0.1'="), "{}", r.line);
    assert!(r.line.contains("'time_::1'="), "{}", r.line);

    v6.stop();
    let t0 = Instant::now();
    let outcomes = probe_addresses(&spec, &addrs).unwrap();
    let took = t0.elapsed();
    assert_eq!(outcomes[0].result, Answer::Answered(Auth::Verified));
    assert!(
        matches!(outcomes[1].result, Answer::Failed(_)),
        "{:?}",
        outcomes[1]
    );
    let r = render_all(&spec.host, &outcomes, &Thresholds::default());
    assert_eq!(r.state, State::Critical, "{}", r.line);
    assert!(
        r.line
            .contains("1 of 2 addresses CRITICAL: vpn.test (::1):"),
        "{}",
        r.line
    );
    assert!(
        r.long
            .iter()
            .any(|l| l.starts_with("[OK] vpn.test (127.0.0.1):")),
        "{:?}",
        r.long
    );
    assert!(
        took < spec.budget() + Duration::from_millis(common::WALL_MARGIN_MS),
        "{took:?}"
    );
    drop(v4);
}

#[test]
fn the_binary_takes_the_flag() {
    if !common::openvpn_available() {
        return;
    }
    let s = Server::start(ServerOpts::default());
    let port = s.port.to_string();
    let (code, out, _, _) = common::run_check(&["-H", "127.0.0.1", "-p", &port, "--all-addresses"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("OPENVPN OK - 127.0.0.1: all 1 addresses answered"),
        "{out}"
    );
    assert!(out.contains("'time_127.0.0.1'="), "{out}");
}
