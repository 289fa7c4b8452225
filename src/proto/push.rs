//! What a server's push says about the data channel: the cipher, how the keys are derived,
//! the peer-id, the compression framing, how a client leaves, and where an ICMP echo can go
//! (the server's own tunnel address, and which addresses the pushed routes and `ifconfig`
//! cover). Pure functions over the pushed options, as `options.c`/`push.c` read them.

use crate::digest::Digest;
use crate::proto::data::{Algorithm, Compression, DataCipher, DataConfig};
use crate::proto::login::DataSettings;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where the data channel's keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDerivation {
    /// TLS-EKM (`key-derivation tls-ekm`, or `tls-ekm` in `protocol-flags`).
    Ekm,
    /// OpenVPN's PRF over both key-method 2 randoms and both session ids.
    Prf,
}

/// The data channel as the push (and, where it says nothing, the client's config) sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPlan {
    pub config: DataConfig,
    pub keys: KeyDerivation,
    /// The server takes a control-channel `EXIT` (`protocol-flags cc-exit`, 2.6+);
    /// otherwise a client leaves with OCC_EXIT on the data channel.
    pub cc_exit: bool,
}

/// What the server chose for the data channel that this check cannot speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// Neither the push nor the config names a cipher: OpenVPN's default, BF-CBC.
    DefaultCipher,
    /// A cipher the codec does not implement, as pushed or configured.
    Cipher(String),
    /// The epoch data format (`aead-epoch`).
    Epoch,
    /// A compression option with no framing here (`compress snappy`, ...).
    Compression(String),
    /// The server sent a compressed packet, which the check cannot decompress.
    Compressed(Algorithm),
}

/// Whitespace-separated words of one option.
fn words(option: &str) -> (&str, Vec<&str>) {
    let mut w = option.split_whitespace();
    let name = w.next().unwrap_or("");
    (name, w.collect())
}

fn find<'a>(options: &'a [String], name: &str) -> Option<Vec<&'a str>> {
    options.iter().rev().find_map(|o| {
        let (n, args) = words(o);
        (n == name).then_some(args)
    })
}

fn protocol_flag(options: &[String], flag: &str) -> bool {
    options.iter().any(|o| {
        let (n, args) = words(o);
        n == "protocol-flags" && args.contains(&flag)
    })
}

/// The data channel a push sets up, or what of it the check cannot speak. `config` is the
/// client's own: its cipher where the push names none (a server that does not negotiate),
/// its `auth` (never pushed), its compression where the push says nothing.
pub fn plan(options: &[String], config: &DataSettings) -> Result<DataPlan, Unsupported> {
    if protocol_flag(options, "aead-epoch") || options.iter().any(|o| words(o).0 == "aead-epoch") {
        return Err(Unsupported::Epoch);
    }
    let cipher = match find(options, "cipher").and_then(|a| a.first().copied()) {
        Some(name) => name
            .parse::<DataCipher>()
            .map_err(|_| Unsupported::Cipher(name.to_string()))?,
        None => match &config.cipher {
            Some(name) => name
                .parse::<DataCipher>()
                .map_err(|_| Unsupported::Cipher(name.trim().to_string()))?,
            None => return Err(Unsupported::DefaultCipher),
        },
    };
    let peer_id = find(options, "peer-id")
        .and_then(|a| a.first().and_then(|p| p.parse::<u32>().ok()))
        .filter(|p| *p < 1 << 24);
    // The last compression option pushed wins, as OpenVPN applies options in order.
    let mut compression = None;
    for o in options {
        let (name, args) = words(o);
        if let Some(c) = Compression::from_option(name, args.first().copied()) {
            compression = Some(c.map_err(|u| Unsupported::Compression(u.0))?);
        }
    }
    let compression = compression.or(config.compression).unwrap_or_default();
    let ekm = protocol_flag(options, "tls-ekm")
        || find(options, "key-derivation").is_some_and(|a| a.first() == Some(&"tls-ekm"));
    Ok(DataPlan {
        config: DataConfig {
            cipher,
            auth: config.auth.unwrap_or(Digest::Sha1),
            peer_id,
            key_id: 0,
            compression,
        },
        keys: if ekm {
            KeyDerivation::Ekm
        } else {
            KeyDerivation::Prf
        },
        cc_exit: protocol_flag(options, "cc-exit"),
    })
}

