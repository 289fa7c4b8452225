//! The signature algorithms and key exchange an OpenVPN 2.6 client accepts by default
//! (OpenSSL's `legacy` certificate profile) where *ring* has none: ECDSA on P-521, RSA
//! keys of 1024 to 2047 bits, and RSA-PSS (`rsassa-pss`) keys; and the secp521r1 group.
//! They come from RustCrypto (`p521`, `rsa`) behind the traits rustls and webpki already
//! use ([`SignatureVerificationAlgorithm`], [`SupportedKxGroup`]), so that certificate
//! paths, handshake signatures and key exchange keep one code path: every algorithm ring
//! has still goes through ring, first.

use rustls::crypto::{
    ActiveKeyExchange, SharedSecret, SupportedKxGroup, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};
use rustls::{NamedGroup, SignatureScheme};
use sha2::{Digest, Sha256, Sha384, Sha512};
use webpki::ring as ring_algs;

/// The hash of a signature algorithm.
#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// ECDSA with a P-521 key, DER signatures (X.509 and TLS alike).
#[derive(Debug)]
struct EcdsaP521(Hash);

impl SignatureVerificationAlgorithm for EcdsaP521 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::hazmat::PrehashVerifier;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p521::ecdsa::DerSignature::from_bytes(signature).map_err(|_| InvalidSignature)?;
        key.verify_prehash(&self.0.digest(message), &sig)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.0 {
            Hash::Sha256 => alg_id::ECDSA_SHA256,
            Hash::Sha384 => alg_id::ECDSA_SHA384,
            Hash::Sha512 => alg_id::ECDSA_SHA512,
        }
    }
}

/// The padding of an RSA signature.
#[derive(Debug, Clone, Copy)]
enum Padding {
    Pkcs1,
    /// PSS with MGF1 of the same hash and a salt of the hash's length (TLS, and
    /// webpki's PSS algorithm identifiers).
    Pss,
}

/// The `rsassa-pss` key algorithm (RFC 4055) without parameters, as OpenSSL writes an
/// RSA-PSS key that carries no restrictions.
const RSASSA_PSS_KEY: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
]);

/// RSA of 1024 to 8192 bits (the `rsa` crate's limits, OpenVPN's `legacy` profile's
/// floor), for an `rsaEncryption` key or, with `pss_key`, an `rsassa-pss` one. Where ring
/// has the algorithm (2048 bits and more, `rsaEncryption` keys), ring verifies first; the
/// `rsa` crate only where ring says no. webpki takes the first algorithm whose identifiers
/// match, so the two must be one algorithm to it.
#[derive(Debug)]
struct Rsa {
    padding: Padding,
    hash: Hash,
    pss_key: bool,
    ring: Option<&'static dyn SignatureVerificationAlgorithm>,
}

impl SignatureVerificationAlgorithm for Rsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        if let Some(ring) = self.ring {
            if ring
                .verify_signature(public_key, message, signature)
                .is_ok()
            {
                return Ok(());
            }
        }
        let key = rsa::PublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        match self.hash {
            Hash::Sha256 => verify_rsa::<Sha256>(key, self.padding, message, signature),
            Hash::Sha384 => verify_rsa::<Sha384>(key, self.padding, message, signature),
            Hash::Sha512 => verify_rsa::<Sha512>(key, self.padding, message, signature),
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        if self.pss_key {
            RSASSA_PSS_KEY
        } else {
            alg_id::RSA_ENCRYPTION
        }
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match (self.padding, self.hash) {
            (Padding::Pkcs1, Hash::Sha256) => alg_id::RSA_PKCS1_SHA256,
            (Padding::Pkcs1, Hash::Sha384) => alg_id::RSA_PKCS1_SHA384,
            (Padding::Pkcs1, Hash::Sha512) => alg_id::RSA_PKCS1_SHA512,
            (Padding::Pss, Hash::Sha256) => alg_id::RSA_PSS_SHA256,
            (Padding::Pss, Hash::Sha384) => alg_id::RSA_PSS_SHA384,
            (Padding::Pss, Hash::Sha512) => alg_id::RSA_PSS_SHA512,
        }
    }
}

