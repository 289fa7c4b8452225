//! The data channel's test bed: servers whose tun device is addressed and up, each in its
//! own tunnel subnet; a network namespace joined to the host by a veth pair, where OpenVPN's
//! own client runs on a tun device of its own (the server's tunnel address is a local
//! address of the host: a ping from the host itself would never cross the tunnel); and an
//! nftables table with rules on one server's tun device only.
//!
//! Everything is named by a slot number that a lock file in the temp directory reserves
//! across test processes: subnet `10.231.N.0/24` and `fd00:dc:0:N::/64`, veth addresses
//! `169.254.N.1/30` (host) and `169.254.N.2/30` (namespace), namespace `dct-N`, veth
//! `dcth-N`/`dctn-N`, nftables table `inet dct_N`. What a killed test process left behind
//! under its slot is removed by the next process that takes the slot. Traffic stays on
//! this machine: loopback, the veth pair and the tun devices.

use super::*;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// True when `prog` can be run (PATH or an sbin directory). Missing under `CI=true`: the
/// test fails; otherwise it prints a skip note and returns false.
pub fn program_ready(prog: &str, why: &str) -> bool {
    if find_in_path(prog).is_some() {
        return true;
    }
    assert!(
        !ci(),
        "`{prog}` is required under CI ({why}); install it (see .ci/run)"
    );
    eprintln!("SKIPPED: `{prog}` is missing ({why})");
    false
}

/// A multi-client server with a live tun device can run here, and `ip` is there to
/// watch it (and to make network namespaces). Fails under CI when something is missing.
pub fn tunnel_ready() -> bool {
    multi_client_ready()
        && program_ready("ip", "iproute2, for network namespaces and veth pairs")
        && program_ready("ping", "iputils-ping, for the real client's echoes")
}

/// Runs a command to completion; panics with its output if it fails.
pub fn sh(prog: &str, args: &[&str]) -> String {
    let out = Command::new(find_in_path(prog).unwrap_or_else(|| PathBuf::from(prog)))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog} {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`sh`], ignoring failure (teardown of what may be gone already).
fn sh_quiet(prog: &str, args: &[&str]) {
    let _ = Command::new(find_in_path(prog).unwrap_or_else(|| PathBuf::from(prog)))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A slot number reserved for this test across processes (a lock file with our pid).
pub struct Slot {
    pub n: u8,
    lock: PathBuf,
}

impl Slot {
    /// Reserves a free slot (1..=250) that no interface address uses either.
    pub fn take() -> Slot {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let addrs = sh("ip", &["-o", "addr", "show"]);
        let start = std::process::id() % 250;
        for _ in 0..500 {
            let n = ((start + NEXT.fetch_add(1, Ordering::Relaxed)) % 250 + 1) as u8;
            if addrs.contains(&format!("10.231.{n}."))
                || addrs.contains(&format!("10.232.{n}."))
                || addrs.contains(&format!("169.254.{n}."))
                || addrs.contains(&format!("fd00:dc:0:{n:x}:"))
            {
                continue;
            }
            let lock = std::env::temp_dir().join(format!("check-openvpn-dct-slot-{n}"));
            let mine = std::process::id().to_string();
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(mine.as_bytes()).expect("write slot lock");
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&lock).unwrap_or_default();
                    match owner.trim().parse::<u32>() {
                        Ok(pid) if pid_alive(pid) => continue,
                        // Being written this very moment: leave it.
                        Err(_) if owner.is_empty() => continue,
                        _ => {}
                    }
                    // Left by a dead process: clean up after it, then take it over.
                    Slot::clean(n);
                    fs::write(&lock, &mine).expect("take over slot lock");
                    thread::sleep(Duration::from_millis(20));
                    if fs::read_to_string(&lock).unwrap_or_default() != mine {
                        continue;
                    }
                }
                Err(e) => panic!("slot lock {}: {e}", lock.display()),
            }
            return Slot { n, lock };
        }
        panic!("no free tunnel slot");
    }

    /// Removes what a slot's owner may have left: namespace, veth, nftables table.
    fn clean(n: u8) {
        sh_quiet("ip", &["netns", "del", &format!("dct-{n}")]);
        sh_quiet("ip", &["link", "del", &format!("dcth-{n}")]);
        sh_quiet("ip", &["netns", "del", &format!("dcl-{n}")]);
        sh_quiet("ip", &["link", "del", &format!("dclh-{n}")]);
        if find_in_path("nft").is_some() {
            sh_quiet("nft", &["delete", "table", "inet", &format!("dct_{n}")]);
        }
    }

    /// The server's `server` line: `server 10.231.N.0 255.255.255.0`.
    pub fn server_v4(&self) -> String {
        format!("server 10.231.{}.0 255.255.255.0", self.n)
    }

    /// The server's `server-ipv6` line: `server-ipv6 fd00:dc:0:N::/64`.
    pub fn server_v6(&self) -> String {
        format!("server-ipv6 fd00:dc:0:{:x}::/64", self.n)
    }

    /// The server's own IPv4 tunnel address (subnet and net30 alike): 10.231.N.1.
    pub fn server_tunnel_v4(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.n, 1)
    }

    /// The server's own IPv6 tunnel address: fd00:dc:0:N::1.
    pub fn server_tunnel_v6(&self) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0xdc, 0, self.n.into(), 0, 0, 0, 1)
    }

    /// The host end of the veth pair: 169.254.N.1.
    pub fn host_veth(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.n, 1)
    }

    /// The namespace end of the veth pair: 169.254.N.2.
    pub fn ns_veth(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.n, 2)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

