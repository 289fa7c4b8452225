//! The data stage of one `proto::Session`, simulated without sockets or wall clock: a
//! small server (the simulated server of `tests/common/sim_server.rs`, a real
//! `rustls::ServerConnection` over the library's reliable layer, with the data channel
//! codec on its side) takes the client's key-method 2, pushes, and then
//! answers the echoes (or not, or floods, or compresses) as each case asks. Real servers
//! are in `tests/suite/ping.rs`; this file pins what a real server will not do on demand: the
//! echo deadline, keepalives without replies, floods of bad packets, replays, another
//! peer-id, a compressed reply, and how the session leaves (control `EXIT` with cc-exit,
//! OCC_EXIT without).

use crate::common::sim_server::{server_config, SimServer};
use check_openvpn::proto::data::icmp::internet_checksum;
use check_openvpn::proto::data::keys::{CLIENT_RANDOM_LEN, SERVER_RANDOM_LEN};
use check_openvpn::proto::data::{
    DataChannel, DataConfig, Decapsulated, KeyBlock, Side, EKM_LABEL, PING_MAGIC,
};
use check_openvpn::proto::login::{ClientHello, DataSettings};
use check_openvpn::proto::push::{self, KeyDerivation, Unsupported};
use check_openvpn::proto::random::Seeded;
use check_openvpn::proto::session::MAX_TRACED_PACKETS;
use check_openvpn::proto::{
    DataKind, Event, HelloWait, PingConfig, Progress, Randomness, Session, SessionConfig, Stage,
    Why, MAX_ECHOES,
};
use check_openvpn::wire::{SessionId, Wrap};
use rustls::pki_types::ServerName;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const CLIENT_SID: SessionId = *b"DATACLI1";
const SERVER_SID: SessionId = *b"DATASRV1";
const BUDGET: Duration = Duration::from_secs(6);
const UNTIL: Duration = Duration::from_secs(5);

/// What the server does with the data channel once it pushed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Answers every echo request.
    Answer,
    /// Answers every echo request twice, and replays the first reply.
    AnswerTwice,
    /// Never answers, but sends a keepalive ping for each request.
    KeepaliveOnly,
    /// Sends nothing at all.
    Silent,
    /// Answers each request with this many packets whose tag does not verify, and as many
    /// for another peer-id, and never a real reply.
    Flood(usize),
    /// Answers with an LZ4-compressed packet (a `compress lz4-v2` server).
    Compressed,
    /// A tap server (`dev-type tap` in its options string) on a busy link: to the
    /// client's ARP request it first sends 200 ARP requests for the client's address
    /// (from the target with `answer_arp`, else from another host),
    /// gratuitous ARP and ARP replies for other addresses, echo replies in frames for
    /// another MAC and multicast MLD and router solicitations; then (with `answer_arp`)
    /// its ARP reply, and answers echoes in Ethernet frames.
    Tap { answer_arp: bool },
}

/// The reply to an IPv4 echo request: addresses swapped, type 0, checksum again.
fn echo_reply(request: &[u8]) -> Vec<u8> {
    let mut reply = request.to_vec();
    reply[12..16].copy_from_slice(&request[16..20]);
    reply[16..20].copy_from_slice(&request[12..16]);
    reply[20] = 0;
    reply[22..24].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(&[&reply[20..]]);
    reply[22..24].copy_from_slice(&sum.to_be_bytes());
    reply
}

const SERVER_MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

fn ether_frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An ARP frame (RFC 826, Ethernet and IPv4); requests to broadcast.
fn arp_frame(op: u16, sender: ([u8; 6], [u8; 4]), target: ([u8; 6], [u8; 4])) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sender.0);
    p.extend_from_slice(&sender.1);
    p.extend_from_slice(&target.0);
    p.extend_from_slice(&target.1);
    let dst = if op == 1 { [0xff; 6] } else { target.0 };
    ether_frame(dst, sender.0, 0x0806, &p)
}