/// An RSA signature with hash `D`.
fn verify_rsa<D>(
    key: rsa::PublicKey,
    padding: Padding,
    message: &[u8],
    signature: &[u8],
) -> Result<(), InvalidSignature>
where
    D: Digest + sha2::digest::FixedOutputReset + rsa::pkcs8::spki::der::oid::AssociatedOid,
{
    use rsa::signature::Verifier;
    let ok = match padding {
        Padding::Pkcs1 => {
            let sig =
                rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| InvalidSignature)?;
            rsa::pkcs1v15::VerifyingKey::<D>::new(key).verify(message, &sig)
        }
        Padding::Pss => {
            let sig = rsa::pss::Signature::try_from(signature).map_err(|_| InvalidSignature)?;
            rsa::pss::VerifyingKey::<D>::new(key).verify(message, &sig)
        }
    };
    ok.map_err(|_| InvalidSignature)
}

static ECDSA_P521_SHA256: &dyn SignatureVerificationAlgorithm = &EcdsaP521(Hash::Sha256);
static ECDSA_P521_SHA384: &dyn SignatureVerificationAlgorithm = &EcdsaP521(Hash::Sha384);
static ECDSA_P521_SHA512: &dyn SignatureVerificationAlgorithm = &EcdsaP521(Hash::Sha512);

macro_rules! rsa_alg {
    ($name:ident, $padding:ident, $hash:ident, $pss_key:expr, $ring:expr) => {
        static $name: &dyn SignatureVerificationAlgorithm = &Rsa {
            padding: Padding::$padding,
            hash: Hash::$hash,
            pss_key: $pss_key,
            ring: $ring,
        };
    };
}
rsa_alg!(
    RSA_PKCS1_SHA256,
    Pkcs1,
    Sha256,
    false,
    Some(ring_algs::RSA_PKCS1_2048_8192_SHA256)
);
rsa_alg!(
    RSA_PKCS1_SHA384,
    Pkcs1,
    Sha384,
    false,
    Some(ring_algs::RSA_PKCS1_2048_8192_SHA384)
);
rsa_alg!(
    RSA_PKCS1_SHA512,
    Pkcs1,
    Sha512,
    false,
    Some(ring_algs::RSA_PKCS1_2048_8192_SHA512)
);
rsa_alg!(
    RSA_PSS_SHA256,
    Pss,
    Sha256,
    false,
    Some(ring_algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY)
);
rsa_alg!(
    RSA_PSS_SHA384,
    Pss,
    Sha384,
    false,
    Some(ring_algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY)
);
rsa_alg!(
    RSA_PSS_SHA512,
    Pss,
    Sha512,
    false,
    Some(ring_algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY)
);
rsa_alg!(PSS_KEY_PSS_SHA256, Pss, Sha256, true, None);
rsa_alg!(PSS_KEY_PSS_SHA384, Pss, Sha384, true, None);
rsa_alg!(PSS_KEY_PSS_SHA512, Pss, Sha512, true, None);

/// TLS's `rsa_pss_pss_sha256` .. `_sha512` (RFC 8446): PSS by an `rsassa-pss` key.
pub const RSA_PSS_PSS_SHA256: SignatureScheme = SignatureScheme::Unknown(0x0809);
pub const RSA_PSS_PSS_SHA384: SignatureScheme = SignatureScheme::Unknown(0x080a);
pub const RSA_PSS_PSS_SHA512: SignatureScheme = SignatureScheme::Unknown(0x080b);

