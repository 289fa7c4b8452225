//! Reads what a probe needs from an OpenVPN client config (`.ovpn`/`.conf`): the first
//! `remote`, `port`/`rport`, `proto`, `auth`, `key-direction`, and the tls-auth, tls-crypt
//! or tls-crypt-v2 key, from a file or an inline block. Everything else is ignored.

use crate::chain::NameType;
use crate::keys::static_keys::KeyDirection;
use crate::transport::{Family, Proto};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoSpec {
    pub proto: Proto,
    pub family: Option<Family>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub host: String,
    pub port: Option<u16>,
    pub proto: Option<ProtoSpec>,
}

/// Where key text comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A path, already resolved against the config file's folder.
    File(PathBuf),
    /// The text of an inline block (wiped when dropped), and a name for it in messages.
    Inline {
        text: zeroize::Zeroizing<String>,
        name: String,
    },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "File({})", p.display()),
            KeySource::Inline { name, .. } => write!(f, "Inline({name})"),
        }
    }
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            KeySource::File(p) => p.display().to_string(),
            KeySource::Inline { name, .. } => name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWrap {
    TlsAuth {
        key: KeySource,
        /// The direction argument of `tls-auth FILE DIR`, if any.
        direction: Option<KeyDirection>,
    },
    TlsCrypt(KeySource),
    TlsCryptV2(KeySource),
}

impl ConfigWrap {
    fn directive(&self) -> &'static str {
        match self {
            ConfigWrap::TlsAuth { .. } => "tls-auth",
            ConfigWrap::TlsCrypt(_) => "tls-crypt",
            ConfigWrap::TlsCryptV2(_) => "tls-crypt-v2",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    pub remotes: Vec<Remote>,
    pub port: Option<u16>,
    pub proto: Option<ProtoSpec>,
    pub auth: Option<String>,
    pub key_direction: Option<KeyDirection>,
    pub wrap: Option<ConfigWrap>,
    /// `ca FILE` or a `<ca>` block: the CA the client verifies the server with.
    pub ca: Option<KeySource>,
    /// `verify-x509-name NAME [TYPE]`.
    pub verify_x509_name: Option<(String, NameType)>,
    /// `remote-cert-tls server`.
    pub remote_cert_tls_server: bool,
    /// `cert FILE` or a `<cert>` block.
    pub cert: Option<KeySource>,
    /// `key FILE` or a `<key>` block.
    pub key: Option<KeySource>,
    /// `auth-user-pass [FILE]`: `Some(None)` when OpenVPN would prompt.
    pub auth_user_pass: Option<Option<KeySource>>,
    /// The line of a `pkcs12` directive, which the login stage cannot read.
    pub pkcs12_line: Option<usize>,
    /// `local ADDRESS`: the source address.
    pub local: Option<std::net::IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{file}, line {line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
}

/// Splits a config line into words the way OpenVPN does: white space separates, double
/// quotes group (with `\\` escapes), single quotes group literally, and `#` or `;` at the
/// start of a word begins a comment.
pub(crate) fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') | Some(';') => return Ok(out),
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => loop {
                    match chars.next() {
                        None => return Err("unterminated double quote".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => word.push(e),
                            None => return Err("backslash at end of line".into()),
                        },
                        Some(x) => word.push(x),
                    }
                },
                '\'' => loop {
                    match chars.next() {
                        None => return Err("unterminated single quote".into()),
                        Some('\'') => break,
                        Some(x) => word.push(x),
                    }
                },
                '\\' => match chars.next() {
                    Some(e) => word.push(e),
                    None => return Err("backslash at end of line".into()),
                },
                _ => word.push(c),
            }
        }
        out.push(word);
    }
}

/// The text of an inline block `<name>` after its opening line, up to its `</name>` line
/// (wiped when dropped); `None` when the block is never closed.
pub(crate) fn inline_body<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    name: &str,
) -> Option<zeroize::Zeroizing<String>> {
    let close = format!("</{name}>");
    let mut body = zeroize::Zeroizing::new(String::new());
    for (_, l) in lines {
        if l.trim() == close {
            return Some(body);
        }
        body.push_str(l);
        body.push('\n');
    }
    None
}

