//! The data channel (`--ping`) against real OpenVPN 2.6 multi-client servers whose tun
//! device is up and addressed: ICMP echoes through the tunnel to the server's own tunnel
//! address, over UDP and TCP, topology subnet and net30, every cipher the check speaks,
//! compression framings, server keepalives, an IPv6 tunnel, thresholds, a tun that drops
//! echoes (an nftables rule on that server's tun only), and OpenVPN's own client, in a
//! network namespace on a tun device of its own, pinging the same address on the same
//! server as the reference. Hostile data packets come from a UDP proxy between the check
//! and a real server, after the server's genuine push; hostile services (a slow-loris and
//! an endless HTTP response, a flood of DNS answers with wrong ids) listen on a real
//! server's tunnel address.

use crate::common;
use common::tunnel::*;
use common::*;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A perfdata value of the status line: `label=12.5ms;...` gives 12.5.
fn perf(line: &str, label: &str) -> Option<f64> {
    let data = line.split_once('|')?.1;
    data.split_whitespace().find_map(|item| {
        let (name, value) = item.split_once('=')?;
        if name.trim_matches('\'') != label {
            return None;
        }
        let num: String = value
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect();
        num.parse().ok()
    })
}

/// The warning and critical fields of a perfdata item (`rta=0.3ms;5000;6000;0`), or -1.
fn thresholds(line: &str, label: &str) -> (f64, f64) {
    let item = line
        .split_once('|')
        .map_or("", |(_, d)| d)
        .split_whitespace()
        .find(|i| {
            i.split_once('=')
                .is_some_and(|(n, _)| n.trim_matches('\'') == label)
        })
        .unwrap_or("");
    let f: Vec<f64> = item
        .split(';')
        .map(|x| x.parse().unwrap_or(-1.0))
        .chain([-1.0, -1.0, -1.0])
        .collect();
    (f[1], f[2])
}

/// A server with a live tun device in its own subnet; with `real`, also a network
/// namespace joined by a veth pair, the server listening on the host end for the real
/// client there (the check reaches that address from the host as well).
struct Bed {
    // Dropped in this order: the server, then the namespace, then the slot.
    server: Server,
    ns: Option<Netns>,
    slot: Slot,
}

impl Bed {
    fn new(proto: Proto, wrap: Wrap, real: bool, lines: &[&str]) -> Bed {
        let slot = Slot::take();
        let ns = real.then(|| Netns::new(&slot));
        let mut config = vec![slot.server_v4()];
        config.extend(
            lines
                .iter()
                .map(|l| l.replace("SLOT_V6", &slot.server_v6()))
                .map(|l| l.replace("SLOT_V4_SERVER", &slot.server_tunnel_v4().to_string()))
                .map(|l| l.replace("SLOT_N", &slot.n.to_string())),
        );
        let refs: Vec<&str> = config.iter().map(String::as_str).collect();
        let local = real.then(|| IpAddr::V4(slot.host_veth()));
        let server = Server::start_tunnel(
            ServerOpts {
                proto,
                family: Family::V4,
                mode: Mode::MultiClient,
                wrap,
            },
            local,
            &refs,
        );
        Bed { server, ns, slot }
    }

    /// UDP, no wrap, with the real client's namespace.
    fn udp(lines: &[&str]) -> Bed {
        Bed::new(Proto::Udp, Wrap::None, true, lines)
    }

    /// The server's IPv4 tunnel address: the check's default target.
    fn target(&self) -> IpAddr {
        IpAddr::V4(self.slot.server_tunnel_v4())
    }

    /// The check's login flags: the server's key flags, `--ca`, `--cert`, `--key`.
    fn login_args(&self) -> Vec<String> {
        let s = &self.server;
        let mut a = wrap_args(s);
        a.extend([
            "--ca".into(),
            path(&s.ca_cert),
            "--cert".into(),
            path(&s.client_cert),
            "--key".into(),
            path(&s.client_key),
        ]);
        a
    }

    /// `check_openvpn -H ADDR -p PORT [-t] KEYS --ca --cert --key -v EXTRA`.
    fn check(&self, extra: &[&str]) -> Ran {
        let mut a = self.login_args();
        a.push("-v".into());
        a.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let run = ran_against(&self.server, &refs);
        eprintln!("check: {}", run.line());
        run
    }

    /// `check(--ping EXTRA)`.
    fn ping(&self, extra: &[&str]) -> Ran {
        let mut a = vec!["--ping"];
        a.extend_from_slice(extra);
        self.check(&a)
    }

    /// OpenVPN's own client with `client` flags, in the namespace, pinging `target`
    /// `count` times. Returns the echoes answered; panics if the client does not connect.
    fn real_client(&self, client: &[&str], target: IpAddr, count: u32) -> u32 {
        let ns = self.ns.as_ref().expect("a bed with a namespace");
        let mut c = RealClient::connected(ns, &self.server, client);
        let (answered, out) = ns.ping(target, count);
        eprintln!("real client: {answered}/{count} echoes from {target} answered\n{out}");
        c.stop();
        answered
    }
}

/// The run says OK with `pl` 0 and an `rta` that is a round trip (more than 0, less than
/// the whole budget), beside the other stages' perfdata.
fn all_answered(run: Ran, budget_ms: f64) -> Ran {
    let run = run.state(0);
    let line = run.line().to_string();
    assert_eq!(perf(&line, "pl"), Some(0.0), "pl{}", run.context());
    let rta = perf(&line, "rta").unwrap_or(-1.0);
    assert!(
        rta > 0.0 && rta < budget_ms,
        "rta {rta} is no round trip{}",
        run.context()
    );
    for label in ["time", "tls_time", "login_time"] {
        assert!(perf(&line, label).is_some(), "no {label}{}", run.context());
    }
    run
}

/// The common case: the real client pings the server's tunnel address 3 times and gets
/// 3 answers; the check, with `check` flags, says OK with pl 0.
fn agree_ok(bed: &Bed, client: &[&str], check: &[&str]) -> Ran {
    let answered = bed.real_client(client, bed.target(), 3);
    assert_eq!(answered, 3, "the real client's pings through the tunnel");
    all_answered(bed.ping(check), 6000.0)
}

// ---------------------------------------------------------------------------------------
// Transports, topologies, ciphers
// ---------------------------------------------------------------------------------------

#[test]
fn udp_topology_subnet_negotiated_cipher() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&[]);
    agree_ok(&bed, &[], &[]);
}

#[test]
fn tcp_topology_subnet_with_tls_crypt() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Tcp, Wrap::TlsCrypt, true, &[]);
    agree_ok(&bed, &[], &[]);
}

#[test]
fn udp_topology_net30_pings_the_servers_address() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["topology net30"]);
    // The server's address (10.231.N.1) is pushed as a route, the client's ifconfig peer
    // is a virtual endpoint nobody answers for: the default target is the former.
    agree_ok(&bed, &[], &[]).out_has(&bed.target().to_string());
}

#[test]
fn tcp_topology_net30_with_tls_auth() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(
        Proto::Tcp,
        Wrap::tls_auth("SHA256", Some(0)),
        true,
        &["topology net30"],
    );
    agree_ok(&bed, &[], &[]);
}

#[test]
fn aes_128_gcm_by_data_ciphers() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["data-ciphers AES-128-GCM"]);
    agree_ok(&bed, &[], &[]).out_has("AES-128-GCM");
}

#[test]
fn aes_256_gcm_by_data_ciphers_over_tcp() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Tcp, Wrap::None, true, &["data-ciphers AES-256-GCM"]);
    agree_ok(&bed, &[], &[]).out_has("AES-256-GCM");
}

#[test]
fn chacha20_poly1305_by_data_ciphers() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["data-ciphers CHACHA20-POLY1305"]);
    agree_ok(&bed, &[], &[]).out_has("CHACHA20-POLY1305");
}

#[test]
fn aes_256_cbc_with_auth_sha256_old_style() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&[
        "data-ciphers AES-256-CBC",
        "cipher AES-256-CBC",
        "auth SHA256",
    ]);
    // A 2.6 client with `cipher` alone announces only its data-ciphers and is refused ("no
    // shared cipher"), and so is the check: both get `data-ciphers AES-256-CBC`.
    let flags = [
        "--data-ciphers",
        "AES-256-CBC",
        "--cipher",
        "AES-256-CBC",
        "--auth",
        "SHA256",
    ];
    agree_ok(&bed, &flags, &flags).out_has("AES-256-CBC");
}

#[test]
fn the_same_settings_from_a_client_config_file() {
    if !tunnel_ready() {
        return;
    }
    // Each directive matters: without `auth SHA256` the HMACs differ, without
    // `comp-lzo no` the server drops every packet, without AES-256-CBC there is no
    // shared cipher.
    let data = [
        "data-ciphers AES-256-CBC",
        "cipher AES-256-CBC",
        "auth SHA256",
        "comp-lzo no",
    ];
    let bed = Bed::udp(&data);
    let s = &bed.server;
    let cfg = s.dir.path().join("client.ovpn");
    std::fs::write(
        &cfg,
        format!(
            "client\ndev tun\nproto udp\nremote {} {}\nca {}\ncert {}\nkey {}\n{}\n",
            s.addr,
            s.port,
            path(&s.ca_cert),
            path(&s.client_cert),
            path(&s.client_key),
            data.join("\n")
        ),
    )
    .unwrap();
    let real = [
        "--data-ciphers",
        "AES-256-CBC",
        "--cipher",
        "AES-256-CBC",
        "--auth",
        "SHA256",
        "--comp-lzo",
        "no",
    ];
    let answered = bed.real_client(&real, bed.target(), 3);
    assert_eq!(answered, 3, "the real client's pings through the tunnel");
    let run = ran(&["--config", &path(&cfg), "--ping", "-v"]);
    eprintln!("check: {}", run.line());
    assert!(run.err.is_empty(), "stderr{}", run.context());
    all_answered(run, 6000.0).out_has("AES-256-CBC");
}

