//! What the login stage logs in with: a client certificate and its private key (PEM:
//! PKCS#8, PKCS#1 RSA or SEC1 EC), and a user name and password from an OpenVPN
//! `auth-user-pass` file. Everything is checked before a packet leaves, with messages that
//! say what to do; secrets are wiped when dropped and never printed (only fingerprints).

use crate::keys::rsa_sign::{self, Refusal, RsaKey};
use crate::keys::KeySource;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use zeroize::Zeroizing;

/// OpenVPN's limit for a user name or password, NUL included (`USER_PASS_LEN`).
pub const USER_PASS_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read {what} {name}: {reason}")]
    Read {
        what: &'static str,
        name: String,
        reason: String,
    },
    #[error("{name} holds no PEM certificate (-----BEGIN CERTIFICATE-----){hint}")]
    NoCertificate { name: String, hint: &'static str },
    #[error("{name} holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC){hint}")]
    NoKey { name: String, hint: &'static str },
    #[error("the private key in {name} is encrypted, and a check cannot type its passphrase: give the monitoring system a decrypted copy readable only by it ({how}; chmod 600 monitor.key), then {then}")]
    EncryptedKey {
        name: String,
        /// A command line that writes the decrypted copy.
        how: String,
        /// Where to use it.
        then: &'static str,
    },
    #[error("the private key in {key} does not belong to the certificate in {cert}")]
    Mismatch { key: String, cert: String },
    #[error("the private key in {name} cannot be used: {reason}")]
    UnusableKey {
        name: String,
        reason: String,
        /// Whether OpenVPN 2.6 itself would take the key.
        openvpn_takes: bool,
    },
    #[error("{name}: not a TOTP secret: {reason} (give the base32 secret an authenticator app is set up with, or its otpauth://totp/ URI)")]
    BadTotpSecret { name: String, reason: String },
    #[error("{name}: not a PKCS#12 bundle OpenVPN could read: {reason}")]
    BadPkcs12 { name: String, reason: String },
    #[error("the PKCS#12 bundle {name} is protected by a passphrase, and a check cannot type it: give the monitoring system a copy without one (openssl pkcs12 -in FILE -nodes -out monitor.pem; chmod 600 monitor.pem), then give --cert monitor.pem --key monitor.pem")]
    Pkcs12Passphrase { name: String },
    #[error("{0} needs {1} too")]
    Pair(&'static str, &'static str),
    #[error("{name}: line {line} must hold the {what} (OpenVPN's auth-user-pass file: user name on line 1, password on line 2; a check cannot prompt for it)")]
    UserPassLine {
        name: String,
        line: usize,
        what: &'static str,
    },
    #[error("{name}: the {what} is {len} bytes, longer than OpenVPN accepts ({max})")]
    TooLong {
        name: String,
        what: &'static str,
        len: usize,
        max: usize,
    },
}

/// A PKCS#12 bundle is DER, not PEM: say how to convert it.
const P12_HINT: &str = "; a PKCS#12 bundle (.p12/.pfx, OpenVPN's pkcs12) must be split first: openssl pkcs12 -in FILE -clcerts -nokeys -out cert.pem and openssl pkcs12 -in FILE -nocerts -nodes -out key.pem";

fn read(source: &KeySource, what: &'static str) -> Result<Zeroizing<String>, CredentialError> {
    match source {
        KeySource::File(path) => {
            crate::keys::static_keys::read_secret_text(path).map_err(|e| CredentialError::Read {
                what,
                name: path.display().to_string(),
                reason: e.to_string(),
            })
        }
        KeySource::Inline { text, .. } => Ok(text.clone()),
    }
}

/// A loaded client certificate with its key, ready for rustls.
#[derive(Clone)]
pub struct ClientCert {
    pub certified: Arc<CertifiedKey>,
    /// The leaf's common name, for "logged in as".
    pub common_name: Option<String>,
    /// SHA-256 of the leaf's DER, for `-v`.
    pub fingerprint: String,
    /// The size of an RSA key that ring does not load (under 2048 bits), for `-v`.
    pub rsa_bits: Option<usize>,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCert(sha256 {})", self.fingerprint)
    }
}

