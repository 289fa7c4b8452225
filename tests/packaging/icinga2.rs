//! packaging/icinga2/openvpn.conf against a real Icinga 2 (Debian `icinga2-bin`):
//! every flag has an argument, `icinga2 daemon -C` accepts it next to the whole ITL, and
//! a real icinga2 daemon runs the command against a real OpenVPN server.

use crate::common;
use crate::support as packaging_support;

use clap::CommandFactory;
use packaging_support as ps;
use packaging_support::icinga2::{self as icinga, Instance};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CONF: &str = "packaging/icinga2/openvpn.conf";

/// The custom variables the definition documents; each one must be used by an argument.
const VARS: &[&str] = &[
    "openvpn_address",
    "openvpn_port",
    "openvpn_tcp",
    "openvpn_bind",
    "openvpn_ipv4",
    "openvpn_ipv6",
    "openvpn_all_addresses",
    "openvpn_remote",
    "openvpn_timeout",
    "openvpn_retrycount",
    "openvpn_digest",
    "openvpn_digest_size",
    "openvpn_digest_key_client",
    "openvpn_digest_key_server",
    "openvpn_key_direction",
    "openvpn_tls_auth",
    "openvpn_tls_auth_inverse",
    "openvpn_tls_crypt",
    "openvpn_tls_crypt_v2",
    "openvpn_config",
    "openvpn_cipher",
    "openvpn_data_ciphers",
    "openvpn_auth",
    "openvpn_comp_lzo",
    "openvpn_compress",
    "openvpn_allow_compression",
    "openvpn_tun_mtu",
    "openvpn_diagnose",
    "openvpn_no_validation",
    "openvpn_tls",
    "openvpn_ca",
    "openvpn_certificate",
    "openvpn_verify_x509_name",
    "openvpn_verify_x509_type",
    "openvpn_remote_cert_tls",
    "openvpn_peer_fingerprint",
    "openvpn_login",
    "openvpn_cert",
    "openvpn_key",
    "openvpn_auth_user_pass",
    "openvpn_wait_for_close",
    "openvpn_ping",
    "openvpn_dns",
    "openvpn_dns_type",
    "openvpn_dns_server",
    "openvpn_dns_expect",
    "openvpn_tcp_connect",
    "openvpn_http",
    "openvpn_http_expect",
    "openvpn_ping_address",
    "openvpn_ping_count",
    "openvpn_ping_warning",
    "openvpn_ping_critical",
    "openvpn_warning",
    "openvpn_critical",
    "openvpn_verbose",
];

/// The argument keys of the CheckCommand (`"-H" = {`, `"--tcp" = {`, ...).
fn argument_keys(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix('"')?;
            let (key, tail) = rest.split_once('"')?;
            (tail.trim() == "= {" && key.starts_with('-')).then(|| key.to_string())
        })
        .collect()
}

/// The text of the argument block for `key`, up to its closing brace.
fn argument_block<'a>(conf: &'a str, key: &str) -> &'a str {
    let start = conf
        .find(&format!("\"{key}\" = {{"))
        .unwrap_or_else(|| panic!("{CONF}: no argument {key}"));
    let body = &conf[start..];
    let mut depth = 0;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &body[..=i];
                }
            }
            _ => {}
        }
    }
    panic!("{CONF}: unterminated argument {key}")
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn every_flag_has_an_argument_and_every_variable_a_description() {
    let conf = ps::read(CONF);
    let keys = argument_keys(&conf);
    let cmd = check_openvpn::flags::Cli::command();
    let mut missing = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") || arg.is_positional() {
            continue;
        }
        let forms: Vec<String> = arg
            .get_long()
            .map(|l| format!("--{l}"))
            .into_iter()
            .chain(arg.get_short().map(|s| format!("-{s}")))
            .collect();
        if !forms.iter().any(|f| keys.contains(f)) {
            missing.push(forms.join("/"));
        }
    }
    assert!(
        missing.is_empty(),
        "{CONF} has no argument for {missing:?}: add one with an openvpn_* custom variable \
         and a description (and list the variable in this test and the README)"
    );
    for var in VARS {
        let used = keys.iter().any(|k| {
            let block = argument_block(&conf, k);
            block.contains(&format!("${var}$")) && block.contains("description = \"")
        });
        assert!(used, "{CONF}: no described argument uses ${var}$");
    }
    let readme = ps::read("README.md");
    for var in VARS {
        assert!(
            readme.contains(&format!("`{var}`")),
            "README.md does not list {var}"
        );
    }
    assert!(conf.contains("vars.openvpn_address = \"$check_address$\""));
    assert!(conf.contains("command = [ PluginDir + \"/check_openvpn\" ]"));
}

