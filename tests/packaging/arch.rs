//! The Arch package, built for real: `makepkg` as an unprivileged user (it refuses root; as
//! root the test builds as `nobody`), from the crate put next to a copy of
//! packaging/arch/PKGBUILD under the name its `source` gives, with no network: cargo reads
//! the vendored dependencies through a source replacement in the builder's CARGO_HOME,
//! from where the other package builds find them too, with whom it shares its cargo build
//! directory (`packaging_support::built::SharedBuild`).
//! `pacman -Qlp` must list what the README's install table promises, and the packaged
//! plugin must pass a real check.

use crate::support as packaging_support;

use packaging_support as ps;
use packaging_support::built;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const PKGBUILD: &str = "packaging/arch/PKGBUILD";

/// The user makepkg runs as: `nobody` when we are root, else ourselves.
struct Builder {
    /// (uid, gid) to switch to, when root.
    ids: Option<(String, String)>,
}

impl Builder {
    fn new() -> Builder {
        if !ps::is_root() {
            return Builder { ids: None };
        }
        let id = |flag: &str| {
            ps::run_ok(Command::new("id").args([flag, "nobody"]))
                .trim()
                .to_string()
        };
        Builder {
            ids: Some((id("-u"), id("-g"))),
        }
    }

    /// Hands `path` (recursively) to the builder.
    fn give(&self, path: &Path) {
        if let Some((uid, gid)) = &self.ids {
            ps::run_ok(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(path),
            );
        }
    }

    /// `program` run as the builder with exactly `env`, cut off from the network.
    fn command(&self, program: &Path, env: &[(&str, String)]) -> Command {
        let setpriv = ps::find_tool("setpriv").expect("setpriv (util-linux)");
        let mut cmd = match &self.ids {
            Some((uid, gid)) => {
                let mut c = built::offline_command(&setpriv);
                c.args(["--reuid", uid, "--regid", gid, "--clear-groups", "--"]);
                c.arg(program);
                c
            }
            None => built::offline_command(program),
        };
        cmd.env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// True when the builder can read `dir` and write into `writable` (every directory
    /// above them searchable): when root runs the test from a home directory, it cannot.
    fn can_use(&self, dir: &Path, writable: &Path) -> bool {
        self.command(Path::new("/bin/sh"), &[("PATH", "/usr/bin:/bin".into())])
            .args([
                "-c",
                "test -r \"$1\" -a -x \"$1\" -a -w \"$2\" -a -x \"$2\"",
                "sh",
            ])
            .arg(dir)
            .arg(writable)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// A directory with the Rust toolchain's `bin/` and `lib/` that the builder can run.
    /// rustup keeps it under root's home, which nobody cannot enter: then it is linked
    /// (hard links, or a copy across file systems) into `into`.
    fn toolchain(&self, into: &Path) -> PathBuf {
        let sysroot = PathBuf::from(
            ps::run_ok(Command::new("rustc").args(["--print", "sysroot"]))
                .trim()
                .to_string(),
        );
        // As the PKGBUILD's shell looks for them: through PATH.
        let bin = sysroot.join("bin").display().to_string();
        let reachable = self.ids.is_none()
            || self
                .command(Path::new("/bin/sh"), &[("PATH", bin.clone())])
                .args(["-c", "command -v cargo && command -v rustc"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
        if reachable {
            return sysroot.join("bin");
        }
        let dest = into.join("toolchain");
        fs::create_dir_all(&dest).unwrap();
        for part in ["bin", "lib"] {
            let linked = Command::new("cp")
                .arg("-al")
                .arg(sysroot.join(part))
                .arg(&dest)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !linked {
                let _ = fs::remove_dir_all(dest.join(part));
                ps::run_ok(
                    Command::new("cp")
                        .arg("-a")
                        .arg(sysroot.join(part))
                        .arg(&dest),
                );
            }
        }
        dest.join("bin")
    }
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn makepkg_builds_the_pkgbuild_offline_and_the_packaged_plugin_runs() {
    let test = "makepkg_builds_the_pkgbuild_offline_and_the_packaged_plugin_runs";
    let tool = |name: &str, package: &str| ps::require_tool(name, package, test);
    let (Some(makepkg), Some(pacman), Some(_bsdtar), Some(_fakeroot)) = (
        tool("makepkg", "the Debian package makepkg"),
        tool("pacman", "the Debian package pacman-package-manager"),
        tool("bsdtar", "the Debian package libarchive-tools"),
        tool("fakeroot", "the Debian package fakeroot"),
    ) else {
        return;
    };
    let v = ps::version();
    let sources = built::crate_sources();
    let builder = Builder::new();

    let scratch = ps::scratch("check-openvpn-makepkg-");
    let s = scratch.path();
    fs::set_permissions(s, fs::Permissions::from_mode(0o755)).unwrap();
    let (build, home, cargo_home) = (s.join("build"), s.join("home"), s.join("cargo"));
    for d in [&build, &home, &cargo_home] {
        fs::create_dir_all(d).unwrap();
    }
    fs::copy(ps::root().join(PKGBUILD), build.join("PKGBUILD")).unwrap();
    fs::copy(
        &sources.crate_file,
        build.join(format!("check-openvpn-{v}.tar.gz")),
    )
    .unwrap();
    for d in [&build, &home, &cargo_home] {
        builder.give(d);
    }
    // The vendored sources and the cargo build directory the other package builds share
    // (built::SharedBuild), when the builder can reach them; else a copy of the vendored
    // sources of its own and a build of its own.
    let shared_build = built::SharedBuild::dir();
    fs::create_dir_all(&shared_build).unwrap();
    builder.give(&shared_build);
    let shared_vendor = sources.tree.join("vendor");
    // Some crates' files are not world-readable (cargo vendor keeps their modes).
    builder.give(&shared_vendor);
    let shared = builder.can_use(&shared_vendor, &shared_build);
    let vendor = if shared {
        shared_vendor
    } else {
        eprintln!("note: nobody cannot reach target/packaging: the Arch build shares nothing");
        ps::run_ok(
            Command::new("tar")
                .arg("xJf")
                .arg(&sources.vendor)
                .arg("-C")
                .arg(s),
        );
        builder.give(&s.join("vendor"));
        s.join("vendor")
    };
    fs::write(
        cargo_home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
             [source.vendored-sources]\ndirectory = \"{}\"\n",
            vendor.display()
        ),
    )
    .unwrap();
    let toolchain = builder.toolchain(s);

    let mut env = vec![
        ("PATH", format!("{}:/usr/bin:/bin", toolchain.display())),
        ("HOME", home.display().to_string()),
        ("CARGO_HOME", cargo_home.display().to_string()),
        ("LANG", "C.UTF-8".to_string()),
        // Arch's own default; Debian's makepkg.conf says .pkg.tar.gz.
        ("PKGEXT", ".pkg.tar.zst".to_string()),
    ];
    env.extend(built::QUICK_RELEASE.map(|(k, v)| (k, v.to_string())));
    env.push(("SOURCE_DATE_EPOCH", built::SOURCE_DATE_EPOCH.to_string()));
    if shared {
        let (key, dir) = built::SharedBuild::env();
        env.push((key, dir.display().to_string()));
    }
    // --nodeps: makedepends (cargo) and depends are Debian packages here, unknown to pacman.
    let out = ps::output(
        builder
            .command(&makepkg, &env)
            .args(["--nodeps", "--noconfirm"])
            .current_dir(&build),
    );
    let log = ps::text(&out);
    assert!(out.status.success(), "makepkg failed:\n{log}");
    let passed = built::unit_tests_passed(&log, "Starting check()");
    eprintln!("makepkg check(): {passed}");

    let pkg = fs::read_dir(&build)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".pkg.tar.zst"))
        .unwrap_or_else(|| panic!("makepkg wrote no .pkg.tar.zst:\n{log}"));
    let name = pkg.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("check_openvpn-{v}-1-")), "{name}");

