//! The data-channel ciphers: AEAD through `ring`, AES-CBC through RustCrypto's `cbc` with an
//! HMAC from [`crate::digest`].

use super::keys::KeySlot;
use crate::digest::Digest;
use aes::{Aes128, Aes256};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ring::aead;
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// AEAD tag length (all three AEAD ciphers).
pub const TAG_LEN: usize = 16;
/// CBC block and explicit IV length.
pub const CBC_BLOCK: usize = 16;
/// Length of the implicit IV an AEAD key takes from its HMAC slot.
pub const IMPLICIT_IV_LEN: usize = 8;

/// The data-channel ciphers this codec speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
}

/// A cipher name this codec does not implement (e.g. BF-CBC, AES-192-GCM).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data cipher '{0}' is not implemented")]
pub struct UnknownCipher(pub String);

impl DataCipher {
    /// In the order of a 2.6 client's default `data-ciphers`, then CBC.
    pub const ALL: [DataCipher; 5] = [
        DataCipher::Aes256Gcm,
        DataCipher::Aes128Gcm,
        DataCipher::ChaCha20Poly1305,
        DataCipher::Aes256Cbc,
        DataCipher::Aes128Cbc,
    ];

    /// The name OpenVPN uses in `cipher`, `data-ciphers` and `IV_CIPHERS`.
    pub fn name(self) -> &'static str {
        match self {
            DataCipher::Aes128Gcm => "AES-128-GCM",
            DataCipher::Aes256Gcm => "AES-256-GCM",
            DataCipher::ChaCha20Poly1305 => "CHACHA20-POLY1305",
            DataCipher::Aes128Cbc => "AES-128-CBC",
            DataCipher::Aes256Cbc => "AES-256-CBC",
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            DataCipher::Aes128Gcm | DataCipher::Aes128Cbc => 16,
            DataCipher::Aes256Gcm | DataCipher::ChaCha20Poly1305 | DataCipher::Aes256Cbc => 32,
        }
    }

    /// The value of `IV_CIPHERS` for a client that speaks every cipher here.
    pub fn iv_ciphers() -> String {
        DataCipher::ALL.map(DataCipher::name).join(":")
    }

    pub fn is_aead(self) -> bool {
        !matches!(self, DataCipher::Aes128Cbc | DataCipher::Aes256Cbc)
    }
}

impl fmt::Display for DataCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataCipher {
    type Err = UnknownCipher;

    /// Case-insensitive, as OpenVPN's cipher names are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        DataCipher::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownCipher(t.to_string()))
    }
}

/// One direction's keys, ready to use. Debug shows only the algorithm.
pub(crate) enum Crypt {
    Aead {
        key: Box<aead::LessSafeKey>,
        implicit_iv: Zeroizing<[u8; IMPLICIT_IV_LEN]>,
    },
    Cbc {
        key: Zeroizing<Vec<u8>>,
        digest: Digest,
        hmac_key: Zeroizing<Vec<u8>>,
    },
}

impl fmt::Debug for Crypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crypt::Aead { key, .. } => write!(f, "Aead({:?})", key.algorithm()),
            Crypt::Cbc { key, digest, .. } => write!(f, "Cbc(AES-{}, {digest})", key.len() * 8),
        }
    }
}

/// The cipher did not accept the packet: a bad tag, a bad HMAC or bad padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    Authentication,
    Padding,
    Length,
}

impl Crypt {
    pub(crate) fn new(cipher: DataCipher, auth: Digest, slot: KeySlot<'_>) -> Crypt {
        let algorithm = match cipher {
            DataCipher::Aes128Gcm => &aead::AES_128_GCM,
            DataCipher::Aes256Gcm => &aead::AES_256_GCM,
            DataCipher::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
            DataCipher::Aes128Cbc | DataCipher::Aes256Cbc => {
                return Crypt::Cbc {
                    key: Zeroizing::new(slot.cipher(cipher.key_len()).to_vec()),
                    digest: auth,
                    hmac_key: Zeroizing::new(slot.hmac(auth.output_len()).to_vec()),
                };
            }
        };
        let key = match aead::UnboundKey::new(algorithm, slot.cipher(cipher.key_len())) {
            Ok(key) => Box::new(aead::LessSafeKey::new(key)),
            // The slot is 64 bytes and key_len() is the algorithm's own length.
            Err(_) => unreachable!("key length matches the algorithm"),
        };
        let mut implicit_iv = Zeroizing::new([0u8; IMPLICIT_IV_LEN]);
        implicit_iv.copy_from_slice(slot.hmac(IMPLICIT_IV_LEN));
        Crypt::Aead { key, implicit_iv }
    }

