//! ICMP echo over the tunnel: IPv4 echo requests (RFC 792) and ICMPv6 echo requests
//! (RFC 4443, checksum over the RFC 8200 pseudo-header), and the parse of their replies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const ICMP_HEADER: usize = 8;
const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;
const TTL: u8 = 64;

/// An echo request to build.
#[derive(Debug, Clone, Copy)]
pub struct EchoRequest<'a> {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub identifier: u16,
    pub sequence: u16,
    pub payload: &'a [u8],
}

/// An echo reply found in a tunnel packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply<'a> {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub identifier: u16,
    pub sequence: u16,
    pub payload: &'a [u8],
}

/// Why a tunnel packet is not an echo reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEchoReply {
    /// Shorter than its headers or its own length field says.
    Truncated,
    /// The version nibble is neither 4 nor 6.
    NotIp { version: u8 },
    /// An IPv4 fragment (only whole packets are parsed).
    Fragment,
    /// Another protocol (IPv4 protocol or IPv6 next header).
    NotIcmp { protocol: u8 },
    /// An ICMP message of another type, e.g. destination unreachable.
    OtherIcmp { kind: u8, code: u8 },
    /// The IPv4 header or ICMP checksum does not verify.
    BadChecksum,
    /// The request was a different IP version than the address family, or the addresses
    /// are of different families.
    MixedFamilies,
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts` (each of even
/// length except possibly the last).
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl EchoRequest<'_> {
    /// Appends the whole IP packet to `out`. IPv4: DF set, TTL 64, IP id = sequence.
    /// IPv6: hop limit 64, flow label 0.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), NotEchoReply> {
        let icmp_len = ICMP_HEADER + self.payload.len();
        match (self.source, self.destination) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let total =
                    u16::try_from(IPV4_HEADER + icmp_len).map_err(|_| NotEchoReply::Truncated)?;
                let at = out.len();
                out.extend_from_slice(&[0x45, 0]);
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(&self.sequence.to_be_bytes());
                out.extend_from_slice(&[0x40, 0, TTL, PROTO_ICMP, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                let sum = internet_checksum(&[&out[at..at + IPV4_HEADER]]);
                out[at + 10..at + 12].copy_from_slice(&sum.to_be_bytes());
                self.icmp(8, out, |icmp| internet_checksum(&[icmp]));
                Ok(())
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let len = u16::try_from(icmp_len).map_err(|_| NotEchoReply::Truncated)?;
                out.extend_from_slice(&[0x60, 0, 0, 0]);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&[PROTO_ICMPV6, TTL]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                self.icmp(128, out, |icmp| checksum_v6(&src, &dst, icmp));
                Ok(())
            }
            _ => Err(NotEchoReply::MixedFamilies),
        }
    }

    fn icmp(&self, kind: u8, out: &mut Vec<u8>, sum: impl Fn(&[u8]) -> u16) {
        let at = out.len();
        out.extend_from_slice(&[kind, 0, 0, 0]);
        out.extend_from_slice(&self.identifier.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(self.payload);
        let s = sum(&out[at..]);
        out[at + 2..at + 4].copy_from_slice(&s.to_be_bytes());
    }
}

/// The ICMPv6 checksum over the RFC 8200 pseudo-header and `icmp`.
pub(crate) fn checksum_v6(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
    let len = (icmp.len() as u32).to_be_bytes();
    internet_checksum(&[
        &src.octets(),
        &dst.octets(),
        &len,
        &[0, 0, 0, PROTO_ICMPV6],
        icmp,
    ])
}

/// Parses `packet` (a whole IP packet from the tunnel) as an echo reply.
pub fn parse_echo_reply(packet: &[u8]) -> Result<EchoReply<'_>, NotEchoReply> {
    let first = *packet.first().ok_or(NotEchoReply::Truncated)?;
    match first >> 4 {
        4 => parse_v4(packet),
        6 => parse_v6(packet),
        version => Err(NotEchoReply::NotIp { version }),
    }
}

fn parse_v4(p: &[u8]) -> Result<EchoReply<'_>, NotEchoReply> {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < IPV4_HEADER || p.len() < ihl {
        return Err(NotEchoReply::Truncated);
    }
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if total < ihl || p.len() < total {
        return Err(NotEchoReply::Truncated);
    }
    if internet_checksum(&[&p[..ihl]]) != 0 {
        return Err(NotEchoReply::BadChecksum);
    }
    let flags_frag = u16::from_be_bytes([p[6], p[7]]);
    if flags_frag & 0x3fff != 0 {
        return Err(NotEchoReply::Fragment);
    }
    if p[9] != PROTO_ICMP {
        return Err(NotEchoReply::NotIcmp { protocol: p[9] });
    }
    let icmp = &p[ihl..total];
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    if icmp.len() < ICMP_HEADER {
        return Err(NotEchoReply::Truncated);
    }
    if internet_checksum(&[icmp]) != 0 {
        return Err(NotEchoReply::BadChecksum);
    }
    echo(icmp, 0, src.into(), dst.into())
}

fn parse_v6(p: &[u8]) -> Result<EchoReply<'_>, NotEchoReply> {
    if p.len() < IPV6_HEADER {
        return Err(NotEchoReply::Truncated);
    }
    let len = usize::from(u16::from_be_bytes([p[4], p[5]]));
    if p.len() < IPV6_HEADER + len {
        return Err(NotEchoReply::Truncated);
    }
    if p[6] != PROTO_ICMPV6 {
        return Err(NotEchoReply::NotIcmp { protocol: p[6] });
    }
    let mut s = [0u8; 16];
    s.copy_from_slice(&p[8..24]);
    let mut d = [0u8; 16];
    d.copy_from_slice(&p[24..40]);
    let (src, dst) = (Ipv6Addr::from(s), Ipv6Addr::from(d));
    let icmp = &p[IPV6_HEADER..IPV6_HEADER + len];
    if icmp.len() < ICMP_HEADER {
        return Err(NotEchoReply::Truncated);
    }
    if checksum_v6(&src, &dst, icmp) != 0 {
        return Err(NotEchoReply::BadChecksum);
    }
    echo(icmp, 129, src.into(), dst.into())
}

fn echo(
    icmp: &[u8],
    reply: u8,
    source: IpAddr,
    destination: IpAddr,
) -> Result<EchoReply<'_>, NotEchoReply> {
    if icmp[0] != reply || icmp[1] != 0 {
        return Err(NotEchoReply::OtherIcmp {
            kind: icmp[0],
            code: icmp[1],
        });
    }
    Ok(EchoReply {
        source,
        destination,
        identifier: u16::from_be_bytes([icmp[4], icmp[5]]),
        sequence: u16::from_be_bytes([icmp[6], icmp[7]]),
        payload: &icmp[ICMP_HEADER..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            internet_checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            !0xddf2
        );
    }

    #[test]
    fn own_request_is_not_a_reply_and_damage_is_seen() {
        let req = EchoRequest {
            source: Ipv4Addr::new(10, 8, 0, 2).into(),
            destination: Ipv4Addr::new(10, 8, 0, 1).into(),
            identifier: 7,
            sequence: 1,
            payload: b"abc",
        };
        let mut p = Vec::new();
        req.encode(&mut p).unwrap();
        assert_eq!(
            parse_echo_reply(&p),
            Err(NotEchoReply::OtherIcmp { kind: 8, code: 0 })
        );
        let mut bad = p.clone();
        bad[8] ^= 1; // TTL: header checksum
        assert_eq!(parse_echo_reply(&bad), Err(NotEchoReply::BadChecksum));
        for cut in 0..p.len() {
            assert!(parse_echo_reply(&p[..cut]).is_err());
        }
        let mixed = EchoRequest {
            destination: Ipv6Addr::LOCALHOST.into(),
            ..req
        };
        assert_eq!(mixed.encode(&mut p), Err(NotEchoReply::MixedFamilies));
    }
}