/// icinga2.conf in `inst`: constants, the ITL, the definition under test, `extra`.
fn write_config(inst: &Instance, plugin_dir: &Path, extra: &str) -> PathBuf {
    let mut c = String::new();
    let _ = writeln!(
        c,
        "const PluginDir = {:?}",
        plugin_dir.display().to_string()
    );
    c.push_str(
        "const PluginContribDir = PluginDir\n\
         const ManubulonPluginDir = PluginDir\n\
         const NodeName = \"check-openvpn-test\"\n\
         const ZoneName = NodeName\n\
         const TicketSalt = \"\"\n\
         include <itl>\n\
         include <plugins>\n\
         include <plugins-contrib>\n",
    );
    let _ = writeln!(
        c,
        "include {:?}",
        ps::root().join(CONF).display().to_string()
    );
    c.push_str(
        "object Endpoint NodeName { }\n\
         object Zone ZoneName { endpoints = [ NodeName ] }\n",
    );
    c.push_str(extra);
    let path = inst.path("icinga2.conf");
    fs::write(&path, c).expect("write icinga2.conf");
    path
}

/// Services that set every custom variable one way or another, so that validation sees
/// them all (arguments are resolved at check time, but -C compiles the lambdas).
const VALIDATION_OBJECTS: &str = r#"
object Host "vpn" {
  address = "192.0.2.10"
  address6 = "2001:db8::10"
  check_command = "dummy"
}
apply Service "openvpn-tls-auth" {
  check_command = "openvpn"
  vars.openvpn_port = 1194
  vars.openvpn_tcp = true
  vars.openvpn_ipv6 = true
  vars.openvpn_all_addresses = true
  vars.openvpn_timeout = 0.5
  vars.openvpn_retrycount = 2
  vars.openvpn_digest = "SHA256"
  vars.openvpn_digest_size = 16
  vars.openvpn_key_direction = "bidirectional"
  vars.openvpn_tls_auth = "/etc/icinga2/openvpn/ta.key"
  vars.openvpn_no_validation = false
  vars.openvpn_warning = "0.5"
  vars.openvpn_critical = "@1:2"
  vars.openvpn_verbose = 2
  assign where host.name == "vpn"
}
apply Service "openvpn-tls-crypt" {
  check_command = "openvpn"
  vars.openvpn_ipv4 = true
  vars.openvpn_tls_crypt = "/etc/icinga2/openvpn/tc.key"
  vars.openvpn_diagnose = true
  vars.openvpn_verbose = true
  assign where host.name == "vpn"
}
apply Service "openvpn-tls-crypt-v2" {
  check_command = "openvpn"
  vars.openvpn_tls_crypt_v2 = "/etc/icinga2/openvpn/tc2.key"
  vars.openvpn_tls_auth_inverse = true
  vars.openvpn_digest_key_client = "00112233"
  vars.openvpn_digest_key_server = "44556677"
  assign where host.name == "vpn"
}
apply Service "openvpn-config" {
  check_command = "openvpn"
  vars.openvpn_address = false
  vars.openvpn_config = "/etc/icinga2/openvpn/client.conf"
  vars.openvpn_verbose = 3
  assign where host.name == "vpn"
}
"#;

