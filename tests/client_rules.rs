//! The client's own rules against real OpenVPN 2.6 servers, with OpenVPN's own client
//! (in a network namespace, on a tun device) given the same rules as the reference in the
//! same test: where the real client refuses the server, the check does not say OK; where it
//! connects, the check says OK. `allow-compression` against pushed compression.

mod common;
use common::tunnel::*;
use common::*;
use std::net::IpAddr;
use std::path::Path;

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A multi-client UDP server with a live tun device, and a namespace for the real client.
struct Bed {
    // Dropped in this order: the server, then the namespace, then the slot.
    server: Server,
    ns: Netns,
    slot: Slot,
}

impl Bed {
    fn udp(lines: &[&str]) -> Bed {
        let slot = Slot::take();
        let ns = Netns::new(&slot);
        let mut config = vec![slot.server_v4()];
        config.extend(lines.iter().map(|l| l.to_string()));
        let refs: Vec<&str> = config.iter().map(String::as_str).collect();
        let server = Server::start_tunnel(
            ServerOpts {
                proto: Proto::Udp,
                family: Family::V4,
                mode: Mode::MultiClient,
                wrap: Wrap::None,
            },
            Some(IpAddr::V4(slot.host_veth())),
            &refs,
        );
        Bed { server, ns, slot }
    }

    /// `check_openvpn -H ADDR -p PORT --ca --cert --key -v EXTRA`.
    fn check(&self, extra: &[&str]) -> Ran {
        let s = &self.server;
        let mut a: Vec<String> = [
            "--ca",
            &path(&s.ca_cert),
            "--cert",
            &path(&s.client_cert),
            "--key",
            &path(&s.client_key),
            "-v",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let run = ran_against(s, &refs);
        eprintln!("check: {}", run.line());
        run
    }

    /// OpenVPN's own client with `client` flags: whether it connected (and then got its
    /// echoes from the server's tunnel address), and its log.
    fn real_client(&self, client: &[&str]) -> (bool, String) {
        let mut c = RealClient::connect(&self.ns, &self.server, client);
        if c.connected {
            let (answered, out) = self.ns.ping(IpAddr::V4(self.slot.server_tunnel_v4()), 3);
            assert_eq!(
                answered, 3,
                "the real client's pings through the tunnel\n{out}"
            );
        }
        c.stop();
        let log = c.log();
        eprintln!("real client connected: {}", c.connected);
        (c.connected, log)
    }
}

/// The real client refuses the push, as 2.6 does, and the check says CRITICAL naming
/// `allow-compression` and what was pushed, on `--login` and on `--ping`.
fn both_refuse(bed: &Bed, client: &[&str], check: &[&str], pushed: &str) {
    let (connected, log) = bed.real_client(client);
    assert!(!connected, "the real client connected\n{log}");
    assert!(
        log.contains("server pushed compression settings that are not allowed"),
        "the real client failed otherwise\n{log}"
    );
    for stage in ["--login", "--ping"] {
        let mut args = vec![stage];
        args.extend_from_slice(check);
        bed.check(&args)
            .state(2)
            .line_has("allow-compression")
            .line_has(&format!("'{pushed}'"));
    }
}

/// Both connect: the real client gets its echoes, the check says OK with every echo.
fn both_connect(bed: &Bed, client: &[&str], check: &[&str]) {
    let (connected, log) = bed.real_client(client);
    assert!(connected, "the real client did not connect\n{log}");
    let mut args = vec!["--ping"];
    args.extend_from_slice(check);
    bed.check(&args).state(0).line_has("3/3");
}

#[test]
fn pushed_lz4_v2_without_allow_compression_is_refused_by_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    both_refuse(&bed, &[], &[], "compress lz4-v2");
}

#[test]
fn pushed_comp_lzo_yes_without_allow_compression_is_refused_by_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["comp-lzo yes", "push \"comp-lzo yes\""]);
    both_refuse(&bed, &[], &[], "comp-lzo yes");
    // `comp-lzo no` in the client's config keeps 2.6's default: still refused.
    both_refuse(
        &bed,
        &["--comp-lzo", "no"],
        &["--comp-lzo", "no"],
        "comp-lzo yes",
    );
}

#[test]
fn pushed_compression_that_allow_compression_allows_connects_both() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    for allow in ["yes", "asym"] {
        both_connect(
            &bed,
            &["--allow-compression", allow],
            &["--allow-compression", allow],
        );
    }
    let bed = Bed::udp(&["comp-lzo yes", "push \"comp-lzo yes\""]);
    both_connect(
        &bed,
        &["--allow-compression", "asym"],
        &["--allow-compression", "asym"],
    );
}

#[test]
fn pushed_stubs_are_allowed_by_default() {
    if !tunnel_ready() {
        return;
    }
    for server in [
        ["compress stub-v2", "push \"compress stub-v2\""],
        ["comp-lzo no", "push \"comp-lzo no\""],
        ["compress", "push \"compress\""],
    ] {
        let bed = Bed::udp(&server);
        both_connect(&bed, &[], &[]);
    }
}

#[test]
fn allow_compression_from_the_client_config() {
    if !tunnel_ready() {
        return;
    }
    let bed = Bed::udp(&["compress lz4-v2", "push \"compress lz4-v2\""]);
    let dir = tempfile::tempdir().expect("tempdir");
    let s = &bed.server;
    let config = |extra: &str| {
        let p = dir.path().join("client.ovpn");
        std::fs::write(
            &p,
            format!(
                "client\ndev tun\nproto udp\nremote {} {}\nca {}\ncert {}\nkey {}\n{extra}\n",
                s.addr,
                s.port,
                path(&s.ca_cert),
                path(&s.client_cert),
                path(&s.client_key)
            ),
        )
        .expect("write client.ovpn");
        path(&p)
    };
    let refused = config("allow-compression no");
    let run = ran(&["--config", &refused, "--login", "-v"]).state(2);
    run.line_has("allow-compression no")
        .line_has("'compress lz4-v2'");
    let allowed = config("allow-compression asym");
    ran(&["--config", &allowed, "--ping", "-v"])
        .state(0)
        .line_has("3/3");
    // OpenVPN refuses the config itself: exit 3, naming the line.
    let broken = config("allow-compression no\nallow-compression yes");
    ran(&["--config", &broken, "--login"])
        .state(3)
        .line_has("allow-compression");
}
