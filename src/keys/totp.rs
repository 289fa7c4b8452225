//! TOTP codes (RFC 6238) for a config's `static-challenge`: the secret an authenticator
//! app holds, from a file (its base32 text or its `otpauth://totp/...` URI), and the code
//! for a moment. The HMAC is the check's own ([`Digest::hmac`], RustCrypto); base32 from
//! `data-encoding`.

use crate::digest::Digest;
use crate::keys::credentials::CredentialError;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpHash {
    Sha1,
    Sha256,
    Sha512,
}

/// A TOTP secret with its parameters; the key never prints itself.
#[derive(Clone)]
pub struct TotpSecret {
    key: Zeroizing<Vec<u8>>,
    pub digits: u32,
    pub period: u64,
    pub hash: TotpHash,
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TotpSecret({} digits, {} s, {:?}, key hidden)",
            self.digits, self.period, self.hash
        )
    }
}

fn bad(name: &str, reason: &str) -> CredentialError {
    CredentialError::BadTotpSecret {
        name: name.to_string(),
        reason: reason.to_string(),
    }
}

impl TotpSecret {
    /// A secret from raw key bytes: 6 digits, 30 seconds, SHA-1 (what authenticator apps
    /// and OpenVPN's OTP plugins use unless told otherwise).
    pub fn new(key: Vec<u8>) -> TotpSecret {
        TotpSecret {
            key: Zeroizing::new(key),
            digits: 6,
            period: 30,
            hash: TotpHash::Sha1,
        }
    }

    pub fn from_file(path: &Path) -> Result<TotpSecret, CredentialError> {
        let name = path.display().to_string();
        let text = crate::keys::static_keys::read_secret_text(path).map_err(|e| {
            CredentialError::Read {
                what: "TOTP secret",
                name: name.clone(),
                reason: e.to_string(),
            }
        })?;
        Self::parse(&text, &name)
    }

    /// Base32 text (spaces, lower case and `=` padding allowed) or an `otpauth://totp/`
    /// URI with `secret=` and optional `digits=`, `period=`, `algorithm=`.
    pub fn parse(text: &str, name: &str) -> Result<TotpSecret, CredentialError> {
        let text = text.trim();
        let (secret, query) = match text.strip_prefix("otpauth://") {
            Some(rest) => {
                let Some(query) = rest.strip_prefix("totp/").and_then(|r| r.split_once('?')) else {
                    return Err(bad(
                        name,
                        "an otpauth:// URI must be otpauth://totp/LABEL?secret=...",
                    ));
                };
                let secret = query
                    .1
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("secret="))
                    .ok_or_else(|| bad(name, "the otpauth:// URI has no secret="))?;
                (secret, Some(query.1))
            }
            None => (text, None),
        };
        let cleaned: Zeroizing<String> = Zeroizing::new(
            secret
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let key = data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| {
                bad(
                    name,
                    "the secret is not base32 (letters A-Z and digits 2-7)",
                )
            })?;
        if key.is_empty() {
            return Err(bad(name, "the secret is empty"));
        }
        let mut s = TotpSecret::new(key);
        for kv in query.into_iter().flat_map(|q| q.split('&')) {
            match kv.split_once('=') {
                Some(("digits", d)) => {
                    s.digits = d
                        .parse()
                        .ok()
                        .filter(|d| (6..=10).contains(d))
                        .ok_or_else(|| bad(name, "digits= must be 6 to 10"))?
                }
                Some(("period", p)) => {
                    s.period = p
                        .parse()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| bad(name, "period= must be a number of seconds"))?
                }
                Some(("algorithm", a)) => {
                    s.hash = match a.to_ascii_uppercase().as_str() {
                        "SHA1" => TotpHash::Sha1,
                        "SHA256" => TotpHash::Sha256,
                        "SHA512" => TotpHash::Sha512,
                        _ => return Err(bad(name, "algorithm= must be SHA1, SHA256 or SHA512")),
                    }
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// The code for `unix_time` (seconds since 1970), zero-padded to its digits.
    pub fn code(&self, unix_time: u64) -> Zeroizing<String> {
        let counter = (unix_time / self.period).to_be_bytes();
        let mac: Zeroizing<Vec<u8>> = Zeroizing::new(match self.hash {
            TotpHash::Sha1 => Digest::Sha1.hmac(&self.key, &[&counter]),
            TotpHash::Sha256 => Digest::Sha256.hmac(&self.key, &[&counter]),
            TotpHash::Sha512 => Digest::Sha512.hmac(&self.key, &[&counter]),
        });
        // RFC 4226 dynamic truncation.
        let offset = (mac[mac.len() - 1] & 0x0f) as usize;
        let bin = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let value = u64::from(bin) % 10u64.pow(self.digits);
        Zeroizing::new(format!("{value:0width$}", width = self.digits as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated to the
    /// hash's size, 8 digits, 30 s.
    #[test]
    fn rfc6238_vectors() {
        let seed = |n: usize| b"1234567890".iter().cycle().take(n).copied().collect();
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (hash, len, which) in [
            (TotpHash::Sha1, 20, 1),
            (TotpHash::Sha256, 32, 2),
            (TotpHash::Sha512, 64, 3),
        ] {
            let mut s = TotpSecret::new(seed(len));
            s.digits = 8;
            s.hash = hash;
            for v in vectors {
                let want = [v.1, v.2, v.3][which - 1];
                assert_eq!(s.code(v.0).as_str(), want, "{hash:?} at {}", v.0);
            }
        }
    }

    #[test]
    fn secrets_as_apps_write_them() {
        // "12345678901234567890" in base32, as RFC 6238's SHA-1 seed.
        let b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let s = TotpSecret::parse(&format!("{}\n", b32.to_lowercase()), "f").unwrap();
        assert_eq!(s.code(59).as_str(), "287082");
        let s = TotpSecret::parse("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", "f").unwrap();
        assert_eq!(s.code(59).as_str(), "287082");
        let s = TotpSecret::parse(
            &format!("otpauth://totp/VPN:monitor?secret={b32}&issuer=VPN&digits=8&algorithm=SHA1"),
            "f",
        )
        .unwrap();
        assert_eq!(s.code(59).as_str(), "94287082");
        assert!(TotpSecret::parse("not base32 !", "f").is_err());
        assert!(TotpSecret::parse("otpauth://hotp/x?secret=AA", "f").is_err());
        assert!(!format!("{s:?}").contains("GEZD"));
    }
}
