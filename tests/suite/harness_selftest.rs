//! Self-test of the OpenVPN test harness in tests/common: every Mode x Proto x Family
//! starts, with no wrapping and with tls-auth, and really handles a hand-made hard reset.

use crate::common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// P_CONTROL_HARD_RESET_CLIENT_V2, unwrapped: opcode 7 key 0, session id, no acks,
/// message packet id 0, no payload.
fn plain_reset() -> ([u8; 8], Vec<u8>) {
    // Unique enough for a test: time, pid and a counter.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let sid = (t ^ (u64::from(std::process::id()) << 32))
        .wrapping_add(N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        .to_be_bytes();
    let mut p = vec![0x38];
    p.extend_from_slice(&sid);
    p.push(0); // ack count
    p.extend_from_slice(&0u32.to_be_bytes()); // message packet id
    (sid, p)
}

/// Sends the plain reset; returns the first packet of the answer, or None if none came
/// within `wait`.
fn probe(srv: &Server, wait: Duration) -> ([u8; 8], Option<Vec<u8>>) {
    let (sid, pkt) = plain_reset();
    let answer = match srv.opts.proto {
        Proto::Udp => {
            let local = if srv.opts.family == Family::V4 {
                "127.0.0.1:0"
            } else {
                "[::1]:0"
            };
            let s = UdpSocket::bind(local).unwrap();
            s.set_read_timeout(Some(wait)).unwrap();
            s.send_to(&pkt, srv.socket_addr()).unwrap();
            let mut buf = [0u8; 2048];
            match s.recv_from(&mut buf) {
                Ok((n, _)) => Some(buf[..n].to_vec()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
                Err(e) => panic!("recv: {e}"),
            }
        }
        Proto::Tcp => {
            let mut s = TcpStream::connect_timeout(&srv.socket_addr(), wait).unwrap();
            s.set_read_timeout(Some(wait)).unwrap();
            let mut framed = (pkt.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&pkt);
            s.write_all(&framed).unwrap();
            let mut len = [0u8; 2];
            match s.read_exact(&mut len) {
                Ok(()) => {
                    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
                    s.read_exact(&mut body).unwrap();
                    Some(body)
                }
                // Timeout, or the server closed the connection on us.
                Err(_) => None,
            }
        }
    };
    (sid, answer)
}

fn combos() -> Vec<(Proto, Family)> {
    let mut v = Vec::new();
    for proto in [Proto::Udp, Proto::Tcp] {
        for family in [Family::V4, Family::V6] {
            v.push((proto, family));
        }
    }
    v
}

fn check_plain(mode: Mode) {
    for (proto, family) in combos() {
        let t0 = Instant::now();
        let srv = Server::start(ServerOpts {
            proto,
            family,
            mode,
            wrap: Wrap::None,
        });
        eprintln!(
            "{mode:?} {proto:?} {family:?} none: ready in {:?} (openvpn {:?}) port {}",
            t0.elapsed(),
            srv.startup,
            srv.port
        );
        let (sid, answer) = probe(&srv, Duration::from_secs(5));
        let a = answer.unwrap_or_else(|| panic!("no answer\n{}", srv.diagnostics()));
        assert_eq!(
            a[0],
            0x40,
            "not a HARD_RESET_SERVER_V2: {a:02x?}\n{}",
            srv.log()
        );
        // server sid[8] | ack count 1 | ack id 0 | remote sid == ours | msg id 0
        assert!(a.len() >= 1 + 8 + 1 + 4 + 8 + 4, "short answer {a:02x?}");
        assert_eq!(a[9], 1, "ack count");
        assert_eq!(&a[10..14], &[0, 0, 0, 0], "acked packet id");
        assert_eq!(&a[14..22], &sid, "remote session id");
        assert_eq!(&a[22..26], &[0, 0, 0, 0], "message packet id");
    }
}

fn check_tls_auth(mode: Mode) {
    for (proto, family) in combos() {
        let t0 = Instant::now();
        let wrap = Wrap::tls_auth("SHA256", Some(0));
        let srv = Server::start(ServerOpts {
            proto,
            family,
            mode,
            wrap,
        });
        eprintln!(
            "{mode:?} {proto:?} {family:?} tls-auth: ready in {:?} (openvpn {:?}) port {}",
            t0.elapsed(),
            srv.startup,
            srv.port
        );
        // The server's own word that it signs its control channel with SHA256.
        assert!(
            srv.log().contains(
                "Outgoing Control Channel Authentication: Using 256 bit message hash 'SHA256'"
            ),
            "{}",
            srv.log()
        );
        assert!(srv.static_key.is_file());
        // An unwrapped reset must be rejected, and the log proves the server got it.
        let (_, answer) = probe(&srv, Duration::from_millis(300));
        assert!(
            srv.wait_for_log(
                "cannot locate HMAC in incoming packet",
                Duration::from_secs(5)
            ),
            "server did not see the probe\n{}",
            srv.diagnostics()
        );
        assert_eq!(answer, None, "tls-auth server answered an unwrapped reset");
    }
}

#[test]
fn p2p_plain() {
    if !openvpn_available() {
        return;
    }
    check_plain(Mode::P2p);
}

#[test]
fn p2p_tls_auth() {
    if !openvpn_available() {
        return;
    }
    check_tls_auth(Mode::P2p);
}

#[test]
fn multi_plain() {
    // Under CI=true a missing tun device fails here instead of skipping.
    if !multi_client_ready() {
        eprintln!("SKIPPED: MultiClient needs OpenVPN, root and /dev/net/tun");
        return;
    }
    check_plain(Mode::MultiClient);
}

#[test]
fn multi_tls_auth() {
    // Under CI=true a missing tun device fails here instead of skipping.
    if !multi_client_ready() {
        eprintln!("SKIPPED: MultiClient needs OpenVPN, root and /dev/net/tun");
        return;
    }
    check_tls_auth(Mode::MultiClient);
}

#[test]
fn other_wraps_start() {
    if !openvpn_available() {
        return;
    }
    let srv = Server::start(ServerOpts {
        wrap: Wrap::TlsCrypt,
        ..Default::default()
    });
    assert!(srv
        .log()
        .contains("Control Channel Encryption: Cipher 'AES-256-CTR'"));
    let srv = Server::start(ServerOpts {
        proto: Proto::Tcp,
        family: Family::V6,
        wrap: Wrap::TlsCryptV2,
        ..Default::default()
    });
    let cli = srv.v2_client_key.as_ref().expect("v2 client key");
    let text = std::fs::read_to_string(cli).unwrap();
    assert!(
        text.contains("-----BEGIN OpenVPN tls-crypt-v2 client key-----"),
        "{text}"
    );
    assert!(srv.log().contains("tls-crypt-v2 server key"));
    let srv = Server::start(ServerOpts {
        wrap: Wrap::tls_auth("SHA1", None),
        ..Default::default()
    });
    assert!(
        srv.log()
            .contains("Incoming Control Channel Authentication: Using 160 bit message hash 'SHA1'"),
        "{}",
        srv.log()
    );
}

#[test]
fn closed_port_refuses() {
    let port = closed_udp_port();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // The kernel's global ICMP rate limit (a burst of 50, 1000 a second, shared with every
    // test that just hit a closed port) may swallow one port unreachable: send again, a
    // few times, until one arrives. Nothing may ever answer.
    let mut err = None;
    for _ in 0..5 {
        s.send(&plain_reset().1).unwrap();
        let e = s.recv(&mut [0u8; 64]).unwrap_err();
        let refused = e.kind() == ErrorKind::ConnectionRefused;
        err = Some(e);
        if refused {
            break;
        }
    }
    let err = err.expect("at least one send");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_ne!(free_port(Proto::Udp, Family::V4), port);
}

#[test]
fn check_bin_runs() {
    assert!(check_bin().is_file(), "{}", check_bin().display());
    let (code, out, _err, elapsed) = run_check(&["--help"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Usage: check_openvpn"), "{out}");
    assert!(elapsed < Duration::from_secs(10));
}
