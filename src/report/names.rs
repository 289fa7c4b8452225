//! Names: TLS versions and cipher suites as OpenSSL, OpenVPN's log and IANA spell them,
//! the wrap a probe used, why a packet was ignored, a certificate's place in its chain.

use crate::chain::Role;
use crate::wire::{Rejection, WrapKind};

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

/// Why a packet was ignored: `malformed`, `for another session`, ...
pub fn rejection_name(r: Rejection) -> &'static str {
    match r {
        Rejection::Malformed => "malformed",
        Rejection::NotServerReset => "not a server hard reset",
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
