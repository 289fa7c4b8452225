//! A real Icinga 2 in a scratch directory, and what every shipped `CheckCommand` is run
//! with: the scenarios below (one or more per command), each against a real OpenVPN server
//! of its kind. The daemon tests take the commands from the shipped file and fail for a
//! command without a scenario here, so a new CheckCommand needs a scenario, not a new test.

use super::{read_files_with_prefix, scratch, wait_for, Daemon};
use crate::common::{self, Server, ServerOpts, Wrap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The names of the `object CheckCommand "NAME"` definitions in `conf`.
pub fn check_commands(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("object CheckCommand \"")?;
            Some(rest.split_once('"')?.0.to_string())
        })
        .collect()
}

/// One service a daemon test runs: `command` with `vars`, against a server with `wrap`.
pub struct Scenario {
    /// The service name (unique).
    pub service: &'static str,
    /// The CheckCommand it runs.
    pub command: &'static str,
    pub wrap: Wrap,
    /// Custom variables (name without `vars.`, value as Icinga 2 DSL) for `server`.
    pub vars: fn(&Server) -> Vec<(&'static str, String)>,
}

fn quoted(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// Every scenario, for every CheckCommand the package ships.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            service: "openvpn-reset",
            command: "openvpn",
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            vars: |s| {
                vec![
                    ("openvpn_port", s.port.to_string()),
                    ("openvpn_tls_auth", quoted(&s.static_key)),
                    ("openvpn_digest", "\"SHA256\"".into()),
                    ("openvpn_timeout", "5".into()),
                    ("openvpn_retrycount", "2".into()),
                    ("openvpn_warning", "5".into()),
                    ("openvpn_critical", "10".into()),
                ]
            },
        },
        Scenario {
            service: "openvpn-tls",
            command: "openvpn",
            wrap: Wrap::TlsCrypt,
            vars: |s| {
                vec![
                    ("openvpn_port", s.port.to_string()),
                    ("openvpn_tls_crypt", quoted(&s.static_key)),
                    ("openvpn_ca", quoted(&s.ca_cert)),
                    ("openvpn_certificate", "\"30,14\"".into()),
                    ("openvpn_timeout", "5".into()),
                ]
            },
        },
        Scenario {
            service: "openvpn-login",
            command: "openvpn",
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            vars: |s| {
                vec![
                    ("openvpn_port", s.port.to_string()),
                    ("openvpn_tls_auth", quoted(&s.static_key)),
                    ("openvpn_digest", "\"SHA256\"".into()),
                    ("openvpn_ca", quoted(&s.ca_cert)),
                    ("openvpn_login", "true".into()),
                    ("openvpn_cert", quoted(&s.client_cert)),
                    ("openvpn_key", quoted(&s.client_key)),
                    ("openvpn_timeout", "5".into()),
                ]
            },
        },
        Scenario {
            service: "openvpn-server",
            command: "openvpn_server",
            wrap: Wrap::tls_auth("SHA256", Some(0)),
            // The server's own config: its files judged, the live server probed with its
            // own key (the tls_time perfdata), and "0:" clients (from its status file)
            // accepted.
            vars: |s| {
                vec![
                    ("openvpn_server_config", quoted(&s.config_path)),
                    ("openvpn_server_clients_critical", "\"0:\"".into()),
                    ("openvpn_server_timeout", "5".into()),
                ]
            },
        },
    ]
}

