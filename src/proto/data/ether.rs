//! A tap tunnel's link layer: Ethernet II framing (IEEE 802.3), ARP (RFC 826) for IPv4
//! neighbours and IPv6 neighbour discovery (RFC 4861, solicitations and advertisements with
//! link-layer address options) — just enough for one host with one address per family to
//! ask for its few neighbours' MACs (queueing what waits for them) and to answer the
//! server's questions about its own.

use super::icmp::checksum_v6;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

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
pub struct NeighbourMessage {
    /// [`NS`] (135) or [`NA`] (136).
    pub kind: u8,
    pub source: Ipv6Addr,
    /// The address asked about or advertised.
    pub target: Ipv6Addr,
    /// The source (NS) or target (NA) link-layer address option, when present.
    pub mac: Option<Mac>,
}

impl NeighbourMessage {
    pub fn is_solicitation(&self) -> bool {
        self.kind == NS
    }

    /// Parses an IPv6 packet as a neighbour solicitation or advertisement; `None` for any
    /// other packet, one whose hop limit is not 255 (RFC 4861 7.1.1: not from the link), or
    /// one whose checksum does not verify.
    pub fn parse(p: &[u8]) -> Option<NeighbourMessage> {
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
        Some(NeighbourMessage {
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

/// The most neighbours one host keeps: the echo target, the DNS server, the TCP and HTTP
/// targets (a destination past the bound is never framed).
pub const MAX_NEIGHBOURS: usize = 8;

/// The most IP packets waiting for one neighbour's MAC; a full queue drops its oldest, as
/// Linux's unresolved queue does (TCP and DNS send again on their own).
pub const MAX_QUEUED: usize = 16;

/// The least time between two questions for one neighbour's MAC.
pub const RESOLICIT: Duration = Duration::from_millis(250);

/// The most of the server's ARP requests and neighbour solicitations answered.
pub const MAX_ANSWERS: u16 = 32;

/// One entry of the neighbour table: an address our packets go to (the next hop is the
/// destination itself: every target lies on the tunnel's link), its MAC once learnt.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub ip: IpAddr,
    pub mac: Option<Mac>,
    /// Questions for its MAC sent.
    pub asked: u16,
    last_asked: Option<Instant>,
    /// Something waits for its MAC (queued packets, or echoes not built yet).
    wanted: bool,
    /// IP packets waiting for its MAC, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// Packets dropped from its full queue.
    pub dropped: u32,
}

/// A neighbour's MAC, learnt since the last [`Host::take_learnt`], with the frames of the
/// packets that waited for it, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Learnt {
    pub ip: IpAddr,
    pub mac: Mac,
    pub frames: Vec<Vec<u8>>,
}

/// What became of an IP packet of ours.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// Framed to its next hop's MAC: send it.
    Frame(Vec<u8>),
    /// Queued until the next hop's MAC comes ([`Host::poll`] asks for it).
    Queued,
    /// No IP packet, or a destination past [`MAX_NEIGHBOURS`]: dropped.
    Dropped,
}

/// One host on a tap tunnel: our MAC and addresses, a small neighbour table for the
/// addresses our packets go to, and how many of the server's questions we answered
/// (bounded: a flood of requests never makes a flood of answers).
#[derive(Debug, Clone)]
pub struct Host {
    pub mac: Mac,
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
    neighbours: Vec<Neighbour>,
    /// Indexes of neighbours learnt and not yet taken.
    learnt: Vec<usize>,
    pub answered: u16,
}

/// What a frame from the server was, for the host.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// An IP packet for us (the data stage dispatches it as on tun).
    Ip(&'a [u8]),
    /// A neighbour's MAC, learnt now for the first time ([`Host::take_learnt`]).
    Learned,
    /// A question about our address, answered with this frame.
    Answer(Vec<u8>),
    /// Anything else: frames for other MACs, other ethertypes, ARP or neighbour messages
    /// about other addresses, gratuitous ARP, answers past the bound.
    Ignored,
}

/// The destination address of an IPv4 or IPv6 packet.
fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::from(d))
        }
        6 => {
            let d: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::from(d))
        }
        _ => None,
    }
}

/// An Ethernet frame around an IP packet.
fn frame_ip(dst: Mac, src: Mac, packet: &[u8]) -> Vec<u8> {
    let ethertype = if packet.first().is_some_and(|b| b >> 4 == 6) {
        ETHERTYPE_IPV6
    } else {
        ETHERTYPE_IPV4
    };
    let mut out = Vec::with_capacity(ETHER_HEADER + packet.len());
    push_header(&mut out, dst, src, ethertype);
    out.extend_from_slice(packet);
    out
}

