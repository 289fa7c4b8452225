//! packaging/nagios/check_openvpn.cfg against a real Nagios 4 (Debian `nagios4-core`):
//! `nagios4 -v` accepts it on a minimal main config with a service for every command, and
//! a real nagios4 daemon runs each command against a real OpenVPN server of its kind.

mod common;
mod packaging_support;

use packaging_support as ps;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CFG: &str = "packaging/nagios/check_openvpn.cfg";

/// The commands the file must define, for the common cases.
const COMMANDS: &[&str] = &[
    "check_openvpn",
    "check_openvpn_tls_auth",
    "check_openvpn_tls_crypt",
    "check_openvpn_tls_crypt_v2",
    "check_openvpn_config",
    "check_openvpn_tls",
    "check_openvpn_login",
    "check_openvpn_tcp",
    "check_openvpn_args",
    "check_openvpn_server",
];

/// (command_name, command_line) of every command definition in `cfg`.
fn commands(cfg: &str) -> Vec<(String, String)> {
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

#[test]
fn defines_the_common_cases_with_real_flags() {
    let cfg = ps::read(CFG);
    let defined = commands(&cfg);
    let names: Vec<&str> = defined.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, COMMANDS, "{CFG}: command names");
    use clap::CommandFactory;
    let cli = check_openvpn::flags::Cli::command();
    for (name, line) in &defined {
        // The server-side check runs on the server host, from the server's config.
        let start = if name == "check_openvpn_server" {
            "$USER1$/check_openvpn --server-config $ARG1$ "
        } else {
            "$USER1$/check_openvpn -H $HOSTADDRESS$ "
        };
        assert!(line.starts_with(start), "{name}: {line}");
        for word in line.split_whitespace().filter(|w| w.starts_with("--")) {
            let long = &word[2..];
            assert!(
                cli.get_arguments().any(|a| a.get_long() == Some(long)),
                "{name} uses {word}, which check_openvpn does not have"
            );
        }
    }
}

/// A scratch Nagios: main config, resource file, objects, all under one directory.
struct Nagios {
    dir: tempfile::TempDir,
}

