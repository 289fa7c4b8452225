//! Judging a server's certificate chain the way an OpenVPN 2.6 client does, after the
//! handshake captured it: the chain must lead to `--ca` with valid dates; if the leaf has
//! an EKU it must include serverAuth; optionally `verify-x509-name` and `remote-cert-tls
//! server`. No host-name check: OpenVPN makes none.
//!
//! Dates are judged apart from the path, so that an expired certificate is reported as
//! expired (with its name and date) and the path is still checked as of a time when every
//! certificate in it was valid: "expired" and "not signed by your CA" are different news.

use rustls::pki_types::{CertificateDer, UnixTime};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::time::Duration;
use x509_parser::prelude::*;

/// `verify-x509-name` types (OpenVPN's `subject`, `name`, `name-prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameType {
    /// The whole subject DN, as OpenVPN prints it (`C=DE, O=Example, CN=vpn`).
    Subject,
    /// The common name.
    Name,
    /// The common name starts with the given text.
    NamePrefix,
}

impl NameType {
    pub fn keyword(self) -> &'static str {
        match self {
            NameType::Subject => "subject",
            NameType::Name => "name",
            NameType::NamePrefix => "name-prefix",
        }
    }
}

impl std::str::FromStr for NameType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "subject" => Ok(NameType::Subject),
            "name" => Ok(NameType::Name),
            "name-prefix" => Ok(NameType::NamePrefix),
            other => Err(format!(
                "'{other}' is not a verify-x509-name type (subject, name or name-prefix)"
            )),
        }
    }
}

/// What to check beyond capturing the chain.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--ca`: the trust anchors. Without it the chain is reported, not verified.
    pub ca: Option<Vec<CertificateDer<'static>>>,
    pub verify_name: Option<(String, NameType)>,
    /// `remote-cert-tls server`: key usage present and EKU serverAuth.
    pub remote_cert_tls_server: bool,
    /// The client config's other TLS rules (`remote-cert-ku`, `tls-cert-profile`,
    /// `peer-fingerprint`, ...).
    pub rules: crate::client_rules::ClientRules,
    /// `crl-verify`, read when the check started.
    pub crl: Option<ClientCrl>,
    /// `capath DIR`: the line, and the CRLs OpenSSL's lookup finds there (OpenVPN turns
    /// CRL checking on with a capath).
    pub capath_crls: Option<(String, Vec<Vec<u8>>)>,
}

/// `crl-verify` as OpenVPN's client holds it when it verifies a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCrl {
    /// `crl-verify FILE`: the CRLs (DER) OpenSSL loads from it, in order, up to the first
    /// PEM block that does not read (`backend_tls_ctx_reload_crl`).
    File { rule: String, crls: Vec<Vec<u8>> },
    /// `crl-verify DIR dir`: the names in DIR; a certificate whose decimal serial is one
    /// of them is revoked (`verify_check_crl_dir`).
    Dir {
        rule: String,
        dir: String,
        names: std::collections::BTreeSet<String>,
    },
}

/// Reads `crl-verify` as OpenVPN's client reads it when it starts: a file (or block) of
/// PEM CRLs, or the names in a directory. `Err` is why OpenVPN itself would not start.
pub fn load_client_crl(rule: &crate::client_rules::CrlRule) -> Result<ClientCrl, String> {
    use crate::keys::KeySource;
    let line = rule.line.clone();
    match (&rule.source, rule.dir) {
        (KeySource::File(dir), true) => {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
            let names = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            Ok(ClientCrl::Dir {
                rule: line,
                dir: dir.display().to_string(),
                names,
            })
        }
        (source, _) => {
            let bytes = match source {
                KeySource::File(path) => {
                    let meta = std::fs::metadata(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    if meta.len() > MAX_CA_FILE * 16 {
                        return Err(format!(
                            "{} is {} bytes, more than any CRL",
                            path.display(),
                            meta.len()
                        ));
                    }
                    std::fs::read(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                }
                KeySource::Inline { text, .. } => text.as_bytes().to_vec(),
            };
            Ok(ClientCrl::File {
                rule: line,
                crls: pem_crls(&bytes),
            })
        }
    }
}

/// A DER length.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// An attribute value as `asn1_string_canon` makes it: a string type is read as UTF-8
/// (Latin-1 for the one-byte types, UCS-2 and UCS-4 for BMP and Universal strings), cut
/// of leading and trailing white space, every run of white space one space, ASCII in
/// lower case, and tagged UTF8String; any other type stays as it is.
fn canonical_value(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Option<Vec<u8>> {
    use x509_parser::der_parser::asn1_rs::{Tag, ToDer};
    let data = value.data;
    let text: Vec<u8> = match value.tag() {
        Tag::Utf8String => data.to_vec(),
        Tag::PrintableString | Tag::T61String | Tag::Ia5String | Tag::VisibleString => data
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .into_bytes(),
        Tag::BmpString => char::decode_utf16(
            data.chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])),
        )
        .collect::<Result<String, _>>()
        .ok()?
        .into_bytes(),
        Tag::UniversalString => data
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                char::from_u32(u32::from_be_bytes(b))
            })
            .collect::<Option<String>>()?
            .into_bytes(),
        _ => return value.to_der_vec().ok(),
    };
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |e| e + 1);
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let b = text[i];
        if space(&b) {
            out.push(b' ');
            while i < end && space(&text[i]) {
                i += 1;
            }
        } else {
            out.push(b.to_ascii_lowercase());
            i += 1;
        }
    }
    Some(der(0x0c, &out))
}

/// OpenSSL's hash of a name (`X509_NAME_hash_ex`), which names the files of a hashed CA
/// directory (`capath`, `openssl rehash`): the first four bytes, little-endian, of the
/// SHA-1 of the name's canonical encoding (each RDN's SET of canonical values, one after
/// the other, without the outer SEQUENCE).
pub fn subject_hash(name: &X509Name<'_>) -> Option<u32> {
    use sha1::Digest as _;
    let mut canon = Vec::new();
    for rdn in name.iter() {
        let mut avas = Vec::new();
        for atv in rdn.iter() {
            let mut seq = der(0x06, atv.attr_type().as_bytes());
            seq.extend(canonical_value(atv.attr_value())?);
            avas.push(der(0x30, &seq));
        }
        // DER orders the members of a SET OF by their encodings.
        avas.sort();
        canon.extend(der(0x31, &avas.concat()));
    }
    let h = sha1::Sha1::digest(&canon);
    Some(u32::from_le_bytes([h[0], h[1], h[2], h[3]]))
}

