//! The OpenVPN control-channel packets a probe sends and receives, as pure functions over
//! bytes: no sockets, no clock, no randomness (the caller passes session id and time in).
//!
//! A control packet is `byte0 | session_id[8]`, then — after whatever the wrap mode adds —
//! the *body*: `ack_count | ack_ids[4n] | remote_session_id[8] (if n > 0) |
//! message_packet_id[4] | payload`. [`Wrap`] puts a body on the wire and takes it off again.

pub mod material;
mod tls_auth;
mod tls_crypt;

use crate::digest::Digest;
use crate::keys::static_keys::{KeyDirection, StaticKey, V2ClientKey};
pub use tls_auth::{BadTagLen, TlsAuth};
pub use tls_crypt::TlsCrypt;

pub const P_CONTROL_V1: u8 = 4;
pub const P_ACK_V1: u8 = 5;
pub const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
pub const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
pub const P_CONTROL_HARD_RESET_CLIENT_V3: u8 = 10;

/// OpenVPN 2.6 starts a tls-crypt-v2 client's packet ids here; the high byte tells the
/// server that the client supports early negotiation (and so a stateless answer).
pub const EARLY_NEG_START: u32 = 0x0f00_0000;

/// Length of `byte0 | session_id`.
pub const HEADER_LEN: usize = 9;

pub type SessionId = [u8; 8];

pub fn byte0(opcode: u8, key_id: u8) -> u8 {
    opcode << 3 | (key_id & 0x07)
}

pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        1 => "P_CONTROL_HARD_RESET_CLIENT_V1",
        2 => "P_CONTROL_HARD_RESET_SERVER_V1",
        3 => "P_CONTROL_SOFT_RESET_V1",
        P_CONTROL_V1 => "P_CONTROL_V1",
        P_ACK_V1 => "P_ACK_V1",
        6 => "P_DATA_V1",
        P_CONTROL_HARD_RESET_CLIENT_V2 => "P_CONTROL_HARD_RESET_CLIENT_V2",
        P_CONTROL_HARD_RESET_SERVER_V2 => "P_CONTROL_HARD_RESET_SERVER_V2",
        9 => "P_DATA_V2",
        P_CONTROL_HARD_RESET_CLIENT_V3 => "P_CONTROL_HARD_RESET_CLIENT_V3",
        11 => "P_CONTROL_WKC_V1",
        _ => "unknown opcode",
    }
}

/// The decoded body of a control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body<'a> {
    pub acks: Vec<u32>,
    pub remote_session_id: Option<SessionId>,
    pub message_packet_id: u32,
    pub payload: &'a [u8],
}

/// Why a received packet is not the answer we wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// Too short, or its lengths do not add up.
    Malformed,
    /// A well-formed packet of another kind (opcode or key id).
    NotServerReset,
    /// A server reset that is not about our session (or does not ack our packet 0).
    OtherSession,
    /// A server reset for our session whose HMAC or tag did not verify.
    BadAuth,
    /// After the reset: a packet of a kind the session does not expect (data channel,
    /// renegotiation, another key id).
    Unexpected,
    /// After the reset: a message beyond the receive window (dropped unacknowledged).
    OutOfWindow,
}

/// Whether the answer's authenticity was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No wrap: nothing to verify.
    None,
    /// HMAC (or tag) verified with the server-to-client key.
    Verified,
    /// Signed, but no server key was given to check it with.
    NotChecked,
}

/// A valid `P_CONTROL_HARD_RESET_SERVER_V2` for our session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReset {
    pub session_id: SessionId,
    pub auth: Auth,
}

/// How the control channel is protected.
#[derive(Debug, Clone)]
pub enum Wrap {
    None,
    TlsAuth(TlsAuth),
    /// tls-crypt, or tls-crypt-v2 when it carries a wrapped client key.
    TlsCrypt(TlsCrypt),
}

/// Which wrap a probe used, without its keys: what a report needs to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapKind {
    None,
    TlsAuth(Digest),
    TlsCrypt,
    TlsCryptV2,
}

impl Wrap {
    pub fn kind(&self) -> WrapKind {
        match self {
            Wrap::None => WrapKind::None,
            Wrap::TlsAuth(t) => WrapKind::TlsAuth(t.digest()),
            Wrap::TlsCrypt(t) if t.is_v2() => WrapKind::TlsCryptV2,
            Wrap::TlsCrypt(_) => WrapKind::TlsCrypt,
        }
    }

