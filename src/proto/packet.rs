//! One control packet, unwrapped: the one parser of every packet the session reads (the
//! server's reset included) and the one sealer of every packet it sends.
//!
//! A control packet's body is `ack_count | ack_ids[4n] | remote_session_id[8] (if n > 0) |
//! message_packet_id[4] (not in P_ACK_V1) | payload`. The view checks every length once,
//! then only hands out borrowed fields, as boringtun's packet types do: nothing here
//! allocates for a received packet but the ack list, which OpenVPN caps at [`MAX_ACKS`].

use crate::wire::{
    self, Auth, Rejection, Replay, SessionId, Wrap, HEADER_LEN, P_ACK_V1,
    P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_HARD_RESET_CLIENT_V3, P_CONTROL_HARD_RESET_SERVER_V2,
    P_CONTROL_SOFT_RESET_V1, P_CONTROL_V1, P_CONTROL_WKC_V1,
};

/// OpenVPN refuses an ack block with more entries: `reliable_ack_parse` (reliable.c) fails
/// once the count passes `RELIABLE_ACK_SIZE` (reliable.h), whichever stage it is in.
pub const MAX_ACKS: usize = 8;
/// Acks OpenVPN piggybacks on a packet that carries a message (`CONTROL_SEND_ACK_MAX`).
pub const MAX_PIGGYBACK_ACKS: usize = 4;

/// A control packet after its wrap came off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket<'a> {
    pub opcode: u8,
    pub key_id: u8,
    /// The sender's session id.
    pub session_id: SessionId,
    /// Message ids the sender acknowledges.
    pub acks: Vec<u32>,
    /// With acks: the session id of the side being acknowledged (ours).
    pub remote_session_id: Option<SessionId>,
    /// The reliable layer's message id; `None` for `P_ACK_V1`, which has none.
    pub message_id: Option<u32>,
    /// TLS bytes, or a reset's early-negotiation TLVs.
    pub payload: &'a [u8],
}

impl<'a> ControlPacket<'a> {
    /// Parses the header (`byte0 | session_id`) and clear body of an opened packet.
    /// Data-channel packets have no such layout and are refused as
    /// [`Rejection::NotServerReset`] (the "not ours to read" reason).
    pub fn parse(header: &[u8], body: &'a [u8]) -> Result<Self, Rejection> {
        if header.len() != HEADER_LEN {
            return Err(Rejection::Malformed);
        }
        let opcode = header[0] >> 3;
        let key_id = header[0] & 0x07;
        let has_message_id = match opcode {
            P_ACK_V1 => false,
            P_CONTROL_V1
            | P_CONTROL_HARD_RESET_CLIENT_V2
            | P_CONTROL_HARD_RESET_SERVER_V2
            | P_CONTROL_HARD_RESET_CLIENT_V3
            | P_CONTROL_SOFT_RESET_V1
            | P_CONTROL_WKC_V1 => true,
            _ => return Err(Rejection::NotServerReset),
        };
        let mut session_id = [0u8; 8];
        session_id.copy_from_slice(&header[1..]);
        let ((acks, remote_session_id), rest) = parse_ack_block(body)?;
        let (message_id, payload) = if has_message_id {
            let (id, tail) = split_u32(rest)?;
            (Some(id), tail)
        } else {
            if opcode == P_ACK_V1 && acks.is_empty() {
                return Err(Rejection::Malformed);
            }
            (None, rest)
        };
        Ok(ControlPacket {
            opcode,
            key_id,
            session_id,
            acks,
            remote_session_id,
            message_id,
            payload,
        })
    }
}

/// An ack block: the acknowledged message ids, and the session id they acknowledge.
type AckBlock = (Vec<u32>, Option<SessionId>);