/// The tun device a server opened, from its log ("TUN/TAP device tun3 opened").
pub fn tun_name(server: &Server) -> String {
    let log = server.log();
    log.lines()
        .find_map(|l| {
            let rest = l.split("TUN/TAP device ").nth(1)?;
            let name = rest.strip_suffix(" opened")?;
            Some(name.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no tun device in the server log\n{}", server.diagnostics()))
}

/// A network namespace `dct-N` joined to the host by the veth pair of slot N.
pub struct Netns {
    pub name: String,
    host_if: String,
}

impl Netns {
    pub fn new(slot: &Slot) -> Netns {
        let n = slot.n;
        let name = format!("dct-{n}");
        let host_if = format!("dcth-{n}");
        let ns_if = format!("dctn-{n}");
        Slot::clean(n);
        sh("ip", &["netns", "add", &name]);
        // From here on Drop removes what exists.
        let ns = Netns { name, host_if };
        sh(
            "ip",
            &[
                "link",
                "add",
                &ns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &ns_if,
                "netns",
                &ns.name,
            ],
        );
        sh(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/30", slot.host_veth()),
                "dev",
                &ns.host_if,
            ],
        );
        sh("ip", &["link", "set", &ns.host_if, "up"]);
        let nsx = |args: &[&str]| {
            let mut a = vec!["-n", ns.name.as_str()];
            a.extend_from_slice(args);
            sh("ip", &a);
        };
        nsx(&[
            "addr",
            "add",
            &format!("{}/30", slot.ns_veth()),
            "dev",
            &ns_if,
        ]);
        nsx(&["link", "set", &ns_if, "up"]);
        nsx(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NS PROG ARGS...`, as a command to adjust and run.
    pub fn command(&self, prog: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(find_in_path("ip").unwrap_or_else(|| PathBuf::from("ip")));
        c.args(["netns", "exec", &self.name]).arg(prog).args(args);
        c
    }

    /// Pings `addr` from inside the namespace: `ping -c COUNT -W 2 -i 0.2 ADDR`. Returns
    /// (echoes answered, ping's output).
    pub fn ping(&self, addr: IpAddr, count: u32) -> (u32, String) {
        let ping = find_in_path("ping").unwrap_or_else(|| PathBuf::from("ping"));
        let count = count.to_string();
        let target = addr.to_string();
        let out = self
            .command(
                &ping,
                &["-n", "-c", &count, "-W", "2", "-i", "0.2", &target],
            )
            .stdin(Stdio::null())
            .output()
            .expect("run ping in the namespace");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // "3 packets transmitted, 3 received, 0% packet loss, time 402ms"
        let received = text
            .lines()
            .find(|l| l.contains("packets transmitted"))
            .and_then(|l| l.split(", ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        (received, text)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        sh_quiet("ip", &["netns", "del", &self.name]);
        sh_quiet("ip", &["link", "del", &self.host_if]);
    }
}

/// A host on a LAN behind a server: a network namespace joined to this host by a veth
/// pair (10.232.N.1 here, 10.232.N.2 there, see [`Lan::address`]) and routed back to the
/// tunnel's subnet 10.231.N.0/24. This host forwards between the server's tun device
/// and the pair only (their own `forwarding` switches, not the global one); the server
/// pushes `route 10.232.N.0 255.255.255.0`.
pub struct Lan {
    pub name: String,
    host_if: String,
}

impl Lan {
    pub fn new(slot: &Slot, tun: &str) -> Lan {
        let n = slot.n;
        let name = format!("dcl-{n}");
        let host_if = format!("dclh-{n}");
        let lan_if = format!("dcln-{n}");
        sh_quiet("ip", &["netns", "del", &name]);
        sh_quiet("ip", &["link", "del", &host_if]);
        sh("ip", &["netns", "add", &name]);
        let lan = Lan { name, host_if };
        sh(
            "ip",
            &[
                "link",
                "add",
                &lan.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &lan_if,
                "netns",
                &lan.name,
            ],
        );
        sh(
            "ip",
            &[
                "addr",
                "add",
                &format!("10.232.{n}.1/24"),
                "dev",
                &lan.host_if,
            ],
        );
        sh("ip", &["link", "set", &lan.host_if, "up"]);
        let lanx = |args: &[&str]| {
            let mut a = vec!["-n", lan.name.as_str()];
            a.extend_from_slice(args);
            sh("ip", &a);
        };
        lanx(&[
            "addr",
            "add",
            &format!("{}/24", Lan::address(slot)),
            "dev",
            &lan_if,
        ]);
        lanx(&["link", "set", &lan_if, "up"]);
        lanx(&["link", "set", "lo", "up"]);
        lanx(&[
            "route",
            "add",
            &format!("10.231.{n}.0/24"),
            "via",
            &format!("10.232.{n}.1"),
        ]);
        for dev in [tun, lan.host_if.as_str()] {
            let knob = format!("/proc/sys/net/ipv4/conf/{dev}/forwarding");
            fs::write(&knob, "1").unwrap_or_else(|e| panic!("{knob}: {e}"));
        }
        lan
    }

    /// The LAN host's address: 10.232.N.2.
    pub fn address(slot: &Slot) -> Ipv4Addr {
        Ipv4Addr::new(10, 232, slot.n, 2)
    }

    /// The pushed route to the LAN: `route 10.232.N.0 255.255.255.0`.
    pub fn route(slot: &Slot) -> String {
        format!("push \"route 10.232.{}.0 255.255.255.0\"", slot.n)
    }

    /// `ip netns exec LAN PROG ARGS...`, as a command to adjust and run.
    pub fn command(&self, prog: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(find_in_path("ip").unwrap_or_else(|| PathBuf::from("ip")));
        c.args(["netns", "exec", &self.name]).arg(prog).args(args);
        c
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        sh_quiet("ip", &["netns", "del", &self.name]);
        sh_quiet("ip", &["link", "del", &self.host_if]);
    }
}

/// OpenVPN's own client, as root on a tun device in a network namespace.
pub struct RealClient {
    pub dir: tempfile::TempDir,
    pub log_path: PathBuf,
    child: Option<Child>,
    /// It reached "Initialization Sequence Completed".
    pub connected: bool,
}

impl RealClient {
    /// [`RealClient::connect`], and panics with both logs when the client did not connect.
    pub fn connected(ns: &Netns, server: &Server, extra: &[&str]) -> RealClient {
        let c = RealClient::connect(ns, server, extra);
        assert!(
            c.connected,
            "the real openvpn client did not connect\n--- client log ---\n{}\n--- server ---\n{}",
            c.log(),
            server.diagnostics()
        );
        c
    }

    /// Starts `openvpn --client` in `ns` against `server` with its CA and client
    /// certificate, the server's key flags and `extra`, and waits up to 20 s for
    /// "Initialization Sequence Completed" (or the client's end).
    pub fn connect(ns: &Netns, server: &Server, extra: &[&str]) -> RealClient {
        RealClient::launch(ns, server, extra, true)
    }

    /// [`RealClient::connect`] without the server's CA: a client that pins the server with
    /// `--peer-fingerprint` alone, or brings its own `--ca` in `extra`.
    pub fn connect_without_ca(ns: &Netns, server: &Server, extra: &[&str]) -> RealClient {
        RealClient::launch(ns, server, extra, false)
    }

    fn launch(ns: &Netns, server: &Server, extra: &[&str], with_ca: bool) -> RealClient {
        let dir = tempfile::Builder::new()
            .prefix("check-openvpn-client-")
            .tempdir()
            .expect("tempdir for the real client");
        let log_path = dir.path().join("client.log");
        let port = server.port.to_string();
        let proto = match server.opts.proto {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp-client",
        };
        let p = |x: &Path| x.display().to_string();
        let mut args: Vec<String> = [
            "--client",
            "--dev",
            "tun",
            "--nobind",
            "--remote",
            &server.addr,
            &port,
            "--proto",
            proto,
            "--ca",
            &p(&server.ca_cert),
            "--cert",
            &p(&server.client_cert),
            "--key",
            &p(&server.client_key),
            "--connect-retry-max",
            "1",
            "--disable-dco",
            "--verb",
            "4",
            "--log",
            &p(&log_path),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match &server.opts.wrap {
            Wrap::None => {}
            Wrap::TlsAuth { digest, .. } => {
                args.extend([
                    "--tls-auth".into(),
                    p(&server.static_key),
                    "1".into(),
                    "--auth".into(),
                    digest.clone(),
                ]);
            }
            Wrap::TlsCrypt => args.extend(["--tls-crypt".into(), p(&server.static_key)]),
            Wrap::TlsCryptV2 => args.extend([
                "--tls-crypt-v2".into(),
                p(server.v2_client_key.as_ref().expect("v2 client key")),
            ]),
        }
        if !with_ca {
            if let Some(at) = args.iter().position(|a| a == "--ca") {
                args.drain(at..at + 2);
            }
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = ns.command(&openvpn_bin(), &refs);
        cmd.current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = spawn_tied(cmd).expect("spawn the real openvpn client");
        let mut c = RealClient {
            dir,
            log_path,
            child: Some(child),
            connected: false,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if c.log().contains("Initialization Sequence Completed") {
                c.connected = true;
                break;
            }
            if c.child
                .as_mut()
                .is_some_and(|ch| ch.try_wait().ok().flatten().is_some())
            {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        c
    }

    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Stops the client (SIGTERM, then SIGKILL after 3 s) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sh_quiet("kill", &["-TERM", &child.id().to_string()]);
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RealClient {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An nftables table `inet dct_N` with rules on one tun device only (matched by interface
/// index: a later device of the same name is not touched). Removed on drop, also when the
/// test panics.
pub struct TunFilter {
    table: String,
}

impl TunFilter {
    /// Every ICMP and ICMPv6 echo request coming in on `tun` is dropped.
    pub fn drop_echo(slot: &Slot, tun: &str) -> TunFilter {
        TunFilter::new(slot, &TunFilter::echo_requests(tun, "drop"), "")
    }

    /// Every second echo request on `tun` (the 2nd, 4th, ...) is dropped: any 2k echoes in
    /// a row lose exactly k, whatever the timing.
    pub fn drop_every_second_echo(slot: &Slot, tun: &str) -> TunFilter {
        let rules = TunFilter::echo_requests(tun, "numgen inc mod 2 == 1 counter drop");
        TunFilter::new(slot, &rules, "")
    }

    /// Echo requests dropped, and nothing of the host goes out on `tun` either.
    pub fn drop_echo_and_silence(slot: &Slot, tun: &str) -> TunFilter {
        let out = format!("oif \"{tun}\" counter drop\n");
        TunFilter::new(slot, &TunFilter::echo_requests(tun, "drop"), &out)
    }

    /// Only echo replies go out on `tun`: the server carries nothing else of the host's
    /// to its client. The kernel sends IPv6 router solicitations and MLD reports from the
    /// tun's link-local address by itself, at times of its own; a server that forwards
    /// one would hand the client a data packet that no test asked for.
    pub fn only_echo_replies_out(slot: &Slot, tun: &str) -> TunFilter {
        let out = format!(
            "oif \"{tun}\" icmp type echo-reply accept\n\
             oif \"{tun}\" icmpv6 type echo-reply accept\n\
             oif \"{tun}\" counter drop\n"
        );
        TunFilter::new(slot, "", &out)
    }

    /// TCP to `port` coming in on `tun` is dropped: no SYN-ACK, no reset.
    pub fn drop_tcp(slot: &Slot, tun: &str, port: u16) -> TunFilter {
        let rules = format!("iif \"{tun}\" tcp dport {port} counter drop\n");
        TunFilter::new(slot, &rules, "")
    }

    fn echo_requests(tun: &str, verdict: &str) -> String {
        let verdict = if verdict.contains("counter") {
            verdict.to_string()
        } else {
            format!("counter {verdict}")
        };
        format!(
            "iif \"{tun}\" icmp type echo-request {verdict}\n\
             iif \"{tun}\" icmpv6 type echo-request {verdict}\n"
        )
    }

    fn new(slot: &Slot, input: &str, output: &str) -> TunFilter {
        let table = format!("dct_{}", slot.n);
        sh_quiet("nft", &["delete", "table", "inet", &table]);
        let chain = |name: &str, rules: &str| {
            if rules.is_empty() {
                return String::new();
            }
            format!(
                "chain {name} {{\ntype filter hook {name} priority -10; policy accept;\n{rules}}}\n"
            )
        };
        let text = format!(
            "table inet {table} {{\n{}{}}}\n",
            chain("input", input),
            chain("output", output)
        );
        let file = tempfile::NamedTempFile::new().expect("nft rules file");
        fs::write(file.path(), &text).expect("write nft rules");
        let path = file.path().display().to_string();
        sh("nft", &["-f", &path]);
        TunFilter { table }
    }

    /// The table's rules with their counters, for failure messages.
    pub fn listing(&self) -> String {
        Command::new(find_in_path("nft").unwrap_or_else(|| PathBuf::from("nft")))
            .args(["list", "table", "inet", &self.table])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for TunFilter {
    fn drop(&mut self) {
        sh_quiet("nft", &["delete", "table", "inet", &self.table]);
    }
}

/// dnsmasq answering on the server's tunnel address: `intranet.test` is 10.9.9.9, other
/// names under `test` do not exist, nothing is forwarded anywhere.
pub struct Dnsmasq(std::process::Child);

impl Dnsmasq {
    pub fn start(on: IpAddr) -> Dnsmasq {
        Dnsmasq::start_with(on, &[])
    }

    /// [`Dnsmasq::start`] with more records (`--address=/web.test/10.8.0.1`).
    pub fn start_with(on: IpAddr, records: &[String]) -> Dnsmasq {
        Dnsmasq::start_in(None, on, records)
    }

    /// [`Dnsmasq::start_with`], on a LAN host behind the server when `lan` is given.
    pub fn start_in(lan: Option<&Lan>, on: IpAddr, records: &[String]) -> Dnsmasq {
        let bin = find_in_path("dnsmasq").expect("dnsmasq (Debian: dnsmasq-base)");
        let mut command = match lan {
            Some(lan) => lan.command(&bin, &[]),
            None => std::process::Command::new(bin),
        };
        let child = command
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--pid-file=",
                "--port=53",
                "--local=/test/",
                "--address=/intranet.test/10.9.9.9",
            ])
            .args(records)
            .arg(format!("--listen-address={on}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn dnsmasq");
        // Up once its socket answers.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let sock = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let query = check_openvpn::check::dns::DnsSpec {
            name: "intranet.test".into(),
            record_type: "A".into(),
            ..Default::default()
        }
        .query(7)
        .unwrap();
        loop {
            let _ = sock.send_to(&query, (on, 53));
            let mut buf = [0u8; 512];
            if sock.recv_from(&mut buf).is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "dnsmasq on {on} did not start"
            );
        }
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the web server of [`serve_http`] saw.
#[derive(Default)]
pub struct WebLog {
    /// Endless responses (`/loris`, `/endless`) that ended because a write failed: the
    /// client reset or closed the connection (not the server's own 60 s cap).
    pub streams_ended: AtomicUsize,
}

impl WebLog {
    /// Waits up to `within` for `n` endless responses to have ended; true when they did.
    pub fn wait_streams_ended(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.streams_ended.load(Ordering::SeqCst) < n {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

/// A small HTTP server on `listener`: `/ok` is 200 with a 5-byte body, `/missing` 404,
/// `/big` 200 with 2 MiB, `/slow` sends its head and never its body; anything else 500.
/// Hostile ones, endless until a write fails (counted in the [`WebLog`]) or for 60 s:
/// `/loris` sends a head that never ends, one byte every 300 ms; `/endless` a 200 head
/// without a length and a body that never ends.
pub fn serve_http(listener: std::net::TcpListener) -> Arc<WebLog> {
    use std::io::{Read, Write};
    let log = Arc::new(WebLog::default());
    let seen = Arc::clone(&log);
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let log = Arc::clone(&seen);
            thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let path = line.split_whitespace().nth(1).unwrap_or("");
                let _ = match path {
                    "/ok" => conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
                    "/missing" => {
                        conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    }
                    "/big" => {
                        let _ =
                            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n");
                        conn.write_all(&vec![b'x'; 2 << 20])
                    }
                    "/slow" => {
                        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
                        thread::sleep(Duration::from_secs(10));
                        Ok(())
                    }
                    "/loris" => {
                        let head = b"HTTP/1.1 200 OK\r\nX-Loris: ".iter().copied();
                        let bytes = head.chain(std::iter::repeat(b'a'));
                        stream_until_gone(
                            &mut conn,
                            &log,
                            bytes.map(|b| {
                                thread::sleep(Duration::from_millis(300));
                                vec![b]
                            }),
                        )
                    }
                    "/endless" => {
                        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
                        let body = std::iter::repeat_with(|| vec![b'x'; 16 << 10]);
                        stream_until_gone(&mut conn, &log, std::iter::once(head).chain(body))
                    }
                    _ => conn.write_all(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"),
                };
            });
        }
    });
    log
}

/// Writes `pieces` to `conn` until the client closed (FIN) or reset the connection, or a
/// write fails (counted in `log` unless it timed out), or 60 s have passed.
fn stream_until_gone(
    conn: &mut std::net::TcpStream,
    log: &WebLog,
    pieces: impl Iterator<Item = Vec<u8>>,
) -> io::Result<()> {
    use std::io::Write;
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    let start = Instant::now();
    for piece in pieces {
        if start.elapsed() > Duration::from_secs(60) {
            break;
        }
        // A FIN (the peek reads 0) or a reset, seen without blocking.
        let _ = conn.set_nonblocking(true);
        let gone = match conn.peek(&mut [0u8; 1]) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = conn.set_nonblocking(false);
        if gone {
            log.streams_ended.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        if let Err(e) = conn.write_all(&piece) {
            if !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                log.streams_ended.fetch_add(1, Ordering::SeqCst);
            }
            return Err(e);
        }
    }
    Ok(())
}