/// Loads `--cert` and `--key` (or the config's) and checks that they belong together.
/// `extra` (the config's `extra-certs`) follows the certificate in the chain sent.
///
/// The certificate is not judged here: an X.509 v1 certificate (no extensions), which
/// OpenVPN sends as it is, goes as it is too. The key is checked against the
/// certificate's public key, read by x509-parser for every version.
pub fn load_client_cert(
    cert: &KeySource,
    key: &KeySource,
    extra: Option<&KeySource>,
) -> Result<ClientCert, CredentialError> {
    let cert_name = cert.to_string();
    let key_name = key.to_string();
    let cert_text = read(cert, "certificate")?;
    let mut chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_text.as_bytes())
            .filter_map(Result::ok)
            .collect();
    if chain.is_empty() {
        return Err(CredentialError::NoCertificate {
            name: cert_name,
            hint: P12_HINT,
        });
    }
    if let Some(extra) = extra {
        let text = read(extra, "extra-certs")?;
        chain.extend(CertificateDer::pem_slice_iter(text.as_bytes()).filter_map(Result::ok));
    }
    let key_text = read(key, "private key")?;
    if key_text.contains("ENCRYPTED PRIVATE KEY") || key_text.contains("Proc-Type: 4,ENCRYPTED") {
        let (how, then) = match key {
            KeySource::File(p) => (
                format!(
                    "openssl pkey -in {} -out monitor.key",
                    shell_word(&p.display().to_string())
                ),
                "point --key (or the config's key line) at monitor.key",
            ),
            KeySource::Inline { name, .. } => (
                format!(
                    "sed -n '/^<key>/,/^<\\/key>/p' {} | openssl pkey -out monitor.key",
                    shell_word(name.strip_suffix(" <key> block").unwrap_or("client.ovpn"))
                ),
                "put 'key monitor.key' in the config in place of the <key> block",
            ),
        };
        return Err(CredentialError::EncryptedKey {
            name: key_name,
            how,
            then,
        });
    }
    let der =
        PrivateKeyDer::from_pem_slice(key_text.as_bytes()).map_err(|_| CredentialError::NoKey {
            name: key_name.clone(),
            hint: P12_HINT,
        })?;
    pair(chain, der, cert_name, key_name)
}

/// The certificate chain and its key, for rustls: ring's signing key where ring loads the
/// key, else RustCrypto's RSA (1024 to 2047 bits); the key checked against the leaf.
fn pair(
    chain: Vec<CertificateDer<'static>>,
    der: PrivateKeyDer<'static>,
    cert_name: String,
    key_name: String,
) -> Result<ClientCert, CredentialError> {
    let provider = crate::algorithms::provider();
    let mut rsa_bits = None;
    let signing: Arc<dyn rustls::sign::SigningKey> =
        match provider.key_provider.load_private_key(der.clone_key()) {
            Ok(k) => k,
            // ring signs with RSA from 2048 bits; OpenVPN 2.6 takes 1024.
            Err(_) => match RsaKey::from_der(&der) {
                Ok(k) => {
                    rsa_bits = Some(k.bits());
                    Arc::new(k)
                }
                Err(Refusal::Size(bits)) => {
                    return Err(CredentialError::UnusableKey {
                        name: key_name,
                        reason: format!(
                            "it is an RSA key of {bits} bits; OpenVPN 2.6 takes {} to {} bits",
                            rsa_sign::MIN_BITS,
                            rsa_sign::MAX_BITS
                        ),
                        openvpn_takes: false,
                    })
                }
                Err(Refusal::NotRsa) => {
                    return Err(CredentialError::UnusableKey {
                        name: key_name,
                        reason: format!(
                            "it is {}, which check_openvpn cannot sign with (it signs with RSA of 1024 to 8192 bits, ECDSA P-256, P-384 or P-521, and Ed25519)",
                            key_kind(&der)
                        ),
                        openvpn_takes: true,
                    })
                }
            },
        };
    let parsed = x509_parser::parse_x509_certificate(&chain[0])
        .ok()
        .map(|(_, c)| c);
    if let (Some(c), Some(spki)) = (&parsed, signing.public_key()) {
        if c.tbs_certificate.subject_pki.raw != spki.as_ref() {
            return Err(CredentialError::Mismatch {
                key: key_name.clone(),
                cert: cert_name.clone(),
            });
        }
    }
    let common_name = parsed.as_ref().and_then(|c| {
        c.subject()
            .iter_common_name()
            .last()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string)
    });
    let fingerprint = hex::encode(Sha256::digest(&chain[0]));
    Ok(ClientCert {
        certified: Arc::new(CertifiedKey::new(chain, signing)),
        common_name,
        fingerprint,
        rsa_bits,
    })
}

/// What a PKCS#12 bundle (OpenVPN's `pkcs12`) holds: the client certificate and key, and
/// the other certificates, which OpenVPN takes as the CA when the config has no `ca`.
pub struct Pkcs12 {
    pub client: ClientCert,
    pub others: Vec<CertificateDer<'static>>,
}

