//! The Debian package: `cargo deb` builds it from `[package.metadata.deb]` in Cargo.toml;
//! then it is inspected (`dpkg-deb`), installed with dpkg into a scratch root, its binary
//! run, and checked by `lintian`, which must report no errors.
//!
//! The release build goes to `target/packaging/` (its own target directory: no lock
//! contention with the `cargo test` that runs this, and it is reused by later runs).

mod common;
mod packaging_support;

use packaging_support as ps;
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

/// Runs cargo deb; returns the path of the .deb.
fn build(cargo_deb: &Path) -> PathBuf {
    let out_dir = target_dir().join("packaging/debian");
    let _ = fs::remove_dir_all(&out_dir);
    let stdout = ps::run_ok(
        Command::new(cargo_deb)
            .args(["deb", "-p", "check-openvpn", "-o"])
            .arg(&out_dir)
            .args(["--", "--locked"])
            .current_dir(ps::root())
            .env("CARGO_TARGET_DIR", target_dir().join("packaging")),
    );
    let deb = out_dir.join(format!("check-openvpn_{}-1_amd64.deb", ps::version()));
    assert!(
        deb.is_file(),
        "cargo deb did not write {}: {stdout}",
        deb.display()
    );
    deb
}

#[test]
fn cargo_deb_builds_a_package_that_installs_runs_and_passes_lintian() {
    let test = "cargo_deb_builds_a_package_that_installs_runs_and_passes_lintian";
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("SKIPPED: {test} expects an amd64 build machine");
        return;
    }
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
    let deb = build(&cargo_deb);

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
    let files = listing.lines().filter(|l| l.starts_with('-')).count();
    assert_eq!(
        files,
        FILES.len(),
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
    assert_eq!(field("Architecture"), "amd64");
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
    for (installed, source) in SHIPPED_AS_IS {
        let have = fs::read(r.join(installed)).unwrap_or_else(|e| panic!("{installed}: {e}"));
        let want = fs::read(ps::root().join(source)).unwrap();
        assert!(have == want, "{installed} differs from {source}");
    }
    let man = ps::run_ok(
        Command::new("gzip")
            .arg("-dc")
            .arg(r.join("usr/share/man/man1/check_openvpn.1.gz")),
    );
    assert_eq!(
        man.as_bytes(),
        ps::read("packaging/man/check_openvpn.1").as_bytes()
    );

    // The installed binary runs.
    let plugin = r.join("usr/lib/nagios/plugins/check_openvpn");
    let version = ps::run_ok(Command::new(&plugin).arg("--version"));
    assert_eq!(version.trim(), format!("check_openvpn {}", ps::version()));
    let closed = common::closed_udp_port().to_string();
    let out = ps::output(Command::new(&plugin).args([
        "-H",
        "127.0.0.1",
        "-p",
        &closed,
        "--timeout",
        "0.5",
        "--retrycount",
        "1",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", ps::text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("OPENVPN CRITICAL - "));
    if common::openvpn_available() {
        let server = common::Server::start(common::ServerOpts {
            wrap: common::Wrap::tls_auth("SHA256", Some(0)),
            ..Default::default()
        });
        let out = ps::output(
            Command::new(&plugin)
                .args(["-H", &server.addr, "-p", &server.port.to_string()])
                .arg("--tls-auth")
                .arg(&server.static_key)
                .args(["--digest", "SHA256"]),
        );
        let text = ps::text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}\n{}",
            server.diagnostics()
        );
        eprintln!(
            "installed plugin: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }

    // The bash completion loads and completes the plugin's flags.
    let completion = r.join("usr/share/bash-completion/completions/check_openvpn");
    let complete = ps::run_ok(Command::new("bash").arg("-c").arg(format!(
        "source '{}' && complete -p check_openvpn",
        completion.display()
    )));
    assert!(complete.contains("check_openvpn"), "{complete}");

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
