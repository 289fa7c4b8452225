//! A tap tunnel's link layer: Ethernet II framing (IEEE 802.3), ARP (RFC 826) for IPv4
//! neighbours and IPv6 neighbour discovery (RFC 4861, solicitations and advertisements with
//! link-layer address options) — just enough for one host with one address per family to
//! ask for the target's MAC and to answer the server's questions about its own.

use super::icmp::checksum_v6;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

pub const BROADCAST: Mac = [0xff; 6];
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHER_HEADER: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_HEADER: usize = 40;
const PROTO_ICMPV6: u8 = 58;
const NS: u8 = 135;
const NA: u8 = 136;

/// A locally administered unicast MAC (RFC 7042 section 2.1) from six random bytes.
pub fn local_mac(random: [u8; 6]) -> Mac {
    let mut mac = random;
    mac[0] = (mac[0] & 0xfc) | 0x02;
    mac
}

/// Whether a frame to `dst` is for the host with `ours`: our MAC, broadcast, or a
/// multicast group (the host filters those by address).
pub fn for_us(dst: Mac, ours: Mac) -> bool {
    dst == ours || dst[0] & 1 == 1
}

/// An Ethernet II frame: destination, source, ethertype, payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub dst: Mac,
    pub src: Mac,
    pub ethertype: u16,
    pub payload: &'a [u8],
}

/// Splits an Ethernet II frame; `None` when shorter than its header. An 802.1Q tag or an
/// 802.3 length field is returned as the ethertype (nobody here speaks them).
pub fn parse_frame(frame: &[u8]) -> Option<Frame<'_>> {
    if frame.len() < ETHER_HEADER {
        return None;
    }
    let mut dst = [0u8; 6];
    dst.copy_from_slice(&frame[..6]);
    let mut src = [0u8; 6];
    src.copy_from_slice(&frame[6..12]);
    Some(Frame {
        dst,
        src,
        ethertype: u16::from_be_bytes([frame[12], frame[13]]),
        payload: &frame[ETHER_HEADER..],
    })
}

/// Appends an Ethernet II header to `out`.
pub fn push_header(out: &mut Vec<u8>, dst: Mac, src: Mac, ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// An ARP message for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1: request, 2: reply.
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

pub const ARP_REQUEST: u16 = 1;
pub const ARP_REPLY: u16 = 2;

impl Arp {
    /// Parses an ARP payload (Ethernet, IPv4); `None` for anything else.
    pub fn parse(p: &[u8]) -> Option<Arp> {
        if p.len() < ARP_LEN || p[..6] != [0, 1, 8, 0, 6, 4] {
            return None;
        }
        let mac = |at: usize| -> Mac {
            let mut m = [0u8; 6];
            m.copy_from_slice(&p[at..at + 6]);
            m
        };
        let ip = |at: usize| Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3]);
        Some(Arp {
            op: u16::from_be_bytes([p[6], p[7]]),
            sender_mac: mac(8),
            sender_ip: ip(14),
            target_mac: mac(18),
            target_ip: ip(24),
        })
    }

    /// Appends the whole frame: to broadcast for a request, to the asker for a reply.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let dst = if self.op == ARP_REQUEST {
            BROADCAST
        } else {
            self.target_mac
        };
        push_header(out, dst, self.sender_mac, ETHERTYPE_ARP);
        out.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
        out.extend_from_slice(&self.op.to_be_bytes());
        out.extend_from_slice(&self.sender_mac);
        out.extend_from_slice(&self.sender_ip.octets());
        out.extend_from_slice(&self.target_mac);
        out.extend_from_slice(&self.target_ip.octets());
    }
}

/// A neighbour solicitation or advertisement found in an IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// [`NS`] (135) or [`NA`] (136).
    pub kind: u8,
    pub source: Ipv6Addr,
    /// The address asked about or advertised.
    pub target: Ipv6Addr,
    /// The source (NS) or target (NA) link-layer address option, when present.
    pub mac: Option<Mac>,
}

impl Neighbour {
    pub fn is_solicitation(&self) -> bool {
        self.kind == NS
    }

