//! The fuzz targets' checks, one `pub fn TARGET(data: &[u8])` each, shared by the targets
//! in this folder, the seed generator (`examples/seeds.rs`) and the crash replay in
//! `tests/suite/regressions.rs`. Also: wrap kinds chosen by one input byte, the matching
//! server-side wrap, and an independent model of what `validate_server_reset` must decide
//! for a packet whose layout is known.

#![allow(dead_code)]

use check_openvpn::config::{ClientConfig, ConfigWrap};
use check_openvpn::digest::Digest;
use check_openvpn::keys::static_keys::{KeyDirection, StaticKey, V2ClientKey};
use check_openvpn::keys::KeySource;
use check_openvpn::proto::packet::{client_reset, seal, validate_server_reset};
use check_openvpn::range::Range;
use check_openvpn::wire::{Auth, Rejection, Replay, SessionId, TlsAuth, Wrap, WrapPair};
use std::path::Path;
use std::sync::OnceLock;

/// The session id the "probe" sent.
pub const OURS: SessionId = [0x4f, 0x55, 0x52, 0x53, 0x45, 0x53, 0x53, 0x4e];
/// `P_CONTROL_HARD_RESET_SERVER_V2`, key id 0.
pub const SERVER_RESET: u8 = 0x40;
/// A plausible WKc (tls-crypt-v2 wrapped client key): 290 bytes ending in its length.
pub fn wkc() -> Vec<u8> {
    let mut w: Vec<u8> = (0..290u16).map(|i| (i * 7) as u8).collect();
    w[288..].copy_from_slice(&290u16.to_be_bytes());
    w
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    None,
    TlsAuth {
        digest: Digest,
        tag_len: Option<usize>,
        bidirectional: bool,
        /// false: no server key, the answer's HMAC is not checked.
        checked: bool,
    },
    TlsCrypt,
    TlsCryptV2,
}

impl Kind {
    /// Any wrap: bits 0-1 pick none / tls-auth / tls-crypt / tls-crypt-v2; for tls-auth
    /// bits 2-5 pick the digest and bits 6-7 full tag, half tag, 1-byte tag, unchecked.
    pub fn any_from_byte(b: u8) -> Kind {
        match b & 3 {
            0 => Kind::None,
            1 => Self::tls_auth_from_byte(b),
            2 => Kind::TlsCrypt,
            _ => Kind::TlsCryptV2,
        }
    }

    /// Authenticated wraps only: b % 3 picks tls-auth / tls-crypt / tls-crypt-v2; for
    /// tls-auth bits 2-5 pick the digest and bits 6-7 full tag, half tag, 1-byte tag,
    /// bidirectional key.
    pub fn signed_from_byte(b: u8) -> Kind {
        match b % 3 {
            0 => match Self::tls_auth_from_byte(b) {
                Kind::TlsAuth {
                    digest,
                    checked: false,
                    ..
                } => Kind::TlsAuth {
                    digest,
                    tag_len: None,
                    bidirectional: true,
                    checked: true,
                },
                other => other,
            },
            1 => Kind::TlsCrypt,
            _ => Kind::TlsCryptV2,
        }
    }

    fn tls_auth_from_byte(b: u8) -> Kind {
        let digest = Digest::ALL[usize::from(b >> 2) % Digest::ALL.len()];
        let (tag_len, checked) = match b >> 6 {
            0 => (None, true),
            1 => (Some(digest.output_len() / 2), true),
            2 => (Some(1), true),
            _ => (None, false),
        };
        Kind::TlsAuth {
            digest,
            tag_len,
            bidirectional: false,
            checked,
        }
    }

    /// Bytes between the header and the body (tls-auth) or the ciphertext (tls-crypt).
    pub fn overhead(self) -> usize {
        match self {
            Kind::None => 0,
            Kind::TlsAuth {
                digest, tag_len, ..
            } => tag_len.unwrap_or(digest.output_len()) + 8,
            Kind::TlsCrypt | Kind::TlsCryptV2 => 8 + 32,
        }
    }

    /// Whether a forged packet has no realistic chance (2^-64 or less) to pass.
    pub fn forgery_proof(self) -> bool {
        match self {
            Kind::None => false,
            Kind::TlsAuth {
                digest,
                tag_len,
                checked,
                ..
            } => checked && tag_len.unwrap_or(digest.output_len()) >= 8,
            Kind::TlsCrypt | Kind::TlsCryptV2 => true,
        }
    }

    pub fn auth(self) -> Auth {
        match self {
            Kind::None => Auth::None,
            Kind::TlsAuth { checked: false, .. } => Auth::NotChecked,
            _ => Auth::Verified,
        }
    }
}

/// The probe's wrap and a server's wrap that builds answers the probe accepts.
pub fn wraps(kind: Kind, key: &StaticKey) -> (Wrap, Wrap) {
    match kind {
        Kind::None => (Wrap::None, Wrap::None),
        Kind::TlsAuth {
            digest,
            tag_len,
            bidirectional,
            checked: true,
        } => {
            let direction = if bidirectional {
                KeyDirection::Bidirectional
            } else {
                KeyDirection::One
            };
            let pair = WrapPair::tls_auth(key, direction, digest, tag_len).expect("tag length");
            (pair.client, pair.server)
        }
        // Signing keys only: neither side checks what it receives.
        Kind::TlsAuth {
            digest,
            tag_len,
            bidirectional,
            checked: false,
        } => {
            let (c_send, s_send) = if bidirectional {
                let (s, _) = key.directional(KeyDirection::Bidirectional);
                (s.clone(), s)
            } else {
                (
                    key.directional(KeyDirection::One).0,
                    key.directional(KeyDirection::Zero).0,
                )
            };
            let client = TlsAuth::new(digest, &c_send.hmac, None, tag_len).expect("tag length");
            let server = TlsAuth::new(digest, &s_send.hmac, None, tag_len).expect("tag length");
            (Wrap::TlsAuth(client), Wrap::TlsAuth(server))
        }
        Kind::TlsCrypt => {
            let pair = WrapPair::tls_crypt(key);
            (pair.client, pair.server)
        }
        // The server answers a tls-crypt-v2 client as tls-crypt with Kc, without WKc.
        Kind::TlsCryptV2 => {
            let pair = WrapPair::tls_crypt_v2(&V2ClientKey {
                kc: key.clone(),
                wkc: wkc(),
            });
            (pair.client, pair.server)
        }
    }
}

/// A fixed key for targets that do not take one from the input.
pub fn fixed_key() -> StaticKey {
    let mut bytes = [0u8; 256];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(167).wrapping_add(0x3c);
    }
    StaticKey::from_bytes(bytes)
}

/// A 256-byte key stretched from 32 input bytes, every slot different.
pub fn key_from_seed(seed: &[u8; 32]) -> StaticKey {
    let mut bytes = [0u8; 256];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed[i % 32] ^ ((i / 32) as u8).wrapping_mul(0x9d);
    }
    StaticKey::from_bytes(bytes)
}

/// What validation must say about a packet `first | session_id | ... | body` whose body
/// reached the parser intact, ignoring authentication. Written from the protocol
/// description, not from the crate's parser.
pub fn model(first: u8, body: &[u8], ours: &SessionId) -> Result<(), Rejection> {
    if first != SERVER_RESET {
        return Err(Rejection::NotServerReset);
    }
    let Some(&n) = body.first() else {
        return Err(Rejection::Malformed);
    };
    let n = usize::from(n);
    // OpenVPN reads at most RELIABLE_ACK_SIZE (8) acks in any packet (reliable.c).
    if n > 8 {
        return Err(Rejection::Malformed);
    }
    let sid_at = 1 + 4 * n;
    let mpid_at = sid_at + if n > 0 { 8 } else { 0 };
    if body.len() < mpid_at + 4 {
        return Err(Rejection::Malformed);
    }
    let acks_zero = body[1..sid_at].chunks(4).any(|a| a.iter().all(|&x| x == 0));
    if n == 0 || &body[sid_at..mpid_at] != ours || !acks_zero {
        return Err(Rejection::OtherSession);
    }
    if body[mpid_at..mpid_at + 4] != [0, 0, 0, 0] {
        return Err(Rejection::NotServerReset);
    }
    Ok(())
}

/// [`model`] for a whole packet received over `kind`, where the body is in clear (no
/// wrap, or tls-auth): layout errors first, then the body.
pub fn model_clear_packet(kind: Kind, packet: &[u8]) -> Result<(), Rejection> {
    const HEADER: usize = 9;
    let Some(&first) = packet.first() else {
        return Err(Rejection::Malformed);
    };
    if first != SERVER_RESET {
        return Err(if packet.len() < HEADER {
            Rejection::Malformed
        } else {
            Rejection::NotServerReset
        });
    }
    let body_at = HEADER + kind.overhead();
    if packet.len() < body_at {
        return Err(Rejection::Malformed);
    }
    model(first, &packet[body_at..], &OURS)
}

// ---------------------------------------------------------------------------------------

/// `validate_server_reset` over raw bytes. The first input byte picks the wrap (see
/// `Kind::any_from_byte`), the rest is the received packet; the key is fixed.
///
/// Checks beyond "no panic": an accepted packet is a server reset with the session id of
/// its header, and where the body is in clear (no wrap, tls-auth) the verdict is that of
/// an independent model.
pub fn response(data: &[u8]) {
    static KEY: OnceLock<StaticKey> = OnceLock::new();
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let kind = Kind::any_from_byte(selector);
    let (client, _) = wraps(kind, KEY.get_or_init(fixed_key));
    let result = validate_server_reset(&client, packet, &OURS);
    if let Ok(reset) = &result {
        assert_eq!(packet[0], SERVER_RESET);
        assert_eq!(&reset.session_id[..], &packet[1..9]);
        assert_eq!(reset.auth, kind.auth());
    }
    match kind {
        // The body is in clear: the verdict is the model's, except that a checked HMAC
        // may still turn an otherwise good answer into `BadAuth`.
        Kind::None | Kind::TlsAuth { .. } => {
            let expected = model_clear_packet(kind, packet);
            let got = result.as_ref().map(|_| ()).map_err(|e| *e);
            let bad_auth_allowed = matches!(kind, Kind::TlsAuth { checked: true, .. })
                && expected.is_ok()
                && got == Err(Rejection::BadAuth);
            assert!(
                got == expected || bad_auth_allowed,
                "{kind:?}: got {got:?}, model says {expected:?}"
            );
        }
        Kind::TlsCrypt | Kind::TlsCryptV2 => {}
    }
}

// ---------------------------------------------------------------------------------------

/// Bytes before the packet or body in an `unwrap` input.
const UNWRAP_FIXED: usize = 53;

