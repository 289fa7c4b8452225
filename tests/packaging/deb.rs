//! The Debian package: `cargo deb` builds it from `[package.metadata.deb]` in Cargo.toml,
//! in the crate from `cargo package` unpacked with its vendored dependencies, with no
//! network, sharing its compiled dependencies with the other package builds
//! (`packaging_support::built::SharedBuild`). Then it is inspected (`dpkg-deb`), installed
//! with dpkg into a scratch root, its binary run, a real Nagios 4 runs every installed
//! command with it, the stock Icinga 2 configuration runs every installed CheckCommand
//! from a `dpkg -x` root, and `lintian` must report no errors.

use crate::common;
use crate::support as packaging_support;

use packaging_support as ps;
use packaging_support::built;
use packaging_support::icinga2::{self as icinga, Instance};
use packaging_support::nagios;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (path in the package, mode) of every file the package must install.
const FILES: &[(&str, &str)] = &[
    ("./usr/lib/nagios/plugins/check_openvpn", "-rwxr-xr-x"),
    (
        "./usr/share/icinga2/include/plugins-contrib.d/openvpn.conf",
        "-rw-r--r--",
    ),
    (
        "./etc/nagios-plugins/config/check_openvpn.cfg",
        "-rw-r--r--",
    ),
    ("./usr/share/man/man1/check_openvpn.1.gz", "-rw-r--r--"),
    (
        "./usr/share/bash-completion/completions/check_openvpn",
        "-rw-r--r--",
    ),
    (
        "./usr/share/zsh/vendor-completions/_check_openvpn",
        "-rw-r--r--",
    ),
    (
        "./usr/share/fish/vendor_completions.d/check_openvpn.fish",
        "-rw-r--r--",
    ),
    ("./usr/share/doc/check-openvpn/README.md", "-rw-r--r--"),
    ("./usr/share/doc/check-openvpn/copyright", "-rw-r--r--"),
    (
        "./usr/share/doc/check-openvpn/changelog.Debian.gz",
        "-rw-r--r--",
    ),
];

/// Installed files that must be byte-identical to the repository's.
const SHIPPED_AS_IS: &[(&str, &str)] = &[
    (
        "usr/share/icinga2/include/plugins-contrib.d/openvpn.conf",
        "packaging/icinga2/openvpn.conf",
    ),
    (
        "etc/nagios-plugins/config/check_openvpn.cfg",
        "packaging/nagios/check_openvpn.cfg",
    ),
    (
        "usr/share/bash-completion/completions/check_openvpn",
        "packaging/completions/check_openvpn.bash",
    ),
    (
        "usr/share/zsh/vendor-completions/_check_openvpn",
        "packaging/completions/_check_openvpn",
    ),
    (
        "usr/share/fish/vendor_completions.d/check_openvpn.fish",
        "packaging/completions/check_openvpn.fish",
    ),
    ("usr/share/doc/check-openvpn/README.md", "README.md"),
];

/// `target/` of this workspace (the test binary lives in target/debug/deps/).
fn target_dir() -> PathBuf {
    ps::plugin_dir()
        .parent()
        .expect("target/debug has a parent")
        .to_path_buf()
}

/// This machine's Debian architecture (amd64, arm64, ...): cargo deb builds for it.
fn debian_arch() -> String {
    ps::run_ok(Command::new("dpkg").arg("--print-architecture"))
        .trim()
        .to_string()
}