/// The ack block at the start of a body: `ack_count | ack_ids | remote_sid (if any)`, and
/// the rest. Every length is checked before it is used.
fn parse_ack_block(body: &[u8]) -> Result<(AckBlock, &[u8]), Rejection> {
    let (&count, mut rest) = body.split_first().ok_or(Rejection::Malformed)?;
    if count as usize > MAX_ACKS {
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

fn split_u32(bytes: &[u8]) -> Result<(u32, &[u8]), Rejection> {
    let (head, tail) = bytes.split_first_chunk::<4>().ok_or(Rejection::Malformed)?;
    Ok((u32::from_be_bytes(*head), tail))
}

/// The body of an outgoing control packet: `ack_count | acks | remote_sid | [msg_id] |
/// payload`. `remote` is only written when there are acks, as OpenVPN reads it.
pub fn encode_body(
    acks: &[u32],
    remote: &SessionId,
    message_id: Option<u32>,
    payload: &[u8],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(1 + 4 * acks.len() + 8 + 4 + payload.len());
    body.push(acks.len() as u8);
    for id in acks {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if !acks.is_empty() {
        body.extend_from_slice(remote);
    }
    if let Some(id) = message_id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    body
}

/// Wraps one packet: `first` is its opcode and key id ([`wire::byte0`]), `session_id` the
/// sender's. `with_wkc` appends tls-crypt-v2's wrapped key (our V3 reset and
/// `P_CONTROL_WKC_V1`).
pub fn seal(
    wrap: &Wrap,
    first: u8,
    session_id: SessionId,
    replay: Replay,
    body: &[u8],
    with_wkc: bool,
) -> Vec<u8> {
    let mut header = [0u8; HEADER_LEN];
    header[0] = first;
    header[1..].copy_from_slice(&session_id);
    wrap.seal_packet(header, replay, body, with_wkc)
}

/// The body of a client's first packet: no acks, message packet id 0, no payload.
const CLIENT_RESET_BODY: [u8; 5] = [0, 0, 0, 0, 0];

/// Builds our first packet: `P_CONTROL_HARD_RESET_CLIENT_V2`, or `_V3` for tls-crypt-v2.
pub fn client_reset(wrap: &Wrap, session_id: SessionId, replay: Replay) -> Vec<u8> {
    let first = wire::byte0(wrap.reset_opcode(), 0);
    seal(wrap, first, session_id, replay, &CLIENT_RESET_BODY, true)
}

/// A valid `P_CONTROL_HARD_RESET_SERVER_V2` for our session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReset {
    pub session_id: SessionId,
    pub auth: Auth,
    /// tls-crypt-v2: the server answered statelessly and asks for our wrapped key again
    /// ([`EARLY_NEG_RESEND_WKC`]).
    pub resend_wkc: bool,
}

/// Checks that `packet` is the server's hard reset answering our session `ours`: opened
/// and authenticated once, and read by the same parser as every later packet.
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
    if first != wire::byte0(P_CONTROL_HARD_RESET_SERVER_V2, 0) {
        // Refuse before opening: other packet kinds have other layouts.
        return Err(if packet.len() < HEADER_LEN {
            Rejection::Malformed
        } else {
            Rejection::NotServerReset
        });
    }
    let opened = wrap.open(packet)?;
    let p = ControlPacket::parse(opened.header, &opened.body)?;
    if p.remote_session_id.as_ref() != Some(ours) || !p.acks.contains(&0) {
        return Err(Rejection::OtherSession);
    }
    if p.message_id != Some(0) {
        return Err(Rejection::NotServerReset);
    }
    let auth = opened.auth.map_err(|()| Rejection::BadAuth)?;
    let resend_wkc = wrap.wrapped_key().is_some()
        && early_negotiation_flags(p.payload) & EARLY_NEG_RESEND_WKC != 0;
    Ok(ServerReset {
        session_id: p.session_id,
        auth,
        resend_wkc,
    })
}

/// The body of a server's answer to `ours`: ack of our packet 0, its own packet 0.
#[cfg(any(test, feature = "testing"))]
pub fn server_reset_body(ours: &SessionId) -> Vec<u8> {
    encode_body(&[0], ours, Some(0), &[])
}

/// The early-negotiation flags of a server reset's payload: `type u16 | len u16 | value`
/// records, of which type 1 holds flags. Unknown types are skipped; a broken record ends
/// the parse (OpenVPN does the same and keeps what it read).
pub fn early_negotiation_flags(payload: &[u8]) -> u16 {
    let mut rest = payload;
    let mut flags = 0;
    while let (Some(t), Some(l)) = (rest.get(0..2), rest.get(2..4)) {
        let kind = u16::from_be_bytes([t[0], t[1]]);
        let len = u16::from_be_bytes([l[0], l[1]]) as usize;
        let Some(value) = rest.get(4..4 + len) else {
            break;
        };
        if kind == 1 && len == 2 {
            flags |= u16::from_be_bytes([value[0], value[1]]);
        }
        rest = &rest[4 + len..];
    }
    flags
}

/// Early-negotiation flag: the server answered statelessly and needs the wrapped client
/// key again on our next packet.
pub const EARLY_NEG_RESEND_WKC: u16 = 0x0001;

#[cfg(test)]
mod tests {
    use super::*;

    const C: SessionId = [1, 2, 3, 4, 5, 6, 7, 8];
    const S: SessionId = [9; 8];

    #[test]
    fn worked_example_from_the_protocol_notes() {
        // C→S 20 C 01 00000000 S 00000001 <payload>
        let body = encode_body(&[0], &S, Some(1), b"hello");
        let packet = seal(
            &Wrap::None,
            wire::byte0(P_CONTROL_V1, 0),
            C,
            Replay {
                packet_id: 1,
                net_time: 0,
            },
            &body,
            false,
        );
        let mut expected = vec![0x20];
        expected.extend_from_slice(&C);
        expected.extend_from_slice(&[1, 0, 0, 0, 0]);
        expected.extend_from_slice(&S);
        expected.extend_from_slice(&[0, 0, 0, 1]);
        expected.extend_from_slice(b"hello");
        assert_eq!(packet, expected);
        let view = ControlPacket::parse(&packet[..9], &packet[9..]).unwrap();
        assert_eq!(view.opcode, P_CONTROL_V1);
        assert_eq!(view.acks, vec![0]);
        assert_eq!(view.remote_session_id, Some(S));
        assert_eq!(view.message_id, Some(1));
        assert_eq!(view.payload, b"hello");
    }

    #[test]
    fn ack_packets_have_no_message_id() {
        let body = encode_body(&[3, 4], &S, None, &[]);
        let mut header = vec![wire::byte0(P_ACK_V1, 0)];
        header.extend_from_slice(&C);
        let view = ControlPacket::parse(&header, &body).unwrap();
        assert_eq!(view.message_id, None);
        assert_eq!(view.acks, vec![3, 4]);
        // An ack packet that acks nothing is malformed.
        assert_eq!(
            ControlPacket::parse(&header, &encode_body(&[], &S, None, &[])),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn refuses_bad_lengths_and_too_many_acks() {
        let mut header = vec![wire::byte0(P_CONTROL_V1, 0)];
        header.extend_from_slice(&C);
        let good = encode_body(&[1, 2], &S, Some(7), b"x");
        for cut in 0..good.len() - 1 {
            assert!(
                ControlPacket::parse(&header, &good[..cut]).is_err(),
                "{cut}"
            );
        }
        let nine: Vec<u32> = (0..9).collect();
        assert_eq!(
            ControlPacket::parse(&header, &encode_body(&nine, &S, Some(1), &[])),
            Err(Rejection::Malformed)
        );
        let mut data = vec![wire::byte0(wire::P_DATA_V2, 0)];
        data.extend_from_slice(&C);
        assert_eq!(
            ControlPacket::parse(&data, &good),
            Err(Rejection::NotServerReset)
        );
    }

    #[test]
    fn early_negotiation_tlvs() {
        assert_eq!(
            early_negotiation_flags(&[0, 1, 0, 2, 0, 1]),
            EARLY_NEG_RESEND_WKC
        );
        assert_eq!(early_negotiation_flags(&[]), 0);
        // An unknown record first, then the flags.
        assert_eq!(
            early_negotiation_flags(&[0, 9, 0, 1, 0xff, 0, 1, 0, 2, 0, 1]),
            1
        );
        // Truncated: nothing read.
        assert_eq!(early_negotiation_flags(&[0, 1, 0, 2, 0]), 0);
    }

    fn server_reset_plain(byte0: u8, acks: &[u32], remote: &SessionId, mpid: u32) -> Vec<u8> {
        let mut p = vec![byte0];
        p.extend_from_slice(&S);
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
            C,
            Replay {
                packet_id: 1,
                net_time: 0,
            },
        );
        assert_eq!(p, [&[0x38u8][..], &C, &[0, 0, 0, 0, 0]].concat());
    }

    #[test]
    fn accepts_a_good_plain_answer() {
        let p = server_reset_plain(0x40, &[0], &C, 0);
        let r = validate_server_reset(&Wrap::None, &p, &C).unwrap();
        assert_eq!(r.session_id, S);
        assert_eq!(r.auth, Auth::None);
        assert!(!r.resend_wkc);
        // Extra acks and a payload are fine.
        let mut p = server_reset_plain(0x40, &[7, 0], &C, 0);
        p.extend_from_slice(b"tlv");
        assert!(validate_server_reset(&Wrap::None, &p, &C).is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        let v = |p: &[u8]| validate_server_reset(&Wrap::None, p, &C);
        assert_eq!(v(&[]), Err(Rejection::Malformed));
        assert_eq!(v(&[0x40]), Err(Rejection::Malformed));
        assert_eq!(
            v(&server_reset_plain(0x38, &[0], &C, 0)),
            Err(Rejection::NotServerReset)
        );
        assert_eq!(
            v(&server_reset_plain(0x41, &[0], &C, 0)),
            Err(Rejection::NotServerReset)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[0], &S, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[], &C, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[1], &C, 0)),
            Err(Rejection::OtherSession)
        );
        assert_eq!(
            v(&server_reset_plain(0x40, &[0], &C, 1)),
            Err(Rejection::NotServerReset)
        );
        let good = server_reset_plain(0x40, &[0], &C, 0);
        for cut in 0..good.len() {
            assert!(v(&good[..cut]).is_err(), "truncated at {cut}");
        }
    }

    /// The reset stage reads acks as every later stage does, as OpenVPN does: eight at
    /// most (`RELIABLE_ACK_SIZE`), whatever the packet.
    #[test]
    fn a_reset_with_more_acks_than_openvpn_reads_is_malformed() {
        let eight: Vec<u32> = (0..8).collect();
        let p = server_reset_plain(0x40, &eight, &C, 0);
        assert!(validate_server_reset(&Wrap::None, &p, &C).is_ok());
        let nine: Vec<u32> = (0..9).collect();
        let p = server_reset_plain(0x40, &nine, &C, 0);
        assert_eq!(
            validate_server_reset(&Wrap::None, &p, &C),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn the_test_servers_reset_body_is_a_genuine_answer() {
        let body = server_reset_body(&C);
        let packet = seal(
            &Wrap::None,
            wire::byte0(P_CONTROL_HARD_RESET_SERVER_V2, 0),
            S,
            Replay {
                packet_id: 0,
                net_time: 0,
            },
            &body,
            false,
        );
        assert_eq!(packet, server_reset_plain(0x40, &[0], &C, 0));
    }
}
