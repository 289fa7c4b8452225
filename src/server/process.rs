//! The running OpenVPN process of a config: found in `/proc` by the file its `--config`
//! names (the same file, by device and inode, so a path relative to the process's
//! working directory, a symlink or a container's bind mount all match), with the options
//! of its command line, which OpenVPN reads around the file's in argument order (systemd's
//! `openvpn-server@NAME` passes `--status` and `--status-version`, docker-openvpn's
//! `ovpn_run` passes `--crl-verify` and `--client-config-dir`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One process that runs the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub pid: u32,
    /// The command line after the program's name.
    pub args: Vec<String>,
    /// The working directory, as this host sees it (through `/proc/PID/root` when the
    /// process lives in another mount namespace, a container).
    pub cwd: PathBuf,
    /// `/proc/PID/root` when the process sees another root than ours (a container):
    /// its absolute paths are read through it.
    pub root: Option<PathBuf>,
}

/// What `/proc` said about the processes of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processes {
    /// The processes whose `--config` is this file (usually one).
    Found(Vec<Running>),
    /// None of the OpenVPN processes runs this file. `hidden`: processes with a relative
    /// `--config` whose working directory this user may not read, so that they could not
    /// be matched.
    NotFound { openvpn: usize, hidden: usize },
    /// `/proc` cannot be read (not Linux, or mounted without access).
    Unavailable(String),
}

impl Processes {
    /// Whether a process runs the config, as far as `/proc` could say.
    pub fn runs(&self) -> Option<bool> {
        match self {
            Processes::Found(_) => Some(true),
            Processes::NotFound { hidden: 0, .. } => Some(false),
            Processes::NotFound { .. } | Processes::Unavailable(_) => None,
        }
    }
}

/// The file a command line runs as its config, and the directory changes before it:
/// `--config FILE` (the last one), or OpenVPN's lone argument (`openvpn server.conf`).
fn config_arg(args: &[String]) -> Option<(Vec<String>, String)> {
    if let [only] = args {
        if !only.starts_with("--") {
            return Some((Vec::new(), only.clone()));
        }
    }
    let mut cds = Vec::new();
    let mut found = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--cd" => {
                if let Some(d) = args.get(i + 1) {
                    cds.push(d.clone());
                }
            }
            "--config" => {
                if let Some(f) = args.get(i + 1) {
                    found = Some((cds.clone(), f.clone()));
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn same_file(a: &std::fs::Metadata, b: &Path) -> bool {
    std::fs::metadata(b).is_ok_and(|m| m.dev() == a.dev() && m.ino() == a.ino())
}

/// The working directory OpenVPN's own systemd units give their service, read from the
/// process's cgroup (which anyone may read, unlike its working directory):
/// `openvpn-server@NAME` runs in /etc/openvpn/server, `openvpn-client@NAME` in
/// /etc/openvpn/client, the older `openvpn@NAME` in /etc/openvpn.
fn unit_directory(cgroup: &str) -> Option<&'static str> {
    let unit = cgroup
        .lines()
        .find_map(|l| l.rsplit('/').next().filter(|u| u.ends_with(".service")))?;
    if unit.starts_with("openvpn-server@") {
        Some("/etc/openvpn/server")
    } else if unit.starts_with("openvpn-client@") {
        Some("/etc/openvpn/client")
    } else if unit.starts_with("openvpn@") {
        Some("/etc/openvpn")
    } else {
        None
    }
}

/// `p` as this host reaches it from a process with `root` and working directory `cwd`.
pub fn host_path(root: Option<&Path>, cwd: &Path, p: &str) -> PathBuf {
    match root {
        Some(r) if Path::new(p).is_absolute() => r.join(p.trim_start_matches('/')),
        _ => cwd.join(p),
    }
}

/// Finds the processes that run `config`.
pub fn find(config: &Path) -> Processes {
    let Ok(target) = std::fs::metadata(config) else {
        return Processes::NotFound {
            openvpn: 0,
            hidden: 0,
        };
    };
    let entries = match std::fs::read_dir("/proc") {
        Ok(e) => e,
        Err(e) => return Processes::Unavailable(super::io_reason(&e)),
    };
    let our_root = std::fs::metadata("/").ok();
    let (mut found, mut openvpn, mut hidden) = (Vec::new(), 0, 0);
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(raw) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let mut argv: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if argv.last().is_some_and(String::is_empty) {
            argv.pop();
        }
        let is_openvpn = argv
            .first()
            .and_then(|a| Path::new(a).file_name())
            .is_some_and(|n| n.to_string_lossy().starts_with("openvpn"));
        if !is_openvpn {
            continue;
        }
        openvpn += 1;
        let args = argv.split_off(1);
        let Some((cds, file)) = config_arg(&args) else {
            continue;
        };
        // Its root: ours, or a container's seen through /proc/PID/root.
        let root_link = dir.join("root");
        let root = match (std::fs::metadata(&root_link), &our_root) {
            (Ok(theirs), Some(ours))
                if theirs.dev() != ours.dev() || theirs.ino() != ours.ino() =>
            {
                Some(root_link)
            }
            _ => None,
        };
        let cwd = match std::fs::read_link(dir.join("cwd")) {
            Ok(c) => match &root {
                Some(r) => r.join(c.strip_prefix("/").unwrap_or(&c)),
                None => c,
            },
            Err(_) if Path::new(&file).is_absolute() && cds.is_empty() => PathBuf::from("/"),
            // Another user's process: its unit says where it runs.
            Err(_) => match std::fs::read_to_string(dir.join("cgroup"))
                .ok()
                .and_then(|c| unit_directory(&c))
            {
                Some(d) => PathBuf::from(d),
                None => {
                    hidden += 1;
                    continue;
                }
            },
        };
        let mut at = cwd.clone();
        for d in &cds {
            at = host_path(root.as_deref(), &at, d);
        }
        if same_file(&target, &host_path(root.as_deref(), &at, &file)) {
            found.push(Running {
                pid,
                args,
                cwd,
                root,
            });
        }
    }
    if found.is_empty() {
        Processes::NotFound { openvpn, hidden }
    } else {
        found.sort_by_key(|r| r.pid);
        Processes::Found(found)
    }
}