    /// The opcode of the client's first packet.
    pub fn reset_opcode(&self) -> u8 {
        match self {
            Wrap::TlsCrypt(t) if t.is_v2() => P_CONTROL_HARD_RESET_CLIENT_V3,
            _ => P_CONTROL_HARD_RESET_CLIENT_V2,
        }
    }

    /// The packet id of the `attempt`-th (1-based) retransmission of our first packet.
    pub fn packet_id(&self, attempt: u32) -> u32 {
        match self {
            Wrap::TlsCrypt(t) if t.is_v2() => EARLY_NEG_START + attempt,
            _ => attempt,
        }
    }

    /// Bytes the wrap adds to a packet (tls-crypt-v2's wrapped key not counted).
    pub fn overhead(&self) -> usize {
        match self {
            Wrap::None => 0,
            Wrap::TlsAuth(t) => t.tag_len() + 8,
            Wrap::TlsCrypt(_) => tls_crypt::OVERHEAD - HEADER_LEN,
        }
    }

    /// tls-crypt-v2's wrapped client key (WKc), which some packets carry after the wrap.
    pub fn wrapped_key(&self) -> Option<&[u8]> {
        match self {
            Wrap::TlsCrypt(t) => t.wrapped_key(),
            _ => None,
        }
    }

    /// Puts `body` on the wire behind `header`. With tls-crypt-v2 the wrapped client key
    /// follows when `with_wkc` is set (the V3 reset and `P_CONTROL_WKC_V1`).
    pub fn seal_packet(
        &self,
        header: [u8; HEADER_LEN],
        replay: Replay,
        body: &[u8],
        with_wkc: bool,
    ) -> Vec<u8> {
        match self {
            Wrap::None => [&header[..], body].concat(),
            Wrap::TlsAuth(t) => t.seal(header, replay, body),
            Wrap::TlsCrypt(t) => t.seal(header, replay, body, with_wkc),
        }
    }

    fn seal(&self, header: [u8; HEADER_LEN], replay: Replay, body: &[u8]) -> Vec<u8> {
        self.seal_packet(header, replay, body, true)
    }

    /// Splits a received packet into header and body, and verifies it where the wrap can.
    /// `Err` only for packets whose layout is wrong; a bad HMAC is reported in `Opened`.
    pub fn open<'a>(&self, packet: &'a [u8]) -> Result<Opened<'a>, Rejection> {
        match self {
            Wrap::None => {
                if packet.len() < HEADER_LEN {
                    return Err(Rejection::Malformed);
                }
                Ok(Opened {
                    header: &packet[..HEADER_LEN],
                    body: std::borrow::Cow::Borrowed(&packet[HEADER_LEN..]),
                    auth: Ok(Auth::None),
                })
            }
            Wrap::TlsAuth(t) => t.open(packet),
            Wrap::TlsCrypt(t) => t.open(packet),
        }
    }
}

/// The two ends of one wrap made from the same key: the probe's (a client) and a server's.
/// The probe uses `client`; tests, fuzzing and benchmarks play the server with `server`.
#[derive(Debug, Clone)]
pub struct WrapPair {
    pub client: Wrap,
    pub server: Wrap,
}

impl WrapPair {
    /// tls-auth with `digest`: the client on `client_direction`, the server on the
    /// matching one (0 for a client's 1, and the reverse; both ways for bidirectional).
    pub fn tls_auth(
        key: &StaticKey,
        client_direction: KeyDirection,
        digest: Digest,
        tag_len: Option<usize>,
    ) -> Result<WrapPair, BadTagLen> {
        let server_direction = match client_direction {
            KeyDirection::One => KeyDirection::Zero,
            KeyDirection::Zero => KeyDirection::One,
            KeyDirection::Bidirectional => KeyDirection::Bidirectional,
        };
        let side = |direction| -> Result<Wrap, BadTagLen> {
            let (send, recv) = key.directional(direction);
            Ok(Wrap::TlsAuth(TlsAuth::new(
                digest,
                &send.hmac,
                Some(&recv.hmac),
                tag_len,
            )?))
        };
        Ok(WrapPair {
            client: side(client_direction)?,
            server: side(server_direction)?,
        })
    }

