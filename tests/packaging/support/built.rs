//! Packages built for real from the recipes: the sources a packager starts from (the crate
//! from `cargo package`, its dependencies vendored), builds cut off from the network, the
//! README's install table, and the packaged plugin run against a real OpenVPN server.

use super::{find_tool, is_root, output, read, root, run_ok, text, version};
use crate::common;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources every recipe builds from, as the RPM spec's header describes them.
pub struct CrateSources {
    /// `check-openvpn-VERSION.crate`, written by `cargo package`.
    pub crate_file: PathBuf,
    /// `check-openvpn-VERSION-vendor.tar.xz`: `vendor/` from `cargo vendor --locked`, run
    /// in the unpacked crate.
    pub vendor: PathBuf,
    /// The crate unpacked with `vendor/` beside its sources and the source replacement
    /// appended to its `.cargo/config.toml`, as the spec's `%prep` leaves it:
    /// `target/packaging/src/check-openvpn-VERSION/`. The RPM builds here (its
    /// `_builddir` is `target/packaging/src/`), the Debian package too, and the Arch
    /// build reads its vendored dependencies from here: one path for the vendored sources
    /// of all three builds, so that they share their compiled dependencies ([`SharedBuild`]).
    pub tree: PathBuf,
    /// Held while the test runs: one package build in the shared tree at a time.
    _lock: fs::File,
}

/// `target/packaging/`: the packaging tests' own target directory (no lock contention with
/// the `cargo test` that runs them; kept between runs).
pub fn packaging_target() -> PathBuf {
    super::plugin_dir()
        .parent()
        .expect("target/debug has a parent")
        .join("packaging")
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// What the spec's `%prep` appends to the crate's `.cargo/config.toml`.
pub const SOURCE_REPLACEMENT: &str =
    "\n[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
                                      [source.vendored-sources]\ndirectory = \"vendor\"\n";

/// Makes the crate (always: it must be this tree's), the vendored dependencies (only when
/// the crate's Cargo.lock changed since the last run: the tests share one tarball) and
/// the unpacked tree. Vendoring reads the registry cache and downloads what a Linux build
/// never fetched (the Windows-only crates); the package builds themselves run offline.
pub fn crate_sources() -> CrateSources {
    let target = packaging_target();
    fs::create_dir_all(&target).expect("mkdir target/packaging");
    let lock = fs::File::create(target.join(".lock")).expect("target/packaging/.lock");
    // SAFETY: flock on a file descriptor we own; released when the file is closed.
    let locked = unsafe {
        use std::os::fd::AsRawFd;
        libc::flock(lock.as_raw_fd(), libc::LOCK_EX)
    };
    assert_eq!(locked, 0, "flock target/packaging/.lock");
    let v = version();
    run_ok(
        Command::new(cargo())
            .args(["package", "-p", "check-openvpn", "--locked", "--offline"])
            // The builds below compile the crate; dirty: a tree under edit is tested too.
            .args(["--no-verify", "--allow-dirty"])
            .current_dir(root())
            .env("CARGO_TARGET_DIR", &target),
    );
    let crate_file = target.join(format!("package/check-openvpn-{v}.crate"));
    assert!(crate_file.is_file(), "{} is missing", crate_file.display());

    let dir = target.join("sources");
    fs::create_dir_all(&dir).expect("mkdir target/packaging/sources");
    let vendor = dir.join(format!("check-openvpn-{v}-vendor.tar.xz"));
    let stamp = dir.join(format!("check-openvpn-{v}-vendor.Cargo.lock"));
    let src = target.join("src");
    let tree = src.join(format!("check-openvpn-{v}"));
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(&src).expect("mkdir target/packaging/src");
    run_ok(
        Command::new("tar")
            .arg("xzf")
            .arg(&crate_file)
            .arg("-C")
            .arg(&src),
    );
    let lock_file = fs::read(tree.join("Cargo.lock")).expect("the crate has a Cargo.lock");
    if vendor.is_file() && fs::read(&stamp).ok().as_deref() == Some(&lock_file[..]) {
        eprintln!("reusing {} (same Cargo.lock)", vendor.display());
        run_ok(
            Command::new("tar")
                .arg("xJf")
                .arg(&vendor)
                .arg("-C")
                .arg(&tree),
        );
    } else {
        run_ok(
            Command::new(cargo())
                .args(["vendor", "--locked", "vendor"])
                .current_dir(&tree),
        );
        // The header's `tar cJf`; fast xz (-1, all cores): the tarball is only unpacked.
        let partial = dir.join(format!("check-openvpn-{v}-vendor.tar.xz.partial"));
        run_ok(
            Command::new("tar")
                .arg("cJf")
                .arg(&partial)
                .arg("vendor")
                .current_dir(&tree)
                .env("XZ_OPT", "-1 -T0"),
        );
        fs::rename(&partial, &vendor).expect("rename the vendor tarball");
        fs::write(&stamp, &lock_file).expect("write the vendor stamp");
    }
    let config = tree.join(".cargo/config.toml");
    let mut text = fs::read_to_string(&config).unwrap_or_default();
    text.push_str(SOURCE_REPLACEMENT);
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, text).expect("write the source replacement");
    SharedBuild::forget_a_changed_crate(&crate_file);
    CrateSources {
        crate_file,
        vendor,
        tree,
        _lock: lock,
    }
}

