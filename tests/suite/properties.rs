//! Property tests for the pure parsers and the packet wrap: no input makes them panic, and
//! what the server side builds, the client side accepts (and nothing slightly different).
//!
//! Case counts are tuned so that the whole file runs in well under 20 s in a debug build;
//! raise `PROPTEST_CASES` locally for a longer run. Failing cases are printed, not written
//! to a regressions file: copy a minimal failing input into `tests/suite/regressions.rs` instead.

use check_openvpn::config::{ClientConfig, ConfigWrap};
use check_openvpn::digest::Digest;
use check_openvpn::keys::static_keys::{parse_hex_key, KeyDirection, StaticKey, V2ClientKey};
use check_openvpn::keys::KeySource;
use check_openvpn::proto::packet::{
    client_reset, seal, server_reset_body, validate_server_reset, ControlPacket, MAX_ACKS,
};
use check_openvpn::range::Range;
use check_openvpn::wire::{self, Auth, Rejection, Replay, SessionId, TlsAuth, Wrap, WrapPair};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::Config;
use std::path::Path;

const STATIC_BEGIN: &str = "-----BEGIN OpenVPN Static key V1-----";
const STATIC_END: &str = "-----END OpenVPN Static key V1-----";
const V2_BEGIN: &str = "-----BEGIN OpenVPN tls-crypt-v2 client key-----";
const V2_END: &str = "-----END OpenVPN tls-crypt-v2 client key-----";
/// `P_CONTROL_HARD_RESET_SERVER_V2`, key id 0.
const SERVER_RESET: u8 = 0x40;

/// `cases` test cases, no failure file (proptest would otherwise write one next to this
/// file); `PROPTEST_CASES` in the environment still overrides the count.
fn cases(n: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Wraps: the client's (what the probe uses) and the matching server's (swapped directions).

#[derive(Debug, Clone, Copy)]
enum Kind {
    None,
    /// tls-auth with `key-direction 1` on the client (0 on the server), or both
    /// bidirectional.
    TlsAuth {
        digest: Digest,
        tag_len: Option<usize>,
        bidirectional: bool,
    },
    /// tls-auth without a server key: the answer's HMAC is not checked.
    TlsAuthUnchecked(Digest),
    TlsCrypt,
    TlsCryptV2,
}

fn pair(kind: Kind, key: &StaticKey, wkc: &[u8]) -> WrapPair {
    match kind {
        Kind::None => WrapPair {
            client: Wrap::None,
            server: Wrap::None,
        },
        Kind::TlsAuth {
            digest,
            tag_len,
            bidirectional,
        } => {
            let direction = if bidirectional {
                KeyDirection::Bidirectional
            } else {
                KeyDirection::One
            };
            WrapPair::tls_auth(key, direction, digest, tag_len)
                .expect("tag length within the digest")
        }
        // Signing keys only: neither side checks what it receives.
        Kind::TlsAuthUnchecked(digest) => {
            let (c_send, _) = key.directional(KeyDirection::One);
            let (s_send, _) = key.directional(KeyDirection::Zero);
            WrapPair {
                client: Wrap::TlsAuth(TlsAuth::new(digest, &c_send.hmac, None, None).unwrap()),
                server: Wrap::TlsAuth(TlsAuth::new(digest, &s_send.hmac, None, None).unwrap()),
            }
        }
        Kind::TlsCrypt => WrapPair::tls_crypt(key),
        // The server answers a v2 client as plain tls-crypt with Kc: no WKc behind it.
        Kind::TlsCryptV2 => WrapPair::tls_crypt_v2(&V2ClientKey {
            kc: key.clone(),
            wkc: wkc.to_vec(),
        }),
    }
}

fn expected_auth(kind: Kind) -> Auth {
    match kind {
        Kind::None => Auth::None,
        Kind::TlsAuthUnchecked(_) => Auth::NotChecked,
        _ => Auth::Verified,
    }
}

/// Digest and a tag length of at least 8 bytes (or the full length), so that a forgery by
/// one bit flip has no realistic chance of matching.
fn tls_auth_strong() -> impl Strategy<Value = Kind> {
    (
        select(Digest::ALL.to_vec()),
        any::<Option<Index>>(),
        any::<bool>(),
    )
        .prop_map(|(digest, cut, bidirectional)| Kind::TlsAuth {
            digest,
            tag_len: cut.map(|i| 8 + i.index(digest.output_len() - 7)),
            bidirectional,
        })
}

/// Wrap kinds whose answers are authenticated.
fn authenticated_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => tls_auth_strong(),
        1 => Just(Kind::TlsCrypt),
        1 => Just(Kind::TlsCryptV2),
    ]
}

fn any_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        1 => Just(Kind::None),
        3 => tls_auth_strong(),
        1 => select(Digest::ALL.to_vec()).prop_map(Kind::TlsAuthUnchecked),
        1 => Just(Kind::TlsCrypt),
        1 => Just(Kind::TlsCryptV2),
    ]
}

