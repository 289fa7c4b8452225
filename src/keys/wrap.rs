//! The one place a control-channel wrap is made from key material: which wrap, the key
//! and where it came from, and for tls-auth the client's direction and digest. The
//! client check (`flags`) and the server check's live probe (`server::probe`) both build
//! their [`Wrap`] here, so a key is used the same way whichever side named it.

use super::static_keys::{KeyDirection, KeyError};
use super::KeySource;
use crate::check::KeyOrigin;
use crate::digest::Digest;
use crate::wire::material::{read_static, read_v2, tls_auth, tls_crypt, tls_crypt_v2, Material};
use crate::wire::{BadTagLen, TlsAuth, Wrap};

/// Which wrap a key file or block is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapKind {
    TlsAuth,
    TlsCrypt,
    TlsCryptV2,
}

/// Reads the key of `kind` from `source`: a static key for tls-auth and tls-crypt, a
/// client key for tls-crypt-v2. `direction` is the tls-auth direction the source asked
/// for (a config's `key-direction`, or the `tls-auth FILE DIR` argument), if any.
pub fn load(
    kind: WrapKind,
    source: KeySource,
    direction: Option<KeyDirection>,
) -> Result<Material, KeyError> {
    Ok(match kind {
        WrapKind::TlsAuth => Material::TlsAuth {
            key: read_static(&source)?,
            source,
            direction,
        },
        WrapKind::TlsCrypt => Material::TlsCrypt {
            key: read_static(&source)?,
            source,
        },
        WrapKind::TlsCryptV2 => Material::V2 {
            key: read_v2(&source)?,
            source,
        },
    })
}

/// How the client side uses a tls-auth key (ignored by the other wraps): the direction
/// it sends with, the HMAC digest, and the bytes of HMAC on the wire (`None`: the
/// digest's full length).
#[derive(Debug, Clone, Copy)]
pub struct TlsAuthUse {
    pub direction: KeyDirection,
    pub digest: Digest,
    pub size: Option<usize>,
}

impl Default for TlsAuthUse {
    /// OpenVPN's client defaults: key direction 1, SHA1, the full HMAC.
    fn default() -> Self {
        TlsAuthUse {
            direction: KeyDirection::One,
            digest: Digest::Sha1,
            size: None,
        }
    }
}

/// Where the key came from, as a check's result tells it.
pub fn origin(material: &Material) -> KeyOrigin {
    match material {
        Material::None => KeyOrigin::None,
        Material::Hex { .. } => KeyOrigin::Hex,
        Material::TlsAuth { source, .. }
        | Material::TlsCrypt { source, .. }
        | Material::V2 { source, .. } => match source {
            KeySource::File(_) => KeyOrigin::File,
            KeySource::Inline { .. } => KeyOrigin::Inline,
        },
    }
}

/// The client side's wrap for `material`, and where its key came from. tls-crypt and
/// tls-crypt-v2 have fixed directions and digests; tls-auth takes `tls_auth`'s; hex keys
/// name each direction themselves and take its digest and size.
pub fn build(
    material: &Material,
    tls_auth_use: TlsAuthUse,
) -> Result<(Wrap, KeyOrigin), BadTagLen> {
    let TlsAuthUse {
        direction,
        digest,
        size,
    } = tls_auth_use;
    let wrap = match material {
        Material::None => Wrap::None,
        Material::TlsAuth { key, .. } => tls_auth(key, direction, digest, size)?,
        Material::TlsCrypt { key, .. } => tls_crypt(key),
        Material::V2 { key, .. } => tls_crypt_v2(key),
        Material::Hex { client, server } => {
            Wrap::TlsAuth(TlsAuth::new(digest, client, server.as_ref(), size)?)
        }
    };
    Ok((wrap, origin(material)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::static_keys::StaticKey;

    fn static_key() -> StaticKey {
        let mut text = String::from("-----BEGIN OpenVPN Static key V1-----\n");
        for i in 0..16 {
            text.push_str(&format!("{:02x}", i).repeat(16));
            text.push('\n');
        }
        text.push_str("-----END OpenVPN Static key V1-----\n");
        StaticKey::parse(&text, "test.key").unwrap()
    }

    #[test]
    fn each_wrap_with_its_origin() {
        let file = KeySource::File("ta.key".into());
        let inline = KeySource::Inline {
            text: Default::default(),
            name: "<tls-auth> block".into(),
        };
        let auth = Material::TlsAuth {
            key: static_key(),
            source: file.clone(),
            direction: None,
        };
        let (wrap, origin) = build(
            &auth,
            TlsAuthUse {
                digest: Digest::Sha256,
                ..TlsAuthUse::default()
            },
        )
        .unwrap();
        assert!(matches!(&wrap, Wrap::TlsAuth(t) if t.digest() == Digest::Sha256));
        assert_eq!(origin, KeyOrigin::File);

        let crypt = Material::TlsCrypt {
            key: static_key(),
            source: inline,
        };
        let (wrap, origin) = build(&crypt, TlsAuthUse::default()).unwrap();
        assert!(matches!(wrap, Wrap::TlsCrypt(_)));
        assert_eq!(origin, KeyOrigin::Inline);

        let (wrap, origin) = build(&Material::None, TlsAuthUse::default()).unwrap();
        assert!(matches!(wrap, Wrap::None));
        assert_eq!(origin, KeyOrigin::None);

        // A tag longer than the digest is refused, as by OpenVPN.
        let too_long = TlsAuthUse {
            size: Some(21),
            ..TlsAuthUse::default()
        };
        assert!(build(&auth, too_long).is_err());
    }

    #[test]
    fn load_reads_the_key_its_wrap_takes() {
        let missing = KeySource::File("/nonexistent/ta.key".into());
        assert!(load(WrapKind::TlsAuth, missing.clone(), None).is_err());
        assert!(load(WrapKind::TlsCryptV2, missing, None).is_err());
    }
}
