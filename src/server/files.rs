//! The server's PKI on disk: its certificate, `extra-certs` and CAs (dates, and whether
//! the certificate chains to the CA), and its CRL (format, signature, issuer, dates, and
//! whether it revokes the server itself). Facts only; `report` grades them.

use super::{FileKind, Unreadable};
use crate::chain::{self, CertInfo, Judgement, Policy, Role};
use crate::keys::KeySource;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use x509_parser::prelude::*;

/// No certificate bundle or CRL worth reading comes near this.
const MAX_PKI_FILE: u64 = 64 << 20;

/// Reads a file the check needs, or says which one could not be read and why.
pub(super) fn read_file(path: &Path, kind: FileKind) -> Result<Vec<u8>, Unreadable> {
    let fail = |reason: String, denied: bool, missing: bool| Unreadable {
        kind,
        path: path.display().to_string(),
        reason,
        denied,
        missing,
    };
    let io_fail = |e: std::io::Error| {
        fail(
            super::io_reason(&e),
            e.kind() == std::io::ErrorKind::PermissionDenied,
            e.kind() == std::io::ErrorKind::NotFound,
        )
    };
    let meta = std::fs::metadata(path).map_err(io_fail)?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into(), false, false));
    }
    if meta.len() > MAX_PKI_FILE {
        return Err(fail(format!("{} bytes, too big", meta.len()), false, false));
    }
    std::fs::read(path).map_err(io_fail)
}

/// The bytes of a file or an inline block.
pub(super) fn read_source(source: &KeySource, kind: FileKind) -> Result<Vec<u8>, Unreadable> {
    match source {
        KeySource::File(p) => read_file(p, kind),
        KeySource::Inline { text, .. } => Ok(text.as_bytes().to_vec()),
    }
}

/// Certificates in a PEM file (or block), by name in messages.
#[derive(Debug, Clone)]
pub struct PemCerts {
    pub name: String,
    pub certs: Vec<CertificateDer<'static>>,
}

/// What was found out about the certificates on disk.
#[derive(Debug, Clone, Default)]
pub struct DiskCerts {
    /// The server certificate and `extra-certs`, judged against the CA: the path and its
    /// anchor when it verified.
    pub judgement: Option<Judgement>,
    /// Every CA certificate of the `ca` file, for their dates.
    pub cas: Vec<CertInfo>,
    /// SHA-256 of the server certificate's DER, hex.
    pub server_sha256: Option<String>,
    /// Files that hold no certificate or a broken one: (which, why).
    pub broken: Vec<(FileKind, String)>,
}

impl DiskCerts {
    /// Every certificate whose dates count, without repeats (the anchor is also a CA).
    pub fn all(&self) -> Vec<&CertInfo> {
        let mut out: Vec<&CertInfo> = Vec::new();
        if let Some(j) = &self.judgement {
            out.extend(j.certs.iter());
        }
        for ca in &self.cas {
            if !out.iter().any(|c| c.sha256 == ca.sha256) {
                out.push(ca);
            }
        }
        out
    }

    /// The certificate that expires first.
    pub fn soonest(&self) -> Option<&CertInfo> {
        self.all().into_iter().min_by_key(|c| c.not_after)
    }
}

/// Reads `ca`, `cert` and `extra-certs` (whichever the config has) and judges them.
pub(super) fn disk_certs(
    ca: Option<&PemCerts>,
    cert: Option<&PemCerts>,
    extra: Option<&PemCerts>,
    now: i64,
) -> DiskCerts {
    let mut out = DiskCerts::default();
    if let Some(ca) = ca {
        for der in &ca.certs {
            if let Ok(info) = chain::info(der, Role::Anchor) {
                out.cas.push(info);
            }
        }
    }
    if let Some(cert) = cert {
        let mut chain: Vec<CertificateDer<'_>> = cert.certs.clone();
        if let Some(extra) = extra {
            chain.extend(extra.certs.iter().cloned());
        }
        out.server_sha256 = chain
            .first()
            .and_then(|leaf| chain::info(leaf, Role::Leaf).ok().map(|i| i.sha256));
        let policy = Policy {
            ca: ca.map(|c| c.certs.clone()),
            ..Policy::default()
        };
        out.judgement = Some(chain::judge(&chain, &policy, now));
    }
    out
}

/// Parses PEM certificates; `Err` says what is wrong with the file.
pub fn pem_certs(bytes: &[u8], name: &str) -> Result<PemCerts, String> {
    chain::parse_ca_pem(bytes, name)
        .map(|certs| PemCerts {
            name: name.to_string(),
            certs,
        })
        .map_err(|e| e.to_string())
}

/// How the CRL's signature relates to the server's CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlSignature {
    /// Signed by a certificate of the `ca` file.
    Verified,
    /// No certificate of the `ca` file has the CRL's issuer name.
    OtherIssuer,
    /// A CA has the issuer's name but its key did not sign this CRL.
    BadSignature,
    /// The CRL's algorithm cannot be verified here.
    Unsupported(String),
    /// No CA could be read to check it against.
    NoCa,
}

/// The facts of a CRL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlFacts {
    pub name: String,
    /// DER instead of PEM.
    pub der: bool,
    pub issuer: String,
    pub last_update: i64,
    pub next_update: Option<i64>,
    pub revoked: usize,
    pub signature: CrlSignature,
    /// The serial (hex) of the server's own certificate, when the CRL revokes it.
    pub revokes_server: Option<String>,
}