/// Everything the check verifies, in certificates and handshake signatures: what rustls's
/// ring provider lists (its RSA through [`Rsa`], which asks ring first), then RustCrypto's
/// for what ring lacks. In `mapping` each scheme's own algorithm comes first (TLS 1.3 uses
/// only that one); TLS 1.2 tries the rest too, since its ECDSA schemes do not name the
/// curve.
pub static SUPPORTED: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        ring_algs::ECDSA_P256_SHA256,
        ring_algs::ECDSA_P256_SHA384,
        ring_algs::ECDSA_P384_SHA256,
        ring_algs::ECDSA_P384_SHA384,
        ring_algs::ED25519,
        ring_algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        ring_algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        ring_algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        ECDSA_P521_SHA256,
        ECDSA_P521_SHA384,
        ECDSA_P521_SHA512,
        RSA_PKCS1_SHA256,
        RSA_PKCS1_SHA384,
        RSA_PKCS1_SHA512,
        RSA_PSS_SHA256,
        RSA_PSS_SHA384,
        RSA_PSS_SHA512,
        PSS_KEY_PSS_SHA256,
        PSS_KEY_PSS_SHA384,
        PSS_KEY_PSS_SHA512,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[
                ring_algs::ECDSA_P384_SHA384,
                ring_algs::ECDSA_P256_SHA384,
                ECDSA_P521_SHA384,
            ],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[
                ring_algs::ECDSA_P256_SHA256,
                ring_algs::ECDSA_P384_SHA256,
                ECDSA_P521_SHA256,
            ],
        ),
        (SignatureScheme::ECDSA_NISTP521_SHA512, &[ECDSA_P521_SHA512]),
        (SignatureScheme::ED25519, &[ring_algs::ED25519]),
        (SignatureScheme::RSA_PSS_SHA512, &[RSA_PSS_SHA512]),
        (SignatureScheme::RSA_PSS_SHA384, &[RSA_PSS_SHA384]),
        (SignatureScheme::RSA_PSS_SHA256, &[RSA_PSS_SHA256]),
        (RSA_PSS_PSS_SHA512, &[PSS_KEY_PSS_SHA512]),
        (RSA_PSS_PSS_SHA384, &[PSS_KEY_PSS_SHA384]),
        (RSA_PSS_PSS_SHA256, &[PSS_KEY_PSS_SHA256]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[RSA_PKCS1_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[RSA_PKCS1_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[RSA_PKCS1_SHA256]),
    ],
};

/// Key exchange on secp521r1 (P-521), RustCrypto's `p521`, uncompressed points as TLS
/// sends them.
#[derive(Debug)]
pub struct Secp521r1;

pub static SECP521R1: &dyn SupportedKxGroup = &Secp521r1;

