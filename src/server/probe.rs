//! The live server, probed with its own settings: where it listens (a wildcard address
//! becomes the loopback address of its family), its protocol, and its own control-channel
//! key used from the client side; then the TLS stage, whose chain `report` compares with
//! the certificate on disk.

use super::config::{ServerConfig, ServerWrap, Socket};
use super::v2::V2ServerKey;
use super::{FileKind, Unreadable};
use crate::chain::Policy;
use crate::check::{CheckSpec, KeyOrigin, Outcome, RemoteRun};
use crate::digest::Digest;
use crate::keys::static_keys::KeyDirection;
use crate::keys::wrap::{TlsAuthUse, WrapKind};
use crate::keys::{self, KeySource};
use crate::net::Family;
use crate::proto::Stage;
use crate::wire::material::{read_v2, Material};
use crate::wire::Wrap;
use rustls::pki_types::CertificateDer;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

/// Why the live server was not probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// `--no-probe`.
    NoProbe,
    /// `local` is no address of this host: the server listens elsewhere.
    Elsewhere(String),
    /// `local` is a name, not an address.
    LocalName(String),
    /// The control-channel key could not be read (listed among the unreadable files).
    KeyUnreadable,
    /// The key is not what its directive says.
    BadKey(String),
    /// The server's `tls-crypt-v2-verify` script would run on the probe's first packet
    /// and refuse the check's own client key: nothing sent.
    VerifyScript(ScriptFirst),
}

/// Why a server runs its `tls-crypt-v2-verify` script on a client's first packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptFirst {
    /// Over TCP every version does.
    Tcp,
    /// A point-to-point server (`tls-server` without `mode server`) does.
    PointToPoint,
    /// OpenVPN before 2.6 does: its version line.
    Old(String),
    /// The version is unknown (no management interface, no version in the status file),
    /// and 2.5 does.
    VersionUnknown,
}

#[derive(Debug, Clone)]
pub enum Probe {
    Skipped(Skipped),
    Ran(Box<Outcome>),
    /// Stopped at the server's answer to the reset, before its `tls-crypt-v2-verify`
    /// script would judge the check's own client key (which it would refuse). OpenVPN
    /// 2.6 and later answer a UDP reset statelessly and run the script only when the
    /// client's next packet (P_CONTROL_WKC_V1) arrives. `version`: the server's version
    /// line.
    BeforeScript {
        outcome: Box<Outcome>,
        version: String,
    },
    /// The probe could not start (e.g. no socket).
    Error(String),
}

impl Probe {
    /// The probe's outcome, when packets were sent.
    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            Probe::Ran(o) | Probe::BeforeScript { outcome: o, .. } => Some(o),
            Probe::Skipped(_) | Probe::Error(_) => None,
        }
    }

    /// Packets were sent and the server answered.
    pub fn answered(&self) -> bool {
        self.outcome()
            .is_some_and(|o| !matches!(o.result, crate::check::Answer::Failed(_)))
    }
}

/// How far the probe may go before a `tls-crypt-v2-verify` script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Gate {
    /// No script, or the user gave a client key (`--tls-crypt-v2`): the TLS stage.
    Open,
    /// Over UDP to a multi-client server: the reset only, if the server is 2.6 or later.
    NeedsVersion,
    /// Nothing may be sent.
    Closed(ScriptFirst),
}

/// The gate of a server with `tls-crypt-v2-verify` when the probe has only its own key,
/// which the script would refuse (it judges the key's metadata; the check's own key has
/// a timestamp, not the metadata the script allows), logging an error for each check.
pub(super) fn verify_gate(cfg: &ServerConfig, user_key: bool) -> Gate {
    let v2 = matches!(cfg.wrap, Some(ServerWrap::TlsCryptV2(_)));
    if !v2 || cfg.v2_verify.is_none() || user_key {
        Gate::Open
    } else if cfg.proto == crate::net::Proto::Tcp {
        Gate::Closed(ScriptFirst::Tcp)
    } else if !cfg.multi_client {
        Gate::Closed(ScriptFirst::PointToPoint)
    } else {
        Gate::NeedsVersion
    }
}