    /// tls-crypt: fixed directions, the client on 1 and the server on 0.
    pub fn tls_crypt(key: &StaticKey) -> WrapPair {
        let (c_send, c_recv) = key.directional(KeyDirection::One);
        let (s_send, s_recv) = key.directional(KeyDirection::Zero);
        WrapPair {
            client: Wrap::TlsCrypt(TlsCrypt::new(&c_send, &c_recv)),
            server: Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
        }
    }

    /// tls-crypt-v2: Kc used as tls-crypt, the client appending its wrapped key (WKc).
    pub fn tls_crypt_v2(key: &V2ClientKey) -> WrapPair {
        let (c_send, c_recv) = key.kc.directional(KeyDirection::One);
        let (s_send, s_recv) = key.kc.directional(KeyDirection::Zero);
        WrapPair {
            client: Wrap::TlsCrypt(TlsCrypt::v2(&c_send, &c_recv, key.wkc.clone())),
            server: Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
        }
    }
}

/// The replay-protection fields a wrap adds: packet id and Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub packet_id: u32,
    pub net_time: u32,
}

/// A received packet taken off the wire: its header, its body in clear, and whether its
/// HMAC or tag verified.
pub struct Opened<'a> {
    pub header: &'a [u8],
    pub body: std::borrow::Cow<'a, [u8]>,
    /// `Err(())` when the HMAC or tag did not verify.
    pub auth: Result<Auth, ()>,
}

/// The body of a client's first packet: no acks, message packet id 0, no payload.
const CLIENT_RESET_BODY: [u8; 5] = [0, 0, 0, 0, 0];

/// Builds our first packet: `P_CONTROL_HARD_RESET_CLIENT_V2`, or `_V3` for tls-crypt-v2.
pub fn client_reset(wrap: &Wrap, session_id: SessionId, replay: Replay) -> Vec<u8> {
    build_packet(
        wrap,
        byte0(wrap.reset_opcode(), 0),
        session_id,
        replay,
        &CLIENT_RESET_BODY,
    )
}

/// Wraps any control packet: `first` (opcode and key id), the sender's session id and a
/// raw body. The probe only sends [`client_reset`]; this is for tests and fuzzing, which
/// play the server with a `Wrap` whose directions are swapped.
pub fn build_packet(
    wrap: &Wrap,
    first: u8,
    session_id: SessionId,
    replay: Replay,
    body: &[u8],
) -> Vec<u8> {
    let mut header = [0u8; HEADER_LEN];
    header[0] = first;
    header[1..].copy_from_slice(&session_id);
    wrap.seal(header, replay, body)
}

/// The body of a server's answer to `ours`: ack of our packet 0, its own packet 0.
pub fn server_reset_body(ours: &SessionId) -> Vec<u8> {
    [&[1u8, 0, 0, 0, 0][..], ours, &[0, 0, 0, 0]].concat()
}

/// An ack block: the acknowledged message ids, and the session id they acknowledge.
pub type AckBlock = (Vec<u32>, Option<SessionId>);

/// The ack block at the start of a body: `ack_count | ack_ids | remote_sid (if any)`,
/// and the rest. Every length is checked before it is used; `max_acks` caps the count.
pub fn parse_ack_block(body: &[u8], max_acks: usize) -> Result<(AckBlock, &[u8]), Rejection> {
    let (&count, mut rest) = body.split_first().ok_or(Rejection::Malformed)?;
    if count as usize > max_acks {
        return Err(Rejection::Malformed);
    }
    let mut acks = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (id, tail) = split_u32(rest)?;
        acks.push(id);
        rest = tail;
    }
    let remote_session_id = if count > 0 {
        let (sid, tail) = rest.split_first_chunk::<8>().ok_or(Rejection::Malformed)?;
        rest = tail;
        Some(*sid)
    } else {
        None
    };
    Ok(((acks, remote_session_id), rest))
}

/// Decodes a body; every length is checked before it is used.
pub fn parse_body(body: &[u8]) -> Result<Body<'_>, Rejection> {
    let ((acks, remote_session_id), rest) = parse_ack_block(body, u8::MAX as usize)?;
    let (message_packet_id, payload) = split_u32(rest)?;
    Ok(Body {
        acks,
        remote_session_id,
        message_packet_id,
        payload,
    })
}

pub(crate) fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8]), Rejection> {
    let (head, tail) = bytes.split_first_chunk::<4>().ok_or(Rejection::Malformed)?;
    Ok((u32::from_be_bytes(*head), tail))
}

