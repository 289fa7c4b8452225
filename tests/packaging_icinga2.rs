//! packaging/icinga2/openvpn.conf against a real Icinga 2 (Debian `icinga2-bin`):
//! every flag has an argument, `icinga2 daemon -C` accepts it next to the whole ITL, and
//! a real icinga2 daemon runs the command against a real OpenVPN server.

mod common;
mod packaging_support;

use clap::CommandFactory;
use packaging_support as ps;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
    "openvpn_diagnose",
    "openvpn_no_validation",
    "openvpn_tls",
    "openvpn_ca",
    "openvpn_certificate",
    "openvpn_verify_x509_name",
    "openvpn_verify_x509_type",
    "openvpn_remote_cert_tls",
    "openvpn_login",
    "openvpn_cert",
    "openvpn_key",
    "openvpn_auth_user_pass",
    "openvpn_totp_secret",
    "openvpn_wait_for_close",
    "openvpn_warning",
    "openvpn_critical",
    "openvpn_verbose",
    "openvpn_server_config",
    "openvpn_server_no_probe",
    "openvpn_server_clients_warning",
    "openvpn_server_clients_critical",
    "openvpn_server_certificate",
    "openvpn_server_timeout",
    "openvpn_server_retrycount",
    "openvpn_server_verbose",
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

/// The texts of the argument blocks for `key` (one per CheckCommand that has it).
fn argument_blocks<'a>(conf: &'a str, key: &str) -> Vec<&'a str> {
    conf.match_indices(&format!("\"{key}\" = {{"))
        .map(|(start, _)| argument_block(&conf[start..], key))
        .collect()
}

/// The text of the first argument block for `key`, up to its closing brace.
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
            argument_blocks(&conf, k).iter().any(|block| {
                block.contains(&format!("${var}$")) && block.contains("description = \"")
            })
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

/// The Icinga 2 scratch instance: its own state, cache, log and run directories, so that
/// nothing of the machine's Icinga 2 (if any) is read or written.
struct Instance {
    dir: tempfile::TempDir,
}