/// The wrap kinds the "never panics" properties run every input through.
fn fixed_client_wraps(key: &StaticKey) -> Vec<Wrap> {
    let wkc = vec![0x5a; 300];
    [
        Kind::None,
        Kind::TlsAuth {
            digest: Digest::Sha1,
            tag_len: None,
            bidirectional: false,
        },
        Kind::TlsAuth {
            digest: Digest::Sha256,
            tag_len: Some(16),
            bidirectional: false,
        },
        Kind::TlsAuth {
            digest: Digest::Md5,
            tag_len: Some(1),
            bidirectional: true,
        },
        Kind::TlsAuth {
            digest: Digest::Sha512,
            tag_len: None,
            bidirectional: false,
        },
        Kind::TlsAuthUnchecked(Digest::Sha1),
        Kind::TlsCrypt,
        Kind::TlsCryptV2,
    ]
    .into_iter()
    .map(|k| pair(k, key, &wkc).client)
    .collect()
}

fn static_key() -> impl Strategy<Value = StaticKey> {
    prop::collection::vec(any::<u8>(), 256).prop_map(|v| {
        let mut bytes = [0u8; 256];
        bytes.copy_from_slice(&v);
        StaticKey::from_bytes(bytes)
    })
}

fn replay() -> impl Strategy<Value = Replay> {
    (any::<u32>(), any::<u32>()).prop_map(|(packet_id, net_time)| Replay {
        packet_id,
        net_time,
    })
}

/// Packets: pure noise, or noise behind the server-reset byte so that parsing goes deeper.
fn packet_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..160),
        prop::collection::vec(any::<u8>(), 0..400).prop_map(|mut v| {
            if let Some(b) = v.first_mut() {
                *b = SERVER_RESET;
            }
            v
        }),
    ]
}

/// The body of a control packet from its fields, written independently of the crate.
/// `byte0 | session_id` of a `P_CONTROL_V1`.
fn control_header() -> Vec<u8> {
    let mut h = vec![wire::byte0(wire::P_CONTROL_V1, 0)];
    h.extend_from_slice(&[3; 8]);
    h
}