impl Host {
    /// Our end: `mac`, and our tunnel addresses (the pushed `ifconfig` and
    /// `ifconfig-ipv6`), the ones we answer for.
    pub fn new(mac: Mac, v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) -> Host {
        Host {
            mac,
            v4,
            v6,
            neighbours: Vec::new(),
            learnt: Vec::new(),
            answered: 0,
        }
    }

    /// The entry for `ip`, added if new and there is room.
    fn entry(&mut self, ip: IpAddr) -> Option<&mut Neighbour> {
        let i = match self.neighbours.iter().position(|n| n.ip == ip) {
            Some(i) => i,
            None if self.neighbours.len() < MAX_NEIGHBOURS => {
                self.neighbours.push(Neighbour {
                    ip,
                    mac: None,
                    asked: 0,
                    last_asked: None,
                    wanted: false,
                    queue: VecDeque::new(),
                    dropped: 0,
                });
                self.neighbours.len() - 1
            }
            None => return None,
        };
        self.neighbours.get_mut(i)
    }

    /// The entry for `ip`, if there is one.
    pub fn neighbour(&self, ip: IpAddr) -> Option<&Neighbour> {
        self.neighbours.iter().find(|n| n.ip == ip)
    }

    /// `ip`'s MAC, once learnt.
    pub fn mac_of(&self, ip: IpAddr) -> Option<Mac> {
        self.neighbour(ip).and_then(|n| n.mac)
    }

    /// Something will go to `ip`: ask for its MAC (at the next [`Host::poll`]) unless known.
    pub fn want(&mut self, ip: IpAddr) {
        if let Some(n) = self.entry(ip).filter(|n| n.mac.is_none()) {
            n.wanted = true;
        }
    }

    /// An IP packet of ours: framed to the MAC of its first hop (`hop` of its destination:
    /// the destination on the link, else a gateway) when known, else queued (bounded)
    /// until it is.
    pub fn send_ip(&mut self, packet: &[u8], hop: impl Fn(IpAddr) -> IpAddr) -> Out {
        let ours = self.mac;
        let Some(n) = destination(packet).and_then(|ip| self.entry(hop(ip))) else {
            return Out::Dropped;
        };
        if let Some(mac) = n.mac {
            return Out::Frame(frame_ip(mac, ours, packet));
        }
        n.wanted = true;
        if n.queue.len() >= MAX_QUEUED {
            n.queue.pop_front();
            n.dropped = n.dropped.saturating_add(1);
        }
        n.queue.push_back(packet.to_vec());
        Out::Queued
    }

    /// The questions due now: for each neighbour something waits for and whose MAC is
    /// unknown, one ARP request or neighbour solicitation, at most one per [`RESOLICIT`].
    pub fn poll(&mut self, now: Instant, out: &mut Vec<(IpAddr, Vec<u8>)>) {
        let (ours, v4, v6) = (self.mac, self.v4, self.v6);
        for n in self.neighbours.iter_mut() {
            let due = n.last_asked.is_none_or(|t| now >= t + RESOLICIT);
            if !n.wanted || n.mac.is_some() || !due {
                continue;
            }
            n.last_asked = Some(now);
            n.asked = n.asked.saturating_add(1);
            let mut frame = Vec::with_capacity(90);
            solicit(ours, (v4, v6), n.ip, &mut frame);
            out.push((n.ip, frame));
        }
    }

