//! Message digests for the tls-auth HMAC.
//!
//! OpenVPN's `auth` option names an OpenSSL digest; this module maps those names (and the
//! spellings the original Python plugin accepted) onto RustCrypto hashes and computes HMACs
//! with them. `SimpleHmac` is used throughout because BLAKE2 hashes do not support the
//! block-level API the faster `Hmac` type needs, and speed is irrelevant for one packet.

use hmac::{KeyInit, Mac, SimpleHmac};
use std::fmt;
use std::str::FromStr;

/// Every digest an OpenVPN 2.6 server accepts for `auth` together with `tls-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    Ripemd160,
    Blake2s256,
    Blake2b512,
    Sm3,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown digest '{0}' (known: {list})", list = Digest::names().join(", "))]
pub struct UnknownDigest(pub String);

impl Digest {
    pub const ALL: [Digest; 16] = [
        Digest::Md5,
        Digest::Sha1,
        Digest::Sha224,
        Digest::Sha256,
        Digest::Sha384,
        Digest::Sha512,
        Digest::Sha512_224,
        Digest::Sha512_256,
        Digest::Sha3_224,
        Digest::Sha3_256,
        Digest::Sha3_384,
        Digest::Sha3_512,
        Digest::Ripemd160,
        Digest::Blake2s256,
        Digest::Blake2b512,
        Digest::Sm3,
    ];

    /// The name OpenVPN prints in `--show-digests` and accepts in `auth`.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Md5 => "MD5",
            Digest::Sha1 => "SHA1",
            Digest::Sha224 => "SHA224",
            Digest::Sha256 => "SHA256",
            Digest::Sha384 => "SHA384",
            Digest::Sha512 => "SHA512",
            Digest::Sha512_224 => "SHA512-224",
            Digest::Sha512_256 => "SHA512-256",
            Digest::Sha3_224 => "SHA3-224",
            Digest::Sha3_256 => "SHA3-256",
            Digest::Sha3_384 => "SHA3-384",
            Digest::Sha3_512 => "SHA3-512",
            Digest::Ripemd160 => "RIPEMD160",
            Digest::Blake2s256 => "BLAKE2s256",
            Digest::Blake2b512 => "BLAKE2b512",
            Digest::Sm3 => "SM3",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|d| d.name()).collect()
    }

    /// Output length in bytes; also the length of the HMAC key OpenVPN takes from a key slot.
    pub fn output_len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha1 | Digest::Ripemd160 => 20,
            Digest::Sha224 | Digest::Sha512_224 | Digest::Sha3_224 => 28,
            Digest::Sha256
            | Digest::Sha512_256
            | Digest::Sha3_256
            | Digest::Blake2s256
            | Digest::Sm3 => 32,
            Digest::Sha384 | Digest::Sha3_384 => 48,
            Digest::Sha512 | Digest::Sha3_512 | Digest::Blake2b512 => 64,
        }
    }

    /// HMAC over the concatenation of `parts`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<D>(key: &[u8], parts: &[&[u8]]) -> Vec<u8>
        where
            D: hmac::digest::Digest + hmac::digest::common::BlockSizeUser + Clone,
        {
            // HMAC takes keys of any length, so this cannot fail.
            let mut mac = match <SimpleHmac<D> as KeyInit>::new_from_slice(key) {
                Ok(mac) => mac,
                Err(_) => unreachable!("HMAC accepts keys of every length"),
            };
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Digest::Md5 => run::<md5::Md5>(key, parts),
            Digest::Sha1 => run::<sha1::Sha1>(key, parts),
            Digest::Sha224 => run::<sha2::Sha224>(key, parts),
            Digest::Sha256 => run::<sha2::Sha256>(key, parts),
            Digest::Sha384 => run::<sha2::Sha384>(key, parts),
            Digest::Sha512 => run::<sha2::Sha512>(key, parts),
            Digest::Sha512_224 => run::<sha2::Sha512_224>(key, parts),
            Digest::Sha512_256 => run::<sha2::Sha512_256>(key, parts),
            Digest::Sha3_224 => run::<sha3::Sha3_224>(key, parts),
            Digest::Sha3_256 => run::<sha3::Sha3_256>(key, parts),
            Digest::Sha3_384 => run::<sha3::Sha3_384>(key, parts),
            Digest::Sha3_512 => run::<sha3::Sha3_512>(key, parts),
            Digest::Ripemd160 => run::<ripemd::Ripemd160>(key, parts),
            Digest::Blake2s256 => run::<blake2::Blake2s256>(key, parts),
            Digest::Blake2b512 => run::<blake2::Blake2b512>(key, parts),
            Digest::Sm3 => run::<sm3::Sm3>(key, parts),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Digest {
    type Err = UnknownDigest;

    /// Case-insensitive; `-` and `_` are interchangeable, so OpenSSL's `SHA3-256`,
    /// Python hashlib's `sha3_256` and `sha512_256` all parse. hashlib's short BLAKE2
    /// names (`blake2s`, `blake2b`) and `RMD160` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let digest = match norm.as_str() {
            "md5" => Digest::Md5,
            "sha1" => Digest::Sha1,
            "sha224" | "sha2224" => Digest::Sha224,
            "sha256" | "sha2256" => Digest::Sha256,
            "sha384" | "sha2384" => Digest::Sha384,
            "sha512" | "sha2512" => Digest::Sha512,
            "sha512224" | "sha2512224" => Digest::Sha512_224,
            "sha512256" | "sha2512256" => Digest::Sha512_256,
            "sha3224" => Digest::Sha3_224,
            "sha3256" => Digest::Sha3_256,
            "sha3384" => Digest::Sha3_384,
            "sha3512" => Digest::Sha3_512,
            "ripemd160" | "rmd160" | "ripemd" => Digest::Ripemd160,
            "blake2s256" | "blake2s" => Digest::Blake2s256,
            "blake2b512" | "blake2b" => Digest::Blake2b512,
            "sm3" => Digest::Sm3,
            _ => return Err(UnknownDigest(s.to_string())),
        };
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Digest::ALL {
            assert_eq!(d.name().parse::<Digest>(), Ok(d));
            assert_eq!(d.name().to_lowercase().parse::<Digest>(), Ok(d));
            assert_eq!(d.hmac(b"k", &[b"m"]).len(), d.output_len(), "{d}");
        }
    }

    #[test]
    fn python_script_spellings() {
        for (name, d) in [
            ("sha1", Digest::Sha1),
            ("sha3_256", Digest::Sha3_256),
            ("sha512_256", Digest::Sha512_256),
            ("sha512_224", Digest::Sha512_224),
            ("blake2s", Digest::Blake2s256),
            ("blake2b", Digest::Blake2b512),
            ("md5", Digest::Md5),
            ("ripemd160", Digest::Ripemd160),
            ("sm3", Digest::Sm3),
        ] {
            assert_eq!(name.parse::<Digest>(), Ok(d), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        for bad in [
            "", "sha", "shake128", "md4", "sha3", "sha257", "MD5-SHA1", "NULL",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        let msg = "whirlpool".parse::<Digest>().unwrap_err().to_string();
        assert!(
            msg.contains("whirlpool") && msg.contains("SHA3-512"),
            "{msg}"
        );
    }

    #[test]
    fn parts_are_concatenated() {
        let d = Digest::Sha256;
        assert_eq!(d.hmac(b"key", &[b"ab", b"cd"]), d.hmac(b"key", &[b"abcd"]));
    }
}
