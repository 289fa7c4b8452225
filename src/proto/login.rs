//! What travels inside TLS once the handshake is done: the key-method 2 messages both
//! sides exchange, and the NUL-terminated control messages that follow (`PUSH_REQUEST`,
//! `PUSH_REPLY`, `AUTH_FAILED`, `AUTH_PENDING`, `EXIT`, ...). Pure functions over bytes.

use zeroize::Zeroizing;

/// The key-method byte of OpenVPN 2.x.
const KEY_METHOD_2: u8 = 2;
/// The server's key-method 2 message and any message are far below this; more unread
/// plaintext than this means the peer is not an OpenVPN server.
pub const MAX_PLAINTEXT: usize = 64 * 1024;

/// `IV_PROTO` bits this check announces: DATA_V2 (2), REQUEST_PUSH (4), TLS_KEY_EXPORT (8),
/// AUTH_PENDING_KW (16), DNS_OPTION (64), CC_EXIT_NOTIFY (128), AUTH_FAIL_TEMP (256). No
/// DYN_TLS_CRYPT (512): the check never renegotiates.
pub const IV_PROTO: u32 = 2 | 4 | 8 | 16 | 64 | 128 | 256;

/// What the check tells the server about itself.
#[derive(Debug, Clone)]
pub struct ClientHello {
    /// `UDPv4`, `TCPv6_CLIENT`, ... as OpenVPN's options string names the protocol.
    pub proto: &'static str,
    pub user: Option<Zeroizing<String>>,
    pub password: Option<Zeroizing<String>>,
    /// What the client's config (or flags) say about the data channel.
    pub data: DataSettings,
    /// `tls-auth` is used, with this key direction (`None`: no tls-auth; tls-crypt and
    /// tls-crypt-v2 leave no trace in the options string).
    pub tls_auth: Option<crate::keys::static_keys::KeyDirection>,
}

/// The data channel as the client's config or flags set it (`cipher`, `data-ciphers`,
/// `auth`, `comp-lzo`/`compress`, `tun-mtu`): what the options string tells a 2.4/2.5
/// server, and what the data channel uses where the push says nothing. `None`: the
/// directive is absent (OpenVPN's default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataSettings {
    /// `cipher`, as written (it may name a cipher this check cannot speak, e.g. BF-CBC).
    pub cipher: Option<String>,
    /// `data-ciphers` (or `ncp-ciphers`), as written.
    pub data_ciphers: Option<Vec<String>>,
    /// `auth`: the HMAC digest of a CBC data channel.
    pub auth: Option<crate::digest::Digest>,
    /// `comp-lzo`/`compress`, as the config frames packets.
    pub compression: Option<crate::proto::data::Compression>,
    pub tun_mtu: Option<u16>,
    /// What a 2.6 client with these settings accepts of a pushed compression
    /// (`allow-compression` and the config's own `comp-lzo`/`compress`, settled). The
    /// default, unsettled, accepts any: the flags settle it to 2.6's default.
    pub compression_rules: crate::proto::data::CompressionRules,
    /// The `allow-compression` line or flag, if any (else 2.6's default applies).
    pub allow_compression: Option<crate::proto::data::AllowCompression>,
    /// `dev tap`/`dev-type tap` (`Some(true)`) or tun (`Some(false)`); `None`: unsaid,
    /// and the server's options string decides the data channel's framing.
    pub tap: Option<bool>,
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        out.extend_from_slice(&[0, 0]);
        return;
    }
    let len = (s.len() + 1) as u16;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s);
    out.push(0);
}

/// The peer-info lines: what a 2.6 client announces about protocol and ciphers (exactly
/// the ciphers the data channel speaks, within the config's `data-ciphers`), the
/// compression stubs of the config's framing (the check frames but never compresses);
/// IV_SSO so that a server with pending authentication says so (and by which method)
/// instead of refusing; and a line that names the probe, so an admin can tell it apart in
/// the log.
pub fn peer_info(data: &DataSettings) -> String {
    use crate::proto::data::Compression;
    let compression = match data.compression {
        None | Some(Compression::None) => "",
        Some(Compression::Lzo) => "IV_LZO_STUB=1\n",
        Some(Compression::Swap) => "IV_COMP_STUB=1\n",
        Some(Compression::V2) => "IV_COMP_STUB=1\nIV_COMP_STUBv2=1\n",
    };
    format!(
        "IV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n\
         IV_CIPHERS={}\nIV_PROTO={IV_PROTO}\n{compression}\
         IV_SSO=webauth,openurl,crtext\nIV_GUI_VER=check_openvpn_{}\n",
        crate::proto::push::iv_ciphers(data),
        env!("CARGO_PKG_VERSION")
    )
}