#[test]
fn a_cipher_the_check_cannot_speak_is_unknown_naming_it() {
    if !tunnel_ready() {
        return;
    }
    // OpenVPN's own client speaks AES-192-GCM; the check does not.
    let bed = Bed::udp(&["data-ciphers AES-192-GCM"]);
    let flags = ["--data-ciphers", "AES-192-GCM"];
    let answered = bed.real_client(&flags, bed.target(), 3);
    assert_eq!(answered, 3, "the real client's pings through the tunnel");
    bed.ping(&flags).state(3).line_has("AES-192-GCM");
}

// ---------------------------------------------------------------------------------------
// Compression framings
// ---------------------------------------------------------------------------------------

#[test]
fn comp_lzo_no() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["comp-lzo no"]);
    agree_ok(&bed, &["--comp-lzo", "no"], &["--comp-lzo", "no"]);
}

#[test]
fn comp_lzo_on_the_server_alone_loses_every_packet_as_for_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    // A 2.6 server does not push `comp-lzo no`: a client without it sends packets the
    // server drops ("Bad compression stub decompression header byte"). The real client
    // gets no echo; the check must not say OK. (What comes back is only what the host
    // sends into the tun by itself, e.g. IPv6 router solicitations, framed for comp-lzo.)
    let bed = Bed::udp(&["comp-lzo no"]);
    let answered = bed.real_client(&[], bed.target(), 3);
    assert_eq!(answered, 0, "the real client got echoes without comp-lzo");
    let run = bed
        .ping(&["--timeout", "3", "--retrycount", "1", "-vv"])
        .state(2)
        .within(3000);
    assert_eq!(perf(run.line(), "pl"), Some(100.0), "{}", run.context());
}

#[test]
fn compress_stub_v2() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress stub-v2"]);
    let flags = ["--compress", "stub-v2"];
    agree_ok(&bed, &flags, &flags);
}

#[test]
fn compress_lz4_v2() {
    if !tunnel_ready() {
        return;
    }
    // 2.6's default `allow-compression asym`: the server decompresses but never compresses.
    let bed = Bed::udp(&["compress lz4-v2"]);
    let flags = ["--compress", "lz4-v2"];
    agree_ok(&bed, &flags, &flags);
}

/// OK with every echo answered, or UNKNOWN naming `what` (a compression the check cannot
/// decode): never CRITICAL where OpenVPN's own client gets its echoes.
fn ok_or_unknown_naming(run: Ran, what: &str) {
    if run.code == 0 {
        all_answered(run, 6000.0);
        return;
    }
    let run = run.state(3);
    assert!(
        run.line().to_ascii_lowercase().contains(what),
        "UNKNOWN must name {what}{}",
        run.context()
    );
}

#[test]
fn compress_lz4_v2_compressing_both_ways_is_never_a_false_critical() {
    if !tunnel_ready() {
        return;
    }
    // The server compresses what shrinks: the check decodes it (OK) or names LZ4 (UNKNOWN).
    let bed = Bed::udp(&["allow-compression yes", "compress lz4-v2"]);
    let flags = ["--compress", "lz4-v2"];
    let answered = bed.real_client(&flags, bed.target(), 3);
    assert_eq!(answered, 3, "the real client's pings through the tunnel");
    ok_or_unknown_naming(bed.ping(&flags), "lz4");
}

#[test]
fn lzo_compressing_both_ways_is_never_a_false_critical() {
    if !tunnel_ready() {
        return;
    }
    for (server, flags) in [
        ("compress lzo", ["--compress", "lzo"]),
        ("comp-lzo yes", ["--comp-lzo", "yes"]),
    ] {
        let bed = Bed::udp(&["allow-compression yes", server]);
        let answered = bed.real_client(&flags, bed.target(), 3);
        assert_eq!(
            answered, 3,
            "the real client's pings through the tunnel ({server})"
        );
        ok_or_unknown_naming(bed.ping(&flags), "lzo");
    }
}

// ---------------------------------------------------------------------------------------
// Keepalive, IPv6, targets, thresholds
// ---------------------------------------------------------------------------------------

#[test]
fn server_keepalive_pings_are_skipped() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["keepalive 1 5"]);
    agree_ok(&bed, &[], &["--timeout", "5", "--retrycount", "1"]);
}

#[test]
fn ipv6_tunnel_pinged_over_icmpv6() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["SLOT_V6"]);
    let v6 = IpAddr::V6(bed.slot.server_tunnel_v6());
    let answered = bed.real_client(&[], v6, 3);
    assert_eq!(
        answered, 3,
        "the real client's ICMPv6 pings through the tunnel"
    );
    all_answered(bed.ping(&["--ping-address", &v6.to_string()]), 6000.0);
    // And the IPv4 address of the same tunnel still answers.
    all_answered(bed.ping(&[]), 6000.0);
}

#[test]
fn a_target_no_pushed_route_covers_is_unknown_naming_the_routes() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    // Outside the pushed /24 and every pushed route; decided before any echo is sent.
    // (Slot 255 is never handed out: no server holds that address.)
    let outside = "10.231.255.1";
    let run = bed
        .ping(&["--ping-address", outside])
        .state(3)
        .line_has(outside);
    assert!(
        run.line().contains("route"),
        "UNKNOWN must name the pushed routes{}",
        run.context()
    );
    // No IPv6 in the tunnel at all.
    bed.ping(&["--ping-address", "fd00:dc:0:ff::1"]).state(3);
}

#[test]
fn generous_thresholds_are_ok_and_reach_the_perfdata() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    let run = all_answered(
        bed.ping(&[
            "--ping-warning",
            "5000,60%",
            "--ping-critical",
            "6000,80%",
            "--ping-count",
            "5",
        ]),
        6000.0,
    );
    let line = run.line();
    assert_eq!(
        thresholds(line, "rta"),
        (5000.0, 6000.0),
        "rta thresholds: {line}"
    );
    assert_eq!(
        thresholds(line, "pl"),
        (60.0, 80.0),
        "pl thresholds: {line}"
    );
}

#[test]
fn an_rta_threshold_below_any_round_trip_raises_its_state() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    // 1 µs: no echo through a userspace VPN server and back comes that fast.
    bed.ping(&["--ping-warning", "0.001,100%"]).state(1);
    bed.ping(&["--ping-critical", "0.001,100%"]).state(2);
}

#[test]
fn half_the_echoes_lost_raise_the_pl_thresholds() {
    if !tunnel_ready() || !program_ready("nft", "nftables, for a firewall rule on a tun") {
        return;
    }
    let bed = Bed::udp(&[]);
    let tun = tun_name(&bed.server);
    let rule = TunFilter::drop_every_second_echo(&bed.slot, &tun);
    // Every second echo request is dropped on the server's tun: 4 echoes lose 2, whatever
    // the timing. (The real client's 4 pings lose 2 as well.)
    let answered = bed.real_client(&[], bed.target(), 4);
    assert_eq!(answered, 2, "real client\n{}", rule.listing());
    let t = ["--timeout", "3", "--retrycount", "1", "--ping-count", "4"];
    let warn = bed
        .ping(&[&t[..], &["--ping-warning", "100000,40%"]].concat())
        .state(1);
    assert_eq!(perf(warn.line(), "pl"), Some(50.0), "{}", warn.context());
    let crit = bed
        .ping(&[&t[..], &["--ping-critical", "100000,40%"]].concat())
        .state(2);
    assert_eq!(perf(crit.line(), "pl"), Some(50.0), "{}", crit.context());
    bed.ping(&[&t[..], &["--ping-warning", "100000,60%"]].concat())
        .state(0);
}

#[test]
fn ping_flags_alone_run_the_login_and_the_echoes() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    all_answered(bed.check(&["--ping-count", "2"]), 6000.0);
    let target = bed.target().to_string();
    all_answered(bed.check(&["--ping-address", &target]), 6000.0);
}

// ---------------------------------------------------------------------------------------
// Tap servers: Ethernet frames, ARP and neighbour discovery
// ---------------------------------------------------------------------------------------

/// The real client on `dev tap`.
const REAL_TAP: &[&str] = &["--dev", "tap"];

/// A routed tap server (`server NET MASK` on `dev tap`: it pushes `route-gateway` and
/// `ifconfig ADDR NETMASK`); OpenVPN addresses its tap device itself.
fn routed_tap(lines: &[&str]) -> Bed {
    let mut l = vec!["dev tap"];
    l.extend_from_slice(lines);
    Bed::udp(&l)
}

#[test]
fn routed_tap_server_pinged_over_ethernet_as_the_real_client_does() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&[]);
    let run = agree_ok(&bed, REAL_TAP, &[]);
    assert!(
        !run.line().contains("framing"),
        "a tap frame read as a framing{}",
        run.context()
    );
}

#[test]
fn routed_tap_server_pinged_over_icmpv6_with_neighbour_discovery() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&["SLOT_V6"]);
    let v6 = IpAddr::V6(bed.slot.server_tunnel_v6());
    let ns = bed.ns.as_ref().expect("a namespace");
    let mut client = RealClient::connected(ns, &bed.server, REAL_TAP);
    // On an Ethernet link both ends run duplicate address detection first: until it ends
    // the addresses are tentative and nothing answers (the check's own address needs
    // none: it answers for it itself).
    let tap = tun_name(&bed.server);
    let settled = |args: &[&str]| {
        (0..100).any(|_| {
            let out = sh("ip", args);
            out.trim().is_empty() || {
                thread::sleep(Duration::from_millis(100));
                false
            }
        })
    };
    assert!(settled(&["-6", "addr", "show", "dev", &tap, "tentative"]));
    assert!(settled(&[
        "-n",
        &ns.name,
        "-6",
        "addr",
        "show",
        "tentative"
    ]));
    let (answered, out) = ns.ping(v6, 3);
    client.stop();
    assert_eq!(
        answered, 3,
        "the real client's ICMPv6 pings over tap\n{out}"
    );
    all_answered(bed.ping(&["--ping-address", &v6.to_string()]), 6000.0);
}