/// (major, minor) of a version line, `OpenVPN 2.6.14 ...` or `OpenVPN 2.8_git ...`.
fn version_of(line: &str) -> Option<(u32, u32)> {
    let v = line.trim().strip_prefix("OpenVPN ")?;
    let v = v.split([' ', '_']).next()?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Behind [`Gate::NeedsVersion`]: the version line (when there is one) of a server from
/// 2.6 on, which answers the reset before its script runs; else why nothing is sent.
pub(super) fn version_gate(line: Option<&str>) -> Result<String, ScriptFirst> {
    let Some(line) = line else {
        return Err(ScriptFirst::VersionUnknown);
    };
    let version = line.trim().split(' ').take(2).collect::<Vec<_>>().join(" ");
    match version_of(line) {
        Some(v) if v >= (2, 6) => Ok(version),
        Some(_) => Err(ScriptFirst::Old(version)),
        None => Err(ScriptFirst::VersionUnknown),
    }
}

/// Where to send the probe: the socket's `local`, its wildcard as loopback.
fn target(socket: &Socket) -> Result<IpAddr, Skipped> {
    let loopback = |family: Option<Family>| match family {
        Some(Family::V6) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let Some(local) = &socket.local else {
        return Ok(loopback(socket.family));
    };
    let text = local.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = text.parse::<IpAddr>() else {
        return Err(Skipped::LocalName(local.clone()));
    };
    if ip.is_unspecified() {
        return Ok(loopback(Some(if ip.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        })));
    }
    // Only an address of this host is probed: a loopback one, or one an interface holds
    // now. (Binding would not tell: with ip_nonlocal_bind, as on hosts that share a
    // floating address, any address binds.)
    let held = || {
        if_addrs::get_if_addrs()
            .map(|ifs| ifs.iter().any(|i| i.ip() == ip))
            .unwrap_or(false)
    };
    if ip.is_loopback() || held() {
        Ok(ip)
    } else {
        Err(Skipped::Elsewhere(local.clone()))
    }
}

/// The probe's wrap from the server's key, used from the client side; for tls-crypt-v2
/// the user's client key when given (`user_key`), else one made from the server key.
fn wrap(
    cfg: &ServerConfig,
    now: i64,
    user_key: Option<&Path>,
) -> Result<(Wrap, KeyOrigin), (Skipped, Option<Unreadable>)> {
    let unreadable = |e: Unreadable| (Skipped::KeyUnreadable, Some(e));
    let bad = |e: String| (Skipped::BadKey(e), None);
    if let (Some(path), false) = (
        user_key,
        matches!(cfg.wrap, Some(ServerWrap::TlsCryptV2(_))),
    ) {
        return Err(bad(format!(
            "--tls-crypt-v2 {} given, but the server's config has no tls-crypt-v2 line",
            path.display()
        )));
    }
    let mut tls_auth_use = TlsAuthUse::default();
    let material = match &cfg.wrap {
        None => Material::None,
        Some(ServerWrap::TlsAuth { key, direction }) => {
            super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?;
            let material = keys::wrap::load(WrapKind::TlsAuth, key.clone(), None)
                .map_err(|e| bad(e.to_string()))?;
            if let Some(a) = &cfg.auth {
                tls_auth_use.digest = a.parse::<Digest>().map_err(|e| bad(e.to_string()))?;
            }
            // The client's side of the server's direction.
            tls_auth_use.direction = match direction {
                KeyDirection::Zero => KeyDirection::One,
                KeyDirection::One => KeyDirection::Zero,
                KeyDirection::Bidirectional => KeyDirection::Bidirectional,
            };
            material
        }
        Some(ServerWrap::TlsCrypt(key)) => {
            super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?;
            keys::wrap::load(WrapKind::TlsCrypt, key.clone(), None)
                .map_err(|e| bad(e.to_string()))?
        }
        Some(ServerWrap::TlsCryptV2(key)) => {
            let bytes = zeroize::Zeroizing::new(
                super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?,
            );
            let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
            let server =
                V2ServerKey::parse(&text, &key.to_string()).map_err(|e| bad(e.to_string()))?;
            match user_key {
                // Made here, the client key's origin is the server key's.
                None => Material::V2 {
                    key: server.new_client_key(now).map_err(|e| bad(e.to_string()))?,
                    source: key.clone(),
                },
                Some(path) => {
                    let source = KeySource::File(path.to_path_buf());
                    let client =
                        read_v2(&source).map_err(|e| bad(format!("--tls-crypt-v2: {e}")))?;
                    // A key of another server would only be refused there, with an error
                    // in its log.
                    if server.unwrap(&client.wkc).is_none() {
                        return Err(bad(format!(
                            "--tls-crypt-v2 {}: this client key was not made with the server's tls-crypt-v2 key {key}",
                            path.display()
                        )));
                    }
                    Material::V2 {
                        key: client,
                        source,
                    }
                }
            }
        }
    };
    keys::wrap::build(&material, tls_auth_use).map_err(|e| bad(e.to_string()))
}

/// How the probe runs: the time and attempts, the user's tls-crypt-v2 client key, and
/// whether it stops at the server's reset, before a `tls-crypt-v2-verify` script (the
/// server's version line).
#[derive(Clone)]
pub(super) struct ProbeRun<'a> {
    pub timeout: Duration,
    pub attempts: u32,
    pub now: i64,
    pub user_key: Option<&'a Path>,
    pub before_script: Option<String>,
}

