//! The simulated OpenVPN server of the session simulations (no sockets, no wall clock):
//! the TLS stage over a lossy link (`tests/suite/session_sim.rs`) and the data stage
//! (`tests/suite/data_stage.rs`). It answers the client's hard reset with
//! `P_CONTROL_HARD_RESET_SERVER_V2`, then runs a real `rustls::ServerConnection` over the
//! library's reliable layer (msg ids from 1, at most 6 unacknowledged, retransmission
//! after 2 s, doubling), its TLS output cut into control packets of at most [`PIECE`]
//! bytes. What the client sends inside TLS collects in [`SimServer::plain`]; a test that
//! answers it (key-method 2, a push) writes with [`SimServer::write_plain`].
//!
//! The server's certificate (`tests/data/sim/`) is a throwaway self-signed P-256 one,
//! valid for 100 years.

use check_openvpn::proto::packet::{self, encode_body, ControlPacket};
use check_openvpn::proto::reliable::Reliable;
use check_openvpn::wire::{self, Replay, SessionId, Wrap};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CERT_PEM: &[u8] = include_bytes!("../data/sim/cert.pem");
pub const KEY_PEM: &[u8] = include_bytes!("../data/sim/key.pem");

/// The server's retransmission timeout (OpenVPN's first one: 2 s).
pub const SERVER_RTO: Duration = Duration::from_secs(2);
/// TLS output is cut into control packets of at most this many bytes (OpenVPN's TLS
/// payload per packet at the default MTU).
pub const PIECE: usize = 1100;

/// The server's certificate.
pub fn cert() -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(CERT_PEM).expect("tests/data/sim/cert.pem")
}

/// The server's TLS configuration: rustls's safe defaults (TLS 1.3 and 1.2), or TLS 1.2
/// only.
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

pub struct SimServer {
    pub wrap: Wrap,
    /// The server's session id.
    pub sid: SessionId,
    /// The `net_time` of its packets' replay fields.
    pub net_time: u32,
    /// `with_wkc` of [`packet::seal`].
    pub with_wkc: bool,
    /// Like a 2.6 UDP server with its HMAC cookie: no state (and no TLS) for the client
    /// until a control packet acks the reset; client control packets before that are
    /// dropped (counted in `dropped_stateless`).
    pub stateless: bool,
    pub tls: rustls::ServerConnection,
    pub rel: Reliable,
    /// The client's session id, from its reset.
    pub client: Option<SessionId>,
    /// Under `stateless`: whether a control packet has acked the reset.
    pub created: bool,
    pub next_replay: u32,
    /// Datagrams to send before what the reliable layer has due.
    pub out: VecDeque<Vec<u8>>,
    pub resets_answered: u32,
    /// Client control packets dropped for want of an ack of the reset (no state yet).
    pub dropped_stateless: u32,
    /// Message ids this server sent (its reset is 0).
    pub sent_ids: BTreeSet<u32>,
    pub tls_error: Option<rustls::Error>,
    /// TLS output is cut into control packets of at most this many bytes.
    pub piece: usize,
    /// What the client sent inside TLS, in order.
    pub plain: Vec<u8>,
}

impl SimServer {
    /// A server with session id `sid` and TLS configuration `config`: `net_time` 0, no
    /// `with_wkc`, not stateless, pieces of [`PIECE`] bytes.
    pub fn new(wrap: Wrap, sid: SessionId, config: Arc<rustls::ServerConfig>) -> Self {
        SimServer {
            wrap,
            sid,
            net_time: 0,
            with_wkc: false,
            stateless: false,
            tls: rustls::ServerConnection::new(config).unwrap(),
            rel: Reliable::new(1, 1, true, SERVER_RTO),
            client: None,
            created: false,
            next_replay: 1,
            out: VecDeque::new(),
            resets_answered: 0,
            dropped_stateless: 0,
            sent_ids: BTreeSet::new(),
            tls_error: None,
            piece: PIECE,
            plain: Vec::new(),
        }
    }

    pub fn seal(&mut self, opcode: u8, body: &[u8]) -> Vec<u8> {
        let replay = Replay {
            packet_id: self.next_replay,
            net_time: self.net_time,
        };
        self.next_replay += 1;
        packet::seal(
            &self.wrap,
            wire::byte0(opcode, 0),
            self.sid,
            replay,
            body,
            self.with_wkc,
        )
    }

    /// A control-channel datagram from the client: the reset is answered, anything else
    /// goes to the reliable layer and its messages into TLS ([`SimServer::read_tls_in`]),
    /// and TLS's answer out ([`SimServer::flush_tls_out`]).
    pub fn handle(&mut self, datagram: &[u8]) {
        if self.receive(datagram) {
            self.read_tls_in();
            self.flush_tls_out();
        }
    }

    /// Takes a control-channel datagram from the client, checking what every client
    /// datagram must be; true when it gave the reliable layer something to read.
    pub fn receive(&mut self, datagram: &[u8]) -> bool {
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
                false
            }
            wire::P_CONTROL_V1 | wire::P_ACK_V1 => {
                let client = self.client.expect("a control packet before the reset");
                assert_eq!(p.session_id, client, "the client's session id changed");
                if let Some(remote) = p.remote_session_id {
                    assert_eq!(remote, self.sid, "acks name the server's session");
                }
                if self.stateless && !self.created {
                    let acks_reset = !p.acks.is_empty()
                        && p.acks.iter().all(|&a| a <= 1)
                        && p.message_id.unwrap_or(0) <= 1;
                    if !acks_reset {
                        self.dropped_stateless += 1;
                        return false;
                    }
                    self.created = true;
                }
                self.rel.on_acks(&p.acks);
                if let Some(id) = p.message_id {
                    self.rel.on_message(id, p.payload);
                }
                true
            }
            other => panic!("opcode {other} from the client"),
        }
    }

    /// What the reliable layer has in order goes into TLS (after a TLS error: dropped);
    /// the plaintext TLS gives up is appended to [`SimServer::plain`].
    pub fn read_tls_in(&mut self) {
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
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut self.tls.reader(), &mut buf) {
            if n == 0 {
                break;
            }
            self.plain.extend_from_slice(&buf[..n]);
        }
    }

    /// Plaintext to the client, inside TLS (sent by the next [`SimServer::flush_tls_out`]).
    pub fn write_plain(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self.tls.writer(), bytes).unwrap();
    }

    /// What TLS has to send goes to the reliable layer, in pieces of `piece` bytes.
    pub fn flush_tls_out(&mut self) {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).unwrap();
        }
        for piece in out.chunks(self.piece) {
            self.rel.push(wire::P_CONTROL_V1, piece.to_vec());
        }
    }

    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(p) = self.out.pop_front() {
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