/// The cargo build directory the three package builds share (`CARGO_BUILD_BUILD_DIR`,
/// `target/packaging/build/`): cargo keeps the compiled dependencies there and puts only
/// the final binary into each recipe's own `target/release/`. With the same vendored
/// sources at the same path ([`CrateSources::tree`]), the same compiler, profile
/// ([`QUICK_RELEASE`]) and build-script environment ([`package_build_env`]), the first
/// build compiles the dependencies and the others find them fresh. Each recipe compiles
/// the crate and its unit tests itself: their source path is part of what cargo compares.
pub struct SharedBuild;

impl SharedBuild {
    pub fn dir() -> PathBuf {
        packaging_target().join("build")
    }

    /// The environment that points a recipe's cargo at the shared build directory.
    pub fn env() -> (&'static str, PathBuf) {
        ("CARGO_BUILD_BUILD_DIR", Self::dir())
    }

    /// Every `.crate` has the same old file times, so cargo's freshness check (source
    /// files older than the last build) cannot see that the crate changed since the last
    /// run: then the crate's own compiled units are removed (the dependencies stay).
    fn forget_a_changed_crate(crate_file: &Path) {
        let dir = Self::dir();
        let last = dir.join("last.crate");
        let now = fs::read(crate_file).expect("read the crate");
        if fs::read(&last).ok().as_deref() == Some(&now[..]) {
            return;
        }
        for profile in ["release", "debug"] {
            let fingerprints = dir.join(profile).join(".fingerprint");
            for entry in fs::read_dir(&fingerprints).into_iter().flatten().flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("check-openvpn-")
                {
                    fs::remove_dir_all(entry.path()).expect("remove a stale fingerprint");
                }
            }
        }
        fs::create_dir_all(&dir).expect("mkdir target/packaging/build");
        fs::write(&last, now).expect("write target/packaging/build/last.crate");
    }
}

/// The release profile the package builds of the tests compile with: optimisation level
/// 1, no LTO and 16 codegen units instead of the shipped `opt-level = 3`, `lto = true`,
/// `codegen-units = 1`. The recipes are the same, and the packaged plugin still runs a
/// real check; the three package builds are most of a test run on two cores.
pub const QUICK_RELEASE: [(&str, &str); 3] = [
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
];

/// `SOURCE_DATE_EPOCH` of every package build: the file time `cargo package` gives every
/// file of a crate (2006-07-24). makepkg sets the current time when none is given, and
/// build scripts that compile C (ring's, through the cc crate) rerun when it changes.
pub const SOURCE_DATE_EPOCH: &str = "1153704088";

/// The environment of a package build run as root (rpmbuild, cargo deb): this test's
/// minus what `cargo test` sets for it (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...: no
/// packager has them, and ring's build script reruns when they change), plus
/// [`QUICK_RELEASE`], [`SOURCE_DATE_EPOCH`] and the shared build directory
/// ([`SharedBuild`]). The Arch build starts from an empty environment and gets the same.
pub fn package_build_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME")
            || name == "OUT_DIR"
            || name == "LD_LIBRARY_PATH"
        {
            cmd.env_remove(&key);
        }
    }
    let (key, dir) = SharedBuild::env();
    cmd.envs(QUICK_RELEASE)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env(key, dir)
}

