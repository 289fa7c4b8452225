//! One simulated OpenVPN server for the deterministic session tests (`tests/session_sim.rs`,
//! `tests/data_stage.rs`): no sockets, no threads, no wall clock.
//!
//! [`SimServer`] is an OpenVPN server as the client sees it: it answers the hard reset
//! with `P_CONTROL_HARD_RESET_SERVER_V2`, then runs a real `rustls::ServerConnection` over
//! the library's reliable layer (msg ids from 1, at most 6 unacknowledged, ≤ 1100-byte
//! pieces, retransmission after 2 s, doubling). Like a 2.6 UDP server with its HMAC
//! cookie, it keeps no state for the client until a control packet acks its reset (the
//! protocol notes, `openvpn-control-channel.md` §5).
//!
//! What it does above TLS is its [`AfterTls`]: nothing (`()`, the TLS stage), or a
//! key-method 2, a push and a data channel, as a test asks.
//!
//! The server's certificate (`tests/data/sim/`) is a throwaway self-signed P-256 one,
//! valid for 100 years.

use check_openvpn::proto::packet::{self, encode_body, ControlPacket};
use check_openvpn::proto::reliable::Reliable;
use check_openvpn::proto::{HelloWait, SessionConfig, Stage};
use check_openvpn::wire::{self, Replay, SessionId, Wrap};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CERT_PEM: &[u8] = include_bytes!("../data/sim/cert.pem");
const KEY_PEM: &[u8] = include_bytes!("../data/sim/key.pem");

/// The net time both sides put into their packet ids.
pub const NET_TIME: u32 = 0x6650_0000;
/// The session's time between hard reset attempts, and its patience for a hello.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The server's retransmission timeout (OpenVPN's `--tls-timeout` default).
pub const SERVER_RTO: Duration = Duration::from_secs(2);
/// The server cuts its TLS output into control packets of at most this many bytes.
pub const SERVER_PIECE: usize = 1100;

pub fn cert() -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(CERT_PEM).expect("tests/data/sim/cert.pem")
}

pub fn server_config(tls12_only: bool) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider);
    let builder = if tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .expect("protocol versions");
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM).expect("tests/data/sim/key.pem");
    Arc::new(
        builder
            .with_no_client_auth()
            .with_single_cert(vec![cert()], key)
            .expect("certificate and key match"),
    )
}

/// A client of the TLS stage against [`SimServer`]; later stages set theirs over it.
pub fn client_config(wrap: Wrap) -> SessionConfig {
    SessionConfig {
        wrap,
        stage: Stage::Tls,
        validate: true,
        stream: false,
        attempt_timeout: ATTEMPT_TIMEOUT,
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
    }
}

/// What the server does above TLS. `()` does nothing: the server stops at TLS.
pub trait AfterTls {
    /// New TLS input was taken: read the client's plaintext, write the server's (sent in
    /// control packets right after).
    fn on_tls(&mut self, _tls: &mut rustls::ServerConnection) {}

    /// A data channel packet (P_DATA_V1, P_DATA_V2) from the client.
    fn on_data(&mut self, _tls: &rustls::ServerConnection, datagram: &[u8]) {
        panic!("the client sent data packet {:02x?}", &datagram[..1]);
    }

    /// The next datagram the server sends besides its control channel.
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        None
    }
}

impl AfterTls for () {}

pub struct SimServer<A = ()> {
    pub wrap: Wrap,
    /// The server's session id.
    pub session_id: SessionId,
    pub tls: rustls::ServerConnection,
    pub rel: Reliable,
    /// The client's session id, from its reset.
    pub client: Option<SessionId>,
    /// 2.6 with HMAC cookie: no state (and no TLS) until a control packet acks the reset.
    pub created: bool,
    next_replay: u32,
    out: VecDeque<Vec<u8>>,
    pub resets_answered: u32,
    /// Client control packets dropped for want of an ack of the reset (no state yet).
    pub dropped_stateless: u32,
    /// Message ids this server sent (its reset is 0).
    pub sent_ids: BTreeSet<u32>,
    pub tls_error: Option<rustls::Error>,
    /// TLS output is cut into control packets of at most this many bytes.
    pub piece: usize,
    /// What the server does above TLS.
    pub after: A,
}