fn parse_proto(word: &str) -> Result<ProtoSpec, String> {
    let (proto, family) = match word.to_ascii_lowercase().as_str() {
        "udp" => (Proto::Udp, None),
        "udp4" => (Proto::Udp, Some(Family::V4)),
        "udp6" => (Proto::Udp, Some(Family::V6)),
        "tcp" | "tcp-client" => (Proto::Tcp, None),
        "tcp4" | "tcp4-client" => (Proto::Tcp, Some(Family::V4)),
        "tcp6" | "tcp6-client" => (Proto::Tcp, Some(Family::V6)),
        "tcp-server" | "tcp4-server" | "tcp6-server" => {
            return Err(format!(
                "'proto {word}' is a server's setting; point --config at a client config"
            ))
        }
        _ => return Err(format!("unknown protocol '{word}' (udp, udp4, udp6, tcp, tcp-client, tcp4-client, tcp6-client)")),
    };
    Ok(ProtoSpec { proto, family })
}

pub(crate) fn parse_port(word: &str) -> Result<u16, String> {
    match word.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("'{word}' is not a port number (1-65535)")),
    }
}

const KEY_BLOCKS: [&str; 3] = ["tls-auth", "tls-crypt", "tls-crypt-v2"];

impl ClientConfig {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        // Inline blocks make a config a key file too.
        let text =
            crate::keys::static_keys::read_secret_text(path).map_err(|e| ConfigError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// `file` names the config in messages; relative key paths resolve against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ConfigError> {
        let mut cfg = ClientConfig::default();
        let mut inline: Vec<(String, zeroize::Zeroizing<String>, usize)> = Vec::new();
        // (directive, key file or "[inline]", direction, line)
        let mut key_directives: Vec<(String, String, Option<KeyDirection>, usize)> = Vec::new();
        let mut lines = text.lines().enumerate();
        let mut in_connection: Option<Connection> = None;
        let err = |line: usize, message: String| ConfigError::Line {
            file: file.to_string(),
            line,
            message,
        };

        while let Some((index, raw)) = lines.next() {
            let line_no = index + 1;
            let trimmed = raw.trim();
            // Inline blocks: <name> ... </name>.
            if let Some(name) = trimmed.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
                if let Some(closing) = name.strip_prefix('/') {
                    if closing == "connection" {
                        if let Some(block) = in_connection.take() {
                            block.apply(&mut cfg.remotes);
                            continue;
                        }
                    }
                    return Err(err(
                        line_no,
                        format!("'</{closing}>' without '<{closing}>'"),
                    ));
                }
                if name == "connection" {
                    if in_connection.is_some() {
                        return Err(err(line_no, "'<connection>' inside '<connection>'".into()));
                    }
                    in_connection = Some(Connection {
                        first: cfg.remotes.len(),
                        ..Connection::default()
                    });
                    continue;
                }
                let close = format!("</{name}>");
                let mut body = zeroize::Zeroizing::new(String::new());
                let mut closed = false;
                for (_, l) in lines.by_ref() {
                    if l.trim() == close {
                        closed = true;
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                if !closed {
                    return Err(err(
                        line_no,
                        format!("'<{name}>' is never closed by '{close}'"),
                    ));
                }
                if KEY_BLOCKS.contains(&name) {
                    inline.push((name.to_string(), body, line_no));
                } else if name == "auth-user-pass" {
                    cfg.auth_user_pass = Some(Some(KeySource::Inline {
                        text: body,
                        name: format!("{file} <auth-user-pass> block"),
                    }));
                } else if matches!(name, "ca" | "cert" | "key") {
                    let source = KeySource::Inline {
                        text: body,
                        name: format!("{file} <{name}> block"),
                    };
                    match name {
                        "ca" => cfg.ca = Some(source),
                        "cert" => cfg.cert = Some(source),
                        _ => cfg.key = Some(source),
                    }
                }
                continue;
            }
            let w = words(raw).map_err(|m| err(line_no, m))?;
            let Some(directive) = w.first() else { continue };
            let directive = directive.trim_start_matches("--");
            let arg = |i: usize| -> Result<&str, ConfigError> {
                w.get(i)
                    .map(String::as_str)
                    .ok_or_else(|| err(line_no, format!("'{directive}' needs an argument")))
            };
            match directive {
                "remote" => {
                    let host = arg(1)?.to_string();
                    let port = w.get(2).map(|p| parse_port(p)).transpose();
                    let proto = w.get(3).map(|p| parse_proto(p)).transpose();
                    cfg.remotes.push(Remote {
                        host,
                        port: port.map_err(|m| err(line_no, m))?,
                        proto: proto.map_err(|m| err(line_no, m))?,
                    });
                }
                // Inside <connection>, port and proto belong to that block's remotes.
                "port" | "rport" => {
                    let p = Some(parse_port(arg(1)?).map_err(|m| err(line_no, m))?);
                    match &mut in_connection {
                        Some(block) => block.port = p,
                        None => cfg.port = p,
                    }
                }
                "proto" => {
                    let p = Some(parse_proto(arg(1)?).map_err(|m| err(line_no, m))?);
                    match &mut in_connection {
                        Some(block) => block.proto = p,
                        None => cfg.proto = p,
                    }
                }
                "auth" => cfg.auth = Some(arg(1)?.to_string()),
                "key-direction" => {
                    cfg.key_direction = Some(match arg(1)? {
                        "0" => KeyDirection::Zero,
                        "1" => KeyDirection::One,
                        other => {
                            return Err(err(
                                line_no,
                                format!("key-direction '{other}' is not 0 or 1"),
                            ))
                        }
                    })
                }
                "tls-auth" | "tls-crypt" | "tls-crypt-v2" => {
                    let direction = match (directive, w.get(2).map(String::as_str)) {
                        ("tls-auth", Some("0")) => Some(KeyDirection::Zero),
                        ("tls-auth", Some("1")) => Some(KeyDirection::One),
                        ("tls-auth", Some(other)) => {
                            return Err(err(
                                line_no,
                                format!("tls-auth direction '{other}' is not 0 or 1"),
                            ))
                        }
                        _ => None,
                    };
                    key_directives.push((directive.to_string(), arg(1)?.to_string(), direction, line_no));
                }
                "ca" => {
                    let f = arg(1)?;
                    // `ca [inline]` names the <ca> block, read wherever it stands.
                    if f != "[inline]" {
                        cfg.ca = Some(KeySource::File(base.join(f)));
                    }
                }
                "cert" | "key" => {
                    let f = arg(1)?;
                    if f != "[inline]" {
                        let source = Some(KeySource::File(base.join(f)));
                        if directive == "cert" {
                            cfg.cert = source;
                        } else {
                            cfg.key = source;
                        }
                    }
                }
                "auth-user-pass" => {
                    cfg.auth_user_pass = Some(
                        w.get(1)
                            .filter(|f| f.as_str() != "[inline]")
                            .map(|f| KeySource::File(base.join(f))),
                    );
                }
                "pkcs12" => cfg.pkcs12_line = Some(line_no),
                "local" => {
                    let a = arg(1)?;
                    cfg.local = Some(a.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
                        err(line_no, format!("'local {a}': check_openvpn takes an IP address here, not a name"))
                    })?);
                }
                "verify-x509-name" => {
                    let name = arg(1)?.to_string();
                    let kind = match w.get(2) {
                        None => NameType::Subject,
                        Some(t) => t.parse().map_err(|m| err(line_no, m))?,
                    };
                    cfg.verify_x509_name = Some((name, kind));
                }
                "remote-cert-tls" => match arg(1)? {
                    "server" => cfg.remote_cert_tls_server = true,
                    other => {
                        return Err(err(
                            line_no,
                            format!("'remote-cert-tls {other}': a client config checks its server with 'remote-cert-tls server'"),
                        ))
                    }
                },
                "http-proxy" | "socks-proxy" => {
                    return Err(err(
                        line_no,
                        format!("'{directive}': this client reaches its server through a proxy, which check_openvpn cannot do; check the server directly with -H and -p"),
                    ))
                }
                _ => {}
            }
        }
        if in_connection.is_some() {
            return Err(err(
                text.lines().count(),
                "'<connection>' is never closed".into(),
            ));
        }