/// What `capath DIR` gives OpenSSL's hashed-directory lookup: the certificates of the
/// files `HASH.0`, `HASH.1`, ... (up to the first number missing, where the lookup
/// stops) whose subject hashes to HASH, and the CRLs of `HASH.r0`, ... whose issuer does.
pub fn load_capath(dir: &Path) -> Result<(Vec<CertificateDer<'static>>, Vec<Vec<u8>>), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    let mut names = std::collections::BTreeSet::new();
    for e in entries.filter_map(|e| e.ok()) {
        if let Ok(n) = e.file_name().into_string() {
            names.insert(n);
        }
    }
    let hashes: std::collections::BTreeSet<&str> = names
        .iter()
        .filter_map(|n| n.split_once('.').map(|(h, _)| h))
        .filter(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .collect();
    let read = |name: &str| {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() <= MAX_CA_FILE => std::fs::read(&path).ok(),
            _ => None,
        }
    };
    // The contents of STEM0, STEM1, ...: the lookup stops at the first number missing.
    let numbered = |stem: &str| -> Vec<Vec<u8>> {
        (0..)
            .map(|i| format!("{stem}{i}"))
            .map_while(|name| names.contains(&name).then(|| read(&name)).flatten())
            .collect()
    };
    let (mut certs, mut crls) = (Vec::new(), Vec::new());
    for h in hashes {
        let want = Some(u32::from_str_radix(h, 16).unwrap_or_default());
        for bytes in numbered(&format!("{h}.")) {
            use rustls::pki_types::pem::PemObject;
            certs.extend(
                CertificateDer::pem_slice_iter(&bytes)
                    .filter_map(|c| c.ok())
                    .filter(|der| {
                        parse_x509_certificate(der)
                            .ok()
                            .and_then(|(_, c)| subject_hash(c.subject()))
                            == want
                    }),
            );
        }
        for bytes in numbered(&format!("{h}.r")) {
            crls.extend(pem_crls(&bytes).into_iter().filter(|crl| {
                parse_x509_crl(crl)
                    .ok()
                    .and_then(|(_, c)| subject_hash(c.issuer()))
                    == want
            }));
        }
    }
    Ok((certs, crls))
}

/// The PEM CRLs of a file, in order, up to the first block that does not read as one.
fn pem_crls(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let label = b"-----BEGIN X509 CRL-----";
    let mut out = Vec::new();
    while let Some(at) = bytes.windows(label.len()).position(|w| w == label) {
        let Ok((rest, pem)) = x509_parser::pem::parse_x509_pem(&bytes[at..]) else {
            break;
        };
        if parse_x509_crl(&pem.contents).is_err() {
            break;
        }
        out.push(pem.contents);
        bytes = rest;
    }
    out
}

/// A certificate's place in what was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leaf,
    Intermediate,
    /// The `--ca` certificate that anchored the verified path.
    Anchor,
}

/// The fields a report shows of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub role: Role,
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// `EC P-256`, `RSA 2048`.
    pub key: String,
    /// SHA-256 of the DER, hex, colon-free.
    pub sha256: String,
}

impl CertInfo {
    /// The shortest name for messages: `CN=vpn1`, or the whole subject without a CN.
    pub fn short_name(&self) -> String {
        match &self.common_name {
            Some(cn) => format!("CN={cn}"),
            None => self.subject.clone(),
        }
    }

    /// Whole days left at `now`, or minus the whole days since it expired: 4.9 days left
    /// is 4, expired 2.1 days ago is -2 (truncated toward zero, as check_http counts).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now) / 86_400
    }
}

/// Something wrong with the chain, for `report` to word and grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A certificate the server sent could not be parsed.
    Unparsable {
        index: usize,
        reason: String,
    },
    Expired {
        cert: usize,
    },
    NotYetValid {
        cert: usize,
    },
    /// The chain does not lead to any `--ca` certificate.
    Untrusted {
        reason: String,
    },
    /// A signature in the chain does not verify.
    BadSignature {
        reason: String,
    },
    /// The chain uses an algorithm this check cannot verify (e.g. an Ed448 or brainpool key).
    Unsupported {
        reason: String,
    },
    NameMismatch {
        expected: String,
        kind: NameType,
        actual: String,
    },
    /// EKU present without serverAuth, or absent under `remote-cert-tls server`.
    Eku {
        reason: String,
    },
    /// `remote-cert-tls server` and the leaf has no key usage extension.
    NoKeyUsage,
    /// A rule of the client config the server does not meet (`remote-cert-eku`,
    /// `tls-cert-profile`, `tls-version-min`, ...): the rule and what the server has.
    Rule {
        rule: String,
        found: String,
    },
    /// A rule of the client config whose outcome the check cannot tell for this server.
    Unchecked {
        rule: String,
        reason: String,
    },
}

/// The verdict on a chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    /// The certificates `-C` applies to: the verified path and its anchor, or without
    /// `--ca` those the server sent. Leaf first.
    pub certs: Vec<CertInfo>,
    pub problems: Vec<Problem>,
    /// The path to a `--ca` certificate verified.
    pub verified: bool,
    /// `peer-fingerprint` or `verify-hash` matched: the directive.
    pub pinned: Option<&'static str>,
}

impl Judgement {
    /// The certificate that expires first.
    pub fn soonest(&self) -> Option<&CertInfo> {
        self.certs.iter().min_by_key(|c| c.not_after)
    }
}