    /// Parses an IPv6 packet as a neighbour solicitation or advertisement; `None` for any
    /// other packet, one whose hop limit is not 255 (RFC 4861 7.1.1: not from the link), or
    /// one whose checksum does not verify.
    pub fn parse(p: &[u8]) -> Option<Neighbour> {
        if p.len() < IPV6_HEADER || p[0] >> 4 != 6 || p[6] != PROTO_ICMPV6 || p[7] != 255 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([p[4], p[5]]));
        let icmp = p.get(IPV6_HEADER..IPV6_HEADER + len)?;
        if icmp.len() < 24 || !matches!(icmp[0], NS | NA) || icmp[1] != 0 {
            return None;
        }
        let addr = |s: &[u8]| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&s[..16]);
            Ipv6Addr::from(a)
        };
        let (source, destination) = (addr(&p[8..24]), addr(&p[24..40]));
        if checksum_v6(&source, &destination, icmp) != 0 {
            return None;
        }
        let wanted = if icmp[0] == NS { 1 } else { 2 };
        let mut mac = None;
        let mut options = &icmp[24..];
        while options.len() >= 8 {
            let olen = usize::from(options[1]) * 8;
            if olen == 0 || olen > options.len() {
                return None;
            }
            if options[0] == wanted && olen == 8 {
                let mut m = [0u8; 6];
                m.copy_from_slice(&options[2..8]);
                mac = Some(m);
            }
            options = &options[olen..];
        }
        Some(Neighbour {
            kind: icmp[0],
            source,
            target: addr(&icmp[8..24]),
            mac,
        })
    }
}

/// The solicited-node multicast address of `a` (RFC 4291 2.7.1) and its MAC (RFC 2464 7).
fn solicited_node(a: Ipv6Addr) -> (Ipv6Addr, Mac) {
    let o = a.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    );
    let g = group.octets();
    (group, [0x33, 0x33, g[12], g[13], g[14], g[15]])
}