/// The tls-auth and tls-crypt(-v2) opening paths, with keys taken from the input.
///
/// Input layout (shorter inputs are ignored):
/// ```text
/// [0]      wrap: Kind::signed_from_byte (tls-auth digest/tag variants, tls-crypt, v2)
/// [1]      mode: 0 raw packet, 1 seal the rest as a body, 2 seal it and flip one bit
/// [2..4]   bit to flip (u16, modulo the packet's bit length)
/// [4]      byte 0 of the sealed packet (opcode << 3 | key id)
/// [5..37]  key seed (stretched to a 256-byte static key)
/// [37..45] the server's session id
/// [45..53] packet id and net time
/// [53..]   the packet (mode 0) or the body (modes 1, 2)
/// ```
/// Mode 1 checks that what the server side seals opens to exactly the model's verdict
/// (with the expected authentication); mode 2 that a flipped bit is never accepted.
pub fn unwrap(data: &[u8]) {
    if data.len() < UNWRAP_FIXED {
        return;
    }
    let kind = Kind::signed_from_byte(data[0]);
    let mode = data[1] % 3;
    let flip = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let first = data[4];
    let key = key_from_seed(data[5..37].try_into().unwrap());
    let theirs: [u8; 8] = data[37..45].try_into().unwrap();
    let replay = Replay {
        packet_id: u32::from_be_bytes(data[45..49].try_into().unwrap()),
        net_time: u32::from_be_bytes(data[49..53].try_into().unwrap()),
    };
    let rest = &data[UNWRAP_FIXED..];
    let (client, server) = wraps(kind, &key);

    if mode == 0 {
        if let Ok(reset) = validate_server_reset(&client, rest, &OURS) {
            assert_eq!(rest[0], SERVER_RESET);
            assert_eq!(&reset.session_id[..], &rest[1..9]);
        }
        return;
    }

    let packet = seal(&server, first, theirs, replay, rest, true);
    if mode == 1 {
        let got = validate_server_reset(&client, &packet, &OURS);
        let expected = model(first, rest, &OURS);
        match (&got, &expected) {
            (Ok(reset), Ok(())) => {
                assert_eq!(reset.session_id, theirs);
                assert_eq!(reset.auth, kind.auth());
            }
            (Err(g), Err(e)) => assert_eq!(g, e, "{kind:?}"),
            _ => panic!("{kind:?}: got {got:?}, model says {expected:?}"),
        }
        // A client that expects another key never accepts it.
        let mut other_seed: [u8; 32] = data[5..37].try_into().unwrap();
        other_seed[0] ^= 1;
        let (other_client, _) = wraps(kind, &key_from_seed(&other_seed));
        let r = validate_server_reset(&other_client, &packet, &OURS);
        if kind.forgery_proof() {
            assert!(r.is_err(), "{kind:?}: accepted with the wrong key");
        }
        if expected.is_ok() && kind.forgery_proof() && matches!(kind, Kind::TlsAuth { .. }) {
            assert_eq!(r, Err(Rejection::BadAuth));
        }
        return;
    }

    let mut forged = packet;
    let bit = flip % (forged.len() * 8);
    forged[bit / 8] ^= 1 << (bit % 8);
    let r = validate_server_reset(&client, &forged, &OURS);
    if kind.forgery_proof() {
        assert!(r.is_err(), "{kind:?}: bit {bit} flipped, still accepted");
    }
}

// ---------------------------------------------------------------------------------------

/// `StaticKey::parse` over any text (invalid UTF-8 replaced, as `from_file` does). A key
/// it accepts, written back in the `openvpn --genkey secret` layout, parses to itself.
pub fn static_key(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(key) = StaticKey::parse(&text, "fuzz.key") else {
        return;
    };
    // Slots in file order: direction 0 sends with slot 0 and receives with slot 1.
    let (s0, s1) = key.directional(KeyDirection::Zero);
    let bytes = [
        s0.cipher.expose(),
        s0.hmac.expose(),
        s1.cipher.expose(),
        s1.hmac.expose(),
    ]
    .concat();
    assert_eq!(bytes.len(), 256);
    let mut again = String::from("-----BEGIN OpenVPN Static key V1-----\n");
    for chunk in bytes.chunks(16) {
        for b in chunk {
            again.push_str(&format!("{b:02x}"));
        }
        again.push('\n');
    }
    again.push_str("-----END OpenVPN Static key V1-----\n");
    assert_eq!(StaticKey::parse(&again, "again").as_ref(), Ok(&key));
}

// ---------------------------------------------------------------------------------------

/// `V2ClientKey::parse` over any text. An accepted key has a WKc of a length OpenVPN
/// accepts, ending in that length, and makes a client reset that carries it.
pub fn v2_key(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(key) = V2ClientKey::parse(&text, "fuzz.key") else {
        return;
    };
    let n = key.wkc.len();
    assert!((290..=1024).contains(&n), "WKc of {n} bytes accepted");
    assert_eq!(
        usize::from(u16::from_be_bytes([key.wkc[n - 2], key.wkc[n - 1]])),
        n
    );
    let wrap = WrapPair::tls_crypt_v2(&key).client;
    let packet = client_reset(
        &wrap,
        [1; 8],
        Replay {
            packet_id: 0x0f00_0001,
            net_time: 0,
        },
    );
    assert_eq!(packet[0], 0x50);
    assert!(packet.ends_with(&key.wkc));
}

// ---------------------------------------------------------------------------------------

/// `ClientConfig::parse` over any text; inline key blocks it returns go on to the key
/// parsers, as the check does with them.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(cfg) = ClientConfig::parse(&text, "fuzz.ovpn", Path::new("/etc/openvpn")) else {
        return;
    };
    assert!(cfg.port != Some(0));
    for r in &cfg.remotes {
        assert!(r.port != Some(0));
    }
    match &cfg.wrap {
        Some(ConfigWrap::TlsAuth {
            key: KeySource::Inline { text, name },
            ..
        })
        | Some(ConfigWrap::TlsCrypt(KeySource::Inline { text, name })) => {
            let _ = StaticKey::parse(text, name);
        }
        Some(ConfigWrap::TlsCryptV2(KeySource::Inline { text, name })) => {
            let _ = V2ClientKey::parse(text, name);
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------

/// Nagios range parsing. Input: 8 bytes of an f64 to test, then the range text. An
/// accepted range prints back as written (trimmed) and parses again to itself, and
/// adding or removing the `@` complements its verdict for every value.
pub fn range(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let value = f64::from_le_bytes(data[..8].try_into().unwrap());
    let text = String::from_utf8_lossy(&data[8..]);
    let Ok(range) = text.parse::<Range>() else {
        return;
    };
    let shown = range.to_string();
    assert_eq!(shown, text.trim());
    assert_eq!(shown.parse::<Range>().as_ref(), Ok(&range));
    let toggled = match shown.strip_prefix('@') {
        Some(plain) => plain.to_string(),
        None => format!("@{shown}"),
    };
    if let Ok(other) = toggled.parse::<Range>() {
        for v in [value, 0.0, -1.0, 1.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert_ne!(
                range.alerts(v),
                other.alerts(v),
                "{shown} / {toggled} at {v}"
            );
        }
    } else {
        panic!("{shown} parses but {toggled} does not");
    }
}

// ---------------------------------------------------------------------------------------

/// A cursor over fuzz input: every read past the end yields zeros, so an operation stream
/// simply ends in no-ops.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, tail)) => {
                self.rest = tail;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        head
    }

    /// A message id: mostly small (one byte below 0x80, so the fuzzer finds the window
    /// easily), else any 32-bit value.
    pub fn message_id(&mut self) -> u32 {
        let b = self.byte();
        if b & 0x80 == 0 {
            u32::from(b)
        } else {
            self.u32()
        }
    }
}

/// What `ControlPacket::parse` must decide, written from the protocol description:
/// `Some((ack count, has message id))` for a packet it accepts.
fn control_packet_model(header: &[u8], body: &[u8]) -> Option<(usize, bool)> {
    if header.len() != 9 {
        return None;
    }
    let has_message_id = match header[0] >> 3 {
        5 => false,                      // P_ACK_V1
        3 | 4 | 7 | 8 | 10 | 11 => true, // soft reset, control, resets, WKC
        _ => return None,
    };
    let n = usize::from(*body.first()?);
    if n > 8 || (!has_message_id && n == 0) {
        return None;
    }
    let needed = 1 + 4 * n + if n > 0 { 8 } else { 0 } + if has_message_id { 4 } else { 0 };
    (body.len() >= needed).then_some((n, has_message_id))
}

/// The early-negotiation flags of a TLV list, written independently of the crate.
fn early_negotiation_model(payload: &[u8]) -> u16 {
    let mut at = 0usize;
    let mut flags = 0u16;
    while at + 4 <= payload.len() {
        let kind = u16::from_be_bytes([payload[at], payload[at + 1]]);
        let len = usize::from(u16::from_be_bytes([payload[at + 2], payload[at + 3]]));
        if at + 4 + len > payload.len() {
            break;
        }
        if kind == 1 && len == 2 {
            flags |= u16::from_be_bytes([payload[at + 4], payload[at + 5]]);
        }
        at += 4 + len;
    }
    flags
}

/// `ControlPacket::parse` over a header and body, checked against the model; an accepted
/// packet re-encodes to the same body and parses again to itself.
fn control_packet_round_trip(header: &[u8], body: &[u8]) {
    use check_openvpn::proto::packet::{encode_body, ControlPacket, MAX_ACKS};
    let parsed = ControlPacket::parse(header, body);
    let model = control_packet_model(header, body);
    let p = match (parsed, model) {
        (Ok(p), Some((n, has_id))) => {
            assert_eq!(p.acks.len(), n);
            assert_eq!(p.message_id.is_some(), has_id);
            p
        }
        (Err(_), None) => return,
        (got, model) => panic!("parse says {got:?}, model says {model:?}"),
    };
    assert!(p.acks.len() <= MAX_ACKS);
    assert_eq!(p.opcode, header[0] >> 3);
    assert_eq!(p.key_id, header[0] & 7);
    assert_eq!(&p.session_id[..], &header[1..9]);
    assert_eq!(p.remote_session_id.is_some(), !p.acks.is_empty());
    let remote = p.remote_session_id.unwrap_or([0; 8]);
    let encoded = encode_body(&p.acks, &remote, p.message_id, p.payload);
    // Every byte of the body is accounted for: the encoder writes it back unchanged.
    assert_eq!(encoded, body);
    let again = ControlPacket::parse(header, &encoded).expect("re-encoded packet parses");
    assert_eq!(again, p);
    assert_eq!(
        check_openvpn::proto::packet::early_negotiation_flags(p.payload),
        early_negotiation_model(p.payload)
    );
}

