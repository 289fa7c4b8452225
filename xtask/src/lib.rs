//! Generators for the files under `packaging/` that derive from the clap definition of
//! `check_openvpn` (`check_openvpn::flags::Cli`): the man page and the bash, zsh and fish
//! completions. They are committed, so packagers need no Rust helper to install them, and
//! they are never edited by hand: `cargo xtask gen` rewrites them, and `cargo xtask check`
//! (also run by this crate's tests, so by `cargo test`) fails when they are out of date.
//!
//! The same goes for the `CRATES` list of the Gentoo ebuild, which must name exactly the
//! crates.io packages of `Cargo.lock`, and for the ebuild's file name, which carries the
//! package version.

use clap::CommandFactory;
use clap_complete::Shell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The command that rewrites every generated file. Named in error messages and the README.
pub const REGEN_COMMAND: &str = "cargo xtask gen";

/// The name the plugin is installed and called as.
pub const BIN_NAME: &str = "check_openvpn";

/// One generated file: where it lives (relative to the repository root) and what it must
/// contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub path: &'static str,
    pub contents: Vec<u8>,
}

/// The repository root (the parent of this crate's directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent directory")
        .to_path_buf()
}

fn command() -> clap::Command {
    let mut cmd = check_openvpn::flags::Cli::command().bin_name(BIN_NAME);
    cmd.build();
    cmd
}

/// Sections the clap definition has no place for. Plain roff; keep it ASCII.
const MAN_TAIL: &str = r#".SH "EXIT STATUS"
.TP
.B 0
OK: a valid server hard reset for the probe's own session came back (with a verified HMAC
when the control channel is wrapped), within the thresholds.
.TP
.B 1
WARNING: the response time is in the \fB\-\-warning\fR range, or the server answered but its
HMAC did not verify with the key and direction given.
.TP
.B 2
CRITICAL: no valid answer (timeout, connection refused, reset, only junk) or the response
time is in the \fB\-\-critical\fR range.
.TP
.B 3
UNKNOWN: a usage or configuration error (missing or conflicting flags, unreadable key, a
name that does not resolve), or an internal error.
.PP
The plugin prints one status line with perfdata (\fBtime\fR, \fBattempts\fR), then details
only with \fB\-v\fR.
.SH EXAMPLES
.nf
check_openvpn vpn.example.org
check_openvpn \-H vpn.example.org \-\-tls\-auth /etc/openvpn/ta.key \-\-digest SHA256
check_openvpn \-H vpn.example.org \-p 443 \-\-tcp \-\-tls\-crypt /etc/openvpn/tc.key
check_openvpn \-\-config /etc/openvpn/client/vpn1.conf \-w 0.5 \-c 1
.fi
.SH FILES
The packages ship an Icinga 2 \fBCheckCommand "openvpn"\fR (Debian:
\fI/usr/share/icinga2/include/plugins\-contrib.d/openvpn.conf\fR) and Nagios command
definitions (Debian: \fI/etc/nagios\-plugins/config/check_openvpn.cfg\fR).
.SH "SEE ALSO"
.BR openvpn (8),
.BR icinga2 (8),
.BR nagios4 (8)
"#;

/// The man page, `check_openvpn(1)`.
pub fn man_page() -> Vec<u8> {
    let cmd = command();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let man = clap_mangen::Man::new(cmd)
        .title(BIN_NAME)
        .section("1")
        .source(format!("{BIN_NAME} {version}"))
        .manual("Monitoring plugins");
    let mut out = Vec::new();
    let render = |out: &mut Vec<u8>| -> io::Result<()> {
        man.render_title(out)?;
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        out.extend_from_slice(MAN_TAIL.as_bytes());
        Ok(())
    };
    render(&mut out).expect("writing to a Vec cannot fail");
    out
}

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN_NAME, &mut out);
    out
}

/// Every generated file with the contents it must have.
pub fn generated() -> Vec<Generated> {
    vec![
        Generated {
            path: "packaging/man/check_openvpn.1",
            contents: man_page(),
        },
        Generated {
            path: "packaging/completions/check_openvpn.bash",
            contents: completion(Shell::Bash),
        },
        Generated {
            path: "packaging/completions/_check_openvpn",
            contents: completion(Shell::Zsh),
        },
        Generated {
            path: "packaging/completions/check_openvpn.fish",
            contents: completion(Shell::Fish),
        },
    ]
}

/// The plugin's version, as its `--version` prints it.
pub fn plugin_version() -> String {
    command().get_version().unwrap_or_default().to_string()
}

/// Where the Gentoo ebuilds live, relative to the repository root.
pub const EBUILD_DIR: &str = "packaging/gentoo/net-analyzer/check_openvpn";

/// The ebuild for the current version, relative to the repository root.
pub fn ebuild_path() -> String {
    format!("{EBUILD_DIR}/check_openvpn-{}.ebuild", plugin_version())
}

