//! A real Nagios 4 in a scratch directory, and what every shipped Nagios command is run
//! with: the scenarios below, each against a real OpenVPN server of its kind. The tests
//! take the commands from the shipped file and fail for a command without a scenario here,
//! so a new command needs a scenario, not a new test.

use super::{scratch, wait_for, Daemon};
use crate::common::tunnel::{program_ready, serve_http, Dnsmasq, Slot};
use crate::common::{self, Family, Mode, Proto, Server, ServerOpts, Wrap};
use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

/// (command_name, command_line) of every command definition in `cfg`.
pub fn commands(cfg: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = None;
    let mut line = None;
    for l in cfg.lines().map(str::trim) {
        if l.starts_with('#') {
            continue;
        }
        if let Some(v) = l.strip_prefix("command_name") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = l.strip_prefix("command_line") {
            line = Some(v.trim().to_string());
        } else if l == "}" {
            if let (Some(n), Some(c)) = (name.take(), line.take()) {
                out.push((n, c));
            }
        }
    }
    out
}

/// One service: `command!ARGS` against a server with `proto` and `wrap`.
pub struct Scenario {
    /// The service description (unique).
    pub service: &'static str,
    /// The command it runs.
    pub command: &'static str,
    pub proto: Proto,
    pub wrap: Wrap,
    /// Through the tunnel: a multi-client server whose tun device is up (root only), with a
    /// DNS server, a TCP port and a web server on its tunnel address ([`Inside`]).
    pub tunnel: bool,
    /// The `!`-separated arguments for `server`; files it needs go into the directory.
    pub args: fn(&Served, &Path) -> String,
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The monitoring system's own client config `dir/name`, certificate and key inline; the
/// host's address replaces its remote.
fn client_config(s: &Server, dir: &Path, name: &str) -> String {
    let read = |p: &Path| fs::read_to_string(p).unwrap();
    let conf = dir.join(name);
    let key = match &s.opts.wrap {
        Wrap::TlsAuth { digest, .. } => {
            format!("auth {digest}\ntls-auth {} 1\n", path(&s.static_key))
        }
        Wrap::TlsCrypt => format!("tls-crypt {}\n", path(&s.static_key)),
        other => panic!("no client config for {other:?}"),
    };
    fs::write(
        &conf,
        format!(
            "client\ndev tun\nproto udp\nremote vpn.example.invalid {}\n\
             {key}remote-cert-tls server\nca {}\n<cert>\n{}</cert>\n<key>\n{}</key>\n",
            s.port,
            path(&s.ca_cert),
            read(&s.client_cert),
            read(&s.client_key)
        ),
    )
    .unwrap();
    path(&conf)
}

/// A scenario's server, and for a tunnel scenario what answers inside the tunnel (it
/// derefs to the server).
pub struct Served {
    // Dropped in this order: what answers inside, the server, its subnet's slot.
    inside: Option<Inside>,
    server: Server,
    _slot: Option<Slot>,
}

impl Deref for Served {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl Served {
    /// The server `s` runs against: a point-to-point server of its kind, or for a tunnel
    /// scenario a multi-client server in a subnet of its own that pushes its own tunnel
    /// address as the DNS server, with [`Inside`] on that address.
    pub fn start(s: &Scenario) -> Served {
        if !s.tunnel {
            return Served {
                inside: None,
                server: Server::start(ServerOpts {
                    proto: s.proto,
                    wrap: s.wrap.clone(),
                    ..Default::default()
                }),
                _slot: None,
            };
        }
        let slot = Slot::take();
        let addr = IpAddr::V4(slot.server_tunnel_v4());
        let server = Server::start_tunnel(
            ServerOpts {
                proto: s.proto,
                family: Family::V4,
                mode: Mode::MultiClient,
                wrap: s.wrap.clone(),
            },
            None,
            &[
                &slot.server_v4(),
                &format!("push \"dhcp-option DNS {addr}\""),
            ],
        );
        Served {
            inside: Some(Inside::start(addr)),
            server,
            _slot: Some(slot),
        }
    }