    /// When [`Host::poll`] next has a question to send.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.neighbours
            .iter()
            .filter(|n| n.wanted && n.mac.is_none())
            .map(|n| n.last_asked.map_or(now, |t| t + RESOLICIT))
            .min()
    }

    /// The neighbours learnt since the last call, with the frames that waited for them.
    pub fn take_learnt(&mut self) -> Vec<Learnt> {
        let ours = self.mac;
        let mut out = Vec::new();
        for i in std::mem::take(&mut self.learnt) {
            let n = &mut self.neighbours[i];
            let Some(mac) = n.mac else { continue };
            n.wanted = false;
            let frames = n.queue.drain(..).map(|p| frame_ip(mac, ours, &p)).collect();
            out.push(Learnt {
                ip: n.ip,
                mac,
                frames,
            });
        }
        out
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
            ETHERTYPE_IPV6 => match NeighbourMessage::parse(f.payload) {
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

    fn on_neighbour(&mut self, n: NeighbourMessage, src: Mac) -> Received<'static> {
        if !n.is_solicitation() {
            // An advertisement: a neighbour's MAC when it is about one of ours.
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

    /// Takes `mac` as `ip`'s when `ip` is in the table and no MAC was known yet (the
    /// first answer wins; later ones, gratuitous or not, change nothing). Broadcast,
    /// multicast and all-zero MACs are never taken; addresses outside the table are
    /// never added by what the server sends.
    fn learn(&mut self, ip: IpAddr, mac: Mac) -> bool {
        if mac[0] & 1 == 1 || mac == [0; 6] {
            return false;
        }
        let Some(i) = self
            .neighbours
            .iter()
            .position(|n| n.ip == ip && n.mac.is_none())
        else {
            return false;
        };
        self.neighbours[i].mac = Some(mac);
        self.learnt.push(i);
        true
    }
}

/// Appends the question for `target`'s MAC: an ARP request, or a neighbour solicitation
/// to its solicited-node group.
fn solicit(
    ours: Mac,
    (v4, v6): (Option<Ipv4Addr>, Option<Ipv6Addr>),
    target: IpAddr,
    out: &mut Vec<u8>,
) {
    match target {
        IpAddr::V4(target) => Arp {
            op: ARP_REQUEST,
            sender_mac: ours,
            sender_ip: v4.unwrap_or(Ipv4Addr::UNSPECIFIED),
            target_mac: [0; 6],
            target_ip: target,
        }
        .encode(out),
        IpAddr::V6(target) => {
            let (group, group_mac) = solicited_node(target);
            let source = v6.unwrap_or(Ipv6Addr::UNSPECIFIED);
            push_neighbour(out, (group_mac, ours), (source, group), NS, 0, target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Mac = [0x02, 0, 0, 0, 0, 1];
    const SERVER: Mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Ours at 10.8.0.2, the server (10.8.0.1) in the table.
    fn host4() -> Host {
        let mut h = Host::new(OURS, Some("10.8.0.2".parse().unwrap()), None);
        h.want(ip("10.8.0.1"));
        h
    }

    /// Ours at 10.8.0.2 and fd00::1000, the server (fd00::1) in the table.
    fn host6() -> Host {
        let mut h = Host::new(
            OURS,
            Some("10.8.0.2".parse().unwrap()),
            Some("fd00::1000".parse().unwrap()),
        );
        h.want(ip("fd00::1"));
        h
    }

    /// The questions `h` has due at `now`.
    fn asks(h: &mut Host, now: Instant) -> Vec<(IpAddr, Vec<u8>)> {
        let mut out = Vec::new();
        h.poll(now, &mut out);
        out
    }

    /// A minimal IPv4 packet (header only) from 10.8.0.2 to `dst`, `tag` in its id.
    fn packet4(dst: [u8; 4], tag: u8) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 20, 0, tag, 0, 0, 64, 17, 0, 0, 10, 8, 0, 2];
        p.extend_from_slice(&dst);
        p
    }

    fn arp_reply(mac: Mac, sender: &str) -> Vec<u8> {
        let mut r = Vec::new();
        Arp {
            op: ARP_REPLY,
            sender_mac: mac,
            sender_ip: sender.parse().unwrap(),
            target_mac: OURS,
            target_ip: "10.8.0.2".parse().unwrap(),
        }
        .encode(&mut r);
        r
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
        let out = asks(&mut host4(), Instant::now());
        assert_eq!(out, vec![(ip("10.8.0.1"), expected.to_vec())]);
    }

    #[test]
    fn arp_both_ways() {
        let mut h = host4();
        // The server asks for our MAC: answered, and the asker (in the table) is learnt.
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
        assert_eq!(h.mac_of(ip("10.8.0.1")), Some(SERVER));
        assert_eq!(
            h.take_learnt(),
            vec![Learnt {
                ip: ip("10.8.0.1"),
                mac: SERVER,
                frames: Vec::new()
            }]
        );
        assert!(h.take_learnt().is_empty());
    }

    #[test]
    fn arp_reply_teaches_a_neighbour_once_and_gratuitous_arp_changes_nothing() {
        let mut h = host4();
        // 10.8.0.9 is no neighbour of ours: never added by what the server sends.
        assert_eq!(h.receive(&arp_reply(SERVER, "10.8.0.9")), Received::Ignored);
        assert!(h.neighbour(ip("10.8.0.9")).is_none());
        assert_eq!(h.mac_of(ip("10.8.0.1")), None);
        assert_eq!(
            h.receive(&arp_reply(BROADCAST, "10.8.0.1")),
            Received::Ignored
        );
        assert_eq!(h.receive(&arp_reply(SERVER, "10.8.0.1")), Received::Learned);
        // Gratuitous ARP (sender = target = the neighbour's address), broadcast.
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
        assert_eq!(h.mac_of(ip("10.8.0.1")), Some(SERVER));
        assert_eq!(h.take_learnt().len(), 1);
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

    /// A solicitation from the server (as a host of its own, fd00::1) for fd00::1000.
    fn server_ns() -> (Host, Vec<u8>) {
        let mut server = Host::new(SERVER, None, Some("fd00::1".parse().unwrap()));
        server.want(ip("fd00::1000"));
        let mut out = asks(&mut server, Instant::now());
        assert_eq!(out.len(), 1);
        (server, out.remove(0).1)
    }

    #[test]
    fn neighbour_solicitation_matches_rfc_layout_and_is_answered() {
        let (mut server, ns) = server_ns();
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
        assert_eq!(h.mac_of(ip("fd00::1")), Some(SERVER));
        let f = parse_frame(&na).unwrap();
        assert_eq!((f.dst, f.src), (SERVER, OURS));
        let n = NeighbourMessage::parse(f.payload).unwrap();
        assert!(!n.is_solicitation());
        assert_eq!(n.target, "fd00::1000".parse::<Ipv6Addr>().unwrap());
        assert_eq!(n.mac, Some(OURS));
        assert_eq!(f.payload[40 + 4], 0x60);
        // The server's own parse (as the server host) learns our MAC from it.
        assert_eq!(server.receive(&na), Received::Learned);
        assert_eq!(server.mac_of(ip("fd00::1000")), Some(OURS));
    }

    #[test]
    fn neighbour_messages_damaged_or_off_link_are_not_read() {
        let (_, ns) = server_ns();
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
        assert_eq!(h.mac_of(ip("fd00::1")), None);
    }

    #[test]
    fn several_neighbours_each_asked_and_each_queue_sent_in_order_once_learnt() {
        let t0 = Instant::now();
        let mut h = Host::new(OURS, Some("10.8.0.2".parse().unwrap()), None);
        let (a, b) = ([10, 8, 0, 1], [10, 8, 0, 53]);
        assert_eq!(h.send_ip(&packet4(a, 1), |d| d), Out::Queued);
        assert_eq!(h.send_ip(&packet4(b, 2), |d| d), Out::Queued);
        assert_eq!(h.send_ip(&packet4(a, 3), |d| d), Out::Queued);
        // One question each, then nothing until RESOLICIT has passed.
        let out = asks(&mut h, t0);
        let asked: Vec<IpAddr> = out.iter().map(|(ip, _)| *ip).collect();
        assert_eq!(asked, vec![ip("10.8.0.1"), ip("10.8.0.53")]);
        for (target, frame) in &out {
            let arp = Arp::parse(parse_frame(frame).unwrap().payload).unwrap();
            assert_eq!((arp.op, IpAddr::V4(arp.target_ip)), (ARP_REQUEST, *target));
        }
        assert!(asks(&mut h, t0 + RESOLICIT / 2).is_empty());
        // b answers: its one packet goes, framed to its MAC; a's two still wait.
        let b_mac = [0x52, 0, 0, 0, 0, 0x53];
        assert_eq!(h.receive(&arp_reply(b_mac, "10.8.0.53")), Received::Learned);
        let learnt = h.take_learnt();
        assert_eq!(learnt.len(), 1);
        assert_eq!((learnt[0].ip, learnt[0].mac), (ip("10.8.0.53"), b_mac));
        assert_eq!(
            learnt[0].frames,
            vec![frame_ip(b_mac, OURS, &packet4(b, 2))]
        );
        // Only a is asked again, and only once RESOLICIT has passed.
        assert_eq!(h.poll_at(t0), Some(t0 + RESOLICIT));
        let again = asks(&mut h, t0 + RESOLICIT);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0, ip("10.8.0.1"));
        assert_eq!(h.neighbour(ip("10.8.0.1")).unwrap().asked, 2);
        assert_eq!(h.neighbour(ip("10.8.0.53")).unwrap().asked, 1);
        // From now on packets to b are framed at once.
        let f = h.send_ip(&packet4(b, 4), |d| d);
        assert_eq!(f, Out::Frame(frame_ip(b_mac, OURS, &packet4(b, 4))));
        let parsed = match &f {
            Out::Frame(f) => parse_frame(f).unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(
            (parsed.dst, parsed.src, parsed.ethertype),
            (b_mac, OURS, ETHERTYPE_IPV4)
        );
        // a answers: both its packets, oldest first; nothing more to ask.
        assert_eq!(h.receive(&arp_reply(SERVER, "10.8.0.1")), Received::Learned);
        let learnt = h.take_learnt();
        assert_eq!(
            learnt[0].frames,
            vec![
                frame_ip(SERVER, OURS, &packet4(a, 1)),
                frame_ip(SERVER, OURS, &packet4(a, 3))
            ]
        );
        assert_eq!(h.poll_at(t0 + RESOLICIT), None);
        assert!(asks(&mut h, t0 + RESOLICIT * 10).is_empty());
    }

    #[test]
    fn ipv6_packets_wait_for_a_neighbour_advertisement() {
        let t0 = Instant::now();
        let mut h = host6();
        let mut p6 = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
        p6.extend_from_slice(&"fd00::1000".parse::<Ipv6Addr>().unwrap().octets());
        p6.extend_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(h.send_ip(&p6, |d| d), Out::Queued);
        let out = asks(&mut h, t0);
        assert_eq!(out.len(), 1);
        // The server (as a host) answers our solicitation with its advertisement.
        let mut server = Host::new(SERVER, None, Some("fd00::1".parse().unwrap()));
        let Received::Answer(na) = server.receive(&out[0].1) else {
            panic!("the server did not answer our solicitation");
        };
        assert_eq!(h.receive(&na), Received::Learned);
        let learnt = h.take_learnt();
        assert_eq!(learnt[0].frames, vec![frame_ip(SERVER, OURS, &p6)]);
        assert_eq!(
            parse_frame(&learnt[0].frames[0]).unwrap().ethertype,
            ETHERTYPE_IPV6
        );
    }

    #[test]
    fn queues_and_the_table_are_bounded() {
        let t0 = Instant::now();
        let mut h = Host::new(OURS, Some("10.8.0.2".parse().unwrap()), None);
        for tag in 0..1000u16 {
            assert_eq!(
                h.send_ip(&packet4([10, 8, 0, 1], tag as u8), |d| d),
                Out::Queued
            );
        }
        let n = h.neighbour(ip("10.8.0.1")).unwrap();
        assert_eq!(n.dropped, 1000 - MAX_QUEUED as u32);
        // A flood of packets is still one question per RESOLICIT.
        assert_eq!(asks(&mut h, t0).len(), 1);
        for i in 1..100u32 {
            let _ = h.send_ip(&packet4([10, 8, 0, 1], 0), |d| d);
            let at = t0 + RESOLICIT * i - Duration::from_millis(1);
            assert!(asks(&mut h, at).is_empty());
            assert_eq!(asks(&mut h, t0 + RESOLICIT * i).len(), 1);
        }
        assert_eq!(h.neighbour(ip("10.8.0.1")).unwrap().asked, 100);
        // The newest packets are the ones kept.
        h.receive(&arp_reply(SERVER, "10.8.0.1"));
        let frames = h.take_learnt().remove(0).frames;
        assert_eq!(frames.len(), MAX_QUEUED);
        assert_eq!(
            frames[0],
            frame_ip(SERVER, OURS, &packet4([10, 8, 0, 1], 0))
        );
        // No more neighbours than the bound; what is past it is dropped, not framed.
        for d in 2..=(MAX_NEIGHBOURS as u8 + 3) {
            let _ = h.send_ip(&packet4([10, 8, 1, d], 0), |d| d);
        }
        assert!(h.neighbour(ip("10.8.1.2")).is_some());
        assert_eq!(
            h.send_ip(&packet4([10, 8, 2, 1], 0), |d| d),
            Out::Dropped,
            "a destination past the table's bound"
        );
        assert_eq!(h.send_ip(&[0x12, 0x34], |d| d), Out::Dropped);
        assert_eq!(h.send_ip(&[], |d| d), Out::Dropped);
    }

    #[test]
    fn an_echo_that_waits_is_asked_for_without_a_queue() {
        let t0 = Instant::now();
        let mut h = host4();
        assert_eq!(h.poll_at(t0), Some(t0));
        assert_eq!(asks(&mut h, t0).len(), 1);
        assert_eq!(h.poll_at(t0), Some(t0 + RESOLICIT));
        h.receive(&arp_reply(SERVER, "10.8.0.1"));
        assert_eq!(h.poll_at(t0), None);
        // Known: wanting it again asks nothing.
        h.want(ip("10.8.0.1"));
        assert!(asks(&mut h, t0 + RESOLICIT).is_empty());
    }
}