/// `proto::packet`: the control packet view, its encoder and the early-negotiation TLVs.
///
/// Input: byte 0 selects (bits 0-1) how the rest is used and (bits 2-7) a tls-auth variant;
/// the rest is
/// * 0: a 9-byte header and a body (fewer than 9 bytes: a short header, always refused);
/// * 1: a TLV list for `early_negotiation_flags`, checked against a model;
/// * 2: a packet opened with every wrap (none, tls-auth, tls-crypt, tls-crypt-v2), then
///   parsed: the header is the packet's first 9 bytes, a clear body is the packet's tail;
/// * 3: a header and body sealed with a server-side wrap and opened by the client side:
///   it opens authenticated to the same header and body, and parses as in mode 0.
pub fn control_packet(data: &[u8]) {
    use check_openvpn::proto::packet::early_negotiation_flags;
    static KEY: OnceLock<StaticKey> = OnceLock::new();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector & 3 {
        0 => {
            let (header, body) = rest.split_at(rest.len().min(9));
            control_packet_round_trip(header, body);
        }
        1 => assert_eq!(early_negotiation_flags(rest), early_negotiation_model(rest)),
        2 => {
            let key = KEY.get_or_init(fixed_key);
            let tls_auth = Kind::any_from_byte((selector & 0xfc) | 1);
            for kind in [Kind::None, tls_auth, Kind::TlsCrypt, Kind::TlsCryptV2] {
                let (client, _) = wraps(kind, key);
                let Ok(opened) = client.open(rest) else {
                    continue;
                };
                assert_eq!(opened.header, &rest[..9], "{kind:?}");
                if matches!(kind, Kind::None | Kind::TlsAuth { .. }) {
                    assert_eq!(&opened.body[..], &rest[9 + kind.overhead()..], "{kind:?}");
                }
                control_packet_round_trip(opened.header, &opened.body);
            }
        }
        _ => {
            if rest.len() < 9 {
                return;
            }
            let key = KEY.get_or_init(fixed_key);
            let kind = Kind::signed_from_byte(selector >> 2);
            let (client, server) = wraps(kind, key);
            let sid: SessionId = rest[1..9].try_into().unwrap();
            let body = &rest[9..];
            let replay = Replay {
                packet_id: 7,
                net_time: 0x6650_0000,
            };
            let packet = seal(&server, rest[0], sid, replay, body, true);
            let opened = client.open(&packet).expect("a sealed packet opens");
            assert_eq!(opened.auth, Ok(kind.auth()), "{kind:?}");
            assert_eq!(opened.header, &rest[..9]);
            assert_eq!(&opened.body[..], body);
            control_packet_round_trip(opened.header, &opened.body);
        }
    }
}

// ---------------------------------------------------------------------------------------

/// The retransmission timeout in force for the `k`-th resend (0-based) of a message:
/// `initial`, doubled after every send, capped at 4 s (a cap below `initial` applies from
/// the second resend on).
fn rto_for(initial: std::time::Duration, k: u32) -> std::time::Duration {
    let cap = std::time::Duration::from_secs(4);
    let mut rto = initial;
    for _ in 0..k {
        rto = (rto * 2).min(cap);
    }
    rto
}

/// The sender half of `Reliable` as the fuzz harness sees it.
#[derive(Default)]
struct SendModel {
    /// Payloads in push order: message `i + 1` carries `pushed[i]`.
    pushed: Vec<Vec<u8>>,
    /// Messages pushed that have no id yet.
    waiting: usize,
    next_id: u32,
    /// Ids handed out and not acknowledged.
    in_flight: std::collections::BTreeSet<u32>,
    /// Per id: transmissions so far and when the last one left.
    sends: std::collections::BTreeMap<u32, (u32, std::time::Instant)>,
    acked: std::collections::BTreeSet<u32>,
}

/// The receiver half: what arrived, what must come out of `read`, and what we owe acks for.
#[derive(Default)]
struct RecvModel {
    /// First payload accepted per message id.
    accepted: std::collections::BTreeMap<u32, Vec<u8>>,
    /// The next id to deliver (all below arrived).
    expected: u32,
    /// The next id `read` must return.
    next_read: u32,
    /// Ids acks were asked for (received or `ack_later`) and not sent since.
    owed: std::collections::BTreeSet<u32>,
    /// The id of the latest ack request since the last full drain: it must be in the
    /// drain (the bound drops the oldest owed acks, never the newest).
    latest: Option<u32>,
}

struct ReliableHarness {
    r: check_openvpn::proto::reliable::Reliable,
    retransmit: bool,
    initial_rto: std::time::Duration,
    now: std::time::Instant,
    send: SendModel,
    recv: RecvModel,
}

impl ReliableHarness {
    fn check_window(&self) {
        use check_openvpn::proto::reliable::SEND_WINDOW;
        assert!(
            self.r.in_flight() <= SEND_WINDOW,
            "{} in flight",
            self.r.in_flight()
        );
        assert_eq!(self.r.in_flight(), self.send.in_flight.len());
        assert_eq!(
            self.r.all_acked(),
            self.send.in_flight.is_empty() && self.send.waiting == 0
        );
        if self.r.owes_acks() {
            assert!(!self.recv.owed.is_empty(), "owes acks nobody asked for");
        }
    }

    /// One `poll_transmit`, every field checked; returns whether it had something.
    fn poll(&mut self, drained_acks: &mut std::collections::BTreeSet<u32>) -> bool {
        use check_openvpn::proto::packet::{MAX_ACKS, MAX_PIGGYBACK_ACKS};
        use check_openvpn::proto::reliable::SEND_WINDOW;
        use check_openvpn::wire::{P_ACK_V1, P_CONTROL_V1};
        // The window fills before anything is sent.
        while self.send.in_flight.len() < SEND_WINDOW && self.send.waiting > 0 {
            self.send.in_flight.insert(self.send.next_id);
            self.send.next_id += 1;
            self.send.waiting -= 1;
        }
        let Some(tx) = self.r.poll_transmit(self.now) else {
            // Nothing is due now: the timer must not point at the past (a busy loop).
            if let Some(t) = self.r.poll_timeout() {
                assert!(t > self.now, "poll_timeout in the past but nothing to send");
            }
            return false;
        };
        assert!(tx.acks.len() <= MAX_ACKS, "{} acks", tx.acks.len());
        let mut seen = std::collections::BTreeSet::new();
        for &a in &tx.acks {
            assert!(seen.insert(a), "ack {a} twice in one packet");
            assert!(drained_acks.insert(a), "ack {a} twice in one drain");
            assert!(self.recv.owed.remove(&a), "ack {a} never owed");
            if self.recv.latest == Some(a) {
                self.recv.latest = None;
            }
        }
        match tx.message_id {
            None => {
                assert_eq!(tx.opcode, P_ACK_V1);
                assert!(!tx.acks.is_empty(), "empty ack packet");
                assert!(tx.payload.is_empty());
                assert_eq!(tx.resend, 0);
            }
            Some(id) => {
                assert_eq!(tx.opcode, P_CONTROL_V1);
                assert!(tx.acks.len() <= MAX_PIGGYBACK_ACKS);
                assert!(
                    self.send.in_flight.contains(&id),
                    "message {id} sent but not in flight (acked: {})",
                    self.send.acked.contains(&id)
                );
                // Ids follow push order: message id n carries the n-th payload.
                assert_eq!(
                    tx.payload,
                    self.send.pushed[id as usize - 1],
                    "message {id}"
                );
                let (count, last) = self.send.sends.get(&id).copied().unwrap_or((0, self.now));
                assert_eq!(tx.resend, count, "message {id}");
                if count > 0 {
                    assert!(self.retransmit, "message {id} resent over a stream");
                    let rto = rto_for(self.initial_rto, count - 1);
                    assert!(
                        self.now.duration_since(last) >= rto,
                        "message {id} resent after {:?}, rto {rto:?}",
                        self.now.duration_since(last)
                    );
                }
                self.send.sends.insert(id, (count + 1, self.now));
            }
        }
        self.check_window();
        true
    }

    /// Polls until nothing is left at this instant; that must end, and settle every ack.
    fn drain(&mut self) {
        use check_openvpn::proto::packet::MAX_ACKS;
        use check_openvpn::proto::reliable::{MAX_PENDING_ACKS, SEND_WINDOW};
        let mut acks = std::collections::BTreeSet::new();
        let mut n = 0;
        while self.poll(&mut acks) {
            n += 1;
            assert!(
                n <= SEND_WINDOW + MAX_PENDING_ACKS.div_ceil(MAX_ACKS),
                "poll_transmit does not run dry"
            );
        }
        assert!(acks.len() <= MAX_PENDING_ACKS, "{} acks owed", acks.len());
        assert!(!self.r.owes_acks(), "acks left after a full drain");
        if let Some(latest) = self.recv.latest.take() {
            assert!(
                acks.contains(&latest),
                "the latest ack ({latest}) was dropped"
            );
        }
        // Bounded: the ones the cap dropped are forgotten.
        self.recv.owed.clear();
        if self.retransmit && !self.send.in_flight.is_empty() {
            assert!(
                self.r.poll_timeout().is_some(),
                "messages in flight, no timer"
            );
        }
    }

    fn owe(&mut self, id: u32) {
        self.recv.owed.insert(id);
        self.recv.latest = Some(id);
    }

    fn read(&mut self) {
        let got = self.r.read();
        if self.recv.next_read < self.recv.expected {
            let want = &self.recv.accepted[&self.recv.next_read];
            assert_eq!(got.as_ref(), Some(want), "message {}", self.recv.next_read);
            self.recv.next_read += 1;
        } else {
            assert_eq!(got, None, "delivered beyond message {}", self.recv.expected);
        }
    }
}