    /// What answers inside the tunnel (a tunnel scenario's server only).
    pub fn inside(&self) -> &Inside {
        self.inside.as_ref().expect("a tunnel scenario's server")
    }
}

/// True when the tunnel scenarios can run: a multi-client server with a live tun device
/// (root), `ip` for its subnet, `dnsmasq` for the DNS server. Under CI a missing one fails.
pub fn tunnel_ready() -> bool {
    common::multi_client_ready()
        && program_ready("ip", "iproute2, for the tunnel servers' subnets")
        && program_ready("dnsmasq", "dnsmasq-base, the DNS server inside the tunnel")
}

/// What answers on a tunnel server's own tunnel address: dnsmasq (`intranet.test` is
/// 10.9.9.9, nothing forwarded), a TCP port that accepts, and the tests' web server
/// (`/ok` is `200 OK`).
pub struct Inside {
    pub addr: IpAddr,
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    _dns: Dnsmasq,
}

impl Inside {
    fn start(addr: IpAddr) -> Inside {
        let dns = Dnsmasq::start(addr);
        let tcp = TcpListener::bind((addr, 0)).expect("listen on the tunnel address");
        let tcp_addr = tcp.local_addr().unwrap();
        thread::spawn(move || for _ in tcp.incoming() {});
        let web = TcpListener::bind((addr, 0)).expect("listen on the tunnel address");
        let http = web.local_addr().unwrap();
        serve_http(web);
        Inside {
            addr,
            tcp: tcp_addr,
            http,
            _dns: dns,
        }
    }
}

/// Every scenario, for every command the package ships.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            service: "tls",
            command: "check_openvpn_tls",
            proto: Proto::Udp,
            wrap: Wrap::None,
            tunnel: false,
            args: |s, _| format!("{}!{}!30,14!", s.port, path(&s.ca_cert)),
        },
        Scenario {
            service: "login",
            command: "check_openvpn_login",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: false,
            // The monitoring system's own client config, certificate and key inline; the
            // host's address replaces its remote.
            args: |s, dir| client_config(s, dir, "monitor.ovpn"),
        },
        Scenario {
            service: "plain",
            command: "check_openvpn",
            proto: Proto::Udp,
            wrap: Wrap::None,
            tunnel: false,
            args: |s, _| s.port.to_string(),
        },
        Scenario {
            service: "tls-auth",
            command: "check_openvpn_tls_auth",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: false,
            args: |s, _| format!("{}!{}!SHA256", s.port, path(&s.static_key)),
        },
        Scenario {
            service: "tls-crypt",
            command: "check_openvpn_tls_crypt",
            proto: Proto::Udp,
            wrap: Wrap::TlsCrypt,
            tunnel: false,
            args: |s, _| format!("{}!{}", s.port, path(&s.static_key)),
        },
        Scenario {
            service: "tls-crypt-v2",
            command: "check_openvpn_tls_crypt_v2",
            proto: Proto::Udp,
            wrap: Wrap::TlsCryptV2,
            tunnel: false,
            args: |s, _| {
                let key = s.v2_client_key.as_deref().expect("v2 client key");
                format!("{}!{}", s.port, path(key))
            },
        },
        Scenario {
            service: "config",
            command: "check_openvpn_config",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA512", Some(1)),
            tunnel: false,
            // A client config as a user would keep it; the host's address replaces its
            // remote.
            args: |s, dir| {
                let conf = dir.join("vpn1.conf");
                fs::write(
                    &conf,
                    format!(
                        "client\ndev tun\nproto udp\nremote vpn.example.invalid {}\n\
                         auth SHA512\ntls-auth {} 0\nremote-cert-tls server\n",
                        s.port,
                        path(&s.static_key)
                    ),
                )
                .unwrap();
                path(&conf)
            },
        },
        Scenario {
            service: "tcp",
            command: "check_openvpn_tcp",
            proto: Proto::Tcp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: false,
            // A fresh point-to-point TCP server takes about a second to answer.
            args: |s, _| {
                format!(
                    "{}!--tls-auth {} --digest SHA256 --timeout 5",
                    s.port,
                    path(&s.static_key)
                )
            },
        },
        Scenario {
            service: "args",
            command: "check_openvpn_args",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA1", None),
            tunnel: false,
            args: |s, _| {
                format!(
                    "-p {} --tls-auth {} --key-direction bidirectional -w 5 -c 10",
                    s.port,
                    path(&s.static_key)
                )
            },
        },
        Scenario {
            service: "server",
            command: "check_openvpn_server",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: false,
            // On the server host, from the server's own config.
            args: |s, _| format!("{}!-C 30,7", path(&s.config_path)),
        },
        // Through the tunnel, after the login with the monitoring system's client config.
        Scenario {
            service: "dns",
            command: "check_openvpn_dns",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: true,
            // At the DNS server the server pushes (its own tunnel address).
            args: |s, dir| {
                format!(
                    "{}!intranet.test!--dns-type A --dns-expect 10.9.9.9",
                    client_config(s, dir, "dns.ovpn")
                )
            },
        },
        Scenario {
            service: "tcp-connect",
            command: "check_openvpn_tcp_connect",
            proto: Proto::Udp,
            wrap: Wrap::TlsCrypt,
            tunnel: true,
            args: |s, dir| {
                format!(
                    "{}!{}!",
                    client_config(s, dir, "tcp-connect.ovpn"),
                    s.inside().tcp
                )
            },
        },
        Scenario {
            service: "http",
            command: "check_openvpn_http",
            proto: Proto::Udp,
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            tunnel: true,
            args: |s, dir| {
                format!(
                    "{}!http://{}/ok!--http-expect 200",
                    client_config(s, dir, "http.ovpn"),
                    s.inside().http
                )
            },
        },
    ]
}

