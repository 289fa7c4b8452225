//! The RPM, built for real as the spec's header tells a packager: the crate from `cargo
//! package` and its vendored dependencies in `SOURCES/` of a scratch `_topdir`, then
//! `rpmbuild -ba` with no network (its `%check` runs the unit tests), sharing its
//! compiled dependencies with the other package builds
//! (`packaging_support::built::SharedBuild`). `rpm -qlp` must list what the README's
//! install table promises, and the packaged plugin, unpacked with `rpm2cpio | cpio`, must
//! pass a real check.

use crate::support as packaging_support;

use packaging_support as ps;
use packaging_support::built;
use std::fs;
use std::path::Path;
use std::process::Command;

const SPEC: &str = "packaging/rpm/check_openvpn.spec";

/// `rpm --eval EXPR`.
fn eval(rpm: &Path, expr: &str) -> String {
    ps::run_ok(Command::new(rpm).args(["--eval", expr]))
        .trim()
        .to_string()
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn rpmbuild_builds_the_spec_offline_and_the_packaged_plugin_runs() {
    let test = "rpmbuild_builds_the_spec_offline_and_the_packaged_plugin_runs";
    let tool = |name: &str| ps::require_tool(name, "the Debian packages rpm and cpio", test);
    let (Some(rpmbuild), Some(rpm), Some(rpm2cpio), Some(_cpio)) = (
        tool("rpmbuild"),
        tool("rpm"),
        tool("rpm2cpio"),
        tool("cpio"),
    ) else {
        return;
    };
    let v = ps::version();
    let sources = built::crate_sources();

    let top = ps::scratch("check-openvpn-rpmbuild-");
    let sourcedir = top.path().join("SOURCES");
    fs::create_dir_all(&sourcedir).unwrap();
    fs::copy(
        &sources.crate_file,
        sourcedir.join(format!("check-openvpn-{v}.crate")),
    )
    .unwrap();
    fs::copy(
        &sources.vendor,
        sourcedir.join(format!("check-openvpn-{v}-vendor.tar.xz")),
    )
    .unwrap();

    // --nodeps: BuildRequires names cargo, rust and gcc as RPM packages, and this Debian
    // machine's RPM database is empty (they are installed, but as Debian packages).
    // _builddir: %prep unpacks the crate and its vendored dependencies where the other
    // package builds find them (built::CrateSources::tree), and cargo shares the compiled
    // dependencies with them (built::SharedBuild).
    let mut cmd = built::offline_command(&rpmbuild);
    built::package_build_env(&mut cmd);
    cmd.args(["-ba", "--nodeps", "--define"])
        .arg(format!("_topdir {}", top.path().display()))
        .arg("--define")
        .arg(format!(
            "_builddir {}",
            sources.tree.parent().expect("the tree's parent").display()
        ))
        .arg(ps::root().join(SPEC));
    let out = ps::output(&mut cmd);
    let log = ps::text(&out);
    assert!(out.status.success(), "rpmbuild -ba {SPEC} failed:\n{log}");
    // %check ran the library's unit tests, and they passed.
    let passed = built::unit_tests_passed(&log, "Executing(%check)");
    eprintln!("rpmbuild %check: {passed}");

    let arch = eval(&rpm, "%{_arch}");
    let pkg = top
        .path()
        .join(format!("RPMS/{arch}/check_openvpn-{v}-1.{arch}.rpm"));
    assert!(pkg.is_file(), "no {}:\n{log}", pkg.display());
    let srpm = top
        .path()
        .join(format!("SRPMS/check_openvpn-{v}-1.src.rpm"));
    assert!(srpm.is_file(), "no {}", srpm.display());

    // What the README's table promises for RPM, with the spec's macros expanded by rpm.
    let (plugin, icinga, nagios) = built::readme_install_row("RPM");
    let plugin = eval(&rpm, &plugin);
    assert_eq!(
        plugin,
        eval(&rpm, "%{_libdir}/nagios/plugins/check_openvpn"),
        "README.md: the RPM plugin path"
    );
    let mut shipped = vec![
        (icinga.clone(), "packaging/icinga2/openvpn.conf"),
        (nagios.clone(), "packaging/nagios/check_openvpn.cfg"),
        (
            "/usr/share/man/man1/check_openvpn.1".into(),
            "packaging/man/check_openvpn.1",
        ),
    ];
    shipped.extend(built::completions());
    let listing = ps::run_ok(Command::new(&rpm).arg("-qlp").arg(&pkg));
    eprintln!("rpm -qlp {}:\n{listing}", pkg.display());
    let listed: Vec<&str> = listing.lines().collect();
    let mut wanted: Vec<String> = vec![plugin.clone()];
    wanted.extend(shipped.iter().map(|(p, _)| p.clone()));
    for path in &wanted {
        // rpmbuild may compress the man page (brp-compress), depending on the host's macros.
        assert!(
            listed
                .iter()
                .any(|l| l == path || l.strip_suffix(".gz") == Some(path)),
            "{path} is not in the package:\n{listing}"
        );
    }
    for (what, dir, name) in [
        ("%doc", "/usr/share/doc/", "/README.md"),
        ("%doc", "/usr/share/doc/", "/docs/flags.md"),
        ("%license", "/usr/share/licenses/", "/LICENSE"),
    ] {
        assert!(
            listed
                .iter()
                .any(|l| l.starts_with(dir) && l.ends_with(name)),
            "no {what} {name} in the package:\n{listing}"
        );
    }
    let config = ps::run_ok(Command::new(&rpm).arg("-qcp").arg(&pkg));
    assert_eq!(config.trim(), nagios, "%config files");
    let nvr = ps::run_ok(
        Command::new(&rpm)
            .args(["-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}"])
            .arg(&pkg),
    );
    assert!(nvr.starts_with(&format!("check_openvpn {v} 1")), "{nvr}");

    // Unpacked as rpm would install it, into a scratch root.
    let tree = ps::scratch("check-openvpn-rpm-root-");
    ps::run_ok(
        Command::new("sh")
            .args(["-c", "\"$1\" \"$2\" | cpio -idm --quiet", "sh"])
            .arg(&rpm2cpio)
            .arg(&pkg)
            .current_dir(tree.path()),
    );
    let unpacked: Vec<(String, &str)> = shipped
        .iter()
        .map(|(p, s)| {
            let gz = format!("{p}.gz");
            let on_disk = if tree.path().join(&gz[1..]).is_file() {
                gz
            } else {
                p.clone()
            };
            (on_disk, *s)
        })
        .collect();
    built::assert_shipped_as_is(tree.path(), &unpacked);
    built::assert_plugin_runs(&tree.path().join(&plugin[1..]));
}
