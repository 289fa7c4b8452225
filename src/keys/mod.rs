//! Everything that loads key material, each with its limits (regular files of bounded
//! size, wiped buffers, fingerprints instead of bytes): static and tls-crypt-v2 keys
//! ([`static_keys`]), the wrap made from them ([`material`]), and the login stage's
//! client certificate, private key and password ([`credentials`]).

pub mod credentials;
pub mod material;
pub mod rsa_sign;
pub mod static_keys;
pub mod totp;