/// `proto::reliable::Reliable` driven by a stream of operations, against a model of
/// OpenVPN's reliable layer.
///
/// Input: byte 0 bit 0 = retransmit (UDP) or not (TCP), byte 1 = initial RTO in 20 ms
/// steps (at least 1 ms); then operations, one byte each (value % 8) plus operands:
/// ```text
/// 0 push        len byte, then up to len % 64 bytes (the payload also gets a unique prefix)
/// 1 on_acks     count byte (% 12), then ids
/// 2 on_message  id, len byte, up to len % 32 bytes
/// 3 poll once   time step byte (x 16 ms)
/// 4 drain       time step byte (x 64 ms), then poll until None
/// 5 read
/// 6 ack_later   id
/// 7 time step   u16 ms
/// ```
/// Ids are one byte below 0x80, else a byte and any u32. Checks: at most SEND_WINDOW in
/// flight, exactly the model's; ids in push order, never a second payload for an id; no
/// message sent after its ack, nor resent before its backoff; acks only for messages that
/// arrived, at most 8 a packet (4 piggybacked), each at most once a drain, none left after
/// one; delivery in id order, each payload once, the first copy that arrived; the window's
/// verdicts (duplicate, out of window) are the model's; poll_transmit runs dry.
pub fn reliable(data: &[u8]) {
    use check_openvpn::proto::reliable::{Incoming, Reliable, RECV_WINDOW};
    use check_openvpn::wire::P_CONTROL_V1;
    use std::time::{Duration, Instant};

    let mut input = Input::new(data);
    let retransmit = input.byte() & 1 == 1;
    let initial_rto =
        Duration::from_millis(u64::from(input.byte()) * 20).max(Duration::from_millis(1));
    let mut h = ReliableHarness {
        r: Reliable::new(1, 1, retransmit, initial_rto),
        retransmit,
        initial_rto,
        now: Instant::now(),
        send: SendModel {
            next_id: 1,
            ..SendModel::default()
        },
        recv: RecvModel {
            expected: 1,
            next_read: 1,
            ..RecvModel::default()
        },
    };
    let mut ops = 0;
    while !input.is_empty() && ops < 10_000 {
        ops += 1;
        match input.byte() % 8 {
            0 => {
                let len = usize::from(input.byte() % 64);
                let index = h.send.pushed.len() as u32;
                let payload = [&index.to_be_bytes()[..], input.bytes(len)].concat();
                h.r.push(P_CONTROL_V1, payload.clone());
                h.send.pushed.push(payload);
                h.send.waiting += 1;
            }
            1 => {
                let n = input.byte() % 12;
                let ids: Vec<u32> = (0..n).map(|_| input.message_id()).collect();
                let distinct: std::collections::BTreeSet<u32> = ids.iter().copied().collect();
                let freed = distinct
                    .iter()
                    .filter(|id| h.send.in_flight.remove(id))
                    .count();
                for id in &distinct {
                    if h.send.sends.contains_key(id) {
                        h.send.acked.insert(*id);
                    }
                }
                assert_eq!(h.r.on_acks(&ids), freed, "acks {ids:?}");
            }
            2 => {
                let id = input.message_id();
                let len = usize::from(input.byte() % 32);
                let payload = input.bytes(len).to_vec();
                let got = h.r.on_message(id, &payload);
                let expected = if id < h.recv.expected || h.recv.accepted.contains_key(&id) {
                    Incoming::Duplicate
                } else if id - h.recv.expected >= RECV_WINDOW {
                    Incoming::OutOfWindow
                } else {
                    Incoming::Accepted
                };
                assert_eq!(got, expected, "message {id}, expecting {}", h.recv.expected);
                if got != Incoming::OutOfWindow {
                    h.owe(id);
                }
                if got == Incoming::Accepted {
                    h.recv.accepted.insert(id, payload);
                    while h.recv.accepted.contains_key(&h.recv.expected) {
                        h.recv.expected += 1;
                    }
                }
            }
            3 => {
                h.now += Duration::from_millis(u64::from(input.byte()) * 16);
                let mut acks = std::collections::BTreeSet::new();
                h.poll(&mut acks);
            }
            4 => {
                h.now += Duration::from_millis(u64::from(input.byte()) * 64);
                h.drain();
            }
            5 => h.read(),
            6 => {
                let id = input.message_id();
                h.r.ack_later(id);
                h.owe(id);
            }
            _ => h.now += Duration::from_millis(u64::from(input.u16())),
        }
        h.check_window();
    }
    // Everything that arrived in order comes out, once.
    while h.recv.next_read < h.recv.expected {
        h.read();
    }
    h.read();
    h.drain();
}

// ---------------------------------------------------------------------------------------

/// The server's session id in the `session` target.
pub const THEIRS: SessionId = [0xa5; 8];
/// The largest control packet a session may send unwrapped: OpenVPN's tls-mtu (1250)
/// less IPv6 and UDP headers (48).
pub const MAX_CONTROL_PACKET: usize = 1250 - 48;

/// A session's outputs after one input, checked: what it sends, what it reports, and that
/// its timer never points at the past.
struct SessionHarness {
    s: check_openvpn::proto::Session,
    now: std::time::Instant,
    progress: check_openvpn::proto::Progress,
    ended: bool,
    /// The session's terminal event came.
    finished: bool,
    sent: usize,
}

impl SessionHarness {
    fn pump(&mut self) {
        use check_openvpn::proto::packet::ControlPacket;
        use check_openvpn::proto::Event;
        use check_openvpn::wire::{P_ACK_V1, P_CONTROL_V1, P_CONTROL_WKC_V1};
        if self.s.poll_timeout().is_some_and(|t| t <= self.now) {
            self.s.handle_timeout(self.now);
        }
        let mut n = 0;
        while let Some(packet) = self.s.poll_transmit(self.now) {
            n += 1;
            self.sent += 1;
            assert!(n <= 32, "poll_transmit does not run dry");
            assert!(
                packet.len() <= MAX_CONTROL_PACKET,
                "{}-byte control packet",
                packet.len()
            );
            let p =
                ControlPacket::parse(&packet[..9], &packet[9..]).expect("we send what we parse");
            assert_eq!(p.session_id, self.s.session_id());
            assert!(
                matches!(p.opcode, P_CONTROL_V1 | P_ACK_V1 | P_CONTROL_WKC_V1),
                "opcode {}",
                p.opcode
            );
            if let Some(remote) = p.remote_session_id {
                assert_eq!(remote, THEIRS);
            }
        }
        let mut events = 0;
        while let Some(e) = self.s.poll_event() {
            events += 1;
            assert!(events <= 256, "events do not run dry");
            assert!(!self.finished, "an event after the terminal one: {e:?}");
            if let Event::Finished { reached, .. } = e {
                self.finished = true;
                assert_eq!(
                    reached,
                    self.s.progress(),
                    "Finished names another progress"
                );
            }
            if matches!(e, Event::TlsEstablished { .. } | Event::TlsFailed { .. }) {
                assert!(!self.ended, "a second ending: {e:?}");
                self.ended = true;
            }
            if let Event::ResetAnswered { .. } = e {
                panic!("a second reset answer: {e:?}");
            }
        }
        let progress = self.s.progress();
        assert!(progress >= self.progress, "progress went back");
        self.progress = progress;
        if self.ended {
            assert!(self.s.is_done(), "ended but not done");
        }
        if let Some(t) = self.s.poll_timeout() {
            assert!(t > self.now, "timer in the past after handle_timeout");
        }
        if self.s.is_done() {
            assert_eq!(self.s.poll_timeout(), None);
            assert!(self.finished, "done without saying why");
        }
    }

    fn feed(&mut self, packet: &[u8]) {
        let was_done = self.s.is_done();
        self.s.handle_packet(self.now, packet);
        if was_done {
            assert!(
                self.s.poll_transmit(self.now).is_none(),
                "speaks after the end"
            );
            assert!(self.s.poll_event().is_none(), "reports after the end");
        }
        self.pump();
    }
}

/// A server control packet to the session `ours`: `first` (opcode, key id), acks of our
/// messages, a message id where the opcode has one, and a payload.
fn server_packet(
    first: u8,
    acks: &[u32],
    ours: &SessionId,
    id: Option<u32>,
    payload: &[u8],
) -> Vec<u8> {
    use check_openvpn::proto::packet::encode_body;
    let body = encode_body(acks, ours, id, payload);
    seal(
        &Wrap::None,
        first,
        THEIRS,
        Replay {
            packet_id: 0,
            net_time: 0,
        },
        &body,
        true,
    )
}

/// A `Session` in the TLS stage (no wrap) fed datagrams after a genuine server reset.
///
/// Input: byte 0 = flags (bit 0 TCP, bit 1 trace, bit 2 compat hello), bytes 1..9 our
/// session id, then operations (one byte, value % 8, plus operands):
/// ```text
/// 0 raw datagram    u16 length (% 2048), bytes
/// 1 P_CONTROL_V1    message id, ack count byte (% 5) and ids, u16 length (% 1400), payload
/// 2 P_ACK_V1        ack count byte (% 9, at least 1) and ids
/// 3 server reset    the genuine one again (its ack of our reset lost)
/// 4 time step       byte x 32 ms, then the due timer fires
/// 5 other opcode    byte 0 byte, message id, u16 length (% 256), payload, acking our 1
/// 6 TLS record      content type byte, u16 length (% 1400), payload, as message id byte
/// 7 foreign session a P_CONTROL_V1 whose remote session id is not ours
/// ```
/// Checks: no panic; every send is a control packet of our session within OpenVPN's
/// packet size, at most 32 per input; at most one ending; no second reset answer;
/// progress never goes back; the timer never points at the past; nothing after the end.
pub fn session(data: &[u8]) {
    use check_openvpn::proto::packet::server_reset_body;
    use check_openvpn::proto::{
        Event, Progress, RandomError, RandomSource, Randomness, Session, SessionConfig, Stage,
    };
    use check_openvpn::wire::{byte0, P_ACK_V1, P_CONTROL_V1};
    use std::time::{Duration, Instant};

    /// The session's random bytes from the input's first byte: a run replays exactly.
    struct Counter(u8);
    impl RandomSource for Counter {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
            for b in buf {
                self.0 = self.0.wrapping_mul(31).wrapping_add(7);
                *b = self.0;
            }
            Ok(())
        }
    }

    let mut input = Input::new(data);
    let flags = input.byte();
    let stream = flags & 1 != 0;
    let mut sid = [0u8; 8];
    for b in &mut sid {
        *b = input.byte();
    }
    let cfg = SessionConfig {
        wrap: Wrap::None,
        stage: if flags & 8 != 0 {
            Stage::Login
        } else {
            Stage::Tls
        },
        validate: true,
        stream,
        attempt_timeout: Duration::from_secs(1),
        attempts: if stream { 1 } else { 2 },
        server_name: "127.0.0.1"
            .try_into()
            .expect("an IP address is a server name"),
        trace: flags & 2 != 0,
        compat_hello: flags & 4 != 0,
        hello_wait: check_openvpn::proto::HelloWait::Attempt,
        ping: None,
        dns: None,
        tcp: None,
        http: None,
        login: (flags & 8 != 0).then(|| check_openvpn::proto::login::ClientHello {
            proto: "UDPv4",
            user: None,
            password: None,
            data: Default::default(),
            tls_auth: None,
        }),
        client_auth: None,
        judge: None,
        wait_for_close: false,
    };
    let t0 = Instant::now();
    let random = Randomness::draw(&mut Counter(flags))
        .expect("a counter never fails")
        .with_session_id(sid);
    let mut s = Session::new(cfg, random, 0x6650_0000, t0);
    let ours = s.session_id();
    let reset = s.poll_transmit(t0).expect("the hard reset");
    assert_eq!(&reset[1..9], &ours);
    let genuine = seal(
        &Wrap::None,
        byte0(8, 0),
        THEIRS,
        Replay {
            packet_id: 1,
            net_time: 0,
        },
        &server_reset_body(&ours),
        true,
    );
    let mut h = SessionHarness {
        s,
        now: t0 + Duration::from_millis(5),
        progress: Progress::ResetSent,
        ended: false,
        finished: false,
        sent: 0,
    };
    h.s.handle_packet(h.now, &genuine);
    let mut answered = false;
    while let Some(e) = h.s.poll_event() {
        answered |= matches!(e, Event::ResetAnswered { .. });
    }
    assert!(answered, "the genuine reset was not taken");
    assert_eq!(h.s.progress(), Progress::HelloSent);
    h.pump();
    assert!(h.sent >= 1, "no ClientHello");

    let mut ops = 0;
    while !input.is_empty() && ops < 1000 {
        ops += 1;
        match input.byte() % 8 {
            0 => {
                let len = usize::from(input.u16() % 2048);
                let p = input.bytes(len).to_vec();
                h.feed(&p);
            }
            1 => {
                let id = input.message_id();
                let n = input.byte() % 5;
                let acks: Vec<u32> = (0..n).map(|_| input.message_id()).collect();
                let len = usize::from(input.u16() % 1400);
                let payload = input.bytes(len).to_vec();
                let p = server_packet(byte0(P_CONTROL_V1, 0), &acks, &ours, Some(id), &payload);
                h.feed(&p);
            }
            2 => {
                let n = (input.byte() % 9).max(1);
                let acks: Vec<u32> = (0..n).map(|_| input.message_id()).collect();
                let p = server_packet(byte0(P_ACK_V1, 0), &acks, &ours, None, &[]);
                h.feed(&p);
            }
            3 => h.feed(&genuine),
            4 => {
                h.now += Duration::from_millis(u64::from(input.byte()) * 32);
                h.pump();
            }
            5 => {
                let first = input.byte();
                let id = input.message_id();
                let len = usize::from(input.u16() % 256);
                let payload = input.bytes(len).to_vec();
                let id = (first >> 3 != P_ACK_V1).then_some(id);
                let p = server_packet(first, &[1], &ours, id, &payload);
                h.feed(&p);
            }
            6 => {
                let content_type = input.byte();
                let len = usize::from(input.u16() % 1400);
                let id = u32::from(input.byte() % 16);
                let body = input.bytes(len);
                let record = [
                    &[content_type, 3, 3][..],
                    &(body.len() as u16).to_be_bytes(),
                    body,
                ]
                .concat();
                let p = server_packet(byte0(P_CONTROL_V1, 0), &[1], &ours, Some(id), &record);
                h.feed(&p);
            }
            _ => {
                let id = input.message_id();
                let other = [0x77; 8];
                let p = server_packet(
                    byte0(P_CONTROL_V1, 0),
                    &[1],
                    &other,
                    Some(id),
                    b"\x16\x03\x03",
                );
                h.feed(&p);
            }
        }
    }
    // Time runs out: the session ends or keeps a timer; it never spins.
    for _ in 0..8 {
        h.now += Duration::from_secs(2);
        h.pump();
    }
}

