//! One control packet, unwrapped: a typed view over the bytes a [`Wrap`] opened, and the
//! encoder for the packets a client sends after its hard reset.
//!
//! The view checks every length once, then only hands out borrowed fields, as boringtun's
//! packet types do: nothing here allocates for a received packet but the ack list, which
//! OpenVPN caps at [`MAX_ACKS`].

use crate::wire::{self, Rejection, Replay, SessionId, Wrap, HEADER_LEN};

/// OpenVPN refuses an ack block with more entries (`RELIABLE_ACK_SIZE`).
pub const MAX_ACKS: usize = 8;
/// Acks OpenVPN piggybacks on a packet that carries a message (`CONTROL_SEND_ACK_MAX`).
pub const MAX_PIGGYBACK_ACKS: usize = 4;

/// `P_CONTROL_SOFT_RESET_V1`: a renegotiation request, not for a short session.
pub const P_CONTROL_SOFT_RESET_V1: u8 = 3;
pub const P_DATA_V1: u8 = 6;
pub const P_DATA_V2: u8 = 9;
/// `P_CONTROL_V1` with the tls-crypt-v2 wrapped key appended.
pub const P_CONTROL_WKC_V1: u8 = 11;

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
            wire::P_ACK_V1 => false,
            wire::P_CONTROL_V1
            | wire::P_CONTROL_HARD_RESET_CLIENT_V2
            | wire::P_CONTROL_HARD_RESET_SERVER_V2
            | wire::P_CONTROL_HARD_RESET_CLIENT_V3
            | P_CONTROL_SOFT_RESET_V1
            | P_CONTROL_WKC_V1 => true,
            _ => return Err(Rejection::NotServerReset),
        };
        let mut session_id = [0u8; 8];
        session_id.copy_from_slice(&header[1..]);
        let ((acks, remote_session_id), rest) = wire::parse_ack_block(body, MAX_ACKS)?;
        let (message_id, payload) = if has_message_id {
            let (id, tail) = wire::split_u32(rest)?;
            (Some(id), tail)
        } else {
            if opcode == wire::P_ACK_V1 && acks.is_empty() {
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

/// Wraps one outgoing packet. `with_wkc` appends tls-crypt-v2's wrapped key
/// (`P_CONTROL_WKC_V1`).
pub fn seal(
    wrap: &Wrap,
    opcode: u8,
    session_id: SessionId,
    replay: Replay,
    body: &[u8],
    with_wkc: bool,
) -> Vec<u8> {
    let mut header = [0u8; HEADER_LEN];
    header[0] = wire::byte0(opcode, 0);
    header[1..].copy_from_slice(&session_id);
    wrap.seal_packet(header, replay, body, with_wkc)
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
            wire::P_CONTROL_V1,
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
        assert_eq!(view.opcode, wire::P_CONTROL_V1);
        assert_eq!(view.acks, vec![0]);
        assert_eq!(view.remote_session_id, Some(S));
        assert_eq!(view.message_id, Some(1));
        assert_eq!(view.payload, b"hello");
    }

    #[test]
    fn ack_packets_have_no_message_id() {
        let body = encode_body(&[3, 4], &S, None, &[]);
        let mut header = vec![wire::byte0(wire::P_ACK_V1, 0)];
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
        let mut header = vec![wire::byte0(wire::P_CONTROL_V1, 0)];
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
        let mut data = vec![wire::byte0(P_DATA_V2, 0)];
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
}