impl SupportedKxGroup for Secp521r1 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        use p521::elliptic_curve::sec1::ToSec1Point;
        use p521::elliptic_curve::Generate;
        let secret = p521::ecdh::EphemeralSecret::try_generate()
            .map_err(|_| rustls::Error::FailedToGetRandomBytes)?;
        let pub_key = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
        Ok(Box::new(P521Exchange { secret, pub_key }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

struct P521Exchange {
    secret: p521::ecdh::EphemeralSecret,
    pub_key: Vec<u8>,
}

impl ActiveKeyExchange for P521Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        // from_sec1_bytes refuses the identity and points off the curve.
        let peer = p521::PublicKey::from_sec1_bytes(peer_pub_key)
            .map_err(|_| rustls::Error::from(rustls::PeerMisbehaved::InvalidKeyShare))?;
        let shared = self.secret.diffie_hellman(&peer);
        Ok(SharedSecret::from(&shared.raw_secret_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.pub_key
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

/// Loads client keys: ring's kinds first, then an ECDSA P-521 key (PKCS#8 or SEC1), which
/// ring cannot sign with.
#[derive(Debug)]
struct Keys;

impl rustls::crypto::KeyProvider for Keys {
    fn load_private_key(
        &self,
        key_der: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<std::sync::Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        use p521::pkcs8::DecodePrivateKey;
        use rustls::pki_types::PrivateKeyDer;
        let ring_error = match rustls::crypto::ring::sign::any_supported_type(&key_der) {
            Ok(key) => return Ok(key),
            Err(e) => e,
        };
        let secret = match &key_der {
            PrivateKeyDer::Pkcs8(k) => p521::SecretKey::from_pkcs8_der(k.secret_pkcs8_der()).ok(),
            PrivateKeyDer::Sec1(k) => p521::SecretKey::from_sec1_der(k.secret_sec1_der()).ok(),
            _ => None,
        };
        match secret {
            Some(secret) => Ok(std::sync::Arc::new(P521SigningKey(
                p521::ecdsa::SigningKey::from(&secret),
            ))),
            None => Err(ring_error),
        }
    }
}

/// An ECDSA P-521 client key: signs `ecdsa_secp521r1_sha512` (RFC 6979 nonces).
struct P521SigningKey(p521::ecdsa::SigningKey);

impl std::fmt::Debug for P521SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P521SigningKey")
    }
}

impl rustls::sign::SigningKey for P521SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
            .then(|| Box::new(P521Signer(self.0.clone())) as Box<dyn rustls::sign::Signer>)
    }

    fn public_key(&self) -> Option<rustls::pki_types::SubjectPublicKeyInfoDer<'_>> {
        use p521::pkcs8::EncodePublicKey;
        let der = self.0.verifying_key().to_public_key_der().ok()?;
        Some(der.as_bytes().to_vec().into())
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::ECDSA
    }
}

struct P521Signer(p521::ecdsa::SigningKey);

impl std::fmt::Debug for P521Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P521Signer")
    }
}

impl rustls::sign::Signer for P521Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        use p521::ecdsa::signature::Signer;
        let sig: p521::ecdsa::DerSignature = self
            .0
            .try_sign(message)
            .map_err(|_| rustls::Error::General("ECDSA P-521 signing failed".into()))?;
        Ok(sig.as_bytes().to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP521_SHA512
    }
}

/// The provider of every handshake: ring's suites, its groups and then secp521r1 (offered
/// in that order, as OpenVPN's OpenSSL lists them), and [`SUPPORTED`] for signatures.
pub fn provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups.push(SECP521R1);
    provider.signature_verification_algorithms = SUPPORTED;
    provider.key_provider = &Keys;
    provider
}

#[cfg(test)]
mod tests {
    //! Known answers made by the openssl 3.0 CLI (`openssl dgst -sign`), not by this code.
    use super::*;

    const MESSAGE: &[u8] = b"check_openvpn known answer";
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521`, its point.
    const P521_PUB: &str = "04012dbdd351c4e747f2bb5d10152144b50dbabdbffa0d491c4cd715f4baa13ab0351510bceefb756bebfe27f9eebf66539d1304a825cbb47c2fe6239abadbab971eb300bb0f2bdaf2d592bd8e3e38b105f96cc841a12680d66c14a292f6b9e0dcbb642702d8d5142f9fb5d4838d3146c5de360cfd92211ae8423b086c57f92b55a445b9f8";
    /// `openssl dgst -sha512 -sign`.
    const P521_SIG: &str = "308187024200aee0a1c6a86d0b7faed2f128ca5dae85993fe6ac330b9d7f14e0756380995c299b8a1684adaa904de1d806bc56925e896ca2b648ce2d7a12ed95a161d88e8437c802417b3fd725ca3beacff86c8db0709c1471a8edf329035db9701f9307975da24308efca9054884c7f817516106ea809a85fc75c4f3c47b048abe8c8dc288d39b34e81";
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`, as RSAPublicKey.
    const RSA1024_PUB: &str = "30818902818100e31cca2421d52b741848f7c2a21296af0e729f849ed38b81601e21ba26de6c303e792200ed008d040b5f3b29a2521b5d8bd72eb6774efcc0d12fab5ef619fb0b9dac291c62e8af9bd958e9579212befbb37d65e70c6c515f9289c7126a3220de85687624a4763620a7a60175cd8f89f3a8a8d427afd85e021df86dd0e4d4da650203010001";
    /// `openssl dgst -sha256 -sign`.
    const RSA1024_PKCS1_SHA256: &str = "5311eea443141c56e8ac6ae28c4d6116ae8fb37d8385ecb6e2cde98aed0fd0524cd87d5037bf71f1040b88ce1543d7333e3742a85cbfa400c3817636a98c15b12279a99dacb351f857addea6e1eb6c7c39ba6035d425d27b9feb1b5d29aac0832f740f03eb9e875f9ca088ff0b7e176aca7d911bcba0dba4c3ee1bd2a5384492";
    /// `openssl dgst -sha256 -sign -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32`.
    const RSA1024_PSS_SHA256: &str = "bde074eeb1f5f0aade9e94f27cdfe7a0c51db64f1c51d73ec6072fe7cd9c016c4eefdd6edca6049b6e3a71853aaa52ca038e5b8504b737a65dfe895d70f930e4a5ab177d9c82d4473615b05f3a9159b397f995c1399a55fe587556e1f59fcbbee0d1a57791267041463bc71fedb0f04bb976dfda667f3fddec82241ce3f6cbcd";