// ---------------------------------------------------------------------------------------

/// A key-method 2 string as OpenVPN writes it (`ssl.c:write_string`), written here
/// independently of the crate: u16 length with the NUL, the bytes, the NUL; the empty
/// string is `00 00`.
pub fn km2_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        out.extend_from_slice(&[0, 0]);
        return;
    }
    out.extend_from_slice(&((s.len() + 1) as u16).to_be_bytes());
    out.extend_from_slice(s);
    out.push(0);
}

/// Reads one such string strictly: its length must fit and a non-empty one ends in NUL.
fn read_km2_string<'a>(buf: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = buf.get(*at..*at + 2)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    *at += 2;
    if len == 0 {
        return Some(&[]);
    }
    let s = buf.get(*at..*at + len)?;
    *at += len;
    s.strip_suffix(&[0])
}

/// `parse_server_key_method_2` on any bytes: `Invalid` exactly when the first five bytes
/// are there and are not `00 00 00 00 02`; an accepted message took at least its fixed
/// part and at most the input, and the prefix it took parses to the same message.
///
/// Shorter prefixes of an incomplete input (or of the part an accepted one took) never
/// parse: all four fields must be there, so a message split across TLS records is never
/// taken early.
fn server_km2_raw(buf: &[u8]) {
    use check_openvpn::proto::login::{Km2Error, ServerKeyMethod2};
    // The randoms are the 64 bytes after the head, whenever the message parses.
    let parse = |b: &[u8]| -> Result<(ServerKeyMethod2, usize), Km2Error> {
        check_openvpn::proto::login::parse_server_key_method_2(b).map(|(m, random, used)| {
            assert_eq!(random.0[..], b[5..69], "the server randoms");
            (m, used)
        })
    };
    let parse_server_key_method_2 = parse;
    let got = parse_server_key_method_2(buf);
    let bad_head = buf.len() >= 5 && buf[..5] != [0, 0, 0, 0, 2];
    assert_eq!(
        got == Err(Km2Error::Invalid),
        bad_head,
        "verdict {got:?} for head {:02x?}",
        &buf[..buf.len().min(5)]
    );
    let limit = match &got {
        Ok((msg, used)) => {
            let used = *used;
            assert!(used <= buf.len(), "took {used} of {} bytes", buf.len());
            assert!(used >= 5 + 64 + 2, "took only {used} bytes");
            assert_eq!(
                parse_server_key_method_2(&buf[..used]),
                Ok((msg.clone(), used)),
                "the {used}-byte prefix it took parses differently"
            );
            used
        }
        Err(Km2Error::Incomplete) => buf.len(),
        Err(Km2Error::Invalid) => return,
    };
    // Every cut of a short input; a sample of a long one (and all of its tail).
    let step = if limit <= 1024 { 1 } else { limit / 512 };
    let cuts = (0..limit)
        .step_by(step)
        .chain(limit.saturating_sub(64)..limit);
    for cut in cuts {
        match parse_server_key_method_2(&buf[..cut]) {
            Err(Km2Error::Incomplete) => {}
            shorter => panic!(
                "{} bytes {}, but {cut} of them give {shorter:?}",
                buf.len(),
                if got.is_ok() { "parse" } else { "incomplete" },
            ),
        }
    }
}

/// A server message from fuzz-chosen strings (C strings: no NUL), with 1, 3 or 4 fields:
/// with fewer than four it is incomplete; with all four, any bytes may follow (the
/// control message stream), and it parses back to its strings and takes exactly its own
/// bytes.
fn server_km2_built(input: &mut Input) {
    use check_openvpn::proto::login::parse_server_key_method_2;
    let shape = input.byte();
    let fields = [1, 3, 4][usize::from(shape % 3)];
    let mut random = [0x5a; 64];
    let r = input.bytes(64);
    random[..r.len()].copy_from_slice(r);
    let strings: Vec<Vec<u8>> = (0..fields)
        .map(|_| {
            let len = usize::from(input.u16() % 2048);
            input
                .bytes(len)
                .iter()
                .copied()
                .filter(|&b| b != 0)
                .collect()
        })
        .collect();
    let mut m = vec![0, 0, 0, 0, 2];
    m.extend_from_slice(&random);
    for s in &strings {
        km2_string(&mut m, s);
    }
    let end = m.len();
    let trailer = if fields == 4 {
        input.bytes(usize::MAX)
    } else {
        &[]
    };
    m.extend_from_slice(trailer);
    if fields < 4 {
        // Without its user name, password or peer info field it is not complete yet.
        assert_eq!(
            parse_server_key_method_2(&m).map(|_| ()),
            Err(check_openvpn::proto::login::Km2Error::Incomplete)
        );
        server_km2_raw(&m);
        return;
    }
    let (msg, server_random, used) = parse_server_key_method_2(&m).expect("a well-formed message");
    assert_eq!(server_random.0[..], random[..]);
    assert_eq!(used, end, "took {used} bytes of a {end}-byte message");
    assert_eq!(msg.options, String::from_utf8_lossy(&strings[0]));
    let peer_info = strings
        .get(3)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    assert_eq!(msg.peer_info, peer_info.unwrap_or_default());
    server_km2_raw(&m);
    let mut rest = m[used..].to_vec();
    let msgs = take_messages_checked(&mut rest);
    assert_eq!(msgs, stream_model(&m[used..]).0);
}

/// What `take_messages` must return for a whole stream, written from OpenVPN's reading:
/// the NUL-terminated pieces, CR and LF removed, empty ones and those with other bytes
/// outside 0x20..0x7f dropped; and the unterminated rest it must leave.
fn stream_model(stream: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == 0).collect();
    let rest = pieces.pop().unwrap_or_default().to_vec();
    let msgs = pieces
        .into_iter()
        .map(|p| -> Vec<u8> {
            p.iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect()
        })
        .filter(|p| !p.is_empty() && p.iter().all(|b| (0x20..0x7f).contains(b)))
        .map(|p| String::from_utf8(p).unwrap())
        .collect();
    (msgs, rest)
}

/// `take_messages`, its output checked: messages non-empty, printable ASCII (so no NUL,
/// CR or LF), each then read by `parse_control_message` and checked; no NUL left behind.
fn take_messages_checked(buf: &mut Vec<u8>) -> Vec<String> {
    use check_openvpn::proto::login::take_messages;
    let msgs = take_messages(buf);
    for m in &msgs {
        assert!(!m.is_empty(), "an empty message");
        assert!(
            m.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "a message with bytes outside 0x20..0x7f: {m:?}"
        );
        assert!(!m.contains(['\0', '\r', '\n']), "{m:?}");
        control_checked(m);
    }
    assert!(!buf.contains(&0), "a NUL left in the buffer: {buf:02x?}");
    msgs
}

/// A byte stream of control messages, fed whole and in fuzz-chosen chunks.
/// Input: chunk count byte (% 16), that many chunk sizes (a byte each), the stream.
/// Both feeds give the model's messages and leave the same unterminated rest.
fn message_stream(input: &mut Input) {
    let n = usize::from(input.byte() % 16);
    let sizes: Vec<usize> = (0..n).map(|_| usize::from(input.byte())).collect();
    let stream = input.bytes(usize::MAX);
    let mut whole_buf = stream.to_vec();
    let whole = take_messages_checked(&mut whole_buf);
    let (model, model_rest) = stream_model(stream);
    assert_eq!(whole, model, "messages of the whole stream");
    assert_eq!(whole_buf, model_rest, "rest of the whole stream");
    let mut buf = Vec::new();
    let mut got = Vec::new();
    let mut at = 0usize;
    for size in sizes.into_iter().chain([usize::MAX]) {
        let end = at.saturating_add(size).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        got.extend(take_messages_checked(&mut buf));
    }
    assert_eq!(got, whole, "chunked feed differs from the whole one");
    assert_eq!(buf, whole_buf, "chunked feed leaves another rest");
}