/// Appends a whole frame with an ICMPv6 neighbour message from `source` to `destination`.
fn push_neighbour(
    out: &mut Vec<u8>,
    (dst_mac, ours): (Mac, Mac),
    (source, destination): (Ipv6Addr, Ipv6Addr),
    kind: u8,
    flags: u8,
    target: Ipv6Addr,
) {
    push_header(out, dst_mac, ours, ETHERTYPE_IPV6);
    let mut icmp = vec![kind, 0, 0, 0, flags, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    // Source (NS) or target (NA) link-layer address option.
    icmp.extend_from_slice(&[if kind == NS { 1 } else { 2 }, 1]);
    icmp.extend_from_slice(&ours);
    let sum = checksum_v6(&source, &destination, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    out.extend_from_slice(&[PROTO_ICMPV6, 255]);
    out.extend_from_slice(&source.octets());
    out.extend_from_slice(&destination.octets());
    out.extend_from_slice(&icmp);
}

/// One host on a tap tunnel: our MAC and addresses, the target's MAC once learned, and
/// how many of the server's questions we answered (bounded: a flood of requests never
/// makes a flood of answers).
#[derive(Debug, Clone)]
pub struct Host {
    pub mac: Mac,
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
    pub target: IpAddr,
    pub target_mac: Option<Mac>,
    pub answered: u16,
}

/// The most of the server's ARP requests and neighbour solicitations answered.
pub const MAX_ANSWERS: u16 = 32;

/// What a frame from the server was, for the host.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// An IP packet for us (the echo reply parse decides the rest).
    Ip(&'a [u8]),
    /// The target's MAC, learnt now for the first time.
    Learned,
    /// A question about our address, answered with this frame.
    Answer(Vec<u8>),
    /// Anything else: frames for other MACs, other ethertypes, ARP or neighbour messages
    /// about other addresses, gratuitous ARP, answers past the bound.
    Ignored,
}

impl Host {
    pub fn new(mac: Mac, source: IpAddr, target: IpAddr, v4: Option<Ipv4Addr>) -> Host {
        let (v4, v6) = match source {
            IpAddr::V4(a) => (Some(a), None),
            IpAddr::V6(a) => (v4, Some(a)),
        };
        Host {
            mac,
            v4,
            v6,
            target,
            target_mac: None,
            answered: 0,
        }
    }

    /// Wraps an IP packet of ours for the target (its MAC must be known).
    pub fn frame_ip(&self, packet: &[u8], out: &mut Vec<u8>) {
        let ethertype = if packet.first().is_some_and(|b| b >> 4 == 6) {
            ETHERTYPE_IPV6
        } else {
            ETHERTYPE_IPV4
        };
        push_header(
            out,
            self.target_mac.unwrap_or(BROADCAST),
            self.mac,
            ethertype,
        );
        out.extend_from_slice(packet);
    }

    /// Appends the question for the target's MAC: an ARP request, or a neighbour
    /// solicitation to its solicited-node group.
    pub fn solicit(&self, out: &mut Vec<u8>) {
        match self.target {
            IpAddr::V4(target) => Arp {
                op: ARP_REQUEST,
                sender_mac: self.mac,
                sender_ip: self.v4.unwrap_or(Ipv4Addr::UNSPECIFIED),
                target_mac: [0; 6],
                target_ip: target,
            }
            .encode(out),
            IpAddr::V6(target) => {
                let (group, group_mac) = solicited_node(target);
                let source = self.v6.unwrap_or(Ipv6Addr::UNSPECIFIED);
                push_neighbour(out, (group_mac, self.mac), (source, group), NS, 0, target);
            }
        }
    }

    /// Reads one frame from the server.
    pub fn receive<'a>(&mut self, frame: &'a [u8]) -> Received<'a> {
        let Some(f) = parse_frame(frame) else {
            return Received::Ignored;
        };
        if !for_us(f.dst, self.mac) || f.src == self.mac {
            return Received::Ignored;
        }
        match f.ethertype {
            ETHERTYPE_ARP => self.on_arp(f.payload),
            ETHERTYPE_IPV6 => match Neighbour::parse(f.payload) {
                Some(n) => self.on_neighbour(n, f.src),
                None => Received::Ip(f.payload),
            },
            ETHERTYPE_IPV4 => Received::Ip(f.payload),
            _ => Received::Ignored,
        }
    }

    fn on_arp(&mut self, payload: &[u8]) -> Received<'static> {
        let Some(arp) = Arp::parse(payload) else {
            return Received::Ignored;
        };
        let learned = self.learn(IpAddr::V4(arp.sender_ip), arp.sender_mac);
        match (arp.op, self.v4) {
            (ARP_REQUEST, Some(ours)) if arp.target_ip == ours && arp.sender_ip != ours => {
                if let Some(answer) = self.answer(|out, mac| {
                    Arp {
                        op: ARP_REPLY,
                        sender_mac: mac,
                        sender_ip: ours,
                        target_mac: arp.sender_mac,
                        target_ip: arp.sender_ip,
                    }
                    .encode(out)
                }) {
                    return answer;
                }
            }
            _ => {}
        }
        if learned {
            Received::Learned
        } else {
            Received::Ignored
        }
    }

    fn on_neighbour(&mut self, n: Neighbour, src: Mac) -> Received<'static> {
        if !n.is_solicitation() {
            // An advertisement: the target's MAC when it is about the target.
            let learned = n.mac.is_some_and(|m| self.learn(IpAddr::V6(n.target), m));
            return if learned {
                Received::Learned
            } else {
                Received::Ignored
            };
        }
        let learned = n.mac.is_some_and(|m| self.learn(IpAddr::V6(n.source), m));
        match self.v6 {
            // Duplicate address detection (from ::) is not answered with our address'
            // advertisement here: our address is the one the server gave us.
            Some(ours) if n.target == ours && !n.source.is_unspecified() => {
                let asker_mac = n.mac.unwrap_or(src);
                if let Some(answer) = self.answer(|out, mac| {
                    // Solicited and override (RFC 4861 4.4).
                    push_neighbour(out, (asker_mac, mac), (ours, n.source), NA, 0x60, ours)
                }) {
                    return answer;
                }
            }
            _ => {}
        }
        if learned {
            Received::Learned
        } else {
            Received::Ignored
        }
    }

    fn answer(&mut self, build: impl FnOnce(&mut Vec<u8>, Mac)) -> Option<Received<'static>> {
        if self.answered >= MAX_ANSWERS {
            return None;
        }
        self.answered += 1;
        let mut out = Vec::with_capacity(ETHER_HEADER + 64);
        build(&mut out, self.mac);
        Some(Received::Answer(out))
    }

    /// Takes `mac` as the target's when `ip` is the target and no MAC was known yet
    /// (the first answer wins; later ones, gratuitous or not, change nothing). Broadcast,
    /// multicast and all-zero MACs are never taken.
    fn learn(&mut self, ip: IpAddr, mac: Mac) -> bool {
        if ip != self.target || self.target_mac.is_some() || mac[0] & 1 == 1 || mac == [0; 6] {
            return false;
        }
        self.target_mac = Some(mac);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Mac = [0x02, 0, 0, 0, 0, 1];
    const SERVER: Mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    fn host4() -> Host {
        Host::new(
            OURS,
            "10.8.0.2".parse().unwrap(),
            "10.8.0.1".parse().unwrap(),
            None,
        )
    }

    fn host6() -> Host {
        Host::new(
            OURS,
            "fd00::1000".parse().unwrap(),
            "fd00::1".parse().unwrap(),
            Some("10.8.0.2".parse().unwrap()),
        )
    }

    #[test]
    fn local_mac_is_unicast_and_locally_administered() {
        for r in [[0u8; 6], [0xff; 6], [0x01, 2, 3, 4, 5, 6]] {
            let m = local_mac(r);
            assert_eq!(m[0] & 0x03, 0x02, "{m:02x?}");
            assert_eq!(m[1..], r[1..]);
        }
    }

    #[test]
    fn arp_request_is_rfc_826_byte_for_byte() {
        // Written out from RFC 826 field by field: broadcast, ethertype 0806, htype 1,
        // ptype 0800, hlen 6, plen 4, op 1, sender 02:00:00:00:00:01 10.8.0.2, target
        // 00:00:00:00:00:00 10.8.0.1.
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4,
            0, 1, 0x02, 0, 0, 0, 0, 1, 10, 8, 0, 2, 0, 0, 0, 0, 0, 0, 10, 8, 0, 1,
        ];
        let mut out = Vec::new();
        host4().solicit(&mut out);
        assert_eq!(out, expected);
    }

    #[test]
    fn arp_both_ways() {
        let mut h = host4();
        // The server asks for our MAC: answered, and the asker (the target) is learnt.
        let mut q = Vec::new();
        Arp {
            op: ARP_REQUEST,
            sender_mac: SERVER,
            sender_ip: "10.8.0.1".parse().unwrap(),
            target_mac: [0; 6],
            target_ip: "10.8.0.2".parse().unwrap(),
        }
        .encode(&mut q);
        let Received::Answer(a) = h.receive(&q) else {
            panic!("no answer");
        };
        let f = parse_frame(&a).unwrap();
        assert_eq!((f.dst, f.src, f.ethertype), (SERVER, OURS, ETHERTYPE_ARP));
        let arp = Arp::parse(f.payload).unwrap();
        assert_eq!(arp.op, ARP_REPLY);
        assert_eq!(arp.sender_ip, "10.8.0.2".parse::<Ipv4Addr>().unwrap());
        assert_eq!(arp.target_mac, SERVER);
        assert_eq!(h.target_mac, Some(SERVER));
    }

    #[test]
    fn arp_reply_teaches_the_target_once_and_gratuitous_arp_changes_nothing() {
        let mut h = host4();
        let reply = |mac: Mac, ip: &str| {
            let mut r = Vec::new();
            Arp {
                op: ARP_REPLY,
                sender_mac: mac,
                sender_ip: ip.parse().unwrap(),
                target_mac: OURS,
                target_ip: "10.8.0.2".parse().unwrap(),
            }
            .encode(&mut r);
            r
        };
        assert_eq!(h.receive(&reply(SERVER, "10.8.0.9")), Received::Ignored);
        assert_eq!(h.target_mac, None);
        assert_eq!(h.receive(&reply(BROADCAST, "10.8.0.1")), Received::Ignored);
        assert_eq!(h.receive(&reply(SERVER, "10.8.0.1")), Received::Learned);
        // Gratuitous ARP (sender = target = the target's address), broadcast.
        let mut g = Vec::new();
        Arp {
            op: ARP_REQUEST,
            sender_mac: [0x52, 0, 0, 0, 0, 9],
            sender_ip: "10.8.0.1".parse().unwrap(),
            target_mac: [0; 6],
            target_ip: "10.8.0.1".parse().unwrap(),
        }
        .encode(&mut g);
        assert_eq!(h.receive(&g), Received::Ignored);
        assert_eq!(h.target_mac, Some(SERVER));
    }

    #[test]
    fn arp_flood_is_answered_a_bounded_number_of_times() {
        let mut h = host4();
        let mut q = Vec::new();
        Arp {
            op: ARP_REQUEST,
            sender_mac: SERVER,
            sender_ip: "10.8.0.77".parse().unwrap(),
            target_mac: [0; 6],
            target_ip: "10.8.0.2".parse().unwrap(),
        }
        .encode(&mut q);
        let answers = (0..10_000)
            .filter(|_| matches!(h.receive(&q), Received::Answer(_)))
            .count();
        assert_eq!(answers, usize::from(MAX_ANSWERS));
        // Requests for other addresses are never answered.
        let mut h = host4();
        let mut other = q.clone();
        other[41] = 3; // target 10.8.0.3
        assert_eq!(h.receive(&other), Received::Ignored);
    }

    #[test]
    fn frames_for_other_macs_our_own_and_other_ethertypes_are_ignored() {
        let mut h = host4();
        let mut f = Vec::new();
        push_header(&mut f, [0x02, 9, 9, 9, 9, 9], SERVER, ETHERTYPE_IPV4);
        f.extend_from_slice(&[0x45; 20]);
        assert_eq!(h.receive(&f), Received::Ignored);
        f[..6].copy_from_slice(&OURS);
        assert!(matches!(h.receive(&f), Received::Ip(_)));
        f[6..12].copy_from_slice(&OURS);
        assert_eq!(h.receive(&f), Received::Ignored);
        let mut lldp = Vec::new();
        push_header(&mut lldp, [0x01, 0x80, 0xc2, 0, 0, 0x0e], SERVER, 0x88cc);
        lldp.extend_from_slice(&[0; 30]);
        assert_eq!(h.receive(&lldp), Received::Ignored);
        for cut in 0..f.len() {
            let _ = h.receive(&f[..cut]);
        }
    }

    #[test]
    fn neighbour_solicitation_matches_rfc_layout_and_is_answered() {
        let mut ns = Vec::new();
        let mut server = host6();
        server.mac = SERVER;
        server.v6 = Some("fd00::1".parse().unwrap());
        server.target = "fd00::1000".parse().unwrap();
        server.solicit(&mut ns);
        // To the solicited-node group ff02::1:ff00:1000 at 33:33:ff:00:10:00.
        assert_eq!(ns[..6], [0x33, 0x33, 0xff, 0x00, 0x10, 0x00]);
        assert_eq!(
            ns[14 + 24..14 + 40],
            "ff02::1:ff00:1000".parse::<Ipv6Addr>().unwrap().octets()
        );
        let mut h = host6();
        let Received::Answer(na) = h.receive(&ns) else {
            panic!("no advertisement");
        };
        assert_eq!(h.target_mac, Some(SERVER));
        let f = parse_frame(&na).unwrap();
        assert_eq!((f.dst, f.src), (SERVER, OURS));
        let n = Neighbour::parse(f.payload).unwrap();
        assert!(!n.is_solicitation());
        assert_eq!(n.target, "fd00::1000".parse::<Ipv6Addr>().unwrap());
        assert_eq!(n.mac, Some(OURS));
        assert_eq!(f.payload[40 + 4], 0x60);
        // The server's own parse (as the server host) learns our MAC from it.
        server.target_mac = None;
        server.target = "fd00::1000".parse().unwrap();
        assert_eq!(server.receive(&na), Received::Learned);
        assert_eq!(server.target_mac, Some(OURS));
    }

    #[test]
    fn neighbour_messages_damaged_or_off_link_are_not_read() {
        let mut ns = Vec::new();
        let mut server = host6();
        server.mac = SERVER;
        server.v6 = Some("fd00::1".parse().unwrap());
        server.target = "fd00::1000".parse().unwrap();
        server.solicit(&mut ns);
        let mut off_link = ns.clone();
        off_link[14 + 7] = 64; // hop limit
        let mut h = host6();
        assert!(matches!(h.receive(&off_link), Received::Ip(_)));
        let mut bad_sum = ns.clone();
        bad_sum[14 + 40 + 8] ^= 1;
        assert!(matches!(h.receive(&bad_sum), Received::Ip(_)));
        for cut in 0..ns.len() {
            let _ = h.receive(&ns[..cut]);
        }
        assert_eq!(h.answered, 0);
    }
}
