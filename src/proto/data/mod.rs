//! The data channel as a pure codec, without socket or clock: [`DataChannel::encapsulate`]
//! turns a tunnel packet into a datagram for the server, [`DataChannel::decapsulate`] turns a
//! datagram from the server into a [`Decapsulated`] (tunnel packet, keepalive ping or OCC
//! message) or a [`DataError`]. Keys come from [`KeyBlock`] (TLS-EKM or OpenVPN's PRF).
//! Over TCP the caller adds and strips the 2-byte length, as on the control channel.
//!
//! ```
//! use check_openvpn::digest::Digest;
//! use check_openvpn::proto::data::{
//!     Compression, DataChannel, DataCipher, DataConfig, Decapsulated, KeyBlock, Side,
//! };
//! // After PUSH_REPLY: keys from TLS-EKM (or KeyBlock::from_prf), settings from the push.
//! let block = KeyBlock::from_ekm(&[7u8; 256]).unwrap();
//! let config = DataConfig {
//!     cipher: DataCipher::Aes256Gcm,
//!     auth: Digest::Sha1,
//!     peer_id: Some(0),
//!     key_id: 0,
//!     compression: Compression::None,
//! };
//! let mut client = DataChannel::new(config, &block, Side::Client);
//! let mut server = DataChannel::new(config, &block, Side::Server);
//! let (mut datagram, mut plain) = (Vec::new(), Vec::new());
//! client.encapsulate(b"\x45 an IPv4 packet", &mut datagram).unwrap();
//! assert_eq!(
//!     server.decapsulate(&datagram, &mut plain).unwrap(),
//!     Decapsulated::Data(b"\x45 an IPv4 packet")
//! );
//! client.occ_exit(&mut datagram).unwrap(); // leaving a 2.4/2.5 server
//! ```

pub mod cipher;
pub mod compress;
pub mod ether;
pub mod http;
pub mod icmp;
pub mod keys;
pub mod lookup;
pub mod replay;
pub mod stack;
pub mod udp;

pub use cipher::{DataCipher, UnknownCipher};
pub use compress::{
    Algorithm, AllowCompression, Compression, CompressionRules, Unframe, UnknownCompression,
};
pub use keys::{KeyBlock, Side, EKM_LABEL};
pub use replay::{Replay, ReplayWindow};

use crate::digest::Digest;
use cipher::{constant_time_eq, Crypt, OpenError, CBC_BLOCK, TAG_LEN};
use std::fmt;

/// Opcodes of a data packet without peer-id, and with a 3-byte peer-id.
pub use crate::wire::{P_DATA_V1, P_DATA_V2};
/// The payload of OpenVPN's keepalive ping (`ping.c`).
pub const PING_MAGIC: [u8; 16] = [
    0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
];
/// The prefix of an OCC message (`occ.c`); one opcode byte follows.
pub const OCC_MAGIC: [u8; 16] = [
    0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81, 0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
];
/// OCC opcode: the peer is leaving.
pub const OCC_EXIT: u8 = 6;
const PACKET_ID_LEN: usize = 4;

/// What the data channel was agreed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataConfig {
    pub cipher: DataCipher,
    /// The `auth` digest; used only by the CBC ciphers (never pushed: from the config).
    pub auth: Digest,
    /// The pushed `peer-id`: P_DATA_V2 when present, P_DATA_V1 otherwise.
    pub peer_id: Option<u32>,
    /// The key id of the TLS session's key (0 for the first).
    pub key_id: u8,
    pub compression: Compression,
}

/// What a datagram from the server held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decapsulated<'a> {
    /// A tunnel packet (an IP packet in tun mode).
    Data(&'a [u8]),
    /// The server's keepalive ping: nothing to answer.
    Ping,
    /// An OCC message.
    Occ(OccMessage<'a>),
}

/// An OCC message: its opcode ([`OCC_EXIT`], ...) and what follows it. A bare magic has
/// no opcode; OpenVPN reads it as an OCC message and ignores it (`occ.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OccMessage<'a> {
    pub opcode: Option<u8>,
    pub body: &'a [u8],
}

impl OccMessage<'_> {
    /// The peer is leaving.
    pub fn is_exit(&self) -> bool {
        self.opcode == Some(OCC_EXIT)
    }
}

/// Why a datagram was not accepted, or a packet could not be sent. None of these carries a
/// key byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("datagram of {len} bytes is too short for its header")]
    Truncated { len: usize },
    #[error("opcode {opcode} is not a data packet")]
    NotData { opcode: u8 },
    #[error("data packet for key id {got}, not {expected}")]
    WrongKeyId { got: u8, expected: u8 },
    #[error("data packet for peer-id {got}, not {expected:?}")]
    WrongPeerId { got: u32, expected: Option<u32> },
    #[error("data packet fails authentication")]
    Authentication,
    #[error("data packet has bad padding")]
    Padding,
    #[error("data packet ciphertext has a bad length")]
    Length,
    #[error("data packet id {packet_id} refused: {reason:?}")]
    Replay { packet_id: u32, reason: Replay },
    #[error("no packet id left to send")]
    PacketIdsExhausted,
    #[error("the server compressed a packet with {0}")]
    Compressed(Algorithm),
    #[error("compression header byte {byte:#04x} is not valid for {framing:?}")]
    BadCompressionHeader { framing: Compression, byte: u8 },
    #[error("the system random source failed")]
    Random,
}