/// An Icinga 2 scratch instance: its own state, cache, log and run directories, so that
/// nothing of the machine's Icinga 2 (if any) is read or written.
pub struct Instance {
    dir: tempfile::TempDir,
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

impl Instance {
    pub fn new() -> Instance {
        let dir = scratch("check-openvpn-icinga2-");
        for sub in ["lib", "cache", "log", "spool", "run", "perfdata"] {
            fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Instance { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `-D` definitions that keep icinga2 inside the scratch directory and let it run
    /// as the current user (root in CI).
    pub fn defines(&self) -> Vec<String> {
        let mut d: Vec<String> = [
            ("DataDir", "lib"),
            ("CacheDir", "cache"),
            ("LogDir", "log"),
            ("SpoolDir", "spool"),
            ("InitRunDir", "run"),
        ]
        .iter()
        .map(|(k, v)| format!("-D{k}={}", self.path(v).display()))
        .collect();
        let user = if super::is_root() {
            "root".to_string()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "nobody".into())
        };
        let group = if super::is_root() {
            "root".to_string()
        } else {
            user.clone()
        };
        d.push(format!("-DRunAsUser={user}"));
        d.push(format!("-DRunAsGroup={group}"));
        d
    }

    /// `icinga2 daemon -c CONFIG` with the scratch definitions.
    pub fn command(&self, icinga2: &Path, config: &Path) -> Command {
        let mut cmd = Command::new(icinga2);
        cmd.arg("daemon").arg("-c").arg(config).args(self.defines());
        cmd
    }
}

/// (state, perfdata) of each check of `service` that the perfdata files recorded.
pub fn results(perfdata: &str, service: &str) -> Vec<(String, String)> {
    perfdata
        .lines()
        .filter(|l| l.contains(&format!("\tSERVICEDESC::{service}\t")))
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            (field("SERVICESTATE::"), field("SERVICEPERFDATA::"))
        })
        .collect()
}

/// The objects of a daemon run: a PerfdataWriter into the instance, a host on 127.0.0.1,
/// and per scenario a service checked every second. Plus `openvpn-closed`: the first
/// command against a closed port. `servers` are in the order of `scenarios`.
pub fn daemon_objects(inst: &Instance, scenarios: &[Scenario], servers: &[Server]) -> String {
    let perf = inst.path("perfdata");
    let mut o = String::new();
    let _ = write!(
        o,
        r#"
object PerfdataWriter "check-openvpn-perfdata" {{
  host_perfdata_path = "{perf}/host-perfdata"
  service_perfdata_path = "{perf}/service-perfdata"
  host_temp_path = "{perf}/host-perfdata.tmp"
  service_temp_path = "{perf}/service-perfdata.tmp"
  rotation_interval = 1s
}}
object Host "vpn" {{
  address = "127.0.0.1"
  check_command = "dummy"
  check_interval = 1s
}}
"#,
        perf = perf.display()
    );
    for (scenario, server) in scenarios.iter().zip(servers) {
        let _ = writeln!(
            o,
            "object Service {:?} {{\n  host_name = \"vpn\"\n  check_command = {:?}\n  \
             check_interval = 1s\n  retry_interval = 1s",
            scenario.service, scenario.command
        );
        for (var, value) in (scenario.vars)(server) {
            let _ = writeln!(o, "  vars.{var} = {value}");
        }
        o.push_str("}\n");
    }
    let _ = write!(
        o,
        "object Service \"openvpn-closed\" {{\n  host_name = \"vpn\"\n  check_command = {:?}\n  \
         check_interval = 1s\n  retry_interval = 1s\n  vars.openvpn_port = {}\n  \
         vars.openvpn_timeout = 0.5\n  vars.openvpn_retrycount = 1\n}}\n",
        scenarios.first().map(|s| s.command).unwrap_or("openvpn"),
        common::closed_udp_port()
    );
    o
}

/// The scenarios for `commands` (the CheckCommands a shipped file defines); panics for a
/// command with none, or a scenario whose command is not shipped.
pub fn scenarios_for(commands: &[String]) -> Vec<Scenario> {
    let all = scenarios();
    for c in commands {
        assert!(
            all.iter().any(|s| s.command == c),
            "CheckCommand {c:?} has no scenario: add one to tests/packaging/support/icinga2.rs"
        );
    }
    for s in &all {
        assert!(
            commands.iter().any(|c| c == s.command),
            "scenario {} runs CheckCommand {:?}, which the file does not define",
            s.service,
            s.command
        );
    }
    all
}

/// Starts a server per scenario: multi-client where it can (root with a tun device), else
/// point to point, which answers only the first check.
pub fn start_servers(scenarios: &[Scenario]) -> (Vec<Server>, common::Mode) {
    let mode = if common::tun_available() {
        common::Mode::MultiClient
    } else {
        eprintln!("note: no root or /dev/net/tun, using point-to-point OpenVPN servers");
        common::Mode::P2p
    };
    let servers = scenarios
        .iter()
        .map(|s| {
            // A status file, so that openvpn_server's client threshold has clients to
            // count (a threshold with nothing to count from is UNKNOWN).
            Server::start_with(
                ServerOpts {
                    mode,
                    wrap: s.wrap.clone(),
                    ..Default::default()
                },
                &["status status.log 10"],
            )
        })
        .collect();
    (servers, mode)
}

/// Runs `cmd` (an icinga2 daemon whose config holds [`daemon_objects`]) until the
/// perfdata files show OK (with `time` perfdata; twice from a multi-client server) for
/// every scenario and CRITICAL for the closed port; then stops it and returns what was
/// recorded. Panics with the logs after 90 s.
pub fn run_daemon(
    inst: &Instance,
    mut cmd: Command,
    scenarios: &[Scenario],
    servers: &[Server],
    mode: common::Mode,
) -> String {
    let perf = inst.path("perfdata");
    let log_path = inst.path("daemon.log");
    let log_file = fs::File::create(&log_path).expect("create daemon.log");
    cmd.stdout(log_file.try_clone().unwrap()).stderr(log_file);
    let mut daemon = Daemon::spawn("icinga2", cmd);
    let wanted_oks = if mode == common::Mode::MultiClient {
        2
    } else {
        1
    };
    // Keep the snapshot that showed every result: icinga2 rotates the perfdata files
    // every second, and its last rotation at shutdown may replace one of them.
    let found = wait_for(Duration::from_secs(90), || {
        if daemon.exited().is_some() {
            return Some(None);
        }
        let data = read_files_with_prefix(&perf, "service-perfdata");
        let all_ok = scenarios.iter().all(|s| {
            results(&data, s.service)
                .iter()
                .filter(|(state, perf)| state == "OK" && perf.contains("time="))
                .count()
                >= wanted_oks
        });
        let crit = results(&data, "openvpn-closed")
            .iter()
            .any(|(state, _)| state == "CRITICAL");
        (all_ok && crit).then_some(Some(data))
    });
    let Some(Some(data)) = found else {
        let exit = daemon.exited();
        let servers: String = servers.iter().map(|s| s.diagnostics()).collect();
        panic!(
            "icinga2 did not record {wanted_oks} OK (with time perfdata) per service and a \
             CRITICAL in 90 s\nicinga2 exit: {exit:?}\n--- icinga2 log ---\n{}\n\
             --- perfdata ---\n{}\n--- openvpn ---\n{servers}",
            fs::read_to_string(&log_path).unwrap_or_default(),
            read_files_with_prefix(&perf, "service-perfdata"),
        );
    };
    daemon.stop();
    for s in scenarios {
        let checks = results(&data, s.service);
        if mode == common::Mode::MultiClient {
            // Every check of a multi-client server passed, not only the first.
            assert!(
                checks.iter().all(|(state, _)| state == "OK"),
                "{}: {checks:?}",
                s.service
            );
        }
        eprintln!(
            "icinga2: {} ({}): {} check(s), first: {:?}",
            s.service,
            s.command,
            checks.len(),
            checks.first()
        );
    }
    for (state, perf) in results(&data, "openvpn-closed") {
        assert_eq!(state, "CRITICAL", "{data}");
        assert!(!perf.contains("time="), "no time without an answer: {perf}");
    }
    data
}