struct Server {
    /// The control channel: reset, TLS, and the plaintext the client sent.
    ctl: SimServer,
    client_random: Option<[u8; CLIENT_RANDOM_LEN]>,
    push: String,
    behaviour: Behaviour,
    data: Option<DataChannel>,
    data_config: Option<DataConfig>,
    /// The second channel of a flood: the same keys, another peer-id.
    other_peer: Option<DataChannel>,
    echo_requests: usize,
    /// ARP replies of the client's (to the server's requests for its address).
    arp_answers: usize,
    /// ARP requests of the client's for the server's MAC.
    arp_requests: usize,
    control_exit: bool,
    occ_exit: bool,
}

const SERVER_RANDOM: [u8; SERVER_RANDOM_LEN] = [0x5e; SERVER_RANDOM_LEN];

fn km2_string(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.extend_from_slice(&[0, 0]);
        return;
    }
    out.extend_from_slice(&((s.len() + 1) as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

impl Server {
    fn new(push: &str, behaviour: Behaviour) -> Server {
        Server {
            ctl: SimServer::new(Wrap::None, SERVER_SID, server_config(false)),
            client_random: None,
            push: push.to_string(),
            behaviour,
            data: None,
            data_config: None,
            other_peer: None,
            echo_requests: 0,
            arp_answers: 0,
            arp_requests: 0,
            control_exit: false,
            occ_exit: false,
        }
    }

    fn handle(&mut self, datagram: &[u8]) {
        let opcode = datagram[0] >> 3;
        if opcode == 6 || opcode == 9 {
            self.on_data(datagram);
            return;
        }
        if self.ctl.receive(datagram) {
            self.feed_tls();
        }
    }

    fn feed_tls(&mut self) {
        self.ctl.read_tls_in();
        assert!(self.ctl.tls_error.is_none(), "{:?}", self.ctl.tls_error);
        let plain = &self.ctl.plain;
        if self.client_random.is_none() && plain.len() >= 5 + CLIENT_RANDOM_LEN {
            let mut random = [0u8; CLIENT_RANDOM_LEN];
            random.copy_from_slice(&plain[5..5 + CLIENT_RANDOM_LEN]);
            self.client_random = Some(random);
            // Our key-method 2, then the push at once (a 2.6 server pushes unprompted).
            let mut km2 = vec![0, 0, 0, 0, 2];
            km2.extend_from_slice(&SERVER_RANDOM);
            let options = if matches!(self.behaviour, Behaviour::Tap { .. }) {
                "V4,dev-type tap,tls-server"
            } else {
                "V4,dev-type tun,tls-server"
            };
            for s in [options, "", "", ""] {
                km2_string(&mut km2, s);
            }
            km2.extend_from_slice(format!("PUSH_REPLY,{}\0", self.push).as_bytes());
            self.ctl.write_plain(&km2);
            self.start_data();
        }
        if self.ctl.plain.windows(5).any(|w| w == b"EXIT\0") {
            self.control_exit = true;
        }
        self.ctl.flush_tls_out();
    }

    /// The data channel as the client will set it up from this push.
    fn start_data(&mut self) {
        let options: Vec<String> = self.push.split(',').map(str::to_string).collect();
        let Ok(plan) = push::plan(&options, &DataSettings::default()) else {
            return;
        };
        let block = match plan.keys {
            KeyDerivation::Ekm => {
                let out = self
                    .ctl
                    .tls
                    .export_keying_material([0u8; 256], EKM_LABEL, None)
                    .unwrap();
                KeyBlock::from_ekm(&out).unwrap()
            }
            KeyDerivation::Prf => KeyBlock::from_prf(
                &self.client_random.unwrap(),
                &SERVER_RANDOM,
                &CLIENT_SID,
                &SERVER_SID,
            ),
        };
        self.data = Some(DataChannel::new(plan.config, &block, Side::Server));
        let mut other = plan.config;
        other.peer_id = Some(plan.config.peer_id.unwrap_or(0) + 1);
        self.other_peer = Some(DataChannel::new(other, &block, Side::Server));
        self.data_config = Some(plan.config);
    }

    fn send_data(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.data
            .as_mut()
            .unwrap()
            .encapsulate(payload, &mut out)
            .unwrap();
        self.ctl.out.push_back(out.clone());
        out
    }

    fn on_data(&mut self, datagram: &[u8]) {
        let mut plain = Vec::new();
        let Some(channel) = self.data.as_mut() else {
            panic!("a data packet before the push");
        };
        let request = match channel.decapsulate(datagram, &mut plain).unwrap() {
            Decapsulated::Occ(m) if m.is_exit() => {
                self.occ_exit = true;
                return;
            }
            Decapsulated::Data(ip) => ip.to_vec(),
            other => panic!("the client sent {other:?}"),
        };
        if let Behaviour::Tap { answer_arp } = self.behaviour {
            self.on_frame(&request, answer_arp);
            return;
        }
        self.echo_requests += 1;
        let reply = echo_reply(&request);
        match self.behaviour {
            Behaviour::Answer => {
                self.send_data(&reply);
            }
            Behaviour::AnswerTwice => {
                let first = self.send_data(&reply);
                self.send_data(&reply);
                self.ctl.out.push_back(first);
            }
            Behaviour::KeepaliveOnly => {
                self.send_data(&PING_MAGIC);
            }
            Behaviour::Silent | Behaviour::Tap { .. } => {}
            Behaviour::Flood(n) => {
                for i in 0..n {
                    let mut bad = self.send_data(&reply);
                    let last = bad.len() - 1;
                    bad[last] ^= 1 + (i as u8 & 0x7f);
                    *self.ctl.out.back_mut().unwrap() = bad;
                    let mut other = Vec::new();
                    self.other_peer
                        .as_mut()
                        .unwrap()
                        .encapsulate(&reply, &mut other)
                        .unwrap();
                    self.ctl.out.push_back(other);
                }
            }
            Behaviour::Compressed => {
                // compress lz4-v2: 0x50 0x01 marks an LZ4-compressed packet.
                let mut config = self.data_config.unwrap();
                config.compression = check_openvpn::proto::data::Compression::None;
                let block = KeyBlock::from_ekm(
                    &self
                        .ctl
                        .tls
                        .export_keying_material([0u8; 256], EKM_LABEL, None)
                        .unwrap(),
                )
                .unwrap();
                let mut raw = DataChannel::new(config, &block, Side::Server);
                // Keep the packet ids apart from the framed channel's.
                let mut out = Vec::new();
                raw.encapsulate(&[0x50, 0x01, 0x12, 0x34], &mut out)
                    .unwrap();
                self.ctl.out.push_back(out);
            }
        }
    }

    /// A frame from the client of a tap tunnel.
    fn on_frame(&mut self, frame: &[u8], answer_arp: bool) {
        let client_mac: [u8; 6] = frame[6..12].try_into().unwrap();
        let client_ip = [10, 8, 0, 2];
        match u16::from_be_bytes([frame[12], frame[13]]) {
            0x0806 if frame[20..22] == [0, 2] => self.arp_answers += 1,
            0x0806 => {
                self.arp_requests += 1;
                assert_eq!(frame[..6], [0xff; 6], "an ARP request not to broadcast");
                assert_eq!(frame[38..42], [10, 8, 0, 1], "ARP for another address");
                if self.arp_requests > 1 {
                    if answer_arp {
                        panic!("asked again after the answer");
                    }
                    return;
                }
                // From the target itself (which teaches its MAC as well), or, where it
                // never answers, from another host of the bridge.
                let asker = if answer_arp {
                    (SERVER_MAC, [10, 8, 0, 1])
                } else {
                    ([0x52, 0, 0, 0, 0, 0x66], [10, 8, 0, 66])
                };
                for _ in 0..200 {
                    let q = arp_frame(1, asker, ([0; 6], client_ip));
                    self.send_data(&q);
                }
                // Gratuitous ARP and a reply, both about another address.
                let other = [0x52, 0, 0, 0, 0, 0x77];
                self.send_data(&arp_frame(
                    1,
                    (other, [10, 8, 0, 77]),
                    ([0; 6], [10, 8, 0, 77]),
                ));
                self.send_data(&arp_frame(
                    2,
                    (other, [10, 8, 0, 77]),
                    (client_mac, client_ip),
                ));
                // MLD report and router solicitation to their multicast groups (the
                // frames that began with 0x33 and were once read as compression).
                self.send_data(&ether_frame(
                    [0x33, 0x33, 0, 0, 0, 0x16],
                    SERVER_MAC,
                    0x86dd,
                    &[0x60; 48],
                ));
                self.send_data(&ether_frame(
                    [0x33, 0x33, 0, 0, 0, 2],
                    SERVER_MAC,
                    0x86dd,
                    &[0x60; 48],
                ));
                if answer_arp {
                    let a = arp_frame(2, (SERVER_MAC, [10, 8, 0, 1]), (client_mac, client_ip));
                    self.send_data(&a);
                }
            }
            0x0800 => {
                assert_eq!(frame[..6], SERVER_MAC, "an echo not to the server's MAC");
                self.echo_requests += 1;
                let reply = echo_reply(&frame[14..]);
                // First for another host's MAC (a bridge floods such frames): not ours.
                self.send_data(&ether_frame(
                    [0x02, 9, 9, 9, 9, 9],
                    SERVER_MAC,
                    0x0800,
                    &reply,
                ));
                self.send_data(&ether_frame(client_mac, SERVER_MAC, 0x0800, &reply));
            }
            other => panic!("the client sent ethertype {other:#06x}"),
        }
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.ctl.poll_transmit(now)
    }
}

struct Run {
    events: Vec<Event>,
    server: Server,
    /// Simulated time from the start to the session's end.
    took: Duration,
}

fn run(push: &str, behaviour: Behaviour, ping: Option<PingConfig>) -> Run {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        wrap: Wrap::None,
        stage: Stage::Login,
        validate: true,
        stream: false,
        attempt_timeout: Duration::from_secs(2),
        attempts: 3,
        server_name: ServerName::IpAddress(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)).into()),
        trace: false,
        compat_hello: false,
        hello_wait: HelloWait::Attempt,
        login: Some(ClientHello {
            proto: "UDPv4",
            user: None,
            password: None,
            data: DataSettings::default(),
            tls_auth: None,
        }),
        client_auth: None,
        judge: None,
        wait_for_close: false,
        ping,
        dns: None,
        tcp: None,
        http: None,
    };
    let random = Randomness::draw(&mut Seeded(7))
        .unwrap()
        .with_session_id(CLIENT_SID);
    let mut client = Session::new(cfg, random, 0, t0);
    let mut server = Server::new(push, behaviour);
    let mut events = Vec::new();
    let mut now = t0;
    for _ in 0..100_000 {
        let mut moved = false;
        while let Some(d) = client.poll_transmit(now) {
            server.handle(&d);
            moved = true;
        }
        events.extend(std::iter::from_fn(|| client.poll_event()));
        while let Some(d) = server.poll_transmit(now) {
            client.handle_packet(now, &d);
            events.extend(std::iter::from_fn(|| client.poll_event()));
            moved = true;
        }
        if client.is_done() && !moved {
            break;
        }
        if moved {
            continue;
        }
        let next = [client.poll_timeout(), server.ctl.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(at) if at <= t0 + BUDGET => {
                now = now.max(at);
                client.handle_timeout(now);
                events.extend(std::iter::from_fn(|| client.poll_event()));
            }
            _ => break,
        }
    }
    assert!(events.len() < 1000, "{} events", events.len());
    Run {
        events,
        server,
        took: now - t0,
    }
}

