//! Data-channel key material: OpenVPN's `struct key2` (two keys of cipher[64] || hmac[64]),
//! from TLS-EKM or from OpenVPN's TLS 1.0 PRF over the key-method 2 randoms.

use crate::digest::Digest;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Length of the whole key block (`struct key2`: two keys of 128 bytes).
pub const KEY_BLOCK_LEN: usize = 256;
/// The TLS exporter label OpenVPN 2.6+ uses when `tls-ekm` is negotiated (no context).
pub const EKM_LABEL: &[u8] = b"EXPORTER-OpenVPN-datakeys";
/// Length of the random part of the client's key-method 2 message:
/// pre_master[48] || random1[32] || random2[32].
pub const CLIENT_RANDOM_LEN: usize = 112;
/// Length of the random part of the server's key-method 2 message: random1[32] || random2[32].
pub const SERVER_RANDOM_LEN: usize = 64;

const KEY_LEN: usize = 128;
const CIPHER_SLOT: usize = 64;

/// Which end of the tunnel a codec speaks for: the client sends with the first key of the
/// block and receives with the second (`KEY_DIRECTION_NORMAL`); a server the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// The 256-byte key block. Zeroized on drop; its Debug output shows no byte of it.
#[derive(Clone)]
pub struct KeyBlock(Zeroizing<[u8; KEY_BLOCK_LEN]>);

impl fmt::Debug for KeyBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBlock(<secret>)")
    }
}

/// The exported keying material does not have the length OpenVPN asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("exported keying material has {0} bytes, not {KEY_BLOCK_LEN}")]
pub struct EkmLength(pub usize);

impl KeyBlock {
    /// Keys from TLS-EKM: the 256 bytes the TLS library exported with [`EKM_LABEL`] and no
    /// context (rustls: `export_keying_material(out, EKM_LABEL, None)`).
    pub fn from_ekm(exported: &[u8]) -> Result<Self, EkmLength> {
        let mut block = Zeroizing::new([0u8; KEY_BLOCK_LEN]);
        if exported.len() != KEY_BLOCK_LEN {
            return Err(EkmLength(exported.len()));
        }
        block.copy_from_slice(exported);
        Ok(KeyBlock(block))
    }

    /// Keys from OpenVPN's PRF (`ssl.c:generate_key_expansion_openvpn_prf`):
    /// master = PRF(pre_master, "OpenVPN master secret", client random1 || server random1),
    /// block = PRF(master, "OpenVPN key expansion", client random2 || server random2 ||
    /// client session id || server session id).
    ///
    /// `client` is the random part of the client's key-method 2 message (pre_master,
    /// random1, random2), `server` that of the server's (random1, random2).
    pub fn from_prf(
        client: &[u8; CLIENT_RANDOM_LEN],
        server: &[u8; SERVER_RANDOM_LEN],
        client_session_id: &[u8; 8],
        server_session_id: &[u8; 8],
    ) -> Self {
        let pre_master = &client[..48];
        let (c_random1, c_random2) = (&client[48..80], &client[80..112]);
        let (s_random1, s_random2) = (&server[..32], &server[32..64]);
        let mut master = Zeroizing::new([0u8; 48]);
        tls1_prf(
            pre_master,
            &[b"OpenVPN master secret", c_random1, s_random1],
            &mut master[..],
        );
        let mut block = Zeroizing::new([0u8; KEY_BLOCK_LEN]);
        tls1_prf(
            &master[..],
            &[
                b"OpenVPN key expansion",
                c_random2,
                s_random2,
                client_session_id,
                server_session_id,
            ],
            &mut block[..],
        );
        KeyBlock(block)
    }

    /// The raw block, for known-answer tests.
    pub fn as_bytes(&self) -> &[u8; KEY_BLOCK_LEN] {
        &self.0
    }

    /// The (send, receive) keys of `side`.
    pub(crate) fn directions(&self, side: Side) -> (KeySlot<'_>, KeySlot<'_>) {
        let first = KeySlot(&self.0[..KEY_LEN]);
        let second = KeySlot(&self.0[KEY_LEN..]);
        match side {
            Side::Client => (first, second),
            Side::Server => (second, first),
        }
    }
}

/// One `struct key`: cipher[64] || hmac[64].
#[derive(Clone, Copy)]
pub(crate) struct KeySlot<'a>(&'a [u8]);

impl<'a> KeySlot<'a> {
    pub(crate) fn cipher(&self, len: usize) -> &'a [u8] {
        &self.0[..len.min(CIPHER_SLOT)]
    }
    pub(crate) fn hmac(&self, len: usize) -> &'a [u8] {
        &self.0[CIPHER_SLOT..CIPHER_SLOT + len.min(CIPHER_SLOT)]
    }
}

/// The TLS 1.0 PRF (RFC 2246 section 5): P_MD5 over the first half of the secret XOR P_SHA1
/// over the second half (the halves share the middle byte of an odd-length secret). The
/// label is the first part of `seed`.
pub fn tls1_prf(secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let half = secret.len().div_ceil(2);
    let s1 = &secret[..half];
    let s2 = &secret[secret.len() - half..];
    out.fill(0);
    p_hash(Digest::Md5, s1, seed, out);
    p_hash(Digest::Sha1, s2, seed, out);
}

/// XORs P_hash(secret, seed) into `out`.
fn p_hash(digest: Digest, secret: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    // A(1) = HMAC(secret, seed)
    let mut a = Zeroizing::new(digest.hmac(secret, seed));
    let mut done = 0;
    while done < out.len() {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
        parts.push(&a);
        parts.extend_from_slice(seed);
        let mut chunk = Zeroizing::new(digest.hmac(secret, &parts));
        for (o, c) in out[done..].iter_mut().zip(chunk.iter()) {
            *o ^= c;
        }
        done += chunk.len();
        chunk.zeroize();
        let next = Zeroizing::new(digest.hmac(secret, &[&a]));
        a = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ekm_must_be_256_bytes() {
        assert_eq!(KeyBlock::from_ekm(&[0; 255]).unwrap_err(), EkmLength(255));
        assert!(KeyBlock::from_ekm(&[7; 256]).is_ok());
    }

    #[test]
    fn debug_shows_no_key_byte() {
        let block = KeyBlock::from_ekm(&[0xab; 256]).unwrap();
        let text = format!("{block:?}");
        assert!(!text.contains("ab") && !text.contains("171"), "{text}");
    }

    #[test]
    fn client_and_server_directions_are_crossed() {
        let mut bytes = [0u8; 256];
        bytes[128..].fill(1);
        let block = KeyBlock::from_ekm(&bytes).unwrap();
        let (c_send, c_recv) = block.directions(Side::Client);
        let (s_send, s_recv) = block.directions(Side::Server);
        assert_eq!(c_send.cipher(32), &[0u8; 32]);
        assert_eq!(c_recv.cipher(32), &[1u8; 32]);
        assert_eq!(c_send.hmac(20), s_recv.hmac(20));
        assert_eq!(c_recv.hmac(20), s_send.hmac(20));
    }
}