/// `parse_control_message` on one printable string: `PUSH_REPLY` options are the
/// non-empty comma-separated pieces without the `push-continuation` directive, and `more`
/// says whether one of them was `push-continuation 2`; `AUTH_FAILED,<r>` gives reason
/// `r` (and any `r` round-trips that way); `Other` keeps the text; `EXIT` is only `EXIT`.
fn control_checked(s: &str) {
    use check_openvpn::proto::login::{parse_control_message, ControlMessage};
    let got = parse_control_message(s);
    if let Some(tail) = s.strip_prefix("PUSH_REPLY") {
        let raw: Vec<&str> = tail.split(',').filter(|o| !o.is_empty()).collect();
        let ControlMessage::PushReply { options, more } = &got else {
            panic!("{s:?} read as {got:?}");
        };
        assert!(
            options.iter().all(|o| !o.starts_with("push-continuation")),
            "{s:?}: push-continuation passed on in {options:?}"
        );
        assert_eq!(
            *more,
            raw.contains(&"push-continuation 2"),
            "{s:?}: more = {more}"
        );
        let kept: Vec<&str> = raw
            .into_iter()
            .filter(|o| !o.starts_with("push-continuation"))
            .collect();
        assert_eq!(options, &kept, "{s:?}");
    }
    if let Some(reason) = s.strip_prefix("AUTH_FAILED,") {
        assert_eq!(
            got,
            ControlMessage::AuthFailed {
                reason: Some(reason.to_string())
            },
            "{s:?}"
        );
    }
    if s == "AUTH_FAILED" {
        assert_eq!(got, ControlMessage::AuthFailed { reason: None });
    }
    match &got {
        ControlMessage::Other(text) => assert_eq!(text, s),
        ControlMessage::Exit => assert_eq!(s, "EXIT"),
        _ => {}
    }
    assert_eq!(
        parse_control_message(&format!("AUTH_FAILED,{s}")),
        ControlMessage::AuthFailed {
            reason: Some(s.to_string())
        },
        "AUTH_FAILED reason {s:?} does not round-trip"
    );
}

/// Keywords a control message may start with, picked by one input byte.
const CONTROL_KEYWORDS: [&str; 14] = [
    "",
    "PUSH_REPLY",
    "PUSH_REPLY,",
    "PUSH_REPLY,push-continuation 2,",
    "AUTH_FAILED",
    "AUTH_FAILED,",
    "AUTH_PENDING,",
    "AUTH_PENDING,timeout ",
    "INFO_PRE,",
    "INFO,",
    "RESTART,",
    "HALT,",
    "EXIT",
    "PUSH_REQUEST",
];

/// One control message. Input: keyword byte (see `CONTROL_KEYWORDS`), then the text;
/// bytes outside 0x20..0x7f are mapped into it. The text is checked with and without
/// the keyword.
fn control_message(input: &mut Input) {
    let keyword = CONTROL_KEYWORDS[usize::from(input.byte()) % CONTROL_KEYWORDS.len()];
    let text: String = input
        .bytes(usize::MAX)
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                char::from(0x20 + b % 95)
            }
        })
        .collect();
    control_checked(&format!("{keyword}{text}"));
    control_checked(&text);
}

/// A user name or password of at most 127 bytes (OpenVPN's `USER_PASS_LEN` less the NUL):
/// length byte (% 128), then the bytes, read as UTF-8 (lossy) and cut to fit.
fn credential(input: &mut Input) -> String {
    let len = usize::from(input.byte() % 128);
    let mut s = String::from_utf8_lossy(input.bytes(len)).into_owned();
    let mut cut = s.len().min(127);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

/// `client_key_method_2`. Input: flags (bit 0 user, bit 1 password, bits 2-3 protocol),
/// user, password (see `credential`), 112 random bytes. The message is `00 00 00 00 02`,
/// the random bytes, then exactly four strings: options (`V4,`, with the protocol), user,
/// password (empty when absent), peer info naming the probe.
fn client_km2(input: &mut Input) {
    use check_openvpn::proto::login::{client_key_method_2, ClientHello};
    const PROTOS: [&str; 4] = ["UDPv4", "UDPv6", "TCPv4_CLIENT", "TCPv6_CLIENT"];
    let flags = input.byte();
    let proto = PROTOS[usize::from(flags >> 2) % PROTOS.len()];
    let user = credential(input);
    let password = credential(input);
    let mut random = [0u8; 112];
    let r = input.bytes(112);
    random[..r.len()].copy_from_slice(r);
    let hello = ClientHello {
        proto,
        user: (flags & 1 != 0).then(|| user.clone().into()),
        password: (flags & 2 != 0).then(|| password.clone().into()),
        data: Default::default(),
        tls_auth: None,
    };
    let m = client_key_method_2(&hello, &random);
    assert_eq!(&m[..5], &[0, 0, 0, 0, 2]);
    assert_eq!(&m[5..117], &random[..]);
    let mut at = 117;
    let options = read_km2_string(&m, &mut at).expect("options string");
    let options = std::str::from_utf8(options).expect("ASCII options");
    assert!(options.starts_with("V4,"), "{options}");
    // A 2.6 client names the protocol without its address family.
    let named = proto.replace("v6", "v4");
    assert!(options.contains(&format!(",proto {named},")), "{options}");
    let want_user = if flags & 1 != 0 { user.as_bytes() } else { b"" };
    assert_eq!(read_km2_string(&m, &mut at), Some(want_user), "user");
    let want_password = if flags & 2 != 0 {
        password.as_bytes()
    } else {
        b""
    };
    assert_eq!(
        read_km2_string(&m, &mut at),
        Some(want_password),
        "password"
    );
    let info = read_km2_string(&m, &mut at).expect("peer info");
    let info = String::from_utf8_lossy(info);
    assert!(info.contains("IV_GUI_VER=check_openvpn_"), "{info}");
    assert_eq!(at, m.len(), "bytes after the peer info");
}

/// The login stage's messages (`proto::login`). Input: byte 0 (% 5) picks the mode, the
/// rest is its input:
/// ```text
/// 0 parse_server_key_method_2 on the raw bytes          (server_km2_raw)
/// 1 a well-formed server message from fuzz strings      (server_km2_built)
/// 2 take_messages, whole and in fuzz-chosen chunks      (message_stream)
/// 3 parse_control_message on a printable string         (control_message)
/// 4 client_key_method_2 with fuzz-chosen credentials    (client_km2)
/// ```
pub fn login_messages(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 5 {
        0 => server_km2_raw(input.bytes(usize::MAX)),
        1 => server_km2_built(&mut input),
        2 => message_stream(&mut input),
        3 => control_message(&mut input),
        _ => client_km2(&mut input),
    }
}

/// `server_files`: byte 0 picks the parser, the rest is its input. 0: a server config
/// (`server::config::ServerConfig::parse`); 1: a status file (`server::clients::parse_status`);
/// 2: a CRL, PEM or DER (`server::files::crl_facts`, with a CA and server certificate from
/// the input when they parse). Checks: no port 0; a status file's version is 1, 2 or 3 and
/// no client is the handshake placeholder `UNDEF`; a CRL's revoked count fits its input.
pub fn server_files(data: &[u8]) {
    use check_openvpn::server::{clients, config::ServerConfig, files};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(cfg) = ServerConfig::parse(&text, "fuzz.conf", Path::new("/etc/openvpn")) {
                assert!(cfg.port != 0);
            }
        }
        1 => {
            if let Some(p) = clients::parse_status(&String::from_utf8_lossy(rest)) {
                assert!((1..=3).contains(&p.version));
                assert!(!p.names.iter().any(|n| n == "UNDEF"));
            }
        }
        _ => {
            let ca = files::pem_certs(rest, "fuzz-ca").ok();
            if let files::CrlFinding::File(f) =
                files::crl_facts(rest, "fuzz.crl", ca.as_ref(), ca.as_ref())
            {
                assert!(f.revoked <= rest.len());
            }
        }
    }
}

/// data_channel: byte 0 bits 0-2 pick the cipher (mod 5), bit 3 P_DATA_V2 (peer-id 0x0a0b0c)
/// or V1, bits 4-5 the compression framing, bits 6-7 the mode; byte 1 bits 0-2 the key id,
/// bits 3-4 the CBC digest. Modes: 0 the rest is a datagram from the server; 1 the rest is a
/// payload the server seals, then damaged at a position from its first byte and cut; 2 each
/// byte of the rest delivers the server's packet number `byte % 80 + 1` (packets sealed in
/// order up front), against a model of the 64-packet replay window; 3 the rest is a tunnel
/// packet for `icmp::parse_echo_reply`, and a tap tunnel's frame for `ether::Host` (an
/// IPv4 and an IPv6 host): answers only to the asker, from our MAC, never multicast.
pub fn data_channel(data: &[u8]) {
    use check_openvpn::proto::data::icmp::parse_echo_reply;
    use check_openvpn::proto::data::{
        Compression, DataChannel, DataCipher, DataConfig, Decapsulated, KeyBlock, Side, OCC_MAGIC,
        PING_MAGIC,
    };
    let [sel, sel2, rest @ ..] = data else {
        return;
    };
    let config = DataConfig {
        cipher: DataCipher::ALL[usize::from(sel & 7) % DataCipher::ALL.len()],
        auth: [Digest::Sha1, Digest::Sha256, Digest::Sha512, Digest::Md5]
            [usize::from(sel2 >> 3 & 3)],
        peer_id: (sel & 8 != 0).then_some(0x0a0b0c),
        key_id: sel2 & 7,
        compression: [
            Compression::None,
            Compression::Lzo,
            Compression::Swap,
            Compression::V2,
        ][usize::from(sel >> 4 & 3)],
    };
    let mut key = [0u8; 256];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(13) ^ 0x5a;
    }
    let block = KeyBlock::from_ekm(&key).expect("256 bytes");
    let mut client = DataChannel::new(config, &block, Side::Client);
    let mut server = DataChannel::new(config, &block, Side::Server);
    let (mut wire, mut out) = (Vec::new(), Vec::new());
    match sel >> 6 {
        0 => {
            assert!(
                client.decapsulate(rest, &mut out).is_err(),
                "forged datagram accepted"
            );
            assert_eq!(client.highest_received_packet_id(), 0);
        }
        1 => {
            server.encapsulate(rest, &mut wire).expect("seal");
            let sealed = wire.clone();
            if let Some(&first) = rest.first() {
                let mut bad = sealed.clone();
                let at = usize::from(first) % bad.len();
                bad[at] ^= first | 1;
                assert!(
                    client.decapsulate(&bad, &mut out).is_err(),
                    "damaged byte {at} accepted"
                );
                let cut = usize::from(first) % sealed.len();
                assert!(
                    client.decapsulate(&sealed[..cut], &mut out).is_err(),
                    "cut at {cut} accepted"
                );
            }
            let got = client
                .decapsulate(&sealed, &mut out)
                .expect("sealed packet opens");
            if rest == PING_MAGIC {
                assert_eq!(got, Decapsulated::Ping);
            } else if let Some(after) = rest.strip_prefix(&OCC_MAGIC[..]) {
                match got {
                    Decapsulated::Occ(m) => {
                        assert_eq!(m.opcode, after.first().copied());
                        assert_eq!(m.body, after.get(1..).unwrap_or_default());
                    }
                    other => panic!("OCC message read as {other:?}"),
                }
            } else {
                assert_eq!(got, Decapsulated::Data(rest));
            }
            assert!(
                client.decapsulate(&sealed, &mut out).is_err(),
                "replay accepted"
            );
        }
        2 => {
            let packets: Vec<Vec<u8>> = (0..80u8)
                .map(|i| {
                    server.encapsulate(&[0x45, i], &mut wire).expect("seal");
                    wire.clone()
                })
                .collect();
            let mut accepted = [false; 81];
            let mut top = 0u32;
            for &b in rest {
                let id = u32::from(b % 80) + 1;
                let model = !accepted[id as usize] && id + 64 > top;
                let got = client.decapsulate(&packets[id as usize - 1], &mut out);
                assert_eq!(got.is_ok(), model, "packet {id} after top {top}: {got:?}");
                if model {
                    assert_eq!(
                        got.expect("accepted"),
                        Decapsulated::Data(&[0x45, (id - 1) as u8])
                    );
                    accepted[id as usize] = true;
                    top = top.max(id);
                }
                assert_eq!(client.highest_received_packet_id(), top);
            }
        }
        _ => {
            if let Ok(reply) = parse_echo_reply(rest) {
                assert!(reply.payload.len() + 8 <= rest.len());
                let v6 = rest[0] >> 4 == 6;
                assert_eq!(reply.source.is_ipv6(), v6);
            }
            tap_frame(rest);
        }
    }
}