fn encode_body(acks: &[u32], remote: &SessionId, mpid: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![acks.len() as u8];
    for a in acks {
        b.extend_from_slice(&a.to_be_bytes());
    }
    if !acks.is_empty() {
        b.extend_from_slice(remote);
    }
    b.extend_from_slice(&mpid.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

// ---------------------------------------------------------------------------------------
// The wire format.

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn validate_never_panics_for_any_wrap(
        key in static_key(),
        packet in packet_bytes(),
        ours in any::<SessionId>(),
    ) {
        for wrap in fixed_client_wraps(&key) {
            if let Ok(reset) = validate_server_reset(&wrap, &packet, &ours) {
                // Only a server reset with key id 0 can be accepted, and the session id
                // reported is the one in its header.
                prop_assert_eq!(packet[0], SERVER_RESET);
                prop_assert_eq!(&reset.session_id[..], &packet[1..9]);
            }
        }
    }

    #[test]
    fn answers_built_by_the_server_validate(
        kind in any_kind(),
        key in static_key(),
        ours in any::<SessionId>(),
        theirs in any::<SessionId>(),
        replay in replay(),
        wkc in prop::collection::vec(any::<u8>(), 290..400),
    ) {
        let p = pair(kind, &key, &wkc);
        let answer = seal(&p.server, SERVER_RESET, theirs, replay, &server_reset_body(&ours), true);
        let reset = validate_server_reset(&p.client, &answer, &ours);
        prop_assert!(reset.is_ok(), "{:?}: {:?}", kind, reset);
        let reset = reset.unwrap();
        prop_assert_eq!(reset.session_id, theirs);
        prop_assert_eq!(reset.auth, expected_auth(kind));

        // The same answer is not about another session.
        let mut other = ours;
        other[7] ^= 0x80;
        let r = validate_server_reset(&p.client, &answer, &other);
        prop_assert_eq!(r, Err(Rejection::OtherSession));

        // The client's own packet (opcode 7 or 10) is never taken for the answer.
        let own = client_reset(&p.client, ours, replay);
        prop_assert!(validate_server_reset(&p.client, &own, &ours).is_err());
    }

    #[test]
    fn single_bit_flips_are_rejected(
        kind in authenticated_kind(),
        key in static_key(),
        ours in any::<SessionId>(),
        theirs in any::<SessionId>(),
        replay in replay(),
        bit in any::<Index>(),
    ) {
        let p = pair(kind, &key, &[0x5a; 300]);
        let answer = seal(&p.server, SERVER_RESET, theirs, replay, &server_reset_body(&ours), true);
        let mut forged = answer.clone();
        let bit = bit.index(answer.len() * 8);
        forged[bit / 8] ^= 1 << (bit % 8);
        let r = validate_server_reset(&p.client, &forged, &ours);
        prop_assert!(r.is_err(), "{:?}: flipping bit {} of {} was accepted: {:?}",
            kind, bit, hex(&answer), r);
        if let Kind::TlsAuth { digest, tag_len, .. } = kind {
            // tls-auth leaves byte 0 and the layout alone; a flip anywhere past byte 0
            // in the header, tag or replay fields is an authentication failure.
            let replay_end = 9 + tag_len.unwrap_or(digest.output_len()) + 8;
            if bit >= 8 && bit / 8 < replay_end {
                prop_assert_eq!(r, Err(Rejection::BadAuth));
            }
        }
    }

    #[test]
    fn answers_with_the_wrong_key_fail_authentication(
        kind in authenticated_kind(),
        key in static_key(),
        other_key in static_key(),
        ours in any::<SessionId>(),
        theirs in any::<SessionId>(),
        replay in replay(),
    ) {
        let good = pair(kind, &key, &[1; 300]);
        let bad = pair(kind, &other_key, &[1; 300]);
        let answer = seal(&bad.server, SERVER_RESET, theirs, replay, &server_reset_body(&ours), true);
        let r = validate_server_reset(&good.client, &answer, &ours);
        prop_assert!(r.is_err());
        if matches!(kind, Kind::TlsAuth { .. }) {
            // The body is in clear, so the session checks pass and only the HMAC fails.
            prop_assert_eq!(r, Err(Rejection::BadAuth));
        }
    }

    #[test]
    fn truncated_answers_are_rejected(
        kind in any_kind(),
        key in static_key(),
        ours in any::<SessionId>(),
        replay in replay(),
        cut in any::<Index>(),
    ) {
        let p = pair(kind, &key, &[2; 300]);
        let answer = seal(&p.server, SERVER_RESET, [7; 8], replay, &server_reset_body(&ours), true);
        let cut = cut.index(answer.len());
        let r = validate_server_reset(&p.client, &answer[..cut], &ours);
        prop_assert!(r.is_err(), "{:?} accepted {} of {} bytes", kind, cut, answer.len());
    }

    /// A model of the decision, written from the protocol description, against the real
    /// thing, over well-formed packets with random fields.
    #[test]
    fn validation_agrees_with_a_model(
        kind in any_kind(),
        key in static_key(),
        ours in any::<SessionId>(),
        theirs in any::<SessionId>(),
        first in prop_oneof![3 => Just(SERVER_RESET), 1 => any::<u8>()],
        acks in prop::collection::vec(prop_oneof![Just(0u32), any::<u32>()], 0..6),
        remote_is_ours in any::<bool>(),
        other_remote in any::<SessionId>(),
        mpid in prop_oneof![Just(0u32), any::<u32>()],
        payload in prop::collection::vec(any::<u8>(), 0..24),
        replay in replay(),
    ) {
        let remote = if remote_is_ours { ours } else { other_remote };
        let p = pair(kind, &key, &[3; 300]);
        let body = encode_body(&acks, &remote, mpid, &payload);
        let packet = seal(&p.server, first, theirs, replay, &body, true);
        let expected = if first != SERVER_RESET {
            Err(Rejection::NotServerReset)
        } else if acks.is_empty() || remote != ours || !acks.contains(&0) {
            Err(Rejection::OtherSession)
        } else if mpid != 0 {
            Err(Rejection::NotServerReset)
        } else {
            Ok((theirs, expected_auth(kind)))
        };
        let got = validate_server_reset(&p.client, &packet, &ours).map(|r| (r.session_id, r.auth));
        prop_assert_eq!(got, expected);
    }

    /// The one parser, over the body of a `P_CONTROL_V1` (the reset's layout too).
    #[test]
    fn parse_body_never_panics_and_lengths_add_up(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            // Plausible ack counts with too little behind them.
            (0u8..=255, prop::collection::vec(any::<u8>(), 0..1100)).prop_map(|(n, mut v)| {
                v.insert(0, n);
                v
            }),
        ],
    ) {
        if let Ok(b) = ControlPacket::parse(&control_header(), &body) {
            let n = b.acks.len();
            prop_assert_eq!(n, body[0] as usize);
            prop_assert!(n <= MAX_ACKS);
            prop_assert_eq!(b.remote_session_id.is_some(), n > 0);
            let fixed = 1 + 4 * n + if n > 0 { 8 } else { 0 } + 4;
            prop_assert!(b.message_id.is_some());
            prop_assert_eq!(fixed + b.payload.len(), body.len());
            prop_assert_eq!(b.payload, &body[fixed..]);
        } else {
            // Rejected only when it really is too short, or has more acks than OpenVPN
            // reads (`RELIABLE_ACK_SIZE`).
            let n = body.first().copied().unwrap_or(0) as usize;
            let fixed = 1 + 4 * n + if n > 0 { 8 } else { 0 } + 4;
            prop_assert!(body.len() < fixed || n > 8, "{} bytes rejected", body.len());
        }
    }

    #[test]
    fn parse_body_round_trips(
        acks in prop::collection::vec(any::<u32>(), 0..=12),
        remote in any::<SessionId>(),
        mpid in any::<u32>(),
        payload in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let encoded = encode_body(&acks, &remote, mpid, &payload);
        let parsed = ControlPacket::parse(&control_header(), &encoded);
        if acks.len() > 8 {
            prop_assert_eq!(parsed, Err(Rejection::Malformed));
        } else {
            let b = parsed.unwrap();
            prop_assert_eq!(&b.acks, &acks);
            prop_assert_eq!(b.remote_session_id, (!acks.is_empty()).then_some(remote));
            prop_assert_eq!(b.message_id, Some(mpid));
            prop_assert_eq!(b.payload, &payload[..]);
        }
    }
}