/// The client's key-method 2 message (`ssl.c:key_method_2_write`): zero, method 2, random
/// key material, the options string, user name, password and peer info. Wiped on drop:
/// it holds the password.
pub fn client_key_method_2(hello: &ClientHello, random: &[u8; 112]) -> Zeroizing<Vec<u8>> {
    let mut m = Zeroizing::new(Vec::with_capacity(512));
    m.extend_from_slice(&[0, 0, 0, 0, KEY_METHOD_2]);
    // pre_master[48], random1[32], random2[32]
    m.extend_from_slice(random);
    push_string(&mut m, options_string(hello).as_bytes());
    push_string(
        &mut m,
        hello.user.as_ref().map(|u| u.as_bytes()).unwrap_or(&[]),
    );
    push_string(
        &mut m,
        hello.password.as_ref().map(|p| p.as_bytes()).unwrap_or(&[]),
    );
    push_string(&mut m, peer_info(&hello.data).as_bytes());
    m
}

/// A 2.6 client's `data-ciphers` when its config has none.
const DEFAULT_DATA_CIPHERS: [&str; 3] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];

/// What a `cipher` adds to a packet, as OpenVPN's link-mtu arithmetic counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CipherShape {
    /// BF-CBC, OpenVPN's old default, counted as no cipher plus 16 bytes (IV and block).
    Blowfish,
    /// GCM and ChaCha20-Poly1305: packet id, tag and IV; `block` counts too (16 for GCM,
    /// 1 for a stream cipher).
    Aead { key_bits: u16, block: u16 },
    /// CBC: IV and one block of padding; the packet id is inside the encryption.
    Cbc { key_bits: u16 },
}

impl CipherShape {
    /// The shape of a cipher named in `cipher`, by OpenSSL's name. Other names are taken as
    /// a CBC cipher with the key length their name says (128 bits if it says none).
    fn of(name: &str) -> CipherShape {
        let upper = name.to_ascii_uppercase();
        if upper == "BF-CBC" {
            return CipherShape::Blowfish;
        }
        if upper == "CHACHA20-POLY1305" {
            return CipherShape::Aead {
                key_bits: 256,
                block: 1,
            };
        }
        let key_bits = ["256", "192", "128"]
            .into_iter()
            .find(|bits| upper.split('-').any(|part| part == *bits))
            .and_then(|bits| bits.parse().ok())
            .unwrap_or(128);
        if upper.ends_with("-GCM") {
            CipherShape::Aead {
                key_bits,
                block: 16,
            }
        } else {
            CipherShape::Cbc { key_bits }
        }
    }
}