/// Probes the server as its config describes it (its first socket); `ca` judges the
/// chain it presents.
pub(super) fn probe(
    cfg: &ServerConfig,
    ca: Option<Vec<CertificateDer<'static>>>,
    run: ProbeRun<'_>,
) -> (Probe, Option<Unreadable>) {
    let mut all = probe_sockets(cfg, &cfg.sockets[..1], ca, run, None);
    all.remove(0)
}

/// Probes each of `sockets` of the server at once, in one check of them all (each with
/// its own spec, all within one budget from the same start), as a client check of a
/// config's several remotes runs. `beside` (the management talk) rides along in the
/// driver's loop while they run.
pub(super) fn probe_sockets(
    cfg: &ServerConfig,
    sockets: &[Socket],
    ca: Option<Vec<CertificateDer<'static>>>,
    run: ProbeRun<'_>,
    beside: crate::check::Beside<'_, '_>,
) -> Vec<(Probe, Option<Unreadable>)> {
    let mut found: Vec<Option<(Probe, Option<Unreadable>)>> = Vec::new();
    let mut remotes = Vec::new();
    for (i, socket) in sockets.iter().enumerate() {
        match spec_for(cfg, socket, ca.clone(), &run) {
            Ok(spec) => {
                found.push(None);
                remotes.push(RemoteRun {
                    number: i + 1,
                    host: spec.host.clone(),
                    port: spec.port,
                    proto: spec.proto,
                    check: Ok(spec),
                });
            }
            Err(skipped) => found.push(Some(skipped)),
        }
    }
    let mut results = match &remotes[..] {
        [] => Vec::new(),
        [one] => vec![one
            .check
            .as_ref()
            .ok()
            .map(|spec| crate::check::run_beside(spec, beside))],
        _ => crate::check::run_remotes_beside(&remotes, beside),
    }
    .into_iter();
    found
        .into_iter()
        .map(|f| {
            f.unwrap_or_else(|| {
                let probe = match results.next().flatten() {
                    Some(Ok(outcome)) => match &run.before_script {
                        Some(version) => Probe::BeforeScript {
                            outcome: Box::new(outcome),
                            version: version.clone(),
                        },
                        None => Probe::Ran(Box::new(outcome)),
                    },
                    Some(Err(e)) => Probe::Error(e.to_string()),
                    None => Probe::Error("internal error".into()),
                };
                (probe, None)
            })
        })
        .collect()
}

