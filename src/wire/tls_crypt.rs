//! tls-crypt and tls-crypt-v2: every control packet encrypted (AES-256-CTR) and
//! authenticated (HMAC-SHA256) with a per-direction key.
//!
//! On the wire: `byte0 | session_id | packet_id | net_time | tag[32] | ciphertext`, where
//! `tag = HMAC-SHA256(Ka, byte0 | session_id | packet_id | net_time | body)` and the
//! ciphertext is the body under AES-256-CTR keyed with Ke, the first 16 tag bytes as the
//! initial counter block. A tls-crypt-v2 client appends its wrapped key (WKc) in clear.

use super::tls_auth::constant_time_eq;
use super::{Auth, Opened, Rejection, Replay, HEADER_LEN};
use crate::digest::Digest;
use crate::keys::static_keys::{Secret, SlotPair};
use ctr::cipher::{KeyIvInit, StreamCipher};
use std::borrow::Cow;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

const TAG_LEN: usize = 32;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
/// `byte0 | session_id | packet_id | net_time | tag`
pub(super) const OVERHEAD: usize = HEADER_LEN + 8 + TAG_LEN;

/// Ke and Ka of one direction: the first 32 bytes of its cipher and HMAC slots.
#[derive(Debug, Clone)]
struct DirectionKeys {
    cipher: Secret,
    hmac: Secret,
}

impl DirectionKeys {
    fn from_slots(slots: &SlotPair) -> Self {
        DirectionKeys {
            cipher: Secret::new(slots.cipher.expose()[..KEY_LEN].to_vec()),
            hmac: Secret::new(slots.hmac.expose()[..KEY_LEN].to_vec()),
        }
    }

    fn tag(&self, header: &[u8], replay: &[u8], body: &[u8]) -> Vec<u8> {
        Digest::Sha256.hmac(self.hmac.expose(), &[header, replay, body])
    }

    /// CTR is its own inverse: this both encrypts and decrypts.
    fn apply_ctr(&self, tag: &[u8], data: &mut [u8]) {
        match Aes256Ctr::new_from_slices(self.cipher.expose(), &tag[..IV_LEN]) {
            Ok(mut cipher) => cipher.apply_keystream(data),
            Err(_) => unreachable!("key and IV lengths are fixed above"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsCrypt {
    send: DirectionKeys,
    recv: DirectionKeys,
    /// tls-crypt-v2: the client key wrapped by the server key, sent after the first packet.
    wrapped_key: Option<Vec<u8>>,
}

impl TlsCrypt {
    /// `send`/`recv` are the client's slots: a client sends with direction 1.
    pub fn new(send: &SlotPair, recv: &SlotPair) -> Self {
        TlsCrypt {
            send: DirectionKeys::from_slots(send),
            recv: DirectionKeys::from_slots(recv),
            wrapped_key: None,
        }
    }

    /// tls-crypt-v2: Kc used as a tls-crypt key, WKc appended to the first packet.
    pub fn v2(send: &SlotPair, recv: &SlotPair, wrapped_key: Vec<u8>) -> Self {
        TlsCrypt {
            wrapped_key: Some(wrapped_key),
            ..Self::new(send, recv)
        }
    }

    pub fn is_v2(&self) -> bool {
        self.wrapped_key.is_some()
    }

    pub fn wrapped_key(&self) -> Option<&[u8]> {
        self.wrapped_key.as_deref()
    }

    pub(super) fn seal(
        &self,
        header: [u8; HEADER_LEN],
        replay: Replay,
        body: &[u8],
        with_wkc: bool,
    ) -> Vec<u8> {
        let mut replay_bytes = [0u8; 8];
        replay_bytes[..4].copy_from_slice(&replay.packet_id.to_be_bytes());
        replay_bytes[4..].copy_from_slice(&replay.net_time.to_be_bytes());
        let tag = self.send.tag(&header, &replay_bytes, body);
        let mut ciphertext = body.to_vec();
        self.send.apply_ctr(&tag, &mut ciphertext);
        let wkc = match &self.wrapped_key {
            Some(w) if with_wkc => &w[..],
            _ => &[],
        };
        [&header[..], &replay_bytes, &tag, &ciphertext, wkc].concat()
    }

    pub(super) fn open<'a>(&self, packet: &'a [u8]) -> Result<Opened<'a>, Rejection> {
        if packet.len() < OVERHEAD {
            return Err(Rejection::Malformed);
        }
        let header = &packet[..HEADER_LEN];
        let replay = &packet[HEADER_LEN..HEADER_LEN + 8];
        let tag = &packet[HEADER_LEN + 8..OVERHEAD];
        let mut body = packet[OVERHEAD..].to_vec();
        self.recv.apply_ctr(tag, &mut body);
        let expected = self.recv.tag(header, replay, &body);
        let auth = if constant_time_eq(&expected, tag) {
            Ok(Auth::Verified)
        } else {
            Err(())
        };
        Ok(Opened {
            header,
            body: Cow::Owned(body),
            auth,
        })
    }
}
