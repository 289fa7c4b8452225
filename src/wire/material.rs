//! Static and tls-crypt-v2 key material from a flag or a config, and the probe's wrap
//! made from it.

use super::{BadTagLen, TlsAuth, TlsCrypt, Wrap};
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

/// The probe's tls-auth: sends with `direction`'s key, checks the server's with the other.
pub fn tls_auth(
    key: &StaticKey,
    direction: KeyDirection,
    digest: Digest,
    size: Option<usize>,
) -> Result<Wrap, BadTagLen> {
    let (send, recv) = key.directional(direction);
    Ok(Wrap::TlsAuth(TlsAuth::new(
        digest,
        &send.hmac,
        Some(&recv.hmac),
        size,
    )?))
}

/// The probe's tls-crypt: fixed directions, a client on 1.
pub fn tls_crypt(key: &StaticKey) -> Wrap {
    let (send, recv) = key.directional(KeyDirection::One);
    Wrap::TlsCrypt(TlsCrypt::new(&send, &recv))
}

/// The probe's tls-crypt-v2: Kc used as tls-crypt, with its wrapped key (WKc) to append.
pub fn tls_crypt_v2(key: &V2ClientKey) -> Wrap {
    let (send, recv) = key.kc.directional(KeyDirection::One);
    Wrap::TlsCrypt(TlsCrypt::v2(&send, &recv, key.wkc.clone()))
}
