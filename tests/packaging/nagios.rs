//! packaging/nagios/check_openvpn.cfg against a real Nagios 4 (Debian `nagios4-core`):
//! `nagios4 -v` accepts it on a minimal main config with a service for every command, and
//! a real nagios4 daemon runs each command against a real OpenVPN server of its kind.

use crate::common;
use crate::support as packaging_support;

use packaging_support as ps;
use packaging_support::nagios::{self, commands, service, Nagios};
use std::path::PathBuf;
use std::process::Command;

const CFG: &str = "packaging/nagios/check_openvpn.cfg";

/// The commands the file must define, for the common cases (it may define more; the
/// daemon test runs every one).
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
    "check_openvpn_dns",
    "check_openvpn_tcp_connect",
    "check_openvpn_http",
];

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn defines_the_common_cases_with_real_flags() {
    let cfg = ps::read(CFG);
    let defined = commands(&cfg);
    let names: Vec<&str> = defined.iter().map(|(n, _)| n.as_str()).collect();
    for c in COMMANDS {
        assert!(names.contains(c), "{CFG}: no command {c}: {names:?}");
    }
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

fn nagios4(test: &str) -> Option<PathBuf> {
    ps::require_tool("nagios4", "the Debian package nagios4-core", test)
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
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
        (
            "dns",
            "check_openvpn_dns!/etc/nagios4/openvpn/monitor.ovpn!intranet.example.com!".into(),
        ),
        (
            "tcp-connect",
            "check_openvpn_tcp_connect!/etc/nagios4/openvpn/monitor.ovpn!10.8.0.10:22!".into(),
        ),
        (
            "http",
            "check_openvpn_http!/etc/nagios4/openvpn/monitor.ovpn!http://10.8.0.10/!--http-expect 200"
                .into(),
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
        log.contains(&format!(
            "Checked {} commands.",
            nagios::commands(&ps::read(CFG)).len() + 1
        )),
        "{log}"
    );
    assert!(log.contains("Checked 13 services."), "{log}");

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
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
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

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn nagios4_daemon_runs_every_command_against_real_openvpn_servers() {
    let Some(nagios4) = nagios4("nagios4_daemon_runs_every_command_against_real_openvpn_servers")
    else {
        return;
    };
    if !common::openvpn_available() {
        return;
    }
    nagios::daemon_runs_every_command(&nagios4, &ps::root().join(CFG), &ps::plugin_dir());
}