        // An inline key block is itself the option, with or without an "[inline]" directive.
        let mut wraps: Vec<(ConfigWrap, usize)> = Vec::new();
        for (directive, file_arg, direction, line) in key_directives {
            let key = if file_arg == "[inline]" {
                let Some((_, text, _)) = inline.iter().find(|(n, _, _)| *n == directive) else {
                    return Err(err(
                        line,
                        format!("'{directive} [inline]' but no <{directive}> block"),
                    ));
                };
                KeySource::Inline {
                    text: text.clone(),
                    name: format!("{file} <{directive}> block"),
                }
            } else {
                KeySource::File(base.join(file_arg))
            };
            wraps.push((make_wrap(&directive, key, direction), line));
        }
        for (name, text, line) in &inline {
            if wraps.iter().any(|(w, _)| w.directive() == name) {
                continue;
            }
            let key = KeySource::Inline {
                text: text.clone(),
                name: format!("{file} <{name}> block"),
            };
            wraps.push((make_wrap(name, key, None), *line));
        }
        if let Some((second, line)) = wraps.get(1) {
            return Err(err(
                *line,
                format!(
                    "both {} and {}: a client uses one of them; keep the one its server uses",
                    wraps[0].0.directive(),
                    second.directive()
                ),
            ));
        }
        cfg.wrap = wraps.pop().map(|(w, _)| w);
        Ok(cfg)
    }
}