    // What the README's table promises for Arch.
    let (plugin, icinga, nagios) = built::readme_install_row("Arch");
    assert_eq!(plugin, "/usr/lib/monitoring-plugins/check_openvpn");
    let mut shipped = vec![
        (icinga, "packaging/icinga2/openvpn.conf"),
        (nagios.clone(), "packaging/nagios/check_openvpn.cfg"),
        (
            "/usr/share/man/man1/check_openvpn.1.gz".into(),
            "packaging/man/check_openvpn.1",
        ),
        ("/usr/share/doc/check_openvpn/README.md".into(), "README.md"),
        (
            "/usr/share/licenses/check_openvpn/LICENSE".into(),
            "LICENSE",
        ),
    ];
    shipped.extend(built::completions());
    let docs = built::docs();
    shipped.extend(
        docs.iter()
            .map(|d| (format!("/usr/share/doc/check_openvpn/{d}"), d.as_str())),
    );
    let listing = ps::run_ok(Command::new(&pacman).arg("-Qlp").arg(&pkg));
    eprintln!("pacman -Qlp {name}:\n{listing}");
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("check_openvpn "))
        .filter(|p| !p.ends_with('/'))
        .collect();
    let mut wanted: Vec<&str> = vec![plugin.as_str()];
    wanted.extend(shipped.iter().map(|(p, _)| p.as_str()));
    let mut sorted = wanted.clone();
    sorted.sort_unstable();
    let mut have = files.clone();
    have.sort_unstable();
    assert_eq!(have, sorted, "the package's files:\n{listing}");

    let info = ps::run_ok(Command::new("bsdtar").arg("-xOf").arg(&pkg).arg(".PKGINFO"));
    for line in [
        "pkgname = check_openvpn".to_string(),
        format!("pkgver = {v}-1"),
        format!("backup = {}", &nagios[1..]),
        "depend = glibc".to_string(),
    ] {
        assert!(
            info.lines().any(|l| l == line),
            "{line} not in .PKGINFO:\n{info}"
        );
    }

    // Unpacked as pacman would install it, into a scratch root.
    let tree = ps::scratch("check-openvpn-arch-root-");
    ps::run_ok(
        Command::new("bsdtar")
            .arg("-xf")
            .arg(&pkg)
            .arg("-C")
            .arg(tree.path())
            .args(["--exclude", ".*"]),
    );
    built::assert_shipped_as_is(tree.path(), &shipped);
    let installed = tree.path().join(&plugin[1..]);
    let mode = fs::metadata(&installed).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "{plugin}");
    built::assert_plugin_runs(&installed);
}
