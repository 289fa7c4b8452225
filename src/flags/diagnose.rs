//! `--diagnose`: every plausible way to use the given key material, and what to change to
//! use each one.

use crate::check::Candidate;
use crate::digest::Digest;
use crate::keys::static_keys::{KeyDirection, Secret, StaticKey};
use crate::keys::KeySource;
use crate::wire::material::{tls_auth, tls_crypt};
use crate::wire::{TlsAuth, Wrap};

pub fn no_wrap_candidate() -> Candidate {
    Candidate {
        label: "no tls-auth or tls-crypt".into(),
        advice: "no key flag: the server has neither tls-auth nor tls-crypt".into(),
        wrap: Wrap::None,
    }
}

const DIRECTIONS: [KeyDirection; 3] = [
    KeyDirection::One,
    KeyDirection::Zero,
    KeyDirection::Bidirectional,
];

/// Every way a static key can be used: tls-auth with each digest and direction,
/// tls-crypt, and, in case the server uses neither, no wrap.
pub fn static_candidates(key: &StaticKey, source: &KeySource) -> Vec<Candidate> {
    let mut out = Vec::new();
    for direction in DIRECTIONS {
        for digest in Digest::ALL {
            let advice = match source {
                KeySource::File(p) => format!(
                    "--tls-auth {} --digest {digest} --key-direction {direction}",
                    p.display()
                ),
                KeySource::Inline { name, .. } => format!(
                    "use the {name} as tls-auth with 'auth {digest}' and {}",
                    config_direction(direction)
                ),
            };
            if let Ok(wrap) = tls_auth(key, direction, digest, None) {
                out.push(Candidate {
                    label: format!("tls-auth {digest} key-direction {direction}"),
                    advice,
                    wrap,
                });
            }
        }
    }
    out.push(Candidate {
        label: "tls-crypt".into(),
        advice: match source {
            KeySource::File(p) => format!("--tls-crypt {}", p.display()),
            KeySource::Inline { name, .. } => format!("use the {name} as a <tls-crypt> block"),
        },
        wrap: tls_crypt(key),
    });
    out.push(no_wrap_candidate());
    out
}

fn config_direction(direction: KeyDirection) -> String {
    match direction {
        KeyDirection::Bidirectional => "no key-direction".into(),
        d => format!("'key-direction {d}'"),
    }
}

pub fn hex_candidates(client: &Secret, server: Option<&Secret>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Digest::ALL
        .iter()
        .filter_map(|&digest| {
            let wrap = TlsAuth::new(digest, client, server, None).ok()?;
            Some(Candidate {
                label: format!("tls-auth {digest}"),
                advice: format!("--digest {digest} with the same --digest-key-* flags"),
                wrap: Wrap::TlsAuth(wrap),
            })
        })
        .collect();
    out.push(no_wrap_candidate());
    out
}
