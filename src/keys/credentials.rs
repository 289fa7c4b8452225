//! What the login stage logs in with: a client certificate and its private key (PEM:
//! PKCS#8, PKCS#1 RSA or SEC1 EC), and a user name and password from an OpenVPN
//! `auth-user-pass` file. Everything is checked before a packet leaves, with messages that
//! say what to do; secrets are wiped when dropped and never printed (only fingerprints).

use crate::config::KeySource;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use zeroize::Zeroizing;

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
    #[error("the private key in {name} is encrypted, and a check cannot type its passphrase: give the monitoring system a decrypted copy readable only by it (openssl pkey -in {name} -out monitor.key; chmod 600 monitor.key)")]
    EncryptedKey { name: String },
    #[error("the private key in {key} does not belong to the certificate in {cert}")]
    Mismatch { key: String, cert: String },
    #[error("the private key in {name} cannot be used: {reason}")]
    UnusableKey { name: String, reason: String },
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
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCert(sha256 {})", self.fingerprint)
    }
}

/// Loads `--cert` and `--key` (or the config's) and checks that they belong together.
pub fn load_client_cert(cert: &KeySource, key: &KeySource) -> Result<ClientCert, CredentialError> {
    let cert_name = cert.describe();
    let key_name = key.describe();
    let cert_text = read(cert, "certificate")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_text.as_bytes())
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(CredentialError::NoCertificate {
            name: cert_name,
            hint: P12_HINT,
        });
    }
    let key_text = read(key, "private key")?;
    if key_text.contains("ENCRYPTED PRIVATE KEY") || key_text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(CredentialError::EncryptedKey { name: key_name });
    }
    let der =
        PrivateKeyDer::from_pem_slice(key_text.as_bytes()).map_err(|_| CredentialError::NoKey {
            name: key_name.clone(),
            hint: P12_HINT,
        })?;
    let provider = crate::algorithms::provider();
    let certified = CertifiedKey::from_der(chain.clone(), der, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => CredentialError::Mismatch {
            key: key_name.clone(),
            cert: cert_name.clone(),
        },
        other => CredentialError::UnusableKey {
            name: key_name.clone(),
            reason: other.to_string(),
        },
    })?;
    let common_name = x509_parser::parse_x509_certificate(&chain[0])
        .ok()
        .and_then(|(_, c)| {
            c.subject()
                .iter_common_name()
                .last()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_string)
        });
    Ok(ClientCert {
        certified: Arc::new(certified),
        common_name,
        fingerprint: hex::encode(Sha256::digest(&chain[0])),
    })
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
    let name = source.describe();
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
    let max = crate::proto::login::USER_PASS_LEN - 1;
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
