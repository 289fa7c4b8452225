//! Hand-written peers for behaviour no real OpenVPN server shows: silence, junk of every
//! awkward length, foreign sessions, wrong opcodes, spoofed sources, forged HMACs and
//! tags, trickled, oversized, reset and stalled TCP. Real servers are in probe_real.rs.
//! Every case also checks that the wall time stays within the budget plus 250 ms.

mod common;

use check_openvpn::key::{KeyDirection, StaticKey};
use check_openvpn::wire::{self, Replay, TlsAuth, TlsCrypt, Wrap};
use common::{first_line, run_check};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

const SERVER_SID: [u8; 8] = [0xa5; 8];

fn within(wall: Duration, budget_ms: u64) {
    assert!(
        wall <= Duration::from_millis(budget_ms + 250),
        "took {wall:?}, budget {budget_ms} ms"
    );
}

/// A correct unwrapped server reset answering an unwrapped client reset.
fn plain_answer(client_packet: &[u8]) -> Vec<u8> {
    let sid: [u8; 8] = client_packet[1..9].try_into().unwrap();
    [&[0x40u8][..], &SERVER_SID, &wire::server_reset_body(&sid)].concat()
}

/// A static key with known bytes, written in `openvpn --genkey secret` layout.
struct Key {
    _dir: tempfile::TempDir,
    path: PathBuf,
    key: StaticKey,
}

fn key() -> Key {
    let bytes: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let mut text = String::from("-----BEGIN OpenVPN Static key V1-----\n");
    for chunk in bytes.chunks(16) {
        text.push_str(&hex::encode(chunk));
        text.push('\n');
    }
    text.push_str("-----END OpenVPN Static key V1-----\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ta.key");
    std::fs::write(&path, text).unwrap();
    Key {
        _dir: dir,
        path,
        key: StaticKey::from_bytes(bytes),
    }
}

/// The server's side of tls-auth SHA256 with the client on direction 1.
fn server_tls_auth(key: &StaticKey) -> Wrap {
    let (send, recv) = key.directional(KeyDirection::Zero);
    Wrap::TlsAuth(
        TlsAuth::new(
            check_openvpn::digest::Digest::Sha256,
            &send.hmac,
            Some(&recv.hmac),
            None,
        )
        .unwrap(),
    )
}

fn server_tls_crypt(key: &StaticKey) -> Wrap {
    let (send, recv) = key.directional(KeyDirection::Zero);
    Wrap::TlsCrypt(TlsCrypt::new(&send, &recv))
}

/// The client's session id, from a packet wrapped with any mode (it always follows byte 0).
fn client_sid(packet: &[u8]) -> [u8; 8] {
    packet[1..9].try_into().unwrap()
}

fn answer_with(wrap: &Wrap, client_packet: &[u8]) -> Vec<u8> {
    let replay = Replay {
        packet_id: 1,
        net_time: 0x6500_0000,
    };
    wire::build_packet(
        wrap,
        0x40,
        SERVER_SID,
        replay,
        &wire::server_reset_body(&client_sid(client_packet)),
    )
}

/// A UDP peer on 127.0.0.1 that runs `behaviour` once the first probe arrives.
fn udp_peer(behaviour: impl FnOnce(&UdpSocket, &[u8], SocketAddr) + Send + 'static) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = vec![0u8; 65536];
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            behaviour(&sock, &buf[..n], from);
        }
    });
    port
}

#[test]
fn silent_udp_server_gets_every_retry_then_critical() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let t = thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            seen.push(buf[..n].to_vec());
        }
        seen
    });
    let (code, out, _, wall) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--timeout",
        "0.3",
        "--retrycount",
        "3",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("no answer within"), "{out}");
    assert!(first_line(&out).ends_with("| attempts=3;;;1;3"), "{out}");
    assert!(
        wall >= Duration::from_millis(900),
        "gave up early: {wall:?}"
    );
    within(wall, 900);
    let seen = t.join().unwrap();
    assert_eq!(seen.len(), 3, "one packet per attempt");
    // Retransmissions of one session.
    assert!(seen.iter().all(|p| p[..9] == seen[0][..9] && p[0] == 0x38));
}

#[test]
fn junk_of_every_awkward_length_is_ignored() {
    let lengths = [
        0usize, 1, 8, 9, 13, 14, 15, 16, 17, 22, 29, 37, 49, 54, 100, 1500, 65507,
    ];
    let port = udp_peer(move |sock, _, from| {
        for len in lengths {
            let junk: Vec<u8> = (0..len).map(|i| (i * 7 + 0x40) as u8).collect();
            sock.send_to(&junk, from).unwrap();
        }
        // Stay up: a closed port would answer the retry with ICMP port unreachable.
        thread::sleep(Duration::from_secs(1));
    });
    let (code, out, _, wall) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--timeout",
        "0.4",
        "--retrycount",
        "2",
        "-v",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("no answer within"), "{out}");
    assert!(first_line(&out).contains("; ignored "), "{out}");
    within(wall, 800);
}

