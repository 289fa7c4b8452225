//! Reads an OpenVPN client config (`.ovpn`/`.conf`) as OpenVPN's own option parser does
//! (a byte order mark skipped, its quoting and comments, inline blocks, the last occurrence
//! of a directive winning, `<connection>` blocks, `config` includes and `cd`), and keeps
//! what a check needs: remotes, port, proto, `local`, the tls-auth/tls-crypt/tls-crypt-v2
//! key, `auth`, `key-direction`, the data channel's `cipher`, `data-ciphers`, `comp-lzo`/
//! `compress` and `tun-mtu`, the CA, certificate, key, PKCS#12 bundle and password
//! sources, `extra-certs`, `auth-user-pass`, `verify-x509-name`, `remote-cert-tls` and
//! `static-challenge`; of the rest it keeps only where each directive stood (for messages),
//! and the directives that put the server out of a check's reach (a proxy, an external
//! key). Each refusal names the file, line and directive, and whether OpenVPN itself would
//! refuse it ([`OpenVpnTakes`]).

pub(crate) mod lex;
use crate::chain::NameType;
use crate::keys::static_keys::KeyDirection;
use crate::keys::KeySource;
use crate::net::{Family, Proto};
use crate::proto::data::{AllowCompression, CompressionRules};
#[cfg(test)]
use lex::words;
use lex::{lex, strip_bom, Directive, MAX_CONFIG_LEVELS};
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
    /// The `http-proxy`/`socks-proxy` of this remote's `<connection>` block: directive,
    /// file and line.
    pub proxy: Option<(String, String, usize)>,
    /// A wrap (`tls-auth`, `tls-crypt`, `tls-crypt-v2`) of this remote's own
    /// `<connection>` block that is not the config's: directive and line. The first
    /// block's own wrap is the config's.
    pub own_wrap: Option<(String, usize)>,
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
    pub fn directive(&self) -> &'static str {
        match self {
            ConfigWrap::TlsAuth { .. } => "tls-auth",
            ConfigWrap::TlsCrypt(_) => "tls-crypt",
            ConfigWrap::TlsCryptV2(_) => "tls-crypt-v2",
        }
    }
}

/// How a config's `static-challenge` wants the answer sent (`static-challenge TEXT ECHO
/// [scrv1|concat]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeFormat {
    /// `SCRV1:base64(password):base64(response)`, OpenVPN's default.
    Scrv1,
    /// The response appended to the password.
    Concat,
}

/// A config's `static-challenge`: the account wants a second factor with its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticChallenge {
    /// The prompt OpenVPN would show (e.g. "Enter OTP code").
    pub text: String,
    pub format: ChallengeFormat,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// The config's name in messages.
    pub file: String,
    pub remotes: Vec<Remote>,
    pub port: Option<u16>,
    pub proto: Option<ProtoSpec>,
    pub auth: Option<String>,
    /// The key direction: the last of `key-direction DIR` and `tls-auth FILE DIR`.
    pub key_direction: Option<KeyDirection>,
    pub wrap: Option<ConfigWrap>,
    /// `ca FILE` or a `<ca>` block: the CA the client verifies the server with.
    pub ca: Option<KeySource>,
    /// `capath DIR`: a hashed directory of CA certificates (and CRLs), as OpenSSL's
    /// lookup reads it.
    pub capath: Option<PathBuf>,
    /// `verify-x509-name NAME [TYPE]`.
    pub verify_x509_name: Option<(String, NameType)>,
    /// `remote-cert-tls server`.
    pub remote_cert_tls_server: bool,
    /// `cert FILE` or a `<cert>` block.
    pub cert: Option<KeySource>,
    /// `key FILE` or a `<key>` block.
    pub key: Option<KeySource>,
    /// `extra-certs FILE` or an `<extra-certs>` block: certificates sent after `cert`.
    pub extra_certs: Option<KeySource>,
    /// `auth-user-pass [FILE]`: `Some(None)` when OpenVPN would prompt.
    pub auth_user_pass: Option<Option<KeySource>>,
    /// `pkcs12 FILE` (DER) or a `<pkcs12>` block (base64): certificate, key and CA.
    pub pkcs12: Option<KeySource>,
    /// The line of the `pkcs12` directive or `<pkcs12>` block that counts.
    pub pkcs12_line: Option<usize>,
    /// `local ADDRESS|NAME`: the source address (a name is resolved when the check runs).
    pub local: Option<String>,
    /// `static-challenge TEXT ECHO [FORMAT]`.
    pub static_challenge: Option<StaticChallenge>,
    /// `cipher NAME`, as written.
    pub cipher: Option<String>,
    /// `data-ciphers LIST` (or its old name `ncp-ciphers`), split at `:`.
    pub data_ciphers: Option<Vec<String>>,
    /// `comp-lzo [MODE]` or `compress [ALGORITHM]`: how the data channel frames packets.
    pub compression: Option<crate::proto::data::Compression>,
    /// `tun-mtu N`.
    pub tun_mtu: Option<u16>,
    /// The TLS rules (`tls-version-min`, `tls-cipher`, `remote-cert-eku`, ...), read in
    /// order as OpenVPN reads them.
    pub tls_rules: crate::client_rules::ClientRules,
    /// `allow-compression no|asym|yes`: the last one.
    pub allow_compression: Option<crate::proto::data::AllowCompression>,
    /// `allow-compression`, `comp-lzo` and `compress` in the order OpenVPN reads them:
    /// name, argument and line, for what a pushed compression meets.
    pub compression_lines: Vec<(String, Option<String>, usize)>,
    /// `dev tapN`/`dev tunN` or `dev-type tap|tun` (which wins, as in OpenVPN): the
    /// tunnel carries Ethernet frames. `None`: neither says (e.g. `dev null`).
    pub tap: Option<bool>,
    dev_type_set: bool,
    /// The line of the occurrence that counts, per directive (the last one, as in OpenVPN).
    pub lines: std::collections::BTreeMap<String, (String, usize)>,
    /// `http-proxy`/`socks-proxy` outside `<connection>` blocks: directive, file and line.
    pub proxy: Option<(String, String, usize)>,
    /// A key held where a check cannot reach (a token, the Windows store, a management
    /// client): directive, file and line.
    pub external_key: Option<(String, String, usize)>,
}

/// Whether OpenVPN itself would refuse what check_openvpn refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenVpnTakes {
    /// OpenVPN stops on it too: the config is broken for every client.
    No,
    /// OpenVPN reads it; check_openvpn cannot do what it asks.
    Yes,
    /// OpenVPN takes it if the OpenSSL it runs with knows the name.
    IfItsOpenSslKnows,
}

impl std::fmt::Display for OpenVpnTakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenVpnTakes::No => "OpenVPN itself refuses this too",
            OpenVpnTakes::Yes => "OpenVPN itself accepts this line",
            OpenVpnTakes::IfItsOpenSslKnows => "OpenVPN itself takes any name its OpenSSL knows",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{file}, line {line}, '{directive}': {message} ({openvpn})")]
    Line {
        file: String,
        line: usize,
        directive: String,
        message: String,
        openvpn: OpenVpnTakes,
    },
}