fn ping(count: u16) -> Option<PingConfig> {
    Some(PingConfig {
        target: None,
        count,
        interval: Duration::from_millis(10),
        until: UNTIL,
    })
}

const SUBNET: &str = "route-gateway 10.8.0.1,topology subnet,ifconfig 10.8.0.2 255.255.255.0";

fn push_26() -> String {
    format!("{SUBNET},peer-id 5,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm")
}

fn push_25() -> String {
    format!("{SUBNET},peer-id 3,cipher CHACHA20-POLY1305")
}

fn why(r: &Run) -> Why {
    let finished: Vec<&Event> = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::Finished { .. }))
        .collect();
    assert_eq!(finished.len(), 1, "one Finished: {:?}", r.events);
    assert!(
        matches!(r.events.last(), Some(Event::Finished { .. })),
        "Finished is the last event"
    );
    match finished[0] {
        Event::Finished { why, .. } => *why,
        _ => unreachable!(),
    }
}

fn replies(r: &Run) -> Vec<u16> {
    r.events
        .iter()
        .filter_map(|e| match e {
            Event::EchoReply { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

#[test]
fn echoes_with_ekm_and_a_control_exit() {
    let r = run(&push_26(), Behaviour::Answer, ping(3));
    assert_eq!(why(&r), Why::Reached);
    assert_eq!(replies(&r), vec![1, 2, 3]);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::DataReady {
            keys: KeyDerivation::Ekm,
            peer_id: Some(5),
            ..
        }
    )));
    assert!(r.server.control_exit && !r.server.occ_exit);
    assert_eq!(r.server.echo_requests, 3);
    // All three replies came at once: no wait for the deadline.
    assert!(r.took < Duration::from_secs(1), "{:?}", r.took);
}

#[test]
fn echoes_with_prf_keys_and_an_occ_exit() {
    let r = run(&push_25(), Behaviour::Answer, ping(2));
    assert_eq!(why(&r), Why::Reached);
    assert_eq!(replies(&r), vec![1, 2]);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::DataReady {
            keys: KeyDerivation::Prf,
            ..
        }
    )));
    assert!(r.server.occ_exit && !r.server.control_exit);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::OccExitSent { .. })));
}

