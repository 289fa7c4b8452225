//! The Gentoo ebuild, the RPM spec and the Arch PKGBUILD: evaluated by the tools that read
//! them (bash with the ebuild, `rpmspec -P`, `makepkg --printsrcinfo`), and checked
//! against Cargo.toml, Cargo.lock and the files under packaging/.

use crate::support as packaging_support;

use packaging_support as ps;
use std::fs;
use std::path::Path;
use std::process::Command;

const EBUILD_DIR: &str = "packaging/gentoo/net-analyzer/check_openvpn";
const SPEC: &str = "packaging/rpm/check_openvpn.spec";
const PKGBUILD: &str = "packaging/arch/PKGBUILD";
const SRCINFO: &str = "packaging/arch/.SRCINFO";

/// Files every recipe must install.
const SHIPPED: &[&str] = &[
    "packaging/icinga2/openvpn.conf",
    "packaging/nagios/check_openvpn.cfg",
    "packaging/man/check_openvpn.1",
    "packaging/completions/check_openvpn.bash",
    "packaging/completions/_check_openvpn",
    "packaging/completions/check_openvpn.fish",
];

fn ebuild_rel() -> String {
    format!("{EBUILD_DIR}/check_openvpn-{}.ebuild", ps::version())
}

/// `name@version` of the crates.io packages in Cargo.lock, in the lock's order.
fn lock_crates() -> Vec<String> {
    let lock = ps::read("Cargo.lock");
    let mut out = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut version = None;
        let mut registry = false;
        for line in block.lines() {
            let Some((k, v)) = line.split_once(" = ") else {
                continue;
            };
            let v = v.trim_matches('"');
            match k.trim() {
                "name" => name = Some(v.to_string()),
                "version" => version = Some(v.to_string()),
                "source" => registry = v.starts_with("registry+"),
                _ => {}
            }
        }
        if let (true, Some(n), Some(v)) = (registry, name, version) {
            out.push(format!("{n}@{v}"));
        }
    }
    out
}

/// Every `packaging/...` path a recipe names exists in the repository, and every shipped
/// file is named.
fn check_paths(recipe: &str, text: &str) {
    for word in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        if let Some(i) = word.find("packaging/") {
            let rel = &word[i..];
            assert!(
                ps::root().join(rel).is_file(),
                "{recipe} names {rel}, which does not exist"
            );
        }
    }
    for shipped in SHIPPED {
        assert!(
            text.contains(shipped),
            "{recipe} does not install {shipped}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Gentoo
// ---------------------------------------------------------------------------------------

/// Sources the ebuild in bash with stubs for the eclass functions, and prints the
/// variables Portage reads.
fn source_ebuild(path: &Path) -> String {
    let script = r#"
inherit() { INHERITED="$*"; }
get_libdir() { echo lib64; }
PN=check_openvpn PV="$2" P="check_openvpn-$2" WORKDIR=/work CARGO_CRATE_URIS="<crate uris>"
set -eu
source "$1"
printf 'EAPI=%s\n' "$EAPI"
printf 'INHERITED=%s\n' "$INHERITED"
printf 'S=%s\n' "$S"
printf 'LICENSE=%s\n' "$LICENSE"
printf 'SLOT=%s\n' "$SLOT"
printf 'KEYWORDS=%s\n' "$KEYWORDS"
printf 'SRC_URI=%s\n' $SRC_URI
printf 'CRATE=%s\n' $CRATES
for f in src_compile src_test src_install; do declare -F "$f" >/dev/null && echo "FUNC=$f"; done
"#;
    ps::run_ok(
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("ebuild")
            .arg(path)
            .arg(ps::version()),
    )
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn gentoo_ebuild_crates_match_cargo_lock_exactly() {
    let rel = ebuild_rel();
    let path = ps::root().join(&rel);
    assert!(
        path.is_file(),
        "{rel} is missing: the ebuild's name must carry the version in Cargo.toml \
         (`cargo xtask gen` renames it)"
    );
    let vars = source_ebuild(&path);
    let crates: Vec<String> = vars
        .lines()
        .filter_map(|l| l.strip_prefix("CRATE="))
        .map(str::to_string)
        .collect();
    let lock = lock_crates();
    assert!(!lock.is_empty());
    if crates != lock {
        let missing: Vec<_> = lock.iter().filter(|c| !crates.contains(c)).collect();
        let extra: Vec<_> = crates.iter().filter(|c| !lock.contains(c)).collect();
        panic!(
            "{rel}: CRATES does not match Cargo.lock (missing {missing:?}, not in the lock \
             {extra:?}, or out of order). Run `cargo xtask gen` to rewrite it."
        );
    }
    let has = |line: &str| vars.lines().any(|l| l == line);
    assert!(has("EAPI=8"), "{vars}");
    assert!(
        vars.lines()
            .any(|l| l.starts_with("INHERITED=")
                && l.split_whitespace().any(|w| w.ends_with("cargo"))),
        "{vars}"
    );
    assert!(
        has(&format!("S=/work/check-openvpn-{}", ps::version())),
        "{vars}"
    );
    assert!(has("SLOT=0"), "{vars}");
    assert!(
        has(&format!(
            "SRC_URI=https://crates.io/api/v1/crates/check-openvpn/{}/download",
            ps::version()
        )),
        "{vars}"
    );
    assert!(
        has("SRC_URI=<crate"),
        "SRC_URI lacks ${{CARGO_CRATE_URIS}}: {vars}"
    );
    for f in ["src_compile", "src_test", "src_install"] {
        assert!(has(&format!("FUNC={f}")), "{vars}");
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("exeinto /usr/$(get_libdir)/nagios/plugins"),
        "the plugin goes to the nagios plugin directory"
    );
    check_paths(&rel, &text);
    // Only the one ebuild: an old version left behind would also be picked up.
    let ebuilds = fs::read_dir(ps::root().join(EBUILD_DIR))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ebuild"))
        })
        .count();
    assert_eq!(ebuilds, 1, "{EBUILD_DIR} must hold exactly one ebuild");
}

/// A minimal well-formedness check: one root element, properly nested tags.
fn xml_well_formed(xml: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    let mut roots = 0;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root element: {text:?}"));
        }
        rest = &rest[i..];
        let end = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else {
            let name = tag
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('/');
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name.to_string());
            }
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn gentoo_metadata_xml_is_well_formed() {
    let rel = format!("{EBUILD_DIR}/metadata.xml");
    let xml = ps::read(&rel);
    xml_well_formed(&xml).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert!(
        xml.contains("<!DOCTYPE pkgmetadata SYSTEM \"https://www.gentoo.org/dtd/metadata.dtd\">")
    );
    assert!(xml.contains("<pkgmetadata>") && xml.contains("<maintainer type=\"person\">"));
    assert!(xml.contains("<remote-id type=\"crates-io\">check-openvpn</remote-id>"));
    assert!(xml_well_formed("<a><b></a></b>").is_err());
}