impl Instance {
    fn new() -> Instance {
        let dir = ps::scratch("check-openvpn-icinga2-");
        for sub in ["lib", "cache", "log", "spool", "run", "perfdata"] {
            fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        Instance { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `-D` definitions that keep icinga2 inside the scratch directory and let it run
    /// as the current user (root in CI).
    fn defines(&self) -> Vec<String> {
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
        let user = if ps::is_root() {
            "root".to_string()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "nobody".into())
        };
        let group = if ps::is_root() {
            "root".to_string()
        } else {
            user.clone()
        };
        d.push(format!("-DRunAsUser={user}"));
        d.push(format!("-DRunAsGroup={group}"));
        d
    }

    /// icinga2.conf: constants, the ITL, the definition under test, `extra`.
    fn write_config(&self, plugin_dir: &Path, extra: &str) -> PathBuf {
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
        let path = self.path("icinga2.conf");
        fs::write(&path, c).expect("write icinga2.conf");
        path
    }

    fn command(&self, icinga2: &Path, config: &Path) -> Command {
        let mut cmd = Command::new(icinga2);
        cmd.arg("daemon").arg("-c").arg(config).args(self.defines());
        cmd
    }
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
apply Service "openvpn-server" {
  check_command = "openvpn_server"
  vars.openvpn_server_config = "/etc/openvpn/server/server.conf"
  vars.openvpn_server_no_probe = false
  vars.openvpn_server_clients_warning = "1:"
  vars.openvpn_server_clients_critical = "0:500"
  vars.openvpn_server_certificate = "30,7"
  vars.openvpn_server_timeout = 2
  vars.openvpn_server_retrycount = 2
  vars.openvpn_server_verbose = true
  assign where host.name == "vpn"
}
"#;

fn icinga2(test: &str) -> Option<PathBuf> {
    ps::require_tool("icinga2", "the Debian package icinga2-bin", test)
}

#[test]
fn icinga2_validates_the_definition() {
    let Some(icinga2) = icinga2("icinga2_validates_the_definition") else {
        return;
    };
    let inst = Instance::new();
    let config = inst.write_config(&ps::plugin_dir(), VALIDATION_OBJECTS);
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
    assert!(log.contains("Instantiated 5 Services"), "{log}");

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
    let config = inst.write_config(&ps::plugin_dir(), &objects);
    let out = ps::output(inst.command(&icinga2, &config).arg("-C"));
    let log = ps::text(&out);
    assert!(
        out.status.success(),
        "icinga2 daemon -C rejected the README example:\n{log}"
    );
    assert!(log.contains("Instantiated 3 Services"), "{log}");
}

/// Which checks of `service` the perfdata files recorded: (state, perfdata) pairs.
fn results(perfdata: &str, service: &str) -> Vec<(String, String)> {
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

#[test]
fn icinga2_daemon_runs_the_check_against_a_real_openvpn_server() {
    let Some(icinga2) = icinga2("icinga2_daemon_runs_the_check_against_a_real_openvpn_server")
    else {
        return;
    };
    if !common::openvpn_available() {
        return;
    }
    // A multi-client server answers every check; a point-to-point one only the first
    // (that is enough for this test, but the server log fills with errors).
    let mode = if common::tun_available() {
        common::Mode::MultiClient
    } else {
        eprintln!("note: no root or /dev/net/tun, using a point-to-point OpenVPN server");
        common::Mode::P2p
    };
    let server = common::Server::start(common::ServerOpts {
        mode,
        wrap: common::Wrap::tls_auth("SHA256", Some(0)),
        ..Default::default()
    });
    let closed = common::closed_udp_port();

    let inst = Instance::new();
    let perf = inst.path("perfdata");
    let mut objects = String::new();
    let _ = write!(
        objects,
        r#"
object CheckerComponent "checker" {{ }}
object PerfdataWriter "perfdata" {{
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
object Service "openvpn" {{
  host_name = "vpn"
  check_command = "openvpn"
  check_interval = 1s
  retry_interval = 1s
  vars.openvpn_port = {port}
  vars.openvpn_tls_auth = "{key}"
  vars.openvpn_digest = "SHA256"
  vars.openvpn_timeout = 1
  vars.openvpn_retrycount = 2
  vars.openvpn_warning = 5
  vars.openvpn_critical = 10
}}
object Service "openvpn-closed" {{
  host_name = "vpn"
  check_command = "openvpn"
  check_interval = 1s
  retry_interval = 1s
  vars.openvpn_port = {closed}
  vars.openvpn_tls_auth = "{key}"
  vars.openvpn_digest = "SHA256"
  vars.openvpn_timeout = 0.5
  vars.openvpn_retrycount = 1
}}
object Service "openvpn-server" {{
  host_name = "vpn"
  check_command = "openvpn_server"
  check_interval = 1s
  retry_interval = 1s
  vars.openvpn_server_config = "{config}"
  vars.openvpn_server_no_probe = {no_probe}
  vars.openvpn_server_clients_critical = "0:"
}}
"#,
        perf = perf.display(),
        port = server.port,
        key = server.static_key.display(),
        config = server.config_path.display(),
        // A point-to-point server answers one peer: the "openvpn" service.
        no_probe = mode == common::Mode::P2p,
    );
    let config = inst.write_config(&ps::plugin_dir(), &objects);
    let log_path = inst.path("daemon.log");
    let log_file = fs::File::create(&log_path).expect("create daemon.log");
    let mut cmd = inst.command(&icinga2, &config);
    cmd.stdout(log_file.try_clone().unwrap()).stderr(log_file);
    let mut daemon = ps::Daemon::spawn("icinga2", cmd);

    let diag = |daemon_exit: Option<std::process::ExitStatus>| {
        format!(
            "icinga2 exit: {daemon_exit:?}\n--- icinga2 log ---\n{}\n--- perfdata ---\n{}\n--- openvpn ---\n{}",
            fs::read_to_string(&log_path).unwrap_or_default(),
            ps::read_files_with_prefix(&perf, "service-perfdata"),
            server.diagnostics()
        )
    };
    // A multi-client server must pass repeated checks (check_interval = 1s).
    let wanted_oks = if mode == common::Mode::MultiClient {
        2
    } else {
        1
    };
    // Keep the snapshot that showed both results: icinga2 rotates the perfdata files
    // every second, and its last rotation at shutdown may replace one of them.
    let found = ps::wait_for(Duration::from_secs(60), || {
        if daemon.exited().is_some() {
            return Some(None);
        }
        let data = ps::read_files_with_prefix(&perf, "service-perfdata");
        let oks = results(&data, "openvpn")
            .iter()
            .filter(|(state, perf)| state == "OK" && perf.contains("time="))
            .count();
        let ok = oks >= wanted_oks;
        let crit = results(&data, "openvpn-closed")
            .iter()
            .any(|(state, _)| state == "CRITICAL");
        let server_ok = results(&data, "openvpn-server")
            .iter()
            .any(|(state, perf)| state == "OK" && perf.contains("cert_days="));
        (ok && crit && server_ok).then_some(Some(data))
    });
    let Some(Some(data)) = found else {
        let exit = daemon.exited();
        panic!(
            "icinga2 did not record {wanted_oks} OK (with time perfdata), a CRITICAL and the server check's OK in 60 s\n{}",
            diag(exit)
        );
    };
    daemon.stop();

    let ok = results(&data, "openvpn");
    let (_, perfdata) = ok.iter().find(|(s, _)| s == "OK").expect("an OK result");
    eprintln!(
        "icinga2 recorded {} check(s) of the server, first OK perfdata: {perfdata}",
        ok.len()
    );
    // time=0.000123s;5;10;0;2.000000 attempts=1;;;1;2
    assert!(
        perfdata.starts_with("time=")
            && perfdata.contains("s;5;10;0;")
            && perfdata.contains("attempts=1;"),
        "{perfdata}"
    );
    for (state, perf) in results(&data, "openvpn-closed") {
        assert_eq!(state, "CRITICAL", "{data}");
        assert!(!perf.contains("time="), "no time without an answer: {perf}");
    }
    if mode == common::Mode::MultiClient {
        // Every check of the multi-client server passed, not only the first.
        assert!(ok.iter().all(|(s, _)| s == "OK"), "{}", diag(None));
    }
}
