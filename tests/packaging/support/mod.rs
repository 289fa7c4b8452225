//! Helpers shared by the packaging tests (`tests/packaging/`): finding external tools (with the
//! CI rule: missing under `CI=true` fails, otherwise the test is skipped with a note),
//! running them, and a daemon guard that always ends what it started.

#![allow(dead_code)]

pub mod built;
pub mod icinga2;
pub mod nagios;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the repository root, as text.
pub fn read(rel: &str) -> String {
    let path = root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

/// `name` from PATH or an sbin directory (root's PATH has them, other users' often not).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/usr/local/sbin", "/sbin", "/root/.cargo/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .chain(std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin")))
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The tool, or `None` after printing a skip note. Under `CI=true` a missing tool fails
/// the test instead: CI must install it (`.ci/run` does).
pub fn require_tool(name: &str, package: &str, test: &str) -> Option<PathBuf> {
    match find_tool(name) {
        Some(p) => Some(p),
        None if ci() => panic!(
            "{test} needs `{name}` (install {package}; .ci/run does), and CI=true forbids skipping"
        ),
        None => {
            eprintln!("SKIPPED: {test} needs `{name}` (install {package})");
            None
        }
    }
}

/// True when we run as root (effective uid 0).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs `cmd` with stdin closed and returns its output.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// stdout and stderr of `out`, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "--- exit {} ---\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, panics unless it exits 0, returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory under the system temp dir, removed on drop.
pub fn scratch(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("scratch directory")
}

/// A daemon started in its own process group. Dropping it sends SIGTERM to the whole
/// group, waits up to [`Daemon::GRACE`], then SIGKILLs the group: nothing it started
/// outlives the test, even when the test panics.
pub struct Daemon {
    child: Option<Child>,
    pgid: u32,
    name: String,
}

impl Daemon {
    pub const GRACE: Duration = Duration::from_secs(10);

    /// Spawns `cmd` (stdin closed) as the leader of a new process group.
    pub fn spawn(name: &str, mut cmd: Command) -> Daemon {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null()).process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Daemon {
            pgid: child.id(),
            child: Some(child),
            name: name.to_string(),
        }
    }

    /// The exit status if the leader has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn signal_group(&self, sig: &str) -> bool {
        // Our own process group, by id: only what this Daemon started.
        Command::new("kill")
            .args([sig, "--", &format!("-{}", self.pgid)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn group_alive(&self) -> bool {
        // `kill -0 -PGID` succeeds while any member of the group exists.
        self.signal_group("-0")
    }

    /// Stops the group (TERM, then KILL after the grace time) and reaps the leader.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        self.signal_group("-TERM");
        let deadline = Instant::now() + Self::GRACE;
        loop {
            let _ = child.try_wait();
            if !self.group_alive() {
                break;
            }
            if Instant::now() >= deadline {
                eprintln!(
                    "{}: still running after SIGTERM; sending SIGKILL",
                    self.name
                );
                self.signal_group("-KILL");
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or `None` after `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// All regular files in `dir` whose names start with `prefix`, concatenated.
pub fn read_files_with_prefix(dir: &Path, prefix: &str) -> String {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .collect()
}

/// The directory of the `check_openvpn` binary cargo built for this test run.
pub fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_check_openvpn"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
}

/// The package version from Cargo.toml.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