/// Reads a `pkcs12` file (DER) or `<pkcs12>` block (base64) as OpenVPN does: with an
/// empty passphrase (OpenVPN prompts for any other).
pub fn load_pkcs12(source: &KeySource) -> Result<Pkcs12, CredentialError> {
    use base64::Engine as _;
    let name = source.to_string();
    let bytes: Zeroizing<Vec<u8>> = match source {
        KeySource::File(path) => {
            crate::keys::static_keys::read_secret_bytes(path).map_err(|e| {
                CredentialError::Read {
                    what: "PKCS#12 bundle",
                    name: name.clone(),
                    reason: e.to_string(),
                }
            })?
        }
        KeySource::Inline { text, .. } => {
            let b64: Zeroizing<String> =
                Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
            Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|_| CredentialError::BadPkcs12 {
                        name: name.clone(),
                        reason: "the block is not base64".into(),
                    })?,
            )
        }
    };
    let archive = match p12_keystore::Pkcs12Archive::from_pkcs12(&bytes, "") {
        Ok(a) => a,
        Err(p12_keystore::error::Error::MacError(_)) => {
            return Err(CredentialError::Pkcs12Passphrase { name })
        }
        Err(e) => {
            return Err(CredentialError::BadPkcs12 {
                name,
                reason: e.to_string(),
            })
        }
    };
    let Some(key) = archive.keys.first() else {
        return Err(CredentialError::BadPkcs12 {
            name,
            reason: "it holds no private key".into(),
        });
    };
    // The key's certificate: the one with its local key id, else the first.
    let leaf = archive
        .certs
        .iter()
        .position(|c| {
            key.local_key_id
                .as_ref()
                .is_some_and(|id| c.local_key_id.as_deref() == Some(id.0.as_slice()))
        })
        .or((!archive.certs.is_empty()).then_some(0))
        .ok_or_else(|| CredentialError::BadPkcs12 {
            name: name.clone(),
            reason: "it holds no certificate".into(),
        })?;
    let chain = vec![CertificateDer::from(
        archive.certs[leaf].cert.as_der().to_vec(),
    )];
    let others = archive
        .certs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leaf)
        .map(|(_, c)| CertificateDer::from(c.cert.as_der().to_vec()))
        .collect();
    let der = PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        key.key.as_der().to_vec(),
    ));
    Ok(Pkcs12 {
        client: pair(chain, der, name.clone(), name)?,
        others,
    })
}

/// A path as one shell word, for advice a person pastes: quoted when it holds anything
/// but letters, digits and `/._-`.
fn shell_word(path: &str) -> String {
    if !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

/// What kind of key a PEM private key is, for a message.
fn key_kind(der: &PrivateKeyDer<'_>) -> String {
    use rsa::pkcs8::PrivateKeyInfoRef;
    let PrivateKeyDer::Pkcs8(k) = der else {
        return match der {
            PrivateKeyDer::Sec1(_) => "an EC key on a curve ring does not sign with".into(),
            _ => "a key of a kind ring does not load".into(),
        };
    };
    let Ok(info) = PrivateKeyInfoRef::try_from(k.secret_pkcs8_der()) else {
        return "a PKCS#8 key that does not parse".into();
    };
    let curve = info
        .algorithm
        .parameters_oid()
        .ok()
        .map(|o| o.to_string())
        .unwrap_or_default();
    match info.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.2.1" => match curve.as_str() {
            "1.3.132.0.35" => "an EC key on P-521 (secp521r1)".into(),
            "1.3.132.0.10" => "an EC key on secp256k1".into(),
            c if c.starts_with("1.3.36.3.3.2.8") => "an EC key on a Brainpool curve".into(),
            c => format!("an EC key on curve {c}"),
        },
        "1.3.101.113" => "an Ed448 key".into(),
        "1.2.840.10040.4.1" => "a DSA key".into(),
        "1.2.840.113549.1.1.10" => "an RSA-PSS key".into(),
        oid => format!("a key of algorithm {oid}"),
    }
}

/// A user name and password, wiped when dropped.
#[derive(Clone)]
pub struct UserPass {
    pub user: Zeroizing<String>,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for UserPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserPass({}, password hidden)", self.user.as_str())
    }
}

/// Reads OpenVPN's `auth-user-pass` file: the user name on line 1, the password on line 2.
pub fn read_user_pass(source: &KeySource) -> Result<UserPass, CredentialError> {
    let name = source.to_string();
    let text = read(source, "auth-user-pass file")?;
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let user = lines.next().unwrap_or("");
    let password = lines.next();
    if user.is_empty() {
        return Err(CredentialError::UserPassLine {
            name,
            line: 1,
            what: "user name",
        });
    }
    let Some(password) = password else {
        return Err(CredentialError::UserPassLine {
            name,
            line: 2,
            what: "password",
        });
    };
    let max = USER_PASS_LEN - 1;
    for (what, v) in [("user name", user), ("password", password)] {
        if v.len() > max {
            return Err(CredentialError::TooLong {
                name,
                what,
                len: v.len(),
                max,
            });
        }
    }
    Ok(UserPass {
        user: Zeroizing::new(user.to_string()),
        password: Zeroizing::new(password.to_string()),
    })
}