impl From<OpenError> for DataError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Authentication => DataError::Authentication,
            OpenError::Padding => DataError::Padding,
            OpenError::Length => DataError::Length,
        }
    }
}

impl From<Unframe> for DataError {
    fn from(e: Unframe) -> Self {
        match e {
            Unframe::Compressed(a) => DataError::Compressed(a),
            Unframe::BadHeader { framing, byte } => {
                DataError::BadCompressionHeader { framing, byte }
            }
        }
    }
}

/// One data channel: both directions' keys, the send counter and the replay window.
pub struct DataChannel {
    config: DataConfig,
    send: Crypt,
    recv: Crypt,
    /// Last packet id sent (0: none yet).
    sent: u32,
    window: ReplayWindow,
    scratch: Vec<u8>,
}

impl fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataChannel")
            .field("config", &self.config)
            .field("send", &self.send)
            .field("recv", &self.recv)
            .field("sent", &self.sent)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// A codec for `side` of the tunnel with the keys of `block`.
    pub fn new(config: DataConfig, block: &KeyBlock, side: Side) -> DataChannel {
        let (send, recv) = block.directions(side);
        DataChannel {
            config,
            send: Crypt::new(config.cipher, config.auth, send),
            recv: Crypt::new(config.cipher, config.auth, recv),
            sent: 0,
            window: ReplayWindow::default(),
            scratch: Vec::new(),
        }
    }

    pub fn config(&self) -> &DataConfig {
        &self.config
    }

    /// The last packet id sent (0 before the first).
    pub fn last_sent_packet_id(&self) -> u32 {
        self.sent
    }

    /// The highest packet id received and accepted (0 before the first).
    pub fn highest_received_packet_id(&self) -> u32 {
        self.window.highest()
    }

    fn header(&self, out: &mut Vec<u8>) {
        let key_id = self.config.key_id & 7;
        match self.config.peer_id {
            Some(peer) => {
                out.push(P_DATA_V2 << 3 | key_id);
                out.extend_from_slice(&peer.to_be_bytes()[1..]);
            }
            None => out.push(P_DATA_V1 << 3 | key_id),
        }
    }

    fn next_packet_id(&mut self) -> Result<u32, DataError> {
        let id = self
            .sent
            .checked_add(1)
            .ok_or(DataError::PacketIdsExhausted)?;
        self.sent = id;
        Ok(id)
    }

    /// Encrypts `payload` (an IP packet, or a ping or OCC payload) into a datagram in `dst`
    /// (cleared first) and returns it. CBC takes its explicit IV from the OS random source.
    pub fn encapsulate<'d>(
        &mut self,
        payload: &[u8],
        dst: &'d mut Vec<u8>,
    ) -> Result<&'d [u8], DataError> {
        let mut iv = [0u8; CBC_BLOCK];
        if !self.config.cipher.is_aead() {
            getrandom::fill(&mut iv).map_err(|_| DataError::Random)?;
        }
        self.encapsulate_with_iv(payload, &iv, dst)
    }

    /// [`encapsulate`](Self::encapsulate) with a given CBC IV (ignored by the AEAD ciphers):
    /// for known-answer tests. A real CBC packet needs an unpredictable IV.
    #[doc(hidden)]
    pub fn encapsulate_with_iv<'d>(
        &mut self,
        payload: &[u8],
        iv: &[u8; CBC_BLOCK],
        dst: &'d mut Vec<u8>,
    ) -> Result<&'d [u8], DataError> {
        let packet_id = self.next_packet_id()?;
        dst.clear();
        self.header(dst);
        let header_len = dst.len();
        match &self.send {
            Crypt::Aead { key, implicit_iv } => {
                dst.extend_from_slice(&packet_id.to_be_bytes());
                dst.extend_from_slice(&[0; TAG_LEN]);
                compress::frame(self.config.compression, payload, dst);
                let (head, body) = dst.split_at_mut(header_len + PACKET_ID_LEN + TAG_LEN);
                let (aad, tag_at) = head.split_at_mut(header_len + PACKET_ID_LEN);
                let aad: &[u8] = match self.config.peer_id {
                    Some(_) => aad,
                    None => &aad[header_len..],
                };
                let tag = Crypt::seal_aead(key, implicit_iv, packet_id, aad, body);
                tag_at.copy_from_slice(&tag);
            }
            Crypt::Cbc {
                key,
                digest,
                hmac_key,
            } => {
                let mac_len = digest.output_len();
                dst.resize(header_len + mac_len, 0);
                dst.extend_from_slice(iv);
                let ct_at = dst.len();
                dst.extend_from_slice(&packet_id.to_be_bytes());
                compress::frame(self.config.compression, payload, dst);
                let msg_len = dst.len() - ct_at;
                dst.resize(ct_at + (msg_len / CBC_BLOCK + 1) * CBC_BLOCK, 0);
                let ct_len = Crypt::cbc_encrypt(key, iv, &mut dst[ct_at..], msg_len)?;
                dst.truncate(ct_at + ct_len);
                let mac = Zeroed(digest.hmac(hmac_key, &[&dst[header_len + mac_len..]]));
                dst[header_len..header_len + mac_len].copy_from_slice(&mac.0);
            }
        }
        Ok(dst)
    }

    /// The OCC_EXIT message as a datagram: how a client leaves a 2.4/2.5 server.
    pub fn occ_exit<'d>(&mut self, dst: &'d mut Vec<u8>) -> Result<&'d [u8], DataError> {
        let mut payload = [0u8; 17];
        payload[..16].copy_from_slice(&OCC_MAGIC);
        payload[16] = OCC_EXIT;
        self.encapsulate(&payload, dst)
    }

    /// Authenticates and decrypts a datagram from the peer into `dst` (cleared first).
    /// A datagram that fails changes nothing: neither the replay window nor `dst`'s
    /// meaning (it may hold garbage).
    pub fn decapsulate<'d>(
        &mut self,
        datagram: &[u8],
        dst: &'d mut Vec<u8>,
    ) -> Result<Decapsulated<'d>, DataError> {
        let truncated = DataError::Truncated {
            len: datagram.len(),
        };
        let first = *datagram.first().ok_or(truncated)?;
        let (opcode, key_id) = (first >> 3, first & 7);
        let header_len = match opcode {
            P_DATA_V1 => 1,
            P_DATA_V2 => 4,
            _ => return Err(DataError::NotData { opcode }),
        };
        if key_id != self.config.key_id & 7 {
            return Err(DataError::WrongKeyId {
                got: key_id,
                expected: self.config.key_id & 7,
            });
        }
        let header = datagram.get(..header_len).ok_or(truncated)?;
        if opcode == P_DATA_V2 {
            let got = u32::from_be_bytes([0, header[1], header[2], header[3]]);
            if self.config.peer_id != Some(got) {
                return Err(DataError::WrongPeerId {
                    got,
                    expected: self.config.peer_id,
                });
            }
        }
        let rest = &datagram[header_len..];
        dst.clear();
        let (packet_id, start) = match &self.recv {
            Crypt::Aead { key, implicit_iv } => {
                if rest.len() < PACKET_ID_LEN + TAG_LEN {
                    return Err(truncated);
                }
                let id = be32(&rest[..PACKET_ID_LEN]);
                let tag = &rest[PACKET_ID_LEN..PACKET_ID_LEN + TAG_LEN];
                let aad = &datagram[..header_len + PACKET_ID_LEN];
                let aad = if opcode == P_DATA_V2 {
                    aad
                } else {
                    &aad[header_len..]
                };
                self.window.check(id).map_err(|reason| DataError::Replay {
                    packet_id: id,
                    reason,
                })?;
                dst.extend_from_slice(&rest[PACKET_ID_LEN + TAG_LEN..]);
                Crypt::open_aead(key, implicit_iv, id, aad, tag, dst)?;
                (id, 0)
            }
            Crypt::Cbc {
                key,
                digest,
                hmac_key,
            } => {
                let mac_len = digest.output_len();
                if rest.len() < mac_len + 2 * CBC_BLOCK {
                    return Err(truncated);
                }
                let (mac, signed) = rest.split_at(mac_len);
                let expected = Zeroed(digest.hmac(hmac_key, &[signed]));
                if !constant_time_eq(mac, &expected.0) {
                    return Err(DataError::Authentication);
                }
                let (iv, ct) = signed.split_at(CBC_BLOCK);
                self.scratch.clear();
                self.scratch.extend_from_slice(ct);
                let len = Crypt::cbc_decrypt(key, iv, &mut self.scratch)?;
                if len < PACKET_ID_LEN {
                    return Err(DataError::Length);
                }
                let id = be32(&self.scratch[..PACKET_ID_LEN]);
                self.window.check(id).map_err(|reason| DataError::Replay {
                    packet_id: id,
                    reason,
                })?;
                dst.extend_from_slice(&self.scratch[..len]);
                self.scratch.fill(0);
                (id, PACKET_ID_LEN)
            }
        };
        self.window.accept(packet_id);
        let end = dst.len();
        let range = compress::unframe(self.config.compression, dst, start..end)?;
        let payload = &dst[range];
        if payload == PING_MAGIC {
            return Ok(Decapsulated::Ping);
        }
        if let Some(after) = payload.strip_prefix(&OCC_MAGIC[..]) {
            let (opcode, body) = match after.split_first() {
                Some((&opcode, body)) => (Some(opcode), body),
                None => (None, after),
            };
            return Ok(Decapsulated::Occ(OccMessage { opcode, body }));
        }
        Ok(Decapsulated::Data(payload))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// An HMAC output, wiped when dropped.
struct Zeroed(Vec<u8>);

impl Drop for Zeroed {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests;
