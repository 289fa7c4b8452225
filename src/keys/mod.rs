//! Everything that loads key material, each with its limits (regular files of bounded
//! size, wiped buffers, fingerprints instead of bytes): where the text comes from
//! ([`KeySource`]), static and tls-crypt-v2 keys ([`static_keys`]), and the login stage's
//! client certificate, private key and password ([`credentials`]); the control
//! channel's wrap made from a key ([`wrap`]).

pub mod credentials;
pub mod rsa_sign;
mod source;
pub mod static_keys;
pub mod totp;
pub mod wrap;

pub use source::KeySource;
