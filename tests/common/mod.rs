//! Test harness: real OpenVPN servers on loopback (the system's 2.6, and other versions named
//! in [`SERVERS_ENV`]), plus helpers to run `check_openvpn`.
//!
//! Usage from a module of the fast suite (`tests/suite/foo.rs`, declared in
//! `tests/suite/main.rs`):
//!
//! ```ignore
//! use crate::common;
//! use common::*;
//!
//! #[test]
//! fn answers() {
//!     if !openvpn_available() {
//!         return;
//!     }
//!     let srv = Server::start(ServerOpts {
//!         proto: Proto::Udp,
//!         family: Family::V4,
//!         mode: Mode::P2p,
//!         wrap: Wrap::None,
//!     });
//!     // Exit 0 with "OPENVPN OK - ", within 2 s plus the margin a loaded CI machine needs;
//!     // a failure shows the arguments, the output and the server's log.
//!     ran_against(&srv, &["--timeout", "2", "--retrycount", "1"])
//!         .state(0)
//!         .line_has("answered")
//!         .within(2000);
//! }
//! ```
//!
//! Under `CI=true` no test skips: [`openvpn_available`] and [`multi_client_ready`] fail the
//! test when what it needs is missing, and only without CI print a skip note.
//!
//! Things worth knowing about the servers (OpenVPN 2.6.14, measured):
//! * A P2p server (`dev null` + `tls-server`) serves ONE peer. Over UDP it answers the first
//!   hard reset with a P_CONTROL_HARD_RESET_SERVER_V2; later resets from other source ports
//!   only get a bare P_ACK_V1 (opcode 5) while the first session is pending. Over TCP it
//!   serves one connection; when that connection closes the server restarts and refuses
//!   connections for about one second. Use a fresh server per probe.
//! * A MultiClient server (`mode server`) answers every UDP hard reset statelessly, and
//!   accepts any number of TCP connections. It needs `dev tun`, i.e. root and
//!   `/dev/net/tun`: guard such tests with [`multi_client_ready`]. The tun device stays down and
//!   unaddressed (`ifconfig-noexec`, `route-noexec`, no `ifconfig`), so the host network is
//!   not changed.
//! * Servers are killed when the [`Server`] is dropped, and (Linux) also when the test
//!   process dies, through `PR_SET_PDEATHSIG` on a long-lived spawner thread.

#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Throw-away PKIs with exact validity dates (expiry, revocation, chains, weak keys).
pub mod pki;
/// The simulated OpenVPN server of the session simulations (no sockets, no wall clock).
pub mod sim_server;
/// The data channel's test bed: unique tunnel subnets, a network namespace for the real
/// client, a firewall rule on one server's tun device.
pub mod tunnel;

/// How long [`Server::start`] waits for a server to report its socket ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times [`Server::start`] tries a new port after "Address already in use".
pub const BIND_ATTEMPTS: usize = 5;
/// How long [`run_check`] lets the plugin run before killing it and panicking.
pub const CHECK_WATCHDOG: Duration = Duration::from_secs(60);
/// Common name of the generated server certificate.
pub const SERVER_CN: &str = "check-openvpn-test-server";
/// Common name of the generated CA certificate.
pub const CA_CN: &str = "check-openvpn-test-ca";
/// Common name of the generated client certificate.
pub const CLIENT_CN: &str = "check-openvpn-test-client";

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Bind 127.0.0.1.
    V4,
    /// Bind ::1.
    V6,
}