impl CrlFacts {
    /// Whole days until `nextUpdate` (negative once passed), truncated like certificates.
    pub fn days_left(&self, now: i64) -> Option<i64> {
        self.next_update.map(|n| (n - now) / 86_400)
    }
}

/// Why a CRL file is not a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlDamage {
    /// A PEM block whose base64 does not decode.
    BadPem(String),
    /// Neither a PEM CRL block nor DER.
    NeitherPemNorDer,
    /// DER that does not parse as a CRL.
    Unparsable(String),
}

/// What became of `crl-verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlFinding {
    File(CrlFacts),
    /// The file was read but is not a CRL.
    Damaged {
        name: String,
        damage: CrlDamage,
    },
    /// `crl-verify DIR dir`: how many entries it holds.
    Dir {
        path: String,
        entries: usize,
    },
    /// `crl-verify DIR dir` and the directory does not exist.
    DirMissing {
        path: String,
    },
}

/// Parses and judges a CRL's bytes (PEM or DER) against the CA and the server certificate.
pub fn crl_facts(
    bytes: &[u8],
    name: &str,
    ca: Option<&PemCerts>,
    server_cert: Option<&PemCerts>,
) -> CrlFinding {
    let damaged = |damage: CrlDamage| CrlFinding::Damaged {
        name: name.to_string(),
        damage,
    };
    let pem_label = "-----BEGIN X509 CRL-----";
    let text_start = bytes
        .windows(pem_label.len())
        .position(|w| w == pem_label.as_bytes());
    let (der, is_der) = match text_start {
        Some(at) => match x509_parser::pem::parse_x509_pem(&bytes[at..]) {
            Ok((_, pem)) => (pem.contents, false),
            Err(e) => return damaged(CrlDamage::BadPem(e.to_string())),
        },
        None if bytes.first() == Some(&0x30) => (bytes.to_vec(), true),
        None => return damaged(CrlDamage::NeitherPemNorDer),
    };
    let crl = match parse_x509_crl(&der) {
        Ok((_, crl)) => crl,
        Err(e) => return damaged(CrlDamage::Unparsable(e.to_string())),
    };
    let issuer_raw = crl.issuer().as_raw();
    let signature = match ca {
        None => CrlSignature::NoCa,
        Some(ca) => {
            let mut verdict = CrlSignature::OtherIssuer;
            for der in &ca.certs {
                let Ok((_, cert)) = parse_x509_certificate(der) else {
                    continue;
                };
                if cert.subject().as_raw() != issuer_raw {
                    continue;
                }
                match crl.verify_signature(cert.public_key()) {
                    Ok(()) => {
                        verdict = CrlSignature::Verified;
                        break;
                    }
                    Err(X509Error::SignatureUnsupportedAlgorithm) => {
                        verdict = CrlSignature::Unsupported(
                            crl.signature_algorithm.algorithm.to_id_string(),
                        )
                    }
                    Err(_) => {
                        if verdict == CrlSignature::OtherIssuer {
                            verdict = CrlSignature::BadSignature;
                        }
                    }
                }
            }
            verdict
        }
    };
    let revokes_server = server_cert
        .and_then(|c| c.certs.first())
        .and_then(|der| parse_x509_certificate(der).ok().map(|(_, c)| c))
        .filter(|c| c.issuer().as_raw() == issuer_raw)
        .and_then(|c| {
            let serial = c.raw_serial();
            crl.iter_revoked_certificates()
                .any(|r| r.raw_serial() == serial)
                .then(|| c.raw_serial_as_string())
        });
    CrlFinding::File(CrlFacts {
        name: name.to_string(),
        der: is_der,
        issuer: chain::openvpn_dn(crl.issuer()),
        last_update: crl.last_update().timestamp(),
        next_update: crl.next_update().map(|t| t.timestamp()),
        revoked: crl.iter_revoked_certificates().count(),
        signature,
        revokes_server,
    })
}

/// `crl-verify DIR dir`: the directory must exist and be readable (OpenVPN looks up a
/// file named after each client's serial in it).
pub(super) fn crl_dir(path: &Path) -> Result<CrlFinding, Unreadable> {
    let name = path.display().to_string();
    match std::fs::read_dir(path) {
        Ok(entries) => Ok(CrlFinding::Dir {
            path: name,
            entries: entries.count(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(CrlFinding::DirMissing { path: name })
        }
        Err(e) => Err(Unreadable {
            kind: FileKind::CrlDir,
            path: name,
            reason: super::io_reason(&e),
            denied: e.kind() == std::io::ErrorKind::PermissionDenied,
            missing: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damage(bytes: &[u8]) -> CrlDamage {
        match crl_facts(bytes, "crl.pem", None, None) {
            CrlFinding::Damaged { damage, .. } => damage,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_is_not_a_crl() {
        assert_eq!(damage(b"hello"), CrlDamage::NeitherPemNorDer);
        assert_eq!(damage(b""), CrlDamage::NeitherPemNorDer);
        assert!(matches!(
            damage(b"-----BEGIN X509 CRL-----\n*not base64*\n-----END X509 CRL-----\n"),
            CrlDamage::BadPem(_)
        ));
        assert!(matches!(
            damage(&[0x30, 0x03, 1, 2, 3]),
            CrlDamage::Unparsable(_)
        ));
    }
}