#[test]
fn server_bridge_address_pinged_as_the_real_client_does() {
    if !tunnel_ready() {
        return;
    }
    // `server-bridge GW MASK POOLSTART POOLEND`: OpenVPN leaves the tap device alone (a
    // bridge would hold the address); here the gateway address goes on the tap itself.
    let slot = Slot::take();
    let ns = Netns::new(&slot);
    let n = slot.server_tunnel_v4().octets()[2];
    let bridge = format!("server-bridge 10.231.{n}.1 255.255.255.0 10.231.{n}.100 10.231.{n}.150");
    let server = Server::start_tunnel(
        ServerOpts {
            proto: Proto::Udp,
            family: Family::V4,
            mode: Mode::MultiClient,
            wrap: Wrap::None,
        },
        Some(IpAddr::V4(slot.host_veth())),
        &["dev tap", &bridge],
    );
    let tap = tun_name(&server);
    sh(
        "ip",
        &["addr", "add", &format!("10.231.{n}.1/24"), "dev", &tap],
    );
    sh("ip", &["link", "set", &tap, "up"]);
    let bed = Bed {
        server,
        ns: Some(ns),
        slot,
    };
    agree_ok(&bed, REAL_TAP, &[]);
}

/// A client config for `bed`'s server with `dev LINE`.
fn config_with_dev(bed: &Bed, dev: &str) -> String {
    let s = &bed.server;
    let cfg = s.dir.path().join(format!("client-{dev}.ovpn"));
    std::fs::write(
        &cfg,
        format!(
            "client\ndev {dev}\nproto udp\nremote {} {}\nca {}\ncert {}\nkey {}\n",
            s.addr,
            s.port,
            path(&s.ca_cert),
            path(&s.client_cert),
            path(&s.client_key),
        ),
    )
    .unwrap();
    path(&cfg)
}

#[test]
fn the_config_decides_tap_or_tun_and_a_mismatch_fails_as_for_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&[]);
    let target = bed.target();
    // The real client on dev tun: it connects, but nothing it sends is an Ethernet frame
    // to the server.
    let ns = bed.ns.as_ref().expect("a namespace");
    let mut tun = RealClient::connect(ns, &bed.server, &[]);
    let (answered, out) = if tun.connected {
        ns.ping(target, 3)
    } else {
        (0, String::new())
    };
    let log = tun.log();
    tun.stop();
    assert_eq!(
        answered, 0,
        "a tun client pinged a tap server\n{out}\n{log}"
    );
    // 2.6.14 says nothing of the options string's difference: it connects.
    assert!(
        log.contains("Initialization Sequence Completed"),
        "the tun client did not connect\n{log}"
    );
    let run = ran(&["--config", &config_with_dev(&bed, "tun"), "--ping", "-v"]);
    eprintln!("check (dev tun): {}", run.line());
    run.state(2)
        .line_has("the config says dev tun, the server is dev tap");
    // The same config on dev tap, as the real client on dev tap: OK.
    assert_eq!(bed.real_client(REAL_TAP, target, 3), 3);
    let run = ran(&["--config", &config_with_dev(&bed, "tap"), "--ping", "-v"]);
    eprintln!("check (dev tap): {}", run.line());
    all_answered(run, 6000.0).out_has("Ethernet (tap)");
}

#[test]
fn a_tap_that_drops_echo_is_critical_tunnel_up() {
    if !tunnel_ready() || !program_ready("nft", "nftables, for a firewall rule on a tap") {
        return;
    }
    let bed = routed_tap(&["keepalive 1 5"]);
    let tap = tun_name(&bed.server);
    let rule = TunFilter::drop_echo(&bed.slot, &tap);
    let answered = bed.real_client(REAL_TAP, bed.target(), 3);
    assert_eq!(
        answered,
        0,
        "the real client got echoes\n{}",
        rule.listing()
    );
    let target = bed.target().to_string();
    let run = bed
        .ping(&["--timeout", "5", "--retrycount", "1"])
        .state(2)
        .line_has(&format!(
            "the tunnel is up but {target} does not answer ICMP"
        ))
        .within(5000);
    assert_eq!(perf(run.line(), "pl"), Some(100.0), "{}", run.context());
}

// ---------------------------------------------------------------------------------------
// A tun that drops echoes
// ---------------------------------------------------------------------------------------

#[test]
fn a_tun_that_drops_echo_with_keepalive_is_critical_tunnel_up() {
    if !tunnel_ready() || !program_ready("nft", "nftables, for a firewall rule on a tun") {
        return;
    }
    let bed = Bed::udp(&["keepalive 1 5"]);
    let tun = tun_name(&bed.server);
    let rule = TunFilter::drop_echo(&bed.slot, &tun);
    let answered = bed.real_client(&[], bed.target(), 3);
    assert_eq!(
        answered,
        0,
        "the real client got echoes\n{}",
        rule.listing()
    );
    let target = bed.target().to_string();
    let run = bed
        .ping(&["--timeout", "5", "--retrycount", "1"])
        .state(2)
        .line_has(&format!(
            "the tunnel is up but {target} does not answer ICMP"
        ))
        .within(5000);
    assert_eq!(perf(run.line(), "pl"), Some(100.0), "{}", run.context());
}

#[test]
fn a_tun_that_drops_echo_without_keepalive_is_critical_no_data() {
    if !tunnel_ready() || !program_ready("nft", "nftables, for a firewall rule on a tun") {
        return;
    }
    // Without keepalive, and with the host's own packets to the tun (IPv6 router
    // solicitations, MLD) dropped too, the server sends no data packet: nothing decrypts.
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    let tun = tun_name(&bed.server);
    let _rule = TunFilter::drop_echo_and_silence(&bed.slot, &tun);
    bed.ping(&["--timeout", "3", "--retrycount", "1"])
        .state(2)
        .line_has("no data came back")
        .within(3000);
}

// ---------------------------------------------------------------------------------------
// Hostile data packets: a UDP proxy between the check and a real server
// ---------------------------------------------------------------------------------------

/// What the proxy does to data packets (opcode 9 P_DATA_V2, 6 P_DATA_V1); control
/// packets always pass.
#[derive(Clone, Copy, Debug)]
enum Mangle {
    /// Forward everything.
    Pass,
    /// Flip a bit of every server data packet's tag.
    CorruptTags,
    /// Change the peer-id of every server P_DATA_V2 packet.
    WrongPeerId,
    /// Every server data packet forwarded this many times.
    ReplayEach(usize),
    /// The first server data packet forwarded this many times, later ones dropped.
    ReplayFirstOnly(usize),
    /// From the check's first data packet on, a flood of junk data packets with its
    /// header (bad tags, random packet ids) until the end; of the server's data packets
    /// only the first `genuine` are forwarded.
    Flood { genuine: usize },
    /// The check's data packets held back until the server's first data packet (its
    /// keepalive ping) has gone to the check.
    HoldUntilServerData,
}

fn opcode(b: &[u8]) -> u8 {
    b.first().map_or(0, |b| b >> 3)
}

fn is_data(b: &[u8]) -> bool {
    matches!(opcode(b), 6 | 9)
}

/// Where the tag starts: after opcode/key id, peer-id (V2) and packet id.
fn tag_at(b: &[u8]) -> usize {
    if opcode(b) == 9 {
        8
    } else {
        5
    }
}

struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
    /// Server data packets seen, junk packets sent.
    server_data: Arc<AtomicUsize>,
    junk: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: SocketAddr, mangle: Mangle) -> Proxy {
        let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
        let up = UdpSocket::bind("127.0.0.1:0").unwrap();
        up.connect(upstream).unwrap();
        let tick = Some(Duration::from_millis(20));
        listen.set_read_timeout(tick).unwrap();
        up.set_read_timeout(tick).unwrap();
        let addr = listen.local_addr().unwrap();
        let listen = Arc::new(listen);
        let up = Arc::new(up);
        let stop = Arc::new(AtomicBool::new(false));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let header: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let server_data = Arc::new(AtomicUsize::new(0));
        let junk = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();

        // The check to the server.
        {
            let (listen, up, stop, client, header, server_data) = (
                listen.clone(),
                up.clone(),
                stop.clone(),
                client.clone(),
                header.clone(),
                server_data.clone(),
            );
            threads.push(thread::spawn(move || {
                let mut held: Vec<Vec<u8>> = Vec::new();
                let mut buf = [0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let open = server_data.load(Ordering::Relaxed) > 0;
                    if open {
                        for p in held.drain(..) {
                            let _ = up.send(&p);
                        }
                    }
                    let Ok((n, from)) = listen.recv_from(&mut buf) else {
                        continue;
                    };
                    *client.lock().unwrap() = Some(from);
                    let p = &buf[..n];
                    if is_data(p) {
                        let mut h = header.lock().unwrap();
                        if h.is_none() {
                            *h = Some(p[..tag_at(p)].to_vec());
                        }
                        if matches!(mangle, Mangle::HoldUntilServerData) && !open {
                            held.push(p.to_vec());
                            continue;
                        }
                    }
                    let _ = up.send(p);
                }
            }));
        }
        // The server to the check.
        {
            let (listen, up, stop, client, server_data) = (
                listen.clone(),
                up.clone(),
                stop.clone(),
                client.clone(),
                server_data.clone(),
            );
            threads.push(thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok(n) = up.recv(&mut buf) else {
                        continue;
                    };
                    let Some(to) = *client.lock().unwrap() else {
                        continue;
                    };
                    let mut p = buf[..n].to_vec();
                    if !is_data(&p) {
                        let _ = listen.send_to(&p, to);
                        continue;
                    }
                    let seen = server_data.fetch_add(1, Ordering::Relaxed);
                    let copies = match mangle {
                        Mangle::Pass | Mangle::HoldUntilServerData => 1,
                        Mangle::Flood { genuine } => usize::from(seen < genuine),
                        Mangle::CorruptTags => {
                            let at = tag_at(&p) + 3;
                            if at < p.len() {
                                p[at] ^= 0x40;
                            }
                            1
                        }
                        Mangle::WrongPeerId => {
                            if opcode(&p) == 9 {
                                p[3] ^= 0x01;
                            }
                            1
                        }
                        Mangle::ReplayEach(k) => k,
                        Mangle::ReplayFirstOnly(k) if seen == 0 => k,
                        Mangle::ReplayFirstOnly(_) => 0,
                    };
                    for _ in 0..copies {
                        let _ = listen.send_to(&p, to);
                    }
                }
            }));
        }
        // The flood.
        if matches!(mangle, Mangle::Flood { .. }) {
            let (listen, stop, client, header, junk) = (
                listen.clone(),
                stop.clone(),
                client.clone(),
                header.clone(),
                junk.clone(),
            );
            threads.push(thread::spawn(move || {
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
                let mut rnd = move || {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                };
                while !stop.load(Ordering::Relaxed) {
                    let (Some(h), Some(to)) =
                        (header.lock().unwrap().clone(), *client.lock().unwrap())
                    else {
                        thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    // 200 packets every 5 ms, as long as the check runs.
                    for _ in 0..200 {
                        let mut p = h.clone();
                        let id_at = p.len() - 4;
                        p[id_at..].copy_from_slice(&(rnd() as u32).to_be_bytes());
                        for _ in 0..13 {
                            p.extend_from_slice(&rnd().to_le_bytes());
                        }
                        let _ = listen.send_to(&p, to);
                        junk.fetch_add(1, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            }));
        }
        Proxy {
            addr,
            stop,
            threads,
            server_data,
            junk,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What a hostile test holds until its end.
struct Hostile {
    proxy: Proxy,
    _filter: TunFilter,
    _bed: Bed,
}

fn hostile_ready() -> bool {
    tunnel_ready() && program_ready("nft", "nftables, for a firewall rule on a tun")
}

/// A real UDP server (with `lines`) whose tun lets only echo replies out (the server's
/// data packets are then exactly the echo replies and its keepalives), and the check
/// through a proxy that does `mangle`.
fn through_proxy(mangle: Mangle, lines: &[&str], extra: &[&str]) -> (Ran, Hostile) {
    let bed = Bed::new(Proto::Udp, Wrap::tls_auth("SHA256", Some(0)), false, lines);
    let filter = TunFilter::only_echo_replies_out(&bed.slot, &tun_name(&bed.server));
    let proxy = Proxy::start(bed.server.socket_addr(), mangle);
    let port = proxy.addr.port().to_string();
    let mut a: Vec<String> = vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port];
    a.extend(bed.login_args());
    a.extend(["--ping".into(), "-v".into()]);
    a.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let run = ran(&refs);
    eprintln!("check: {}", run.line());
    assert!(run.err.is_empty(), "stderr{}", run.context());
    let h = Hostile {
        proxy,
        _filter: filter,
        _bed: bed,
    };
    (run, h)
}

const PROXY_T: [&str; 4] = ["--timeout", "3", "--retrycount", "1"];

#[test]
fn hostile_the_proxy_itself_is_transparent() {
    if !hostile_ready() {
        return;
    }
    // The control for every hostile test below: unmangled, the proxy changes nothing.
    let (run, h) = through_proxy(Mangle::Pass, &[], &PROXY_T);
    all_answered(run, 3000.0);
    assert!(h.proxy.server_data.load(Ordering::Relaxed) >= 3);
}

/// Every server data packet mangled: CRITICAL "no data came back", by the deadline, and
/// the server did answer (else the test would prove nothing).
fn mangled_only_is_no_data(mangle: Mangle, lines: &[&str]) {
    let (run, h) = through_proxy(mangle, lines, &PROXY_T);
    let run = run.state(2).line_has("no data came back").within(3000);
    assert!(
        h.proxy.server_data.load(Ordering::Relaxed) >= 1,
        "the server sent no data packet: the test proves nothing{}",
        run.context()
    );
}

#[test]
fn hostile_corrupt_tags_are_never_ok() {
    if !hostile_ready() {
        return;
    }
    mangled_only_is_no_data(Mangle::CorruptTags, &[]);
}

#[test]
fn hostile_corrupt_tags_on_keepalives_too_are_no_data() {
    if !hostile_ready() {
        return;
    }
    // Keepalives that do not authenticate are not "the tunnel is up".
    mangled_only_is_no_data(Mangle::CorruptTags, &["keepalive 1 5"]);
}

#[test]
fn hostile_wrong_peer_id_is_never_ok() {
    if !hostile_ready() {
        return;
    }
    mangled_only_is_no_data(Mangle::WrongPeerId, &[]);
}

#[test]
fn hostile_replays_of_every_reply_are_counted_once() {
    if !hostile_ready() {
        return;
    }
    let (run, h) = through_proxy(Mangle::ReplayEach(5), &[], &PROXY_T);
    // 3 echoes, each reply 5 times: 0% lost, not "-400%"; the check must not end on a
    // count of replies either (it is OK because each echo was answered).
    all_answered(run, 3000.0);
    assert!(h.proxy.server_data.load(Ordering::Relaxed) >= 3);
}

#[test]
fn hostile_one_reply_replayed_is_one_answer() {
    if !hostile_ready() {
        return;
    }
    let (run, h) = through_proxy(Mangle::ReplayFirstOnly(10), &[], &PROXY_T);
    // Only the first reply passes (10 times): 1 of 3 answered, 2 lost.
    let line = run.line().to_string();
    let pl = perf(&line, "pl").unwrap_or(-1.0);
    assert!((66.0..=67.0).contains(&pl), "pl {pl}{}", run.context());
    let rta = perf(&line, "rta").unwrap_or(-1.0);
    assert!(rta > 0.0 && rta < 3000.0, "rta {rta}{}", run.context());
    assert_ne!(run.code, 3, "{}", run.context());
    run.within(3000);
    assert!(h.proxy.server_data.load(Ordering::Relaxed) >= 1);
}

#[test]
fn hostile_a_flood_beside_the_genuine_replies_ends_by_the_deadline() {
    if !hostile_ready() {
        return;
    }
    // Two of the three replies pass, the third never comes: the check waits for it
    // until its deadline, under a flood of junk data packets all along.
    let (run, h) = through_proxy(Mangle::Flood { genuine: 2 }, &[], &PROXY_T);
    let junk = h.proxy.junk.load(Ordering::Relaxed);
    eprintln!("flood: {junk} junk packets");
    assert!(junk >= 2000, "no flood: {junk}{}", run.context());
    let run = run.within(3000 + 1000);
    assert!((0..=2).contains(&run.code), "{}", run.context());
    // The genuine replies counted, each once, amid the junk.
    let pl = perf(run.line(), "pl").unwrap_or(-1.0);
    assert!((33.0..=34.0).contains(&pl), "pl {pl}{}", run.context());
}

#[test]
fn hostile_a_flood_alone_is_no_data_by_the_deadline() {
    if !hostile_ready() {
        return;
    }
    let (run, h) = through_proxy(Mangle::Flood { genuine: 0 }, &[], &PROXY_T);
    let junk = h.proxy.junk.load(Ordering::Relaxed);
    eprintln!("flood: {junk} junk packets");
    assert!(junk >= 2000, "no flood: {junk}{}", run.context());
    run.state(2)
        .line_has("no data came back")
        .within(3000 + 1000);
}

#[test]
fn keepalives_before_the_replies_are_skipped() {
    if !hostile_ready() {
        return;
    }
    // The check's echoes wait in the proxy for the server's first keepalive ping, so
    // that a keepalive surely comes first; the replies after it still count.
    let (run, h) = through_proxy(
        Mangle::HoldUntilServerData,
        &["keepalive 1 5"],
        &["--timeout", "6", "--retrycount", "1"],
    );
    all_answered(run, 6000.0);
    assert!(h.proxy.server_data.load(Ordering::Relaxed) >= 4);
}

// ---------------------------------------------------------------------------------------
// Deferred authentication
// ---------------------------------------------------------------------------------------

/// Runs of the check per transport and stage: it must be OK every time.
const DEFERRED_RUNS: usize = 6;

/// A server whose `auth-user-pass-verify` answers "deferred" and decides 1 s later
/// ([`deferred_verify`]), with the real client's namespace.
fn deferred_bed(proto: Proto, dir: &Path) -> Bed {
    let verify = path(&deferred_verify(dir, "1"));
    let line = format!("auth-user-pass-verify {verify} via-file");
    Bed::new(proto, Wrap::None, true, &["script-security 2", &line])
}

/// The real client connects (it asks for the push about 1 s after the handshake), and
/// then the check, with the default `--timeout`, is OK on every run: `--login`, and over
/// UDP `--ping` with every echo answered.
fn deferred_granted(proto: Proto, ping: bool) {
    if !tunnel_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bed = deferred_bed(proto, dir.path());
    let up = path(&user_pass(dir.path(), "monitor", "any"));
    let answered = bed.real_client(&["--auth-user-pass", &up], bed.target(), 3);
    assert_eq!(answered, 3, "the real client's pings through the tunnel");
    for _ in 0..DEFERRED_RUNS {
        let run = bed.check(&["--auth-user-pass", &up]).state(0);
        assert!(
            run.line().contains("logged in as monitor"),
            "{}",
            run.context()
        );
        if ping {
            all_answered(bed.ping(&["--auth-user-pass", &up]), 6000.0);
        }
    }
}

#[test]
fn deferred_authentication_granted_over_udp_login_and_ping() {
    deferred_granted(Proto::Udp, true);
}

#[test]
fn deferred_authentication_granted_over_tcp_login() {
    deferred_granted(Proto::Tcp, false);
}

/// A deferred refusal: the real client does not connect, the check is CRITICAL naming
/// AUTH_FAILED, with the default `--timeout`.
#[test]
fn deferred_authentication_refused_is_critical_naming_auth_failed() {
    if !tunnel_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bed = deferred_bed(Proto::Udp, dir.path());
    let up = path(&user_pass(dir.path(), "intruder", "any"));
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut client = RealClient::connect(ns, &bed.server, &["--auth-user-pass", &up]);
    assert!(
        !client.connected,
        "the real client connected{}",
        client.log()
    );
    assert!(client.log().contains("AUTH_FAILED"), "{}", client.log());
    client.stop();
    bed.check(&["--auth-user-pass", &up])
        .state(2)
        .line_has("AUTH_FAILED");
}

// ---------------------------------------------------------------------------------------
// DNS through the tunnel
// ---------------------------------------------------------------------------------------

/// The real client's `dig` in its namespace through its tunnel: the answer line(s) or
/// the status.
fn dig(bed: &Bed, client: &[&str], server: IpAddr, name: &str) -> String {
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut c = RealClient::connected(ns, &bed.server, client);
    let dig = find_in_path("dig").expect("dig (Debian: bind9-dnsutils)");
    let out = ns
        .command(
            &dig,
            &[
                &format!("@{server}"),
                name,
                "A",
                "+time=2",
                "+tries=1",
                "+noall",
                "+answer",
                "+comments",
            ],
        )
        .stdin(std::process::Stdio::null())
        .output()
        .expect("dig");
    c.stop();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("real client's dig {name}:\n{text}");
    text
}

/// `--dns` against the pushed DNS server, with OpenVPN's own client and `dig` as the
/// reference on the same server: an answer, NXDOMAIN, an answer that is not the expected
/// one, and a stopped DNS server.
#[test]
fn dns_through_the_tunnel_agrees_with_the_real_clients_dig() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["push \"dhcp-option DNS SLOT_V4_SERVER\""]);
    let server_ip = bed.target();
    let dnsmasq = Dnsmasq::start(server_ip);

    assert!(dig(&bed, &[], server_ip, "intranet.test").contains("10.9.9.9"));
    let run = bed
        .check(&["--dns", "intranet.test", "--dns-expect", "10.9.9.9"])
        .state(0)
        .line_has(&format!(
            "DNS {server_ip} answered intranet.test A: 10.9.9.9"
        ));
    assert!(
        perf(run.line(), "dns_time").is_some_and(|t| t > 0.0),
        "{}",
        run.context()
    );

    // Echoes and the question in one session: both verdicts, both perfdata.
    let run = bed
        .check(&["--ping", "--dns", "intranet.test"])
        .state(0)
        .line_has("3/3 echoes")
        .line_has("answered intranet.test A: 10.9.9.9");
    assert!(perf(run.line(), "rta").is_some() && perf(run.line(), "dns_time").is_some());

    assert!(dig(&bed, &[], server_ip, "nothere.test").contains("NXDOMAIN"));
    bed.check(&["--dns", "nothere.test"])
        .state(2)
        .line_has(&format!(
            "the pushed DNS server {server_ip} answered NXDOMAIN for nothere.test A"
        ));

    bed.check(&["--dns", "intranet.test", "--dns-expect", "10.9.9.8"])
        .state(2)
        .line_has("with 10.9.9.9, not the expected 10.9.9.8");

    drop(dnsmasq);
    assert!(!dig(&bed, &[], server_ip, "intranet.test").contains("10.9.9.9"));
    bed.check(&["--dns", "intranet.test"])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but the pushed DNS server {server_ip} did not answer intranet.test A"
        ));
}