/// The pushed compression option a 2.6 client with these settings refuses, stopping
/// ("server pushed compression settings that are not allowed", `init.c`
/// `do_deferred_options`) and starting over: its settled rules with every pushed
/// `comp-lzo`/`compress` applied in order allow only the stubs, yet one compresses. The
/// option named is the last compression option pushed.
pub fn refused_compression(options: &[String], config: &DataSettings) -> Option<String> {
    let mut rules = config.compression_rules;
    let mut last = None;
    for o in options {
        let (name, args) = words(o);
        if rules.apply(name, args.first().copied()) {
            last = Some(o.trim().to_string());
        }
    }
    last.filter(|_| rules.refused())
}

/// The `IV_CIPHERS` a 2.6 client with the same settings announces: the config's
/// `data-ciphers` as written (OpenVPN's names for the ones the codec knows, duplicates
/// dropped), else OpenVPN's default list. A cipher the codec does not speak stays in the
/// list, as the real client announces it: a server that picks it gets its login, and the
/// data stage is UNKNOWN naming it, where announcing less would make the server refuse a
/// login the real client gets. `cipher` is not added: a 2.6 client ignores it for the
/// negotiation.
pub fn iv_ciphers(config: &DataSettings) -> String {
    match &config.data_ciphers {
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for name in list {
                let name = match name.parse::<DataCipher>() {
                    Ok(c) => c.name().to_string(),
                    Err(_) => name.to_ascii_uppercase(),
                };
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
            }
            out.join(":")
        }
        None => DEFAULT_DATA_CIPHERS.join(":"),
    }
}

/// OpenVPN 2.6's `data-ciphers` default.
pub const DEFAULT_DATA_CIPHERS: [&str; 3] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];

/// Where the echoes go: from our tunnel address to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoPath {
    pub source: IpAddr,
    pub target: IpAddr,
}

/// Why no echo can be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPath {
    /// The target asked for, or `None` when the push names no server address.
    pub target: Option<IpAddr>,
    /// The push gave no tunnel address of the target's family.
    pub no_address: bool,
    /// The pushed options that set addresses and routes, as pushed.
    pub routes: Vec<String>,
}

/// A pushed IPv4 route: network, mask, and whether it goes through the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route4 {
    net: u32,
    mask: u32,
    via_vpn: bool,
    /// Its own gateway (`route NET MASK GATEWAY`); `None`: the pushed `route-gateway`.
    gateway: Option<Ipv4Addr>,
}

/// What the push says about addresses and routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tunnel {
    ifconfig: Option<(Ipv4Addr, Ipv4Addr)>,
    subnet: bool,
    route_gateway: Option<Ipv4Addr>,
    routes: Vec<Route4>,
    redirect4: bool,
    ifconfig6: Option<(Ipv6Addr, u8, Option<Ipv6Addr>)>,
    routes6: Vec<(Ipv6Addr, u8)>,
    redirect6: bool,
}

fn mask_bits(mask: Ipv4Addr) -> Option<u32> {
    let m = u32::from(mask);
    (m.leading_ones() + m.trailing_zeros() == 32).then_some(m)
}

fn prefix6(text: &str) -> Option<(Ipv6Addr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, b.parse().ok()?),
        None => (text, 128),
    };
    (bits <= 128).then_some(())?;
    Some((addr.parse().ok()?, bits))
}

fn in_prefix6(addr: Ipv6Addr, net: Ipv6Addr, bits: u8) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits))
    };
    u128::from(addr) & mask == u128::from(net) & mask
}

