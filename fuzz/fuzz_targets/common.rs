//! The fuzz targets' checks, one `pub fn TARGET(data: &[u8])` each, shared by the targets
//! in this folder, the seed generator (`examples/seeds.rs`) and the crash replay in
//! `tests/regressions.rs`. Also: wrap kinds chosen by one input byte, the matching
//! server-side wrap, and an independent model of what `validate_server_reset` must decide
//! for a packet whose layout is known.

#![allow(dead_code)]

use check_openvpn::config::{ClientConfig, ConfigWrap, KeySource};
use check_openvpn::digest::Digest;
use check_openvpn::key::{KeyDirection, StaticKey, V2ClientKey};
use check_openvpn::range::Range;
use check_openvpn::wire::{
    build_packet, client_reset, validate_server_reset, Auth, Rejection, Replay, SessionId, TlsAuth,
    TlsCrypt, Wrap,
};
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
    let (c_send, c_recv) = key.directional(KeyDirection::One);
    let (s_send, s_recv) = key.directional(KeyDirection::Zero);
    match kind {
        Kind::None => (Wrap::None, Wrap::None),
        Kind::TlsAuth {
            digest,
            tag_len,
            bidirectional,
            checked,
        } => {
            let (c_send, c_recv, s_send, s_recv) = if bidirectional {
                let (s, r) = key.directional(KeyDirection::Bidirectional);
                (s.clone(), r.clone(), s, r)
            } else {
                (c_send, c_recv, s_send, s_recv)
            };
            let c_recv = checked.then_some(&c_recv.hmac);
            let s_recv = checked.then_some(&s_recv.hmac);
            let client = TlsAuth::new(digest, &c_send.hmac, c_recv, tag_len).expect("tag length");
            let server = TlsAuth::new(digest, &s_send.hmac, s_recv, tag_len).expect("tag length");
            (Wrap::TlsAuth(client), Wrap::TlsAuth(server))
        }
        Kind::TlsCrypt => (
            Wrap::TlsCrypt(TlsCrypt::new(&c_send, &c_recv)),
            Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
        ),
        // The server answers a tls-crypt-v2 client as tls-crypt with Kc, without WKc.
        Kind::TlsCryptV2 => (
            Wrap::TlsCrypt(TlsCrypt::v2(&c_send, &c_recv, wkc())),
            Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
        ),
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

    let packet = build_packet(&server, first, theirs, replay, rest);
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
    let (send, recv) = key.kc.directional(KeyDirection::One);
    let wrap = Wrap::TlsCrypt(TlsCrypt::v2(&send, &recv, key.wkc.clone()));
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