/// No DNS server pushed and none given: UNKNOWN naming what to give; `--dns-server` on an
/// address no pushed route covers: UNKNOWN naming the routes.
#[test]
fn dns_without_a_server_or_a_route_is_unknown() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    bed.check(&["--dns", "intranet.test"])
        .state(3)
        .line_has("no DNS server to ask for intranet.test A");
    bed.check(&["--dns", "intranet.test", "--dns-server", "192.0.2.53"])
        .state(3)
        .line_has("no pushed route or address covers the DNS server 192.0.2.53");
    // The same for the name of an --http URL.
    bed.check(&["--http", "http://web.test/"])
        .state(3)
        .line_has("no DNS server to look up web.test of http://web.test/");
    bed.check(&["--http", "http://web.test/", "--dns-server", "192.0.2.53"])
        .state(3)
        .line_has(
            "no pushed route or address covers the DNS server 192.0.2.53 to look up web.test",
        );
}

// ---------------------------------------------------------------------------------------
// TCP through the tunnel
// ---------------------------------------------------------------------------------------

/// The real client's `bash` in its namespace opening a TCP connection through its tunnel:
/// whether it connected, and what bash said.
fn real_connect(bed: &Bed, target: SocketAddr) -> (bool, String) {
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut c = RealClient::connected(ns, &bed.server, &[]);
    let script = format!(
        "exec 3<>/dev/tcp/{}/{} && echo connected",
        target.ip(),
        target.port()
    );
    let out = ns
        .command(Path::new("timeout"), &["3", "bash", "-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash in the namespace");
    c.stop();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("real client's connect to {target}: {text}");
    (out.status.success(), text)
}

/// `--tcp-connect` with OpenVPN's own client and bash's /dev/tcp as the reference on the
/// same server: a listening port, a closed one (reset), and one a firewall drops.
#[test]
fn tcp_connect_through_the_tunnel_agrees_with_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&[]);
    let ip = bed.target();
    let listener = std::net::TcpListener::bind((ip, 0)).expect("listen on the tunnel address");
    let open = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            if conn.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let closed = SocketAddr::new(ip, free_port(Proto::Tcp, Family::V4));

    assert!(real_connect(&bed, open).0);
    let run = bed
        .check(&["--tcp-connect", &open.to_string()])
        .state(0)
        .line_has(&format!("TCP {open} connected in"));
    assert!(
        perf(run.line(), "tcp_time").is_some_and(|t| t > 0.0),
        "{}",
        run.context()
    );

    let (ok, said) = real_connect(&bed, closed);
    assert!(!ok && said.contains("refused"), "{said}");
    bed.check(&["--tcp-connect", &closed.to_string()])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but {closed} refused the connection"
        ));

    let tun = tun_name(&bed.server);
    let filter = TunFilter::drop_tcp(&bed.slot, &tun, open.port());
    assert!(!real_connect(&bed, open).0, "{}", filter.listing());
    bed.check(&["--tcp-connect", &open.to_string(), "--timeout", "1"])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but {open} did not answer the connection"
        ));
    drop(filter);

    // With echoes and a connection in one session.
    bed.check(&["--ping", "--tcp-connect", &open.to_string()])
        .state(0)
        .line_has("3/3 echoes")
        .line_has(&format!("TCP {open} connected"));
    assert!(accepted.load(Ordering::SeqCst) >= 3);

    // No pushed route to the address: UNKNOWN, nothing tried.
    bed.check(&["--tcp-connect", "192.0.2.80:80"])
        .state(3)
        .line_has("no pushed route or address covers 192.0.2.80:80");
}

/// The real client's first response line for `path` through its tunnel (bash /dev/tcp).
fn real_get(bed: &Bed, target: SocketAddr, path: &str) -> String {
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut c = RealClient::connected(ns, &bed.server, &[]);
    let script = format!(
        "exec 3<>/dev/tcp/{}/{} && printf 'GET {path} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -1 <&3",
        target.ip(),
        target.port()
    );
    let out = ns
        .command(Path::new("timeout"), &["3", "bash", "-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash in the namespace");
    c.stop();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    eprintln!("real client's GET {path}: {text}");
    text
}

/// `--http` with OpenVPN's own client as the reference on the same server: 200, 404, a
/// body beyond the limit, a head without its body, `--http-expect`, and no listener.
#[test]
fn http_through_the_tunnel_agrees_with_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&[]);
    let ip = bed.target();
    let listener = std::net::TcpListener::bind((ip, 0)).expect("listen on the tunnel address");
    let web = listener.local_addr().unwrap();
    serve_http(listener);
    let url = |path: &str| format!("http://{web}{path}");

    assert!(real_get(&bed, web, "/ok").starts_with("HTTP/1.1 200"));
    let run = bed
        .check(&["--http", &url("/ok")])
        .state(0)
        .line_has(&format!("{} answered 200 OK, 5 bytes in", url("/ok")));
    assert!(perf(run.line(), "http_time").is_some(), "{}", run.context());
    assert!(run.line().contains("http_size=5B"), "{}", run.context());

    assert!(real_get(&bed, web, "/missing").starts_with("HTTP/1.1 404"));
    bed.check(&["--http", &url("/missing")])
        .state(2)
        .line_has("answered 404 Not Found, 0 bytes")
        .line_has("not a 2xx or 3xx");
    bed.check(&["--http", &url("/missing"), "--http-expect", "404"])
        .state(0);

    assert!(real_get(&bed, web, "/broken").starts_with("HTTP/1.1 500"));
    bed.check(&["--http", &url("/broken")])
        .state(2)
        .line_has("answered 500 Oops, 0 bytes")
        .line_has("not a 2xx or 3xx");

    bed.check(&["--http", &url("/big")])
        .state(0)
        .line_has("more than");

    bed.check(&["--http", &url("/slow"), "--timeout", "1"])
        .state(2)
        .line_has("accepted the connection but sent no whole response in time");

    let closed = SocketAddr::new(ip, free_port(Proto::Tcp, Family::V4));
    bed.check(&["--http", &format!("http://{closed}/")])
        .state(2)
        .line_has("refused the connection");
}

// ---------------------------------------------------------------------------------------
// https and names through the tunnel
// ---------------------------------------------------------------------------------------

