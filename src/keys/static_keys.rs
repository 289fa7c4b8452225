//! Key material: OpenVPN static key files, key directions and raw hex HMAC keys.
//!
//! A static key (`openvpn --genkey secret`) is 256 bytes in four 64-byte slots,
//! `cipher0 | hmac0 | cipher1 | hmac1`; the key direction decides which slot each side sends
//! and receives with. Key bytes live only in [`Secret`], whose `Debug` shows a fingerprint,
//! so no log line or error message can carry them.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::{Zeroize, Zeroizing};

const BEGIN: &str = "-----BEGIN OpenVPN Static key V1-----";
const END: &str = "-----END OpenVPN Static key V1-----";
const V2_CLIENT: &str = "OpenVPN tls-crypt-v2 client key";
const V2_SERVER: &str = "OpenVPN tls-crypt-v2 server key";
pub const STATIC_KEY_LEN: usize = 256;
/// OpenVPN refuses wrapped client keys longer than this.
const MAX_WKC_LEN: usize = 1024;
/// A wrapped key is at least its tag (32), the wrapped Kc (256) and its length (2).
const MIN_WKC_LEN: usize = 32 + STATIC_KEY_LEN + 2;
const SLOT_LEN: usize = 64;

/// Key bytes that never print themselves, and are wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Key files and client configs are a few KB; anything larger is not one.
const MAX_KEY_FILE: u64 = 1 << 20;

/// Reads a file that holds key material into a buffer that is wiped when dropped.
/// Only regular files up to [`MAX_KEY_FILE`]: a FIFO would block the check past its
/// deadline, and `/dev/zero` would eat memory.
pub(crate) fn read_secret_text(path: &Path) -> std::io::Result<Zeroizing<String>> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        bytes.zeroize();
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {MAX_KEY_FILE} bytes, not a key file or client config"),
        ));
    }
    Ok(Zeroizing::new(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let mut bytes = e.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            bytes.zeroize();
            text
        }
    }))
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    read_secret_text(path).map_err(|e| KeyError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// A warning when a key file can be read by group or others, as OpenVPN gives one.
pub fn loose_permissions(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o077 != 0).then_some(mode & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first 4 bytes of the SHA-256 of the key, in hex: enough to tell two keys apart
    /// in a log, useless to an attacker.
    pub fn fingerprint(&self) -> String {
        hex::encode(&Sha256::digest(&self.0)[..4])
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secret({} bytes, sha256 {}…)",
            self.0.len(),
            self.fingerprint()
        )
    }
}

/// Which slots of a static key this side sends and receives with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDirection {
    /// `key-direction 0`: send with slot 0, receive with slot 1 (a server, usually).
    Zero,
    /// `key-direction 1`: send with slot 1, receive with slot 0 (a client, usually).
    One,
    /// No direction: slot 0 both ways.
    Bidirectional,
}

impl KeyDirection {
    /// Slot indices (send, receive).
    fn slots(self) -> (usize, usize) {
        match self {
            KeyDirection::Zero => (0, 1),
            KeyDirection::One => (1, 0),
            KeyDirection::Bidirectional => (0, 0),
        }
    }
}

impl fmt::Display for KeyDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyDirection::Zero => "0",
            KeyDirection::One => "1",
            KeyDirection::Bidirectional => "bidirectional",
        })
    }
}

impl FromStr for KeyDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "0" | "normal" => Ok(KeyDirection::Zero),
            "1" | "inverse" => Ok(KeyDirection::One),
            "bidirectional" | "bidir" | "none" => Ok(KeyDirection::Bidirectional),
            _ => Err(format!(
                "invalid key direction '{s}' (expected 0, 1 or bidirectional)"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("cannot read key file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{source_name}: no '{BEGIN}' line; is this an OpenVPN static key (openvpn --genkey secret)?")]
    NoBegin { source_name: String },
    #[error("{source_name}: no '{END}' line after the BEGIN line")]
    NoEnd { source_name: String },
    #[error("{source_name}, line {line}: expected hex digits, found '{found}'")]
    NotHex {
        source_name: String,
        line: usize,
        found: char,
    },
    #[error(
        "{source_name}: key holds {found} bytes, an OpenVPN static key holds {STATIC_KEY_LEN}"
    )]
    WrongLength { source_name: String, found: usize },
    #[error("{what} is not a hex string ({reason})")]
    BadHex { what: String, reason: String },
    #[error(
        "{source_name}: this is a tls-crypt-v2 server key; the check needs a client key \
             (openvpn --tls-crypt-v2 SERVER.key --genkey tls-crypt-v2-client CLIENT.key)"
    )]
    V2ServerKey { source_name: String },
    #[error(
        "{source_name}: no '-----BEGIN {V2_CLIENT}-----' line; is this a tls-crypt-v2 client key?"
    )]
    V2NoBegin { source_name: String },
    #[error("{source_name}, line {line}: invalid base64")]
    BadBase64 { source_name: String, line: usize },
    #[error("{source_name}: no '-----END {V2_CLIENT}-----' line after the BEGIN line")]
    V2NoEnd { source_name: String },
    #[error("{source_name}: {reason}; the tls-crypt-v2 client key is truncated or damaged")]
    V2Damaged { source_name: String, reason: String },
}