fn parse_proto(word: &str) -> Result<ProtoSpec, (String, OpenVpnTakes)> {
    let (proto, family) = match word.to_ascii_lowercase().as_str() {
        "udp" => (Proto::Udp, None),
        "udp4" => (Proto::Udp, Some(Family::V4)),
        "udp6" => (Proto::Udp, Some(Family::V6)),
        "tcp" | "tcp-client" => (Proto::Tcp, None),
        "tcp4" | "tcp4-client" => (Proto::Tcp, Some(Family::V4)),
        "tcp6" | "tcp6-client" => (Proto::Tcp, Some(Family::V6)),
        "tcp-server" | "tcp4-server" | "tcp6-server" => {
            return Err((
                format!("'proto {word}' is a server's setting; point --config at a client config"),
                OpenVpnTakes::Yes,
            ))
        }
        _ => return Err((
            format!("unknown protocol '{word}' (udp, udp4, udp6, tcp, tcp-client, tcp4-client, tcp6-client)"),
            OpenVpnTakes::No,
        )),
    };
    Ok(ProtoSpec { proto, family })
}

pub(crate) fn parse_port(word: &str) -> Result<u16, (String, OpenVpnTakes)> {
    match word.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err((
            format!("'{word}' is not a port number (1-65535)"),
            OpenVpnTakes::No,
        )),
    }
}

pub(crate) fn parse_direction(word: &str) -> Result<KeyDirection, (String, OpenVpnTakes)> {
    match word {
        "0" => Ok(KeyDirection::Zero),
        "1" => Ok(KeyDirection::One),
        other => Err((
            format!("key direction '{other}' is not 0 or 1"),
            OpenVpnTakes::No,
        )),
    }
}

/// One option of a config, as the lexer reads it.
type Opt = Directive;

/// A value set by a file argument or an inline block; `[inline]` refers to a block that
/// may come later.
#[derive(Clone)]
enum Val {
    Source(KeySource),
    PendingInline,
}

/// tls-auth, tls-crypt, tls-crypt-v2: each one's value and line.
type WrapSlots = [Option<(Val, usize)>; 3];
/// The key direction, and the direction of a `tls-auth FILE DIR` not overridden since.
type Directions = (Option<KeyDirection>, Option<KeyDirection>);

/// What a `<connection>` block sets for its remote.
#[derive(Default)]
struct Block {
    proxy: Option<(String, String, usize)>,
    remote: Option<Remote>,
    port: Option<u16>,
    proto: Option<ProtoSpec>,
}

/// The reading of one config, directive by directive, later ones replacing earlier ones.
struct Reader {
    /// The file being read (a `config FILE` include changes it for its lines).
    file: String,
    /// Where relative paths resolve: the config's folder, or a `cd DIR`.
    base: PathBuf,
    /// Nesting of `config FILE` includes (the config itself is 0).
    depth: u8,
    /// The file being read has Windows line ends (CRLF), which OpenVPN keeps in the text
    /// of an inline block.
    crlf: bool,
    cfg: ClientConfig,
    /// tls-auth, tls-crypt, tls-crypt-v2: the value and the line.
    wraps: [Option<(Val, usize)>; 3],
    /// The direction of the last `tls-auth FILE DIR`, while no `key-direction` followed it.
    tls_auth_direction: Option<KeyDirection>,
    /// The wrap values and key direction of the first `<connection>` block, which win for
    /// its remote.
    first_block_wrap: Option<(WrapSlots, Directions)>,
    singles: std::collections::BTreeMap<&'static str, (Val, usize)>,
}

/// OpenVPN's smallest `tun-mtu` (`TUN_MTU_MIN`).
pub const TUN_MTU_MIN: u16 = 100;

const WRAPS: [&str; 3] = ["tls-auth", "tls-crypt", "tls-crypt-v2"];
/// Directives whose argument is a file or whose inline block is the value; the last one
/// wins.
const SINGLES: [&str; 6] = [
    "ca",
    "cert",
    "key",
    "extra-certs",
    "pkcs12",
    "auth-user-pass",
];

impl Reader {
    fn err(
        &self,
        line: usize,
        directive: &str,
        (message, openvpn): (String, OpenVpnTakes),
    ) -> ConfigError {
        ConfigError::Line {
            file: self.file.clone(),
            line,
            directive: directive.to_string(),
            message,
            openvpn,
        }
    }

    /// The directives of `lines` (the first is line `first`), in this reader's errors.
    fn options(&self, lines: &[&str], first: usize) -> Result<Vec<Opt>, ConfigError> {
        lex(lines, first).map_err(|e| self.err(e.line, &e.directive, (e.message, OpenVpnTakes::No)))
    }

    fn inline_source(&self, directive: &str, text: &zeroize::Zeroizing<String>) -> KeySource {
        KeySource::Inline {
            text: text.clone(),
            name: format!("{} <{directive}> block", self.file),
        }
    }

    /// The value of a file-or-inline directive.
    fn value(&self, directive: &str, opt: &Opt) -> Result<Val, ConfigError> {
        if let Some(text) = &opt.inline {
            return Ok(Val::Source(self.inline_source(directive, text)));
        }
        match opt.words.get(1).map(String::as_str) {
            None => Err(self.err(
                opt.line,
                directive,
                (
                    format!("'{directive}' needs a file name or an inline <{directive}> block"),
                    OpenVpnTakes::No,
                ),
            )),
            Some("[inline]") => Ok(Val::PendingInline),
            Some(f) => Ok(Val::Source(KeySource::File(self.base.join(f)))),
        }
    }

    /// A later occurrence replaces an earlier one; `[inline]` keeps a block already read.
    fn set(slot: &mut Option<(Val, usize)>, value: Val, line: usize) {
        match (&value, &slot) {
            (Val::PendingInline, Some((Val::Source(KeySource::Inline { .. }), _))) => {}
            _ => *slot = Some((value, line)),
        }
    }