/// The scenarios for `commands` (the commands a shipped file defines); panics for a
/// command with none, or a scenario whose command is not shipped.
pub fn scenarios_for(commands: &[String]) -> Vec<Scenario> {
    let all = scenarios();
    for c in commands {
        assert!(
            all.iter().any(|s| s.command == c),
            "Nagios command {c:?} has no scenario: add one to tests/packaging/support/nagios.rs"
        );
    }
    for s in &all {
        assert!(
            commands.iter().any(|c| c == s.command),
            "scenario {} runs command {:?}, which the file does not define",
            s.service,
            s.command
        );
    }
    all
}

/// A scratch Nagios: main config, resource file, objects, all under one directory.
pub struct Nagios {
    dir: tempfile::TempDir,
}

impl Default for Nagios {
    fn default() -> Self {
        Self::new()
    }
}

impl Nagios {
    pub fn new() -> Nagios {
        Nagios {
            dir: scratch("check-openvpn-nagios-"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes nagios.cfg (reading `cfg` and objects.cfg) and returns its path.
    pub fn write(&self, cfg: &Path, plugin_dir: &Path, services: &str) -> PathBuf {
        let d = self.dir.path().display().to_string();
        let user = if super::is_root() {
            "root".to_string()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "nobody".into())
        };
        let main = format!(
            "log_file={d}/nagios.log\n\
             cfg_file={cfg}\n\
             cfg_file={d}/objects.cfg\n\
             resource_file={d}/resource.cfg\n\
             status_file={d}/status.dat\n\
             status_update_interval=1\n\
             temp_file={d}/nagios.tmp\n\
             temp_path={d}\n\
             lock_file={d}/nagios.lock\n\
             check_result_path={d}\n\
             command_file={d}/nagios.cmd\n\
             check_external_commands=0\n\
             object_cache_file={d}/objects.cache\n\
             precached_object_file={d}/objects.precache\n\
             state_retention_file={d}/retention.dat\n\
             retain_state_information=0\n\
             log_archive_path={d}\n\
             enable_notifications=0\n\
             nagios_user={user}\n\
             nagios_group={user}\n\
             interval_length=1\n\
             service_inter_check_delay_method=n\n\
             host_inter_check_delay_method=n\n\
             illegal_macro_output_chars=`~$&|'\"<>\n",
            cfg = cfg.display()
        );
        fs::write(self.path("nagios.cfg"), main).unwrap();
        fs::write(
            self.path("resource.cfg"),
            format!("$USER1$={}\n", plugin_dir.display()),
        )
        .unwrap();
        let mut objects =
            String::from("define timeperiod {\n    timeperiod_name always\n    alias Always\n");
        for day in [
            "sunday",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
        ] {
            let _ = writeln!(objects, "    {day} 00:00-24:00");
        }
        objects.push_str(
            "}\n\
             define command {\n    command_name notify-none\n    command_line /bin/true\n}\n\
             define contact {\n    contact_name admin\n\
             \x20   host_notifications_enabled 0\n    service_notifications_enabled 0\n\
             \x20   host_notification_period always\n    service_notification_period always\n\
             \x20   host_notification_options n\n    service_notification_options n\n\
             \x20   host_notification_commands notify-none\n\
             \x20   service_notification_commands notify-none\n}\n\
             define host {\n    host_name vpn1\n    address 127.0.0.1\n\
             \x20   max_check_attempts 1\n    check_period always\n    contacts admin\n\
             \x20   notification_period always\n}\n",
        );
        objects.push_str(services);
        fs::write(self.path("objects.cfg"), objects).unwrap();
        self.path("nagios.cfg")
    }
}

/// A service on vpn1 that runs `check_command` once (with interval_length=1 the check
/// interval is in seconds; one hour means a single check during the test).
pub fn service(description: &str, check_command: &str) -> String {
    format!(
        "define service {{\n    host_name vpn1\n    service_description {description}\n\
         \x20   check_command {check_command}\n    max_check_attempts 1\n\
         \x20   check_interval 3600\n    retry_interval 3600\n    check_period always\n\
         \x20   notification_period always\n    notification_interval 0\n\
         \x20   contacts admin\n}}\n"
    )
}

/// (description, state, output) of each checked service in status.dat.
pub fn service_status(status: &str) -> Vec<(String, String, String)> {
    status
        .split("servicestatus {")
        .skip(1)
        .filter_map(|block| {
            let block = block.split('}').next()?;
            let field = |k: &str| {
                block
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(&format!("{k}=")))
                    .map(str::to_string)
            };
            (field("has_been_checked")? == "1").then_some(())?;
            Some((
                field("service_description")?,
                field("current_state")?,
                field("plugin_output")?,
            ))
        })
        .collect()
}

/// A real nagios4 daemon runs every command `cfg` defines, by its scenarios, with the
/// plugin in `plugin_dir` ($USER1$), each against a real OpenVPN server of its kind (point
/// to point: each service runs once); each must be OK, and a closed port CRITICAL.
pub fn daemon_runs_every_command(nagios4: &Path, cfg: &Path, plugin_dir: &Path) {
    let defined: Vec<String> = commands(&fs::read_to_string(cfg).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut scenarios = scenarios_for(&defined);
    if scenarios.iter().any(|s| s.tunnel) && !tunnel_ready() {
        // Not root (under CI tunnel_ready fails instead): the commands are still verified
        // by `nagios4 -v`.
        scenarios.retain(|s| !s.tunnel);
    }
    let ng = Nagios::new();
    let servers: Vec<Served> = scenarios.iter().map(Served::start).collect();
    let check_commands: Vec<String> = scenarios
        .iter()
        .zip(&servers)
        .map(|(s, server)| format!("{}!{}", s.command, (s.args)(server, &ng.path(""))))
        .collect();
    let mut services: String = scenarios
        .iter()
        .zip(&check_commands)
        .map(|(s, c)| service(s.service, c))
        .collect();
    let closed = common::closed_udp_port();
    services.push_str(&service(
        "closed",
        &format!("check_openvpn_args!-p {closed} --timeout 0.5 --retrycount 1"),
    ));
    let main = ng.write(cfg, plugin_dir, &services);

    let log_path = ng.path("daemon.log");
    let log_file = fs::File::create(&log_path).unwrap();
    let mut cmd = Command::new(nagios4);
    cmd.arg(&main)
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    let mut daemon = Daemon::spawn("nagios4", cmd);
    let status_path = ng.path("status.dat");
    let want = scenarios.len() + 1;
    let status = wait_for(Duration::from_secs(60), || {
        if daemon.exited().is_some() {
            return Some(None);
        }
        let text = fs::read_to_string(&status_path).ok()?;
        let checked = service_status(&text);
        (checked.len() == want).then_some(Some(checked))
    });
    let Some(Some(status)) = status else {
        let exit = daemon.exited();
        panic!(
            "nagios4 did not check all {want} services in 60 s (exit: {exit:?})\n\
             --- status.dat ---\n{}\n--- nagios.log ---\n{}\n--- stdout/stderr ---\n{}",
            fs::read_to_string(&status_path).unwrap_or_default(),
            fs::read_to_string(ng.path("nagios.log")).unwrap_or_default(),
            fs::read_to_string(&log_path).unwrap_or_default(),
        );
    };
    daemon.stop();

    for (description, state, output) in &status {
        eprintln!("nagios4: {description}: state {state}: {output}");
    }
    let find = |d: &str| {
        status
            .iter()
            .find(|(desc, _, _)| desc == d)
            .unwrap_or_else(|| panic!("no status for {d}: {status:?}"))
    };
    for ((s, check_command), server) in scenarios.iter().zip(&check_commands).zip(&servers) {
        let (_, state, output) = find(s.service);
        assert!(
            state == "0" && output.starts_with("OPENVPN OK - "),
            "{} ({check_command}): state {state}: {output}\n{}",
            s.service,
            server.diagnostics()
        );
    }
    let (_, state, output) = find("closed");
    assert!(
        state == "2" && output.starts_with("OPENVPN CRITICAL - "),
        "closed port: state {state}: {output}"
    );
}