/// `openssl s_server -www` on `on`: a real TLS server whose `GET /` is `HTTP/1.0 200 ok`
/// with a status page.
struct SServer(std::process::Child);

impl SServer {
    fn start(on: SocketAddr, cert: &Path, key: &Path) -> SServer {
        SServer::start_in(None, on, cert, key)
    }

    /// [`SServer::start`], on a LAN host behind the server when `lan` is given.
    fn start_in(lan: Option<&Lan>, on: SocketAddr, cert: &Path, key: &Path) -> SServer {
        let mut command = match lan {
            Some(lan) => lan.command(&openssl_bin(), &[]),
            None => std::process::Command::new(openssl_bin()),
        };
        let child = command
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(on.to_string())
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn openssl s_server");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&on, Duration::from_millis(200)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "openssl s_server on {on} did not start"
            );
            thread::sleep(Duration::from_millis(50));
        }
        SServer(child)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real client's `curl` in its namespace through its tunnel: the HTTP status it got
/// (`000` when it got none), and what it said. `args` go before the URL.
fn real_curl(bed: &Bed, args: &[&str], url: &str) -> (String, String) {
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut c = RealClient::connected(ns, &bed.server, &[]);
    let curl = find_in_path("curl").expect("curl (Debian: curl)");
    let mut a = vec![
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "5",
    ];
    a.extend_from_slice(args);
    a.push(url);
    let out = ns
        .command(&curl, &a)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("curl in the namespace");
    c.stop();
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    eprintln!("real client's curl {url}: {code} {said}");
    (code, said)
}

/// `--http https://NAME/` through the tunnel, the name looked up at the pushed DNS
/// server and the certificate judged, with OpenVPN's own client and `curl` as the
/// reference on the same server: a valid certificate for the name, no trust (the system's
/// store lacks the test CA), a certificate without the address the URL names, `-C`, a
/// name that does not exist, and http:// by name.
#[test]
fn https_by_name_through_the_tunnel_agrees_with_the_real_clients_curl() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["push \"dhcp-option DNS SLOT_V4_SERVER\""]);
    let ip = bed.target();
    let _dns = Dnsmasq::start_with(ip, &[format!("--address=/web.test/{ip}")]);
    let mut pki = pki::TestPki::temp();
    let ca = pki.self_signed_ca("web-ca", &pki::CertSpec::ca("Web Test CA"));
    let web = pki.issue(
        &ca,
        "web",
        &pki::CertSpec {
            san: Some("DNS:web.test"),
            not_after_days: 20,
            ..pki::CertSpec::server("web.test")
        },
    );
    let tls_at = SocketAddr::new(ip, free_port(Proto::Tcp, Family::V4));
    let _tls = SServer::start(tls_at, &web.crt, &web.key);
    let port = tls_at.port();
    let url = format!("https://web.test:{port}/");
    let ca_file = path(&ca.crt);
    let resolve = format!("web.test:{port}:{ip}");

    assert!(dig(&bed, &[], ip, "web.test").contains(&ip.to_string()));
    let (code, _) = real_curl(&bed, &["--cacert", &ca_file, "--resolve", &resolve], &url);
    assert_eq!(code, "200");
    let run = bed
        .check(&["--http", &url, "--http-ca", &ca_file])
        .state(0)
        .line_has(&format!("{url} answered 200 ok"));
    assert!(perf(run.line(), "http_time").is_some(), "{}", run.context());
    // Valid 20 days from about now: 19 or 20 whole days left, by the time of day.
    let days = perf(run.line(), "http_cert_days").map(|d| d as i64);
    assert!(matches!(days, Some(19 | 20)), "{}", run.context());
    let days = days.unwrap();

    // -C: the certificate's days left under a 30-day warning: the same, or 19 where the
    // first check ran within the second of the issue (20 days to the second) and this one
    // after it.
    let warned = bed
        .check(&["--http", &url, "--http-ca", &ca_file, "-C", "30,10"])
        .state(1);
    assert!(
        [days, 19].iter().any(|d| warned.line().contains(&format!(
            "{url} certificate CN=web.test expires in {d} days (warning under 30)"
        ))),
        "{}",
        warned.context()
    );

    // The system's trust store does not hold the test CA: curl fails, so does the check.
    let (code, said) = real_curl(&bed, &["--resolve", &resolve], &url);
    assert_eq!(code, "000", "{said}");
    bed.check(&["--http", &url]).state(2).line_has(&format!(
        "the VPN is up, but {url}: TLS failed: invalid peer certificate"
    ));

    // By address: the certificate names web.test only.
    let by_ip = format!("https://{tls_at}/");
    let (code, said) = real_curl(&bed, &["--cacert", &ca_file], &by_ip);
    assert_eq!(code, "000", "{said}");
    bed.check(&["--http", &by_ip, "--http-ca", &ca_file])
        .state(2)
        .line_has("TLS failed: invalid peer certificate");

    // A name the DNS server does not know.
    assert!(dig(&bed, &[], ip, "nothere.test").contains("NXDOMAIN"));
    bed.check(&["--http", "https://nothere.test/", "--http-ca", &ca_file])
        .state(2)
        .line_has(&format!(
            "nothere.test of https://nothere.test/ did not resolve: the pushed DNS server {ip} answered NXDOMAIN"
        ));

    // http:// by name, together with the echoes.
    let listener = std::net::TcpListener::bind((ip, 0)).expect("listen on the tunnel address");
    let plain_port = listener.local_addr().unwrap().port();
    serve_http(listener);
    bed.check(&[
        "--ping",
        "--http",
        &format!("http://web.test:{plain_port}/ok"),
    ])
    .state(0)
    .line_has("3/3 echoes")
    .line_has(&format!(
        "http://web.test:{plain_port}/ok answered 200 OK, 5 bytes"
    ));
}

/// A LAN host behind the server, reached through a pushed route as users reach their
/// intranet: its DNS server, a TCP port and an https server, all in one session with an
/// echo to it, and OpenVPN's own client with `ping`, `dig`, bash and `curl` as the
/// reference on the same server.
#[test]
fn a_lan_host_behind_a_pushed_route_agrees_with_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["push \"route 10.232.SLOT_N.0 255.255.255.0\""]);
    let lan = Lan::new(&bed.slot, &tun_name(&bed.server));
    let host = IpAddr::V4(Lan::address(&bed.slot));
    let _dns = Dnsmasq::start_in(Some(&lan), host, &[format!("--address=/web.test/{host}")]);
    let mut pki = pki::TestPki::temp();
    let ca = pki.self_signed_ca("lan-ca", &pki::CertSpec::ca("LAN Test CA"));
    let san = format!("DNS:web.test, IP:{host}");
    let web = pki.issue(
        &ca,
        "lan-web",
        &pki::CertSpec {
            san: Some(&san),
            ..pki::CertSpec::server("web.test")
        },
    );
    let https_at = SocketAddr::new(host, 8443);
    let _https = SServer::start_in(Some(&lan), https_at, &web.crt, &web.key);
    let ca_file = path(&ca.crt);
    let url = "https://web.test:8443/";
    let dns_at = SocketAddr::new(host, 53);

    assert_eq!(
        bed.real_client(&[], host, 2),
        2,
        "the real client's pings to {host}"
    );
    assert!(dig(&bed, &[], host, "web.test").contains(&host.to_string()));
    assert!(real_connect(&bed, dns_at).0);
    let resolve = format!("web.test:8443:{host}");
    let (code, said) = real_curl(&bed, &["--cacert", &ca_file, "--resolve", &resolve], url);
    assert_eq!(code, "200", "{said}");

    let run = bed
        .check(&[
            "--ping-address",
            &host.to_string(),
            "--dns",
            "web.test",
            "--dns-server",
            &host.to_string(),
            "--dns-expect",
            &host.to_string(),
            "--tcp-connect",
            &dns_at.to_string(),
            "--http",
            url,
            "--http-ca",
            &ca_file,
        ])
        .state(0)
        .line_has(&format!("3/3 echoes from {host}"))
        .line_has(&format!("DNS {host} answered web.test A: {host}"))
        .line_has(&format!("TCP {dns_at} connected"))
        .line_has(&format!("{url} answered 200 ok"));
    for label in [
        "rta",
        "dns_time",
        "tcp_time",
        "http_time",
        "http_size",
        "http_cert_days",
    ] {
        assert!(
            perf(run.line(), label).is_some(),
            "no {label}{}",
            run.context()
        );
    }

    // The LAN host's port 8444 is closed: refused both ways.
    let closed = SocketAddr::new(host, 8444);
    let (ok, said) = real_connect(&bed, closed);
    assert!(!ok && said.contains("refused"), "{said}");
    bed.check(&["--tcp-connect", &closed.to_string()])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but {closed} refused the connection"
        ));
}

// ---------------------------------------------------------------------------------------
// DNS, TCP and HTTP through a tap tunnel
// ---------------------------------------------------------------------------------------

/// `script` in bash in the namespace while OpenVPN's own client on tap is connected:
/// whether it succeeded within `secs`, and what it printed.
fn real_tap_bash(bed: &Bed, secs: u32, script: &str) -> (bool, String) {
    let ns = bed.ns.as_ref().expect("a bed with a namespace");
    let mut c = RealClient::connected(ns, &bed.server, REAL_TAP);
    let out = ns
        .command(
            Path::new("timeout"),
            &[&secs.to_string(), "bash", "-c", script],
        )
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash in the namespace");
    c.stop();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("real client (tap): {script}\n{text}");
    (out.status.success(), text)
}

/// The real client's TCP connection to `target` over tap (bash's /dev/tcp).
fn real_tap_connect(bed: &Bed, target: SocketAddr) -> (bool, String) {
    real_tap_bash(
        bed,
        8,
        &format!(
            "exec 3<>/dev/tcp/{}/{} && echo connected",
            target.ip(),
            target.port()
        ),
    )
}