/// The 256 bytes of an OpenVPN static key.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKey(Secret);

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticKey({:?})", self.0)
    }
}

/// The keys one direction uses: the full 64-byte cipher and HMAC slots. Users of a slot
/// take the prefix their algorithm needs (the digest length for HMAC, 32 bytes for AES-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPair {
    pub cipher: Secret,
    pub hmac: Secret,
}

impl StaticKey {
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::parse(&read_key_file(path)?, &path.display().to_string())
    }

    /// Parses the text form: anything before the BEGIN line and after the END line is
    /// ignored, as are `#` comments, blank lines, CR and surrounding white space.
    /// `source_name` names the file or config block in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, KeyError> {
        let mut lines = text.lines().enumerate();
        if !lines.any(|(_, l)| l.trim() == BEGIN) {
            return Err(KeyError::NoBegin {
                source_name: source_name.into(),
            });
        }
        // Zeroizing: an error return must not leave key bytes behind either.
        let mut bytes = Zeroizing::new(Vec::with_capacity(STATIC_KEY_LEN));
        let mut ended = false;
        for (index, line) in lines {
            let line = line.trim();
            if line == END {
                ended = true;
                break;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut pending: Option<u8> = None;
            for c in line.chars().filter(|c| !c.is_whitespace()) {
                let nibble = c.to_digit(16).ok_or(KeyError::NotHex {
                    source_name: source_name.into(),
                    line: index + 1,
                    found: c,
                })? as u8;
                match pending.take() {
                    None => pending = Some(nibble),
                    Some(high) => bytes.push(high << 4 | nibble),
                }
            }
            if pending.is_some() {
                return Err(KeyError::WrongLength {
                    source_name: source_name.into(),
                    found: bytes.len(),
                });
            }
        }
        if !ended {
            return Err(KeyError::NoEnd {
                source_name: source_name.into(),
            });
        }
        if bytes.len() != STATIC_KEY_LEN {
            return Err(KeyError::WrongLength {
                source_name: source_name.into(),
                found: bytes.len(),
            });
        }
        Ok(StaticKey(Secret(std::mem::take(&mut *bytes))))
    }

    pub fn from_bytes(bytes: [u8; STATIC_KEY_LEN]) -> Self {
        StaticKey(Secret(bytes.to_vec()))
    }

    fn slot(&self, index: usize) -> SlotPair {
        let base = index * 2 * SLOT_LEN;
        let b = self.0.expose();
        SlotPair {
            cipher: Secret(b[base..base + SLOT_LEN].to_vec()),
            hmac: Secret(b[base + SLOT_LEN..base + 2 * SLOT_LEN].to_vec()),
        }
    }

    /// (send, receive) slots for a peer using `direction`.
    pub fn directional(&self, direction: KeyDirection) -> (SlotPair, SlotPair) {
        let (send, recv) = direction.slots();
        (self.slot(send), self.slot(recv))
    }

    pub fn fingerprint(&self) -> String {
        self.0.fingerprint()
    }
}

/// A tls-crypt-v2 client key: Kc, used like a tls-crypt key, and WKc, Kc wrapped by the
/// server's key, which the client sends in clear with its first packet.
#[derive(Clone, PartialEq, Eq)]
pub struct V2ClientKey {
    pub kc: StaticKey,
    pub wkc: Vec<u8>,
}

impl fmt::Debug for V2ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "V2ClientKey({:?}, WKc {} bytes)",
            self.kc,
            self.wkc.len()
        )
    }
}