/// Runs cargo deb in the unpacked crate with its vendored dependencies, with no network;
/// returns the path of the .deb.
fn build(cargo_deb: &Path, sources: &built::CrateSources) -> PathBuf {
    let out_dir = target_dir().join("packaging/debian");
    let _ = fs::remove_dir_all(&out_dir);
    let mut cmd = built::offline_command(cargo_deb);
    built::package_build_env(&mut cmd)
        .args(["deb", "-o"])
        .arg(&out_dir)
        .args(["--", "--locked"])
        .current_dir(&sources.tree);
    let stdout = ps::run_ok(&mut cmd);
    let deb = out_dir.join(format!(
        "check-openvpn_{}-1_{}.deb",
        ps::version(),
        debian_arch()
    ));
    assert!(
        deb.is_file(),
        "cargo deb did not write {}: {stdout}",
        deb.display()
    );
    deb
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn cargo_deb_builds_a_package_that_installs_runs_and_passes_lintian() {
    let test = "cargo_deb_builds_a_package_that_installs_runs_and_passes_lintian";
    let Some(cargo_deb) = ps::require_tool(
        "cargo-deb",
        "cargo-deb (cargo install cargo-deb --locked)",
        test,
    ) else {
        return;
    };
    let Some(dpkg) = ps::require_tool("dpkg", "dpkg (a Debian system)", test) else {
        return;
    };
    let Some(lintian) = ps::require_tool("lintian", "the Debian package lintian", test) else {
        return;
    };
    let changelog = ps::read("packaging/debian/changelog");
    assert!(
        changelog.starts_with(&format!("check-openvpn ({}-1) ", ps::version())),
        "packaging/debian/changelog: add an entry for {}-1 at the top",
        ps::version()
    );
    let sources = built::crate_sources();
    let deb = build(&cargo_deb, &sources);

    // Contents and modes.
    let listing = ps::run_ok(Command::new("dpkg-deb").arg("-c").arg(&deb));
    eprintln!("dpkg-deb -c {}:\n{listing}", deb.display());
    for (path, mode) in FILES {
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
        assert!(line.starts_with(mode), "{path}: {line}");
    }
    let docs = built::docs();
    for doc in &docs {
        let path = format!("./usr/share/doc/check-openvpn/{doc}");
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" {path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
        assert!(line.starts_with("-rw-r--r--"), "{path}: {line}");
    }
    let files = listing.lines().filter(|l| l.starts_with('-')).count();
    assert_eq!(
        files,
        FILES.len() + docs.len(),
        "unexpected files in the package:\n{listing}"
    );

    // Control fields.
    let field = |name: &str| {
        ps::run_ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name))
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "check-openvpn");
    assert_eq!(field("Version"), format!("{}-1", ps::version()));
    assert_eq!(field("Architecture"), debian_arch());
    assert!(field("Depends").contains("libc6"), "{}", field("Depends"));
    let conffiles = ps::run_ok(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("conffiles"),
    );
    assert_eq!(
        conffiles.trim(),
        "/etc/nagios-plugins/config/check_openvpn.cfg"
    );

    // Install with dpkg into a scratch root (its own empty dpkg database).
    let root = ps::scratch("check-openvpn-dpkg-root-");
    let r = root.path();
    let admin = r.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        fs::create_dir_all(admin.join(d)).unwrap();
    }
    fs::write(admin.join("status"), "").unwrap();
    fs::write(admin.join("available"), "").unwrap();
    ps::run_ok(
        Command::new(&dpkg)
            .arg(format!("--root={}", r.display()))
            .arg(format!("--log={}", r.join("dpkg.log").display()))
            .args([
                "--force-depends",
                "--force-not-root",
                "--force-script-chrootless",
            ])
            .arg("-i")
            .arg(&deb),
    );
    let status = ps::run_ok(
        Command::new(&dpkg)
            .arg(format!("--root={}", r.display()))
            .args(["-s", "check-openvpn"]),
    );
    assert!(status.contains("Status: install ok installed"), "{status}");
    let mut shipped: Vec<(String, &str)> = SHIPPED_AS_IS
        .iter()
        .map(|(i, s)| (i.to_string(), *s))
        .collect();
    shipped.push((
        "usr/share/man/man1/check_openvpn.1.gz".into(),
        "packaging/man/check_openvpn.1",
    ));
    shipped.extend(
        docs.iter()
            .map(|d| (format!("usr/share/doc/check-openvpn/{d}"), d.as_str())),
    );
    built::assert_shipped_as_is(r, &shipped);

    // The installed binary runs.
    let plugin = r.join("usr/lib/nagios/plugins/check_openvpn");
    built::assert_plugin_runs(&plugin);

    // Nagios 4 runs every command of the installed definitions with the installed plugin.
    if let Some(nagios4) = ps::require_tool("nagios4", "the Debian package nagios4-core", test) {
        if common::openvpn_available() {
            nagios::daemon_runs_every_command(
                &nagios4,
                &r.join("etc/nagios-plugins/config/check_openvpn.cfg"),
                &r.join("usr/lib/nagios/plugins"),
            );
        }
    }
    stock_icinga2_runs_the_packaged_commands(&deb);

    // lintian: no errors (warnings and infos are printed for the log).
    let out = ps::output(
        Command::new(&lintian)
            .args(["--display-info", "--fail-on", "error"])
            .arg(&deb),
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "lintian {}:\n{report}{}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(
        errors.is_empty() && out.status.success(),
        "lintian errors:\n{}",
        ps::text(&out)
    );
}

/// The machine's stock Icinga 2 configuration (Debian's icinga2-common).
const STOCK_ICINGA2: &str = "/etc/icinga2";
const STOCK_INCLUDE: &str = "/usr/share/icinga2/include";