/// A routed tap server pushing a DNS server that is a second address of its tap device
/// (10.231.N.200: its own neighbour on the link, beside the server's 10.231.N.1), with
/// dnsmasq there (`web.test` is the server's address) and a TCP and an HTTP listener on
/// the server's address.
struct TapServices {
    bed: Bed,
    dns: IpAddr,
    open: SocketAddr,
    web: SocketAddr,
    accepted: Arc<AtomicUsize>,
    _dnsmasq: Dnsmasq,
}

impl TapServices {
    fn start() -> TapServices {
        // As `routed_tap`, with the push naming the slot's second address.
        let slot = Slot::take();
        let ns = Netns::new(&slot);
        let n = slot.server_tunnel_v4().octets()[2];
        let dns = IpAddr::V4(std::net::Ipv4Addr::new(10, 231, n, 200));
        let push = format!("push \"dhcp-option DNS {dns}\"");
        let server = Server::start_tunnel(
            ServerOpts {
                proto: Proto::Udp,
                family: Family::V4,
                mode: Mode::MultiClient,
                wrap: Wrap::None,
            },
            Some(IpAddr::V4(slot.host_veth())),
            &[&slot.server_v4(), "dev tap", &push],
        );
        let bed = Bed {
            server,
            ns: Some(ns),
            slot,
        };
        let tap = tun_name(&bed.server);
        sh("ip", &["addr", "add", &format!("{dns}/24"), "dev", &tap]);
        let ip = bed.target();
        let dnsmasq = Dnsmasq::start_with(dns, &[format!("--address=/web.test/{ip}")]);
        let listener = std::net::TcpListener::bind((ip, 0)).expect("listen on the tap address");
        let open = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if conn.is_ok() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let web_listener = std::net::TcpListener::bind((ip, 0)).expect("listen on the tap address");
        let web = web_listener.local_addr().unwrap();
        serve_http(web_listener);
        TapServices {
            bed,
            dns,
            open,
            web,
            accepted,
            _dnsmasq: dnsmasq,
        }
    }
}

/// `--dns`, `--tcp-connect` and `--http` (by address and by name) on a routed tap server,
/// with OpenVPN's own client on tap as the reference on the same server: each answered
/// both ways, a closed port refused both ways, and all of them with the echoes in one session (two neighbours on
/// the link, each asked for once, everything that waited for them sent).
#[test]
fn dns_tcp_and_http_through_a_tap_agree_with_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let s = TapServices::start();
    let (bed, dns, open, web) = (&s.bed, s.dns, s.open, s.web);
    let ip = bed.target();

    // DNS: the pushed server, a neighbour of its own on the link.
    assert!(dig(bed, REAL_TAP, dns, "intranet.test").contains("10.9.9.9"));
    bed.check(&["--dns", "intranet.test", "--dns-expect", "10.9.9.9"])
        .state(0)
        .line_has(&format!("DNS {dns} answered intranet.test A: 10.9.9.9"))
        .out_has("Ethernet (tap)")
        .out_has(&format!("{dns} is at "));
    assert!(dig(bed, REAL_TAP, dns, "nothere.test").contains("NXDOMAIN"));
    bed.check(&["--dns", "nothere.test"])
        .state(2)
        .line_has(&format!(
            "the pushed DNS server {dns} answered NXDOMAIN for nothere.test A"
        ));

    // TCP: accepted, and a closed port refused, both ways.
    let (ok, said) = real_tap_connect(bed, open);
    assert!(ok && said.contains("connected"), "{said}");
    let run = bed
        .check(&["--tcp-connect", &open.to_string()])
        .state(0)
        .line_has(&format!("TCP {open} connected in"));
    assert!(
        perf(run.line(), "tcp_time").is_some_and(|t| t > 0.0),
        "{}",
        run.context()
    );
    let closed = SocketAddr::new(ip, free_port(Proto::Tcp, Family::V4));
    let (ok, said) = real_tap_connect(bed, closed);
    assert!(!ok && said.contains("refused"), "{said}");
    bed.check(&["--tcp-connect", &closed.to_string()])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but {closed} refused the connection"
        ));

    // HTTP: the same response both ways.
    let (ok, said) = real_tap_bash(
        bed,
        8,
        &format!(
            "exec 3<>/dev/tcp/{}/{} && printf 'GET /ok HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -1 <&3",
            web.ip(),
            web.port()
        ),
    );
    assert!(ok && said.starts_with("HTTP/1.1 200"), "{said}");
    let url = format!("http://{web}/ok");
    let run = bed
        .check(&["--http", &url])
        .state(0)
        .line_has(&format!("{url} answered 200 OK, 5 bytes in"));
    assert!(run.line().contains("http_size=5B"), "{}", run.context());
    bed.check(&["--http", &format!("http://{web}/missing")])
        .state(2)
        .line_has("answered 404 Not Found, 0 bytes");
    // By name: the lookup asks the DNS server's neighbour, the request the server's.
    assert!(dig(bed, REAL_TAP, dns, "web.test").contains(&ip.to_string()));
    let by_name = format!("http://web.test:{}/ok", web.port());
    bed.check(&["--http", &by_name])
        .state(0)
        .line_has(&format!("{by_name} answered 200 OK, 5 bytes"))
        .out_has(&format!("{dns} is at "))
        .out_has(&format!("{ip} is at "));

    // Everything in one session: two neighbours, each asked for and learnt once.
    let run = bed
        .check(&[
            "-vv",
            "--ping",
            "--dns",
            "intranet.test",
            "--tcp-connect",
            &open.to_string(),
            "--http",
            &url,
        ])
        .state(0)
        .line_has("3/3 echoes")
        .line_has("answered intranet.test A: 10.9.9.9")
        .line_has(&format!("TCP {open} connected"))
        .line_has("answered 200 OK");
    for neighbour in [ip, dns] {
        let learnt = run
            .out
            .lines()
            .filter(|l| l.contains(&format!(": {neighbour} is at ")))
            .count();
        assert_eq!(
            learnt,
            1,
            "{neighbour} learnt {learnt} times{}",
            run.context()
        );
        assert!(
            run.out
                .contains(&format!("asked for the MAC of {neighbour} (ARP request)")),
            "{neighbour} never asked for{}",
            run.context()
        );
    }
    assert!(s.accepted.load(Ordering::SeqCst) >= 3);
}

/// An address of the tap's subnet that no host owns: the real client's connection fails
/// with "No route to host" (its ARP requests unanswered); the check says the address did
/// not answer its ARP requests on the tap link, for TCP and DNS alike.
#[test]
fn a_tap_neighbour_that_never_answers_arp_is_named_as_for_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&[]);
    let octets = bed.slot.server_tunnel_v4().octets();
    let nobody = IpAddr::V4(std::net::Ipv4Addr::new(
        octets[0], octets[1], octets[2], 201,
    ));
    let target = SocketAddr::new(nobody, 80);
    let (ok, said) = real_tap_connect(&bed, target);
    assert!(!ok && said.contains("No route to host"), "{said}");
    bed.check(&[
        "--tcp-connect",
        &target.to_string(),
        "--timeout",
        "2",
        "--retrycount",
        "1",
    ])
    .state(2)
    .line_has(&format!(
        "the VPN is up, but {target} did not answer the connection: {nobody} did not answer"
    ))
    .line_has("ARP requests on the tap link")
    .within(2000);
    bed.check(&[
        "--dns",
        "intranet.test",
        "--dns-server",
        &nobody.to_string(),
        "--timeout",
        "2",
        "--retrycount",
        "1",
    ])
    .state(2)
    .line_has(&format!(
        "the DNS server {nobody} did not answer intranet.test A: {nobody} did not answer"
    ));
}

/// `--tcp-connect` to the server's IPv6 tunnel address on a tap (neighbour discovery for
/// a TCP connection), with the real client on tap as the reference: accepted, and a
/// closed port refused, both ways.
#[test]
fn tcp_connect_over_ipv6_on_a_tap_agrees_with_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&["SLOT_V6"]);
    let v6 = IpAddr::V6(bed.slot.server_tunnel_v6());
    // The server's address can be bound once its duplicate address detection is over.
    let tap = tun_name(&bed.server);
    let settled = (0..100).any(|_| {
        sh("ip", &["-6", "addr", "show", "dev", &tap, "tentative"])
            .trim()
            .is_empty()
            || {
                thread::sleep(Duration::from_millis(100));
                false
            }
    });
    assert!(settled, "the server's tap address stayed tentative");
    let listener = std::net::TcpListener::bind((v6, 0)).expect("listen on the IPv6 address");
    let open = listener.local_addr().unwrap();
    thread::spawn(move || for _conn in listener.incoming() {});
    let closed = SocketAddr::new(v6, free_port(Proto::Tcp, Family::V6));
    // The real client's own address is tentative for a moment too: wait for it first.
    let connect = |target: SocketAddr| {
        real_tap_bash(
            &bed,
            12,
            &format!(
                "for i in $(seq 100); do [ -z \"$(ip -6 addr show tentative)\" ] && break; sleep 0.1; done; exec 3<>/dev/tcp/{}/{} && echo connected",
                target.ip(),
                target.port()
            ),
        )
    };
    let (ok, said) = connect(open);
    assert!(ok && said.contains("connected"), "{said}");
    bed.check(&["--tcp-connect", &open.to_string(), "-vv"])
        .state(0)
        .line_has(&format!("TCP {open} connected in"))
        .out_has(&format!(
            "asked for the MAC of {v6} (neighbour solicitation)"
        ))
        .out_has(&format!("{v6} is at "));
    let (ok, said) = connect(closed);
    assert!(!ok && said.contains("refused"), "{said}");
    bed.check(&["--tcp-connect", &closed.to_string()])
        .state(2)
        .line_has(&format!(
            "the VPN is up, but {closed} refused the connection"
        ));
}