impl Tunnel {
    fn read(options: &[String]) -> Tunnel {
        let mut t = Tunnel {
            ifconfig: None,
            subnet: false,
            route_gateway: None,
            routes: Vec::new(),
            redirect4: false,
            ifconfig6: None,
            routes6: Vec::new(),
            redirect6: false,
        };
        for o in options {
            let (name, args) = words(o);
            match (name, args.as_slice()) {
                ("ifconfig", [local, second, ..]) => {
                    if let (Ok(l), Ok(s)) = (local.parse(), second.parse()) {
                        t.ifconfig = Some((l, s));
                    }
                }
                ("topology", [kind, ..]) => t.subnet = *kind == "subnet",
                ("route-gateway", [gw, ..]) => t.route_gateway = gw.parse().ok(),
                ("route", [net, rest @ ..]) => {
                    let Ok(net) = net.parse::<Ipv4Addr>() else {
                        continue;
                    };
                    let mask = match rest.first() {
                        Some(m) => match m.parse().ok().and_then(mask_bits) {
                            Some(m) => m,
                            None => continue,
                        },
                        None => u32::MAX,
                    };
                    let via_vpn = rest.get(1) != Some(&"net_gateway");
                    t.routes.push(Route4 {
                        net: u32::from(net),
                        mask,
                        via_vpn,
                        gateway: rest.get(1).and_then(|g| g.parse().ok()),
                    });
                }
                ("redirect-gateway" | "redirect-private", flags) => {
                    if !flags.contains(&"!ipv4") {
                        t.redirect4 = true;
                    }
                    if flags.contains(&"ipv6") {
                        t.redirect6 = true;
                    }
                }
                ("ifconfig-ipv6", [local, rest @ ..]) => {
                    if let Some((addr, bits)) = prefix6(local) {
                        let remote = rest.first().and_then(|r| r.parse().ok());
                        t.ifconfig6 = Some((addr, bits, remote));
                    }
                }
                ("route-ipv6", [net, ..]) => {
                    if let Some(p) = prefix6(net) {
                        t.routes6.push(p);
                    }
                }
                _ => {}
            }
        }
        // A netmask as ifconfig's second word is topology subnet, whatever was said.
        if let Some((_, second)) = t.ifconfig {
            if second.octets()[0] == 255 {
                t.subnet = true;
            }
        }
        t
    }

    /// The server's own tunnel address, where its kernel answers an echo.
    fn server_address(&self) -> Option<IpAddr> {
        if let Some((_, remote)) = self.ifconfig {
            if self.subnet {
                return self.route_gateway.map(IpAddr::V4);
            }
            // net30: the host route to the server, never the ifconfig peer (a virtual
            // endpoint no host owns); point-to-point: the remote end.
            let host_route = self
                .routes
                .iter()
                .find(|r| r.mask == u32::MAX && r.via_vpn && r.net != u32::from(remote))
                .map(|r| IpAddr::V4(Ipv4Addr::from(r.net)));
            return Some(host_route.unwrap_or(IpAddr::V4(remote)));
        }
        self.ifconfig6
            .and_then(|(_, _, remote)| remote)
            .map(IpAddr::V6)
    }

    fn covers(&self, target: IpAddr) -> bool {
        match target {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let on_link = match self.ifconfig {
                    Some((local, second)) if self.subnet => {
                        let m = mask_bits(second).unwrap_or(u32::MAX);
                        a & m == u32::from(local) & m
                    }
                    Some((_, remote)) => a == u32::from(remote),
                    None => false,
                };
                on_link
                    || self.redirect4
                    || self.route_gateway.is_some_and(|g| u32::from(g) == a)
                    || self
                        .routes
                        .iter()
                        .any(|r| r.via_vpn && a & r.mask == r.net & r.mask)
            }
            IpAddr::V6(a) => {
                self.ifconfig6.is_some_and(|(local, bits, remote)| {
                    in_prefix6(a, local, bits) || remote == Some(a)
                }) || self.redirect6
                    || self.routes6.iter().any(|(n, b)| in_prefix6(a, *n, *b))
            }
        }
    }

    /// Where a packet to `target` goes first on an Ethernet (tap) link, as the client's
    /// kernel routes it: an address on our pushed subnet is on the link; beyond it, the
    /// gateway of the route that covers it (its own, else `route-gateway`). IPv6 and
    /// anything else: the target itself.
    fn next_hop(&self, target: IpAddr) -> IpAddr {
        let IpAddr::V4(a) = target else {
            return target;
        };
        let a32 = u32::from(a);
        if let Some((local, second)) = self.ifconfig.filter(|_| self.subnet) {
            let m = mask_bits(second).unwrap_or(u32::MAX);
            if a32 & m == u32::from(local) & m {
                return target;
            }
        }
        let route = self
            .routes
            .iter()
            .filter(|r| r.via_vpn && a32 & r.mask == r.net & r.mask)
            .max_by_key(|r| r.mask.count_ones());
        route
            .and_then(|r| r.gateway)
            .or(self
                .route_gateway
                .filter(|_| route.is_some() || self.redirect4))
            .map_or(target, IpAddr::V4)
    }

    fn source_for(&self, target: IpAddr) -> Option<IpAddr> {
        match target {
            IpAddr::V4(_) => self.ifconfig.map(|(l, _)| IpAddr::V4(l)),
            IpAddr::V6(_) => self.ifconfig6.map(|(l, _, _)| IpAddr::V6(l)),
        }
    }
}