/// Every single bit flip of one answer per authenticated wrap, exhaustively (the property
/// above samples one bit per case).
#[test]
fn every_bit_flip_is_rejected_exhaustively() {
    let mut bytes = [0u8; 256];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    let key = StaticKey::from_bytes(bytes);
    let ours = [1, 2, 3, 4, 5, 6, 7, 8];
    let replay = Replay {
        packet_id: 1,
        net_time: 0x6543_2100,
    };
    for kind in [
        Kind::TlsAuth {
            digest: Digest::Sha1,
            tag_len: None,
            bidirectional: false,
        },
        Kind::TlsAuth {
            digest: Digest::Sha256,
            tag_len: Some(8),
            bidirectional: true,
        },
        Kind::TlsCrypt,
        Kind::TlsCryptV2,
    ] {
        let p = pair(kind, &key, &[9; 300]);
        let answer = seal(
            &p.server,
            SERVER_RESET,
            [0xa5; 8],
            replay,
            &server_reset_body(&ours),
            true,
        );
        assert!(validate_server_reset(&p.client, &answer, &ours).is_ok());
        for bit in 0..answer.len() * 8 {
            let mut forged = answer.clone();
            forged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                validate_server_reset(&p.client, &forged, &ours).is_err(),
                "{kind:?}: bit {bit} flipped was accepted"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Key files.

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower or upper case hex, decided per digit by `case`.
fn hex_mixed_case(bytes: &[u8], case: &[bool]) -> String {
    hex(bytes)
        .chars()
        .zip(case.iter().cycle())
        .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// Standard base64 with padding, written here to keep it independent of the crate's decoder.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Free text that cannot be mistaken for a BEGIN or END line.
fn junk_line() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 #;:=+/.,_-]{0,40}".prop_filter("not a marker", |l| !l.contains("-----"))
}

fn comment_line() -> impl Strategy<Value = String> {
    ("[ \t]{0,2}", "[ -~]{0,40}").prop_map(|(indent, text)| format!("{indent}#{text}"))
}

/// A line break: LF or CRLF.
fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n")]
}

fn lines_with(lines: Vec<String>, eols: &[&str]) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push_str(eols[i % eols.len()]);
    }
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn static_key_parse_never_panics(text in any::<String>()) {
        let _ = StaticKey::parse(&text, "fuzz.key");
        let framed = format!("{STATIC_BEGIN}\n{text}\n{STATIC_END}\n");
        let _ = StaticKey::parse(&framed, "fuzz.key");
    }

    #[test]
    fn static_key_parse_never_panics_on_hexish_bodies(
        body in prop::collection::vec("[0-9a-fA-F #\t\r]{0,70}", 0..24),
        end in any::<bool>(),
    ) {
        let mut text = format!("{STATIC_BEGIN}\n{}\n", body.join("\n"));
        if end {
            text.push_str(STATIC_END);
        }
        if let Ok(key) = StaticKey::parse(&text, "k") {
            // Accepted only with an END line and exactly 256 bytes of hex.
            prop_assert!(end);
            let digits: usize = body
                .iter()
                .filter(|l| !l.trim().starts_with('#'))
                .map(|l| l.chars().filter(char::is_ascii_hexdigit).count())
                .sum();
            prop_assert_eq!(digits, 512);
            let _ = key.directional(KeyDirection::One);
        }
    }

    /// The layout `openvpn --genkey secret` writes, with comments, CRLF, indentation,
    /// mixed case and text around it, parses back to the same 256 bytes.
    #[test]
    fn static_key_text_round_trips(
        bytes in prop::collection::vec(any::<u8>(), 256),
        width in select(vec![16usize, 32, 8, 64, 256]),
        case in prop::collection::vec(any::<bool>(), 1..8),
        before in prop::collection::vec(prop_oneof![junk_line(), comment_line()], 0..4),
        inside in prop::collection::vec(
            prop::option::of(prop_oneof![comment_line(), Just(String::new()), Just("  ".to_string())]),
            40,
        ),
        indent in prop::collection::vec("[ \t]{0,2}", 1..5),
        after in prop::collection::vec(junk_line(), 0..4),
        eols in prop::collection::vec(eol(), 1..5),
    ) {
        let mut lines = before;
        lines.push(STATIC_BEGIN.to_string());
        for (i, chunk) in bytes.chunks(width).enumerate() {
            if let Some(Some(extra)) = inside.get(i) {
                lines.push(extra.clone());
            }
            let pad = &indent[i % indent.len()];
            lines.push(format!("{pad}{}{pad}", hex_mixed_case(chunk, &case)));
        }
        lines.push(format!(" {STATIC_END} "));
        lines.extend(after);
        let text = lines_with(lines, &eols);
        let mut expected = [0u8; 256];
        expected.copy_from_slice(&bytes);
        let parsed = StaticKey::parse(&text, "ta.key");
        prop_assert_eq!(parsed, Ok(StaticKey::from_bytes(expected)), "{}", text);
    }

    #[test]
    fn v2_key_parse_never_panics(text in any::<String>()) {
        let _ = V2ClientKey::parse(&text, "fuzz.key");
        let framed = format!("{V2_BEGIN}\n{text}\n{V2_END}\n");
        let _ = V2ClientKey::parse(&framed, "fuzz.key");
    }

    /// Base64 of any length (so any WKc length field, including ones pointing past the end)
    /// never panics, and is accepted only when the length field is right.
    #[test]
    fn v2_key_parse_never_panics_on_base64_bodies(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 540..1400),
        ],
        fix_len in any::<bool>(),
        width in 1usize..100,
    ) {
        let mut bytes = bytes;
        let n = bytes.len();
        if fix_len && n >= 258 {
            let wkc_len = (n - 256) as u16;
            bytes[n - 2..].copy_from_slice(&wkc_len.to_be_bytes());
        }
        let b64 = base64(&bytes);
        let body: Vec<String> = b64
            .as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let text = format!("{V2_BEGIN}\n{}\n{V2_END}\n", body.join("\n"));
        if let Ok(key) = V2ClientKey::parse(&text, "c.key") {
            prop_assert!((256 + 290..=256 + 1024).contains(&n), "{} bytes accepted", n);
            prop_assert_eq!(&key.wkc[..], &bytes[256..]);
            let declared = u16::from_be_bytes([bytes[n - 2], bytes[n - 1]]) as usize;
            prop_assert_eq!(declared, n - 256);
        }
    }

    #[test]
    fn v2_key_round_trips(
        kc in prop::collection::vec(any::<u8>(), 256),
        wkc_len in 290usize..=1024,
        wkc_fill in any::<u8>(),
        width in select(vec![64usize, 76, 4, 1000]),
        before in prop::collection::vec(junk_line(), 0..3),
        eols in prop::collection::vec(eol(), 1..4),
    ) {
        let mut wkc: Vec<u8> = (0..wkc_len).map(|i| (i as u8) ^ wkc_fill).collect();
        wkc[wkc_len - 2..].copy_from_slice(&(wkc_len as u16).to_be_bytes());
        let b64 = base64(&[&kc[..], &wkc].concat());
        let mut lines = before;
        lines.push(V2_BEGIN.to_string());
        lines.extend(
            b64.as_bytes()
                .chunks(width)
                .map(|c| String::from_utf8(c.to_vec()).unwrap()),
        );
        lines.push(V2_END.to_string());
        let text = lines_with(lines, &eols);
        let key = V2ClientKey::parse(&text, "c.key").unwrap();
        let mut kc_bytes = [0u8; 256];
        kc_bytes.copy_from_slice(&kc);
        prop_assert_eq!(key.kc, StaticKey::from_bytes(kc_bytes));
        prop_assert_eq!(key.wkc, wkc);
    }

    #[test]
    fn hex_key_parse_never_panics(text in any::<String>(), hexish in "[0-9a-fA-FxX: \t]{0,80}") {
        let _ = parse_hex_key(&text, "--key");
        let _ = parse_hex_key(&hexish, "--key");
    }

    /// Hex with separators (`:`, spaces, tabs, newlines), either case and an optional `0x`
    /// decodes to the bytes; an error message never repeats the key.
    #[test]
    fn hex_key_with_separators_decodes(
        bytes in prop::collection::vec(any::<u8>(), 1..80),
        seps in prop::collection::vec(select(vec!["", ":", " ", "\t", "\n", " : "]), 1..6),
        case in prop::collection::vec(any::<bool>(), 1..8),
        prefix in select(vec!["", "0x", "0X"]),
        around in select(vec!["", " ", "\n", "\t "]),
    ) {
        let digits = hex_mixed_case(&bytes, &case);
        let mut text = format!("{around}{prefix}");
        for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
            if i > 0 {
                text.push_str(seps[i % seps.len()]);
            }
            text.push_str(std::str::from_utf8(pair).unwrap());
        }
        text.push_str(around);
        let key = parse_hex_key(&text, "--key").unwrap();
        prop_assert_eq!(key.expose(), &bytes[..]);

        // One bad digit: refused, without echoing the key.
        let bad = text.replacen(|c: char| c.is_ascii_hexdigit() && c != '0', "g", 1);
        if bad != text {
            let e = parse_hex_key(&bad, "--key").unwrap_err().to_string();
            prop_assert!(e.contains("--key"));
            if digits.len() >= 8 {
                prop_assert!(!e.contains(&digits[digits.len() - 8..]), "{}", e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Config files.

fn config_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.\\-]{1,12}",
        select(vec![
            "udp",
            "tcp",
            "udp6",
            "tcp4-client",
            "tcp-server",
            "1194",
            "0",
            "1",
            "65535",
            "99999",
            "[inline]",
            "SHA256",
            "\"a b\"",
            "'x y'",
            "\\",
            "\"open",
            "#",
            ";c",
        ])
        .prop_map(String::from),
    ]
}