/// The options string a 2.6 client with the same settings sends in its key-method 2
/// message (`options.c:options_string`, `mtu.c:calc_options_string_link_mtu`): a 2.4 or 2.5
/// server compares it with its own and logs every difference as "used inconsistently". A
/// client never sends `cipher` unless it is in its `data-ciphers`; the AEAD ciphers carry
/// no HMAC (`auth [null-digest]`); the protocol is named without its address family.
pub fn options_string(hello: &ClientHello) -> String {
    let data = &hello.data;
    let tcp = hello.proto.starts_with("TCP");
    let tun_mtu = u32::from(data.tun_mtu.unwrap_or(1500));
    let cipher = data
        .cipher
        .as_deref()
        .map(|c| {
            c.parse::<crate::proto::data::DataCipher>()
                .map(|known| known.name().to_string())
                .unwrap_or_else(|_| c.to_ascii_uppercase())
        })
        .unwrap_or_else(|| "BF-CBC".to_string());
    let shape = CipherShape::of(&cipher);
    let digest = data.auth.unwrap_or(crate::digest::Digest::Sha1);
    use crate::proto::data::Compression;
    let compression = data.compression.filter(|c| *c != Compression::None);
    // OpenVPN's frame arithmetic: the tun MTU, a v1 compression byte, the packet id where
    // CBC encrypts it; then the opcode, the TCP length and what the cipher adds.
    let mut link_mtu = tun_mtu
        + u32::from(matches!(
            compression,
            Some(Compression::Lzo | Compression::Swap)
        ));
    link_mtu += 1 + if tcp { 2 } else { 0 };
    let hmac = digest.output_len() as u32;
    let (auth, keysize) = match shape {
        CipherShape::Blowfish => {
            link_mtu += 16 + 4 + hmac;
            (digest.name(), 128)
        }
        CipherShape::Aead { key_bits, block } => {
            link_mtu += 4 + 16 + 12 + u32::from(block);
            ("[null-digest]", key_bits)
        }
        CipherShape::Cbc { key_bits } => {
            link_mtu += 4 + 16 + 16 + hmac;
            (digest.name(), key_bits)
        }
    };
    let announced = shape != CipherShape::Blowfish
        && match &data.data_ciphers {
            Some(list) => list.iter().any(|c| c.eq_ignore_ascii_case(&cipher)),
            None => DEFAULT_DATA_CIPHERS.contains(&cipher.as_str()),
        };
    let proto = if tcp { "TCPv4_CLIENT" } else { "UDPv4" };
    let dev = if data.tap == Some(true) { "tap" } else { "tun" };
    let mut s = format!("V4,dev-type {dev},link-mtu {link_mtu},tun-mtu {tun_mtu},proto {proto}");
    if compression.is_some() {
        s.push_str(",comp-lzo");
    }
    use crate::keys::static_keys::KeyDirection;
    match hello.tls_auth {
        Some(KeyDirection::Zero) => s.push_str(",keydir 0"),
        Some(KeyDirection::One) => s.push_str(",keydir 1"),
        Some(KeyDirection::Bidirectional) | None => {}
    }
    if announced {
        s.push_str(",cipher ");
        s.push_str(&cipher);
    }
    s.push_str(&format!(",auth {auth},keysize {keysize}"));
    if hello.tls_auth.is_some() {
        s.push_str(",tls-auth");
    }
    s.push_str(",key-method 2,tls-client");
    s
}

/// The server's key-method 2 message, as far as a report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyMethod2 {
    /// The server's options string (`V4,dev-type tun,...`).
    pub options: String,
    /// Its peer info, usually empty.
    pub peer_info: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Km2Error {
    /// Not all of it arrived yet.
    Incomplete,
    /// Not a key-method 2 message.
    Invalid,
}

fn take_string(buf: &[u8], at: &mut usize) -> Result<String, Km2Error> {
    let len_bytes = buf.get(*at..*at + 2).ok_or(Km2Error::Incomplete)?;
    let len = u16::from_be_bytes([len_bytes[0], len_bytes[1]]) as usize;
    *at += 2;
    if len == 0 {
        return Ok(String::new());
    }
    let bytes = buf.get(*at..*at + len).ok_or(Km2Error::Incomplete)?;
    *at += len;
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    Ok(String::from_utf8_lossy(text).into_owned())
}

/// The random part of the server's key-method 2 message (`random1[32] || random2[32]`):
/// with the PRF, half of the data channel's keys. Wiped on drop, never in a `Debug`.
pub struct ServerRandom(pub Zeroizing<[u8; 64]>);

impl std::fmt::Debug for ServerRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerRandom(<secret>)")
    }
}

/// Parses the server's key-method 2 message from the start of `buf` by its length fields;
/// returns it, its randoms, and the bytes it took (what follows may be a control message
/// already).
pub fn parse_server_key_method_2(
    buf: &[u8],
) -> Result<(ServerKeyMethod2, ServerRandom, usize), Km2Error> {
    let head = buf.get(..5).ok_or(Km2Error::Incomplete)?;
    if head[..4] != [0, 0, 0, 0] || head[4] != KEY_METHOD_2 {
        return Err(Km2Error::Invalid);
    }
    let mut at = 5 + 64; // random1[32] random2[32]
    let mut random = Zeroizing::new([0u8; 64]);
    random.copy_from_slice(buf.get(5..at).ok_or(Km2Error::Incomplete)?);
    let options = take_string(buf, &mut at)?;
    // A 2.x server always writes the user name and password fields (empty) and its peer
    // info (empty in multi-client mode): wait for all four, so a message split across TLS
    // records is never taken early with its peer info cut off.
    let _user = take_string(buf, &mut at)?;
    let _password = take_string(buf, &mut at)?;
    let peer_info = take_string(buf, &mut at)?;
    Ok((
        ServerKeyMethod2 { options, peer_info },
        ServerRandom(random),
        at,
    ))
}