/// The pushed options about addresses and routes, as pushed (for a report).
fn route_options(options: &[String]) -> Vec<String> {
    options
        .iter()
        .filter(|o| {
            matches!(
                words(o).0,
                "ifconfig"
                    | "ifconfig-ipv6"
                    | "route"
                    | "route-ipv6"
                    | "route-gateway"
                    | "redirect-gateway"
                    | "redirect-private"
                    | "topology"
            )
        })
        .cloned()
        .collect()
}

/// The DNS servers the push names, in order: `dhcp-option DNS ADDRESS`,
/// `dhcp-option DNS6 ADDRESS`, and 2.6's `dns server N address ADDRESS[:PORT] ...` (a
/// port other than 53 is left out: the question goes to port 53).
pub fn dns_servers(options: &[String]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for o in options {
        let (name, args) = words(o);
        match (name, args.as_slice()) {
            ("dhcp-option", [kind, addr, ..])
                if kind.eq_ignore_ascii_case("DNS") || kind.eq_ignore_ascii_case("DNS6") =>
            {
                if let Ok(ip) = addr.parse::<IpAddr>() {
                    out.push(ip);
                }
            }
            ("dns", ["server", _, "address", addrs @ ..]) => {
                for a in addrs {
                    let ip = a.parse::<IpAddr>().ok().or_else(|| {
                        a.parse::<std::net::SocketAddr>()
                            .ok()
                            .filter(|s| s.port() == 53)
                            .map(|s| s.ip())
                    });
                    if let Some(ip) = ip {
                        out.push(ip);
                    }
                }
            }
            _ => {}
        }
    }
    out.dedup();
    out
}

/// Our tunnel addresses as pushed: `ifconfig`'s local address and `ifconfig-ipv6`'s.
pub fn tunnel_addresses(options: &[String]) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let t = Tunnel::read(options);
    (t.ifconfig.map(|(a, _)| a), t.ifconfig6.map(|(a, _, _)| a))
}

/// Where echoes go: to `requested` when given (if the push routes it into the tunnel),
/// else to the server's own tunnel address (`route-gateway` in topology subnet, the host
/// route to the server in net30, the remote end of a point-to-point `ifconfig`, the
/// remote of `ifconfig-ipv6` on an IPv6-only tunnel); from our pushed address of the
/// target's family.
pub fn echo_path(options: &[String], requested: Option<IpAddr>) -> Result<EchoPath, NoPath> {
    echo_path_in(&Tunnel::read(options), options, requested)
}

fn echo_path_in(
    t: &Tunnel,
    options: &[String],
    requested: Option<IpAddr>,
) -> Result<EchoPath, NoPath> {
    let no_path = |target, no_address| NoPath {
        target,
        no_address,
        routes: route_options(options),
    };
    let target = match requested {
        Some(r) => {
            if !t.covers(r) {
                let no_address = t.source_for(r).is_none();
                return Err(no_path(Some(r), no_address));
            }
            r
        }
        None => t.server_address().ok_or_else(|| no_path(None, false))?,
    };
    let source = t
        .source_for(target)
        .ok_or_else(|| no_path(Some(target), true))?;
    Ok(EchoPath { source, target })
}