/// The package unpacked with `dpkg -x` into a throwaway root, next to the stock Icinga 2
/// Template Library (linked in, as icinga2-common would have installed it there); then a
/// copy of the stock /etc/icinga2, whose `include <plugins-contrib>` now finds the
/// package's file, and whose PluginDir is the package's plugin directory:
/// `icinga2 daemon -C` loads every CheckCommand from the package's file, and a real
/// daemon runs each against real OpenVPN servers.
fn stock_icinga2_runs_the_packaged_commands(deb: &Path) {
    let test = "cargo_deb_builds_a_package_that_installs_runs_and_passes_lintian (Icinga 2)";
    let Some(icinga2) = ps::require_tool("icinga2", "the Debian package icinga2-bin", test) else {
        return;
    };
    let stock_conf = Path::new(STOCK_ICINGA2).join("icinga2.conf");
    if !stock_conf.is_file() {
        assert!(
            !ps::ci(),
            "{test} needs {} (install icinga2-common; .ci/run does)",
            stock_conf.display()
        );
        eprintln!("SKIPPED: {test} needs {}", stock_conf.display());
        return;
    }
    let stock = fs::read_to_string(&stock_conf).unwrap();
    assert!(
        stock
            .lines()
            .any(|l| l.trim() == "include <plugins-contrib>"),
        "{}: no include <plugins-contrib>",
        stock_conf.display()
    );

    let xroot = ps::scratch("check-openvpn-deb-x-");
    let x = xroot.path();
    ps::run_ok(Command::new("dpkg").arg("-x").arg(deb).arg(x));
    let include = x.join(&STOCK_INCLUDE[1..]);
    let contrib = include.join("plugins-contrib.d");
    let packaged: Vec<PathBuf> = fs::read_dir(&contrib)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for entry in fs::read_dir(STOCK_INCLUDE).unwrap() {
        let entry = entry.unwrap().path();
        let name = entry.file_name().unwrap();
        if name == "plugins-contrib.d" {
            for f in fs::read_dir(&entry).unwrap() {
                let f = f.unwrap().path();
                std::os::unix::fs::symlink(&f, contrib.join(f.file_name().unwrap())).unwrap();
            }
        } else {
            std::os::unix::fs::symlink(&entry, include.join(name)).unwrap();
        }
    }
    let plugin_dir = x.join("usr/lib/nagios/plugins");

    let inst = Instance::new();
    let etc = inst.path("etc");
    ps::run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{STOCK_ICINGA2}/."))
            .arg(&etc),
    );
    // The one edit: the plugin directory is the package's, in the throwaway root.
    let constants = etc.join("constants.conf");
    let text = fs::read_to_string(&constants).unwrap();
    let debian_dir = "\"/usr/lib/nagios/plugins\"";
    assert!(
        text.contains(&format!("const PluginDir = {debian_dir}")),
        "{}: not Debian's PluginDir:\n{text}",
        constants.display()
    );
    fs::write(
        &constants,
        text.replace(
            debian_dir,
            &format!("{:?}", plugin_dir.display().to_string()),
        ),
    )
    .unwrap();
    let daemon = |validate: bool| {
        let mut cmd = inst.command(&icinga2, &etc.join("icinga2.conf"));
        cmd.arg(format!("-DIncludeConfDir={}", include.display()));
        if validate {
            cmd.arg("-C");
        }
        cmd
    };

    let shipped: Vec<(PathBuf, Vec<String>)> = packaged
        .iter()
        .map(|p| {
            (
                p.clone(),
                icinga::check_commands(&fs::read_to_string(p).unwrap()),
            )
        })
        .collect();
    let commands: Vec<String> = shipped.iter().flat_map(|(_, c)| c.clone()).collect();
    assert!(!commands.is_empty(), "the package ships no CheckCommand");
    let out = ps::output(&mut daemon(true));
    let log = ps::text(&out);
    assert!(
        out.status.success() && log.contains("Finished validating the configuration"),
        "icinga2 daemon -C rejected the stock configuration with the package:\n{log}"
    );
    for (file, names) in &shipped {
        for name in names {
            let listed = ps::run_ok(
                Command::new(&icinga2)
                    .args(["object", "list", "--type", "CheckCommand", "--name", name])
                    .args(inst.defines()),
            );
            assert!(
                listed.contains(&format!("Object '{name}' of type 'CheckCommand'"))
                    && listed.contains(&format!("declared in '{}'", file.display()))
                    && listed.contains(&plugin_dir.join("check_openvpn").display().to_string()),
                "CheckCommand {name} is not loaded from {}:\n{listed}",
                file.display()
            );
        }
    }
    eprintln!("stock icinga2 loads {commands:?} from the package");

    if !common::openvpn_available() {
        return;
    }
    let scenarios = icinga::scenarios_for(&commands);
    let (servers, mode) = icinga::start_servers(&scenarios);
    // Stock conf.d is kept; the stock notification feature goes (a test sends no mail).
    fs::remove_file(etc.join("features-enabled/notification.conf")).ok();
    fs::write(
        etc.join("conf.d/check-openvpn-test.conf"),
        icinga::daemon_objects(&inst, &scenarios, &servers),
    )
    .unwrap();
    icinga::run_daemon(&inst, daemon(false), &scenarios, &servers, mode);
}
