//! Everything that loads key material, each with its limits (regular files of bounded
//! size, wiped buffers, fingerprints instead of bytes): where the text comes from
//! ([`KeySource`]), static and tls-crypt-v2 keys ([`static_keys`]), and the login stage's
//! client certificate, private key and password ([`credentials`]).

pub mod credentials;
pub mod rsa_sign;
mod source;
pub mod static_keys;
pub mod totp;

pub use source::KeySource;