// ---------------------------------------------------------------------------------------
// RPM
// ---------------------------------------------------------------------------------------

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn rpm_spec_parses_with_rpmspec() {
    let test = "rpm_spec_parses_with_rpmspec";
    let Some(rpmspec) = ps::require_tool("rpmspec", "the Debian package rpm", test) else {
        return;
    };
    let spec = ps::root().join(SPEC);
    let out = ps::output(Command::new(&rpmspec).arg("-P").arg(&spec));
    let parsed = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rpmspec -P {SPEC}:\n{}",
        ps::text(&out)
    );
    assert!(
        !stderr.contains("warning") && !stderr.contains("error"),
        "rpmspec -P {SPEC} complains:\n{stderr}"
    );
    let line = |prefix: &str| {
        parsed
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {prefix} in:\n{parsed}"))
    };
    assert_eq!(line("Name:"), "check_openvpn");
    assert_eq!(
        line("Version:"),
        ps::version(),
        "{SPEC}: Version must match Cargo.toml"
    );
    assert!(line("Source0:").ends_with(&format!(
        "/crates/check-openvpn/{v}/download#/check-openvpn-{v}.crate",
        v = ps::version()
    )));
    // The plugin goes to the Nagios plugin directory (%{_libdir}/nagios/plugins).
    let files = parsed.split("%files").nth(1).expect("%files section");
    assert!(
        files
            .lines()
            .any(|l| l.starts_with('/') && l.ends_with("/nagios/plugins/check_openvpn")),
        "{files}"
    );
    assert!(files.contains("/usr/share/icinga2/include/plugins-contrib.d/openvpn.conf"));
    let unexpanded: Vec<&str> = parsed
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("%{"))
        .collect();
    assert!(unexpanded.is_empty(), "unexpanded macros: {unexpanded:?}");

    // The same query rpmbuild makes for the source package.
    let q = ps::run_ok(
        Command::new(&rpmspec)
            .args(["-q", "--srpm", "--qf", "%{NAME} %{VERSION} %{LICENSE}\\n"])
            .arg(&spec),
    );
    assert_eq!(
        q.trim(),
        format!(
            "check_openvpn {} MIT AND (MIT OR Apache-2.0) AND Unicode-3.0",
            ps::version()
        )
    );
    check_paths(SPEC, &ps::read(SPEC));
}

// ---------------------------------------------------------------------------------------
// Arch
// ---------------------------------------------------------------------------------------

#[test]
#[ignore = "packaging: cargo test --test packaging -- --ignored"]
fn arch_srcinfo_is_what_makepkg_prints() {
    let test = "arch_srcinfo_is_what_makepkg_prints";
    let Some(makepkg) = ps::require_tool("makepkg", "the Debian package makepkg", test) else {
        return;
    };
    // makepkg refuses to run as root; as root it runs as nobody, in a directory it may
    // write to.
    let dir = ps::scratch("check-openvpn-makepkg-");
    fs::copy(ps::root().join(PKGBUILD), dir.path().join("PKGBUILD")).unwrap();
    let mut cmd = if ps::is_root() {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        fs::set_permissions(
            dir.path().join("PKGBUILD"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&makepkg);
        c
    } else {
        Command::new(&makepkg)
    };
    // Debian's makepkg has no pacman beside it; --printsrcinfo does not need one.
    cmd.arg("--printsrcinfo")
        .current_dir(dir.path())
        .env("PACMAN", "true")
        .env("HOME", dir.path());
    let printed = ps::run_ok(&mut cmd);
    let committed = ps::read(SRCINFO);
    assert!(
        printed == committed,
        "{SRCINFO} is out of date with {PKGBUILD}: regenerate it with \
         `cd packaging/arch && makepkg --printsrcinfo > .SRCINFO`\n--- makepkg prints ---\n{printed}"
    );
    assert!(
        committed.contains(&format!("\tpkgver = {}\n", ps::version())),
        "{PKGBUILD}: pkgver must match Cargo.toml\n{committed}"
    );
    let text = ps::read(PKGBUILD);
    assert!(text.contains("/usr/lib/monitoring-plugins/check_openvpn"));
    check_paths(PKGBUILD, &text);
}