fn hex_sha256(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// An RDN sequence as OpenSSL prints it for OpenVPN: `C=DE, ST=Bavaria, CN=vpn`, with
/// `+` between the parts of a multi-valued RDN and non-printable bytes as `_`.
pub fn openvpn_dn(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut rdns = Vec::new();
    for rdn in name.iter() {
        let parts: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let key = match x509_parser::objects::oid2abbrev(atv.attr_type(), registry) {
                    Ok(k) => k.to_string(),
                    Err(_) => atv.attr_type().to_id_string(),
                };
                let value: String = match atv.as_str() {
                    Ok(v) => v.to_string(),
                    Err(_) => String::from_utf8_lossy(atv.attr_value().data).into_owned(),
                };
                let value: String = value
                    .chars()
                    .map(|c| if c.is_control() { '_' } else { c })
                    .collect();
                format!("{key}={value}")
            })
            .collect();
        rdns.push(parts.join(" + "));
    }
    rdns.join(", ")
}

fn key_description(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".to_string(),
                    "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1".to_string(),
                    "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "curve unknown".into());
            format!("EC {curve}")
        }
        Ok(x509_parser::public_key::PublicKey::DSA(_)) => "DSA".into(),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".into(),
            // rsassa-pss: the key is an RSAPublicKey, as for rsaEncryption.
            "1.2.840.113549.1.1.10" => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::traits::PublicKeyParts;
                match rsa::PublicKey::from_pkcs1_der(&spki.subject_public_key.data) {
                    Ok(k) => format!("RSA-PSS {}", k.size() * 8),
                    Err(_) => "RSA-PSS".into(),
                }
            }
            "1.3.101.113" => "Ed448".into(),
            other => format!("key {other}"),
        },
    }
}

pub fn info(der: &[u8], role: Role) -> Result<CertInfo, String> {
    let (_, cert) = parse_x509_certificate(der).map_err(|e| e.to_string())?;
    Ok(CertInfo {
        role,
        subject: openvpn_dn(cert.subject()),
        issuer: openvpn_dn(cert.issuer()),
        common_name: cert
            .subject()
            .iter_common_name()
            .last()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key: key_description(&cert),
        sha256: hex_sha256(der),
    })
}