/// A LAN host beyond a routed tap server, through its pushed route: the first hop on the
/// tap link is the pushed `route-gateway` (the server's host), not the LAN host, which
/// no one on the link answers ARP for. OpenVPN's own tap client pings the host, asks its
/// DNS server and connects to its port; the check does the same in one session.
#[test]
fn a_lan_host_beyond_a_routed_tap_is_reached_through_the_gateway_as_by_the_real_client() {
    if !tunnel_ready() {
        return;
    }
    let bed = routed_tap(&["push \"route 10.232.SLOT_N.0 255.255.255.0\""]);
    let lan = Lan::new(&bed.slot, &tun_name(&bed.server));
    let host = IpAddr::V4(Lan::address(&bed.slot));
    let _dns = Dnsmasq::start_in(Some(&lan), host, &[format!("--address=/web.test/{host}")]);
    let dns_at = SocketAddr::new(host, 53);

    assert_eq!(
        bed.real_client(REAL_TAP, host, 2),
        2,
        "the real client's pings to {host}"
    );
    assert!(dig(&bed, REAL_TAP, host, "web.test").contains(&host.to_string()));

    let gateway = bed.target();
    let run = bed
        .check(&[
            "--ping-address",
            &host.to_string(),
            "--dns",
            "web.test",
            "--dns-server",
            &host.to_string(),
            "--tcp-connect",
            &dns_at.to_string(),
        ])
        .state(0)
        .line_has(&format!("3/3 echoes from {host}"))
        .line_has(&format!("DNS {host} answered web.test A: {host}"))
        .line_has(&format!("TCP {dns_at} connected"));
    // One neighbour on the link: the gateway, learnt once.
    assert!(
        run.context().contains(&format!("{gateway} is at")),
        "the gateway's MAC is not said{}",
        run.context()
    );
    assert!(
        !run.context().contains(&format!("{host} is at")),
        "the LAN host was taken for a neighbour{}",
        run.context()
    );
}

// =======================================================================================
// Hostile services behind a real server: a slow-loris and an endless HTTP response, a
// flood of DNS answers with wrong ids. The server is OpenVPN 2.6 as it is; the hostile
// thing listens on its tunnel address.
// =======================================================================================

/// The default `--timeout 2` × `--retrycount 3`: the check's whole budget in ms.
const DEFAULT_BUDGET_MS: u64 = 6000;
/// `--timeout 1` (× 3): for the runs that wait for their deadline.
const SHORT: [&str; 2] = ["--timeout", "1"];
const SHORT_BUDGET_MS: u64 = 3000;
/// What a hostile service may add to a check's wall time, at most: none of it is a timing
/// claim, only "it ends".
const HOSTILE_SLACK_MS: u64 = 10_000;

/// A web server ([`serve_http`]) on the tunnel address of `bed`: its address and log.
fn web_on(bed: &Bed) -> (SocketAddr, Arc<WebLog>) {
    let listener =
        std::net::TcpListener::bind((bed.target(), 0)).expect("listen on the tunnel address");
    let web = listener.local_addr().unwrap();
    (web, serve_http(listener))
}

/// A head that never ends, one byte every 300 ms: OpenVPN's own client (bash's /dev/tcp)
/// gets no status line in 3 s either, and its connection ends when it gives up. The check
/// is CRITICAL by its deadline, saying the server accepted and sent no whole response,
/// and resets its connection as it leaves: the server's stream ends too.
#[test]
fn hostile_slow_loris_head_is_critical_by_the_deadline() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&[]);
    let (web, log) = web_on(&bed);
    let url = format!("http://{web}/loris");

    let real = real_get(&bed, web, "/loris");
    assert!(!real.starts_with("HTTP/1.1"), "the real client: {real}");
    assert!(
        log.wait_streams_ended(1, Duration::from_secs(10)),
        "the real client's connection was still served after it gave up"
    );

    let run = bed
        .check(&["--http", &url, SHORT[0], SHORT[1]])
        .state(2)
        .line_has(&format!(
            "{url} accepted the connection but sent no whole response in time"
        ))
        .within(SHORT_BUDGET_MS + HOSTILE_SLACK_MS);
    assert!(perf(run.line(), "http_size").is_none(), "{}", run.context());
    assert!(
        log.wait_streams_ended(2, Duration::from_secs(10)),
        "the server still streams to the check 10 s after it left{}",
        run.context()
    );
}

/// A 200 without a length whose body never ends: the check reads 1 MiB, says the status
/// and that it read no further, OK, and resets the connection (the server's stream ends).
#[test]
fn hostile_endless_body_is_cut_at_the_limit() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(Proto::Udp, Wrap::None, false, &[]);
    let (web, log) = web_on(&bed);
    let url = format!("http://{web}/endless");
    let run = bed
        .check(&["--http", &url])
        .state(0)
        .line_has(&format!("{url} answered 200 OK, more than "))
        .line_has("bytes (read no further)")
        .within(DEFAULT_BUDGET_MS + HOSTILE_SLACK_MS);
    let size = perf(run.line(), "http_size").unwrap_or(0.0);
    assert!(
        size > 1_040_000.0 && size <= 1_048_576.0,
        "http_size {size}{}",
        run.context()
    );
    assert!(
        log.wait_streams_ended(1, Duration::from_secs(10)),
        "the server still streams to the check 10 s after it left{}",
        run.context()
    );
}

/// A DNS "server" on `on`:53 that answers every query with `wrong` replies of another id
/// (each saying 10.6.6.6 for the question asked), and with `right`, one reply of the
/// query's id saying that address amid them (after the first half, and a pause that lets
/// the queues on the way drain).
struct DnsFlood {
    stop: Arc<AtomicBool>,
    /// Replies sent, of every kind.
    sent: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DnsFlood {
    fn start(on: IpAddr, wrong: usize, right: Option<std::net::Ipv4Addr>) -> DnsFlood {
        let sock = UdpSocket::bind((on, 53)).expect("bind port 53 on the tunnel address");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let (halt, count) = (stop.clone(), sent.clone());
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !halt.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let query = &buf[..n];
                let Some(id) = query.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                    continue;
                };
                for i in 0..=wrong {
                    // In bursts, as fast as the tunnel carries them: a flood that
                    // overflows the server's tun queue would only test its drops.
                    if i % 20 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                    let reply = if i == wrong / 2 {
                        let Some(a) = right else { continue };
                        thread::sleep(Duration::from_millis(20));
                        dns_reply(query, id, a)
                    } else {
                        let other = id.wrapping_add(1 + (i % 65535) as u16);
                        dns_reply(query, other, std::net::Ipv4Addr::new(10, 6, 6, 6))
                    };
                    if let Some(reply) = reply {
                        if sock.send_to(&reply, from).is_ok() {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }
        });
        DnsFlood {
            stop,
            sent,
            thread: Some(thread),
        }
    }
}

impl Drop for DnsFlood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A response to `query` (its first question) with `id` and one A record `addr`.
fn dns_reply(query: &[u8], id: u16, addr: std::net::Ipv4Addr) -> Option<Vec<u8>> {
    let mut at = 12;
    while *query.get(at)? != 0 {
        at += 1 + usize::from(query[at]);
    }
    let question = query.get(12..at + 5)?;
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    r.extend_from_slice(question);
    r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    r.extend_from_slice(&addr.octets());
    Some(r)
}

/// The number in "(… N data packets of the server's decrypted)" of a status line.
fn decrypted(line: &str) -> usize {
    line.split(" data packet")
        .next()
        .and_then(|head| head.rsplit(['(', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Thousands of replies with wrong ids around the right one, for every query: OpenVPN's
/// own client's dig takes the right one, and so does the check: OK with the right
/// address, never the flood's.
#[test]
fn hostile_dns_flood_of_wrong_ids_beside_the_right_answer_is_ok() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["push \"dhcp-option DNS SLOT_V4_SERVER\""]);
    let ip = bed.target();
    let flood = DnsFlood::start(ip, 3000, Some(std::net::Ipv4Addr::new(10, 9, 9, 9)));
    let answer = dig(&bed, &[], ip, "intranet.test");
    assert!(
        answer.contains("10.9.9.9") && !answer.contains("10.6.6.6"),
        "the real client's dig: {answer}"
    );
    let before = flood.sent.load(Ordering::SeqCst);
    let run = bed
        .check(&["--dns", "intranet.test", "--dns-expect", "10.9.9.9"])
        .state(0)
        .line_has(&format!("DNS {ip} answered intranet.test A: 10.9.9.9 in"))
        .within(DEFAULT_BUDGET_MS + HOSTILE_SLACK_MS);
    // The right answer came after the first half of the flood.
    assert!(
        flood.sent.load(Ordering::SeqCst) >= before + 1500,
        "the check's question was not flooded{}",
        run.context()
    );
}

/// The same flood without the right answer: the wrong ids never count; CRITICAL by the
/// deadline, the flood seen as data that came (but no answer).
#[test]
fn hostile_dns_flood_of_wrong_ids_alone_is_critical_by_the_deadline() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::new(
        Proto::Udp,
        Wrap::None,
        false,
        &["push \"dhcp-option DNS SLOT_V4_SERVER\""],
    );
    let ip = bed.target();
    let flood = DnsFlood::start(ip, 3000, None);
    let run = bed
        .check(&["--dns", "intranet.test", SHORT[0], SHORT[1]])
        .state(2)
        .line_has(&format!(
            "the pushed DNS server {ip} did not answer intranet.test A"
        ))
        .line_has("the tunnel carries data")
        .within(SHORT_BUDGET_MS + HOSTILE_SLACK_MS);
    assert!(
        flood.sent.load(Ordering::SeqCst) >= 3000,
        "no flood{}",
        run.context()
    );
    // Every reply is a data packet that decrypted: the flood came through, and none
    // of it counted as the answer.
    assert!(decrypted(run.line()) >= 3000, "{}", run.context());
}
