//! Hand-written peers for behaviour no real OpenVPN server shows: silence, junk, answers
//! from the wrong port, trickled and oversized TCP frames. Real servers are in probe_real.rs.

mod common;

use common::run_check;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A correct unwrapped server reset answering `client_packet` (an unwrapped client reset).
fn answer_to(client_packet: &[u8]) -> Vec<u8> {
    let mut p = vec![0x40];
    p.extend_from_slice(&[0xa5; 8]);
    p.push(1);
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&client_packet[1..9]);
    p.extend_from_slice(&0u32.to_be_bytes());
    p
}

fn first_line(out: &str) -> &str {
    out.lines().next().unwrap_or("")
}

#[test]
fn silent_udp_server_gets_every_retry_then_critical() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    let seen = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let log = seen.clone();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let t = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            log.lock().unwrap().push(buf[..n].to_vec());
        }
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
    assert!(
        first_line(&out).contains("no answer within")
            && first_line(&out).contains("after 3 attempts"),
        "{out}"
    );
    assert!(first_line(&out).ends_with("| attempts=3;;;1;3"), "{out}");
    assert!(
        wall >= Duration::from_millis(900),
        "gave up early: {wall:?}"
    );
    assert!(wall < Duration::from_millis(900 + 250), "overran: {wall:?}");
    t.join().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "one packet per attempt");
    // Retransmissions of one session.
    assert!(seen.iter().all(|p| p[..9] == seen[0][..9] && p[0] == 0x38));
}

#[test]
fn junk_and_foreign_sessions_are_ignored_until_the_real_answer() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    let t = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let (n, from) = sock.recv_from(&mut buf).unwrap();
        let ours = buf[..n].to_vec();
        let mut foreign = answer_to(&ours);
        foreign[14..22].copy_from_slice(&[0x77; 8]);
        for junk in [
            &[][..],
            &[0x40][..],
            &[0u8; 13][..],
            &[0xff; 1500][..],
            &foreign[..],
        ] {
            sock.send_to(junk, from).unwrap();
        }
        sock.send_to(&answer_to(&ours), from).unwrap();
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-v"]);
    t.join().unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ignored packets: "), "{out}");
    assert!(out.contains("1 for another session"), "{out}");
}

#[test]
fn answer_from_another_port_is_ignored() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    let t = thread::spawn(move || {
        let spoofer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = sock.recv_from(&mut buf).unwrap();
        spoofer.send_to(&answer_to(&buf[..n]), from).unwrap();
    });
    let (code, out, _, _) = run_check(&[
        "127.0.0.1",
        "-p",
        &port,
        "--timeout",
        "0.3",
        "--retrycount",
        "1",
    ]);
    t.join().unwrap();
    assert_eq!(code, 2, "{out}");
}

fn tcp_peer(behaviour: impl FnOnce(std::net::TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            behaviour(stream);
        }
    });
    port.to_string()
}

fn read_frame(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut p = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut p).unwrap();
    p
}

#[test]
fn tcp_answer_in_tiny_pieces_after_a_junk_frame_succeeds() {
    let port = tcp_peer(|mut s| {
        s.set_nodelay(true).unwrap();
        let ours = read_frame(&mut s);
        s.write_all(&[0, 3, 1, 2, 3]).unwrap();
        let answer = answer_to(&ours);
        let mut frame = (answer.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(&answer);
        for b in frame {
            s.write_all(&[b]).unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(200));
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-t"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn tcp_close_and_huge_frames_are_critical() {
    let port = tcp_peer(|mut s| {
        let _ = read_frame(&mut s);
    });
    let (code, out, _, _) = run_check(&["127.0.0.1", "-p", &port, "-t"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("connection closed"), "{out}");

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
fn tcp_stall_ends_at_the_deadline() {
    let port = tcp_peer(|mut s| {
        let _ = read_frame(&mut s);
        s.write_all(&[0, 40]).unwrap();
        thread::sleep(Duration::from_secs(2));
    });
    let (code, out, _, wall) = run_check(&["127.0.0.1", "-p", &port, "-t", "--timeout", "0.5"]);
    assert_eq!(code, 2, "{out}");
    assert!(first_line(&out).contains("no answer within"), "{out}");
    assert!(
        wall >= Duration::from_millis(500) && wall < Duration::from_millis(750),
        "{wall:?}"
    );
}