#[test]
fn foreign_sessions_and_wrong_opcodes_or_key_ids_are_ignored() {
    let port = udp_peer(|sock, ours, from| {
        let good = plain_answer(ours);
        let mut foreign = good.clone();
        foreign[14..22].copy_from_slice(&[0x77; 8]);
        let mut key_id = good.clone();
        key_id[0] = 0x41;
        let mut control = good.clone();
        control[0] = 0x20;
        let mut client_v3 = good.clone();
        client_v3[0] = 0x50;
        for p in [foreign, key_id, control, client_v3] {
            sock.send_to(&p, from).unwrap();
        }
    });
    let (code, out, _, wall) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--timeout",
        "0.4",
        "--retrycount",
        "1",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        first_line(&out).contains("ignored 3 not a server hard reset, 1 for another session"),
        "{out}"
    );
    within(wall, 400);
}

#[test]
fn a_flood_of_junk_ahead_of_the_real_answer_does_not_win() {
    let port = udp_peer(|sock, ours, from| {
        let mut foreign = plain_answer(ours);
        foreign[14] ^= 0xff;
        // 200 small datagrams fit the default receive buffer; more would be dropped by the
        // kernel, the answer with them, which no program can help.
        for i in 0..200 {
            let junk = if i % 3 == 0 {
                foreign.clone()
            } else {
                vec![i as u8; 1 + i % 40]
            };
            let _ = sock.send_to(&junk, from);
        }
        sock.send_to(&plain_answer(ours), from).unwrap();
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-v"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ignored packets: "), "{out}");
}

#[test]
fn answers_from_another_port_or_address_are_ignored() {
    for spoof_from in ["127.0.0.1:0", "127.0.0.2:0"] {
        let port = udp_peer(move |_, ours, from| {
            let spoofer = UdpSocket::bind(spoof_from).unwrap();
            spoofer.send_to(&plain_answer(ours), from).unwrap();
        });
        let (code, out, _, wall) = run_check(&[
            "127.0.0.1",
            "-p",
            &port,
            "--timeout",
            "0.3",
            "--retrycount",
            "1",
        ]);
        assert_eq!(code, 2, "{spoof_from}: {out}");
        within(wall, 300);
    }
}

#[test]
fn a_forged_hmac_is_a_warning_without_retries() {
    let k = key();
    let forger = key_with_other_bytes();
    let port = udp_peer(move |sock, ours, from| {
        sock.send_to(&answer_with(&server_tls_auth(&forger), ours), from)
            .unwrap();
    });
    let (code, out, _, wall) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--tls-auth",
        k.path.to_str().unwrap(),
        "--digest",
        "SHA256",
        "--timeout",
        "0.4",
        "--retrycount",
        "3",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(first_line(&out).contains("HMAC did not verify"), "{out}");
    within(wall, 400);
}

#[test]
fn a_forged_hmac_then_the_real_answer_is_ok() {
    let k = key();
    let real = k.key.clone();
    let forger = key_with_other_bytes();
    let port = udp_peer(move |sock, ours, from| {
        sock.send_to(&answer_with(&server_tls_auth(&forger), ours), from)
            .unwrap();
        sock.send_to(&answer_with(&server_tls_auth(&real), ours), from)
            .unwrap();
    });
    let (code, out, _, _) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--tls-auth",
        k.path.to_str().unwrap(),
        "--digest",
        "SHA256",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        first_line(&out).contains("tls-auth SHA256 verified"),
        "{out}"
    );
}

#[test]
fn a_forged_hmac_then_a_close_over_tcp_is_still_a_warning() {
    let k = key();
    let forger = key_with_other_bytes();
    let port = tcp_peer(move |mut s| {
        let ours = read_frame(&mut s);
        s.write_all(&framed(&answer_with(&server_tls_auth(&forger), &ours)))
            .unwrap();
    });
    let (code, out, _, _) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "--tls-auth",
        k.path.to_str().unwrap(),
        "--digest",
        "SHA256",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(first_line(&out).contains("HMAC did not verify"), "{out}");
}

#[test]
fn a_flood_does_not_grow_the_trace_without_bound() {
    let port = udp_peer(|sock, _, from| {
        for i in 0..150u32 {
            let _ = sock.send_to(&[0x40, i as u8, 1, 2], from);
        }
        thread::sleep(Duration::from_millis(600));
    });
    let (code, out, _, _) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--timeout",
        "0.3",
        "--retrycount",
        "1",
        "-vvv",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("the trace stops after 100"), "{out}");
    assert!(out.lines().count() < 120, "{} lines", out.lines().count());
}

