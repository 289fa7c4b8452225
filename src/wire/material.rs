//! Static and tls-crypt-v2 key material from a flag or a config, and the probe's wrap
//! made from it.

use super::{BadTagLen, Wrap, WrapPair};
use crate::digest::Digest;
use crate::keys::static_keys::{KeyDirection, KeyError, Secret, StaticKey, V2ClientKey};
use crate::keys::KeySource;

/// Key material and where it came from, before it is turned into a [`Wrap`].
pub enum Material {
    None,
    /// A static key for tls-auth (with the direction the source asked for, if any).
    TlsAuth {
        key: StaticKey,
        source: KeySource,
        direction: Option<KeyDirection>,
    },
    TlsCrypt {
        key: StaticKey,
        source: KeySource,
    },
    V2 {
        key: V2ClientKey,
        source: KeySource,
    },
    Hex {
        client: Secret,
        server: Option<Secret>,
    },
}

pub fn read_static(source: &KeySource) -> Result<StaticKey, KeyError> {
    match source {
        KeySource::File(path) => StaticKey::from_file(path),
        KeySource::Inline { text, name } => StaticKey::parse(text, name),
    }
}

pub fn read_v2(source: &KeySource) -> Result<V2ClientKey, KeyError> {
    match source {
        KeySource::File(path) => V2ClientKey::from_file(path),
        KeySource::Inline { text, name } => V2ClientKey::parse(text, name),
    }
}

pub fn tls_auth(
    key: &StaticKey,
    direction: KeyDirection,
    digest: Digest,
    size: Option<usize>,
) -> Result<Wrap, BadTagLen> {
    Ok(WrapPair::tls_auth(key, direction, digest, size)?.client)
}

pub fn tls_crypt(key: &StaticKey) -> Wrap {
    WrapPair::tls_crypt(key).client
}

pub fn tls_crypt_v2(key: &V2ClientKey) -> Wrap {
    WrapPair::tls_crypt_v2(key).client
}