fn tap_frame(frame: &[u8]) {
    use check_openvpn::proto::data::ether::{self, Host, Out, Received};
    use std::net::IpAddr;
    let ours = ether::local_mac([0x11, 2, 3, 4, 5, 6]);
    let neighbours: [IpAddr; 3] = [
        "10.8.0.1".parse().unwrap(),
        "10.8.0.53".parse().unwrap(),
        "fd00::1".parse().unwrap(),
    ];
    let hosts = [
        Host::new(ours, Some("10.8.0.2".parse().unwrap()), None),
        Host::new(
            ours,
            Some("10.8.0.2".parse().unwrap()),
            Some("fd00::1000".parse().unwrap()),
        ),
    ];
    for mut host in hosts {
        for ip in neighbours {
            host.want(ip);
        }
        // A packet waits for 10.8.0.1: it leaves framed once that MAC is learnt.
        let waiting = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1,
        ];
        assert_eq!(host.send_ip(&waiting, |d| d), Out::Queued);
        for _ in 0..2 {
            match host.receive(frame) {
                Received::Answer(answer) => {
                    let f = ether::parse_frame(&answer).expect("a whole frame");
                    assert_eq!(f.src, ours);
                    assert_eq!(f.dst[0] & 1, 0, "an answer to a multicast MAC");
                }
                Received::Ip(ip) => assert!(ip.len() + 14 <= frame.len()),
                Received::Learned | Received::Ignored => {}
            }
            assert!(host.answered <= ether::MAX_ANSWERS);
            for l in host.take_learnt() {
                assert!(
                    neighbours.contains(&l.ip),
                    "learnt {} outside the table",
                    l.ip
                );
                assert_eq!(l.mac[0] & 1, 0, "a multicast MAC learnt");
                assert_eq!(host.mac_of(l.ip), Some(l.mac));
                for f in &l.frames {
                    let f = ether::parse_frame(f).expect("a whole frame");
                    assert_eq!((f.dst, f.src), (l.mac, ours));
                    assert_eq!(f.payload, waiting);
                }
            }
        }
    }
}

/// The push as the data stage reads it (`proto::push`). Byte 0 chooses the client's
/// settings (a `cipher`, a `data-ciphers` list, compression) and whether an address is
/// asked for; bytes 1-16 are that address (IPv4 in the first 4 when bit 6 is clear); the
/// rest, read as text, is the push, split at commas as OpenVPN splits it.
pub fn push_options(data: &[u8]) {
    use check_openvpn::proto::data::Compression;
    use check_openvpn::proto::login::DataSettings;
    use check_openvpn::proto::push;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (addr, text) = if rest.len() >= 16 {
        rest.split_at(16)
    } else {
        (&[][..], rest)
    };
    let requested = (sel & 0x80 != 0 && addr.len() == 16).then(|| {
        if sel & 0x40 == 0 {
            IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]))
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(addr);
            IpAddr::V6(Ipv6Addr::from(a))
        }
    });
    let settings = DataSettings {
        cipher: (sel & 1 != 0).then(|| "AES-256-CBC".to_string()),
        data_ciphers: (sel & 2 != 0)
            .then(|| vec!["AES-192-GCM".to_string(), "chacha20-poly1305".into()]),
        auth: None,
        compression: [None, Some(Compression::Lzo), Some(Compression::V2), None]
            [usize::from(sel >> 2 & 3)],
        tun_mtu: None,
        // 2.6's default, allowing only the stubs, or with `sel & 0x20` any compression.
        compression_rules: {
            use check_openvpn::proto::data::{AllowCompression, CompressionRules};
            let mut r = CompressionRules::default();
            if sel & 0x20 != 0 {
                let _ = r.allow(AllowCompression::Asym);
            }
            r.settled()
        },
        allow_compression: None,
        tap: None,
    };
    let text = String::from_utf8_lossy(text);
    let options: Vec<String> = text
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    let announced = push::iv_ciphers(&settings);
    assert!(
        !announced.contains(','),
        "IV_CIPHERS with a comma: {announced}"
    );
    // A refused compression names an option that was pushed.
    if let Some(pushed) = push::refused_compression(&options, &settings) {
        assert!(
            sel & 0x20 == 0 && options.iter().any(|o| o.trim() == pushed),
            "refused '{pushed}' that was not pushed, or under allow-compression asym"
        );
    }
    if let Ok(plan) = push::plan(&options, &settings) {
        if let Some(id) = plan.config.peer_id {
            assert!(
                id < 1 << 24,
                "peer-id {id} does not fit P_DATA_V2's 3 bytes"
            );
        }
    }
    match push::echo_path(&options, requested) {
        Ok(path) => {
            assert_eq!(
                path.source.is_ipv4(),
                path.target.is_ipv4(),
                "an echo from one family to another: {path:?}"
            );
            if let Some(r) = requested {
                assert_eq!(path.target, r, "the echo goes elsewhere than asked");
            }
        }
        Err(no) => {
            if let (Some(r), Some(t)) = (requested, no.target) {
                assert_eq!(r, t, "the refusal names another target");
            }
        }
    }
}

/// http_response: `proto::data::http::Response` over a stream pushed whole and in pieces.
/// Byte 0 picks the limit (16, 64, 256, 4096 bytes or the check's 1 MiB); byte 1 (mod 8)
/// how many piece sizes follow (0: one byte at a time), each 0..=255 bytes (0: an empty
/// push, then at least one byte), used in turn;
/// the rest is the stream. The verdict is the same however the stream is split (the
/// first error, or the head, cut, body length, complete); nothing kept beyond the limit;
/// `cut` exactly when the stream is longer than the limit; a cut response with a head is
/// complete; a whole body of a given length is complete.
pub fn http_response(data: &[u8]) {
    use check_openvpn::proto::data::http::Response;
    let mut input = Input::new(data);
    let limit = [16, 64, 256, 4096, 1 << 20][usize::from(input.byte()) % 5];
    let sizes: Vec<usize> = {
        let n = usize::from(input.byte() % 8);
        input.bytes(n).iter().map(|&b| usize::from(b)).collect()
    };
    let stream = input.bytes(usize::MAX);

    // (first error, head, cut, body length, complete), read until the first error as the
    // data stage does.
    let read = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut r = Response::new(limit);
        let mut error = None;
        for piece in pieces {
            if let Err(e) = r.push(piece) {
                error = Some(e);
                break;
            }
        }
        assert!(r.body_len() <= limit, "body {} over {limit}", r.body_len());
        if let Some(h) = r.head() {
            assert!(h.header_len <= limit.min(stream.len()));
            // Three digits, as httparse reads them (000 to 999).
            assert!(h.status <= 999, "status {}", h.status);
            if r.cut {
                assert!(r.complete(), "cut but not complete");
            }
            if let (Some(n), false, false) = (h.content_length, h.chunked, r.cut) {
                if stream.len() >= h.header_len + n {
                    assert!(r.complete(), "a whole body of {n} bytes is not complete");
                }
            }
        }
        if error.is_none() {
            assert_eq!(
                r.cut,
                stream.len() > limit,
                "cut of {} at {limit}",
                stream.len()
            );
        }
        match error {
            // Only a head is refused: what came after the refusal is not read.
            Some(e) => (Some(e), None, false, 0, false),
            None => (None, r.head().cloned(), r.cut, r.body_len(), r.complete()),
        }
    };
    let whole = read(&mut std::iter::once(stream));
    let mut at = 0;
    let mut turn = 0;
    let mut empty = false;
    let mut pieces = std::iter::from_fn(|| {
        if at >= stream.len() {
            return None;
        }
        let size = if sizes.is_empty() {
            1
        } else {
            turn += 1;
            sizes[(turn - 1) % sizes.len()]
        };
        // An empty push (as when nothing new came), never two in a row.
        let size = if empty { size.max(1) } else { size };
        empty = size == 0;
        let piece = &stream[at..(at + size).min(stream.len())];
        at += piece.len();
        Some(piece)
    });
    let split = read(&mut pieces);
    assert_eq!(whole, split, "whole and split differ");
}

