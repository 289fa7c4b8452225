//! UDP over the tunnel (RFC 768): one datagram in an IPv4 or IPv6 packet, its checksum
//! over the pseudo-header, and the parse of the datagrams that come back.

use super::icmp::internet_checksum;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
const PROTO_UDP: u8 = 17;
const TTL: u8 = 64;

/// A datagram to build, or one found in a tunnel packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub source_port: u16,
    pub destination_port: u16,
    pub payload: &'a [u8],
}

/// Why a tunnel packet is no UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDatagram {
    /// Shorter than its headers or its own length fields say, or too long to build.
    Truncated,
    /// The version nibble is neither 4 nor 6.
    NotIp,
    /// An IPv4 fragment (only whole packets are parsed).
    Fragment,
    /// Another protocol.
    NotUdp,
    /// The IPv4 header or UDP checksum does not verify.
    BadChecksum,
    /// Source and destination of different families.
    MixedFamilies,
}

fn pseudo_sum(source: IpAddr, destination: IpAddr, udp: &[u8]) -> u16 {
    let len = udp.len() as u32;
    match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => internet_checksum(&[
            &s.octets(),
            &d.octets(),
            &[0, PROTO_UDP],
            &(len as u16).to_be_bytes(),
            udp,
        ]),
        (IpAddr::V6(s), IpAddr::V6(d)) => internet_checksum(&[
            &s.octets(),
            &d.octets(),
            &len.to_be_bytes(),
            &[0, 0, 0, PROTO_UDP],
            udp,
        ]),
        _ => 0,
    }
}

impl Datagram<'_> {
    /// Appends the whole IP packet to `out`. IPv4: DF set, TTL 64, IP id `ip_id`. IPv6:
    /// hop limit 64, flow label 0.
    pub fn encode(&self, ip_id: u16, out: &mut Vec<u8>) -> Result<(), NotDatagram> {
        let udp_len =
            u16::try_from(UDP_HEADER + self.payload.len()).map_err(|_| NotDatagram::Truncated)?;
        let mut udp = Vec::with_capacity(usize::from(udp_len));
        udp.extend_from_slice(&self.source_port.to_be_bytes());
        udp.extend_from_slice(&self.destination_port.to_be_bytes());
        udp.extend_from_slice(&udp_len.to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(self.payload);
        let sum = match pseudo_sum(self.source, self.destination, &udp) {
            // A computed 0 goes as all ones (0 means "no checksum" in IPv4).
            0 => 0xffff,
            s => s,
        };
        udp[6..8].copy_from_slice(&sum.to_be_bytes());
        match (self.source, self.destination) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let total =
                    u16::try_from(IPV4_HEADER + udp.len()).map_err(|_| NotDatagram::Truncated)?;
                let at = out.len();
                out.extend_from_slice(&[0x45, 0]);
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(&ip_id.to_be_bytes());
                out.extend_from_slice(&[0x40, 0, TTL, PROTO_UDP, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                let sum = internet_checksum(&[&out[at..at + IPV4_HEADER]]);
                out[at + 10..at + 12].copy_from_slice(&sum.to_be_bytes());
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                out.extend_from_slice(&[0x60, 0, 0, 0]);
                out.extend_from_slice(&udp_len.to_be_bytes());
                out.extend_from_slice(&[PROTO_UDP, TTL]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            _ => return Err(NotDatagram::MixedFamilies),
        }
        out.extend_from_slice(&udp);
        Ok(())
    }
}

/// Parses `packet` (a whole IP packet from the tunnel) as a UDP datagram.
pub fn parse_datagram(packet: &[u8]) -> Result<Datagram<'_>, NotDatagram> {
    let first = *packet.first().ok_or(NotDatagram::Truncated)?;
    let (source, destination, udp) = match first >> 4 {
        4 => {
            let p = packet;
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if ihl < IPV4_HEADER || p.len() < ihl {
                return Err(NotDatagram::Truncated);
            }
            let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
            if total < ihl || p.len() < total {
                return Err(NotDatagram::Truncated);
            }
            if internet_checksum(&[&p[..ihl]]) != 0 {
                return Err(NotDatagram::BadChecksum);
            }
            if u16::from_be_bytes([p[6], p[7]]) & 0x3fff != 0 {
                return Err(NotDatagram::Fragment);
            }
            if p[9] != PROTO_UDP {
                return Err(NotDatagram::NotUdp);
            }
            let s = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            let d = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            (IpAddr::V4(s), IpAddr::V4(d), &p[ihl..total])
        }
        6 => {
            let p = packet;
            if p.len() < IPV6_HEADER {
                return Err(NotDatagram::Truncated);
            }
            let len = usize::from(u16::from_be_bytes([p[4], p[5]]));
            if p.len() < IPV6_HEADER + len {
                return Err(NotDatagram::Truncated);
            }
            if p[6] != PROTO_UDP {
                return Err(NotDatagram::NotUdp);
            }
            let mut s = [0u8; 16];
            s.copy_from_slice(&p[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&p[24..40]);
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                &p[IPV6_HEADER..IPV6_HEADER + len],
            )
        }
        _ => return Err(NotDatagram::NotIp),
    };
    if udp.len() < UDP_HEADER {
        return Err(NotDatagram::Truncated);
    }
    let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if len < UDP_HEADER || len > udp.len() {
        return Err(NotDatagram::Truncated);
    }
    let udp = &udp[..len];
    let sum = u16::from_be_bytes([udp[6], udp[7]]);
    // IPv4 may leave the checksum out (0); IPv6 may not.
    if (sum != 0 || source.is_ipv6()) && pseudo_sum(source, destination, udp) != 0 {
        return Err(NotDatagram::BadChecksum);
    }
    Ok(Datagram {
        source,
        destination,
        source_port: u16::from_be_bytes([udp[0], udp[1]]),
        destination_port: u16::from_be_bytes([udp[2], udp[3]]),
        payload: &udp[UDP_HEADER..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_both_families() {
        for (s, d) in [("10.8.0.2", "10.8.0.1"), ("fd00::2", "fd00::1")] {
            let dg = Datagram {
                source: s.parse().unwrap(),
                destination: d.parse().unwrap(),
                source_port: 40000,
                destination_port: 53,
                payload: b"\x12\x34query",
            };
            let mut out = Vec::new();
            dg.encode(7, &mut out).unwrap();
            assert_eq!(parse_datagram(&out), Ok(dg));
            // One bit flipped in the payload: the checksum catches it.
            let last = out.len() - 1;
            out[last] ^= 1;
            assert_eq!(parse_datagram(&out), Err(NotDatagram::BadChecksum));
        }
    }

    #[test]
    fn what_is_not_a_datagram() {
        assert_eq!(parse_datagram(&[]), Err(NotDatagram::Truncated));
        assert_eq!(parse_datagram(&[0x10; 30]), Err(NotDatagram::NotIp));
        let mut out = Vec::new();
        Datagram {
            source: "10.0.0.1".parse().unwrap(),
            destination: "10.0.0.2".parse().unwrap(),
            source_port: 1,
            destination_port: 2,
            payload: b"x",
        }
        .encode(1, &mut out)
        .unwrap();
        assert_eq!(parse_datagram(&out[..25]), Err(NotDatagram::Truncated));
        let mut icmp = out.clone();
        icmp[9] = 1;
        let sum = internet_checksum(&[&icmp[..10], &[0, 0], &icmp[12..20]]);
        icmp[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_datagram(&icmp), Err(NotDatagram::NotUdp));
    }
}
