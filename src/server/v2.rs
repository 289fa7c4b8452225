//! A tls-crypt-v2 client key made in memory from the server's key, as `openvpn --genkey
//! tls-crypt-v2-client` makes one, so that the probe speaks to a tls-crypt-v2 server
//! with nothing written to disk.
//!
//! The server key is 128 bytes: a cipher slot (64) and an HMAC slot (64), of which
//! AES-256-CTR and HMAC-SHA256 use the first 32 bytes each. A client key is Kc (256
//! random bytes) and WKc = T | AES-256-CTR(Ke, iv = T[..16], Kc | metadata) | len, where
//! T = HMAC-SHA256(Ka, len | Kc | metadata) and len (big-endian u16) is WKc's length.
//! The metadata is a timestamp (type 1, then Unix seconds as a big-endian i64), what
//! OpenVPN writes by default and what `tls-crypt-v2-max-age` reads.

use crate::digest::Digest;
use crate::keys::static_keys::{StaticKey, V2ClientKey};
use base64::Engine as _;
use ctr::cipher::{KeyIvInit, StreamCipher};
use zeroize::Zeroizing;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

const SERVER_BEGIN: &str = "-----BEGIN OpenVPN tls-crypt-v2 server key-----";
const SERVER_END: &str = "-----END OpenVPN tls-crypt-v2 server key-----";
const SERVER_KEY_LEN: usize = 128;
const CLIENT_KEY_LEN: usize = 256;
const TAG_LEN: usize = 32;
const METADATA_TIMESTAMP: u8 = 0x01;

/// A tls-crypt-v2 server key (wiped when dropped; never shown by Debug).
pub struct V2ServerKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for V2ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("V2ServerKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V2KeyError {
    #[error("{0} is not a tls-crypt-v2 server key (no '{SERVER_BEGIN}' line)")]
    NotServerKey(String),
    #[error("{0}: the tls-crypt-v2 server key is damaged ({1})")]
    Damaged(String, String),
    #[error("no random numbers from the system: {0}")]
    Random(String),
}

impl V2ServerKey {
    pub fn parse(text: &str, name: &str) -> Result<Self, V2KeyError> {
        let mut lines = text.lines().map(str::trim);
        if !lines.any(|l| l == SERVER_BEGIN) {
            return Err(V2KeyError::NotServerKey(name.into()));
        }
        let mut encoded = Zeroizing::new(String::new());
        let mut ended = false;
        for l in lines {
            if l == SERVER_END {
                ended = true;
                break;
            }
            encoded.push_str(l);
        }
        let damaged = |why: &str| V2KeyError::Damaged(name.into(), why.into());
        if !ended {
            return Err(damaged("no END line"));
        }
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|_| damaged("its base64 does not decode"))?,
        );
        if bytes.len() != SERVER_KEY_LEN {
            return Err(damaged("it does not hold 128 bytes"));
        }
        Ok(V2ServerKey(bytes))
    }

    fn cipher_key(&self) -> &[u8] {
        &self.0[..32]
    }

    fn hmac_key(&self) -> &[u8] {
        &self.0[64..96]
    }

    /// Wraps `kc` with `metadata` into a client key, as OpenVPN does.
    pub fn wrap(&self, kc: &[u8; CLIENT_KEY_LEN], metadata: &[u8]) -> V2ClientKey {
        let total = TAG_LEN + CLIENT_KEY_LEN + metadata.len() + 2;
        let len = (total as u16).to_be_bytes();
        let tag = Digest::Sha256.hmac(self.hmac_key(), &[&len, kc, metadata]);
        let mut body = Zeroizing::new(Vec::with_capacity(CLIENT_KEY_LEN + metadata.len()));
        body.extend_from_slice(kc);
        body.extend_from_slice(metadata);
        if let Ok(mut c) = Aes256Ctr::new_from_slices(self.cipher_key(), &tag[..16]) {
            c.apply_keystream(&mut body);
        }
        let mut wkc = Vec::with_capacity(total);
        wkc.extend_from_slice(&tag[..TAG_LEN]);
        wkc.extend_from_slice(&body);
        wkc.extend_from_slice(&len);
        V2ClientKey {
            kc: StaticKey::from_bytes(*kc),
            wkc,
        }
    }

    /// A fresh client key with a timestamp, as `--genkey tls-crypt-v2-client` makes it.
    pub fn new_client_key(&self, now_unix: i64) -> Result<V2ClientKey, V2KeyError> {
        let mut kc = Zeroizing::new([0u8; CLIENT_KEY_LEN]);
        getrandom::fill(&mut kc[..]).map_err(|e| V2KeyError::Random(e.to_string()))?;
        let mut metadata = vec![METADATA_TIMESTAMP];
        metadata.extend_from_slice(&now_unix.to_be_bytes());
        Ok(self.wrap(&kc, &metadata))
    }

    /// Unwraps a client key's WKc; `None` when its tag does not verify. For tests
    /// against keys OpenVPN made.
    pub fn unwrap(&self, wkc: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        if wkc.len() < TAG_LEN + CLIENT_KEY_LEN + 2 {
            return None;
        }
        let (tag, rest) = wkc.split_at(TAG_LEN);
        let (cipher, len) = rest.split_at(rest.len() - 2);
        let mut plain = cipher.to_vec();
        let mut c = Aes256Ctr::new_from_slices(self.cipher_key(), &tag[..16]).ok()?;
        c.apply_keystream(&mut plain);
        let check = Digest::Sha256.hmac(self.hmac_key(), &[len, &plain]);
        if check[..TAG_LEN] != *tag {
            return None;
        }
        let metadata = plain.split_off(CLIENT_KEY_LEN);
        Some((plain, metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_then_unwrap_round_trips_and_lengths_match() {
        let key = V2ServerKey(Zeroizing::new((0..128u8).collect()));
        let kc = [7u8; CLIENT_KEY_LEN];
        let ck = key.wrap(&kc, &[1, 0, 0, 0, 0, 0, 0, 0, 42]);
        assert_eq!(ck.wkc.len(), 32 + 256 + 9 + 2);
        let declared = u16::from_be_bytes([ck.wkc[ck.wkc.len() - 2], ck.wkc[ck.wkc.len() - 1]]);
        assert_eq!(declared as usize, ck.wkc.len());
        let (back, meta) = key.unwrap(&ck.wkc).unwrap();
        assert_eq!(back, kc.to_vec());
        assert_eq!(meta, vec![1, 0, 0, 0, 0, 0, 0, 0, 42]);
        let mut bad = ck.wkc.clone();
        bad[40] ^= 1;
        assert!(key.unwrap(&bad).is_none());
    }

    #[test]
    fn debug_shows_no_key() {
        let key = V2ServerKey(Zeroizing::new(vec![0xab; 128]));
        assert_eq!(format!("{key:?}"), "V2ServerKey(..)");
    }
}