impl V2ClientKey {
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::parse(&read_key_file(path)?, &path.display().to_string())
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Self, KeyError> {
        let begin = format!("-----BEGIN {V2_CLIENT}-----");
        let end = format!("-----END {V2_CLIENT}-----");
        let name = || source_name.to_string();
        if text.contains(V2_SERVER) {
            return Err(KeyError::V2ServerKey {
                source_name: name(),
            });
        }
        let mut lines = text.lines().enumerate();
        if !lines.any(|(_, l)| l.trim() == begin) {
            return Err(KeyError::V2NoBegin {
                source_name: name(),
            });
        }
        // The base64 text, checked line by line so an error can name its line.
        let mut encoded = Zeroizing::new(String::new());
        let mut ended = false;
        for (index, line) in lines {
            let line = line.trim();
            if line == end {
                ended = true;
                break;
            }
            if !line
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            {
                return Err(KeyError::BadBase64 {
                    source_name: name(),
                    line: index + 1,
                });
            }
            encoded.push_str(line);
        }
        if !ended {
            return Err(KeyError::V2NoEnd {
                source_name: name(),
            });
        }
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|e| KeyError::V2Damaged {
                    source_name: name(),
                    reason: format!("its base64 does not decode ({e})"),
                })?,
        );
        let damaged = |reason: String| KeyError::V2Damaged {
            source_name: name(),
            reason,
        };
        if bytes.len() < STATIC_KEY_LEN + MIN_WKC_LEN {
            return Err(damaged(format!(
                "it holds {} bytes, at least {} expected",
                bytes.len(),
                STATIC_KEY_LEN + MIN_WKC_LEN
            )));
        }
        let (kc, wkc) = bytes.split_at(STATIC_KEY_LEN);
        if wkc.len() > MAX_WKC_LEN {
            return Err(damaged(format!(
                "its wrapped key has {} bytes, OpenVPN allows at most {MAX_WKC_LEN}",
                wkc.len()
            )));
        }
        // WKc ends with its own length, which lets the server find it behind the packet.
        let declared = u16::from_be_bytes([wkc[wkc.len() - 2], wkc[wkc.len() - 1]]) as usize;
        if declared != wkc.len() {
            return Err(damaged(format!(
                "its wrapped key says it has {declared} bytes but has {}",
                wkc.len()
            )));
        }
        Ok(V2ClientKey {
            kc: StaticKey(Secret(kc.to_vec())),
            wkc: wkc.to_vec(),
        })
    }
}

