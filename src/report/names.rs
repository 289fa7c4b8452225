//! Names: TLS versions and cipher suites as OpenSSL, OpenVPN's log and IANA spell them,
//! the wrap a probe used, packet kinds, why a packet was ignored, a certificate's place in
//! its chain, the link's protocol, where key text came from.

use crate::chain::Role;
use crate::check::Target;
use crate::keys::KeySource;
use crate::net::Proto;
use crate::wire::{self, Rejection, WrapKind};
use std::net::SocketAddr;

/// `TLSv1.3`, as OpenSSL and OpenVPN's log spell it.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// `TLS_AES_256_GCM_SHA384`, the IANA name.
pub fn suite_name(s: rustls::CipherSuite) -> String {
    // rustls spells TLS 1.3 suites TLS13_*; IANA (and OpenSSL) say TLS_*.
    match s.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("{s:?}"),
    }
}

/// `no tls-auth`, `tls-auth SHA256`, `tls-crypt`, `tls-crypt-v2`.
pub fn wrap_name(kind: WrapKind) -> String {
    match kind {
        WrapKind::None => "no tls-auth".to_string(),
        WrapKind::TlsAuth(digest) => format!("tls-auth {digest}"),
        WrapKind::TlsCrypt => "tls-crypt".to_string(),
        WrapKind::TlsCryptV2 => "tls-crypt-v2".to_string(),
    }
}

/// A packet kind by its opcode, as OpenVPN's source spells it.
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        wire::P_CONTROL_HARD_RESET_CLIENT_V1 => "P_CONTROL_HARD_RESET_CLIENT_V1",
        wire::P_CONTROL_HARD_RESET_SERVER_V1 => "P_CONTROL_HARD_RESET_SERVER_V1",
        wire::P_CONTROL_SOFT_RESET_V1 => "P_CONTROL_SOFT_RESET_V1",
        wire::P_CONTROL_V1 => "P_CONTROL_V1",
        wire::P_ACK_V1 => "P_ACK_V1",
        wire::P_DATA_V1 => "P_DATA_V1",
        wire::P_CONTROL_HARD_RESET_CLIENT_V2 => "P_CONTROL_HARD_RESET_CLIENT_V2",
        wire::P_CONTROL_HARD_RESET_SERVER_V2 => "P_CONTROL_HARD_RESET_SERVER_V2",
        wire::P_DATA_V2 => "P_DATA_V2",
        wire::P_CONTROL_HARD_RESET_CLIENT_V3 => "P_CONTROL_HARD_RESET_CLIENT_V3",
        wire::P_CONTROL_WKC_V1 => "P_CONTROL_WKC_V1",
        _ => "unknown opcode",
    }
}

/// Why a packet was ignored: `malformed`, `for another session`, ...
pub fn rejection_name(r: Rejection) -> &'static str {
    match r {
        Rejection::Malformed => "malformed",
        Rejection::NotServerReset => "not a server hard reset",
        Rejection::Echo => "echo of our own packet (the service echoes what it receives)",
        Rejection::OtherSession => "for another session",
        Rejection::BadAuth => "failed authentication",
        Rejection::Unexpected => "not expected at this stage",
        Rejection::OutOfWindow => "outside the receive window",
    }
}

/// A certificate by its place in the chain: `certificate`, `intermediate`, `CA`.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leaf => "certificate",
        Role::Intermediate => "intermediate",
        Role::Anchor => "CA",
    }
}

/// `192.0.2.7:1194/udp`, `[2001:db8::1]:1194/tcp`, `vpn.example.org (192.0.2.7):1194/udp`.
pub fn target_name(target: &Target) -> String {
    let Target { host, addr, proto } = target;
    let ip = addr.ip();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let shown_ip = match addr {
        SocketAddr::V4(_) => ip.to_string(),
        SocketAddr::V6(_) => format!("[{ip}]"),
    };
    if literal.parse::<std::net::IpAddr>().is_ok() {
        format!("{shown_ip}:{}/{}", addr.port(), proto_name(*proto))
    } else {
        format!("{host} ({ip}):{}/{}", addr.port(), proto_name(*proto))
    }
}

/// `udp`, `tcp`.
pub fn proto_name(proto: Proto) -> &'static str {
    match proto {
        Proto::Udp => "udp",
        Proto::Tcp => "tcp",
    }
}

/// Where key text came from: the path, or the inline block's name (never its text).
impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Inline { name, .. } => f.write_str(name),
        }
    }
}