impl Family {
    /// The loopback address as text: "127.0.0.1" or "::1".
    pub fn addr(self) -> &'static str {
        match self {
            Family::V4 => "127.0.0.1",
            Family::V6 => "::1",
        }
    }

    pub fn ip(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `dev null` + `tls-server`: serves one peer. One server per probe.
    P2p,
    /// `mode server` + `tls-server` + `dev tun`: needs root and /dev/net/tun.
    MultiClient,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wrap {
    None,
    /// Server side `tls-auth KEY [direction]` and `auth DIGEST`.
    TlsAuth {
        digest: String,
        direction: Option<u8>,
    },
    /// `tls-crypt KEY`.
    TlsCrypt,
    /// `tls-crypt-v2 SERVERKEY`; a client key is generated into [`Server::v2_client_key`].
    TlsCryptV2,
}

impl Wrap {
    /// Shorthand for `Wrap::TlsAuth { digest: digest.into(), direction }`.
    pub fn tls_auth(digest: &str, direction: Option<u8>) -> Wrap {
        Wrap::TlsAuth {
            digest: digest.to_string(),
            direction,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerOpts {
    pub proto: Proto,
    pub family: Family,
    pub mode: Mode,
    pub wrap: Wrap,
}

impl Default for ServerOpts {
    /// UDP, IPv4, point-to-point, no wrapping.
    fn default() -> Self {
        ServerOpts {
            proto: Proto::Udp,
            family: Family::V4,
            mode: Mode::P2p,
            wrap: Wrap::None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tool discovery
// ---------------------------------------------------------------------------------------

/// True under `CI=true` (or `CI=1`): there a test never skips; what it needs must be there.
pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The `openvpn` binary: `$OPENVPN_BIN`, else `openvpn` from PATH or an sbin directory
/// (root's PATH has /usr/sbin, other users' often not). Falls back to the bare name.
pub fn openvpn_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("OPENVPN_BIN") {
            return PathBuf::from(p);
        }
        find_in_path("openvpn").unwrap_or_else(|| PathBuf::from("openvpn"))
    })
    .clone()
}

/// The `openssl` binary: `$OPENSSL_BIN`, else `openssl` from PATH.
pub fn openssl_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("OPENSSL_BIN") {
            return PathBuf::from(p);
        }
        find_in_path("openssl").unwrap_or_else(|| PathBuf::from("openssl"))
    })
    .clone()
}

/// Why the tools are unusable, or `Ok` with the `openvpn --version` first line.
fn tools_status() -> &'static Result<String, String> {
    static STATUS: OnceLock<Result<String, String>> = OnceLock::new();
    STATUS.get_or_init(|| {
        let ovpn = openvpn_bin();
        let version = match Command::new(&ovpn).arg("--version").output() {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            Ok(out) => {
                return Err(format!(
                    "`{} --version` failed ({}): {}",
                    ovpn.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
            Err(e) => return Err(format!("cannot run `{}`: {e}", ovpn.display())),
        };
        let ossl = openssl_bin();
        match Command::new(&ossl).arg("version").output() {
            Ok(out) if out.status.success() => Ok(version),
            Ok(out) => Err(format!(
                "`{} version` failed ({})",
                ossl.display(),
                out.status
            )),
            Err(e) => Err(format!("cannot run `{}`: {e}", ossl.display())),
        }
    })
}

/// True when `openvpn` (and the `openssl` CLI, for the certificates) can be run.
/// Missing tools: under `CI=true` this panics, otherwise it prints a skip note and returns
/// false. Tests start with `if !common::openvpn_available() { return; }`.
pub fn openvpn_available() -> bool {
    match tools_status() {
        Ok(_) => true,
        Err(why) if ci() => panic!("OpenVPN is required under CI: {why}"),
        Err(why) => {
            eprintln!("SKIPPED: OpenVPN integration test needs openvpn and openssl ({why})");
            false
        }
    }
}

/// The first line of `openvpn --version`, if OpenVPN is usable.
pub fn openvpn_version() -> Option<String> {
    tools_status().as_ref().ok().cloned()
}

// ---------------------------------------------------------------------------------------
// Servers of other versions
// ---------------------------------------------------------------------------------------

/// Extra OpenVPN server binaries to test against besides the system's, as
/// `LABEL=PATH` entries separated by `:`, e.g.
/// `2.4=/opt/openvpn-2.4.12:2.5=/opt/openvpn-2.5.11:2.7=/opt/openvpn-2.7.6:master=/opt/openvpn-2.8-git`.
/// `.ci/run` sets it from the `openvpn-*` binaries in `../shared/openvpn` when that directory
/// is there.
pub const SERVERS_ENV: &str = "CHECK_OPENVPN_SERVERS";

/// The versions the matrix knows by label; a label missing from [`SERVERS_ENV`] is skipped.
pub const EXTRA_LABELS: [&str; 4] = ["2.4", "2.5", "2.7", "master"];

/// An OpenVPN server binary: the system's (label "2.6") or one of [`SERVERS_ENV`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerBin {
    pub label: String,
    pub path: PathBuf,
    /// (major, minor) from the first line of `--version`: (2, 4), (2, 8) for `2.8_git`.
    pub version: (u32, u32),
    /// The first line of `--version`.
    pub banner: String,
}

impl ServerBin {
    /// tls-crypt-v2 exists from 2.5.
    pub fn has_tls_crypt_v2(&self) -> bool {
        self.version >= (2, 5)
    }

    /// 2.4 (with mbed TLS) speaks TLS 1.2 only.
    pub fn tls_1_3(&self) -> bool {
        self.version >= (2, 5)
    }

    /// `disable-dco` (and DCO) exist from 2.6.
    fn knows_dco(&self) -> bool {
        self.version >= (2, 6)
    }

    /// A point-to-point 2.5 or master server without `cipher` does not start (BF-CBC is not
    /// in OpenSSL 3); 2.6 negotiates, 2.4 with mbed TLS still has BF-CBC.
    fn p2p_needs_cipher(&self) -> bool {
        self.version != (2, 6) && self.version >= (2, 5)
    }
}

/// Runs `path --version` (2.4 exits 1 after printing it) and reads its first line.
fn probe_server_bin(label: &str, path: &Path) -> Result<ServerBin, String> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let banner = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let version = banner
        .strip_prefix("OpenVPN ")
        .and_then(|rest| rest.split([' ', '_']).next())
        .and_then(|v| {
            let mut parts = v.split('.').map(|n| n.parse::<u32>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .ok_or_else(|| {
            format!(
                "`{} --version` printed no OpenVPN version ({}): {}{}",
                path.display(),
                out.status,
                banner,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    Ok(ServerBin {
        label: label.to_string(),
        path: path.to_path_buf(),
        version,
        banner,
    })
}

/// The system's `openvpn` as a [`ServerBin`] labelled "2.6", if OpenVPN is usable.
pub fn system_server() -> Option<ServerBin> {
    tools_status().as_ref().ok()?;
    probe_server_bin("2.6", &openvpn_bin()).ok()
}

/// The extra servers [`SERVERS_ENV`] names, each checked to print its version. Printed
/// once per test process: which ones run, and which of [`EXTRA_LABELS`] are skipped. A
/// listed binary that does not run fails the test under `CI=true`, and is skipped otherwise.
pub fn extra_servers() -> &'static [ServerBin] {
    static EXTRA: OnceLock<Vec<ServerBin>> = OnceLock::new();
    EXTRA.get_or_init(|| {
        let spec = std::env::var(SERVERS_ENV).unwrap_or_default();
        let mut found = Vec::new();
        let mut broken = Vec::new();
        for entry in spec.split(':').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((label, path)) = entry.split_once('=') else {
                broken.push(format!("{SERVERS_ENV}: '{entry}' is not LABEL=PATH"));
                continue;
            };
            match probe_server_bin(label.trim(), Path::new(path.trim())) {
                Ok(bin) => found.push(bin),
                Err(why) => broken.push(format!("{SERVERS_ENV}: {label}: {why}")),
            }
        }
        if !broken.is_empty() {
            assert!(!ci(), "{}", broken.join("\n"));
            for why in &broken {
                eprintln!("SKIPPED: {why}");
            }
        }
        for bin in &found {
            eprintln!(
                "server {}: {} ({})",
                bin.label,
                bin.banner,
                bin.path.display()
            );
        }
        for label in EXTRA_LABELS {
            if !found.iter().any(|b| b.label == label) {
                eprintln!("SKIPPED: OpenVPN {label} servers ({SERVERS_ENV} names none)");
            }
        }
        found
    })
}

/// The server labelled `label`: "2.6" is the system's, others come from [`SERVERS_ENV`].
/// `None` (with a skip note) when there is none; the system's follows
/// [`openvpn_available`]'s CI rule.
pub fn server_bin(label: &str) -> Option<ServerBin> {
    if label == "2.6" {
        if !openvpn_available() {
            return None;
        }
        return system_server();
    }
    // Keys and certificates come from the system's tools.
    if !openvpn_available() {
        return None;
    }
    let bin = extra_servers().iter().find(|b| b.label == label).cloned();
    if bin.is_none() {
        eprintln!("SKIPPED: no OpenVPN {label} server ({SERVERS_ENV} names none)");
    }
    bin
}

fn is_root() -> bool {
    // Effective uid is the second field of the "Uid:" line.
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// True when a MultiClient server can be started: we are root and /dev/net/tun opens
/// read-write. (No CI rule: this only reports.)
pub fn tun_available() -> bool {
    is_root()
        && fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .is_ok()
}

// ---------------------------------------------------------------------------------------
// Keys and certificates
// ---------------------------------------------------------------------------------------

fn run_tool(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openvpn --genkey secret DIR/NAME` (a 2048-bit OpenVPN static key, usable for tls-auth
/// and tls-crypt). Returns the path.
pub fn genkey_static(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    run_tool(
        Command::new(openvpn_bin())
            .args(["--genkey", "secret"])
            .arg(&path),
    );
    path
}

/// `openvpn --genkey tls-crypt-v2-server DIR/NAME`. Returns the path.
pub fn genkey_tls_crypt_v2_server(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    run_tool(
        Command::new(openvpn_bin())
            .args(["--genkey", "tls-crypt-v2-server"])
            .arg(&path),
    );
    path
}

/// `openvpn --tls-crypt-v2 SERVER_KEY --genkey tls-crypt-v2-client DIR/NAME`.
pub fn genkey_tls_crypt_v2_client(server_key: &Path, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    run_tool(
        Command::new(openvpn_bin())
            .arg("--tls-crypt-v2")
            .arg(server_key)
            .args(["--genkey", "tls-crypt-v2-client"])
            .arg(&path),
    );
    path
}

/// The PEM texts of a throw-away PKI, generated once per test process.
pub struct Pki {
    pub ca_crt: String,
    pub server_crt: String,
    pub server_key: String,
    pub client_crt: String,
    pub client_key: String,
}

const OPENSSL_CNF: &str = "\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// An EC (prime256v1) CA, a server and a client certificate signed by it. Generated with
/// the `openssl` CLI on first use (about 0.1 s), then kept in memory.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let tmp = tempfile::Builder::new()
            .prefix("check-openvpn-pki-")
            .tempdir()
            .expect("tempdir for PKI");
        let d = tmp.path();
        fs::write(d.join("openssl.cnf"), OPENSSL_CNF).expect("write openssl.cnf");
        let ossl = || {
            let mut c = Command::new(openssl_bin());
            c.current_dir(d).env("OPENSSL_CONF", d.join("openssl.cnf"));
            c
        };
        for name in ["ca", "server", "client"] {
            run_tool(ossl().args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &format!("{name}.key"),
            ]));
        }
        run_tool(ossl().args([
            "req",
            "-config",
            "openssl.cnf",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-sha256",
            "-days",
            "3650",
            "-set_serial",
            "1",
            "-subj",
            &format!("/CN={CA_CN}"),
            "-extensions",
            "ca_ext",
            "-out",
            "ca.crt",
        ]));
        for (serial, name, cn) in [("2", "server", SERVER_CN), ("3", "client", CLIENT_CN)] {
            run_tool(ossl().args([
                "req",
                "-config",
                "openssl.cnf",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &format!("{name}.csr"),
            ]));
            run_tool(ossl().args([
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                serial,
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                &format!("{name}_ext"),
                "-out",
                &format!("{name}.crt"),
            ]));
        }
        let read = |f: &str| fs::read_to_string(d.join(f)).expect("read PKI file");
        Pki {
            ca_crt: read("ca.crt"),
            server_crt: read("server.crt"),
            server_key: read("server.key"),
            client_crt: read("client.crt"),
            client_key: read("client.key"),
        }
    })
}

// ---------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------

/// Ports handed out in this process; never handed out twice.
fn used_ports() -> &'static Mutex<HashSet<u16>> {
    static USED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    USED.get_or_init(|| Mutex::new(HashSet::new()))
}

fn reserve(port: u16) -> bool {
    used_ports()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(port)
}

/// A port that was free on the family's loopback address for `proto` a moment ago (bind
/// port 0, read it, drop). Never returns the same port twice in one process. Another
/// process can still take it: [`Server::start`] retries on "Address already in use".
pub fn free_port(proto: Proto, family: Family) -> u16 {
    let addr = SocketAddr::new(family.ip(), 0);
    for _ in 0..1000 {
        let port = match proto {
            Proto::Udp => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
            Proto::Tcp => TcpListener::bind(addr).and_then(|s| s.local_addr()),
        }
        .unwrap_or_else(|e| panic!("bind {addr} ({proto:?}): {e}"))
        .port();
        if reserve(port) {
            return port;
        }
    }
    panic!("no free {proto:?} port on {addr}");
}

/// A UDP port nothing listens on (on 127.0.0.1 nor on ::1): datagrams to it draw an ICMP
/// port unreachable. Reserved so that no [`Server`] of this process gets it.
pub fn closed_udp_port() -> u16 {
    closed_port(Proto::Udp)
}

/// A TCP port nothing listens on (connections are refused). Reserved like
/// [`closed_udp_port`].
pub fn closed_tcp_port() -> u16 {
    closed_port(Proto::Tcp)
}

fn closed_port(proto: Proto) -> u16 {
    let bind = |ip: IpAddr, port: u16| -> io::Result<u16> {
        let addr = SocketAddr::new(ip, port);
        match proto {
            Proto::Udp => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
            Proto::Tcp => TcpListener::bind(addr).and_then(|s| s.local_addr()),
        }
        .map(|a| a.port())
    };
    for _ in 0..1000 {
        let port = bind(Family::V4.ip(), 0).expect("bind 127.0.0.1:0");
        // Also free on ::1? (Any error but "in use", e.g. no IPv6 at all, is fine.)
        if let Err(e) = bind(Family::V6.ip(), port) {
            if e.kind() == io::ErrorKind::AddrInUse {
                continue;
            }
        }
        if reserve(port) {
            return port;
        }
    }
    panic!("no closed {proto:?} port found");
}

// ---------------------------------------------------------------------------------------
// Spawning servers so that they die with the test process
// ---------------------------------------------------------------------------------------

type SpawnReply = mpsc::Sender<io::Result<Child>>;

/// Spawns `cmd`. On Linux the child gets `PR_SET_PDEATHSIG(SIGKILL)`; because that signal
/// follows the *thread* that forked, spawning happens on one thread that lives as long as
/// the test process (test threads end after each test, which would kill servers kept in
/// statics).
pub fn spawn_tied(cmd: Command) -> io::Result<Child> {
    #[cfg(target_os = "linux")]
    {
        static SPAWNER: OnceLock<Mutex<mpsc::Sender<(Command, SpawnReply)>>> = OnceLock::new();
        let tx = SPAWNER.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<(Command, SpawnReply)>();
            thread::Builder::new()
                .name("openvpn-spawner".into())
                .spawn(move || {
                    for (mut cmd, reply) in rx {
                        use std::os::unix::process::CommandExt;
                        unsafe extern "C" {
                            fn prctl(
                                option: i32,
                                arg2: u64,
                                arg3: u64,
                                arg4: u64,
                                arg5: u64,
                            ) -> i32;
                        }
                        const PR_SET_PDEATHSIG: i32 = 1;
                        const SIGKILL: u64 = 9;
                        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
                        unsafe {
                            cmd.pre_exec(|| {
                                if prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 {
                                    return Err(io::Error::last_os_error());
                                }
                                Ok(())
                            });
                        }
                        let _ = reply.send(cmd.spawn());
                    }
                })
                .expect("spawn openvpn-spawner thread");
            Mutex::new(tx)
        });
        let (rtx, rrx) = mpsc::channel();
        tx.lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((cmd, rtx))
            .expect("openvpn-spawner thread is gone");
        rrx.recv().expect("openvpn-spawner thread is gone")
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut cmd = cmd;
        cmd.spawn()
    }
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

/// A running OpenVPN server on loopback. Killed (and reaped) on drop.
pub struct Server {
    pub port: u16,
    /// "127.0.0.1" or "::1".
    pub addr: String,
    /// Holds the config, keys, certificates and the log; removed on drop.
    pub dir: tempfile::TempDir,
    /// The generated OpenVPN static key: the tls-auth / tls-crypt key the server uses, or
    /// for [`Wrap::TlsCryptV2`] the tls-crypt-v2 *server* key. With [`Wrap::None`] a key is
    /// generated too (the server does not use it), handy for "wrong wrapping" tests.
    pub static_key: PathBuf,
    /// With [`Wrap::TlsCryptV2`]: a client key made from the server key.
    pub v2_client_key: Option<PathBuf>,
    /// The CA that signed the server certificate (PEM).
    pub ca_cert: PathBuf,
    /// A client certificate and key from the same CA (PEM), for a real `openvpn` client.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    pub opts: ServerOpts,
    /// Time from spawning openvpn to its socket being ready (last attempt).
    pub startup: Duration,
    /// The tun device is addressed and up ([`Server::start_tunnel`]).
    pub tunnel: bool,
    child: Option<Child>,
    /// Another version's binary ([`Server::start_version`]); `None`: the system's.
    pub bin: Option<ServerBin>,
}

enum Outcome {
    Ready,
    PortTaken,
}

impl Server {
    /// Starts a server and returns once it listens. Panics (with the log) if it does not
    /// become ready within [`READY_TIMEOUT`] or exits for any reason but a port race.
    /// MultiClient needs [`tun_available`].
    pub fn start(opts: ServerOpts) -> Server {
        Self::start_with(opts, &[])
    }

    /// Like [`Server::start`], with extra config lines appended (e.g. `"hand-window 5"`,
    /// `"tls-version-min 1.3"`). File names in them are relative to [`Server::dir`].
    pub fn start_with(opts: ServerOpts, extra: &[&str]) -> Server {
        Self::start_full(None, opts, None, false, extra, &[])
    }

    /// Like [`Server::start_with`], with the server binary `bin` (another version): its
    /// config leaves out what that version does not know (`disable-dco` before 2.6) and
    /// adds what it needs (`cipher AES-256-CBC` for a point-to-point 2.5 or master).
    pub fn start_version(bin: &ServerBin, opts: ServerOpts, extra: &[&str]) -> Server {
        Self::start_full(Some(bin.clone()), opts, None, false, extra, &[])
    }

    /// A MultiClient server whose tun device is set up as a real server sets it up (no
    /// `ifconfig-noexec`/`route-noexec`): its kernel answers ICMP on the tunnel address.
    /// Give each such server its own subnet ([`tunnel::Slot`]). `local` replaces the
    /// loopback address (e.g. the host end of a veth pair a network namespace reaches).
    pub fn start_tunnel(opts: ServerOpts, local: Option<IpAddr>, extra: &[&str]) -> Server {
        Self::start_version_tunnel(None, opts, local, extra)
    }

    /// [`Server::start_tunnel`] with another version's binary (`None`: the system's).
    pub fn start_version_tunnel(
        bin: Option<&ServerBin>,
        opts: ServerOpts,
        local: Option<IpAddr>,
        extra: &[&str],
    ) -> Server {
        assert_eq!(
            opts.mode,
            Mode::MultiClient,
            "a tunnel needs a multi-client server"
        );
        Self::start_full(bin.cloned(), opts, local, true, extra, &[])
    }

    /// Like [`Server::start_with`], with `cmdline` options before `--config server.conf`
    /// on the command line, as a service unit passes them (`--status FILE`, ...).
    pub fn start_with_cmdline(opts: ServerOpts, extra: &[&str], cmdline: &[&str]) -> Server {
        Self::start_full(None, opts, None, false, extra, cmdline)
    }

    fn start_full(
        bin: Option<ServerBin>,
        opts: ServerOpts,
        local: Option<IpAddr>,
        tunnel: bool,
        extra: &[&str],
        cmdline: &[&str],
    ) -> Server {
        if let Err(why) = tools_status() {
            panic!("Server::start: OpenVPN is not usable: {why}");
        }
        let dir = tempfile::Builder::new()
            .prefix("check-openvpn-srv-")
            .tempdir()
            .expect("tempdir for server");
        let d = dir.path().to_path_buf();

        let pki = pki();
        let write = |name: &str, text: &str| {
            let p = d.join(name);
            fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
            p
        };
        let ca_cert = write("ca.crt", &pki.ca_crt);
        write("server.crt", &pki.server_crt);
        write("server.key", &pki.server_key);
        let client_cert = write("client.crt", &pki.client_crt);
        let client_key = write("client.key", &pki.client_key);

        let (static_key, v2_client_key) = match opts.wrap {
            Wrap::TlsCryptV2 => {
                let srv = genkey_tls_crypt_v2_server(&d, "tls-crypt-v2-server.key");
                let cli = genkey_tls_crypt_v2_client(&srv, &d, "tls-crypt-v2-client.key");
                (srv, Some(cli))
            }
            _ => (genkey_static(&d, "ta.key"), None),
        };

        let config_path = d.join("server.conf");
        let log_path = d.join("server.log");
        let stdio_path = d.join("stdio.log");
        let mut server = Server {
            port: 0,
            addr: local.map_or_else(|| opts.family.addr().to_string(), |ip| ip.to_string()),
            dir,
            static_key,
            v2_client_key,
            ca_cert,
            client_cert,
            client_key,
            config_path,
            log_path,
            opts,
            startup: Duration::ZERO,
            tunnel,
            child: None,
            bin,
        };

        let mut history = String::new();
        for attempt in 1..=BIND_ATTEMPTS {
            let port = free_port(server.opts.proto, server.opts.family);
            server.port = port;
            fs::write(&server.config_path, server.config_text(extra)).expect("write config");
            let _ = fs::remove_file(&server.log_path);
            let stdio = fs::File::create(&stdio_path).expect("create stdio.log");
            let program = server.bin.as_ref().map(|b| b.path.clone());
            let mut cmd = Command::new(program.unwrap_or_else(openvpn_bin));
            cmd.args(cmdline)
                .arg("--config")
                .arg("server.conf")
                .current_dir(&d)
                .stdin(Stdio::null())
                .stdout(stdio.try_clone().expect("dup stdio.log"))
                .stderr(stdio);
            let t0 = Instant::now();
            let child = spawn_tied(cmd)
                .unwrap_or_else(|e| panic!("spawn {}: {e}", openvpn_bin().display()));
            server.child = Some(child);
            match server.wait_ready() {
                Outcome::Ready => {
                    server.startup = t0.elapsed();
                    return server;
                }
                Outcome::PortTaken => {
                    server.stop();
                    let _ = writeln!(history, "attempt {attempt}: port {port} already in use");
                }
            }
        }
        panic!(
            "OpenVPN server did not start after {BIND_ATTEMPTS} attempts:\n{history}\n{}",
            server.diagnostics()
        );
    }

    fn config_text(&self, extra: &[&str]) -> String {
        let o = &self.opts;
        let mut c = String::from("# written by tests/common/mod.rs\n");
        let _ = writeln!(c, "local {}", self.addr);
        let _ = writeln!(c, "port {}", self.port);
        let proto = match (o.proto, o.family) {
            (Proto::Udp, Family::V4) => "udp4",
            (Proto::Udp, Family::V6) => "udp6",
            (Proto::Tcp, Family::V4) => "tcp4-server",
            (Proto::Tcp, Family::V6) => "tcp6-server",
        };
        let _ = writeln!(c, "proto {proto}");
        match o.mode {
            Mode::P2p => {
                c.push_str("dev null\n");
                if self.bin.as_ref().is_some_and(ServerBin::p2p_needs_cipher) {
                    c.push_str("cipher AES-256-CBC\n");
                }
            }
            Mode::MultiClient if self.tunnel => {
                c.push_str("mode server\ndev tun\ntopology subnet\n")
            }
            Mode::MultiClient => {
                c.push_str("mode server\ndev tun\ntopology subnet\nifconfig-noexec\nroute-noexec\n")
            }
        }
        c.push_str("tls-server\nca ca.crt\ncert server.crt\nkey server.key\ndh none\n");
        if self.bin.as_ref().is_none_or(ServerBin::knows_dco) {
            c.push_str("disable-dco\n");
        }
        c.push_str("verb 4\nlog server.log\n");
        let key = self
            .static_key
            .file_name()
            .expect("key file name")
            .to_string_lossy()
            .into_owned();
        match &o.wrap {
            Wrap::None => {}
            Wrap::TlsAuth { digest, direction } => {
                match direction {
                    Some(dir) => {
                        let _ = writeln!(c, "tls-auth {key} {dir}");
                    }
                    None => {
                        let _ = writeln!(c, "tls-auth {key}");
                    }
                }
                let _ = writeln!(c, "auth {digest}");
            }
            Wrap::TlsCrypt => {
                let _ = writeln!(c, "tls-crypt {key}");
            }
            Wrap::TlsCryptV2 => {
                let _ = writeln!(c, "tls-crypt-v2 {key}");
            }
        }
        for line in extra {
            let _ = writeln!(c, "{line}");
        }
        c
    }

    /// Lines whose presence in the log means the server is ready for packets.
    fn ready_markers(&self) -> Vec<String> {
        let sa = match self.socket_addr() {
            SocketAddr::V4(a) => format!("[AF_INET]{a}"),
            SocketAddr::V6(a) => format!("[AF_INET6]{}:{}", a.ip(), a.port()),
        };
        let mut m = vec![match self.opts.proto {
            // e.g. "UDPv4 link local (bound): [AF_INET]127.0.0.1:41194"
            Proto::Udp => format!("link local (bound): {sa}"),
            // e.g. "Listening for incoming TCP connection on [AF_INET6]::1:41195"
            Proto::Tcp => format!("Listening for incoming TCP connection on {sa}"),
        }];
        if self.opts.mode == Mode::MultiClient {
            m.push("Initialization Sequence Completed".to_string());
        }
        m
    }

    fn wait_ready(&mut self) -> Outcome {
        let markers = self.ready_markers();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = self.log();
            if markers.iter().all(|m| log.contains(m.as_str())) {
                return Outcome::Ready;
            }
            let bind_failed = log.contains("Socket bind failed") && log.contains("in use");
            if bind_failed {
                return Outcome::PortTaken;
            }
            if let Some(status) = self.try_wait() {
                // Re-read: the log may have grown between our read and the exit.
                let log = self.log();
                if log.contains("Socket bind failed") && log.contains("in use") {
                    return Outcome::PortTaken;
                }
                panic!(
                    "OpenVPN server exited ({status}) before it was ready\n{}",
                    self.diagnostics()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "OpenVPN server not ready after {READY_TIMEOUT:?} (waiting for {markers:?})\n{}",
                    self.diagnostics()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Config, log and stdout/stderr of the server, for panic messages.
    pub fn diagnostics(&self) -> String {
        let stdio = fs::read_to_string(self.dir.path().join("stdio.log")).unwrap_or_default();
        let config = fs::read_to_string(&self.config_path).unwrap_or_default();
        format!(
            "--- config {} ---\n{config}--- stdout/stderr ---\n{stdio}--- log {} ---\n{}",
            self.config_path.display(),
            self.log_path.display(),
            self.log()
        )
    }

    /// The server's log so far (empty if there is none yet).
    pub fn log(&self) -> String {
        match fs::read(&self.log_path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => String::new(),
        }
    }

    /// Waits up to `timeout` for `needle` to appear in the log; true if it did.
    /// E.g. "TLS Error: cannot locate HMAC in incoming packet" after a bad tls-auth probe.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        poll_until(timeout, Duration::from_millis(5), || {
            self.log().contains(needle).then_some(())
        })
        .is_some()
    }

    /// `addr:port` as a socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        let ip = self.addr.parse().unwrap_or_else(|_| self.opts.family.ip());
        SocketAddr::new(ip, self.port)
    }

    /// The process id of the openvpn server, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the openvpn process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_wait().is_none()
    }

    /// Kills the server now (e.g. to test a server that went away). Idempotent; the port
    /// stays reserved, so nothing of this process will listen on it again.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------
// Running the plugin
// ---------------------------------------------------------------------------------------

/// Path of the `check_openvpn` binary cargo built for this test.
pub fn check_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_check_openvpn"))
}

/// Runs `check_openvpn ARGS` and returns (exit code, stdout, stderr, wall time).
/// A death by signal N is reported as exit code 128+N. Panics if the plugin runs longer
/// than [`CHECK_WATCHDOG`].
pub fn run_check(args: &[&str]) -> (i32, String, String, Duration) {
    let mut cmd = Command::new(check_bin());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", check_bin().display()));
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let status = loop {
        match child.try_wait().expect("wait for check_openvpn") {
            Some(status) => break status,
            None if t0.elapsed() > CHECK_WATCHDOG => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "check_openvpn {args:?} still running after {CHECK_WATCHDOG:?}; killed.\n\
                     stdout: {}\nstderr: {}",
                    out.join().unwrap_or_default(),
                    err.join().unwrap_or_default()
                );
            }
            None => thread::sleep(Duration::from_millis(2)),
        }
    };
    let elapsed = t0.elapsed();
    #[cfg(unix)]
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    #[cfg(not(unix))]
    let code = status.code().unwrap_or(-1);
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    (code, stdout, stderr, elapsed)
}

/// True when a multi-client server can run here: OpenVPN is usable, and we are root with
/// `/dev/net/tun`. CI has both; there a missing one fails the test instead of skipping it.
pub fn multi_client_ready() -> bool {
    if !openvpn_available() {
        return false;
    }
    if !tun_available() {
        assert!(
            !ci(),
            "a multi-client server needs root and /dev/net/tun, and CI=true forbids skipping"
        );
        eprintln!("SKIPPED: a multi-client server needs root and /dev/net/tun");
        return false;
    }
    true
}

/// An executable shell script `dir/name` running `body` (a server's verify or connect
/// script).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod script");
    p
}

/// An auth-user-pass file `dir/USER.pass` (user on line 1, password on line 2), readable
/// by its owner only.
pub fn user_pass(dir: &Path, user: &str, password: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(format!("{user}.pass"));
    fs::write(&p, format!("{user}\n{password}\n")).expect("write auth-user-pass file");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod auth-user-pass");
    p
}

/// An `auth-user-pass-verify` script (via-file) `dir/deferred.sh` that answers "deferred"
/// (exit 2) and decides `after` seconds later in the background, by writing the
/// `auth_control_file` as LDAP, RADIUS and PAM back ends do: granted for the user
/// `monitor`, refused for anyone else.
pub fn deferred_verify(dir: &Path, after: &str) -> PathBuf {
    script(
        dir,
        "deferred.sh",
        &format!(
            r#"f="$auth_control_file"
user=$(sed -n 1p "$1")
( sleep {after}; if [ "$user" = monitor ]; then echo 1 > "$f"; else echo 0 > "$f"; fi ) >/dev/null 2>&1 &
exit 2"#
        ),
    )
}

/// "Wait until X happened" without a fixed sleep: calls `f` every `every` until it gives
/// `Some`, for at most `bound` (after which the last call's `None`). Pick `bound` for a
/// loaded machine: a passing test waits only as long as X takes.
pub fn poll_until<T>(
    bound: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(every);
    }
}

/// The CLIENT_LIST lines of a server's management interface on 127.0.0.1:`port`
/// (`status 2`).
pub fn management_clients(port: u16) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return vec!["(management unreachable)".into()];
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(mut w) = stream.try_clone() else {
        return vec!["(management unreachable)".into()];
    };
    let mut r = BufReader::new(stream);
    let _ = w.write_all(b"status 2\n");
    let mut clients = Vec::new();
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 {
        if line.starts_with("END") {
            break;
        }
        if line.starts_with("CLIENT_LIST,") {
            clients.push(line.trim().to_string());
        }
        line.clear();
    }
    let _ = w.write_all(b"quit\n");
    clients
}

/// The plugin's flags for the key of `server`'s wrap: `--tls-auth KEY --digest D`,
/// `--tls-crypt KEY`, `--tls-crypt-v2 CLIENTKEY`, or none.
pub fn wrap_args(server: &Server) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    match &server.opts.wrap {
        Wrap::None => vec![],
        Wrap::TlsAuth { digest, .. } => vec![
            "--tls-auth".into(),
            path(&server.static_key),
            "--digest".into(),
            digest.clone(),
        ],
        Wrap::TlsCrypt => vec!["--tls-crypt".into(), path(&server.static_key)],
        Wrap::TlsCryptV2 => vec![
            "--tls-crypt-v2".into(),
            path(server.v2_client_key.as_ref().expect("v2 client key")),
        ],
    }
}

/// How far past its budget a check may end in a test: process start-up and scheduling on
/// a loaded, shared 2-core CI machine. Exact timing belongs to scripts/bench.
pub const WALL_MARGIN_MS: u64 = 1500;

/// The status line of the plugin's output.
pub fn first_line(out: &str) -> &str {
    out.lines().next().unwrap_or("")
}

/// Runs the plugin against `server` (its address, port and, for TCP, `-t`) with `extra`
/// appended; returns (exit code, stdout, wall time) and asserts nothing went to stderr.
pub fn check_server(server: &Server, extra: &[&str]) -> (i32, String, Duration) {
    let port = server.port.to_string();
    let mut args = vec!["-H", server.addr.as_str(), "-p", port.as_str()];
    if server.opts.proto == Proto::Tcp {
        args.push("-t");
    }
    args.extend_from_slice(extra);
    let (code, out, err, wall) = run_check(&args);
    assert!(err.is_empty(), "unexpected stderr: {err}");
    (code, out, wall)
}

// ---------------------------------------------------------------------------------------
// One run of the plugin and what it must show
// ---------------------------------------------------------------------------------------

/// One finished run of the plugin. Its methods assert what the run must show and return
/// the run, so they chain:
///
/// ```ignore
/// ran(&["127.0.0.1", "-p", &port, "--timeout", "0.4"]).state(2).line_has("no answer").within(400);
/// ```
///
/// Every failure shows the arguments, the whole output and, for a run against a
/// [`Server`], the server's log.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
    pub wall: Duration,
    args: Vec<String>,
    server: Option<String>,
}

/// Runs the plugin with `args`.
pub fn ran(args: &[&str]) -> Ran {
    let (code, out, err, wall) = run_check(args);
    Ran {
        code,
        out,
        err,
        wall,
        args: args.iter().map(|a| a.to_string()).collect(),
        server: None,
    }
}

/// Runs the plugin against `server` (its address, port and, for TCP, `-t`) with `extra`
/// appended, and asserts nothing went to stderr. Key flags are the caller's
/// ([`wrap_args`] gives the server's own).
pub fn ran_against(server: &Server, extra: &[&str]) -> Ran {
    let port = server.port.to_string();
    let mut args = vec!["-H", server.addr.as_str(), "-p", port.as_str()];
    if server.opts.proto == Proto::Tcp {
        args.push("-t");
    }
    args.extend_from_slice(extra);
    let mut run = ran(&args);
    run.server = Some(server.diagnostics());
    assert!(run.err.is_empty(), "unexpected stderr{}", run.context());
    run
}

impl Ran {
    /// The status line.
    pub fn line(&self) -> &str {
        first_line(&self.out)
    }

    /// What a failed assertion shows after its own words.
    pub fn context(&self) -> String {
        let mut s = format!(
            "\n--- check_openvpn {} (exit {}, {:?}) ---\n{}",
            self.args.join(" "),
            self.code,
            self.wall,
            self.out
        );
        if !self.err.is_empty() {
            s.push_str(&format!("--- stderr ---\n{}", self.err));
        }
        if let Some(log) = &self.server {
            s.push_str(&format!("--- server ---\n{log}"));
        }
        s
    }

    /// Exit `code`, and the status line opens with its state as the plugin contract says.
    pub fn state(self, code: i32) -> Ran {
        let word = match code {
            0 => "OK",
            1 => "WARNING",
            2 => "CRITICAL",
            3 => "UNKNOWN",
            other => panic!("no plugin state has exit code {other}"),
        };
        assert_eq!(self.code, code, "exit code{}", self.context());
        assert!(
            self.line().starts_with(&format!("OPENVPN {word} - ")),
            "status line is not OPENVPN {word}{}",
            self.context()
        );
        self
    }

    /// The status line contains `needle`.
    pub fn line_has(self, needle: &str) -> Ran {
        assert!(
            self.line().contains(needle),
            "status line lacks {needle:?}{}",
            self.context()
        );
        self
    }

    /// The whole output contains `needle`.
    pub fn out_has(self, needle: &str) -> Ran {
        assert!(
            self.out.contains(needle),
            "output lacks {needle:?}{}",
            self.context()
        );
        self
    }

    /// The run ended within `budget_ms` plus [`WALL_MARGIN_MS`].
    pub fn within(self, budget_ms: u64) -> Ran {
        assert!(
            self.wall <= Duration::from_millis(budget_ms + WALL_MARGIN_MS),
            "took {:?}, budget {budget_ms} ms + {WALL_MARGIN_MS} ms margin{}",
            self.wall,
            self.context()
        );
        self
    }

    /// The run did not end before `ms` (it waited out its budget).
    pub fn not_before(self, ms: u64) -> Ran {
        assert!(
            self.wall >= Duration::from_millis(ms),
            "gave up after {:?}, before {ms} ms{}",
            self.wall,
            self.context()
        );
        self
    }

    /// The run ended at once, not at its deadline of `deadline_ms`: in under half of it.
    /// Give such runs a deadline of 10 s or more, so half of it is a margin no loaded
    /// machine eats, and a run that waits for its deadline still fails.
    pub fn before_deadline(self, deadline_ms: u64) -> Ran {
        assert!(
            deadline_ms >= 10_000,
            "give an at-once run a deadline of 10 s or more"
        );
        assert!(
            self.wall < Duration::from_millis(deadline_ms / 2),
            "took {:?}: waited for its {deadline_ms} ms deadline instead of ending at once{}",
            self.wall,
            self.context()
        );
        self
    }
}