fn icinga2(test: &str) -> Option<PathBuf> {
    ps::require_tool("icinga2", "the Debian package icinga2-bin", test)
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn icinga2_validates_the_definition() {
    let Some(icinga2) = icinga2("icinga2_validates_the_definition") else {
        return;
    };
    let inst = Instance::new();
    let config = write_config(&inst, &ps::plugin_dir(), VALIDATION_OBJECTS);
    let out = ps::output(inst.command(&icinga2, &config).arg("-C"));
    let log = ps::text(&out);
    assert!(
        out.status.success(),
        "icinga2 daemon -C rejected {CONF}:\n{log}"
    );
    assert!(
        log.contains("Finished validating the configuration"),
        "{log}"
    );
    assert!(log.contains("Instantiated 4 Services"), "{log}");

    // The compiled object, as icinga2 itself lists it from the objects file -C wrote.
    let listed = ps::run_ok(
        Command::new(&icinga2)
            .args([
                "object",
                "list",
                "--type",
                "CheckCommand",
                "--name",
                "openvpn",
            ])
            .args(inst.defines()),
    );
    assert!(
        listed.contains("Object 'openvpn' of type 'CheckCommand'"),
        "{listed}"
    );
    assert!(listed.contains("* --tls-crypt-v2\n"), "{listed}");
    assert!(
        listed.contains("openvpn_address = \"$check_address$\""),
        "{listed}"
    );

    // The check really compares: a broken definition is rejected.
    let broken = inst.path("broken.conf");
    fs::write(
        &broken,
        ps::read(CONF).replace("import \"ipv4-or-ipv6\"", "import \"no-such-template\""),
    )
    .unwrap();
    let text = fs::read_to_string(&config).unwrap().replace(
        &ps::root().join(CONF).display().to_string(),
        &broken.display().to_string(),
    );
    fs::write(&config, text).unwrap();
    let out = ps::output(inst.command(&icinga2, &config).arg("-C"));
    assert!(
        !out.status.success(),
        "a broken definition passed:\n{}",
        ps::text(&out)
    );
}

/// The first code block after `heading` in README.md.
fn readme_block(heading: &str) -> String {
    let readme = ps::read("README.md");
    let after = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"))
        .1;
    let start = after.find("```\n").expect("a code block") + 4;
    let len = after[start..].find("```").expect("end of the code block");
    after[start..start + len].to_string()
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn icinga2_validates_the_readme_example() {
    let Some(icinga2) = icinga2("icinga2_validates_the_readme_example") else {
        return;
    };
    let example = readme_block("### Icinga 2\n");
    assert!(example.contains("check_command = \"openvpn\""), "{example}");
    let inst = Instance::new();
    let objects = format!(
        "object HostGroup \"vpn-servers\" {{ }}\n\
         object Host \"vpn1\" {{\n  address = \"192.0.2.10\"\n  check_command = \"dummy\"\n\
         \x20 groups = [ \"vpn-servers\" ]\n}}\n{example}"
    );
    let config = write_config(&inst, &ps::plugin_dir(), &objects);
    let out = ps::output(inst.command(&icinga2, &config).arg("-C"));
    let log = ps::text(&out);
    assert!(
        out.status.success(),
        "icinga2 daemon -C rejected the README example:\n{log}"
    );
    assert!(log.contains("Instantiated 3 Services"), "{log}");
}

/// The README's sudo variant of `openvpn_server` for the Icinga 2 agent is valid config.
#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn icinga2_validates_the_readme_sudo_command() {
    let Some(icinga2) = icinga2("icinga2_validates_the_readme_sudo_command") else {
        return;
    };
    let readme = ps::read("README.md");
    let at = readme
        .find("`object CheckCommand \"openvpn_server_sudo\"")
        .expect("README.md names the sudo CheckCommand");
    let text = &readme[at + 1..];
    let command = &text[..text.find('`').expect("its end")];
    assert!(command.contains("import \"openvpn_server\""), "{command}");
    let inst = Instance::new();
    let objects = format!(
        "{command}\nobject Host \"vpn1\" {{\n  address = \"192.0.2.10\"\n  check_command = \"dummy\"\n}}\n\
         object Service \"openvpn-server\" {{\n  host_name = \"vpn1\"\n  check_command = \"openvpn_server_sudo\"\n\
         \x20 vars.openvpn_server_config = \"/etc/openvpn/server/server.conf\"\n}}\n"
    );
    let config = write_config(&inst, &ps::plugin_dir(), &objects);
    let out = ps::output(inst.command(&icinga2, &config).arg("-C"));
    let log = ps::text(&out);
    assert!(
        out.status.success(),
        "icinga2 daemon -C rejected the README's sudo CheckCommand:\n{log}"
    );
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn icinga2_daemon_runs_every_command_against_real_openvpn_servers() {
    let Some(icinga2) = icinga2("icinga2_daemon_runs_every_command_against_real_openvpn_servers")
    else {
        return;
    };
    if !common::openvpn_available() {
        return;
    }
    let scenarios = icinga::scenarios_for(&icinga::check_commands(&ps::read(CONF)));
    let (servers, mode) = icinga::start_servers(&scenarios);
    let inst = Instance::new();
    let objects = format!(
        "object CheckerComponent \"checker\" {{ }}\n{}",
        icinga::daemon_objects(&inst, &scenarios, &servers)
    );
    let config = write_config(&inst, &ps::plugin_dir(), &objects);
    let data = icinga::run_daemon(
        &inst,
        inst.command(&icinga2, &config),
        &scenarios,
        &servers,
        mode,
    );
    // The thresholds reach the plugin: time=0.000123s;5;10;0;... attempts=1;;;1;2
    let (_, perfdata) = icinga::results(&data, "openvpn-reset")
        .into_iter()
        .find(|(s, _)| s == "OK")
        .expect("an OK result");
    assert!(
        perfdata.starts_with("time=")
            && perfdata.contains("s;5;10;0;")
            && perfdata.contains("attempts=1;"),
        "{perfdata}"
    );
}
