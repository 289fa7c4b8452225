//! The stages as states: what a transition leaves behind, without a server.

use super::*;
use crate::proto::random::{Randomness, Seeded};
use std::net::{IpAddr, Ipv4Addr};

const THEIRS: SessionId = [0xa5; 8];

fn session(stage: Stage, now: Instant) -> Session {
    let cfg = SessionConfig {
        wrap: Wrap::None,
        stage,
        validate: true,
        stream: false,
        attempt_timeout: Duration::from_secs(5),
        attempts: 3,
        server_name: ServerName::IpAddress(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)).into()),
        trace: false,
        compat_hello: false,
        hello_wait: HelloWait::Attempt,
        login: None,
        client_auth: None,
        judge: None,
        wait_for_close: false,
        ping: None,
        dns: None,
        tcp: None,
        http: None,
    };
    let random = Randomness::draw(&mut Seeded(7)).expect("seeded randomness");
    Session::new(cfg, random, 0, now)
}

/// An unwrapped packet of the server's to `s`.
fn from_server(s: &Session, opcode: u8, acks: &[u32], id: Option<u32>) -> Vec<u8> {
    let body = packet::encode_body(acks, &s.session_id(), id, &[]);
    let replay = Replay {
        packet_id: 1,
        net_time: 0,
    };
    packet::seal(
        &Wrap::None,
        wire::byte0(opcode, 0),
        THEIRS,
        replay,
        &body,
        false,
    )
}

/// The acks and message id of an unwrapped control packet of ours.
fn acks_and_id(datagram: &[u8]) -> (Vec<u32>, u32) {
    let n = usize::from(datagram[wire::HEADER_LEN]);
    let at = |i: usize| u32::from_be_bytes(datagram[i..i + 4].try_into().unwrap());
    let acks = (0..n).map(|k| at(wire::HEADER_LEN + 1 + 4 * k)).collect();
    let id_at = wire::HEADER_LEN + 1 + 4 * n + if n > 0 { 8 } else { 0 };
    (acks, at(id_at))
}

#[test]
fn a_timer_of_another_stage_is_stopped_and_changes_nothing() {
    let t0 = Instant::now();
    let mut s = session(Stage::Tls, t0);
    assert!(s.poll_transmit(t0).is_some());
    s.timers.set(Timer::Echo, t0);
    s.handle_timeout(t0);
    assert!(matches!(s.state, State::AwaitReset { sent: 1 }));
    assert_eq!(s.timers.get(Timer::Echo), None);
    assert_ne!(s.poll_timeout(), Some(t0));
    assert!(std::iter::from_fn(|| s.poll_event()).all(|e| !matches!(e, Event::Finished { .. })));
}

#[test]
fn the_hello_acks_the_reset_until_the_server_speaks() {
    let t0 = Instant::now();
    let mut s = session(Stage::Tls, t0);
    assert!(s.poll_transmit(t0).is_some());
    let reset = from_server(&s, wire::P_CONTROL_HARD_RESET_SERVER_V2, &[0], Some(0));
    s.handle_packet(t0, &reset);
    let State::Handshake(h) = &s.state else {
        panic!("the server's reset starts the handshake");
    };
    assert!(matches!(h.awaiting, Awaiting::FirstWord));
    assert!(s.timers.get(Timer::Hello).is_some());
    let hello = s.poll_transmit(t0).expect("the hello");
    let (acks, hello_id) = acks_and_id(&hello);
    assert_eq!(acks, [0]);
    // Not heard yet: the retransmitted hello acks the reset again, though the reliable
    // layer owes no ack.
    let later = s.poll_timeout().expect("the hello's retransmission");
    let again = s.poll_transmit(later).expect("the hello again");
    assert_eq!(acks_and_id(&again), (vec![0], hello_id));
    // Its reset again proves nothing.
    s.handle_packet(later, &reset);
    let State::Handshake(h) = &s.state else {
        panic!("still in the handshake");
    };
    assert!(matches!(h.awaiting, Awaiting::FirstWord));
    // Its ack of the hello is its first word.
    s.handle_packet(later, &from_server(&s, wire::P_ACK_V1, &[hello_id], None));
    let State::Handshake(h) = &s.state else {
        panic!("still in the handshake");
    };
    assert!(matches!(h.awaiting, Awaiting::Flight));
    assert!(!s.state.acks_reset());
    assert_eq!(s.timers.get(Timer::Hello), None);
    assert_eq!(s.progress(), Progress::HelloAcked);
}