/// A control message from the server (`forward.c:parse_incoming_control_channel_command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    /// One part of a push: its options, and whether more parts follow
    /// (`push-continuation 2`).
    PushReply {
        options: Vec<String>,
        more: bool,
    },
    AuthFailed {
        reason: Option<String>,
    },
    AuthPending {
        timeout: Option<u32>,
    },
    /// `INFO_PRE,WEB_AUTH::url`, `INFO_PRE,CR_TEXT:...`: how a pending auth wants to go on.
    InfoPre(String),
    Info(String),
    Restart(Option<String>),
    Halt(Option<String>),
    Exit,
    Other(String),
}

fn tail(s: &str, keyword: &str) -> Option<String> {
    s.strip_prefix(keyword)
        .and_then(|r| r.strip_prefix(','))
        .map(str::to_string)
}

/// Reads one control message (without its NUL).
pub fn parse_control_message(s: &str) -> ControlMessage {
    if let Some(rest) = s.strip_prefix("PUSH_REPLY") {
        let options: Vec<String> = rest
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        let more = options.iter().any(|o| o == "push-continuation 2");
        let options = options
            .into_iter()
            .filter(|o| !o.starts_with("push-continuation"))
            .collect();
        return ControlMessage::PushReply { options, more };
    }
    if s == "AUTH_FAILED" || s.starts_with("AUTH_FAILED,") {
        return ControlMessage::AuthFailed {
            reason: tail(s, "AUTH_FAILED"),
        };
    }
    if s == "AUTH_PENDING" || s.starts_with("AUTH_PENDING,") {
        let timeout = tail(s, "AUTH_PENDING").and_then(|t| {
            t.split(',')
                .find_map(|kv| kv.strip_prefix("timeout ")?.trim().parse().ok())
        });
        return ControlMessage::AuthPending { timeout };
    }
    if let Some(rest) = tail(s, "INFO_PRE") {
        return ControlMessage::InfoPre(rest);
    }
    if let Some(rest) = tail(s, "INFO") {
        return ControlMessage::Info(rest);
    }
    if s == "RESTART" || s.starts_with("RESTART,") {
        return ControlMessage::Restart(tail(s, "RESTART"));
    }
    if s == "HALT" || s.starts_with("HALT,") {
        return ControlMessage::Halt(tail(s, "HALT"));
    }
    if s == "EXIT" {
        return ControlMessage::Exit;
    }
    ControlMessage::Other(s.to_string())
}