/// Checks that `packet` is the server's hard reset answering our session `ours`.
///
/// The session and ack checks run before the authentication verdict so that a server
/// which answers us correctly but signs with a key we do not expect is told apart
/// ([`Rejection::BadAuth`]) from noise.
pub fn validate_server_reset(
    wrap: &Wrap,
    packet: &[u8],
    ours: &SessionId,
) -> Result<ServerReset, Rejection> {
    let first = *packet.first().ok_or(Rejection::Malformed)?;
    if first >> 3 != P_CONTROL_HARD_RESET_SERVER_V2 || first & 0x07 != 0 {
        // Refuse before parsing: other packet kinds have other layouts.
        return Err(if packet.len() < HEADER_LEN {
            Rejection::Malformed
        } else {
            Rejection::NotServerReset
        });
    }
    let opened = wrap.open(packet)?;
    let body = parse_body(&opened.body)?;
    if body.remote_session_id.as_ref() != Some(ours) || !body.acks.contains(&0) {
        return Err(Rejection::OtherSession);
    }
    if body.message_packet_id != 0 {
        return Err(Rejection::NotServerReset);
    }
    let auth = opened.auth.map_err(|()| Rejection::BadAuth)?;
    let mut session_id = [0u8; 8];
    session_id.copy_from_slice(&opened.header[1..HEADER_LEN]);
    Ok(ServerReset { session_id, auth })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: SessionId = [1, 2, 3, 4, 5, 6, 7, 8];
    const THEIRS: SessionId = [9, 9, 9, 9, 9, 9, 9, 9];

    fn server_reset_plain(byte0: u8, acks: &[u32], remote: &SessionId, mpid: u32) -> Vec<u8> {
        let mut p = vec![byte0];
        p.extend_from_slice(&THEIRS);
        p.push(acks.len() as u8);
        for a in acks {
            p.extend_from_slice(&a.to_be_bytes());
        }
        if !acks.is_empty() {
            p.extend_from_slice(remote);
        }
        p.extend_from_slice(&mpid.to_be_bytes());
        p
    }

    #[test]
    fn client_reset_layout_without_wrap() {
        let p = client_reset(
            &Wrap::None,
            OURS,
            Replay {
                packet_id: 1,
                net_time: 0,
            },
        );
        assert_eq!(p, [&[0x38u8][..], &OURS, &[0, 0, 0, 0, 0]].concat());
    }

    #[test]
    fn accepts_a_good_plain_answer() {
        let p = server_reset_plain(0x40, &[0], &OURS, 0);
        let r = validate_server_reset(&Wrap::None, &p, &OURS).unwrap();
        assert_eq!(r.session_id, THEIRS);
        assert_eq!(r.auth, Auth::None);
        // Extra acks and a payload are fine.
        let mut p = server_reset_plain(0x40, &[7, 0], &OURS, 0);
        p.extend_from_slice(b"tlv");
        assert!(validate_server_reset(&Wrap::None, &p, &OURS).is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        let v = |p: &[u8]| validate_server_reset(&Wrap::None, p, &OURS);
        assert_eq!(v(&[]), Err(Rejection::Malformed));
        assert_eq!(v(&[0x40]), Err(Rejection::Malformed));
        assert_eq!(
            v(&server_reset_plain(0x38, &[0], &OURS, 0)),
            Err(Rejection::NotServerReset)
        );
        assert_eq!(
            v(&server_reset_plain(0x41, &[0], &OURS, 0)),
            Err(Rejection::NotServerReset)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[0], &THEIRS, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[], &OURS, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[1], &OURS, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[0], &OURS, 1)),
            Err(Rejection::NotServerReset)
        );
        let good = server_reset_plain(0x40, &[0], &OURS, 0);
        for cut in 0..good.len() {
            assert!(v(&good[..cut]).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn body_with_many_acks() {
        let mut b = vec![3u8];
        for id in [5u32, 6, 7] {
            b.extend_from_slice(&id.to_be_bytes());
        }
        b.extend_from_slice(&OURS);
        b.extend_from_slice(&42u32.to_be_bytes());
        let body = parse_body(&b).unwrap();
        assert_eq!(body.acks, vec![5, 6, 7]);
        assert_eq!(body.remote_session_id, Some(OURS));
        assert_eq!(body.message_packet_id, 42);
        assert!(body.payload.is_empty());
    }
}
