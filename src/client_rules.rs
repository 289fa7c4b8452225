//! The TLS rules of a client config as OpenVPN 2.6's OpenSSL client applies them
//! (`options.c`, `ssl.c`, `ssl_openssl.c`, `ssl_verify_openssl.c`): `tls-version-min`/
//! `tls-version-max`, `tls-cipher`, `tls-ciphersuites`, `tls-groups`, `tls-cert-profile`,
//! `remote-cert-ku` and `remote-cert-eku`; and the certificate rules of `ssl_verify.c`:
//! `peer-fingerprint`, `verify-hash`, `ns-cert-type` and `crl-verify`. Each is either
//! honoured exactly (it narrows the hello the check sends, or it judges what the server
//! chose or sent) or refused with its line: never silently ignored.

use rustls::{CipherSuite, NamedGroup};

/// The client's own rules, as far as they decide whether it takes a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRules {
    /// `tls-version-min 1.3`: a server that chooses TLS 1.2 is refused.
    pub min_tls13: Option<String>,
    /// `tls-version-max 1.2`: only TLS 1.2 is offered.
    pub max_tls12: bool,
    /// `tls-cipher`: the TLS 1.2 suites offered, in the config's order.
    pub tls12_suites: Option<Vec<CipherSuite>>,
    /// `tls-ciphersuites`: the TLS 1.3 suites offered, in the config's order.
    pub tls13_suites: Option<Vec<CipherSuite>>,
    /// `tls-groups`: the key exchange groups offered, in the config's order.
    pub groups: Option<Vec<NamedGroup>>,
    /// `tls-cert-profile`: what the server's chain must meet.
    pub cert_profile: Option<CertProfile>,
    /// `remote-cert-ku [HEX...]`: the key usage extension must be there, and with values,
    /// hold all bits of one of them. Empty: only there.
    pub remote_cert_ku: Option<Vec<u32>>,
    /// `remote-cert-eku NAME|OID`: an extended key usage of that OpenSSL long name or OID.
    pub remote_cert_eku: Option<String>,
    /// The lines that narrowed the hello, as written (`tls-cipher ...`), for the words when
    /// the server refuses it.
    pub offer_lines: Vec<String>,
    /// Suites of `tls-cipher` that OpenVPN's client offers and this check cannot (DHE,
    /// CBC): the check offers the rest, so a server that takes its hello takes OpenVPN's,
    /// but one that refuses it may still take OpenVPN's.
    pub unoffered: Vec<String>,
    /// `peer-fingerprint` or `verify-hash`: the certificate hashes one depth of the chain
    /// must match.
    pub pins: Option<Pins>,
    /// `ns-cert-type server|client`: the purpose the server's certificate must have.
    pub ns_cert_type: Option<NsCertType>,
    /// `crl-verify FILE` or `crl-verify DIR dir`.
    pub crl_verify: Option<CrlRule>,
}

/// `peer-fingerprint` and `verify-hash`, as `options.c` keeps them: one list of hashes of
/// the certificate at one depth of the server's chain, compared by `verify_cert` in
/// `ssl_verify.c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// `peer-fingerprint` (depth 0, the server's own certificate) or `verify-hash` (depth
    /// 1, the CA certificate that issued it).
    pub directive: &'static str,
    /// SHA-1 instead of SHA-256: the hash of the last line, for every hash of the list.
    pub sha1: bool,
    /// The hashes, each as OpenVPN holds it: 32 bytes, a SHA-1 one followed by zeros.
    pub hashes: Vec<[u8; 32]>,
}

impl Pins {
    /// The depth of the chain whose certificate is pinned (0 is the server's own).
    pub fn depth(&self) -> usize {
        usize::from(self.directive == "verify-hash")
    }

    /// Whether a certificate's DER matches one of the hashes, compared over the length of
    /// the hash in use as `verify_cert` compares.
    pub fn matches(&self, der: &[u8]) -> bool {
        let fingerprint = self.fingerprint(der);
        self.hashes
            .iter()
            .any(|h| h[..fingerprint.len()] == fingerprint[..])
    }

    /// The certificate's fingerprint in the hash in use.
    pub fn fingerprint(&self, der: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        if self.sha1 {
            sha1::Sha1::digest(der).to_vec()
        } else {
            sha2::Sha256::digest(der).to_vec()
        }
    }