impl Nagios {
    fn new() -> Nagios {
        Nagios {
            dir: ps::scratch("check-openvpn-nagios-"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes nagios.cfg (reading `cfg` and objects.cfg) and returns its path.
    fn write(&self, cfg: &Path, plugin_dir: &Path, services: &str) -> PathBuf {
        let d = self.dir.path().display().to_string();
        let user = if ps::is_root() {
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
fn service(description: &str, check_command: &str) -> String {
    format!(
        "define service {{\n    host_name vpn1\n    service_description {description}\n\
         \x20   check_command {check_command}\n    max_check_attempts 1\n\
         \x20   check_interval 3600\n    retry_interval 3600\n    check_period always\n\
         \x20   notification_period always\n    notification_interval 0\n\
         \x20   contacts admin\n}}\n"
    )
}

fn nagios4(test: &str) -> Option<PathBuf> {
    ps::require_tool("nagios4", "the Debian package nagios4-core", test)
}

#[test]
fn nagios4_verifies_the_definitions() {
    let Some(nagios4) = nagios4("nagios4_verifies_the_definitions") else {
        return;
    };
    let ng = Nagios::new();
    let key = "/etc/nagios4/openvpn/ta.key";
    let services: String = [
        ("plain", "check_openvpn!1194".to_string()),
        (
            "tls-auth",
            format!("check_openvpn_tls_auth!1194!{key}!SHA256"),
        ),
        ("tls-crypt", format!("check_openvpn_tls_crypt!1194!{key}")),
        (
            "tls-crypt-v2",
            format!("check_openvpn_tls_crypt_v2!1194!{key}"),
        ),
        (
            "config",
            "check_openvpn_config!/etc/nagios4/openvpn/vpn1.conf".into(),
        ),
        ("tcp", "check_openvpn_tcp!443!".into()),
        ("args", "check_openvpn_args!-p 1194 -w 0.5 -c 1".into()),
        (
            "tls",
            "check_openvpn_tls!1194!/etc/nagios4/openvpn/ca.crt!30,14!".into(),
        ),
        (
            "login",
            "check_openvpn_login!/etc/nagios4/openvpn/monitor.ovpn".into(),
        ),
        (
            "server",
            "check_openvpn_server!/etc/openvpn/server/server.conf!-C 30,7".into(),
        ),
    ]
    .iter()
    .map(|(d, c)| service(d, c))
    .collect();
    let main = ng.write(&ps::root().join(CFG), &ps::plugin_dir(), &services);
    let out = ps::output(Command::new(&nagios4).arg("-v").arg(&main));
    let log = ps::text(&out);
    assert!(out.status.success(), "nagios4 -v rejected {CFG}:\n{log}");
    assert!(log.contains("Total Errors:   0"), "{log}");
    assert!(log.contains("Total Warnings: 0"), "{log}");
    assert!(
        log.contains(&format!("Checked {} commands.", COMMANDS.len() + 1)),
        "{log}"
    );
    assert!(log.contains("Checked 10 services."), "{log}");

    // The check really compares: a service with an undefined command is an error.
    let main = ng.write(
        &ps::root().join(CFG),
        &ps::plugin_dir(),
        &service("typo", "check_openvpn_tls_auht!1194!x!SHA1"),
    );
    let out = ps::output(Command::new(&nagios4).arg("-v").arg(&main));
    assert!(
        !out.status.success(),
        "an undefined command passed:\n{}",
        ps::text(&out)
    );
}

#[test]
fn nagios4_verifies_the_readme_example() {
    let Some(nagios4) = nagios4("nagios4_verifies_the_readme_example") else {
        return;
    };
    let readme = ps::read("README.md");
    let after = readme
        .split_once("### Nagios\n")
        .expect("README.md: ### Nagios")
        .1;
    let start = after.find("```\n").expect("a code block") + 4;
    let example = &after[start..start + after[start..].find("```").expect("block end")];
    assert!(example.contains("define service"), "{example}");
    // The template the example uses, as Debian's nagios4 ships it (in essence).
    let template = "define service {\n    name generic-service\n    register 0\n\
                    \x20   max_check_attempts 3\n    check_interval 5\n    retry_interval 1\n\
                    \x20   check_period always\n    notification_period always\n\
                    \x20   notification_interval 0\n    contacts admin\n}\n";
    let ng = Nagios::new();
    let main = ng.write(
        &ps::root().join(CFG),
        &ps::plugin_dir(),
        &format!("{template}{example}"),
    );
    let out = ps::output(Command::new(&nagios4).arg("-v").arg(&main));
    let log = ps::text(&out);
    assert!(
        out.status.success(),
        "nagios4 -v rejected the README example:\n{log}"
    );
    assert!(log.contains("Checked 1 services."), "{log}");
}

/// `key = value` fields of each `servicestatus { ... }` block in status.dat, by service
/// description.
fn service_status(status: &str) -> Vec<(String, String, String)> {
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

#[test]
fn nagios4_daemon_runs_every_command_against_real_openvpn_servers() {
    let Some(nagios4) = nagios4("nagios4_daemon_runs_every_command_against_real_openvpn_servers")
    else {
        return;
    };
    if !common::openvpn_available() {
        return;
    }
    use common::{Proto, Server, ServerOpts, Wrap};
    // Point-to-point servers answer their first peer, and each service runs once.
    let start = |proto, wrap| {
        Server::start(ServerOpts {
            proto,
            wrap,
            ..Default::default()
        })
    };
    let plain = start(Proto::Udp, Wrap::None);
    let tls_auth = start(Proto::Udp, Wrap::tls_auth("SHA256", Some(0)));
    let tls_crypt = start(Proto::Udp, Wrap::TlsCrypt);
    let tls_crypt_v2 = start(Proto::Udp, Wrap::TlsCryptV2);
    let config = start(Proto::Udp, Wrap::tls_auth("SHA512", Some(1)));
    let tcp = start(Proto::Tcp, Wrap::tls_auth("SHA256", Some(0)));
    let args = start(Proto::Udp, Wrap::tls_auth("SHA1", None));
    let tls = start(Proto::Udp, Wrap::None);
    let login = start(Proto::Udp, Wrap::tls_auth("SHA256", Some(0)));
    let server = start(Proto::Udp, Wrap::TlsCrypt);
    let closed = common::closed_udp_port();
    let path = |p: &Path| p.display().to_string();

    let ng = Nagios::new();
    // A client config as a user would keep it; the host's address replaces its remote.
    let client_conf = ng.path("vpn1.conf");
    fs::write(
        &client_conf,
        format!(
            "client\ndev tun\nproto udp\nremote vpn.example.invalid {}\n\
             auth SHA512\ntls-auth {} 0\nremote-cert-tls server\n",
            config.port,
            path(&config.static_key)
        ),
    )
    .unwrap();
    // The monitoring system's own client config, with its certificate and key inline.
    let monitor_conf = ng.path("monitor.ovpn");
    let read = |p: &Path| fs::read_to_string(p).unwrap();
    fs::write(
        &monitor_conf,
        format!(
            "client\ndev tun\nproto udp\nremote vpn.example.invalid {}\nauth SHA256\n\
             tls-auth {} 1\nremote-cert-tls server\nca {}\n<cert>\n{}</cert>\n<key>\n{}</key>\n",
            login.port,
            path(&login.static_key),
            path(&login.ca_cert),
            read(&login.client_cert),
            read(&login.client_key)
        ),
    )
    .unwrap();
    let expected: Vec<(&str, String, &Server)> = vec![
        (
            "tls",
            format!(
                "check_openvpn_tls!{}!{}!30,14!",
                tls.port,
                path(&tls.ca_cert)
            ),
            &tls,
        ),
        (
            "login",
            format!("check_openvpn_login!{}", path(&monitor_conf)),
            &login,
        ),
        ("plain", format!("check_openvpn!{}", plain.port), &plain),
        (
            "tls-auth",
            format!(
                "check_openvpn_tls_auth!{}!{}!SHA256",
                tls_auth.port,
                path(&tls_auth.static_key)
            ),
            &tls_auth,
        ),
        (
            "tls-crypt",
            format!(
                "check_openvpn_tls_crypt!{}!{}",
                tls_crypt.port,
                path(&tls_crypt.static_key)
            ),
            &tls_crypt,
        ),
        (
            "tls-crypt-v2",
            format!(
                "check_openvpn_tls_crypt_v2!{}!{}",
                tls_crypt_v2.port,
                path(
                    tls_crypt_v2
                        .v2_client_key
                        .as_deref()
                        .expect("v2 client key")
                )
            ),
            &tls_crypt_v2,
        ),
        (
            "config",
            format!("check_openvpn_config!{}", path(&client_conf)),
            &config,
        ),
        (
            "tcp",
            format!(
                // A fresh point-to-point TCP server takes about a second to answer.
                "check_openvpn_tcp!{}!--tls-auth {} --digest SHA256 --timeout 5",
                tcp.port,
                path(&tcp.static_key)
            ),
            &tcp,
        ),
        (
            "args",
            format!(
                "check_openvpn_args!-p {} --tls-auth {} --key-direction bidirectional -w 5 -c 10",
                args.port,
                path(&args.static_key)
            ),
            &args,
        ),
        (
            "server",
            format!("check_openvpn_server!{}!-C 30,7", path(&server.config_path)),
            &server,
        ),
    ];
    let mut services: String = expected.iter().map(|(d, c, _)| service(d, c)).collect();
    services.push_str(&service(
        "closed",
        &format!("check_openvpn_args!-p {closed} --timeout 0.5 --retrycount 1"),
    ));
    let main = ng.write(&ps::root().join(CFG), &ps::plugin_dir(), &services);

    let log_path = ng.path("daemon.log");
    let log_file = fs::File::create(&log_path).unwrap();
    let mut cmd = Command::new(&nagios4);
    cmd.arg(&main)
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    let mut daemon = ps::Daemon::spawn("nagios4", cmd);
    let status_path = ng.path("status.dat");
    let want = expected.len() + 1;
    let status = ps::wait_for(Duration::from_secs(60), || {
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
    for (description, check_command, server) in &expected {
        let (_, state, output) = find(description);
        assert!(
            state == "0" && output.starts_with("OPENVPN OK - "),
            "{description} ({check_command}): state {state}: {output}\n{}",
            server.diagnostics()
        );
    }
    let (_, state, output) = find("closed");
    assert!(
        state == "2" && output.starts_with("OPENVPN CRITICAL - "),
        "closed port: state {state}: {output}"
    );
}