impl<A: AfterTls> SimServer<A> {
    pub fn new(wrap: Wrap, tls12_only: bool, session_id: SessionId, after: A) -> Self {
        SimServer {
            wrap,
            session_id,
            tls: rustls::ServerConnection::new(server_config(tls12_only)).unwrap(),
            rel: Reliable::new(1, 1, true, SERVER_RTO),
            client: None,
            created: false,
            next_replay: 1,
            out: VecDeque::new(),
            resets_answered: 0,
            dropped_stateless: 0,
            sent_ids: BTreeSet::new(),
            tls_error: None,
            piece: SERVER_PIECE,
            after,
        }
    }

    fn seal(&mut self, opcode: u8, body: &[u8]) -> Vec<u8> {
        let replay = Replay {
            packet_id: self.next_replay,
            net_time: NET_TIME,
        };
        self.next_replay += 1;
        packet::seal(
            &self.wrap,
            wire::byte0(opcode, 0),
            self.session_id,
            replay,
            body,
            true,
        )
    }

    pub fn handle(&mut self, datagram: &[u8]) {
        if matches!(datagram[0] >> 3, wire::P_DATA_V1 | wire::P_DATA_V2) {
            self.after.on_data(&self.tls, datagram);
            return;
        }
        let opened = self
            .wrap
            .open(datagram)
            .expect("client datagrams are well formed");
        assert!(
            opened.auth.is_ok(),
            "a client datagram's HMAC does not verify"
        );
        let p = ControlPacket::parse(opened.header, &opened.body).expect("a control packet");
        assert_eq!(p.key_id, 0);
        match p.opcode {
            wire::P_CONTROL_HARD_RESET_CLIENT_V2 => {
                assert_eq!(p.message_id, Some(0), "the reset is message 0");
                assert!(p.acks.is_empty(), "the reset acks nothing");
                assert!(p.payload.is_empty(), "the reset carries nothing");
                if let Some(c) = self.client {
                    assert_eq!(c, p.session_id, "a retried reset keeps its session id");
                }
                self.client = Some(p.session_id);
                self.resets_answered += 1;
                self.sent_ids.insert(0);
                let answer = self.seal(
                    wire::P_CONTROL_HARD_RESET_SERVER_V2,
                    &packet::server_reset_body(&p.session_id),
                );
                self.out.push_back(answer);
            }
            wire::P_CONTROL_V1 | wire::P_ACK_V1 => {
                let client = self.client.expect("a control packet before the reset");
                assert_eq!(p.session_id, client, "the client's session id changed");
                if let Some(remote) = p.remote_session_id {
                    assert_eq!(remote, self.session_id, "acks name the server's session");
                }
                if !self.created {
                    let acks_reset = !p.acks.is_empty()
                        && p.acks.iter().all(|&a| a <= 1)
                        && p.message_id.unwrap_or(0) <= 1;
                    if !acks_reset {
                        self.dropped_stateless += 1;
                        return;
                    }
                    self.created = true;
                }
                self.rel.on_acks(&p.acks);
                if let Some(id) = p.message_id {
                    self.rel.on_message(id, p.payload);
                }
                self.feed_tls();
            }
            other => panic!("opcode {other} from the client"),
        }
    }

    fn feed_tls(&mut self) {
        while let Some(chunk) = self.rel.read() {
            if self.tls_error.is_some() {
                continue;
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                if self.tls.read_tls(&mut rest).is_err() {
                    break;
                }
                if let Err(e) = self.tls.process_new_packets() {
                    self.tls_error = Some(e);
                    break;
                }
            }
        }
        self.after.on_tls(&mut self.tls);
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).unwrap();
        }
        for piece in out.chunks(self.piece) {
            self.rel.push(wire::P_CONTROL_V1, piece.to_vec());
        }
    }

    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(p) = self.out.pop_front().or_else(|| self.after.poll_transmit()) {
            return Some(p);
        }
        let client = self.client?;
        let tx = self.rel.poll_transmit(now)?;
        if let Some(id) = tx.message_id {
            self.sent_ids.insert(id);
        }
        let body = encode_body(&tx.acks, &client, tx.message_id, &tx.payload);
        Some(self.seal(tx.opcode, &body))
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rel.poll_timeout()
    }
}