fn config_line() -> impl Strategy<Value = String> {
    let directive = select(vec![
        "remote",
        "port",
        "rport",
        "proto",
        "auth",
        "key-direction",
        "tls-auth",
        "tls-crypt",
        "tls-crypt-v2",
        "--remote",
        "client",
        "dev",
        "http-proxy",
        "socks-proxy",
    ]);
    prop_oneof![
        6 => (directive, prop::collection::vec(config_word(), 0..4))
            .prop_map(|(d, args)| format!("{d} {}", args.join(" "))),
        1 => select(vec![
            "<connection>", "</connection>", "<tls-auth>", "</tls-auth>", "<tls-crypt>",
            "</tls-crypt>", "<tls-crypt-v2>", "</tls-crypt-v2>", "<ca>", "</ca>", "<>", "</>",
            "<", ">", "# comment", "; comment", "",
        ])
        .prop_map(String::from),
        1 => "[ -~]{0,30}",
    ]
}

/// An inline block with some content, closed or not.
fn inline_block() -> impl Strategy<Value = Vec<String>> {
    (
        select(vec![
            "tls-auth",
            "tls-crypt",
            "tls-crypt-v2",
            "ca",
            "connection",
        ]),
        prop::collection::vec(prop_oneof![config_line(), "[0-9a-f]{32}"], 0..5),
        any::<bool>(),
    )
        .prop_map(|(name, body, closed)| {
            let mut lines = vec![format!("<{name}>")];
            lines.extend(body);
            if closed {
                lines.push(format!("</{name}>"));
            }
            lines
        })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn config_parse_never_panics(text in any::<String>()) {
        let _ = ClientConfig::parse(&text, "fuzz.ovpn", Path::new("/etc/openvpn"));
    }

    #[test]
    fn config_parse_never_panics_on_structured_text(
        parts in prop::collection::vec(
            prop_oneof![
                3 => config_line().prop_map(|l| vec![l]),
                1 => inline_block(),
            ],
            0..14,
        ),
        eols in prop::collection::vec(eol(), 1..3),
    ) {
        let lines: Vec<String> = parts.into_iter().flatten().collect();
        let text = lines_with(lines, &eols);
        if let Ok(cfg) = ClientConfig::parse(&text, "c.ovpn", Path::new("base")) {
            // Ports that made it through are valid port numbers.
            prop_assert!(cfg.port != Some(0));
            prop_assert!(cfg.remotes.iter().all(|r| r.port != Some(0)));
        }
    }

    /// A typical client config with an inline key block yields the first remote, its port
    /// and protocol, and the block's text verbatim.
    #[test]
    fn config_with_inline_block_round_trips(
        host in "[a-z][a-z0-9-]{0,15}(\\.[a-z0-9]{1,8}){0,3}",
        port in 1u16..,
        proto in select(vec!["udp", "tcp", "udp4", "tcp6-client"]),
        block in select(vec!["tls-auth", "tls-crypt", "tls-crypt-v2"]),
        block_lines in prop::collection::vec("[0-9a-zA-Z+/=# -]{0,64}", 0..20),
        with_directive in any::<bool>(),
        key_direction in prop::option::of(select(vec!["0", "1"])),
        noise in prop::collection::vec(select(vec!["client", "dev tun", "nobind", "persist-key", "verb 3", "# hi", ""]), 0..5),
        eols in prop::collection::vec(eol(), 1..3),
    ) {
        let block_lines: Vec<String> = block_lines
            .into_iter()
            .filter(|l| !l.trim().starts_with('<'))
            .collect();
        let mut lines: Vec<String> = noise.iter().map(|s| s.to_string()).collect();
        lines.push(format!("remote {host} {port} {proto}"));
        lines.push("remote second.example 1 udp".to_string());
        if let Some(d) = key_direction {
            lines.push(format!("key-direction {d}"));
        }
        if with_directive {
            lines.push(format!("{block} [inline]"));
        }
        lines.push(format!("<{block}>"));
        lines.extend(block_lines.iter().cloned());
        lines.push(format!("</{block}>"));
        let text = lines_with(lines, &eols);
        let cfg = ClientConfig::parse(&text, "c.ovpn", Path::new("/etc/openvpn")).unwrap();
        prop_assert_eq!(cfg.remotes.len(), 2);
        prop_assert_eq!(&cfg.remotes[0].host, &host);
        prop_assert_eq!(cfg.remotes[0].port, Some(port));
        prop_assert!(cfg.remotes[0].proto.is_some());
        let expected_text: String = block_lines.iter().map(|l| format!("{l}\n")).collect();
        let key = match cfg.wrap {
            Some(ConfigWrap::TlsAuth { key, direction: None }) if block == "tls-auth" => key,
            Some(ConfigWrap::TlsCrypt(key)) if block == "tls-crypt" => key,
            Some(ConfigWrap::TlsCryptV2(key)) if block == "tls-crypt-v2" => key,
            other => return Err(TestCaseError::fail(format!("{block}: {other:?}"))),
        };
        match key {
            KeySource::Inline { text, .. } => prop_assert_eq!(text.as_str(), expected_text.as_str()),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
        let expected_dir = key_direction.map(|d| if d == "0" { KeyDirection::Zero } else { KeyDirection::One });
        prop_assert_eq!(cfg.key_direction, expected_dir);
    }
}

// ---------------------------------------------------------------------------------------
// Threshold ranges.

/// A finite number, rendered so that Rust's parser reads back exactly the same value.
fn bound() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i32..1000).prop_map(f64::from),
        (-100_000i32..100_000).prop_map(|n| f64::from(n) / 100.0),
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Start {
    /// `END` alone: start 0.
    Implicit,
    /// `~:END`
    MinusInfinity,
    Finite(f64),
}