    fn check(alg: &dyn SignatureVerificationAlgorithm, key: &str, sig: &str) {
        let (key, sig) = (hex::decode(key).unwrap(), hex::decode(sig).unwrap());
        assert!(alg.verify_signature(&key, MESSAGE, &sig).is_ok(), "{alg:?}");
        assert!(alg
            .verify_signature(&key, b"another message", &sig)
            .is_err());
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(alg.verify_signature(&key, MESSAGE, &bad).is_err());
    }

    #[test]
    fn openssl_signatures_verify_and_altered_ones_do_not() {
        check(ECDSA_P521_SHA512, P521_PUB, P521_SIG);
        check(RSA_PKCS1_SHA256, RSA1024_PUB, RSA1024_PKCS1_SHA256);
        check(RSA_PSS_SHA256, RSA1024_PUB, RSA1024_PSS_SHA256);
    }

    #[test]
    fn a_signature_by_the_wrong_hash_or_padding_fails() {
        let key = hex::decode(RSA1024_PUB).unwrap();
        let pss = hex::decode(RSA1024_PSS_SHA256).unwrap();
        assert!(RSA_PKCS1_SHA256
            .verify_signature(&key, MESSAGE, &pss)
            .is_err());
        assert!(RSA_PSS_SHA384
            .verify_signature(&key, MESSAGE, &pss)
            .is_err());
        let ec = hex::decode(P521_PUB).unwrap();
        let sig = hex::decode(P521_SIG).unwrap();
        assert!(ECDSA_P521_SHA256
            .verify_signature(&ec, MESSAGE, &sig)
            .is_err());
    }

    #[test]
    fn secp521r1_is_offered_after_x25519_p256_and_p384() {
        let names: Vec<NamedGroup> = provider().kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            names,
            [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1,
                NamedGroup::secp521r1
            ]
        );
    }

    #[test]
    fn p521_key_exchange_refuses_a_point_off_the_curve() {
        let kx = SECP521R1.start().unwrap();
        assert_eq!(kx.pub_key().len(), 133);
        let mut off = hex::decode(P521_PUB).unwrap();
        off[100] ^= 1;
        assert!(kx.complete(&off).is_err());
        // Both ends of a real exchange agree.
        let (a, b) = (SECP521R1.start().unwrap(), SECP521R1.start().unwrap());
        let b_pub = b.pub_key().to_vec();
        let a_secret = a.pub_key().to_vec();
        let s1 = a.complete(&b_pub).unwrap();
        let s2 = b.complete(&a_secret).unwrap();
        assert_eq!(s1.secret_bytes(), s2.secret_bytes());
    }
}