#[test]
fn a_plain_login_leaves_an_old_server_with_occ_exit_and_a_new_one_with_exit() {
    let r = run(&push_25(), Behaviour::Answer, None);
    assert_eq!(why(&r), Why::Reached);
    assert!(r.server.occ_exit && !r.server.control_exit);
    assert_eq!(r.server.echo_requests, 0);
    let r = run(&push_26(), Behaviour::Answer, None);
    assert_eq!(why(&r), Why::Reached);
    assert!(r.server.control_exit && !r.server.occ_exit);
    assert!(!r
        .events
        .iter()
        .any(|e| matches!(e, Event::DataReady { .. })));
    // A push the check cannot speak: the control EXIT, and the login still ends well.
    let r = run(&format!("{SUBNET},cipher BF-CBC"), Behaviour::Answer, None);
    assert_eq!(why(&r), Why::Reached);
    assert!(r.server.control_exit);
}

#[test]
fn duplicate_and_replayed_replies_count_once() {
    let r = run(&push_26(), Behaviour::AnswerTwice, ping(3));
    assert_eq!(why(&r), Why::Reached);
    assert_eq!(replies(&r), vec![1, 2, 3]);
}

#[test]
fn keepalives_without_replies_end_at_the_echo_deadline_with_the_tunnel_up() {
    let r = run(&push_26(), Behaviour::KeepaliveOnly, ping(3));
    assert_eq!(
        why(&r),
        Why::EchoesMissing {
            sent: 3,
            answered: 0,
            decrypted: 3
        }
    );
    assert!(r.took >= UNTIL && r.took < BUDGET, "{:?}", r.took);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::DataReceived {
            kind: DataKind::Keepalive,
            ..
        }
    )));
    assert!(r.server.control_exit);
}