/// The Monitoring Plugins guidelines: alert when outside `start..=end` (both inclusive),
/// or inside it with `@`.
fn textbook_alert(start: f64, end: f64, inside: bool, value: f64) -> bool {
    let in_range = start <= value && value <= end;
    if inside {
        in_range
    } else {
        !in_range
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn range_parse_never_panics(
        text in prop_oneof![
            any::<String>(),
            "[@~:0-9.eE+\\- infINFaN]{0,16}",
        ],
        value in any::<f64>(),
    ) {
        if let Ok(r) = text.parse::<Range>() {
            prop_assert_eq!(r.to_string(), text.trim());
            let _ = r.alerts(value);
        }
    }

    #[test]
    fn range_round_trips_and_alerts_like_the_guidelines(
        a in bound(),
        b in bound(),
        start_kind in 0u8..3,
        open_end in any::<bool>(),
        inside in any::<bool>(),
        probes in prop::collection::vec(bound(), 4),
        pad in select(vec!["", " ", "\t"]),
    ) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let start = match start_kind {
            0 if lo == 0.0 || (!open_end && hi >= 0.0) => Start::Implicit,
            1 => Start::MinusInfinity,
            _ => Start::Finite(lo),
        };
        let open_end = open_end && !matches!(start, Start::Implicit);
        let mut text = String::from(if inside { "@" } else { "" });
        match start {
            Start::Implicit => {}
            Start::MinusInfinity => text.push_str("~:"),
            Start::Finite(v) => text.push_str(&format!("{v}:")),
        }
        if !open_end {
            text.push_str(&format!("{hi}"));
        }
        let (s, e) = (
            match start {
                Start::Implicit => 0.0,
                Start::MinusInfinity => f64::NEG_INFINITY,
                Start::Finite(v) => v,
            },
            if open_end { f64::INFINITY } else { hi },
        );
        let padded = format!("{pad}{text}{pad}");
        let range: Range = padded
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{padded:?}: {e}")))?;
        prop_assert_eq!(range.to_string(), text.clone());
        let mut values = probes;
        values.extend([s, e, lo, hi, 0.0, -0.0, f64::MAX, f64::MIN]);
        for v in [s, e] {
            if v.is_finite() {
                values.extend([v - 1.0, v + 1.0, v - v.abs() * 1e-9, v + v.abs() * 1e-9]);
            }
        }
        for v in values {
            prop_assert_eq!(
                range.alerts(v),
                textbook_alert(s, e, inside, v),
                "{} at {}", text, v
            );
        }
    }

    #[test]
    fn ranges_with_start_above_end_are_refused(a in bound(), b in bound(), at in any::<bool>()) {
        prop_assume!(a != b);
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let text = format!("{}{hi}:{lo}", if at { "@" } else { "" });
        prop_assert!(text.parse::<Range>().is_err(), "{}", text);
        if lo < 0.0 {
            // A lone negative end means 0:END with END below the start.
            let lone = format!("{lo}");
            prop_assert!(lone.parse::<Range>().is_err(), "{}", lone);
        }
    }
}

