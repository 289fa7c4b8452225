//! The probing hello: when a server drops our ClientHello without a word (OpenVPN sends no
//! alert), a second session sends a hand-built hello that offers every version, suite,
//! group and signature scheme an OpenVPN server's OpenSSL may pick, and reads what the
//! server chooses from its first flight: the ServerHello (or HelloRetryRequest), and in
//! TLS 1.2 the certificate and key exchange that follow in the clear. The check then says
//! exactly what the server speaks that it does not, instead of guessing.
//!
//! This hello is never finished: the session ends as soon as the choice is read.

use crate::algorithms;
use rustls::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};

/// TLS 1.3 suites, then TLS 1.2 suites by key exchange: ECDHE (AEAD, then CBC), DHE, DHE-DSS,
/// static RSA; each with AES, then ARIA and Camellia; 3DES; the renegotiation SCSV.
const SUITES: &[u16] = &[
    0x1302, 0x1303, 0x1301, 0x1304, 0x1305, // TLS 1.3
    0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc0ad, 0xc0af, 0xc02b, 0xc02f, 0xc0ac,
    0xc0ae, // ECDHE AEAD
    0xc024, 0xc028, 0xc023, 0xc027, 0xc00a, 0xc014, 0xc009, 0xc013, // ECDHE CBC
    0xc05d, 0xc061, 0xc05c, 0xc060, 0xc073, 0xc077, 0xc072, 0xc076, // ECDHE ARIA, Camellia
    0x009f, 0xccaa, 0xc09f, 0xc0a3, 0x009e, 0xc09e, 0xc0a2, 0x006b, 0x0067, 0x0039,
    0x0033, // DHE-RSA
    0xc053, 0xc052, 0x00c4, 0x00be, 0x0088, 0x0045, // DHE-RSA ARIA, Camellia
    0x00a3, 0x00a2, 0x006a, 0x0040, 0x0038, 0x0032, // DHE-DSS
    0x009d, 0xc09d, 0x009c, 0xc09c, 0x003d, 0x003c, 0x0035, 0x002f, // RSA key exchange
    0xc051, 0xc050, 0x00c0, 0x00ba, 0x0084, 0x0041, // RSA ARIA, Camellia
    0x000a, 0x00ff,
];
/// x25519, the NIST curves, x448, brainpool (TLS 1.2 and 1.3 code points), FFDHE.
const GROUPS: &[u16] = &[
    0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x001a, 0x001b, 0x001c, 0x001f, 0x0020, 0x0021, 0x0100,
    0x0101, 0x0102, 0x0103, 0x0104,
];
const SIGALGS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x081a,
    0x081b, 0x081c, 0x0401, 0x0501, 0x0601, 0x0402, 0x0502, 0x0602, 0x0303, 0x0301, 0x0203, 0x0201,
    0x0202,
];
/// TLS 1.3 down to 1.0.
const VERSIONS: &[u16] = &[0x0304, 0x0303, 0x0302, 0x0301];
/// More than any server's first flight (a chain of a few RSA-4096 certificates).
const MAX_FLIGHT: usize = 64 * 1024;

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

/// `len(u16) || body`.
fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn ext(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend(vec16(body));
    e
}

/// The probing ClientHello, one TLS record. `random` fills the hello's random, session id
/// and the X25519 key share (any 32 bytes are an X25519 public key; the handshake is never
/// finished, so no secret is kept).
pub fn client_hello(random: &[u8; 96]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random[..32]);
    // A session id, as TLS 1.3 clients in middlebox compatibility mode send.
    body.push(32);
    body.extend_from_slice(&random[32..64]);
    body.extend(vec16(&u16s(SUITES)));
    body.extend_from_slice(&[1, 0]); // null compression
    let mut versions = vec![(VERSIONS.len() * 2) as u8];
    versions.extend(u16s(VERSIONS));
    let mut share = 0x001d_u16.to_be_bytes().to_vec();
    share.extend(vec16(&random[64..96]));
    let mut exts = Vec::new();
    exts.extend(ext(0x000a, &vec16(&u16s(GROUPS))));
    exts.extend(ext(0x000b, &[1, 0]));
    exts.extend(ext(0x000d, &vec16(&u16s(SIGALGS))));
    exts.extend(ext(0x0016, &[])); // encrypt_then_mac
    exts.extend(ext(0x0017, &[])); // extended_master_secret
    exts.extend(ext(0x002b, &versions));
    exts.extend(ext(0x002d, &[1, 1])); // psk_key_exchange_modes: psk_dhe_ke
    exts.extend(ext(0x0033, &vec16(&share)));
    body.extend(vec16(&exts));
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut record = vec![22, 3, 1];
    record.extend(vec16(&hs));
    record
}