    /// `SHA-256` or `SHA-1`.
    pub fn hash_name(&self) -> &'static str {
        if self.sha1 {
            "SHA-1"
        } else {
            "SHA-256"
        }
    }
}

/// A fingerprint as OpenVPN prints and reads it: `AB:CD:...`.
pub fn colon_hex(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// One fingerprint as `parse_hash_fingerprint` reads it: segments of exactly two hex
/// digits, each followed by `:` or the end, `nbytes` of them.
fn fingerprint(text: &str, nbytes: usize) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut at = 0;
    while at < bytes.len() && i < nbytes {
        let pair = bytes.get(at..at + 2).unwrap_or_default();
        let next = bytes.get(at + 2).copied();
        if pair.len() != 2
            || !pair.iter().all(u8::is_ascii_hexdigit)
            || !matches!(next, None | Some(b':'))
        {
            return Err(format!(
                "'{text}' is no fingerprint: two hex digits, then ':' or the end, make each byte"
            ));
        }
        out[i] = u8::from_str_radix(&text[at..at + 2], 16).unwrap_or_default();
        i += 1;
        if next.is_none() {
            return if i == nbytes {
                Ok(out)
            } else {
                Err(format!(
                    "'{text}' has {i} bytes; a fingerprint of this hash has {nbytes}"
                ))
            };
        }
        at += 3;
    }
    Err(format!(
        "'{text}' is longer than the {nbytes} bytes of a fingerprint of this hash"
    ))
}

/// `ns-cert-type`: the purpose OpenSSL's `X509_check_purpose` must grant, or the
/// Netscape certificate type bit that OpenVPN accepts instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsCertType {
    Server,
    Client,
}

/// `crl-verify FILE` (a PEM file or an inline block) or `crl-verify DIR dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRule {
    pub source: crate::keys::KeySource,
    pub dir: bool,
    /// The line as written, for messages.
    pub line: String,
}

/// `tls-cert-profile`, as OpenVPN maps it to OpenSSL security levels (`ssl_openssl.c`
/// `tls_ctx_set_cert_profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProfile {
    /// Level 0: anything.
    Insecure,
    /// Level 1: RSA keys of 1024 bits or more, EC keys of 160, no MD5 or SHA-1 signatures.
    Legacy,
    /// Level 2: RSA 2048, EC 224, no MD5 or SHA-1 signatures.
    Preferred,
    /// Level 3 and Suite B: only EC P-256/P-384 keys signed with ECDSA SHA-256/SHA-384,
    /// ECDHE-ECDSA AES-GCM on TLS 1.2.
    SuiteB,
}

impl CertProfile {
    pub fn name(self) -> &'static str {
        match self {
            CertProfile::Insecure => "insecure",
            CertProfile::Legacy => "legacy",
            CertProfile::Preferred => "preferred",
            CertProfile::SuiteB => "suiteb",
        }
    }

    /// The smallest RSA and EC key sizes of the OpenSSL security level.
    pub fn min_bits(self) -> (usize, usize) {
        match self {
            CertProfile::Insecure => (0, 0),
            CertProfile::Legacy => (1024, 160),
            CertProfile::Preferred => (2048, 224),
            CertProfile::SuiteB => (3072, 256),
        }
    }
}

/// A rule the check refuses: the message, and whether OpenVPN itself refuses it too.
pub type Refusal = (String, bool);