/// Judges `chain` (leaf first, as the server sent it) at Unix time `now`.
pub fn judge(chain: &[CertificateDer<'_>], policy: &Policy, now: i64) -> Judgement {
    let mut j = Judgement::default();
    let Some(leaf_der) = chain.first() else {
        j.problems.push(Problem::Unparsable {
            index: 0,
            reason: "the server sent no certificate".into(),
        });
        return j;
    };
    let mut sent = Vec::new();
    for (i, der) in chain.iter().enumerate() {
        let role = if i == 0 {
            Role::Leaf
        } else {
            Role::Intermediate
        };
        match info(der, role) {
            Ok(c) => sent.push(c),
            Err(reason) => j.problems.push(Problem::Unparsable { index: i, reason }),
        }
    }
    // peer-fingerprint without a CA: OpenVPN's verify callback ignores every error of
    // OpenSSL's (dates, issuers, purposes) and trusts the fingerprint alone.
    let pinned_alone =
        policy.ca.is_none() && policy.rules.pins.as_ref().is_some_and(|p| p.depth() == 0);
    if let Some(ca) = &policy.ca {
        match verify_path(leaf_der, &chain[1..], ca, &sent, now) {
            Ok(path) => {
                j.verified = true;
                j.certs = path;
            }
            Err(p) => {
                j.problems.push(p);
                j.certs = sent.clone();
            }
        }
    } else {
        j.certs = sent.clone();
    }
    for (i, c) in j.certs.iter().enumerate() {
        if pinned_alone {
            break;
        }
        if c.not_after < now {
            j.problems.push(Problem::Expired { cert: i });
        } else if c.not_before > now {
            j.problems.push(Problem::NotYetValid { cert: i });
        }
    }
    if let Ok((_, leaf)) = parse_x509_certificate(leaf_der) {
        check_leaf(&leaf, policy, &mut j);
    }
    if let Some(pins) = &policy.rules.pins {
        check_pins(chain, policy.ca.as_deref(), pins, &mut j);
    }
    if let Some(crl) = &policy.crl {
        let path = path_ders(chain, policy.ca.as_deref(), &j);
        check_crl(crl, &path, pinned_alone, now, &mut j.problems);
    }
    if let Some((rule, crls)) = &policy.capath_crls {
        if j.verified {
            let path = path_ders(chain, policy.ca.as_deref(), &j);
            check_crl_list(rule, crls, &path, now, &mut j.problems);
        }
    }
    match policy.rules.cert_profile {
        // OpenSSL's security level judges the chain as its verification does: ignored
        // with peer-fingerprint alone, but Suite B also rules the hello.
        Some(profile) if !pinned_alone || profile == crate::client_rules::CertProfile::SuiteB => {
            check_profile(chain, profile, &j.certs, &mut j.problems)
        }
        _ => {}
    }
    j
}

/// The DER of each certificate judged (leaf first, then the verified path and its
/// anchor, or what the server sent), found again by its SHA-256.
fn path_ders(
    chain: &[CertificateDer<'_>],
    ca: Option<&[CertificateDer<'static>]>,
    j: &Judgement,
) -> Vec<Vec<u8>> {
    let pool: Vec<&[u8]> = chain
        .iter()
        .map(|c| c.as_ref())
        .chain(ca.unwrap_or_default().iter().map(|c| c.as_ref()))
        .collect();
    j.certs
        .iter()
        .filter_map(|c| {
            pool.iter()
                .find(|der| hex_sha256(der) == c.sha256)
                .map(|der| der.to_vec())
        })
        .collect()
}

/// `peer-fingerprint` (the server's own certificate) or `verify-hash` (the certificate
/// at depth 1 of the verified path: the CA that issued the server's), as `verify_cert`
/// compares them. A chain with no certificate at that depth is not compared, as OpenSSL
/// never calls back for it.
fn check_pins(
    chain: &[CertificateDer<'_>],
    ca: Option<&[CertificateDer<'static>]>,
    pins: &crate::client_rules::Pins,
    j: &mut Judgement,
) {
    let depth = pins.depth();
    let der = if depth == 0 {
        chain.first().map(|c| c.to_vec())
    } else if j.verified {
        path_ders(chain, ca, j).get(depth).cloned()
    } else {
        // The path did not verify: OpenVPN's client refuses it before any hash.
        return;
    };
    let Some(der) = der else {
        j.pinned = Some(pins.directive);
        return;
    };
    if pins.matches(&der) {
        j.pinned = Some(pins.directive);
        return;
    }
    let whose = match (depth, j.certs.get(depth)) {
        (0, _) => "the server's certificate".to_string(),
        (_, Some(c)) => format!("its issuing CA {}", c.short_name()),
        (_, None) => "its issuing CA".to_string(),
    };
    j.problems.push(Problem::Rule {
        rule: pins.directive.to_string(),
        found: format!(
            "{whose} has {} fingerprint {}",
            pins.hash_name(),
            crate::client_rules::colon_hex(&pins.fingerprint(&der))
        ),
    });
}

/// `crl-verify` as OpenVPN's OpenSSL client applies it to `path` (leaf first, anchor
/// last). A file: OpenSSL checks every certificate against a CRL of its issuer (none
/// found is no error, as OpenVPN ignores it), and refuses a certificate the CRL revokes
/// and a CRL out of its dates or not signed by that issuer; no CRL loaded at all refuses
/// every server. With peer-fingerprint alone OpenSSL's errors are ignored: only the
/// empty file still refuses. A directory: a file named after a certificate's decimal
/// serial revokes it, at every depth.
fn check_crl(
    crl: &ClientCrl,
    path: &[Vec<u8>],
    pinned_alone: bool,
    now: i64,
    problems: &mut Vec<Problem>,
) {
    let (rule, found) = match crl {
        ClientCrl::Dir { rule, dir, names } => {
            let revoked = path
                .iter()
                .filter_map(|d| parse_x509_certificate(d).ok().map(|(_, c)| c))
                .find_map(|c| {
                    let serial = c.tbs_certificate.serial.to_string();
                    names.contains(&serial).then(|| {
                        format!(
                            "{} (serial {serial}) is revoked: {dir}/{serial} exists",
                            openvpn_dn(c.subject())
                        )
                    })
                });
            (rule, revoked)
        }
        ClientCrl::File { rule, crls } if crls.is_empty() => (
            rule,
            Some("it holds no PEM CRL OpenSSL reads, so OpenVPN's client refuses every server (\"CRL not loaded\")".into()),
        ),
        ClientCrl::File { rule, crls } => {
            if !pinned_alone {
                check_crl_list(rule, crls, path, now, problems);
            }
            return;
        }
    };
    if let Some(found) = found {
        problems.push(Problem::Rule {
            rule: rule.clone(),
            found,
        });
    }
}

/// The CRLs `crls` (DER) over `path` (leaf first, anchor last), as OpenSSL's CRL check
/// with `X509_V_FLAG_CRL_CHECK_ALL` applies them for OpenVPN: a certificate without a CRL
/// of its issuer passes (OpenVPN ignores that error); one with a CRL is refused when the
/// CRL is out of its dates, not signed by the issuer, signed by an issuer without
/// cRLSign, or lists its serial. The first refusal is pushed, as a Rule of `rule`.
fn check_crl_list(
    rule: &str,
    crls: &[Vec<u8>],
    path: &[Vec<u8>],
    now: i64,
    problems: &mut Vec<Problem>,
) {
    let certs: Vec<X509Certificate<'_>> = path
        .iter()
        .filter_map(|d| parse_x509_certificate(d).ok().map(|(_, c)| c))
        .collect();
    let refuse = |found: String, problems: &mut Vec<Problem>| {
        problems.push(Problem::Rule {
            rule: rule.to_string(),
            found,
        })
    };
    let parsed: Vec<_> = crls
        .iter()
        .filter_map(|d| parse_x509_crl(d).ok().map(|(_, c)| c))
        .collect();
    for (i, cert) in certs.iter().enumerate() {
        // The issuer: the next certificate of the path, or a root itself.
        let Some(issuer) = certs
            .get(i + 1)
            .or_else(|| (cert.subject() == cert.issuer()).then_some(cert))
        else {
            continue;
        };
        let candidates: Vec<_> = parsed
            .iter()
            .filter(|c| c.issuer() == cert.issuer() && issuer.subject() == cert.issuer())
            .collect();
        // OpenSSL prefers a CRL within its dates.
        let in_date = |c: &&&CertificateRevocationList<'_>| {
            c.last_update().timestamp() <= now
                && c.next_update().is_none_or(|n| n.timestamp() >= now)
        };
        let Some(list) = candidates.iter().find(in_date).or(candidates.first()) else {
            continue;
        };
        let name = openvpn_dn(cert.subject());
        let by = openvpn_dn(list.issuer());
        if list.last_update().timestamp() > now {
            return refuse(
                format!("the CRL of {by} is not valid before {}", list.last_update()),
                problems,
            );
        }
        if let Some(next) = list.next_update().filter(|n| n.timestamp() < now) {
            return refuse(format!("the CRL of {by} expired on {next}"), problems);
        }
        match list.verify_signature(issuer.public_key()) {
            Ok(()) => {}
            Err(X509Error::SignatureUnsupportedAlgorithm) => {
                problems.push(Problem::Unchecked {
                    rule: rule.to_string(),
                    reason: format!(
                        "the CRL of {by} is signed with {}, which this check cannot verify",
                        list.signature_algorithm.algorithm.to_id_string()
                    ),
                });
                return;
            }
            Err(_) => {
                return refuse(
                    format!(
                        "the CRL of {by} is not signed by {}",
                        openvpn_dn(issuer.subject())
                    ),
                    problems,
                );
            }
        }
        if let Ok(Some(ku)) = issuer.key_usage() {
            if !ku.value.crl_sign() {
                return refuse(
                    format!("{by} signs the CRL without the cRLSign key usage"),
                    problems,
                );
            }
        }
        let serial = cert.raw_serial();
        if list
            .iter_revoked_certificates()
            .any(|r| r.raw_serial() == serial)
        {
            let found = format!(
                "{name} (serial {}) is revoked by the CRL of {by}",
                cert.raw_serial_as_string()
            );
            return refuse(found, problems);
        }
    }
}

/// `tls-cert-profile`: the OpenSSL security level's key sizes over the judged path (the
/// anchor's key too), its signature hashes over the certificates that are not
/// self-signed, and Suite B's curves and ECDSA signatures.
fn check_profile(
    chain: &[CertificateDer<'_>],
    profile: crate::client_rules::CertProfile,
    path: &[CertInfo],
    problems: &mut Vec<Problem>,
) {
    use crate::client_rules::CertProfile;
    let rule = format!("tls-cert-profile {}", profile.name());
    let mut found = Vec::new();
    let (rsa_min, ec_min) = profile.min_bits();
    for c in path {
        let mut words = c.key.split(' ');
        let (kind, size) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        let bits = match (kind, size) {
            ("RSA" | "DSA", n) => n.parse::<usize>().ok().map(|n| (n, rsa_min)),
            ("EC", "P-256") => Some((256, ec_min)),
            ("EC", "P-384") => Some((384, ec_min)),
            ("EC", "P-521") => Some((521, ec_min)),
            _ => None,
        };
        let weak = bits.is_some_and(|(n, min)| n < min);
        let not_suiteb =
            profile == CertProfile::SuiteB && !matches!(c.key.as_str(), "EC P-256" | "EC P-384");
        if weak || not_suiteb {
            found.push(format!("{} has a {} key", c.short_name(), c.key));
        }
    }
    for der in chain {
        let Ok((_, cert)) = parse_x509_certificate(der) else {
            continue;
        };
        if cert.subject() == cert.issuer() {
            continue;
        }
        let alg = cert.signature_algorithm.algorithm.to_id_string();
        let name = match alg.as_str() {
            "1.2.840.113549.1.1.4" => "MD5 with RSA",
            "1.2.840.113549.1.1.5" => "SHA-1 with RSA",
            "1.2.840.10045.4.1" => "ECDSA with SHA-1",
            "1.2.840.10045.4.3.2" => "ECDSA with SHA-256",
            "1.2.840.10045.4.3.3" => "ECDSA with SHA-384",
            "1.2.840.10045.4.3.4" => "ECDSA with SHA-512",
            "1.2.840.113549.1.1.10" => "RSA-PSS",
            "1.2.840.113549.1.1.11" => "SHA-256 with RSA",
            "1.2.840.113549.1.1.12" => "SHA-384 with RSA",
            "1.2.840.113549.1.1.13" => "SHA-512 with RSA",
            "1.2.840.113549.1.1.14" => "SHA-224 with RSA",
            _ => "",
        };
        let weak =
            profile != CertProfile::Insecure && (name.contains("SHA-1") || name.contains("MD5"));
        let not_suiteb = profile == CertProfile::SuiteB
            && !matches!(name, "ECDSA with SHA-256" | "ECDSA with SHA-384");
        if weak || not_suiteb {
            let shown = if name.is_empty() { alg.as_str() } else { name };
            found.push(format!(
                "{} is signed with {shown}",
                openvpn_dn(cert.subject())
            ));
        }
    }
    if found.is_empty() && profile == CertProfile::SuiteB {
        problems.push(Problem::Unchecked {
            rule,
            reason: "a Suite B chain, but OpenSSL's Suite B mode (a curve per suite, the client's own certificate) is beyond this check: OpenVPN's client may fail".into(),
        });
        return;
    }
    if let Some(first) = found.first() {
        let more = match found.len() {
            1 => String::new(),
            n => format!(", and {} more", n - 1),
        };
        problems.push(Problem::Rule {
            rule,
            found: format!("{first}{more}"),
        });
    }
}

fn check_leaf(leaf: &X509Certificate<'_>, policy: &Policy, j: &mut Judgement) {
    let eku = leaf.extended_key_usage().ok().flatten().map(|e| e.value);
    if policy.ca.is_some() || policy.remote_cert_tls_server {
        // webpki already refuses a present EKU without serverAuth on the verified path;
        // say it plainly here too, also when the path failed for another reason.
        if let Some(e) = eku {
            if !e.server_auth
                && !e.any
                && !j.problems.iter().any(|p| matches!(p, Problem::Eku { .. }))
            {
                j.problems.push(Problem::Eku {
                    reason: "its extended key usage does not include TLS Web Server Authentication"
                        .into(),
                });
            }
        }
    }
    if policy.remote_cert_tls_server {
        if eku.is_none() {
            j.problems.push(Problem::Eku {
                reason: "it has no extended key usage, and remote-cert-tls server requires TLS Web Server Authentication".into(),
            });
        }
        if !matches!(leaf.key_usage(), Ok(Some(_))) {
            j.problems.push(Problem::NoKeyUsage);
        }
    }
    if let Some(want) = &policy.rules.remote_cert_eku {
        let oids: Vec<String> = match leaf.extended_key_usage() {
            Ok(Some(e)) => eku_oids(e.value),
            _ => Vec::new(),
        };
        if !crate::client_rules::eku_matches(want, &oids) {
            let has = if oids.is_empty() {
                "no extended key usage".to_string()
            } else {
                let names: Vec<&str> = oids
                    .iter()
                    .map(|o| crate::client_rules::eku_name(o).unwrap_or(o))
                    .collect();
                format!("EKU {}", names.join(", "))
            };
            j.problems.push(Problem::Rule {
                rule: format!("remote-cert-eku \"{want}\""),
                found: format!("its certificate has {has}"),
            });
        }
    }
    if let Some(wanted) = &policy.rules.remote_cert_ku {
        let rule = if wanted.is_empty() {
            "remote-cert-ku".to_string()
        } else {
            let v: Vec<String> = wanted.iter().map(|w| format!("{w:x}")).collect();
            format!("remote-cert-ku {}", v.join(" "))
        };
        match leaf.key_usage() {
            Ok(Some(ku)) => {
                if !crate::client_rules::ku_matches(wanted, ku.value.flags) {
                    j.problems.push(Problem::Rule {
                        rule,
                        found: format!("its key usage is {}", ku.value),
                    });
                }
            }
            _ => j.problems.push(Problem::Rule {
                rule,
                found: "its certificate has no key usage".into(),
            }),
        }
    }
    if let Some(kind) = policy.rules.ns_cert_type {
        if !ns_cert_type_ok(leaf, kind) {
            let (name, purpose) = match kind {
                crate::client_rules::NsCertType::Server => ("server", "TLS server"),
                crate::client_rules::NsCertType::Client => ("client", "TLS client"),
            };
            j.problems.push(Problem::Rule {
                rule: format!("ns-cert-type {name}"),
                found: format!("its certificate fails OpenSSL's {purpose} purpose (extended key usage, key usage, nsCertType) and has no nsCertType {name} bit"),
            });
        }
    }
    if let Some((expected, kind)) = &policy.verify_name {
        let subject = openvpn_dn(leaf.subject());
        let cn = leaf
            .subject()
            .iter_common_name()
            .last()
            .and_then(|c| c.as_str().ok())
            .unwrap_or("")
            .to_string();
        let (ok, actual) = match kind {
            NameType::Subject => (subject == *expected, subject),
            NameType::Name => (cn == *expected, cn),
            NameType::NamePrefix => (cn.starts_with(expected.as_str()), cn),
        };
        if !ok {
            j.problems.push(Problem::NameMismatch {
                expected: expected.clone(),
                kind: *kind,
                actual,
            });
        }
    }
}

/// `ns-cert-type` as `x509_verify_ns_cert_type` decides: OpenSSL's SSL server (client)
/// purpose (`X509_check_purpose`: an EKU, if any, has serverAuth or a server gated
/// crypto OID (clientAuth); an nsCertType, if any, has the server (client) bit; a key
/// usage, if any, has digitalSignature, keyEncipherment or keyAgreement (not
/// keyEncipherment for a client)), or else the nsCertType bit alone.
fn ns_cert_type_ok(leaf: &X509Certificate<'_>, kind: crate::client_rules::NsCertType) -> bool {
    let server = kind == crate::client_rules::NsCertType::Server;
    let ns_bit = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::NSCertType(t) => Some(if server {
                t.ssl_server()
            } else {
                t.ssl_client()
            }),
            _ => None,
        });
    let eku_ok = match leaf.extended_key_usage() {
        Ok(Some(e)) if server => {
            e.value.server_auth
                || e.value.other.iter().any(|o| {
                    matches!(
                        o.to_id_string().as_str(),
                        "2.16.840.1.113730.4.1" | "1.3.6.1.4.1.311.10.3.3"
                    )
                })
        }
        Ok(Some(e)) => e.value.client_auth,
        _ => true,
    };
    let ku_ok = match leaf.key_usage() {
        Ok(Some(ku)) => {
            ku.value.digital_signature()
                || ku.value.key_agreement()
                || (server && ku.value.key_encipherment())
        }
        _ => true,
    };
    (eku_ok && ns_bit != Some(false) && ku_ok) || ns_bit == Some(true)
}

/// Builds and verifies the path from the leaf to a `--ca` certificate. Dates are judged
/// separately: when the only fault at `now` is a date, the path is verified again as of
/// a moment when every certificate the server sent was valid.
fn verify_path(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    ca: &[CertificateDer<'static>],
    sent: &[CertInfo],
    now: i64,
) -> Result<Vec<CertInfo>, Problem> {
    // webpki reads only X.509 v3 leaves; OpenVPN also accepts a v1 one.
    let ee = match webpki::EndEntityCert::try_from(leaf) {
        Ok(ee) => ee,
        Err(webpki::Error::UnsupportedCertVersion) => {
            return verify_v1_path(leaf, intermediates, ca, sent)
        }
        Err(e) => {
            return Err(Problem::Unsupported {
                reason: format!("{e:?}"),
            })
        }
    };
    let anchors: Vec<rustls::pki_types::TrustAnchor<'_>> = ca
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    if anchors.is_empty() {
        return Err(Problem::Untrusted {
            reason: "no usable certificate in --ca".into(),
        });
    }
    let algs = crate::algorithms::SUPPORTED.all;
    let mut times = vec![now];
    if let Some(latest_start) = sent.iter().map(|c| c.not_before).max() {
        times.push(latest_start + 1);
    }
    if let Some(first_end) = sent.iter().map(|c| c.not_after).min() {
        times.push(first_end - 1);
    }
    let mut first_error = None;
    for t in times {
        let at = UnixTime::since_unix_epoch(Duration::from_secs(t.max(0) as u64));
        match ee.verify_for_usage(
            algs,
            &anchors,
            intermediates,
            at,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        ) {
            Ok(path) => {
                let mut certs = Vec::new();
                if let Some(c) = sent.first() {
                    certs.push(c.clone());
                }
                for inter in path.intermediate_certificates() {
                    if let Ok(c) = info(&inter.der(), Role::Intermediate) {
                        certs.push(c);
                    }
                }
                let anchor = path.anchor();
                if let Some(c) = ca.iter().find(|c| {
                    webpki::anchor_from_trusted_cert(c).is_ok_and(|a| {
                        a.subject == anchor.subject
                            && a.subject_public_key_info == anchor.subject_public_key_info
                    })
                }) {
                    if let Ok(c) = info(c, Role::Anchor) {
                        certs.push(c);
                    }
                }
                return Ok(certs);
            }
            Err(e) => {
                let dated = matches!(
                    e,
                    webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }
                );
                if first_error.is_none() {
                    first_error = Some(e.clone());
                }
                if !dated {
                    first_error = Some(e);
                    break;
                }
            }
        }
    }
    Err(path_problem(
        first_error.unwrap_or(webpki::Error::UnknownIssuer),
    ))
}

/// The longest path OpenVPN's OpenSSL builds by default is far longer; no real PKI
/// comes near this.
const MAX_V1_PATH: usize = 8;

/// The path from an X.509 v1 leaf to a `--ca` certificate, checked as OpenSSL checks it
/// for OpenVPN: each certificate's issuer name is its issuer's subject and its signature
/// verifies with the issuer's key; certificates between leaf and anchor must be v3 CAs
/// (OpenSSL takes a v1 certificate as a CA only when it is a self-signed root, and
/// webpki takes such roots as anchors). Dates are judged by the caller, as for v3.
fn verify_v1_path(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    ca: &[CertificateDer<'static>],
    sent: &[CertInfo],
) -> Result<Vec<CertInfo>, Problem> {
    fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
        parse_x509_certificate(der).ok().map(|(_, c)| c)
    }
    let mut current = parse(leaf).ok_or_else(|| Problem::Unparsable {
        index: 0,
        reason: "the certificate does not parse".into(),
    })?;
    let mut certs: Vec<CertInfo> = sent.first().cloned().into_iter().collect();
    for _ in 0..MAX_V1_PATH {
        let issued_by = |issuer: &X509Certificate<'_>| {
            issuer.subject().as_raw() == current.issuer().as_raw()
                && signed_by(&current, issuer).is_ok()
        };
        if let Some(anchor) = ca.iter().find(|c| parse(c).is_some_and(|c| issued_by(&c))) {
            if let Ok(c) = info(anchor, Role::Anchor) {
                certs.push(c);
            }
            return Ok(certs);
        }
        let next = intermediates.iter().find(|c| {
            parse(c).is_some_and(|c| {
                c.version() == X509Version::V3
                    && matches!(c.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
                    && issued_by(&c)
            })
        });
        let Some(next) = next else {
            // Name the reason a signature gave, if a certificate by that name exists.
            let named = ca
                .iter()
                .chain(intermediates)
                .filter_map(|c| parse(c))
                .find(|c| c.subject().as_raw() == current.issuer().as_raw());
            return Err(match named.map(|issuer| signed_by(&current, &issuer)) {
                Some(Err(p)) => p,
                _ => Problem::Untrusted {
                    reason: "it is not signed by a certificate in --ca".into(),
                },
            });
        };
        if let Ok(c) = info(next, Role::Intermediate) {
            certs.push(c);
        }
        current = parse(next).ok_or_else(|| Problem::Untrusted {
            reason: "an intermediate certificate does not parse".into(),
        })?;
    }
    Err(Problem::Untrusted {
        reason: format!("no path to --ca within {MAX_V1_PATH} certificates"),
    })
}

/// Whether `cert`'s signature verifies with `issuer`'s key, by the algorithm both name.
fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), Problem> {
    let unsupported = || Problem::Unsupported {
        reason: "UnsupportedSignatureAlgorithm".into(),
    };
    let sig_alg = alg_id_contents(&cert.signature_algorithm).ok_or_else(unsupported)?;
    let key_alg = alg_id_contents(&issuer.public_key().algorithm).ok_or_else(unsupported)?;
    let alg = crate::algorithms::SUPPORTED
        .all
        .iter()
        .find(|a| *a.signature_alg_id() == sig_alg[..] && *a.public_key_alg_id() == key_alg[..]);
    let alg = alg.ok_or_else(unsupported)?;
    alg.verify_signature(
        &issuer.public_key().subject_public_key.data,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    )
    .map_err(|_| Problem::BadSignature {
        reason: "InvalidSignatureForPublicKey".into(),
    })
}

/// An AlgorithmIdentifier SEQUENCE's contents (OID, then any parameters), as webpki's
/// algorithm ids hold them.
fn alg_id_contents(id: &x509_parser::x509::AlgorithmIdentifier<'_>) -> Option<Vec<u8>> {
    use x509_parser::der_parser::asn1_rs::ToDer;
    let mut v = id.algorithm.to_der_vec().ok()?;
    if let Some(p) = &id.parameters {
        v.extend(p.to_der_vec().ok()?);
    }
    Some(v)
}

/// Whether the check verifies signatures by the key of this certificate (its type; the
/// size is judged when a signature is checked).
pub fn key_verifiable(der: &[u8]) -> bool {
    let Ok((_, cert)) = parse_x509_certificate(der) else {
        return false;
    };
    let Some(key_alg) = alg_id_contents(&cert.public_key().algorithm) else {
        return false;
    };
    crate::algorithms::SUPPORTED
        .all
        .iter()
        .any(|a| *a.public_key_alg_id() == key_alg[..])
}

/// `EC P-256`, `RSA 2048`, `Ed448`: the key of a certificate, or `unparsable`.
pub fn key_kind(der: &[u8]) -> String {
    match parse_x509_certificate(der) {
        Ok((_, cert)) => key_description(&cert),
        Err(_) => "unparsable".into(),
    }
}

/// The OIDs of an extended key usage extension, dotted.
fn eku_oids(e: &x509_parser::extensions::ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (set, oid) in [
        (e.server_auth, "1.3.6.1.5.5.7.3.1"),
        (e.client_auth, "1.3.6.1.5.5.7.3.2"),
        (e.code_signing, "1.3.6.1.5.5.7.3.3"),
        (e.email_protection, "1.3.6.1.5.5.7.3.4"),
        (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
        (e.any, "2.5.29.37.0"),
    ] {
        if set {
            out.push(oid.to_string());
        }
    }
    out.extend(e.other.iter().map(|o| o.to_id_string()));
    out
}

fn path_problem(e: webpki::Error) -> Problem {
    let text = format!("{e:?}");
    match e {
        webpki::Error::UnknownIssuer => Problem::Untrusted {
            reason: "it is not signed by a certificate in --ca".into(),
        },
        webpki::Error::InvalidSignatureForPublicKey | webpki::Error::SignatureAlgorithmMismatch => {
            Problem::BadSignature { reason: text }
        }
        webpki::Error::RequiredEkuNotFoundContext(_) => Problem::Eku {
            reason: "its extended key usage does not include TLS Web Server Authentication".into(),
        },
        _ if text.starts_with("Unsupported") => Problem::Unsupported { reason: text },
        _ => Problem::Untrusted { reason: text },
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    #[error("cannot read --ca {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{name} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate { name: String },
    #[error("{name}: certificate {index} is not valid PEM or DER: {reason}")]
    Bad {
        name: String,
        index: usize,
        reason: String,
    },
}

/// No CA bundle worth using comes near this; a bigger file is not a CA file.
const MAX_CA_FILE: u64 = 4 << 20;

/// Reads `--ca FILE`: one or more PEM certificates.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaError> {
    let read_err = |reason: String| CaError::Read {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
    if !meta.is_file() {
        return Err(read_err("not a regular file".into()));
    }
    if meta.len() > MAX_CA_FILE {
        return Err(read_err(format!(
            "{} bytes, more than any CA bundle",
            meta.len()
        )));
    }
    let text = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
    parse_ca_pem(&text, &path.display().to_string())
}

/// Parses PEM text (a `--ca` file or a config's `<ca>` block) named `name` in messages.
pub fn parse_ca_pem(text: &[u8], name: &str) -> Result<Vec<CertificateDer<'static>>, CaError> {
    use rustls::pki_types::pem::PemObject;
    let mut out = Vec::new();
    for (index, item) in CertificateDer::pem_slice_iter(text).enumerate() {
        let der = item.map_err(|e| CaError::Bad {
            name: name.into(),
            index: index + 1,
            reason: format!("{e:?}"),
        })?;
        if let Err(e) = parse_x509_certificate(&der) {
            return Err(CaError::Bad {
                name: name.into(),
                index: index + 1,
                reason: e.to_string(),
            });
        }
        out.push(der);
    }
    if out.is_empty() {
        return Err(CaError::NoCertificate { name: name.into() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// Self-signed certificates made with `openssl req -x509 -subj ... -multivalue-rdn
    /// -utf8`, and the hash `openssl x509 -noout -subject_hash` printed for each (the
    /// name `openssl rehash` gives its file in a capath directory).
    const NAMES: [(&str, &str); 3] = [
        // C=DE, O=Ex  Ample (two spaces), CN=Test CA
        ("00979450", "MIIBuzCCAWGgAwIBAgIUQTRDVuwI3iCRBWn2iQdf58WZv2AwCgYIKoZIzj0EAwIwMzELMAkGA1UEBhMCREUxEjAQBgNVBAoMCUV4ICBBbXBsZTEQMA4GA1UEAwwHVGVzdCBDQTAeFw0yNjEyMDUxNDQwMjRaFw0yNjEyMDgxNDQwMjRaMDMxCzAJBgNVBAYTAkRFMRIwEAYDVQQKDAlFeCAgQW1wbGUxEDAOBgNVBAMMB1Rlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ5iI3fkBPa9EVXkVEB7NhQ/8w0U8EyWwQ53YHKLxNspd1UR9TXeTvMQ8KRO0as+Ws9CVIUZpVEtCJ0FUIuivqjo1MwUTAdBgNVHQ4EFgQUqCcG5BruqYSOv6W2l+hzywuCYBIwHwYDVR0jBBgwFoAUqCcG5BruqYSOv6W2l+hzywuCYBIwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBNKa0ibf4j7TiUG/cHrbAnA9itTI2VufSM6ftBtcEp9QIhAKaufBxyn8sWmFtr/25xs+L/s982M527Pq6lt/n8BAY4"),
        // CN='  MixedtCase Ümlaut  ', OU=Ops + O=ACME (a two-valued RDN)
        ("eeae5aae", "MIIBzDCCAXOgAwIBAgIUQ+qm1wHVtF4mv5npIbh2Auc+U6kwCgYIKoZIzj0EAwIwPDEfMB0GA1UEAwwWICBNaXhlZHRDYXNlIMOcbWxhdXQgIDEZMAoGA1UECwwDT3BzMAsGA1UECgwEQUNNRTAeFw0yNjEyMDUxNDQwMjRaFw0yNjEyMDgxNDQwMjRaMDwxHzAdBgNVBAMMFiAgTWl4ZWR0Q2FzZSDDnG1sYXV0ICAxGTAKBgNVBAsMA09wczALBgNVBAoMBEFDTUUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASiwYnKzzfh3rS09FaxwrEyvZUNh/dywrU22pUxjtRxfRa4J7jDaIS9Xkpb4VBzds9vbILgcO1w30uE3tvXAKrdo1MwUTAdBgNVHQ4EFgQUFCw8ClalG6LtLBOwcYzDBtvxeb0wHwYDVR0jBBgwFoAUFCw8ClalG6LtLBOwcYzDBtvxeb0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiB3Hm2qsWepOSi8qO7uVb3Pfvdm0TplXEQMK6PCgOJKzAIgZESofKYtj7TvQECCBt56tKh5eDBchsAWmlvc2NLJedE="),
        // DC=org, DC=example (IA5String), CN=vpn-ca
        ("cb606577", "MIIB1DCCAXmgAwIBAgIUDbtIv5GmeVRSE95/3OXr3b++MNowCgYIKoZIzj0EAwIwPzETMBEGCgmSJomT8ixkARkWA29yZzEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUxDzANBgNVBAMMBnZwbi1jYTAeFw0yNjEyMDUxNDQwMjRaFw0yNjEyMDgxNDQwMjRaMD8xEzARBgoJkiaJk/IsZAEZFgNvcmcxFzAVBgoJkiaJk/IsZAEZFgdleGFtcGxlMQ8wDQYDVQQDDAZ2cG4tY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARO+s0cT9eEn4OFIfkucJWpEE3OPKLRSc0a6BSSJxBMtqLdLZ2RkEJ/OhMDvBg8UsSjhzTRLNmF6MF+C5oEP/hso1MwUTAdBgNVHQ4EFgQUvK/nouG41FYjhloJMK8l0Yd30e0wHwYDVR0jBBgwFoAUvK/nouG41FYjhloJMK8l0Yd30e0wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAqf6lxEF8U2lpec6SZ3QmcKn8GSIKAG9B0h/smI+2jYYCIQDJPG4vR4KC8aPfUmVrUauptkUCMRm6DhaEWCjMXtRO2Q=="),
    ];

    #[test]
    fn subject_hash_as_openssl_prints_it() {
        for (hash, b64) in NAMES {
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            let (_, cert) = parse_x509_certificate(&der).expect("certificate");
            assert_eq!(
                subject_hash(cert.subject()).map(|h| format!("{h:08x}")),
                Some(hash.to_string()),
                "{}",
                openvpn_dn(cert.subject())
            );
        }
    }
}