#[test]
fn silence_ends_at_the_echo_deadline_with_nothing_decrypted() {
    let r = run(&push_25(), Behaviour::Silent, ping(2));
    assert_eq!(
        why(&r),
        Why::EchoesMissing {
            sent: 2,
            answered: 0,
            decrypted: 0
        }
    );
    assert!(r.server.occ_exit);
}

#[test]
fn a_flood_of_bad_tags_and_other_peer_ids_is_bounded_and_never_a_reply() {
    let r = run(&push_26(), Behaviour::Flood(200), ping(MAX_ECHOES));
    assert_eq!(
        why(&r),
        Why::EchoesMissing {
            sent: MAX_ECHOES,
            answered: 0,
            decrypted: 0
        }
    );
    let noise = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::DataIgnored { .. }))
        .count();
    assert!(noise > 0 && noise <= MAX_TRACED_PACKETS, "{noise}");
}

#[test]
fn a_compressed_reply_is_unsupported_and_named() {
    let push = format!("{},compress lz4-v2", push_26());
    let r = run(&push, Behaviour::Compressed, ping(1));
    assert_eq!(why(&r), Why::Unsupported);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::DataUnsupported {
            what: Unsupported::Compressed(check_openvpn::proto::data::Algorithm::Lz4),
            ..
        }
    )));
}