/// What the server chose for the probing hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChoice {
    pub version: ProtocolVersion,
    pub suite: CipherSuite,
    /// The key exchange group: TLS 1.3's key share (or the HelloRetryRequest's pick),
    /// TLS 1.2's ECDHE curve.
    pub group: Option<NamedGroup>,
    /// TLS 1.2: the scheme of the server's signed key exchange.
    pub scheme: Option<SignatureScheme>,
    /// TLS 1.2: the server's certificate (leaf), sent in the clear.
    pub leaf: Option<Vec<u8>>,
}

/// What the first flight said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello or HelloRetryRequest.
    Chose(ServerChoice),
    /// A TLS alert (its description code) before any ServerHello.
    Alert(u8),
    /// Bytes that are no TLS server flight.
    Garbage,
    /// Nothing came back before the deadline (the driver's verdict, not the session's).
    Silent,
}

/// Something the server chose that this check does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lack {
    Version(ProtocolVersion),
    Suite(CipherSuite),
    Group(NamedGroup),
    Scheme(SignatureScheme),
    /// The certificate's key type (`RSA 512`, `EC brainpoolP256r1`, `DSA`).
    Key(String),
}

impl ServerChoice {
    /// Everything chosen that the check's own handshake lacks.
    pub fn lacks(&self) -> Vec<Lack> {
        let provider = algorithms::provider();
        let mut out = Vec::new();
        if !matches!(
            self.version,
            ProtocolVersion::TLSv1_2 | ProtocolVersion::TLSv1_3
        ) {
            out.push(Lack::Version(self.version));
        }
        if !provider
            .cipher_suites
            .iter()
            .any(|s| s.suite() == self.suite)
        {
            out.push(Lack::Suite(self.suite));
        }
        if let Some(g) = self.group {
            if !provider.kx_groups.iter().any(|k| k.name() == g) {
                out.push(Lack::Group(g));
            }
        }
        if let Some(s) = self.scheme {
            if !algorithms::SUPPORTED.mapping.iter().any(|(m, _)| *m == s) {
                out.push(Lack::Scheme(s));
            }
        }
        if let Some(leaf) = &self.leaf {
            if !crate::chain::key_verifiable(leaf) {
                out.push(Lack::Key(crate::chain::key_kind(leaf)));
            }
        }
        out
    }
}

/// Reads the server's first flight so far. `None`: not enough bytes yet to know.
pub fn read_flight(stream: &[u8]) -> Option<Answer> {
    let mut handshake = Vec::new();
    let mut rest = stream;
    let mut complete = false;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let Some(fragment) = rest.get(5..5 + len) else {
            break;
        };
        match rest[0] {
            22 => handshake.extend_from_slice(fragment),
            21 if handshake.is_empty() => {
                return Some(
                    fragment
                        .get(1)
                        .map_or(Answer::Garbage, |d| Answer::Alert(*d)),
                )
            }
            // A ChangeCipherSpec or an encrypted record: the clear part is over.
            20 | 23 | 21 => {
                complete = true;
                break;
            }
            _ => return Some(Answer::Garbage),
        }
        rest = &rest[5 + len..];
    }
    if stream.len() >= 5 && !matches!(stream[0], 20..=23) {
        return Some(Answer::Garbage);
    }
    let full = complete || stream.len() >= MAX_FLIGHT;
    let mut choice: Option<ServerChoice> = None;
    let mut msgs = &handshake[..];
    while msgs.len() >= 4 {
        let len = u32::from_be_bytes([0, msgs[1], msgs[2], msgs[3]]) as usize;
        let Some(body) = msgs.get(4..4 + len) else {
            break;
        };
        match (msgs[0], choice.as_mut()) {
            (2, None) => {
                let Some(c) = server_hello(body) else {
                    return Some(Answer::Garbage);
                };
                // TLS 1.3 (and a HelloRetryRequest) hide everything after the hello.
                if c.version == ProtocolVersion::TLSv1_3 {
                    return Some(Answer::Chose(c));
                }
                choice = Some(c);
            }
            (11, Some(c)) => c.leaf = first_certificate(body),
            (12, Some(c)) => {
                let (group, scheme) = key_exchange(body, c.suite);
                c.group = group;
                c.scheme = scheme;
            }
            (14, Some(c)) => return Some(Answer::Chose(c.clone())),
            (_, None) => return Some(Answer::Garbage),
            _ => {}
        }
        msgs = &msgs[4 + len..];
    }
    match choice {
        Some(c) if full => Some(Answer::Chose(c)),
        None if full => Some(Answer::Garbage),
        _ => None,
    }
}

