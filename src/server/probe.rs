//! The live server, probed with its own settings: where it listens (a wildcard address
//! becomes the loopback address of its family), its protocol, and its own control-channel
//! key used from the client side; then the TLS stage, whose chain `report` compares with
//! the certificate on disk.

use super::config::{ServerConfig, ServerWrap, Socket};
use super::v2::V2ServerKey;
use super::{FileKind, Unreadable};
use crate::chain::Policy;
use crate::check::{CheckSpec, KeyOrigin, Outcome};
use crate::digest::Digest;
use crate::keys::static_keys::KeyDirection;
use crate::keys::KeySource;
use crate::net::Family;
use crate::proto::Stage;
use crate::wire::material::{read_static, tls_auth, tls_crypt, tls_crypt_v2};
use crate::wire::Wrap;
use rustls::pki_types::CertificateDer;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
}

#[derive(Debug, Clone)]
pub enum Probe {
    Skipped(Skipped),
    Ran(Box<Outcome>),
    /// The probe could not start (e.g. no socket).
    Error(String),
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

/// The probe's wrap from the server's key, used from the client side.
fn wrap(cfg: &ServerConfig, now: i64) -> Result<(Wrap, KeyOrigin), (Skipped, Option<Unreadable>)> {
    let origin = |s: &KeySource| match s {
        KeySource::File(_) => KeyOrigin::File,
        KeySource::Inline { .. } => KeyOrigin::Inline,
    };
    let unreadable = |e: Unreadable| (Skipped::KeyUnreadable, Some(e));
    let bad = |e: String| (Skipped::BadKey(e), None);
    match &cfg.wrap {
        None => Ok((Wrap::None, KeyOrigin::None)),
        Some(ServerWrap::TlsAuth { key, direction }) => {
            super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?;
            let k = read_static(key).map_err(|e| bad(e.to_string()))?;
            let digest = match &cfg.auth {
                Some(a) => a.parse::<Digest>().map_err(|e| bad(e.to_string()))?,
                None => Digest::Sha1,
            };
            let client = match direction {
                KeyDirection::Zero => KeyDirection::One,
                KeyDirection::One => KeyDirection::Zero,
                KeyDirection::Bidirectional => KeyDirection::Bidirectional,
            };
            let w = tls_auth(&k, client, digest, None).map_err(|e| bad(e.to_string()))?;
            Ok((w, origin(key)))
        }
        Some(ServerWrap::TlsCrypt(key)) => {
            super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?;
            let k = read_static(key).map_err(|e| bad(e.to_string()))?;
            Ok((tls_crypt(&k), origin(key)))
        }
        Some(ServerWrap::TlsCryptV2(key)) => {
            let bytes = zeroize::Zeroizing::new(
                super::files::read_source(key, FileKind::ControlKey).map_err(unreadable)?,
            );
            let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
            let server =
                V2ServerKey::parse(&text, &key.to_string()).map_err(|e| bad(e.to_string()))?;
            let client = server.new_client_key(now).map_err(|e| bad(e.to_string()))?;
            Ok((tls_crypt_v2(&client), origin(key)))
        }
    }
}

/// Probes the server as its config describes it (its first socket); `ca` judges the
/// chain it presents.
pub(super) fn probe(
    cfg: &ServerConfig,
    ca: Option<Vec<CertificateDer<'static>>>,
    timeout: Duration,
    attempts: u32,
    now: i64,
) -> (Probe, Option<Unreadable>) {
    probe_socket(cfg, &cfg.sockets[0], ca, timeout, attempts, now)
}

/// Probes one listening socket of the server.
pub(super) fn probe_socket(
    cfg: &ServerConfig,
    socket: &Socket,
    ca: Option<Vec<CertificateDer<'static>>>,
    timeout: Duration,
    attempts: u32,
    now: i64,
) -> (Probe, Option<Unreadable>) {
    let ip = match target(socket) {
        Ok(ip) => ip,
        Err(s) => return (Probe::Skipped(s), None),
    };
    let (wrap, key_origin) = match wrap(cfg, now) {
        Ok(w) => w,
        Err((s, u)) => return (Probe::Skipped(s), u),
    };
    let mut spec = CheckSpec::reset(
        &ip.to_string(),
        socket.port,
        socket.proto,
        timeout,
        attempts,
        wrap,
    );
    spec.family = Some(if ip.is_ipv6() { Family::V6 } else { Family::V4 });
    spec.stage = Stage::Tls;
    spec.policy = Policy {
        ca,
        ..Policy::default()
    };
    spec.key_origin = key_origin;
    match crate::check::run(&spec) {
        Ok(outcome) => (Probe::Ran(Box::new(outcome)), None),
        Err(e) => (Probe::Error(e.to_string()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
}