/// Decodes a hex key given on the command line. White space and `:` separators are
/// allowed; the error never repeats the input.
pub fn parse_hex_key(text: &str, what: &str) -> Result<Secret, KeyError> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    let cleaned = cleaned
        .strip_prefix("0x")
        .or_else(|| cleaned.strip_prefix("0X"))
        .unwrap_or(&cleaned);
    let bad = |reason: String| KeyError::BadHex {
        what: what.into(),
        reason,
    };
    if cleaned.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if let Some(pos) = cleaned.find(|c: char| !c.is_ascii_hexdigit()) {
        return Err(bad(format!("character {} is not a hex digit", pos + 1)));
    }
    if !cleaned.len().is_multiple_of(2) {
        return Err(bad(format!("odd number of digits ({})", cleaned.len())));
    }
    hex::decode(cleaned)
        .map(Secret)
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_text() -> (String, Vec<u8>) {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let mut text = String::from("#\n# 2048 bit OpenVPN static key\n#\n");
        text.push_str(BEGIN);
        text.push('\n');
        for chunk in bytes.chunks(16) {
            text.push_str(&hex::encode(chunk));
            text.push('\n');
        }
        text.push_str(END);
        text.push('\n');
        (text, bytes)
    }

    #[test]
    fn parses_genkey_layout() {
        let (text, bytes) = sample_text();
        let key = StaticKey::parse(&text, "ta.key").unwrap();
        assert_eq!(key.0.expose(), &bytes[..]);
    }

    #[test]
    fn tolerates_crlf_and_surrounding_text() {
        let (text, _) = sample_text();
        let crlf = format!(
            "some text\r\n{}trailing junk\r\n",
            text.replace('\n', "\r\n")
        );
        let a = StaticKey::parse(&text, "a").unwrap();
        let b = StaticKey::parse(&crlf, "b").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn slots_follow_key_direction() {
        let (text, bytes) = sample_text();
        let key = StaticKey::parse(&text, "k").unwrap();
        let slot = |i: usize| &bytes[i * 64..(i + 1) * 64];
        let (send, recv) = key.directional(KeyDirection::One);
        assert_eq!(send.cipher.expose(), slot(2));
        assert_eq!(send.hmac.expose(), slot(3));
        assert_eq!(recv.cipher.expose(), slot(0));
        assert_eq!(recv.hmac.expose(), slot(1));
        let (send, recv) = key.directional(KeyDirection::Zero);
        assert_eq!(send.hmac.expose(), slot(1));
        assert_eq!(recv.hmac.expose(), slot(3));
        let (send, recv) = key.directional(KeyDirection::Bidirectional);
        assert_eq!(send.hmac.expose(), slot(1));
        assert_eq!(recv.hmac.expose(), slot(1));
    }

    #[test]
    fn errors_name_the_problem() {
        let (text, _) = sample_text();
        let e = StaticKey::parse("hello", "x.key").unwrap_err();
        assert!(matches!(e, KeyError::NoBegin { .. }), "{e}");
        assert!(e.to_string().contains("x.key"));

        let no_end = text.replace(END, "");
        assert!(matches!(
            StaticKey::parse(&no_end, "x").unwrap_err(),
            KeyError::NoEnd { .. }
        ));

        let mut lines: Vec<&str> = text.lines().collect();
        let bad_line = lines[5].replacen('0', "g", 1);
        lines[5] = &bad_line;
        let e = StaticKey::parse(&lines.join("\n"), "x").unwrap_err();
        assert_eq!(
            e,
            KeyError::NotHex {
                source_name: "x".into(),
                line: 6,
                found: 'g'
            }
        );

        let mut short: Vec<&str> = text.lines().collect();
        short.remove(6);
        let e = StaticKey::parse(&short.join("\n"), "x").unwrap_err();
        assert_eq!(
            e,
            KeyError::WrongLength {
                source_name: "x".into(),
                found: 240
            }
        );
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = StaticKey::from_bytes([0xab; 256]);
        let shown = format!("{key:?} {:?}", key.directional(KeyDirection::One));
        assert!(!shown.contains("abab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }

    #[test]
    fn v2_key_without_its_end_line_names_the_v2_end_line() {
        let text = "-----BEGIN OpenVPN tls-crypt-v2 client key-----\nAAAA\n";
        let e = V2ClientKey::parse(text, "k").unwrap_err();
        assert_eq!(
            e,
            KeyError::V2NoEnd {
                source_name: "k".into()
            }
        );
        assert!(e
            .to_string()
            .contains("-----END OpenVPN tls-crypt-v2 client key-----"));
    }

    #[test]
    fn v2_errors() {
        let server = "-----BEGIN OpenVPN tls-crypt-v2 server key-----\nAAAA\n-----END OpenVPN tls-crypt-v2 server key-----\n";
        assert!(matches!(
            V2ClientKey::parse(server, "s.key"),
            Err(KeyError::V2ServerKey { .. })
        ));
        let (static_text, _) = sample_text();
        assert!(matches!(
            V2ClientKey::parse(&static_text, "ta.key"),
            Err(KeyError::V2NoBegin { .. })
        ));
        let short = "-----BEGIN OpenVPN tls-crypt-v2 client key-----\nAAAA\n-----END OpenVPN tls-crypt-v2 client key-----\n";
        let e = V2ClientKey::parse(short, "c.key").unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let bad = "-----BEGIN OpenVPN tls-crypt-v2 client key-----\nAA*A\n-----END OpenVPN tls-crypt-v2 client key-----\n";
        assert_eq!(
            V2ClientKey::parse(bad, "c.key").unwrap_err(),
            KeyError::BadBase64 {
                source_name: "c.key".into(),
                line: 2
            }
        );
    }

    #[test]
    fn hex_keys() {
        assert_eq!(
            parse_hex_key("00ff10", "k").unwrap().expose(),
            &[0, 255, 16]
        );
        assert_eq!(parse_hex_key("0x00:FF", "k").unwrap().expose(), &[0, 255]);
        let e = parse_hex_key("00zz", "--digest-key-client").unwrap_err();
        assert!(e.to_string().contains("--digest-key-client"));
        assert!(!e.to_string().contains("zz"));
        assert!(parse_hex_key("abc", "k").is_err());
        assert!(parse_hex_key("", "k").is_err());
    }
}