/// A ServerHello body: version, suite and (TLS 1.3) the key share's group.
fn server_hello(body: &[u8]) -> Option<ServerChoice> {
    let legacy = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    // legacy_version, random (a HelloRetryRequest's too: its pick is in key_share).
    let sid_len = usize::from(*body.get(34)?);
    let mut at = 35 + sid_len;
    let suite = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
    at += 3; // suite, compression
    let mut version = legacy;
    let mut group = None;
    if let Some(exts) = body.get(at + 2..) {
        let mut exts = exts;
        while exts.len() >= 4 {
            let kind = u16::from_be_bytes([exts[0], exts[1]]);
            let len = usize::from(u16::from_be_bytes([exts[2], exts[3]]));
            let data = exts.get(4..4 + len)?;
            match kind {
                0x002b if len == 2 => version = u16::from_be_bytes([data[0], data[1]]),
                0x0033 if len >= 2 => group = Some(u16::from_be_bytes([data[0], data[1]])),
                _ => {}
            }
            exts = &exts[4 + len..];
        }
    }
    Some(ServerChoice {
        version: ProtocolVersion::from(version),
        suite: CipherSuite::from(suite),
        group: group.map(NamedGroup::from),
        scheme: None,
        leaf: None,
    })
}

/// The first certificate of a TLS 1.2 Certificate message.
fn first_certificate(body: &[u8]) -> Option<Vec<u8>> {
    let len = u32::from_be_bytes([0, *body.get(3)?, *body.get(4)?, *body.get(5)?]) as usize;
    body.get(6..6 + len).map(<[u8]>::to_vec)
}