/// Our pushed IPv4 address, as `ifconfig` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushedAddress {
    /// `ifconfig ADDRESS NETMASK` (topology subnet): the address and its prefix length.
    Subnet { local: Ipv4Addr, bits: u32 },
    /// `ifconfig LOCAL REMOTE` (net30, p2p): the two ends.
    Peer { local: Ipv4Addr, remote: Ipv4Addr },
}

/// A server's `PUSH_REPLY`, read once when the whole push came: the options as sent
/// (for `-v`), and what the data stage and the report use of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReply {
    options: Vec<String>,
    tunnel: Tunnel,
    dns: Vec<IpAddr>,
    cipher: Option<String>,
}

impl PushReply {
    pub fn new(options: Vec<String>) -> PushReply {
        PushReply {
            tunnel: Tunnel::read(&options),
            dns: dns_servers(&options),
            cipher: find(&options, "cipher").and_then(|a| a.first().map(|c| c.to_string())),
            options,
        }
    }

    /// The options, as pushed and in order.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// The pushed data cipher.
    pub fn cipher(&self) -> Option<&str> {
        self.cipher.as_deref()
    }

    /// The DNS servers it names, in order ([`dns_servers`]).
    pub fn dns_servers(&self) -> &[IpAddr] {
        &self.dns
    }

    /// Our IPv4 address ([`PushedAddress`]), when `ifconfig` gives one.
    pub fn address(&self) -> Option<PushedAddress> {
        let (local, second) = self.tunnel.ifconfig?;
        // A netmask is contiguous ones; anything else is the remote end.
        Some(match mask_bits(second) {
            Some(m) => PushedAddress::Subnet {
                local,
                bits: m.leading_ones(),
            },
            None => PushedAddress::Peer {
                local,
                remote: second,
            },
        })
    }