#[test]
fn a_bad_tls_crypt_tag_is_ignored_and_the_real_answer_wins() {
    let k = key();
    let real = k.key.clone();
    let port = udp_peer(move |sock, ours, from| {
        let good = answer_with(&server_tls_crypt(&real), ours);
        for i in [17usize, 30, 48, 49, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 0x80;
            sock.send_to(&bad, from).unwrap();
        }
        sock.send_to(&good, from).unwrap();
    });
    let (code, out, _, _) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--tls-crypt",
        k.path.to_str().unwrap(),
        "-v",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(first_line(&out).contains("tls-crypt verified"), "{out}");
    assert_eq!(ignored_total(&out), 5, "{out}");

    let k = key();
    let forger = key_with_other_bytes();
    let port = udp_peer(move |sock, ours, from| {
        sock.send_to(&answer_with(&server_tls_crypt(&forger), ours), from)
            .unwrap();
    });
    let (code, out, _, wall) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--tls-crypt",
        k.path.to_str().unwrap(),
        "--timeout",
        "0.3",
        "--retrycount",
        "2",
    ]);
    assert_eq!(code, 2, "{out}");
    within(wall, 600);
}

/// Sums the counts of `-v`'s "ignored packets: 3 malformed, 2 for another session".
fn ignored_total(out: &str) -> u32 {
    out.lines()
        .find_map(|l| l.strip_prefix("ignored packets: "))
        .map(|rest| {
            rest.split(", ")
                .filter_map(|part| part.split(' ').next()?.parse::<u32>().ok())
                .sum()
        })
        .unwrap_or(0)
}

fn key_with_other_bytes() -> StaticKey {
    StaticKey::from_bytes([0x5a; 256])
}

fn tcp_peer(behaviour: impl FnOnce(TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            behaviour(stream);
        }
    });
    port.to_string()
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut p = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut p).unwrap();
    p
}

fn framed(p: &[u8]) -> Vec<u8> {
    [&(p.len() as u16).to_be_bytes()[..], p].concat()
}

#[test]
fn tcp_answer_in_tiny_pieces_after_a_junk_frame_succeeds() {
    let port = tcp_peer(|mut s| {
        s.set_nodelay(true).unwrap();
        let ours = read_frame(&mut s);
        s.write_all(&framed(&[1, 2, 3])).unwrap();
        for b in framed(&plain_answer(&ours)) {
            s.write_all(&[b]).unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(200));
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-t"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn tcp_accept_and_close_or_reset_is_critical() {
    let port = tcp_peer(|mut s| {
        let _ = read_frame(&mut s);
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-t"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("connection closed"), "{out}");

    // Closing with unread data in the receive buffer makes Linux send a RST.
    let port = tcp_peer(|s| {
        thread::sleep(Duration::from_millis(100));
        drop(s);
    });
    let (code, out, _, wall) = run_check(&["127.0.0.1", "-p", &port, "-t", "--timeout", "2"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("connection reset"), "{out}");
    within(wall, 2000);
}

#[test]
fn tcp_huge_length_then_stall_is_critical_at_once() {
    let port = tcp_peer(|mut s| {
        let _ = read_frame(&mut s);
        s.write_all(&[0xff, 0xff]).unwrap();
        thread::sleep(Duration::from_secs(3));
    });
    let (code, out, _, wall) = run_check(&["127.0.0.1", "-p", &port, "-t", "--timeout", "2"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("65535-byte frame"), "{out}");
    assert!(wall < Duration::from_secs(1), "{wall:?}");
}

#[test]
fn tcp_trickle_and_stall_end_at_the_deadline() {
    let port = tcp_peer(|mut s| {
        let ours = read_frame(&mut s);
        for b in framed(&plain_answer(&ours)) {
            if s.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(500));
        }
    });
    let (code, out, _, wall) = run_check(&["127.0.0.1", "-p", &port, "-t", "--timeout", "1.2"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("no answer within"), "{out}");
    assert!(wall >= Duration::from_millis(1200), "{wall:?}");
    within(wall, 1200);

    let port = tcp_peer(|mut s| {
        let _ = read_frame(&mut s);
        s.write_all(&framed(b"not an openvpn packet")).unwrap();
        thread::sleep(Duration::from_secs(2));
    });
    let (code, out, _, wall) = run_check(&["127.0.0.1", "-p", &port, "-t", "--timeout", "0.5"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("ignored 1"), "{out}");
    within(wall, 500);
}