/// dns_reply: `check::dns::read_reply`. Byte 0 picks the record type asked (bit 7 clear)
/// or the mode: bit 7 clear, the rest is a reply to that type; bit 7 set, the rest is a
/// name to build a query of that type for, which must read as no reply, and with its QR
/// bit and an rcode from byte 0 set, as an answer of that code without records.
pub fn dns_reply(data: &[u8]) {
    use check_openvpn::check::dns::{read_reply, DnsReply, DnsSpec};
    const TYPES: [&str; 12] = [
        "A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA", "SRV", "PTR", "CAA", "aaaa", "NOPE",
    ];
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let rtype = TYPES[usize::from(sel & 0x7f) % TYPES.len()];
    let check = |reply: &DnsReply| {
        if let DnsReply::Answer {
            code,
            no_error,
            records,
            addresses,
            ..
        } = reply
        {
            assert_eq!(*no_error, code == "NOERROR", "{code}");
            assert!(addresses.len() <= records.len());
            if !matches!(rtype, "A" | "AAAA" | "aaaa") {
                assert!(addresses.is_empty(), "addresses for {rtype}: {addresses:?}");
            }
        }
    };
    if sel & 0x80 == 0 {
        check(&read_reply(rest, rtype));
        return;
    }
    let spec = DnsSpec {
        name: String::from_utf8_lossy(rest).into_owned(),
        record_type: rtype.into(),
        ..Default::default()
    };
    let Ok(query) = spec.query(u16::from(sel) << 8 | 0x5a) else {
        return;
    };
    assert!(
        matches!(read_reply(&query, rtype), DnsReply::Malformed(_)),
        "a query read as a reply"
    );
    let mut reply = query.clone();
    reply[2] |= 0x80;
    let rcode = (sel & 0x0f) % 6;
    reply[3] = (reply[3] & 0xf0) | rcode;
    let got = read_reply(&reply, rtype);
    check(&got);
    match got {
        DnsReply::Answer {
            code,
            records,
            truncated: false,
            ..
        } => {
            let want = [
                "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
            ];
            assert_eq!(code, want[usize::from(rcode)]);
            assert!(records.is_empty(), "records from nowhere: {records:?}");
        }
        other => panic!("our own question as a response: {other:?}"),
    }
}

/// udp_datagram: `proto::data::udp::parse_datagram`. Byte 0 bit 0: the rest is a tunnel
/// packet (0), or (1) a datagram to build: bit 1 IPv6, bytes 1-4 the ports, the rest
/// the payload, then damaged at a position from byte 5 (xor byte 6, never 0). A packet
/// read re-encodes to one that reads the same; a built one reads back as built; damaged,
/// it is refused or reads as built (a byte no checksum covers).
pub fn udp_datagram(data: &[u8]) {
    use check_openvpn::proto::data::udp::{parse_datagram, Datagram};
    use std::net::IpAddr;
    let mut input = Input::new(data);
    let sel = input.byte();
    if sel & 1 == 0 {
        let packet = input.bytes(usize::MAX);
        if let Ok(d) = parse_datagram(packet) {
            assert!(d.payload.len() + 8 <= packet.len());
            assert_eq!(d.source.is_ipv4(), d.destination.is_ipv4());
            assert_eq!(d.source.is_ipv6(), packet[0] >> 4 == 6);
            let mut again = Vec::new();
            d.encode(7, &mut again).expect("a datagram read encodes");
            assert_eq!(parse_datagram(&again), Ok(d));
        }
        return;
    }
    let (source, destination): (IpAddr, IpAddr) = if sel & 2 == 0 {
        ("10.8.0.2".parse().unwrap(), "10.8.0.1".parse().unwrap())
    } else {
        ("fd00::1000".parse().unwrap(), "fd00::1".parse().unwrap())
    };
    let (source_port, destination_port) = (input.u16(), input.u16());
    let (at, flip) = (input.byte(), input.byte() | 1);
    let d = Datagram {
        source,
        destination,
        source_port,
        destination_port,
        payload: input.bytes(usize::MAX),
    };
    let mut packet = Vec::new();
    if d.encode(0x1234, &mut packet).is_err() {
        assert!(
            d.payload.len() > 65535 - 48,
            "refused to encode {}",
            d.payload.len()
        );
        return;
    }
    assert_eq!(parse_datagram(&packet), Ok(d));
    let at = usize::from(at) % packet.len();
    packet[at] ^= flip;
    if let Ok(got) = parse_datagram(&packet) {
        assert_eq!(got, d, "byte {at} xor {flip:#x} read as another datagram");
    }
}

/// A TCP segment in an IP packet with valid checksums (IPv4: DF, TTL 64).
#[allow(clippy::too_many_arguments)]
pub fn tcp_packet(
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    use check_openvpn::proto::data::icmp::internet_checksum;
    use std::net::IpAddr;
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&ports.0.to_be_bytes());
    tcp.extend_from_slice(&ports.1.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[5 << 4, flags]);
    tcp.extend_from_slice(&window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let len = tcp.len() as u32;
    let mut out = Vec::with_capacity(40 + tcp.len());
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = internet_checksum(&[
                &s.octets(),
                &d.octets(),
                &[0, 6],
                &(len as u16).to_be_bytes(),
                &tcp,
            ]);
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&(20 + len as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let h = internet_checksum(&[&out[..20]]);
            out[10..12].copy_from_slice(&h.to_be_bytes());
            sum
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out.extend_from_slice(&[6, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            internet_checksum(&[
                &s.octets(),
                &d.octets(),
                &len.to_be_bytes(),
                &[0, 0, 0, 6],
                &tcp,
            ])
        }
        _ => panic!("mixed families"),
    };
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&tcp);
    out
}

/// Source, destination, protocol and the TCP/UDP ports of an IP packet, read by hand.
fn ip_facts(p: &[u8]) -> Option<(std::net::IpAddr, std::net::IpAddr, u8, u16, u16, usize)> {
    use std::net::IpAddr;
    let (src, dst, proto, l4) = match p.first()? >> 4 {
        4 if p.len() >= 20 => (
            IpAddr::from([p[12], p[13], p[14], p[15]]),
            IpAddr::from([p[16], p[17], p[18], p[19]]),
            p[9],
            usize::from(p[0] & 0x0f) * 4,
        ),
        6 if p.len() >= 40 => (
            IpAddr::from(<[u8; 16]>::try_from(&p[8..24]).unwrap()),
            IpAddr::from(<[u8; 16]>::try_from(&p[24..40]).unwrap()),
            p[6],
            40,
        ),
        _ => return None,
    };
    let ports = p.get(l4..l4 + 4)?;
    Some((
        src,
        dst,
        proto,
        u16::from_be_bytes([ports[0], ports[1]]),
        u16::from_be_bytes([ports[2], ports[3]]),
        l4,
    ))
}

/// tcp_stack: `proto::data::stack::TcpProbe` (smoltcp) receiving what the tunnel brings.
/// Byte 0: bit 0 IPv6, bit 1 a genuine SYN-ACK first (else the connection stays
/// unanswered unless the input answers), bit 2 the records are segments of ours (valid
/// IP and TCP checksums, our addresses and ports) rather than raw packets. Then records:
/// a length byte, a time step in ms, then the raw packet, or the segment's flags, seq and
/// ack offsets from the stack's own (u16 each, signed), window (u16) and payload.
/// `is_ours` equals a hand-made model; every packet out is TCP from our address and port
/// to the target's, within the MTU; the state goes Connecting → Established or Refused
/// only; no more bytes come out than went in; the next poll is never in the past.
pub fn tcp_stack(data: &[u8]) {
    use check_openvpn::proto::data::stack::{Connection, TcpProbe};
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, Instant};
    const MTU: usize = 1400;
    let mut input = Input::new(data);
    let sel = input.byte();
    let (source, target): (IpAddr, IpAddr) = if sel & 1 == 0 {
        ("10.8.0.2".parse().unwrap(), "10.8.0.1".parse().unwrap())
    } else {
        ("fd00::1000".parse().unwrap(), "fd00::1".parse().unwrap())
    };
    let target = SocketAddr::new(target, 80);
    let port = 50000;
    let mut now = Instant::now();
    let mut probe = TcpProbe::connect(source, target, port, MTU, now).expect("a connection");
    let mut their_seq: u32 = 0x1000_0000;
    let mut our_seq: u32 = 0;
    let mut fed = 0usize;
    let mut got = Vec::new();
    let check_out = |probe: &mut TcpProbe, our_seq: &mut u32, now: Instant| {
        let out = probe.take_output();
        assert!(out.len() <= 64, "{} packets in one step", out.len());
        for p in out {
            assert!(p.len() <= MTU, "a packet of {} bytes", p.len());
            let (s, d, proto, sp, dp, l4) = ip_facts(&p).expect("an IP packet with ports");
            assert_eq!((s, d, proto, sp, dp), (source, target.ip(), 6, port, 80));
            let seq = &p[l4 + 4..l4 + 8];
            *our_seq = u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]);
        }
        if let Some(at) = probe.poll_at(now) {
            assert!(at >= now, "the next poll in the past");
        }
    };
    check_out(&mut probe, &mut our_seq, now);
    if sel & 2 != 0 {
        let syn_ack = tcp_packet(
            target.ip(),
            source,
            (80, port),
            their_seq,
            our_seq.wrapping_add(1),
            0x12,
            65535,
            &[],
        );
        assert!(probe.is_ours(&syn_ack));
        probe.receive(&syn_ack, now);
        their_seq = their_seq.wrapping_add(1);
        assert_eq!(probe.state(), Connection::Established);
        assert_eq!(probe.send(b"GET / HTTP/1.1\r\n\r\n", now), 18);
        check_out(&mut probe, &mut our_seq, now);
    }
    let mut last = probe.state();
    while !input.is_empty() {
        let len = usize::from(input.byte());
        now += Duration::from_millis(u64::from(input.byte()));
        let packet = if sel & 4 == 0 {
            input.bytes(len).to_vec()
        } else {
            let flags = input.byte();
            let seq = their_seq.wrapping_add(i32::from(input.u16() as i16) as u32);
            let ack = our_seq.wrapping_add(i32::from(input.u16() as i16) as u32);
            let window = input.u16();
            let payload = input.bytes(len);
            tcp_packet(
                target.ip(),
                source,
                (80, port),
                seq,
                ack,
                flags,
                window,
                payload,
            )
        };
        let model = ip_facts(&packet).is_some_and(|(s, d, proto, sp, dp, _)| {
            (s, d, proto, sp, dp) == (target.ip(), source, 6, 80, port)
        });
        assert_eq!(probe.is_ours(&packet), model, "is_ours");
        if model {
            fed += packet.len();
            probe.receive(&packet, now);
        } else {
            probe.poll(now);
        }
        probe.recv(&mut got);
        assert!(got.len() <= fed, "{} bytes out of {fed} fed", got.len());
        let state = probe.state();
        match (last, state) {
            (a, b) if a == b => {}
            (Connection::Connecting, _) => {}
            (a, b) => panic!("{a:?} became {b:?}"),
        }
        if probe.peer_done() {
            assert_eq!(state, Connection::Established);
        }
        last = state;
        check_out(&mut probe, &mut our_seq, now);
    }
    probe.abort(now);
    check_out(&mut probe, &mut our_seq, now);
}