/// `name@version` of every crates.io package in a Cargo.lock, in the lock's order.
pub fn lock_crates(lock: &str) -> Vec<String> {
    lock.split("[[package]]")
        .skip(1)
        .filter_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix(key)?
                        .trim_start()
                        .strip_prefix('=')?
                        .trim()
                        .strip_prefix('"')?
                        .strip_suffix('"')
                        .map(str::to_string)
                })
            };
            let source = field("source")?;
            if !source.starts_with("registry+https://github.com/rust-lang/crates.io-index") {
                return None;
            }
            Some(format!("{}@{}", field("name")?, field("version")?))
        })
        .collect()
}

/// The `CRATES="..."` assignment for `crates`, as pycargoebuild writes it.
pub fn crates_block(crates: &[String]) -> String {
    let mut s = String::from("CRATES=\"\n");
    for c in crates {
        s.push('\t');
        s.push_str(c);
        s.push('\n');
    }
    s.push_str("\"\n");
    s
}

/// `ebuild` with its `CRATES="..."` assignment replaced by `block`.
pub fn with_crates(ebuild: &str, block: &str) -> Result<String, String> {
    let start = ebuild
        .find("\nCRATES=\"")
        .map(|i| i + 1)
        .ok_or("no CRATES=\" line")?;
    let body = start + "CRATES=\"".len();
    let end = ebuild[body..]
        .find('"')
        .map(|i| body + i + 1)
        .ok_or("CRATES=\" is not closed")?;
    let end = if ebuild[end..].starts_with('\n') {
        end + 1
    } else {
        end
    };
    Ok(format!("{}{block}{}", &ebuild[..start], &ebuild[end..]))
}

/// The ebuild file in EBUILD_DIR (there is one), if any.
fn existing_ebuild(root: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root.join(EBUILD_DIR))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ebuild"))
        .collect();
    found.sort();
    found.pop()
}

/// The ebuild as it must be (current file name, CRATES from Cargo.lock), or why not.
fn wanted_ebuild(root: &Path) -> Result<(PathBuf, String), String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock cannot be read: {e}"))?;
    let current = existing_ebuild(root).ok_or(format!("no ebuild in {EBUILD_DIR}"))?;
    let text = fs::read_to_string(&current)
        .map_err(|e| format!("{} cannot be read: {e}", current.display()))?;
    let text = with_crates(&text, &crates_block(&lock_crates(&lock)))
        .map_err(|e| format!("{}: {e}", current.display()))?;
    Ok((current, text))
}

/// Writes every generated file under `root`; returns the paths whose contents changed.
pub fn write_all(root: &Path) -> io::Result<Vec<String>> {
    let mut changed = Vec::new();
    if root.join(EBUILD_DIR).is_dir() {
        let (current, text) = wanted_ebuild(root).map_err(io::Error::other)?;
        let want = root.join(ebuild_path());
        if current != want || fs::read_to_string(&current)? != text {
            fs::write(&want, text)?;
            if current != want {
                fs::remove_file(&current)?;
            }
            changed.push(ebuild_path());
        }
    }
    for g in generated() {
        let path = root.join(g.path);
        if fs::read(&path).ok().as_deref() == Some(g.contents.as_slice()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, &g.contents)?;
        changed.push(g.path.to_string());
    }
    Ok(changed)
}

/// The generated files under `root` that are missing or differ from what the clap
/// definition gives now, each with a reason.
pub fn stale(root: &Path) -> Vec<String> {
    let ebuild = if root.join(EBUILD_DIR).is_dir() {
        match wanted_ebuild(root) {
            Err(e) => Some(e),
            Ok((current, _)) if current != root.join(ebuild_path()) => Some(format!(
                "{} is named for another version than {}",
                current.display(),
                plugin_version()
            )),
            Ok((current, text)) => match fs::read_to_string(&current) {
                Ok(have) if have == text => None,
                _ => Some(format!(
                    "{}: CRATES does not match Cargo.lock{}",
                    ebuild_path(),
                    first_diff(
                        fs::read(&current).unwrap_or_default().as_slice(),
                        text.as_bytes()
                    )
                )),
            },
        }
    } else {
        None
    };
    generated()
        .into_iter()
        .filter_map(|g| match fs::read(root.join(g.path)) {
            Ok(have) if have == g.contents => None,
            Ok(have) => Some(format!(
                "{} is out of date{}",
                g.path,
                first_diff(&have, &g.contents)
            )),
            Err(e) => Some(format!("{} cannot be read: {e}", g.path)),
        })
        .chain(ebuild)
        .collect()
}

/// " (line N: committed `...`, generated `...`)" for the first line that differs.
fn first_diff(have: &[u8], want: &[u8]) -> String {
    let have = String::from_utf8_lossy(have);
    let want = String::from_utf8_lossy(want);
    let mut h = have.lines();
    let mut w = want.lines();
    for n in 1.. {
        match (h.next(), w.next()) {
            (None, None) => return String::new(),
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    " (line {n}: committed {:?}, generated {:?})",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                )
            }
        }
    }
    unreachable!()
}