    /// Our tunnel addresses ([`tunnel_addresses`]).
    pub fn tunnel_addresses(&self) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        (
            self.tunnel.ifconfig.map(|(a, _)| a),
            self.tunnel.ifconfig6.map(|(a, _, _)| a),
        )
    }

    /// The first hop of a packet to `target` on a tap link: the target on our subnet,
    /// else the gateway of the route that covers it.
    pub fn next_hop(&self, target: IpAddr) -> IpAddr {
        self.tunnel.next_hop(target)
    }

    /// Where a packet to `requested` (or to the server) goes ([`echo_path`]).
    pub fn echo_path(&self, requested: Option<IpAddr>) -> Result<EchoPath, NoPath> {
        echo_path_in(&self.tunnel, &self.options, requested)
    }

    /// The data channel it sets up ([`plan`]).
    pub fn plan(&self, config: &DataSettings) -> Result<DataPlan, Unsupported> {
        plan(&self.options, config)
    }

    /// The compression a 2.6 client with `config` refuses ([`refused_compression`]).
    pub fn refused_compression(&self, config: &DataSettings) -> Option<String> {
        refused_compression(&self.options, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::{AllowCompression, CompressionRules};

    fn push(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // Pushes as 2.6.14 servers sent them (subnet, net30) in this project's test runs.
    const SUBNET: &str = "route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 120,ifconfig 10.8.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500";
    const NET30: &str = "route 10.8.0.1,topology net30,ping 10,ping-restart 120,ifconfig 10.8.0.6 10.8.0.5,peer-id 0,cipher AES-256-GCM";

    #[test]
    fn pushed_dns_servers_in_order() {
        let p = push("dhcp-option DNS 10.8.0.1,dhcp-option DOMAIN corp,dhcp-option DNS6 fd00::1,dns server 0 address 10.8.0.53 [fd00::53]:53 10.9.9.9:5353,dhcp-option DNS nonsense");
        assert_eq!(
            dns_servers(&p),
            [
                ip("10.8.0.1"),
                ip("fd00::1"),
                ip("10.8.0.53"),
                ip("fd00::53")
            ]
        );
        assert!(dns_servers(&push(SUBNET)).is_empty());
    }

    #[test]
    fn our_tunnel_addresses_as_pushed() {
        let p = push(&format!("{SUBNET},ifconfig-ipv6 fd00::1000/64 fd00::1"));
        assert_eq!(
            tunnel_addresses(&p),
            (
                Some("10.8.0.2".parse().unwrap()),
                Some("fd00::1000".parse().unwrap())
            )
        );
        assert_eq!(
            tunnel_addresses(&push(NET30)).0,
            Some("10.8.0.6".parse().unwrap())
        );
        assert_eq!(
            tunnel_addresses(&push("route-gateway 10.8.0.1")),
            (None, None)
        );
    }

    #[test]
    fn subnet_targets_the_route_gateway() {
        let p = echo_path(&push(SUBNET), None).unwrap();
        assert_eq!(p.source, ip("10.8.0.2"));
        assert_eq!(p.target, ip("10.8.0.1"));
    }

    #[test]
    fn net30_targets_the_host_route_not_the_peer() {
        let p = echo_path(&push(NET30), None).unwrap();
        assert_eq!(p.source, ip("10.8.0.6"));
        assert_eq!(p.target, ip("10.8.0.1"));
    }

    #[test]
    fn point_to_point_targets_the_remote() {
        let p = echo_path(&push("ifconfig 10.4.0.2 10.4.0.1"), None).unwrap();
        assert_eq!(p.target, ip("10.4.0.1"));
    }

    #[test]
    fn ipv6_only_targets_the_ifconfig_ipv6_remote() {
        let p = echo_path(&push("ifconfig-ipv6 fd00::1000/64 fd00::1"), None).unwrap();
        assert_eq!((p.source, p.target), (ip("fd00::1000"), ip("fd00::1")));
    }

    #[test]
    fn coverage_of_a_requested_address() {
        let subnet = push(&format!(
            "{SUBNET},route 192.168.10.0 255.255.255.0,route 172.16.0.0 255.240.0.0 net_gateway"
        ));
        assert!(echo_path(&subnet, Some(ip("10.8.0.77"))).is_ok());
        assert!(echo_path(&subnet, Some(ip("192.168.10.5"))).is_ok());
        let e = echo_path(&subnet, Some(ip("192.168.11.5"))).unwrap_err();
        assert_eq!(e.target, Some(ip("192.168.11.5")));
        assert!(!e.no_address);
        assert!(e
            .routes
            .contains(&"route 192.168.10.0 255.255.255.0".to_string()));
        assert!(e
            .routes
            .contains(&"ifconfig 10.8.0.2 255.255.255.0".to_string()));
        assert!(!e.routes.iter().any(|r| r.starts_with("cipher")));
        // net_gateway routes go around the tunnel.
        assert!(echo_path(&subnet, Some(ip("172.16.1.1"))).is_err());
        // redirect-gateway covers every IPv4 address, not IPv6.
        let all = push(&format!("{SUBNET},redirect-gateway def1 bypass-dhcp"));
        assert!(echo_path(&all, Some(ip("198.51.100.1"))).is_ok());
        let e = echo_path(&all, Some(ip("2001:db8::1"))).unwrap_err();
        assert!(e.no_address);
        // net30: the peer address is on the link.
        assert!(echo_path(&push(NET30), Some(ip("10.8.0.5"))).is_ok());
        assert!(echo_path(&push(NET30), Some(ip("10.8.0.9"))).is_err());
    }

    #[test]
    fn ipv6_coverage() {
        let p = push(&format!(
            "{SUBNET},ifconfig-ipv6 fd00:1::1000/64 fd00:1::1,route-ipv6 2001:db8:5::/48"
        ));
        let path = echo_path(&p, Some(ip("fd00:1::1"))).unwrap();
        assert_eq!(path.source, ip("fd00:1::1000"));
        assert!(echo_path(&p, Some(ip("2001:db8:5:7::1"))).is_ok());
        assert!(echo_path(&p, Some(ip("2001:db8:6::1"))).is_err());
        // IPv4 still goes to the IPv4 gateway by default.
        assert_eq!(echo_path(&p, None).unwrap().target, ip("10.8.0.1"));
    }

    #[test]
    fn plan_from_a_2_6_push() {
        let plan = plan(&push(SUBNET), &DataSettings::default()).unwrap();
        assert_eq!(plan.config.cipher, DataCipher::Aes256Gcm);
        assert_eq!(plan.config.peer_id, Some(0));
        assert_eq!(plan.config.compression, Compression::None);
        assert_eq!(plan.keys, KeyDerivation::Ekm);
        assert!(plan.cc_exit);
    }

    #[test]
    fn plan_from_an_old_server_and_the_config() {
        // A 2.4 push: no peer-id with V1, no tls-ekm, no cc-exit.
        let p = push("route 10.8.0.1,topology net30,ifconfig 10.8.0.6 10.8.0.5,cipher AES-128-GCM");
        let plan = plan(&p, &DataSettings::default()).unwrap();
        assert_eq!(plan.config.cipher, DataCipher::Aes128Gcm);
        assert_eq!(plan.config.peer_id, None);
        assert_eq!(plan.keys, KeyDerivation::Prf);
        assert!(!plan.cc_exit);
        // Nothing pushed: the config's cipher and auth, else BF-CBC.
        let p = push("ifconfig 10.8.0.6 10.8.0.5,comp-lzo no");
        let cfg = DataSettings {
            cipher: Some("aes-256-cbc".into()),
            auth: Some(Digest::Sha256),
            ..Default::default()
        };
        let plan = super::plan(&p, &cfg).unwrap();
        assert_eq!(plan.config.cipher, DataCipher::Aes256Cbc);
        assert_eq!(plan.config.auth, Digest::Sha256);
        assert_eq!(plan.config.compression, Compression::Lzo);
        assert_eq!(
            super::plan(&p, &DataSettings::default()),
            Err(Unsupported::DefaultCipher)
        );
        let bf = DataSettings {
            cipher: Some("BF-CBC".into()),
            ..Default::default()
        };
        assert_eq!(
            super::plan(&p, &bf),
            Err(Unsupported::Cipher("BF-CBC".into()))
        );
    }

    #[test]
    fn what_the_check_cannot_speak() {
        let base = DataSettings::default();
        assert_eq!(
            plan(&push("cipher AES-192-GCM"), &base),
            Err(Unsupported::Cipher("AES-192-GCM".into()))
        );
        assert_eq!(
            plan(
                &push("cipher AES-256-GCM,protocol-flags cc-exit tls-ekm aead-epoch"),
                &base
            ),
            Err(Unsupported::Epoch)
        );
        assert_eq!(
            plan(&push("cipher AES-256-GCM,compress snappy"), &base),
            Err(Unsupported::Compression("compress snappy".into()))
        );
        let p = plan(&push("cipher AES-256-GCM,compress stub-v2"), &base).unwrap();
        assert_eq!(p.config.compression, Compression::V2);
    }

    #[test]
    fn iv_ciphers_as_the_real_client_announces_them() {
        assert_eq!(
            iv_ciphers(&DataSettings::default()),
            "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305"
        );
        let cfg = DataSettings {
            data_ciphers: Some(vec![
                "CHACHA20-POLY1305".into(),
                "BF-CBC".into(),
                "aes-128-gcm".into(),
            ]),
            ..Default::default()
        };
        assert_eq!(iv_ciphers(&cfg), "CHACHA20-POLY1305:BF-CBC:AES-128-GCM");
    }

    fn rules(lines: &[(&str, Option<&str>)]) -> DataSettings {
        let mut r = CompressionRules::default();
        for (n, a) in lines {
            match *n {
                "allow-compression" => r
                    .allow(a.unwrap().parse::<AllowCompression>().unwrap())
                    .unwrap(),
                _ => assert!(r.apply(n, *a)),
            }
        }
        DataSettings {
            compression_rules: r.settled(),
            ..Default::default()
        }
    }

    #[test]
    fn pushed_compression_as_a_26_client_takes_it() {
        let none = rules(&[]);
        let refused = |push: &str, cfg: &DataSettings| {
            let options: Vec<String> = push.split(',').map(str::to_string).collect();
            refused_compression(&options, cfg)
        };
        // 2.6's default: only the stubs.
        for p in [
            "compress lz4-v2",
            "compress lz4",
            "compress lzo",
            "comp-lzo yes",
            "comp-lzo",
            "comp-lzo adaptive",
        ] {
            assert_eq!(
                refused(&format!("ping 10,{p}"), &none).as_deref(),
                Some(p),
                "{p}"
            );
        }
        for p in [
            "compress stub-v2",
            "compress",
            "compress stub",
            "comp-lzo no",
            "ping 10",
        ] {
            assert_eq!(refused(p, &none), None, "{p}");
        }
        // The last pushed option decides.
        assert_eq!(refused("comp-lzo yes,comp-lzo no", &none), None);
        for allowed in [
            rules(&[("allow-compression", Some("yes"))]),
            rules(&[("allow-compression", Some("asym"))]),
            // Any config compression line but comp-lzo no lifts the default.
            rules(&[("compress", Some("stub-v2"))]),
            rules(&[("compress", None)]),
            rules(&[("comp-lzo", Some("yes"))]),
            rules(&[("compress", Some("lz4-v2"))]),
        ] {
            assert_eq!(refused("compress lz4-v2", &allowed), None, "{allowed:?}");
        }
        for stub_only in [
            rules(&[("comp-lzo", Some("no"))]),
            rules(&[
                ("allow-compression", Some("no")),
                ("compress", Some("stub-v2")),
            ]),
            rules(&[("allow-compression", Some("no"))]),
        ] {
            assert!(
                refused("comp-lzo yes", &stub_only).is_some(),
                "{stub_only:?}"
            );
        }
    }

    #[test]
    fn a_push_read_once() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let r = PushReply::new(o(&[
            "cipher BF-CBC",
            "dhcp-option DNS 10.8.0.1",
            "route-gateway 10.8.0.1",
            "topology subnet",
            "ifconfig 10.8.0.2 255.255.255.0",
            "cipher AES-256-GCM",
        ]));
        assert_eq!(
            r.cipher(),
            Some("AES-256-GCM"),
            "the last one, as OpenVPN applies them"
        );
        assert_eq!(
            r.address(),
            Some(PushedAddress::Subnet {
                local: "10.8.0.2".parse().unwrap(),
                bits: 24
            })
        );
        assert_eq!(r.dns_servers(), &["10.8.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.echo_path(None), echo_path(r.options(), None));
        assert_eq!(r.options().len(), 6);
        let net30 = PushReply::new(o(&["route 10.8.0.1", "ifconfig 10.8.0.6 10.8.0.5"]));
        assert_eq!(
            net30.address(),
            Some(PushedAddress::Peer {
                local: "10.8.0.6".parse().unwrap(),
                remote: "10.8.0.5".parse().unwrap()
            })
        );
        assert_eq!(PushReply::default().address(), None);
    }

    #[test]
    fn the_first_hop_on_a_tap_link() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let r = PushReply::new(o(&[
            "route-gateway 10.8.0.1",
            "topology subnet",
            "ifconfig 10.8.0.2 255.255.255.0",
            "route 10.232.7.0 255.255.255.0",
            "route 10.99.0.0 255.255.0.0 10.8.0.254",
        ]));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(r.next_hop(ip("10.8.0.77")), ip("10.8.0.77"), "on the link");
        assert_eq!(
            r.next_hop(ip("10.232.7.2")),
            ip("10.8.0.1"),
            "route-gateway"
        );
        assert_eq!(
            r.next_hop(ip("10.99.3.4")),
            ip("10.8.0.254"),
            "the route's own"
        );
        assert_eq!(
            r.next_hop(ip("192.0.2.1")),
            ip("192.0.2.1"),
            "no route: itself"
        );
        assert_eq!(r.next_hop(ip("fd00::5")), ip("fd00::5"));
    }
}