/// The check of one listening socket of the server, or why it is not probed.
fn spec_for(
    cfg: &ServerConfig,
    socket: &Socket,
    ca: Option<Vec<CertificateDer<'static>>>,
    run: &ProbeRun<'_>,
) -> Result<CheckSpec, (Probe, Option<Unreadable>)> {
    let ip = target(socket).map_err(|s| (Probe::Skipped(s), None))?;
    let (wrap, key_origin) =
        wrap(cfg, run.now, run.user_key).map_err(|(s, u)| (Probe::Skipped(s), u))?;
    let mut spec = CheckSpec::reset(
        &ip.to_string(),
        socket.port,
        socket.proto,
        run.timeout,
        run.attempts,
        wrap,
    );
    spec.family = Some(if ip.is_ipv6() { Family::V6 } else { Family::V4 });
    spec.stage = if run.before_script.is_some() {
        Stage::Reset
    } else {
        Stage::Tls
    };
    spec.policy = Policy {
        ca,
        ..Policy::default()
    };
    spec.key_origin = key_origin;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(text: &str) -> Result<IpAddr, Skipped> {
        target(
            &ServerConfig::parse(text, "s.conf", Path::new("/"))
                .unwrap()
                .sockets[0],
        )
    }

    #[test]
    fn wildcards_become_loopback_of_their_family() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(target_of("proto udp\n"), Ok(v4));
        assert_eq!(target_of("proto udp6\n"), Ok(v6));
        assert_eq!(target_of("proto tcp6-server\n"), Ok(v6));
        assert_eq!(target_of("local 0.0.0.0\n"), Ok(v4));
        assert_eq!(target_of("local ::\n"), Ok(v6));
        assert_eq!(target_of("local 127.0.0.1\n"), Ok(v4));
        assert_eq!(
            target_of("local vpn.example.org\n"),
            Err(Skipped::LocalName("vpn.example.org".into()))
        );
        assert_eq!(
            target_of("local 192.0.2.1\n"),
            Err(Skipped::Elsewhere("192.0.2.1".into()))
        );
    }

    fn gate_of(text: &str, user_key: bool) -> Gate {
        let cfg = ServerConfig::parse(text, "s.conf", Path::new("/")).unwrap();
        verify_gate(&cfg, user_key)
    }

    #[test]
    fn a_verify_script_gates_the_probe_by_transport_mode_and_version() {
        let v2 = "tls-crypt-v2 s.key\ntls-crypt-v2-verify /etc/openvpn/verify.sh\n";
        assert_eq!(
            gate_of(&format!("mode server\n{v2}"), false),
            Gate::NeedsVersion
        );
        assert_eq!(
            gate_of(&format!("server 10.8.0.0 255.255.255.0\n{v2}"), true),
            Gate::Open
        );
        assert_eq!(
            gate_of("mode server\ntls-crypt-v2 s.key\n", false),
            Gate::Open
        );
        assert_eq!(
            gate_of(&format!("mode server\nproto tcp-server\n{v2}"), false),
            Gate::Closed(ScriptFirst::Tcp)
        );
        assert_eq!(
            gate_of(&format!("tls-server\n{v2}"), false),
            Gate::Closed(ScriptFirst::PointToPoint)
        );
        // No tls-crypt-v2: a verify line alone gates nothing.
        assert_eq!(
            gate_of("mode server\ntls-crypt-v2-verify /bin/true\n", false),
            Gate::Open
        );

        let line = |v: &str| format!("OpenVPN {v} x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO]");
        assert_eq!(
            version_gate(Some(&line("2.6.14"))),
            Ok("OpenVPN 2.6.14".into())
        );
        assert_eq!(
            version_gate(Some(&line("2.8_git"))),
            Ok("OpenVPN 2.8_git".into())
        );
        assert_eq!(
            version_gate(Some(&line("2.10.0"))),
            Ok("OpenVPN 2.10.0".into())
        );
        assert_eq!(
            version_gate(Some(&line("2.5.11"))),
            Err(ScriptFirst::Old("OpenVPN 2.5.11".into()))
        );
        assert_eq!(version_gate(None), Err(ScriptFirst::VersionUnknown));
        assert_eq!(
            version_gate(Some("garbage")),
            Err(ScriptFirst::VersionUnknown)
        );
    }
}