/// `program` in a network namespace of its own (`unshare --net`: root only) with only its
/// loopback up, as a distribution's build chroot has it: a recipe that reaches for the
/// network fails, while the unit tests its check runs may talk over loopback. Without one
/// (not root) the build is only as offline as its own flags make it.
pub fn offline_command(program: &Path) -> Command {
    let unshare = find_tool("unshare").filter(|u| {
        is_root()
            && Command::new(u)
                .args(["--net", "true"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
    });
    match unshare {
        Some(u) => {
            let ip = find_tool("ip").expect("ip (iproute2): brings up the namespace's loopback");
            let mut cmd = Command::new(u);
            cmd.args([
                "--net",
                "--",
                "/bin/sh",
                "-c",
                r#""$0" link set lo up && exec "$@""#,
            ])
            .arg(ip)
            .arg(program);
            cmd
        }
        None => {
            eprintln!(
                "note: no network namespace here (needs root): the build can reach the network"
            );
            Command::new(program)
        }
    }
}

/// The cells of the README's install table row whose target starts with `target`:
/// (plugin, Icinga 2 definition, Nagios definitions), backticks removed, "same" resolved
/// to the row above, anything after the closing backtick dropped.
pub fn readme_install_row(target: &str) -> (String, String, String) {
    let readme = read("README.md");
    let table = readme
        .split_once("| target | plugin | Icinga 2 definition | Nagios definitions |")
        .expect("README.md: the install table")
        .1;
    let mut above: Option<Vec<String>> = None;
    for line in table.lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        let mut row: Vec<String> = cells
            .iter()
            .skip(1)
            .map(|c| c.split('`').nth(1).unwrap_or(c).to_string())
            .collect();
        for (i, cell) in row.iter_mut().enumerate() {
            if cell == "same" {
                *cell = above.as_ref().expect("no row above \"same\"")[i].clone();
            }
        }
        if cells[0].starts_with(target) {
            return (row[0].clone(), row[1].clone(), row[2].clone());
        }
        above = Some(row);
    }
    panic!("README.md: no install table row for {target}")
}

/// The line of `log` after `marker` (where the recipe's check step starts) that shows
/// unit tests passing; panics when the step is missing or passed no test.
pub fn unit_tests_passed<'a>(log: &'a str, marker: &str) -> &'a str {
    let check = log
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the build:\n{log}"))
        .1;
    check
        .lines()
        .find(|l| l.starts_with("test result: ok.") && !l.contains(" 0 passed"))
        .unwrap_or_else(|| panic!("the check step ran no passing unit tests:\n{check}"))
}

/// The files of `docs/` (`docs/NAME.md`, sorted): every package ships them beside the README.
pub fn docs() -> Vec<String> {
    let mut docs: Vec<String> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort_unstable();
    assert!(!docs.is_empty(), "docs/ has no .md files");
    docs
}

/// (installed path, repository path) of the completions, where the RPM and Arch packages
/// put them.
pub fn completions() -> Vec<(String, &'static str)> {
    vec![
        (
            "/usr/share/bash-completion/completions/check_openvpn".into(),
            "packaging/completions/check_openvpn.bash",
        ),
        (
            "/usr/share/zsh/site-functions/_check_openvpn".into(),
            "packaging/completions/_check_openvpn",
        ),
        (
            "/usr/share/fish/vendor_completions.d/check_openvpn.fish".into(),
            "packaging/completions/check_openvpn.fish",
        ),
    ]
}

/// Files the packages install byte for byte from the repository: (path under `tree`,
/// path in the repository). A `.gz` file is compared uncompressed.
pub fn assert_shipped_as_is(tree: &Path, files: &[(String, &str)]) {
    for (installed, source) in files {
        let path = tree.join(installed.trim_start_matches('/'));
        let have = if installed.ends_with(".gz") {
            run_ok(Command::new("gzip").arg("-dc").arg(&path)).into_bytes()
        } else {
            fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let want = fs::read(root().join(source)).unwrap();
        assert!(have == want, "{installed} differs from {source}");
    }
}

/// The packaged plugin: `--version`, CRITICAL for a closed port, and OK from a real
/// OpenVPN server with tls-auth (when OpenVPN is usable; under CI=true it must be).
pub fn assert_plugin_runs(plugin: &Path) {
    let out = run_ok(Command::new(plugin).arg("-V"));
    assert_eq!(out.trim(), format!("check_openvpn {}", version()));
    let closed = common::closed_udp_port().to_string();
    let out = output(Command::new(plugin).args([
        "-H",
        "127.0.0.1",
        "-p",
        &closed,
        "--timeout",
        "0.5",
        "--retrycount",
        "1",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("OPENVPN CRITICAL - "));
    if !common::openvpn_available() {
        return;
    }
    let server = common::Server::start(common::ServerOpts {
        wrap: common::Wrap::tls_auth("SHA256", Some(0)),
        ..Default::default()
    });
    let out = output(
        Command::new(plugin)
            .args(["-H", &server.addr, "-p", &server.port.to_string()])
            .arg("--tls-auth")
            .arg(&server.static_key)
            .args(["--digest", "SHA256", "--timeout", "5"]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) && stdout.starts_with("OPENVPN OK - "),
        "{}\n{}",
        text(&out),
        server.diagnostics()
    );
    eprintln!("{}: {}", plugin.display(), stdout.trim());
}