/// The command line as config lines, in order: each `--option` starts a line, its
/// arguments quoted as OpenVPN's parser reads them back.
pub fn as_config_lines(args: &[String]) -> String {
    if let [only] = args {
        if !only.starts_with("--") {
            return format!("config {}\n", quote(only));
        }
    }
    let mut out = String::new();
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(name);
        } else {
            out.push(' ');
            out.push_str(&quote(a));
        }
    }
    out.push('\n');
    out
}

fn quote(a: &str) -> String {
    format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_config_of_a_command_line() {
        assert_eq!(
            config_arg(&s(&["server.conf"])),
            Some((vec![], "server.conf".into()))
        );
        let systemd = s(&[
            "--status",
            "/run/openvpn-server/status-server.log",
            "--status-version",
            "2",
            "--suppress-timestamps",
            "--config",
            "server.conf",
        ]);
        assert_eq!(config_arg(&systemd), Some((vec![], "server.conf".into())));
        assert_eq!(
            config_arg(&s(&[
                "--cd",
                "/etc/openvpn",
                "--config",
                "a.conf",
                "--daemon"
            ])),
            Some((vec!["/etc/openvpn".into()], "a.conf".into()))
        );
        assert_eq!(config_arg(&s(&["--version"])), None);
        assert_eq!(
            as_config_lines(&systemd),
            "status \"/run/openvpn-server/status-server.log\"\nstatus-version \"2\"\n\
             suppress-timestamps\nconfig \"server.conf\"\n"
        );
        assert_eq!(
            as_config_lines(&s(&["--crl-verify", "a \"b\\c"])),
            "crl-verify \"a \\\"b\\\\c\"\n"
        );
    }

    #[test]
    fn a_units_directory_from_its_cgroup() {
        let v2 = "0::/system.slice/system-openvpn\\x2dserver.slice/openvpn-server@server.service\n";
        assert_eq!(unit_directory(v2), Some("/etc/openvpn/server"));
        let v1 = "12:pids:/system.slice/system-openvpn.slice/openvpn@office.service\n1:name=systemd:/system.slice/system-openvpn.slice/openvpn@office.service\n";
        assert_eq!(unit_directory(v1), Some("/etc/openvpn"));
        assert_eq!(
            unit_directory(
                "0::/system.slice/system-openvpn\\x2dclient.slice/openvpn-client@vpn.service\n"
            ),
            Some("/etc/openvpn/client")
        );
        assert_eq!(
            unit_directory("0::/user.slice/user-0.slice/session-3.scope\n"),
            None
        );
        assert_eq!(unit_directory("0::/system.slice/docker-0123.scope\n"), None);
    }

    #[test]
    fn container_paths_go_through_its_root() {
        let root = Path::new("/proc/7/root");
        assert_eq!(
            host_path(
                Some(root),
                Path::new("/proc/7/root/etc/openvpn"),
                "/etc/openvpn/crl.pem"
            ),
            Path::new("/proc/7/root/etc/openvpn/crl.pem")
        );
        assert_eq!(
            host_path(
                Some(root),
                Path::new("/proc/7/root/etc/openvpn"),
                "pki/ca.crt"
            ),
            Path::new("/proc/7/root/etc/openvpn/pki/ca.crt")
        );
        assert_eq!(
            host_path(None, Path::new("/srv"), "/etc/x"),
            Path::new("/etc/x")
        );
    }
}