/// The data-channel codec: no datagram makes `decapsulate` panic or accept a packet the
/// peer did not seal, and whatever the peer seals comes back intact.
mod data_channel {
    use super::cases;
    use check_openvpn::digest::Digest;
    use check_openvpn::proto::data::icmp::parse_echo_reply;
    use check_openvpn::proto::data::{
        Compression, DataChannel, DataCipher, DataConfig, Decapsulated, KeyBlock, OccMessage, Side,
        OCC_MAGIC, PING_MAGIC,
    };
    use proptest::prelude::*;
    use proptest::sample::select;

    fn config() -> impl Strategy<Value = DataConfig> {
        (
            select(DataCipher::ALL.to_vec()),
            select(vec![Digest::Sha1, Digest::Sha256, Digest::Sha512]),
            prop_oneof![Just(None), (0u32..0x0100_0000).prop_map(Some)],
            0u8..8,
            select(vec![
                Compression::None,
                Compression::Lzo,
                Compression::Swap,
                Compression::V2,
            ]),
        )
            .prop_map(|(cipher, auth, peer_id, key_id, compression)| DataConfig {
                cipher,
                auth,
                peer_id,
                key_id,
                compression,
            })
    }

    fn pair(config: DataConfig, key: &[u8]) -> (DataChannel, DataChannel) {
        let block = KeyBlock::from_ekm(key).unwrap();
        (
            DataChannel::new(config, &block, Side::Client),
            DataChannel::new(config, &block, Side::Server),
        )
    }