    fn apply(&mut self, opts: Vec<Opt>, mut block: Option<&mut Block>) -> Result<(), ConfigError> {
        for opt in opts {
            let line = opt.line;
            let directive = opt.words[0].clone();
            let d = directive.as_str();
            let arg = |i: usize| -> Result<&str, ConfigError> {
                opt.words.get(i).map(String::as_str).ok_or_else(|| {
                    self.err(
                        line,
                        d,
                        (format!("'{d}' needs an argument"), OpenVpnTakes::No),
                    )
                })
            };
            let is_inline = opt.inline.is_some();
            match d {
                "connection" if is_inline => {
                    if block.is_some() {
                        return Err(self.err(line, "<connection>", ("'<connection>' inside '<connection>'".into(), OpenVpnTakes::No)));
                    }
                    let body = opt.inline.clone().unwrap_or_default();
                    let lines: Vec<&str> = body.lines().collect();
                    let inner = self.options(&lines, line + 1)?;
                    // A block starts from the settings read so far (OpenVPN copies them).
                    let mut b = Block {
                        proxy: None,
                        remote: None,
                        port: self.cfg.port,
                        proto: self.cfg.proto.clone(),
                    };
                    let first = self.cfg.remotes.is_empty();
                    let saved = (self.wraps.clone(), self.key_direction_state());
                    self.apply(inner, Some(&mut b))?;
                    let Some(mut remote) = b.remote else {
                        return Err(self.err(line, "<connection>", ("a '<connection>' block needs a 'remote' line".into(), OpenVpnTakes::No)));
                    };
                    remote.port = remote.port.or(b.port);
                    remote.proto = remote.proto.or(b.proto);
                    remote.proxy = b.proxy;
                    // A wrap set inside the block is that block's own; the first block's
                    // is the one its remote (the one checked) uses.
                    let mut own: [Option<(Val, usize)>; 3] = [None, None, None];
                    for (i, slot) in own.iter_mut().enumerate() {
                        let line_now = self.wraps[i].as_ref().map(|x| x.1);
                        if line_now != saved.0[i].as_ref().map(|x| x.1) {
                            *slot = self.wraps[i].clone();
                        }
                    }
                    if first && own.iter().any(Option::is_some) {
                        self.first_block_wrap = Some((own.clone(), self.key_direction_state()));
                    }
                    if !first {
                        remote.own_wrap = WRAPS.iter().zip(&own).find_map(|(name, slot)| slot.as_ref().map(|(_, l)| (name.to_string(), *l)));
                    }
                    self.cfg.remotes.push(remote);
                    self.wraps = saved.0;
                    self.restore_key_direction(saved.1);
                }
                "remote" if !is_inline => {
                    let host = arg(1)?.to_string();
                    let port = opt.words.get(2).map(|p| parse_port(p)).transpose().map_err(|e| self.err(line, d, e))?;
                    let proto = opt.words.get(3).map(|p| parse_proto(p)).transpose().map_err(|e| self.err(line, d, e))?;
                    let r = Remote { host, port, proto, proxy: None, own_wrap: None };
                    match block.as_deref_mut() {
                        Some(b) => b.remote = Some(r),
                        None => self.cfg.remotes.push(r),
                    }
                }
                "port" | "rport" => {
                    let p = Some(parse_port(arg(1)?).map_err(|e| self.err(line, d, e))?);
                    match block.as_deref_mut() {
                        Some(b) => b.port = p,
                        None => self.cfg.port = p,
                    }
                }
                "proto" => {
                    let p = Some(parse_proto(arg(1)?).map_err(|e| self.err(line, d, e))?);
                    match block.as_deref_mut() {
                        Some(b) => b.proto = p,
                        None => self.cfg.proto = p,
                    }
                }
                "auth" => self.cfg.auth = Some(arg(1)?.to_string()),
                "cipher" => self.cfg.cipher = Some(arg(1)?.to_string()),
                "data-ciphers" | "ncp-ciphers" => {
                    self.cfg.data_ciphers = Some(arg(1)?.split(':').filter(|c| !c.is_empty()).map(str::to_string).collect());
                }
                "allow-compression" if !is_inline => {
                    let a = arg(1)?;
                    let allow = a.parse().map_err(|m| self.err(line, d, (m, OpenVpnTakes::No)))?;
                    self.cfg.allow_compression = Some(allow);
                    self.cfg.compression_lines.push((d.to_string(), Some(a.to_string()), line));
                }
                "comp-lzo" | "compress" if !is_inline => {
                    self.cfg.compression_lines.push((d.to_string(), opt.words.get(1).cloned(), line));
                    let framing = crate::proto::data::Compression::from_option(d, opt.words.get(1).map(String::as_str));
                    match framing {
                        Some(Ok(c)) => self.cfg.compression = Some(c),
                        Some(Err(unknown)) => {
                            return Err(self.err(line, d, (format!("'{}' is no compression OpenVPN knows (comp-lzo [yes|no|adaptive], compress [stub|stub-v2|lzo|lz4|lz4-v2|migrate])", unknown.0), OpenVpnTakes::No)))
                        }
                        None => {}
                    }
                }
                "dev" if !is_inline && !self.cfg.dev_type_set => {
                    let name = arg(1)?;
                    self.cfg.tap = if name.starts_with("tap") {
                        Some(true)
                    } else if name.starts_with("tun") {
                        Some(false)
                    } else {
                        self.cfg.tap
                    };
                }
                "dev-type" if !is_inline => match arg(1)? {
                    "tap" => (self.cfg.tap, self.cfg.dev_type_set) = (Some(true), true),
                    "tun" => (self.cfg.tap, self.cfg.dev_type_set) = (Some(false), true),
                    other => return Err(self.err(line, d, (format!("'{other}' is no device type OpenVPN knows (tun or tap)"), OpenVpnTakes::No))),
                },
                "tun-mtu" if !is_inline => {
                    let mtu = arg(1)?;
                    match mtu.parse::<u16>() {
                        Ok(m) if m >= TUN_MTU_MIN => self.cfg.tun_mtu = Some(m),
                        _ => return Err(self.err(line, d, (format!("'{mtu}' is not an MTU ({TUN_MTU_MIN} to 65535)"), OpenVpnTakes::No))),
                    }
                }
                "key-direction" => {
                    self.cfg.key_direction = Some(parse_direction(arg(1)?).map_err(|e| self.err(line, d, e))?);
                    self.tls_auth_direction = None;
                }
                "tls-auth" | "tls-crypt" | "tls-crypt-v2" => {
                    let value = self.value(d, &opt)?;
                    if d == "tls-auth" && !is_inline {
                        if let Some(dir) = opt.words.get(2) {
                            let dir = parse_direction(dir).map_err(|e| self.err(line, d, e))?;
                            self.cfg.key_direction = Some(dir);
                            self.tls_auth_direction = Some(dir);
                        }
                    }
                    let i = WRAPS.iter().position(|w| *w == d).unwrap_or(0);
                    Self::set(&mut self.wraps[i], value, line);
                }
                "ca" | "cert" | "key" | "extra-certs" | "pkcs12" => {
                    if d == "pkcs12" {
                        self.cfg.pkcs12_line = Some(line);
                    }
                    let value = self.value(d, &opt)?;
                    let name = SINGLES.iter().find(|s| **s == d).copied().unwrap_or("ca");
                    let mut slot = self.singles.remove(name);
                    Self::set(&mut slot, value, line);
                    if let Some(s) = slot {
                        self.singles.insert(name, s);
                    }
                }
                "auth-user-pass" => {
                    let value = match (&opt.inline, opt.words.get(1).map(String::as_str)) {
                        (Some(_), _) => self.value(d, &opt)?,
                        // No file, or only the user name from a file: OpenVPN prompts.
                        (None, None | Some("username-only")) => Val::PendingInline,
                        (None, Some(_)) => self.value(d, &opt)?,
                    };
                    let prompt = opt.inline.is_none() && matches!(opt.words.get(1).map(String::as_str), None | Some("username-only"));
                    if prompt {
                        self.singles.insert("auth-user-pass", (Val::PendingInline, 0));
                    } else {
                        let mut slot = self.singles.remove("auth-user-pass");
                        Self::set(&mut slot, value, line);
                        if let Some(s) = slot {
                            self.singles.insert("auth-user-pass", s);
                        }
                    }
                }
                "cd" if !is_inline => self.base = self.base.join(arg(1)?),
                "config" if !is_inline => {
                    let path = self.base.join(arg(1)?);
                    if usize::from(self.depth) + 1 >= MAX_CONFIG_LEVELS {
                        return Err(self.err(line, d, (format!("more than {MAX_CONFIG_LEVELS} nested config files; does a config include itself?"), OpenVpnTakes::No)));
                    }
                    let text = crate::keys::static_keys::read_secret_text(&path).map_err(|e| {
                        self.err(line, d, (format!("cannot read {}: {e}", path.display()), OpenVpnTakes::No))
                    })?;
                    let text = strip_bom(&text);
                    let outer = std::mem::replace(&mut self.file, path.display().to_string());
                    let outer_crlf = std::mem::replace(&mut self.crlf, text.contains("\r\n"));
                    self.depth += 1;
                    let lines: Vec<&str> = text.lines().collect();
                    let result = self
                        .options(&lines, 1)
                        .and_then(|opts| self.apply(opts, block.as_deref_mut()));
                    self.depth -= 1;
                    self.file = outer;
                    self.crlf = outer_crlf;
                    result?;
                }
                "secret" => {
                    return Err(self.err(line, d, ("this config is for a static-key tunnel (no TLS), which has no handshake for check_openvpn to probe; it checks TLS servers (client, tls-client)".into(), OpenVpnTakes::Yes)))
                }
                "management-external-key" | "management-external-cert" | "cryptoapicert" | "pkcs11-id" | "pkcs11-id-management" => {
                    self.cfg.external_key = Some((d.to_string(), self.file.clone(), line));
                }
                "local" if !is_inline => {
                    let a = arg(1)?;
                    self.cfg.local = (a != "*").then(|| {
                        a.trim_start_matches('[').trim_end_matches(']').to_string()
                    });
                }
                "static-challenge" if !is_inline => {
                    let text = arg(1)?.to_string();
                    arg(2)?;
                    let format = match opt.words.get(3).map(String::as_str) {
                        None | Some("scrv1") => ChallengeFormat::Scrv1,
                        Some("concat") => ChallengeFormat::Concat,
                        Some(other) => {
                            return Err(self.err(line, d, (format!("unknown format '{other}' (scrv1 or concat)"), OpenVpnTakes::No)))
                        }
                    };
                    self.cfg.static_challenge = Some(StaticChallenge {
                        text,
                        format,
                        file: self.file.clone(),
                        line,
                    });
                }
                "verify-x509-name" => {
                    let name = arg(1)?.to_string();
                    let kind = match opt.words.get(2) {
                        None => NameType::Subject,
                        Some(t) => t.parse().map_err(|m| self.err(line, d, (m, OpenVpnTakes::No)))?,
                    };
                    self.cfg.verify_x509_name = Some((name, kind));
                }
                "tls-version-min" | "tls-version-max" | "tls-cipher" | "tls-ciphersuites" | "tls-groups" | "tls-cert-profile" | "remote-cert-ku" | "remote-cert-eku" if !is_inline => {
                    // remote-cert-tls sets the same key usage and EKU rules (options.c):
                    // the later line changes only its own half.
                    if self.cfg.remote_cert_tls_server && d.starts_with("remote-cert-") {
                        self.cfg.remote_cert_tls_server = false;
                        self.cfg.tls_rules.remote_cert_ku = Some(Vec::new());
                        self.cfg.tls_rules.remote_cert_eku = Some("TLS Web Server Authentication".into());
                    }
                    self.cfg.tls_rules.apply(d, &opt.words[1..]).map_err(|(m, openvpn_refuses)| {
                        let takes = if openvpn_refuses { OpenVpnTakes::No } else { OpenVpnTakes::Yes };
                        self.err(line, d, (format!("{m}; check_openvpn cannot apply this rule as OpenVPN's client does"), takes))
                    })?;
                }
                "peer-fingerprint" | "verify-hash" => {
                    let most = if d == "verify-hash" { 3 } else { 2 };
                    let (text, algorithm) = match &opt.inline {
                        Some(body) => (body.as_str(), None),
                        None => (arg(1)?, opt.words.get(2).map(String::as_str)),
                    };
                    if opt.words.len() > most {
                        return Err(self.err(line, d, (format!("'{d}' takes at most {} arguments", most - 1), OpenVpnTakes::No)));
                    }
                    // OpenVPN keeps each line's CR in the block, and a fingerprint followed
                    // by one is a format error to it (tried with 2.6.14).
                    let fingerprint_line = |l: &str| {
                        let l = l.trim_start();
                        !(l.is_empty() || l.starts_with('#') || l.starts_with(';'))
                    };
                    if is_inline && self.crlf && text.lines().any(fingerprint_line) {
                        return Err(self.err(line, &format!("<{d}>"), (format!("the file has Windows line ends (CRLF), and OpenVPN reads the CR as part of each fingerprint of a <{d}> block ('format error in hash fingerprint'); save it with LF line ends"), OpenVpnTakes::No)));
                    }
                    self.cfg.tls_rules.pin(d, text, algorithm, is_inline).map_err(|(m, _)| self.err(line, d, (m, OpenVpnTakes::No)))?;
                }
                "ns-cert-type" if !is_inline => {
                    if opt.words.len() > 2 {
                        return Err(self.err(line, d, ("'ns-cert-type' takes one argument (server or client)".into(), OpenVpnTakes::No)));
                    }
                    self.cfg.tls_rules.apply(d, &opt.words[1..]).map_err(|(m, _)| self.err(line, d, (m, OpenVpnTakes::No)))?;
                }
                "crl-verify" => {
                    let dir = match opt.words.get(2).map(String::as_str) {
                        None => false,
                        Some("dir") if !is_inline && opt.words.len() == 3 => true,
                        Some(_) => return Err(self.err(line, d, ("'crl-verify' takes a file, or a directory and 'dir'".into(), OpenVpnTakes::No))),
                    };
                    let source = match self.value(d, &opt)? {
                        Val::Source(s) => s,
                        Val::PendingInline => return Err(self.err(line, d, ("'crl-verify [inline]' is read as a file named '[inline]'; write the CRL in a <crl-verify> block".into(), OpenVpnTakes::No))),
                    };
                    let written = if is_inline { "<crl-verify> block".to_string() } else { format!("crl-verify {}", opt.words[1..].join(" ")) };
                    self.cfg.tls_rules.crl_verify = Some(crate::client_rules::CrlRule { source, dir, line: written });
                }
                "capath" if !is_inline => {
                    if opt.words.len() > 2 {
                        return Err(self.err(line, d, ("'capath' takes one directory".into(), OpenVpnTakes::No)));
                    }
                    self.cfg.capath = Some(self.base.join(arg(1)?));
                }
                "tls-verify" => {
                    return Err(self.err(line, d, (format!("check_openvpn cannot apply '{d}' to the server's certificate as OpenVPN's client does, and will not ignore it"), OpenVpnTakes::Yes)))
                }
                "remote-cert-tls" => match arg(1)? {
                    "server" => {
                        self.cfg.remote_cert_tls_server = true;
                        self.cfg.tls_rules.remote_cert_ku = None;
                        self.cfg.tls_rules.remote_cert_eku = None;
                    }
                    other => {
                        return Err(self.err(line, d, (format!("'remote-cert-tls {other}' is a server's setting; a client config checks its server with 'remote-cert-tls server'"), OpenVpnTakes::Yes)))
                    }
                },
                // A proxy: the config's, or a <connection> block's for its remote.
                "http-proxy" | "socks-proxy" if !is_inline => {
                    let at = Some((d.to_string(), self.file.clone(), line));
                    match block.as_deref_mut() {
                        Some(b) => b.proxy = at,
                        None => self.cfg.proxy = at,
                    }
                }
                _ => {}
            }
            self.cfg.lines.insert(directive, (self.file.clone(), line));
        }
        Ok(())
    }