#[test]
fn an_unroutable_target_sends_no_echo() {
    let mut p = ping(3).unwrap();
    p.target = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)));
    let r = run(&push_25(), Behaviour::Answer, Some(p));
    assert_eq!(why(&r), Why::NoEchoPath);
    assert_eq!(r.server.echo_requests, 0);
    // Left all the same, as the server expects.
    assert!(r.server.occ_exit);
    let progress = r.events.iter().find_map(|e| match e {
        Event::Finished { reached, .. } => Some(*reached),
        _ => None,
    });
    assert_eq!(progress, Some(Progress::Exited));
}

#[test]
fn an_unknown_pushed_cipher_is_unsupported_and_leaves_by_control() {
    let r = run(
        &format!("{SUBNET},cipher AES-192-GCM"),
        Behaviour::Answer,
        ping(3),
    );
    assert_eq!(why(&r), Why::Unsupported);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::DataUnsupported {
            what: Unsupported::Cipher(c),
            ..
        } if c == "AES-192-GCM"
    )));
    assert!(r.server.control_exit);
    assert_eq!(r.server.echo_requests, 0);
}

#[test]
fn a_tap_server_on_a_busy_link_is_answered_and_its_flood_bounded() {
    let r = run(&push_26(), Behaviour::Tap { answer_arp: true }, ping(3));
    assert_eq!(why(&r), Why::Reached, "{:?}", r.events.last());
    assert_eq!(replies(&r), vec![1, 2, 3]);
    assert_eq!(r.server.arp_requests, 1);
    assert_eq!(r.server.echo_requests, 3);
    // 200 requests for our address, at most 32 answered.
    assert_eq!(r.server.arp_answers, 32);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::LinkLayer {
            tap: true,
            server_tap: true,
            mac: Some(m)
        } if m[0] & 3 == 2
    )));
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::NeighbourLearned {
            mac: SERVER_MAC,
            ..
        }
    )));
    assert!(!r.events.iter().any(|e| matches!(
        e,
        Event::DataReceived {
            kind: DataKind::NotIp { .. },
            ..
        } | Event::DataUnsupported { .. }
    )));
}

#[test]
fn a_tap_target_that_never_answers_arp_is_asked_a_bounded_number_of_times() {
    let r = run(&push_26(), Behaviour::Tap { answer_arp: false }, ping(3));
    assert!(
        matches!(
            why(&r),
            Why::EchoesMissing {
                sent: 0,
                answered: 0,
                ..
            }
        ),
        "{:?}",
        why(&r)
    );
    assert_eq!(r.server.echo_requests, 0);
    // Every quarter second at most, within the 5 s the echoes may take.
    let asked = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::NeighbourAsked { .. }))
        .count();
    assert!((2..=21).contains(&asked), "{asked}");
    assert_eq!(r.server.arp_requests, asked);
}