    /// What the receiver must report for a payload the peer sealed.
    fn expected(payload: &[u8]) -> Decapsulated<'_> {
        if payload == PING_MAGIC {
            Decapsulated::Ping
        } else if let Some(after) = payload.strip_prefix(&OCC_MAGIC[..]) {
            Decapsulated::Occ(OccMessage {
                opcode: after.first().copied(),
                body: after.get(1..).unwrap_or_default(),
            })
        } else {
            Decapsulated::Data(payload)
        }
    }

    proptest! {
        #![proptest_config(cases(512))]

        #[test]
        fn arbitrary_datagrams_are_refused_without_panic(
            config in config(),
            key in proptest::collection::vec(any::<u8>(), 256),
            datagram in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let (mut client, _) = pair(config, &key);
            let mut out = Vec::new();
            prop_assert!(client.decapsulate(&datagram, &mut out).is_err());
            prop_assert_eq!(client.highest_received_packet_id(), 0);
        }

        #[test]
        fn sealed_payloads_come_back_and_any_change_is_refused(
            config in config(),
            key in proptest::collection::vec(any::<u8>(), 256),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            cut in any::<prop::sample::Index>(),
        ) {
            let (mut client, mut server) = pair(config, &key);
            let (mut wire, mut out) = (Vec::new(), Vec::new());
            server.encapsulate(&payload, &mut wire).unwrap();
            let mut bad = wire.clone();
            bad[at.index(wire.len())] ^= flip;
            prop_assert!(client.decapsulate(&bad, &mut out).is_err());
            prop_assert!(client.decapsulate(&wire[..cut.index(wire.len())], &mut out).is_err());
            let got = client.decapsulate(&wire, &mut out).unwrap();
            prop_assert_eq!(got, expected(&payload));
            // The same datagram again is a replay.
            prop_assert!(client.decapsulate(&wire, &mut out).is_err());
        }

        #[test]
        fn echo_reply_parse_never_panics(packet in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse_echo_reply(&packet);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The status line: whatever a report says, at most 300 characters before the perfdata,
// the perfdata whole, and nothing of the text lost.

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn the_status_line_is_at_most_300_characters_and_loses_nothing(
        words in prop::collection::vec("[a-zA-Z0-9äé€:;,.()/'-]{0,40}", 0..80),
        perf in prop::option::of("[a-z_]{1,10}=[0-9]{1,5}"),
        long in prop::collection::vec("[a-z ]{0,30}", 0..3),
    ) {
        use check_openvpn::report::{Report, State};
        let text = format!("OPENVPN CRITICAL - {}", words.join(" "));
        let line = match &perf {
            Some(p) => format!("{text} | {p}"),
            None => text.clone(),
        };
        let report = Report { state: State::Critical, line, long: long.clone() };
        let out = report.text();
        let first = out.lines().next().unwrap();
        let (head, tail) = match first.split_once(" | ") {
            Some((h, t)) => (h, Some(t)),
            None => (first, None),
        };
        prop_assert!(head.chars().count() <= 300, "{} chars: {head}", head.chars().count());
        prop_assert_eq!(tail, perf.as_deref());
        // Cut or not, the whole text is there, and the long output after it.
        prop_assert!(head == text || out.lines().skip(1).any(|l| l == text), "{out}");
        for l in &long {
            prop_assert!(out.contains(l.as_str()), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Through the tunnel: what comes back is parsed without panicking, whatever it is.

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn tunnel_datagrams_and_dns_replies_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        first in prop_oneof![Just(0x45u8), Just(0x60u8), any::<u8>()],
    ) {
        let mut packet = bytes.clone();
        if let Some(b) = packet.first_mut() {
            *b = first;
        }
        let _ = check_openvpn::proto::data::udp::parse_datagram(&packet);
        let _ = check_openvpn::check::dns::read_reply(&bytes, "A");
        let _ = check_openvpn::check::dns::read_reply(&bytes, "MX");
        // An HTTP response in two pieces, whatever the bytes.
        let mut r = check_openvpn::proto::data::http::Response::new(256);
        let cut = bytes.len() / 2;
        let _ = r.push(&bytes[..cut]);
        let _ = r.push(&bytes[cut..]);
        let _ = (r.complete(), r.body_len(), r.head());
    }
}
