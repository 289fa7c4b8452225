//! One exit path: panics, aborts, signals from the engine and a closed stdout all end in
//! exit 0–3 with a status line where one can be written.

use crate::common;

use std::io::Read;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn plugin() -> Command {
    let mut c = Command::new(common::check_bin());
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn a_panic_is_unknown() {
    // Debug builds honour this switch; release builds do not have it.
    let out = plugin()
        .args(["127.0.0.1"])
        .env("CHECK_OPENVPN_SELF_TEST", "panic")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("OPENVPN UNKNOWN - internal error: self-test panic (at "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn an_allocation_failure_is_unknown() {
    let out = plugin()
        .args(["127.0.0.1"])
        .env("CHECK_OPENVPN_SELF_TEST", "abort")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("OPENVPN UNKNOWN - check aborted (SIGABRT)"),
        "{text}"
    );
}

/// The check's deadline in [`cut_off`]: long, so that a check that waits for it instead of
/// ending at the signal is told apart with a margin no loaded machine eats.
const CUT_OFF_TIMEOUT_S: u64 = 30;

/// Starts a check against a silent server with a long timeout, sends `signal` after a
/// moment, and returns (exit code, stdout, time from signal to exit).
fn cut_off(signal: &str) -> (Option<i32>, String, Duration) {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let mut child = plugin()
        .args([
            "127.0.0.1",
            "-p",
            &port,
            "--timeout",
            &CUT_OFF_TIMEOUT_S.to_string(),
            "--retrycount",
            "1",
        ])
        .spawn()
        .unwrap();
    // Wait until the probe has really been sent, so the signal lands mid-check.
    let mut buf = [0u8; 512];
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    silent.recv(&mut buf).expect("the probe arrives");
    let sent = Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (status.code(), out, took)
}

#[test]
fn sigterm_from_the_engine_is_unknown() {
    let (code, out, took) = cut_off("-TERM");
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.starts_with("OPENVPN UNKNOWN - check cut off by SIGTERM"),
        "{out}"
    );
    // At once, not at the deadline: in under half of it.
    assert!(
        took < Duration::from_secs(CUT_OFF_TIMEOUT_S / 2),
        "{took:?}: the check waited for its deadline"
    );
}

#[test]
fn sigalrm_is_unknown() {
    let (code, out, _) = cut_off("-ALRM");
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.starts_with("OPENVPN UNKNOWN - check cut off by SIGALRM"),
        "{out}"
    );
}

#[test]
fn a_closed_stdout_keeps_the_exit_code() {
    let closed = common::closed_udp_port().to_string();
    let mut child = plugin()
        .args(["127.0.0.1", "-p", &closed, "-vvv"])
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the plugin writes
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
}