/// The settings of one `<connection>` block, applied to its remotes when it closes
/// (OpenVPN applies them wherever they stand in the block).
#[derive(Default)]
struct Connection {
    /// Index of the block's first remote.
    first: usize,
    port: Option<u16>,
    proto: Option<ProtoSpec>,
}

impl Connection {
    fn apply(self, remotes: &mut [Remote]) {
        for r in &mut remotes[self.first..] {
            if r.port.is_none() {
                r.port = self.port;
            }
            if r.proto.is_none() {
                r.proto = self.proto.clone();
            }
        }
    }
}

impl ClientConfig {
    /// The key direction OpenVPN would use with this config's tls-auth key: the
    /// `tls-auth FILE DIR` argument, else `key-direction`, else both ways (bidirectional).
    /// Without a tls-auth line, only an explicit `key-direction`.
    pub fn tls_auth_direction(&self) -> Option<KeyDirection> {
        match &self.wrap {
            Some(ConfigWrap::TlsAuth { direction, .. }) => Some(
                direction
                    .or(self.key_direction)
                    .unwrap_or(KeyDirection::Bidirectional),
            ),
            _ => self.key_direction,
        }
    }
}

fn make_wrap(directive: &str, key: KeySource, direction: Option<KeyDirection>) -> ConfigWrap {
    match directive {
        "tls-auth" => ConfigWrap::TlsAuth { key, direction },
        "tls-crypt" => ConfigWrap::TlsCrypt(key),
        _ => ConfigWrap::TlsCryptV2(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClientConfig, ConfigError> {
        ClientConfig::parse(text, "client.ovpn", Path::new("/etc/openvpn"))
    }

    #[test]
    fn words_like_openvpn() {
        assert_eq!(
            words("remote a 1194 udp").unwrap(),
            ["remote", "a", "1194", "udp"]
        );
        assert_eq!(words("  # comment").unwrap(), Vec::<String>::new());
        assert_eq!(words("; comment").unwrap(), Vec::<String>::new());
        assert_eq!(words("remote a # primary").unwrap(), ["remote", "a"]);
        assert_eq!(
            words(r#"tls-auth "my keys/ta.key" 1"#).unwrap(),
            ["tls-auth", "my keys/ta.key", "1"]
        );
        assert_eq!(
            words(r"tls-auth my\ ta.key").unwrap(),
            ["tls-auth", "my ta.key"]
        );
        assert_eq!(words("a 'x \\ y'").unwrap(), ["a", "x \\ y"]);
        assert!(words("a \"open").is_err());
    }

    #[test]
    fn typical_client_config() {
        let cfg = parse(
            "client\ndev tun\nproto udp\nremote vpn1.example.org 1194\nremote vpn2.example.org 443 tcp\n\
             resolv-retry infinite\nauth SHA512\ntls-auth ta.key 1\ncipher AES-256-GCM\n",
        )
        .unwrap();
        assert_eq!(cfg.remotes.len(), 2);
        assert_eq!(cfg.remotes[0].host, "vpn1.example.org");
        assert_eq!(cfg.remotes[0].port, Some(1194));
        assert_eq!(cfg.remotes[1].proto.as_ref().unwrap().proto, Proto::Tcp);
        assert_eq!(cfg.proto.unwrap().proto, Proto::Udp);
        assert_eq!(cfg.auth.as_deref(), Some("SHA512"));
        assert_eq!(
            cfg.wrap,
            Some(ConfigWrap::TlsAuth {
                key: KeySource::File(PathBuf::from("/etc/openvpn/ta.key")),
                direction: Some(KeyDirection::One)
            })
        );
    }

    #[test]
    fn tls_auth_direction_like_openvpn() {
        let d = |text: &str| parse(text).unwrap().tls_auth_direction();
        assert_eq!(
            d("tls-auth ta.key 0\nkey-direction 1\n"),
            Some(KeyDirection::Zero)
        );
        assert_eq!(
            d("tls-auth ta.key\nkey-direction 1\n"),
            Some(KeyDirection::One)
        );
        assert_eq!(d("tls-auth ta.key\n"), Some(KeyDirection::Bidirectional));
        assert_eq!(d("key-direction 0\n"), Some(KeyDirection::Zero));
        assert_eq!(d("tls-crypt tc.key\n"), None);
    }

    #[test]
    fn inline_blocks() {
        let cfg = parse(
            "remote h\nkey-direction 1\n<ca>\nxx\n</ca>\n<tls-auth>\nKEY TEXT\n</tls-auth>\n",
        )
        .unwrap();
        assert_eq!(cfg.key_direction, Some(KeyDirection::One));
        match cfg.wrap {
            Some(ConfigWrap::TlsAuth {
                key: KeySource::Inline { text, name },
                direction: None,
            }) => {
                assert_eq!(text.as_str(), "KEY TEXT\n");
                assert!(name.contains("<tls-auth>"));
            }
            other => panic!("{other:?}"),
        }
        let cfg = parse("remote h\ntls-crypt-v2 [inline]\n<tls-crypt-v2>\nV2\n</tls-crypt-v2>\n")
            .unwrap();
        assert!(matches!(
            cfg.wrap,
            Some(ConfigWrap::TlsCryptV2(KeySource::Inline { .. }))
        ));
        let cfg = parse("remote h\n<tls-crypt>\nC\n</tls-crypt>\n").unwrap();
        assert!(matches!(
            cfg.wrap,
            Some(ConfigWrap::TlsCrypt(KeySource::Inline { .. }))
        ));
    }

    #[test]
    fn connection_blocks_keep_their_proto_and_port() {
        let cfg = parse(
            "<connection>\nremote a 1194\nproto tcp-client\n</connection>\n<connection>\nremote b\n</connection>\n",
        )
        .unwrap();
        assert_eq!(cfg.remotes[0].proto.as_ref().unwrap().proto, Proto::Tcp);
        assert_eq!(cfg.remotes[1].proto, None);
        assert_eq!(cfg.proto, None);

        // Order inside a block does not matter; a block's port stays in the block.
        let cfg = parse(
            "<connection>\nproto tcp\nremote a\n</connection>\n<connection>\nremote b\nport 443\n</connection>\n",
        )
        .unwrap();
        assert_eq!(cfg.remotes[0].proto.as_ref().unwrap().proto, Proto::Tcp);
        assert_eq!(cfg.remotes[0].port, None);
        assert_eq!(cfg.remotes[1].port, Some(443));
        assert_eq!(cfg.port, None);
        assert!(parse("<connection>\n<connection>\n").is_err());
    }

    #[test]
    fn protocols() {
        let p = |w: &str| parse_proto(w).unwrap();
        assert_eq!(p("udp6").family, Some(Family::V6));
        assert_eq!(p("tcp4-client").proto, Proto::Tcp);
        assert_eq!(p("tcp4-client").family, Some(Family::V4));
        assert_eq!(p("TCP").proto, Proto::Tcp);
        assert!(parse_proto("tcp-server").unwrap_err().contains("server"));
        assert!(parse_proto("sctp").is_err());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("remote h\ntls-auth ta.key\ntls-crypt tc.key\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "client.ovpn, line 3: both tls-auth and tls-crypt: a client uses one of them; keep the one its server uses"
        );
        let e = parse("proto tcp-server\n").unwrap_err().to_string();
        assert!(e.starts_with("client.ovpn, line 1: "), "{e}");
        let e = parse("remote h 99999\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("99999"), "{e}");
        let e = parse("<tls-auth>\nabc\n").unwrap_err().to_string();
        assert!(e.contains("never closed"), "{e}");
        let e = parse("tls-auth [inline] 1\n").unwrap_err().to_string();
        assert!(e.contains("no <tls-auth> block"), "{e}");
        let e = parse("http-proxy p 3128\n").unwrap_err().to_string();
        assert!(e.contains("proxy"), "{e}");
        let e = parse("key-direction 2\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
