//! Signing with RSA client keys that ring does not load: OpenVPN 2.6's default
//! certificate profile takes RSA keys from 1024 bits, ring from 2048. RustCrypto's `rsa`
//! signs behind rustls's [`SigningKey`] trait for those keys only; every key ring loads
//! stays with ring, and nothing on the verifying side changes.

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PrivateKey};
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use std::sync::Arc;

/// The sizes OpenVPN 2.6 takes by default (`tls-cert-profile legacy`: RSA from 1024
/// bits); above 8192 no TLS stack signs.
pub const MIN_BITS: usize = 1024;
pub const MAX_BITS: usize = 8192;

/// Why an RSA key is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key's size, outside [`MIN_BITS`]..=[`MAX_BITS`].
    Size(usize),
    /// Not an RSA key (or not one that parses).
    NotRsa,
}

/// An RSA private key for client authentication.
pub struct RsaKey {
    key: Arc<PrivateKey>,
    spki: Vec<u8>,
    bits: usize,
}

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaKey({} bits)", self.bits)
    }
}

impl RsaKey {
    /// Parses a PKCS#1 or PKCS#8 RSA key of a size OpenVPN takes.
    pub fn from_der(der: &PrivateKeyDer<'_>) -> Result<RsaKey, Refusal> {
        let key = match der {
            PrivateKeyDer::Pkcs1(k) => {
                PrivateKey::from_pkcs1_der(k.secret_pkcs1_der()).map_err(|_| Refusal::NotRsa)?
            }
            PrivateKeyDer::Pkcs8(k) => {
                PrivateKey::from_pkcs8_der(k.secret_pkcs8_der()).map_err(|_| Refusal::NotRsa)?
            }
            _ => return Err(Refusal::NotRsa),
        };
        let bits = key.n().bit_width() as usize;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(Refusal::Size(bits));
        }
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| Refusal::NotRsa)?
            .as_bytes()
            .to_vec();
        Ok(RsaKey {
            key: Arc::new(key),
            spki,
            bits,
        })
    }

    pub fn bits(&self) -> usize {
        self.bits
    }
}

/// The schemes offered, best first: PSS (TLS 1.3 takes only these) where the key is large
/// enough for the hash and a salt of its size, then PKCS#1 v1.5.
const SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA256,
];

fn hash_len(scheme: SignatureScheme) -> usize {
    match scheme {
        SignatureScheme::RSA_PSS_SHA512 | SignatureScheme::RSA_PKCS1_SHA512 => 64,
        SignatureScheme::RSA_PSS_SHA384 | SignatureScheme::RSA_PKCS1_SHA384 => 48,
        _ => 32,
    }
}

fn is_pss(scheme: SignatureScheme) -> bool {
    matches!(
        scheme,
        SignatureScheme::RSA_PSS_SHA256
            | SignatureScheme::RSA_PSS_SHA384
            | SignatureScheme::RSA_PSS_SHA512
    )
}

impl SigningKey for RsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let size = self.key.size();
        SCHEMES
            .iter()
            .filter(|s| offered.contains(s))
            // EMSA-PSS needs the hash, a salt of the hash's size and two bytes.
            .find(|s| !is_pss(**s) || 2 * hash_len(**s) + 2 <= size)
            .map(|&scheme| {
                Box::new(RsaSigner {
                    key: self.key.clone(),
                    scheme,
                }) as Box<dyn Signer>
            })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

struct RsaSigner {
    key: Arc<PrivateKey>,
    scheme: SignatureScheme,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaSigner({:?})", self.scheme)
    }
}

impl Signer for RsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        use rsa::pss::Pss;
        let result = match self.scheme {
            SignatureScheme::RSA_PSS_SHA512 => self
                .key
                .sign(Pss::<Sha512>::new(), &Sha512::digest(message)),
            SignatureScheme::RSA_PSS_SHA384 => self
                .key
                .sign(Pss::<Sha384>::new(), &Sha384::digest(message)),
            SignatureScheme::RSA_PSS_SHA256 => self
                .key
                .sign(Pss::<Sha256>::new(), &Sha256::digest(message)),
            SignatureScheme::RSA_PKCS1_SHA512 => self
                .key
                .sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message)),
            SignatureScheme::RSA_PKCS1_SHA384 => self
                .key
                .sign(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message)),
            _ => self
                .key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message)),
        };
        result.map_err(|e| rustls::Error::General(format!("RSA signature: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