    fn key_direction_state(&self) -> (Option<KeyDirection>, Option<KeyDirection>) {
        (self.cfg.key_direction, self.tls_auth_direction)
    }

    fn restore_key_direction(&mut self, (kd, ta): (Option<KeyDirection>, Option<KeyDirection>)) {
        self.cfg.key_direction = kd;
        self.tls_auth_direction = ta;
    }

    fn resolve(&self, directive: &str, val: Val, line: usize) -> Result<KeySource, ConfigError> {
        match val {
            Val::Source(s) => Ok(s),
            Val::PendingInline => Err(self.err(line, directive, (format!("'{directive} [inline]' but no <{directive}> block: OpenVPN would look for a file named '[inline]'"), OpenVpnTakes::No))),
        }
    }
}

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
    /// Reads as OpenVPN does: a UTF-8 byte order mark skipped, CRLF or LF, and for every
    /// directive the last occurrence wins, a file argument or an inline block alike.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ConfigError> {
        let text = strip_bom(text);
        let lines: Vec<&str> = text.lines().collect();
        let mut r = Reader {
            file: file.to_string(),
            base: base.to_path_buf(),
            depth: 0,
            crlf: text.contains("\r\n"),
            cfg: ClientConfig {
                file: file.to_string(),
                ..ClientConfig::default()
            },
            wraps: [None, None, None],
            tls_auth_direction: None,
            first_block_wrap: None,
            singles: Default::default(),
        };
        let opts = r.options(&lines, 1)?;
        r.apply(opts, None)?;
        if let Err((line, directive, message)) = compression_rules(&r.cfg.compression_lines) {
            return Err(r.err(line, &directive, (message, OpenVpnTakes::No)));
        }

        // The first <connection> block's own wrap wins for the remote that is checked.
        if let Some((own, directions)) = r.first_block_wrap.take() {
            r.wraps = own;
            r.restore_key_direction(directions);
        }

        let singles = std::mem::take(&mut r.singles);
        for (name, (val, line)) in singles {
            if name == "auth-user-pass" {
                r.cfg.auth_user_pass = Some(match val {
                    Val::Source(s) => Some(s),
                    Val::PendingInline => None,
                });
                continue;
            }
            let source = Some(r.resolve(name, val, line)?);
            match name {
                "ca" => r.cfg.ca = source,
                "cert" => r.cfg.cert = source,
                "key" => r.cfg.key = source,
                "pkcs12" => r.cfg.pkcs12 = source,
                _ => r.cfg.extra_certs = source,
            }
        }

        // verify-hash pins the CA that issued the server's certificate: OpenVPN wants a
        // CA to find it by.
        if r.cfg
            .tls_rules
            .pins
            .as_ref()
            .is_some_and(|p| p.depth() == 1)
            && r.cfg.ca.is_none()
            && r.cfg.capath.is_none()
            && r.cfg.pkcs12.is_none()
        {
            let (file, line) = r.cfg.at("verify-hash").unwrap_or_default();
            r.file = file;
            return Err(r.err(line, "verify-hash", ("verify-hash pins the CA certificate that issued the server's, and needs 'ca' to find it (peer-fingerprint pins the server's own)".into(), OpenVpnTakes::No)));
        }

        let wraps = std::mem::take(&mut r.wraps);
        let mut set: Vec<(&str, KeySource, usize)> = Vec::new();
        for (name, slot) in WRAPS.iter().zip(wraps) {
            if let Some((val, line)) = slot {
                set.push((name, r.resolve(name, val, line)?, line));
            }
        }
        set.sort_by_key(|s| s.2);
        if let [(first, ..), (second, _, line), ..] = set.as_slice() {
            return Err(r.err(
                *line,
                second,
                (format!("both {first} and {second}: a client uses one of them; keep the one its server uses"), OpenVpnTakes::No),
            ));
        }
        r.cfg.wrap = set
            .pop()
            .map(|(name, key, _)| make_wrap(name, key, r.tls_auth_direction));
        Ok(r.cfg)
    }

    /// The line of the occurrence of `directive` that counts.
    pub fn line_of(&self, directive: &str) -> Option<usize> {
        self.at(directive).map(|(_, line)| line)
    }

    /// The file and line of the occurrence of `directive` that counts.
    pub fn at(&self, directive: &str) -> Option<(String, usize)> {
        self.lines.get(directive).cloned()
    }
}