/// TLS 1.2 ServerKeyExchange: the ECDHE curve, and the signature's scheme (for DHE, after
/// p, g and Ys).
fn key_exchange(body: &[u8], suite: CipherSuite) -> (Option<NamedGroup>, Option<SignatureScheme>) {
    let ecdhe = suite
        .as_str()
        .is_some_and(|name| name.starts_with("TLS_ECDHE_"));
    let scheme_at = |at: usize| {
        Some(SignatureScheme::from(u16::from_be_bytes([
            *body.get(at)?,
            *body.get(at + 1)?,
        ])))
    };
    if ecdhe {
        // curve_type named_curve(3), curve, point length, point.
        if body.first() != Some(&3) || body.len() < 4 {
            return (None, None);
        }
        let group = NamedGroup::from(u16::from_be_bytes([body[1], body[2]]));
        let at = 4 + usize::from(body[3]);
        (Some(group), scheme_at(at))
    } else {
        // p, g, Ys: three 16-bit-length values.
        let mut at = 0;
        for _ in 0..3 {
            let Some(len) = body.get(at..at + 2) else {
                return (None, None);
            };
            at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        }
        (None, scheme_at(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_one_well_formed_record() {
        let h = client_hello(&[7; 96]);
        assert_eq!(h[0], 22);
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        assert_eq!(h[5], 1);
        let hs_len = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs_len, h.len() - 9);
    }

    /// `openssl s_server -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA` (OpenSSL 3.0, a P-521
    /// certificate) answering [`client_hello`] of 0x42 bytes: ServerHello, Certificate,
    /// ServerKeyExchange, ServerHelloDone.
    const OPENSSL_TLS12_CBC: &str = concat!(
        "16030300610200005d030356b77a54846225a962c54a0e48241d7cc04e921d6ec73bd453c9036bc2c3f96120",
        "7864001d98469f883b31646d7e8a114a6c4a98c5586c5d41ec6acbcfa6a4171ac00a000015ff01000100000b",
        "0004030001020016000000170000160303022c0b0002280002250002223082021e3082017fa0030201020214",
        "4d461b4f2784619ec0a68d658ddc5110382c04e6300a06082a8648ce3d04030230123110300e06035504030c",
        "07703532312d6361301e170d3236313133303034343735345a170d3236313233303034343735345a30133111",
        "300f06035504030c08703532312d73727630819b301006072a8648ce3d020106052b81040023038186000401",
        "1c263b742858c964e3ebd70d00ac51b86106b78f3267de021f3bf22412f2a00e2c4276be301fb4a370a652ca",
        "72faae96ec84548da613b1738da8246bc655e2720c011e5a73d3a1cf6dfd71e9974f309833508915481de6c4",
        "bae399cd17e31110d49b6100eb5d4539500e08b82244ee0863c8fad53e6deed09e440596f3ef7029aa7925a3",
        "6f306d30090603551d1304023000300b0603551d0f04040302078030130603551d25040c300a06082b060105",
        "05070301301d0603551d0e041604149db1a267b2ab0daf899df2df6b862db5a2564c54301f0603551d230418",
        "30168014f648a013e37ede8b1e910bb92260e1f5f32d7ad3300a06082a8648ce3d04030203818c0030818802",
        "4201edd7c32af5fb2b804c6f809ba9378fd43f75e7576605d7adf01649b4843de47f2b01cc3ace62262eaf25",
        "77923364de10241d21503b7327e497a253c06067edabf2024200a6dde991ff75ea0dacf67f6d33ec27009946",
        "3c41f0d9bfd8560538bbc9a3e383d67bbbd89330ad405894ae8bf388ad48e5e8565f877477768a2628e57d63",
        "b8764a16030300b60c0000b203001d2071a8b8fe8558c5c1e60580dcfbf641b11473beb15df633425a1bbb00",
        "a159d3150403008a308187024201b2a9df12d66e80c2a74ce1840839614715067469c80dffe8911b6de51b37",
        "f83b53bc4fdc1dbe8e2dc4bc89787005dfa079c4ba09e926e43f4d52606d9fc87f4f7c02410e6b5d738bd072",
        "bbd14394494fe0b75c62cc013d9ca3a8522df651d17fb43495dac6e2296119309cd4ea88f63cc0c8ed828671",
        "4fc1388eac7efbd202c141f5b88616030300040e000000",
    );
    /// `openssl s_server -tls1_3 -groups P-521`: a HelloRetryRequest for secp521r1.
    const OPENSSL_TLS13_HRR: &str = "1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c204242424242424242424242424242424242424242424242424242424242424242130200000c002b00020304003300020019140303000101";

    #[test]
    fn reads_what_openssl_chose_in_tls12() {
        let flight = hex::decode(OPENSSL_TLS12_CBC).unwrap();
        let Some(Answer::Chose(c)) = read_flight(&flight) else {
            panic!("{:?}", read_flight(&flight));
        };
        assert_eq!(c.version, ProtocolVersion::TLSv1_2);
        assert_eq!(c.suite, CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA);
        assert_eq!(c.group, Some(NamedGroup::X25519));
        assert!(c.scheme.is_some());
        use sha2::Digest as _;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(c.leaf.as_deref().unwrap())),
            "5a2eedec9a5d4eb1eed5a76d46607375ca04d2894191f06abeb105bd8147e9ca"
        );
        assert_eq!(
            c.lacks(),
            [Lack::Suite(
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
            )]
        );
        // Cut anywhere before its ServerHelloDone, the flight is not read yet.
        for cut in 0..flight.len() {
            assert_eq!(read_flight(&flight[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn reads_a_hello_retry_request() {
        let flight = hex::decode(OPENSSL_TLS13_HRR).unwrap();
        let Some(Answer::Chose(c)) = read_flight(&flight) else {
            panic!("{:?}", read_flight(&flight));
        };
        assert_eq!(c.version, ProtocolVersion::TLSv1_3);
        assert_eq!(c.suite, CipherSuite::TLS13_AES_256_GCM_SHA384);
        assert_eq!(c.group, Some(NamedGroup::secp521r1));
        assert!(c.lacks().is_empty());
    }

    #[test]
    fn no_input_makes_the_reader_panic_and_verdicts_stand() {
        // A small xorshift: deterministic, no dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 300) as usize;
            let mut v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Mostly well-framed handshake records, so the parsers below get exercised.
            if next() % 4 != 0 && v.len() > 9 {
                let body = (v.len() - 5) as u16;
                v[..5].copy_from_slice(&[22, 3, 3, (body >> 8) as u8, body as u8]);
                v[5] = [2, 11, 12, 14][(next() % 4) as usize];
                v[6] = 0;
            }
            let whole = read_flight(&v);
            // A verdict, once reached, stands whatever follows: the session acts on the
            // first one.
            let cut = (next() as usize) % (v.len() + 1);
            if let Some(early) = read_flight(&v[..cut]) {
                assert_eq!(Some(early), whole, "{v:02x?} cut at {cut}");
            }
        }
    }

    #[test]
    fn alert_before_hello_and_garbage() {
        assert_eq!(
            read_flight(&[21, 3, 3, 0, 2, 2, 40]),
            Some(Answer::Alert(40))
        );
        assert_eq!(
            read_flight(&[0x50, 0x4f, 0x53, 0x54, 0x20, 0]),
            Some(Answer::Garbage)
        );
        assert_eq!(read_flight(&[22, 3, 3, 0]), None);
    }
}