    fn nonce(implicit_iv: &[u8; IMPLICIT_IV_LEN], packet_id: u32) -> aead::Nonce {
        let mut n = [0u8; aead::NONCE_LEN];
        n[..4].copy_from_slice(&packet_id.to_be_bytes());
        n[4..].copy_from_slice(implicit_iv);
        aead::Nonce::assume_unique_for_key(n)
    }

    /// AEAD: seals `in_out` in place and returns the tag.
    pub(crate) fn seal_aead(
        key: &aead::LessSafeKey,
        implicit_iv: &[u8; IMPLICIT_IV_LEN],
        packet_id: u32,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let nonce = Self::nonce(implicit_iv, packet_id);
        let mut out = [0u8; TAG_LEN];
        match key.seal_in_place_separate_tag(nonce, aead::Aad::from(aad), in_out) {
            Ok(tag) => out.copy_from_slice(tag.as_ref()),
            // ring refuses only inputs over 2^36 bytes; a datagram is far smaller.
            Err(_) => unreachable!("datagram within AEAD limits"),
        }
        out
    }

    /// AEAD: opens `in_out` in place; on success it holds the plaintext.
    pub(crate) fn open_aead(
        key: &aead::LessSafeKey,
        implicit_iv: &[u8; IMPLICIT_IV_LEN],
        packet_id: u32,
        aad: &[u8],
        tag: &[u8],
        in_out: &mut [u8],
    ) -> Result<(), OpenError> {
        let nonce = Self::nonce(implicit_iv, packet_id);
        let tag = aead::Tag::try_from(tag).map_err(|_| OpenError::Length)?;
        key.open_in_place_separate_tag(nonce, aead::Aad::from(aad), tag, in_out, 0..)
            .map(|_| ())
            .map_err(|_| OpenError::Authentication)
    }

    /// CBC: encrypts `buf[..msg_len]` in place with PKCS#7 padding; `buf` must have room for
    /// up to one more block. Returns the ciphertext length.
    pub(crate) fn cbc_encrypt(
        key: &[u8],
        iv: &[u8; CBC_BLOCK],
        buf: &mut [u8],
        msg_len: usize,
    ) -> Result<usize, OpenError> {
        let r = match key.len() {
            16 => cbc::Encryptor::<Aes128>::new_from_slices(key, iv)
                .map_err(|_| OpenError::Length)?
                .encrypt_padded::<Pkcs7>(buf, msg_len)
                .map(|c| c.len()),
            _ => cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
                .map_err(|_| OpenError::Length)?
                .encrypt_padded::<Pkcs7>(buf, msg_len)
                .map(|c| c.len()),
        };
        r.map_err(|_| OpenError::Length)
    }

    /// CBC: decrypts `buf` in place and strips the padding. Returns the plaintext length.
    pub(crate) fn cbc_decrypt(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<usize, OpenError> {
        if buf.is_empty() || !buf.len().is_multiple_of(CBC_BLOCK) {
            return Err(OpenError::Length);
        }
        let r = match key.len() {
            16 => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
                .map_err(|_| OpenError::Length)?
                .decrypt_padded::<Pkcs7>(buf)
                .map(|p| p.len()),
            _ => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
                .map_err(|_| OpenError::Length)?
                .decrypt_padded::<Pkcs7>(buf)
                .map(|p| p.len()),
        };
        r.map_err(|_| OpenError::Padding)
    }
}

/// Equality in time that depends only on the lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for c in DataCipher::ALL {
            assert_eq!(c.name().to_lowercase().parse::<DataCipher>().unwrap(), c);
        }
        assert!("BF-CBC".parse::<DataCipher>().is_err());
        assert_eq!(
            DataCipher::iv_ciphers(),
            "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305:AES-256-CBC:AES-128-CBC"
        );
    }
}