impl ClientConfig {
    /// The proxy a remote is reached through: its `<connection>` block's, else the
    /// config's.
    pub fn proxy_of(&self, remote: &Remote) -> Option<(String, String, usize)> {
        remote.proxy.clone().or_else(|| self.proxy.clone())
    }

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

/// What a 2.6 client accepts of a pushed compression after these `allow-compression`,
/// `comp-lzo` and `compress` lines (name, argument, line), read in order and settled as
/// OpenVPN settles them; the error is the line OpenVPN refuses (its line, directive and
/// why).
pub fn compression_rules(
    lines: &[(String, Option<String>, usize)],
) -> Result<CompressionRules, (usize, String, String)> {
    let mut rules = CompressionRules::default();
    let mut last_no = None;
    for (name, arg, line) in lines {
        if name == "allow-compression" {
            let allow = arg
                .as_deref()
                .unwrap_or_default()
                .parse()
                .map_err(|m| (*line, name.clone(), m))?;
            rules.allow(allow).map_err(|m| (*line, name.clone(), m))?;
            if allow == AllowCompression::No {
                last_no = Some(*line);
            }
        } else {
            rules.apply(name, arg.as_deref());
        }
    }
    let rules = rules.settled();
    if rules.refused() {
        if let Some(line) = last_no {
            let (name, arg, _) = lines
                .iter()
                .rev()
                .find(|l| l.0 != "allow-compression")
                .cloned()
                .unwrap_or_default();
            let what = format!("{name} {}", arg.unwrap_or_default());
            return Err((
                line,
                "allow-compression".into(),
                format!(
                    "'allow-compression no' with '{}', which compresses",
                    what.trim()
                ),
            ));
        }
    }
    Ok(rules)
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
            Some(KeyDirection::One)
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
        assert!(parse_proto("tcp-server").unwrap_err().0.contains("server"));
        assert!(parse_proto("sctp").is_err());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("remote h\ntls-auth ta.key\ntls-crypt tc.key\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "client.ovpn, line 3, 'tls-crypt': both tls-auth and tls-crypt: a client uses one of them; keep the one its server uses (OpenVPN itself refuses this too)"
        );
        let e = parse("proto tcp-server\n").unwrap_err().to_string();
        assert!(e.starts_with("client.ovpn, line 1, 'proto': "), "{e}");
        let e = parse("remote h 99999\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("99999"), "{e}");
        let e = parse("<tls-auth>\nabc\n").unwrap_err().to_string();
        assert!(e.contains("never closed"), "{e}");
        let e = parse("tls-auth [inline] 1\n").unwrap_err().to_string();
        assert!(e.contains("no <tls-auth> block"), "{e}");
        let e = parse("key-direction 2\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn allow_compression_read_in_order_as_openvpn_does() {
        let cfg = parse("remote h\nallow-compression asym\ncompress lz4-v2\n").unwrap();
        assert_eq!(cfg.allow_compression, Some(AllowCompression::Asym));
        assert!(!compression_rules(&cfg.compression_lines)
            .unwrap()
            .stub_only());
        let cfg = parse("remote h\ncomp-lzo no\n").unwrap();
        assert!(compression_rules(&cfg.compression_lines)
            .unwrap()
            .stub_only());
        let e = parse("remote h\nallow-compression no\nallow-compression yes\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, 'allow-compression'") && e.contains("refuses this too"),
            "{e}"
        );
        let e = parse("remote h\ncompress lz4\nallow-compression no\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("conflicts"), "{e}");
        let e = parse("remote h\nallow-compression no\ncomp-lzo yes\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("comp-lzo yes"), "{e}");
        let e = parse("allow-compression maybe\n").unwrap_err().to_string();
        assert!(e.contains("'maybe'"), "{e}");
    }

    #[test]
    fn remote_cert_lines_share_their_halves_as_in_openvpn() {
        let cfg = parse(
            "remote h\nremote-cert-tls server\nremote-cert-eku \"TLS Web Client Authentication\"\n",
        )
        .unwrap();
        assert!(!cfg.remote_cert_tls_server);
        assert_eq!(cfg.tls_rules.remote_cert_ku, Some(Vec::new()));
        assert_eq!(
            cfg.tls_rules.remote_cert_eku.as_deref(),
            Some("TLS Web Client Authentication")
        );
        let cfg = parse("remote h\nremote-cert-eku 1.2.3.4\nremote-cert-tls server\n").unwrap();
        assert!(cfg.remote_cert_tls_server);
        assert_eq!(cfg.tls_rules.remote_cert_eku, None);
        let e = parse("remote h\ntls-cipher DEFAULT\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, 'tls-cipher'") && e.contains("accepts this line"),
            "{e}"
        );
        let e = parse("remote h\ntls-version-min 2.0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("refuses this too"), "{e}");
        let e = parse("remote h\npeer-fingerprint AB:CD\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'peer-fingerprint'") && e.contains("refuses this too"),
            "{e}"
        );
        let e = parse("remote h\ntls-verify ./check.sh\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("accepts this line"),
            "{e}"
        );
    }

    #[test]
    fn certificate_rules_read_as_openvpn_reads_them() {
        let fp = "AB:".repeat(31) + "CD";
        let sha1 = "01:".repeat(19) + "02";
        let cfg = parse(&format!("remote h\n<peer-fingerprint>\n{fp}\n{fp}\n</peer-fingerprint>\nns-cert-type server\ncrl-verify crl.pem\n")).unwrap();
        let pins = cfg.tls_rules.pins.as_ref().unwrap();
        assert_eq!((pins.directive, pins.hashes.len()), ("peer-fingerprint", 2));
        assert_eq!(
            cfg.tls_rules.ns_cert_type,
            Some(crate::client_rules::NsCertType::Server)
        );
        let crl = cfg.tls_rules.crl_verify.as_ref().unwrap();
        assert!(!crl.dir && crl.source == KeySource::File(PathBuf::from("/etc/openvpn/crl.pem")));
        // A CRLF file: a fingerprint line ends in CR, which OpenVPN refuses in a block
        // (not on a line of its own, where the CR is white space).
        let crlf = format!("remote h\r\n<peer-fingerprint>\r\n{fp}\r\n</peer-fingerprint>\r\n");
        let e = parse(&crlf).unwrap_err().to_string();
        assert!(e.contains("CRLF") && e.contains("refuses this too"), "{e}");
        assert!(parse(&format!("remote h\r\npeer-fingerprint {fp}\r\n")).is_ok());
        let cfg = parse("remote h\ncrl-verify crls dir\n").unwrap();
        assert!(cfg.tls_rules.crl_verify.unwrap().dir);
        let cfg = parse("remote h\n<crl-verify>\nCRL\n</crl-verify>\n").unwrap();
        assert!(matches!(
            cfg.tls_rules.crl_verify.unwrap().source,
            KeySource::Inline { .. }
        ));
        // verify-hash needs a CA to find the issuer by; OpenVPN refuses it without one.
        assert!(parse(&format!("remote h\nca ca.crt\nverify-hash {sha1}\n")).is_ok());
        let cfg = parse(&format!("remote h\ncapath certs\nverify-hash {sha1}\n")).unwrap();
        assert_eq!(cfg.capath, Some(PathBuf::from("/etc/openvpn/certs")));
        // What OpenVPN refuses: exit 3 naming the line.
        for (text, line) in [
            (format!("remote h\nverify-hash {sha1}\n"), 2),
            (
                format!("remote h\nca c\nverify-hash {sha1}\npeer-fingerprint {fp}\n"),
                4,
            ),
            (format!("remote h\npeer-fingerprint {fp} SHA256\n"), 2),
            ("remote h\nns-cert-type peer\n".to_string(), 2),
            ("remote h\ncrl-verify crls directory\n".to_string(), 2),
        ] {
            let e = parse(&text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("line {line}")) && e.contains("refuses this too"),
                "{text}: {e}"
            );
        }
    }

    fn tls_auth_key(cfg: &ClientConfig) -> &KeySource {
        match &cfg.wrap {
            Some(ConfigWrap::TlsAuth { key, .. }) => key,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let cfg =
            parse("\u{feff}remote vpn.example.org 1194\r\nproto udp\r\n<ca>\r\nCA\r\n</ca>\r\n")
                .unwrap();
        assert_eq!(cfg.remotes[0].host, "vpn.example.org");
        assert_eq!(cfg.remotes[0].port, Some(1194));
        match cfg.ca {
            Some(KeySource::Inline { text, .. }) => assert_eq!(text.as_str(), "CA\n"),
            other => panic!("{other:?}"),
        }
        // A BOM before an inline block on the first line.
        let cfg = parse("\u{feff}<ca>\nCA\n</ca>\nremote h\n").unwrap();
        assert!(matches!(cfg.ca, Some(KeySource::Inline { .. })));
    }

    #[test]
    fn the_last_key_directive_wins_file_or_block() {
        // File, then block: the block.
        let cfg = parse("remote h\ntls-auth ta.key 1\n<tls-auth>\nBLOCK\n</tls-auth>\n").unwrap();
        assert!(matches!(tls_auth_key(&cfg), KeySource::Inline { .. }));
        // The direction of the file line stays (OpenVPN keeps it in key_direction).
        assert_eq!(cfg.tls_auth_direction(), Some(KeyDirection::One));
        // Block, then file: the file.
        let cfg = parse("remote h\n<tls-auth>\nBLOCK\n</tls-auth>\ntls-auth ta.key 0\n").unwrap();
        assert_eq!(
            tls_auth_key(&cfg),
            &KeySource::File(PathBuf::from("/etc/openvpn/ta.key"))
        );
        assert_eq!(cfg.tls_auth_direction(), Some(KeyDirection::Zero));
        // Two files: the second.
        let cfg = parse("tls-crypt a.key\ntls-crypt b.key\n").unwrap();
        assert_eq!(
            cfg.wrap,
            Some(ConfigWrap::TlsCrypt(KeySource::File(PathBuf::from(
                "/etc/openvpn/b.key"
            ))))
        );
        // Every certificate and key directive alike.
        for d in ["ca", "cert", "key", "extra-certs"] {
            let cfg = parse(&format!("{d} first.pem\n<{d}>\nX\n</{d}>\n")).unwrap();
            let v = match d {
                "ca" => cfg.ca,
                "cert" => cfg.cert,
                "key" => cfg.key,
                _ => cfg.extra_certs,
            };
            assert!(matches!(v, Some(KeySource::Inline { .. })), "{d}");
            let cfg = parse(&format!("<{d}>\nX\n</{d}>\n{d} last.pem\n")).unwrap();
            let v = match d {
                "ca" => cfg.ca.clone(),
                "cert" => cfg.cert.clone(),
                "key" => cfg.key.clone(),
                _ => cfg.extra_certs.clone(),
            };
            assert_eq!(
                v,
                Some(KeySource::File(PathBuf::from("/etc/openvpn/last.pem"))),
                "{d}"
            );
            assert_eq!(cfg.line_of(d), Some(4), "{d}");
        }
        // `[inline]` names the block, before or after it.
        let cfg = parse("<key>\nX\n</key>\nkey [inline]\n").unwrap();
        assert!(matches!(cfg.key, Some(KeySource::Inline { .. })));
        // key-direction and tls-auth's direction: the last one.
        let cfg = parse("tls-auth ta.key 0\nkey-direction 1\n").unwrap();
        assert_eq!(cfg.tls_auth_direction(), Some(KeyDirection::One));
        // auth-user-pass: a file, then an inline block.
        let cfg =
            parse("auth-user-pass pass.txt\n<auth-user-pass>\nu\np\n</auth-user-pass>\n").unwrap();
        assert!(matches!(
            cfg.auth_user_pass,
            Some(Some(KeySource::Inline { .. }))
        ));
        let cfg = parse("<auth-user-pass>\nu\np\n</auth-user-pass>\nauth-user-pass\n").unwrap();
        assert_eq!(cfg.auth_user_pass, Some(None));
    }

    #[test]
    fn dev_type_wins_over_the_dev_name_in_any_order() {
        assert_eq!(parse("dev tap\n").unwrap().tap, Some(true));
        assert_eq!(parse("dev tun0\n").unwrap().tap, Some(false));
        assert_eq!(parse("dev null\n").unwrap().tap, None);
        assert_eq!(parse("dev-type tap\ndev vpn0\n").unwrap().tap, Some(true));
        assert_eq!(
            parse("dev tap0\ndev-type tun\ndev tap1\n").unwrap().tap,
            Some(false)
        );
        assert!(parse("dev-type ethernet\n").is_err());
    }

    #[test]
    fn data_channel_directives_the_last_one_wins() {
        use crate::proto::data::Compression;
        let cfg = parse("cipher AES-128-CBC\ncipher AES-256-CBC\nncp-ciphers AES-128-GCM\ndata-ciphers AES-256-GCM:CHACHA20-POLY1305\ncomp-lzo\ncompress lz4-v2\ntun-mtu 1400\n").unwrap();
        assert_eq!(cfg.cipher.as_deref(), Some("AES-256-CBC"));
        assert_eq!(
            cfg.data_ciphers,
            Some(vec!["AES-256-GCM".into(), "CHACHA20-POLY1305".into()])
        );
        assert_eq!(cfg.compression, Some(Compression::V2));
        assert_eq!(cfg.tun_mtu, Some(1400));
        let framing = |text: &str| parse(text).unwrap().compression;
        assert_eq!(framing("comp-lzo no\n"), Some(Compression::Lzo));
        assert_eq!(framing("compress\n"), Some(Compression::Swap));
        assert_eq!(framing("compress migrate\n"), Some(Compression::None));
        assert_eq!(
            framing("compress lz4\ncomp-lzo adaptive\n"),
            Some(Compression::Lzo)
        );
        assert_eq!(framing("remote h\n"), None);
        let e = parse("remote h\ncompress snappy\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, 'compress'")
                && e.contains("compress snappy")
                && e.contains("refuses"),
            "{e}"
        );
        let e = parse("comp-lzo maybe\n").unwrap_err().to_string();
        assert!(e.contains("'comp-lzo'"), "{e}");
        for bad in ["tun-mtu 99\n", "tun-mtu x\n", "tun-mtu 70000\n"] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("line 1, 'tun-mtu'"), "{bad}: {e}");
        }
    }

    #[test]
    fn local_takes_names_and_addresses() {
        assert_eq!(
            parse("local localhost\n").unwrap().local.as_deref(),
            Some("localhost")
        );
        assert_eq!(
            parse("local [::1]\n").unwrap().local.as_deref(),
            Some("::1")
        );
        assert_eq!(parse("local *\n").unwrap().local, None);
    }

    #[test]
    fn quoting_as_openvpn_parse_line() {
        assert_eq!(words(r#"a"b c"#).unwrap(), [r#"a"b"#, "c"]);
        assert_eq!(words(r#""ab"cd"#).unwrap(), ["ab", "cd"]);
        assert_eq!(words(r#"x "" y"#).unwrap(), ["x", "", "y"]);
        assert_eq!(
            words(r#"ca "C:\\keys\\ca.crt""#).unwrap(),
            ["ca", r"C:\keys\ca.crt"]
        );
        assert_eq!(words(r#"v "a \"q\" b""#).unwrap(), ["v", r#"a "q" b"#]);
        assert_eq!(words("remote a#b").unwrap(), ["remote", "a#b"]);
        assert_eq!(words("remote a ;b").unwrap(), ["remote", "a"]);
        // OpenVPN refuses a backslash before anything but \, " or a space.
        let e = parse("ca C:\\keys\\ca.crt\n").unwrap_err().to_string();
        assert!(
            e.contains("line 1") && e.contains("backslash") && e.contains("OpenVPN itself refuses"),
            "{e}"
        );
        let e = parse("remote 'h\n").unwrap_err().to_string();
        assert!(e.contains("single quote"), "{e}");
    }

    #[test]
    fn connection_blocks_like_openvpn() {
        // Settings read before a block are its defaults; after it, they are not.
        let cfg = parse("proto tcp\n<connection>\nremote a\n</connection>\nproto udp\nremote b\n")
            .unwrap();
        assert_eq!(cfg.remotes[0].proto.as_ref().unwrap().proto, Proto::Tcp);
        assert_eq!(cfg.remotes[1].proto, None);
        assert_eq!(cfg.proto.as_ref().unwrap().proto, Proto::Udp);
        let e = parse("<connection>\nport 1\n</connection>\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'remote'") && e.contains("line 1"), "{e}");
        // The first block's own tls-crypt wins for its remote.
        let cfg = parse("tls-auth ta.key 1\n<connection>\nremote a\ntls-auth [inline]\n<tls-auth>\nK\n</tls-auth>\n</connection>\n").unwrap();
        assert!(matches!(tls_auth_key(&cfg), KeySource::Inline { .. }));
        // Line numbers inside a block count from the file's start.
        let e = parse("client\n<connection>\nremote a 99999\n</connection>\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    /// Condensed from the shapes real exports take: an appliance's profile with a
    /// second factor and tls-crypt-v2, a firewall's export with a bundle and a key file, a
    /// cloud endpoint with random host names, a tutorial's client with commented options.
    #[test]
    fn exports_of_every_kind_are_read() {
        let access_server = "# OVPN_ACCESS_SERVER_USERNAME=monitor\r\nsetenv FORWARD_COMPATIBLE 1\r\nclient\r\nserver-poll-timeout 4\r\nnobind\r\nremote vpn.example.org 1194 udp\r\nremote vpn.example.org 443 tcp\r\ndev tun\r\ndev-type tun\r\nremote-cert-tls server\r\ntls-version-min 1.2\r\nauth-user-pass\r\nstatic-challenge \"Enter Authenticator Code\" 1\r\npush-peer-info\r\n<ca>\r\nCA\r\n</ca>\r\n<tls-crypt-v2>\r\nV2\r\n</tls-crypt-v2>\r\n";
        let cfg = parse(access_server).unwrap();
        assert_eq!(cfg.remotes.len(), 2);
        assert_eq!(cfg.auth_user_pass, Some(None));
        assert!(cfg.static_challenge.is_some());
        assert!(matches!(
            cfg.wrap,
            Some(ConfigWrap::TlsCryptV2(KeySource::Inline { .. }))
        ));

        let firewall = "dev tun\npersist-tun\npersist-key\ndata-ciphers AES-256-GCM:AES-128-GCM\nauth SHA256\ntls-client\nclient\nresolv-retry infinite\nremote 198.51.100.7 1194 udp4\nnobind\nlport 0\nverify-x509-name \"vpn-server\" name\npkcs12 fw-udp-1194-monitor.p12\ntls-auth fw-udp-1194-monitor-tls.key 1\nremote-cert-tls server\nexplicit-exit-notify\n";
        let cfg = parse(firewall).unwrap();
        assert_eq!(
            cfg.pkcs12,
            Some(KeySource::File(PathBuf::from(
                "/etc/openvpn/fw-udp-1194-monitor.p12"
            )))
        );
        assert_eq!(cfg.tls_auth_direction(), Some(KeyDirection::One));
        assert_eq!(cfg.verify_x509_name.as_ref().unwrap().0, "vpn-server");

        let cloud = "client\ndev tun\nproto udp\nremote cvpn-endpoint-0123.prod.clientvpn.example.com 443\nremote-random-hostname\nresolv-retry infinite\nnobind\nremote-cert-tls server\ncipher AES-256-GCM\nverb 3\n<ca>\nCA\n</ca>\nauth-federate\nreneg-sec 0\n";
        let cfg = parse(cloud).unwrap();
        assert_eq!(cfg.remotes[0].port, Some(443));

        let tutorial = "client\n;dev tap\ndev tun\n;proto tcp\nproto udp\nremote my-server-1 1194\n;remote my-server-2 1194\n;remote-random\nresolv-retry infinite\nnobind\n;user nobody\npersist-key\nca ca.crt\ncert client.crt\nkey client.key\nremote-cert-tls server\ntls-auth ta.key 1\ncipher AES-256-CBC\nverb 3\n;mute 20\n";
        let cfg = parse(tutorial).unwrap();
        assert_eq!(cfg.remotes.len(), 1);
        assert_eq!(cfg.proto.unwrap().proto, Proto::Udp);
        assert_eq!(
            cfg.key,
            Some(KeySource::File(PathBuf::from("/etc/openvpn/client.key")))
        );
    }

    #[test]
    fn includes_and_cd_as_openvpn() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("keys")).unwrap();
        std::fs::write(
            d.join("common.conf"),
            "\u{feff}proto tcp\ntls-crypt tc.key\n",
        )
        .unwrap();
        let cfg = ClientConfig::parse(
            "remote h\ncd keys\nconfig ../common.conf\nca ca.crt\n",
            "client.ovpn",
            d,
        )
        .unwrap();
        assert_eq!(cfg.proto.as_ref().unwrap().proto, Proto::Tcp);
        // Paths after `cd` resolve in that folder, in an included file too.
        assert_eq!(
            cfg.wrap,
            Some(ConfigWrap::TlsCrypt(KeySource::File(
                d.join("keys").join("tc.key")
            )))
        );
        assert_eq!(cfg.ca, Some(KeySource::File(d.join("keys/ca.crt"))));
        let (file, line) = cfg.at("tls-crypt").unwrap();
        assert!(file.ends_with("common.conf") && line == 2, "{file} {line}");
        std::fs::write(d.join("loop.conf"), "config loop.conf\n").unwrap();
        let e = ClientConfig::parse("config loop.conf\n", "client.ovpn", d)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested"), "{e}");
    }

    /// Both readers stop where OpenVPN's `read_config_file` does: the config and nine
    /// levels of includes are read, a tenth include is refused.
    #[test]
    fn both_readers_take_as_many_nested_configs_as_openvpn() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let chain = |levels: usize| {
            for i in 1..levels {
                let next = if i + 1 < levels {
                    format!("config c{}.conf\n", i + 1)
                } else {
                    String::new()
                };
                std::fs::write(d.join(format!("c{i}.conf")), format!("{next}verb 3\n")).unwrap();
            }
        };
        chain(MAX_CONFIG_LEVELS);
        assert!(ClientConfig::parse("remote h\nconfig c1.conf\n", "top.ovpn", d).is_ok());
        let server = "server 10.8.0.0 255.255.255.0\nconfig c1.conf\n";
        assert!(crate::server::config::ServerConfig::parse(server, "top.conf", d).is_ok());
        chain(MAX_CONFIG_LEVELS + 1);
        let e = ClientConfig::parse("remote h\nconfig c1.conf\n", "top.ovpn", d).unwrap_err();
        assert!(
            e.to_string().contains("more than 10 nested config files"),
            "{e}"
        );
        let e = crate::server::config::ServerConfig::parse(server, "top.conf", d).unwrap_err();
        assert!(
            e.to_string().contains("more than 10 nested config files"),
            "{e}"
        );
    }

    #[test]
    fn static_challenge() {
        let cfg = parse("static-challenge \"Enter OTP\" 1\n").unwrap();
        let sc = cfg.static_challenge.unwrap();
        assert_eq!(sc.text, "Enter OTP");
        assert_eq!(sc.format, ChallengeFormat::Scrv1);
        let cfg = parse("static-challenge 'PIN' 0 concat\n").unwrap();
        assert_eq!(
            cfg.static_challenge.unwrap().format,
            ChallengeFormat::Concat
        );
        assert!(parse("static-challenge x 0 other\n").is_err());
    }

    #[test]
    fn refusals_say_whether_openvpn_refuses_too() {
        let cfg = parse("http-proxy p 3128\nremote h\n").unwrap();
        assert_eq!(
            cfg.proxy,
            Some(("http-proxy".into(), "client.ovpn".into(), 1))
        );
        // Only the checked remote's proxy counts.
        let cfg = parse("<connection>\nremote a\n</connection>\n<connection>\nremote b\nsocks-proxy p\n</connection>\n").unwrap();
        assert_eq!(cfg.proxy, None);
        let e = parse("secret static.key\n").unwrap_err().to_string();
        assert!(
            e.contains("'secret'") && e.contains("OpenVPN itself accepts"),
            "{e}"
        );
        let e = parse("</ca>\n").unwrap_err().to_string();
        assert!(e.contains("without") && e.contains("refuses"), "{e}");
        let e = parse("remote h\nkey [inline]\n").unwrap_err().to_string();
        assert!(
            e.contains("line 2, 'key'") && e.contains("no <key> block"),
            "{e}"
        );
    }
}