fn tls12_suite(name: &str) -> Option<CipherSuite> {
    use CipherSuite as C;
    Some(match name {
        "ECDHE-ECDSA-AES128-GCM-SHA256" | "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" => {
            C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        }
        "ECDHE-ECDSA-AES256-GCM-SHA384" | "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384" => {
            C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        }
        "ECDHE-ECDSA-CHACHA20-POLY1305" | "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256" => {
            C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "ECDHE-RSA-AES128-GCM-SHA256" | "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256" => {
            C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        }
        "ECDHE-RSA-AES256-GCM-SHA384" | "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384" => {
            C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        }
        "ECDHE-RSA-CHACHA20-POLY1305" | "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256" => {
            C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

/// TLS 1.2 suites OpenVPN's OpenSSL client may offer that this check does not speak, by
/// OpenSSL name and by OpenVPN's `TLS-...-WITH-...` name (`ssl.c` translation table).
const UNSPEAKABLE_TLS12: [(&str, &str); 15] = [
    (
        "DHE-RSA-AES128-GCM-SHA256",
        "TLS-DHE-RSA-WITH-AES-128-GCM-SHA256",
    ),
    (
        "DHE-RSA-AES256-GCM-SHA384",
        "TLS-DHE-RSA-WITH-AES-256-GCM-SHA384",
    ),
    (
        "DHE-RSA-CHACHA20-POLY1305",
        "TLS-DHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
    ),
    (
        "DHE-RSA-AES128-SHA256",
        "TLS-DHE-RSA-WITH-AES-128-CBC-SHA256",
    ),
    (
        "DHE-RSA-AES256-SHA256",
        "TLS-DHE-RSA-WITH-AES-256-CBC-SHA256",
    ),
    ("DHE-RSA-AES128-SHA", "TLS-DHE-RSA-WITH-AES-128-CBC-SHA"),
    ("DHE-RSA-AES256-SHA", "TLS-DHE-RSA-WITH-AES-256-CBC-SHA"),
    (
        "ECDHE-RSA-AES128-SHA256",
        "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256",
    ),
    (
        "ECDHE-RSA-AES256-SHA384",
        "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-SHA256",
        "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA384",
        "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA384",
    ),
    ("ECDHE-RSA-AES128-SHA", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA"),
    ("ECDHE-RSA-AES256-SHA", "TLS-ECDHE-RSA-WITH-AES-256-CBC-SHA"),
    (
        "ECDHE-ECDSA-AES128-SHA",
        "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA",
    ),
    (
        "ECDHE-ECDSA-AES256-SHA",
        "TLS-ECDHE-ECDSA-WITH-AES-256-CBC-SHA",
    ),
];

fn unspeakable_tls12(name: &str) -> bool {
    UNSPEAKABLE_TLS12
        .iter()
        .any(|(a, b)| *a == name || *b == name)
}

fn tls13_suite(name: &str) -> Option<CipherSuite> {
    use CipherSuite as C;
    Some(match name.replace('-', "_").as_str() {
        "TLS_AES_128_GCM_SHA256" => C::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => C::TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => C::TLS13_CHACHA20_POLY1305_SHA256,
        _ => return None,
    })
}

fn group(name: &str) -> Option<NamedGroup> {
    Some(match name.to_ascii_lowercase().as_str() {
        "x25519" => NamedGroup::X25519,
        "p-256" | "prime256v1" | "secp256r1" => NamedGroup::secp256r1,
        "p-384" | "secp384r1" => NamedGroup::secp384r1,
        "p-521" | "secp521r1" => NamedGroup::secp521r1,
        _ => return None,
    })
}

/// A colon-separated list whose every name maps; else what does not (OpenSSL's keywords,
/// `!`/`+`/`-` operators and suites this check does not speak alike).
fn list<T>(text: &str, map: impl Fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>, Refusal> {
    let mut out = Vec::new();
    for name in text.split(':').filter(|n| !n.is_empty()) {
        match map(name) {
            Some(v) => out.push(v),
            None => {
                return Err((
                    format!(
                    "'{name}' is no {what} this check can offer exactly as OpenVPN's OpenSSL does"
                ),
                    false,
                ))
            }
        }
    }
    if out.is_empty() {
        return Err((format!("an empty {what} list"), true));
    }
    Ok(out)
}

/// The TLS version of `tls-version-min`/`-max` (`ssl.c` `tls_version_parse`): 10 to 13,
/// or with `or-highest` any other word the highest OpenSSL 3 speaks (1.3).
fn version(word: &str, extra: Option<&str>) -> Option<u8> {
    match (word, extra) {
        ("1.0", _) => Some(10),
        ("1.1", _) => Some(11),
        ("1.2", _) => Some(12),
        ("1.3", _) => Some(13),
        (_, Some("or-highest")) => Some(13),
        _ => None,
    }
}

impl ClientRules {
    /// Applies one directive (its words after the name); `Ok(false)` for a directive that
    /// is none of these rules. The error says why the check refuses the line.
    pub fn apply(&mut self, directive: &str, args: &[String]) -> Result<bool, Refusal> {
        let arg = |i: usize| args.get(i).map(String::as_str);
        let first = || arg(0).ok_or_else(|| (format!("'{directive}' needs an argument"), true));
        let line = format!("{directive} {}", args.join(" "));
        match directive {
            "tls-version-min" => {
                let v = version(first()?, arg(1)).ok_or_else(|| {
                    (
                        format!("unknown TLS version '{}'", arg(0).unwrap_or_default()),
                        true,
                    )
                })?;
                self.min_tls13 = (v == 13).then_some(line);
            }
            "tls-version-max" => {
                let v = version(first()?, None).ok_or_else(|| {
                    (
                        format!("unknown TLS version '{}'", arg(0).unwrap_or_default()),
                        true,
                    )
                })?;
                if v < 12 {
                    return Err((
                        format!(
                            "TLS {}.{} at most: this check speaks TLS 1.2 and 1.3 only",
                            v / 10,
                            v % 10
                        ),
                        false,
                    ));
                }
                self.max_tls12 = v == 12;
                self.offer(&line, v == 12);
            }
            "tls-cipher" => {
                // Known suites the check cannot speak are left out of its hello (and
                // remembered); any other word is refused.
                let text = first()?;
                let unoffered: Vec<String> = text
                    .split(':')
                    .filter(|n| unspeakable_tls12(n))
                    .map(str::to_string)
                    .collect();
                let rest: Vec<&str> = text.split(':').filter(|n| !unspeakable_tls12(n)).collect();
                self.tls12_suites = if rest.iter().all(|n| n.is_empty()) && !unoffered.is_empty() {
                    Some(Vec::new())
                } else {
                    Some(list(&rest.join(":"), tls12_suite, "TLS 1.2 cipher suite")?)
                };
                self.unoffered = unoffered;
                self.offer(&line, true);
            }
            "tls-ciphersuites" => {
                self.tls13_suites = Some(list(first()?, tls13_suite, "TLS 1.3 cipher suite")?);
                self.offer(&line, true);
            }
            "tls-groups" => {
                self.groups = Some(list(first()?, group, "TLS group")?);
                self.offer(&line, true);
            }
            "tls-cert-profile" => {
                let p = match first()? {
                    "insecure" => CertProfile::Insecure,
                    "legacy" => CertProfile::Legacy,
                    "preferred" => CertProfile::Preferred,
                    "suiteb" => CertProfile::SuiteB,
                    other => {
                        return Err((
                            format!(
                                "unknown profile '{other}' (insecure, legacy, preferred, suiteb)"
                            ),
                            true,
                        ))
                    }
                };
                self.cert_profile = Some(p);
                self.offer(&line, p == CertProfile::SuiteB);
            }
            "remote-cert-ku" => {
                // OpenVPN reads each value with sscanf("%x"): what does not start with a
                // hex digit is 0, which matches nothing and is skipped.
                let values = args
                    .iter()
                    .map(|a| {
                        let hex: String = a
                            .trim_start_matches("0x")
                            .chars()
                            .take_while(char::is_ascii_hexdigit)
                            .collect();
                        u32::from_str_radix(&hex, 16).unwrap_or(0)
                    })
                    .collect();
                self.remote_cert_ku = Some(values);
            }
            "remote-cert-eku" => {
                let want = first()?;
                // OpenSSL's short names (serverAuth, ...) are no long names: OpenVPN
                // compares them with nothing that can match, and refuses every server.
                if !is_oid(want) && eku_oid(want).is_none() && !EKU_SHORT_NAMES.contains(&want) {
                    return Err((
                        format!("'{want}' is no extended key usage name this check knows as OpenSSL names it; write its OID"),
                        false,
                    ));
                }
                self.remote_cert_eku = Some(want.to_string());
            }
            "ns-cert-type" => {
                self.ns_cert_type = Some(match first()? {
                    "server" => NsCertType::Server,
                    "client" => NsCertType::Client,
                    other => {
                        return Err((
                            format!("'{other}' is no certificate type (server or client)"),
                            true,
                        ))
                    }
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `peer-fingerprint TEXT` or `verify-hash TEXT [SHA1|SHA256]`, the text a word or an
    /// inline block of one fingerprint a line, added to the list as OpenVPN adds them.
    pub fn pin(
        &mut self,
        directive: &str,
        text: &str,
        algorithm: Option<&str>,
        inline: bool,
    ) -> Result<(), Refusal> {
        let directive: &'static str = match directive {
            "verify-hash" => "verify-hash",
            _ => "peer-fingerprint",
        };
        if let Some(p) = &self.pins {
            if p.directive != directive {
                return Err((
                    "verify-hash and peer-fingerprint exclude each other".into(),
                    true,
                ));
            }
        }
        // A verify-hash line without a hash name is SHA-1, a block SHA-256.
        let sha1 = match (directive, algorithm) {
            ("peer-fingerprint", None) => false,
            ("peer-fingerprint", Some(_)) => {
                return Err((
                    "peer-fingerprint takes one fingerprint, or a <peer-fingerprint> block of one a line".into(),
                    true,
                ))
            }
            (_, Some("SHA1")) => true,
            (_, Some("SHA256")) => false,
            (_, None) => !inline,
            (_, Some(other)) => {
                return Err((
                    format!("'{other}' is no hash verify-hash takes (SHA1 or SHA256)"),
                    true,
                ))
            }
        };
        let nbytes = if sha1 { 20 } else { 32 };
        let mut hashes = Vec::new();
        for line in text.split('\n') {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            hashes.push(fingerprint(line, nbytes).map_err(|m| (m, true))?);
        }
        // A block of comments only adds nothing (OpenVPN's list stays as it was).
        if hashes.is_empty() {
            return Ok(());
        }
        let pins = self.pins.get_or_insert(Pins {
            directive,
            sha1,
            hashes: Vec::new(),
        });
        pins.sha1 = sha1;
        pins.hashes.extend(hashes);
        Ok(())
    }

    fn offer(&mut self, line: &str, narrows: bool) {
        let name = line.split(' ').next().unwrap_or_default();
        self.offer_lines
            .retain(|l| l.split(' ').next() != Some(name));
        if narrows {
            self.offer_lines.push(line.trim().to_string());
        }
    }

    /// The TLS 1.2 suites offered: `tls-cipher`'s, and under `tls-cert-profile suiteb`
    /// only ECDHE-ECDSA with AES-GCM (OpenSSL's `SUITEB128`).
    pub fn tls12_offer(&self) -> Option<Vec<CipherSuite>> {
        use CipherSuite as C;
        if self.cert_profile == Some(CertProfile::SuiteB) {
            return Some(vec![
                C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            ]);
        }
        self.tls12_suites.clone()
    }

    /// The key exchange groups offered: `tls-groups`, and under suiteb P-256 and P-384.
    pub fn groups_offer(&self) -> Option<Vec<NamedGroup>> {
        if self.cert_profile == Some(CertProfile::SuiteB) {
            return Some(vec![NamedGroup::secp256r1, NamedGroup::secp384r1]);
        }
        self.groups.clone()
    }
}

fn is_oid(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// OpenSSL's long names of the extended key usages (`objects.txt`), as `OBJ_obj2txt`
/// prints them and `remote-cert-eku` compares them.
const EKU_NAMES: [(&str, &str); 14] = [
    ("TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1"),
    ("TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2"),
    ("Code Signing", "1.3.6.1.5.5.7.3.3"),
    ("E-mail Protection", "1.3.6.1.5.5.7.3.4"),
    ("IPSec End System", "1.3.6.1.5.5.7.3.5"),
    ("IPSec Tunnel", "1.3.6.1.5.5.7.3.6"),
    ("IPSec User", "1.3.6.1.5.5.7.3.7"),
    ("Time Stamping", "1.3.6.1.5.5.7.3.8"),
    ("OCSP Signing", "1.3.6.1.5.5.7.3.9"),
    ("Any Extended Key Usage", "2.5.29.37.0"),
    ("Microsoft Server Gated Crypto", "1.3.6.1.4.1.311.10.3.3"),
    ("Netscape Server Gated Crypto", "2.16.840.1.113730.4.1"),
    ("Microsoft Smartcard Login", "1.3.6.1.4.1.311.20.2.2"),
    ("ipsec Internet Key Exchange", "1.3.6.1.5.5.8.2.2"),
];

/// OpenSSL's short names of the same, which `remote-cert-eku` never matches.
const EKU_SHORT_NAMES: [&str; 6] = [
    "serverAuth",
    "clientAuth",
    "codeSigning",
    "emailProtection",
    "timeStamping",
    "OCSPSigning",
];

fn eku_oid(name: &str) -> Option<&'static str> {
    EKU_NAMES.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

/// The OpenSSL long name of an EKU OID, where this check knows it.
pub fn eku_name(oid: &str) -> Option<&'static str> {
    EKU_NAMES.iter().find(|(_, o)| *o == oid).map(|(n, _)| *n)
}

/// `remote-cert-eku WANT` against a certificate's EKU OIDs, as `x509_verify_cert_eku`
/// compares: the long name or the dotted OID.
pub fn eku_matches(want: &str, oids: &[String]) -> bool {
    oids.iter().any(|o| o == want || eku_name(o) == Some(want))
}

/// `remote-cert-ku` against a certificate's key usage bits (bit i of the extension is
/// usage i, digitalSignature first), as `x509_verify_cert_ku` compares: OpenVPN's byte puts
/// digitalSignature at 0x80; one wanted value all of whose bits are set matches.
pub fn ku_matches(wanted: &[u32], usage_bits: u16) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let mut nku = 0u32;
    for i in 0..8 {
        if usage_bits & (1 << i) != 0 {
            nku |= 1 << (7 - i);
        }
    }
    wanted.iter().any(|&w| w != 0 && nku & w == w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lines: &[&str]) -> Result<ClientRules, Refusal> {
        let mut r = ClientRules::default();
        for l in lines {
            let w: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            assert!(r.apply(&w[0], &w[1..])?);
        }
        Ok(r)
    }

    #[test]
    fn versions_as_openvpn_parses_them() {
        assert!(rules(&["tls-version-min 1.3"]).unwrap().min_tls13.is_some());
        assert!(rules(&["tls-version-min 1.2"]).unwrap().min_tls13.is_none());
        assert!(rules(&["tls-version-min 1.4 or-highest"])
            .unwrap()
            .min_tls13
            .is_some());
        assert!(rules(&["tls-version-min 1.4"]).unwrap_err().1);
        assert!(rules(&["tls-version-max 1.2"]).unwrap().max_tls12);
        let e = rules(&["tls-version-max 1.1"]).unwrap_err();
        assert!(!e.1 && e.0.contains("TLS 1.1"), "{e:?}");
    }

    #[test]
    fn lists_map_exactly_or_not_at_all() {
        let r = rules(&[
            "tls-cipher ECDHE-RSA-AES256-GCM-SHA384:TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256",
        ])
        .unwrap();
        assert_eq!(
            r.tls12_suites.unwrap(),
            [
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
            ]
        );
        // Known suites the check cannot speak: left out of its hello, remembered.
        let r =
            rules(&["tls-cipher TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"])
                .unwrap();
        assert_eq!(
            r.tls12_suites.unwrap(),
            [CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
        );
        assert_eq!(r.unoffered, ["TLS-DHE-RSA-WITH-AES-256-GCM-SHA384"]);
        let r = rules(&["tls-cipher DHE-RSA-AES256-GCM-SHA384"]).unwrap();
        assert_eq!(r.tls12_suites, Some(Vec::new()));
        for unmappable in [
            "tls-cipher HIGH:!aNULL",
            "tls-cipher DHE-RSA-AES256-GCM-SHA384:DEFAULT",
            "tls-ciphersuites TLS_AES_128_CCM_SHA256",
            "tls-groups X448",
        ] {
            let e = rules(&[unmappable]).unwrap_err();
            assert!(!e.1, "{unmappable}: {e:?}");
        }
        let r = rules(&[
            "tls-groups secp384r1:X25519",
            "tls-ciphersuites TLS_AES_256_GCM_SHA384",
        ])
        .unwrap();
        assert_eq!(
            r.groups.unwrap(),
            [NamedGroup::secp384r1, NamedGroup::X25519]
        );
        assert_eq!(r.offer_lines.len(), 2);
    }

    #[test]
    fn key_usage_as_openvpn_compares_it() {
        // digitalSignature (bit 0) and keyEncipherment (bit 2): OpenVPN's 0xa0.
        let ds_ke = 0b101;
        assert!(ku_matches(&[0xa0], ds_ke));
        assert!(ku_matches(&[0x88, 0xa0], ds_ke));
        assert!(ku_matches(&[0x80], ds_ke));
        assert!(!ku_matches(&[0x88], ds_ke));
        assert!(!ku_matches(&[0], ds_ke));
        assert!(ku_matches(&[], 0));
    }

    #[test]
    fn fingerprints_as_openvpn_parses_them() {
        let sha256 = "AB:".repeat(31) + "CD";
        let mut want = [0xab; 32];
        want[31] = 0xcd;
        assert_eq!(fingerprint(&sha256, 32), Ok(want));
        assert_eq!(fingerprint(&sha256.to_lowercase(), 32), Ok(want));
        for bad in [
            "AB:CD".to_string(),
            format!("{sha256}:"),
            format!("{sha256}:EF"),
            sha256.replace(':', ""),
            sha256.replacen("AB", "A", 1),
            sha256.replacen("AB", "XY", 1),
            format!("{sha256} "),
        ] {
            assert!(fingerprint(&bad, 32).is_err(), "{bad}");
        }
        let sha1 = "01:".repeat(19) + "02";
        assert!(fingerprint(&sha1, 20).is_ok());
        assert!(fingerprint(&sha1, 32).is_err());
    }

    #[test]
    fn verify_hash_and_peer_fingerprint_as_options_c_keeps_them() {
        let sha1 = "01:".repeat(19) + "02";
        let sha256 = "AB:".repeat(31) + "CD";
        let mut r = ClientRules::default();
        // A verify-hash line is SHA-1 unless it says SHA256; a block is SHA-256.
        r.pin("verify-hash", &sha1, None, false).unwrap();
        assert!(r.pins.as_ref().unwrap().sha1);
        r.pin("verify-hash", &sha256, Some("SHA256"), false)
            .unwrap();
        let p = r.pins.as_ref().unwrap();
        assert!(!p.sha1 && p.hashes.len() == 2 && p.depth() == 1);
        let mut r = ClientRules::default();
        r.pin("verify-hash", &format!("{sha256}\n"), None, true)
            .unwrap();
        assert!(!r.pins.as_ref().unwrap().sha1);
        assert!(
            r.pin("verify-hash", &sha1, Some("MD5"), false)
                .unwrap_err()
                .1
        );
        // The two exclude each other; a block of comments and blank lines adds nothing.
        assert!(
            r.pin("peer-fingerprint", &sha256, None, false)
                .unwrap_err()
                .1
        );
        let mut r = ClientRules::default();
        r.pin("peer-fingerprint", "# none yet\n\n", None, true)
            .unwrap();
        assert_eq!(r.pins, None);
        let block = format!(
            "  {sha256}\n; old\n{}\n",
            sha256.to_lowercase().replacen("ab", "00", 1)
        );
        r.pin("peer-fingerprint", &block, None, true).unwrap();
        let p = r.pins.as_ref().unwrap();
        assert!(p.depth() == 0 && p.hashes.len() == 2 && !p.sha1);
        assert!(
            r.pin("peer-fingerprint", "AB:CD", None, false)
                .unwrap_err()
                .1
        );
    }

    #[test]
    fn a_pin_compares_the_hash_in_use_over_its_length() {
        // SHA-256 of the empty string: a known answer (FIPS 180-2 examples).
        let empty = "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55";
        let mut r = ClientRules::default();
        r.pin("peer-fingerprint", empty, None, false).unwrap();
        let p = r.pins.unwrap();
        assert!(p.matches(b""));
        assert!(!p.matches(b"x"));
        assert_eq!(colon_hex(&p.fingerprint(b"")), empty);
        // SHA-1 of the empty string: DA39A3EE...
        let mut r = ClientRules::default();
        r.pin(
            "verify-hash",
            "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09",
            None,
            false,
        )
        .unwrap();
        assert!(r.pins.unwrap().matches(b""));
    }

    #[test]
    fn extended_key_usage_by_name_or_oid() {
        let server = ["1.3.6.1.5.5.7.3.1".to_string()];
        assert!(eku_matches("TLS Web Server Authentication", &server));
        assert!(eku_matches("1.3.6.1.5.5.7.3.1", &server));
        assert!(!eku_matches("TLS Web Client Authentication", &server));
        assert!(!eku_matches("serverAuth", &server));
        assert!(rules(&["remote-cert-eku serverAuth"]).is_ok());
        assert!(rules(&["remote-cert-eku 'Some Other Name'"]).is_err());
    }
}