/// Takes every complete (NUL-terminated) message off the front of `buf`, as OpenVPN reads
/// them: CR and LF stripped, messages with other non-printable bytes dropped.
pub fn take_messages(buf: &mut Vec<u8>) -> Vec<String> {
    let mut out = Vec::new();
    let mut consumed = 0;
    while let Some(end) = buf[consumed..].iter().position(|&b| b == 0) {
        let raw = &buf[consumed..consumed + end];
        consumed += end + 1;
        let cleaned: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        if cleaned.is_empty() || cleaned.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            continue;
        }
        out.push(String::from_utf8_lossy(&cleaned).into_owned());
    }
    buf.drain(..consumed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_message_layout() {
        let hello = ClientHello {
            proto: "UDPv4",
            user: Some(Zeroizing::new("monitor".into())),
            password: Some(Zeroizing::new("pw".into())),
            data: DataSettings::default(),
            tls_auth: None,
        };
        let m = client_key_method_2(&hello, &[7u8; 112]);
        assert_eq!(&m[..5], &[0, 0, 0, 0, 2]);
        assert_eq!(&m[5..117], &[7u8; 112][..]);
        let mut at = 117;
        let options = take_string(&m, &mut at).unwrap();
        assert!(options.starts_with("V4,dev-type tun"), "{options}");
        assert!(options.contains("proto UDPv4"));
        assert_eq!(take_string(&m, &mut at).unwrap(), "monitor");
        assert_eq!(take_string(&m, &mut at).unwrap(), "pw");
        let info = take_string(&m, &mut at).unwrap();
        assert!(info.contains("IV_PROTO=478\n"), "{info}");
        assert!(
            info.contains("IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n"),
            "{info}"
        );
        assert!(!info.contains("STUB"), "{info}");
        assert!(info.contains("IV_GUI_VER=check_openvpn_"), "{info}");
        assert_eq!(at, m.len());
        // Without credentials both fields are empty strings: 00 00.
        let anon = ClientHello {
            user: None,
            password: None,
            ..hello
        };
        let m = client_key_method_2(&anon, &[0u8; 112]);
        let mut at = 117;
        take_string(&m, &mut at).unwrap();
        assert_eq!(&m[at..at + 4], &[0, 0, 0, 0]);
    }

    /// Every options string the real 2.6 client sent for a config (tests/data/
    /// options-strings.txt, from scripts/gen-options-strings), rebuilt from the same config
    /// as the check reads it.
    #[test]
    fn options_strings_of_the_real_client() {
        use crate::config::{ClientConfig, ConfigWrap};
        use crate::keys::static_keys::KeyDirection;
        let vectors = include_str!("../../tests/data/options-strings.txt");
        let mut checked = 0;
        for line in vectors.lines().filter(|l| !l.starts_with('#')) {
            let (directives, expected) = line.split_once(" | ").unwrap();
            // `auth none` has no Digest: the check sends its AEAD ciphers' `[null-digest]`
            // only for them.
            if directives.contains("auth none") || expected.starts_with('(') {
                continue;
            }
            let text = directives.replace(';', "\n");
            let cfg =
                ClientConfig::parse(&text, "client.ovpn", std::path::Path::new("/k")).unwrap();
            let tcp = cfg
                .proto
                .as_ref()
                .is_some_and(|p| p.proto == crate::net::Proto::Tcp);
            let hello = ClientHello {
                proto: if tcp { "TCPv6_CLIENT" } else { "UDPv6" },
                user: None,
                password: None,
                data: DataSettings {
                    cipher: cfg.cipher.clone(),
                    data_ciphers: cfg.data_ciphers.clone(),
                    auth: cfg.auth.as_deref().map(|a| a.parse().unwrap()),
                    compression: cfg.compression,
                    tun_mtu: cfg.tun_mtu,
                    tap: cfg.tap,
                    ..Default::default()
                },
                tls_auth: match cfg.wrap {
                    Some(ConfigWrap::TlsAuth { .. }) => Some(
                        cfg.tls_auth_direction()
                            .unwrap_or(KeyDirection::Bidirectional),
                    ),
                    _ => None,
                },
            };
            assert_eq!(options_string(&hello), expected, "{directives}");
            checked += 1;
        }
        assert!(checked >= 40, "{checked}");
    }

    #[test]
    fn server_message_and_what_follows() {
        let mut m = vec![0, 0, 0, 0, 2];
        m.extend_from_slice(&[1u8; 64]);
        push_string(&mut m, b"V4,dev-type tun,tls-server");
        push_string(&mut m, b"");
        push_string(&mut m, b"");
        push_string(&mut m, b"");
        let km2_len = m.len();
        m.extend_from_slice(b"PUSH_REPLY,ping 10\0");
        let (km2, random, used) = parse_server_key_method_2(&m).unwrap();
        assert_eq!(km2.options, "V4,dev-type tun,tls-server");
        assert_eq!(random.0[..], [1u8; 64][..]);
        assert_eq!(format!("{random:?}"), "ServerRandom(<secret>)");
        assert_eq!(used, km2_len);
        for cut in 0..km2_len {
            assert_eq!(
                parse_server_key_method_2(&m[..cut]).map(|_| ()),
                Err(Km2Error::Incomplete),
                "{cut}"
            );
        }
        assert_eq!(
            parse_server_key_method_2(&[0, 0, 0, 0, 1]).map(|_| ()),
            Err(Km2Error::Invalid)
        );
    }

    #[test]
    fn control_messages() {
        let mut buf =
            b"PUSH_REPLY,route 10.0.0.0,push-continuation 2\0AUTH_FAILED,bad\r\n\0bin\x01\0partial"
                .to_vec();
        let msgs = take_messages(&mut buf);
        assert_eq!(msgs.len(), 2);
        assert_eq!(buf, b"partial");
        assert_eq!(
            parse_control_message(&msgs[0]),
            ControlMessage::PushReply {
                options: vec!["route 10.0.0.0".into()],
                more: true
            }
        );
        assert_eq!(
            parse_control_message(&msgs[1]),
            ControlMessage::AuthFailed {
                reason: Some("bad".into())
            }
        );
        assert_eq!(
            parse_control_message("AUTH_PENDING,timeout 60"),
            ControlMessage::AuthPending { timeout: Some(60) }
        );
        assert_eq!(
            parse_control_message("AUTH_FAILED"),
            ControlMessage::AuthFailed { reason: None }
        );
        assert_eq!(parse_control_message("HALT"), ControlMessage::Halt(None));
        assert_eq!(
            parse_control_message("INFO_PRE,WEB_AUTH::https://x"),
            ControlMessage::InfoPre("WEB_AUTH::https://x".into())
        );
    }
}
