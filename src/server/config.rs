//! Reads what a check of the server needs from the server's own config: its PKI files,
//! CRL, control-channel key, where it listens, its management interface and status file.
//!
//! Relative paths resolve as OpenVPN resolves them: against the working directory, which
//! a `cd DIR` line changes while the config is read (OpenVPN calls chdir() at once), and
//! which is the config's own directory for the usual service units
//! (`openvpn-server@NAME` runs in `/etc/openvpn/server`). `config FILE`, OpenVPN's
//! include, reads another file in place, up to ten levels deep. The last line of a
//! directive wins, as in OpenVPN.

use crate::config::lex::{lex, strip_bom, MAX_CONFIG_LEVELS};
use crate::config::parse_port;
use crate::keys::static_keys::KeyDirection;
use crate::keys::KeySource;
use crate::net::{Family, Proto};
use std::path::{Path, PathBuf};

/// No server config comes near this.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The server's control-channel wrap and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerWrap {
    TlsAuth {
        key: KeySource,
        /// The server's own direction: the `tls-auth` argument, else `key-direction`,
        /// else bidirectional.
        direction: KeyDirection,
    },
    TlsCrypt(KeySource),
    /// The tls-crypt-v2 *server* key.
    TlsCryptV2(KeySource),
}

/// `crl-verify FILE` or `crl-verify DIR dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlSource {
    File(KeySource),
    Dir(PathBuf),
}

/// `management IP PORT [PWFILE]` or `management PATH unix [PWFILE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Management {
    Tcp {
        host: String,
        port: u16,
        password: Option<PathBuf>,
    },
    Unix {
        path: PathBuf,
        password: Option<PathBuf>,
    },
}

/// `status FILE [SECONDS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFile {
    pub path: PathBuf,
    pub interval_secs: u64,
}

/// A server `proto`: the protocol, and the family when it names one.
type ProtoFamily = (Proto, Option<Family>);

/// One listening socket of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// The `local` address or name; `None`: every address.
    pub local: Option<String>,
    pub port: u16,
    pub proto: Proto,
    pub family: Option<Family>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub ca: Option<KeySource>,
    pub cert: Option<KeySource>,
    pub extra_certs: Option<KeySource>,
    pub crl: Option<CrlSource>,
    pub wrap: Option<ServerWrap>,
    pub auth: Option<String>,
    pub proto: Proto,
    pub family: Option<Family>,
    pub port: u16,
    /// `local ADDRESS`, as written (an address or a name): the last line's.
    pub local: Option<String>,
    /// Every socket the server listens on: one per `local` line (OpenVPN 2.7 opens one
    /// for each, with the line's own port and protocol, `local HOST [PORT] [PROTO]`), or
    /// the one of `local`/`port`/`proto`.
    pub sockets: Vec<Socket>,
    pub management: Option<Management>,
    pub status: Option<StatusFile>,
    pub status_version: Option<u8>,
    /// A `server`, `server-ipv6`, `server-bridge` or `mode server` line: many clients
    /// (a lone `tls-server` is a point-to-point server).
    pub multi_client: bool,
    /// `tls-crypt-v2-verify CMD`, as written: a script that judges each client key's
    /// metadata.
    pub v2_verify: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerConfigError {
    /// The config (or an included file) cannot be read.
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{file}, line {line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    /// No line makes the file a server's config.
    #[error("{}: not an OpenVPN server's config (no 'server', 'mode server' or 'tls-server' line){}", path.display(), match client {
        Some((file, line)) => format!("; {file}, line {line} makes it a client's: check a server from its clients' side with --config"),
        None => String::new(),
    })]
    NotServer {
        path: PathBuf,
        client: Option<(String, usize)>,
    },
}

impl ServerConfigError {
    /// The file that could not be read, when that is the error.
    pub fn unreadable(&self) -> Option<(&Path, &str)> {
        match self {
            ServerConfigError::Read { path, reason } => Some((path, reason)),
            ServerConfigError::Line { .. } | ServerConfigError::NotServer { .. } => None,
        }
    }
}

/// Directive lines collected before they are resolved (last one wins).
#[derive(Default)]
struct Raw {
    ca: Option<KeySource>,
    cert: Option<KeySource>,
    extra_certs: Option<KeySource>,
    crl: Option<CrlSource>,
    /// (directive, key, tls-auth direction argument)
    wrap: Option<(String, KeySource, Option<KeyDirection>)>,
    key_direction: Option<KeyDirection>,
    auth: Option<String>,
    proto: Option<(Proto, Option<Family>)>,
    port: Option<u16>,
    local: Option<String>,
    /// Each `local` line: host, its own port and protocol.
    locals: Vec<(String, Option<u16>, Option<ProtoFamily>)>,
    management: Option<Management>,
    status: Option<StatusFile>,
    status_version: Option<u8>,
    /// Inline blocks by name: the last one of each.
    inline: Vec<(String, zeroize::Zeroizing<String>, String)>,
    /// Directives that named `[inline]`, resolved once every block is read.
    wants_inline: Vec<(String, usize, String)>,
    /// A `server`, `server-ipv6`, `server-bridge`, `mode server` or `tls-server` line.
    server_role: bool,
    /// A `server`, `server-ipv6`, `server-bridge` or `mode server` line.
    multi_client: bool,
    v2_verify: Option<String>,
    /// Where a `client` or `tls-client` line stands (file, line).
    client_role: Option<(String, usize)>,
    /// A container's root as this host reaches it: absolute paths go through it.
    root: Option<PathBuf>,
}

fn parse_server_proto(word: &str) -> Result<(Proto, Option<Family>), String> {
    Ok(match word.to_ascii_lowercase().as_str() {
        "udp" => (Proto::Udp, None),
        "udp4" => (Proto::Udp, Some(Family::V4)),
        "udp6" => (Proto::Udp, Some(Family::V6)),
        "tcp" | "tcp-server" => (Proto::Tcp, None),
        "tcp4" | "tcp4-server" => (Proto::Tcp, Some(Family::V4)),
        "tcp6" | "tcp6-server" => (Proto::Tcp, Some(Family::V6)),
        "tcp-client" | "tcp4-client" | "tcp6-client" => {
            return Err(format!(
                "'proto {word}' is a client's setting; --server-config takes the server's config"
            ))
        }
        _ => return Err(format!("unknown protocol '{word}'")),
    })
}

/// `0` or `1`, as the client's config reader takes it.
fn parse_direction(word: &str) -> Result<KeyDirection, String> {
    crate::config::parse_direction(word).map_err(|(message, _)| message)
}

fn read_text(path: &Path) -> Result<String, ServerConfigError> {
    let err = |reason: String| ServerConfigError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(super::io_reason(&e)))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(err(format!("{} bytes, too big for a config", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| err(super::io_reason(&e)))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(strip_bom(&text).to_string())
}

impl ServerConfig {
    /// Reads `path`; its directory is the working directory relative paths start from.
    pub fn from_file(path: &Path) -> Result<Self, ServerConfigError> {
        let text = read_text(path)?;
        let mut base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut raw = Raw::default();
        parse_into(&mut raw, &text, &path.display().to_string(), &mut base, 0)?;
        Self::server_of(raw, path)
    }

    /// Reads the config as the running process `running` reads it: its command line,
    /// with the file in place of its `--config`, relative paths against its working
    /// directory, a container's absolute paths through its root.
    pub fn from_process(
        path: &Path,
        running: &super::process::Running,
    ) -> Result<Self, ServerConfigError> {
        let text = super::process::as_config_lines(&running.args);
        let mut base = running.cwd.clone();
        let mut raw = Raw {
            root: running.root.clone(),
            ..Raw::default()
        };
        let label = format!("the command line of process {}", running.pid);
        parse_into(&mut raw, &text, &label, &mut base, 0)?;
        Self::server_of(raw, path)
    }

    fn server_of(mut raw: Raw, path: &Path) -> Result<Self, ServerConfigError> {
        // A wrong file (a client's config, or no config at all) would otherwise read as a
        // server with every default, and its probe of port 1194 as a dead server.
        if !raw.server_role {
            return Err(ServerConfigError::NotServer {
                path: path.to_path_buf(),
                client: raw.client_role.take(),
            });
        }
        raw.finish()
    }

    /// Parses config text named `file`, relative paths against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ServerConfigError> {
        let mut raw = Raw::default();
        let mut base = base.to_path_buf();
        parse_into(&mut raw, text, file, &mut base, 0)?;
        raw.finish()
    }
}

fn parse_into(
    raw: &mut Raw,
    text: &str,
    file: &str,
    base: &mut PathBuf,
    depth: usize,
) -> Result<(), ServerConfigError> {
    let err = |line: usize, message: String| ServerConfigError::Line {
        file: file.to_string(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let directives = lex(&lines, 1).map_err(|e| err(e.line, e.message))?;
    for d in directives {
        let line_no = d.line;
        if d.inline.is_some() {
            let name = d.name().to_string();
            let body = d.inline.unwrap_or_default();
            let label = format!("{file} <{name}> block");
            raw.inline.retain(|(n, _, _)| *n != name);
            raw.inline.push((name, body, label));
            continue;
        }
        let w = d.words;
        let directive = w[0].as_str();
        let arg = |i: usize| -> Result<&str, ServerConfigError> {
            w.get(i)
                .map(String::as_str)
                .ok_or_else(|| err(line_no, format!("'{directive}' needs an argument")))
        };
        let root = raw.root.clone();
        let path = |base: &Path, p: &str| super::process::host_path(root.as_deref(), base, p);
        match directive {
            "cd" => *base = path(base, arg(1)?),
            "config" => {
                if depth + 1 >= MAX_CONFIG_LEVELS {
                    return Err(err(
                        line_no,
                        format!("more than {MAX_CONFIG_LEVELS} nested config files; does a config include itself?"),
                    ));
                }
                let p = path(base, arg(1)?);
                let text = read_text(&p)?;
                parse_into(raw, &text, &p.display().to_string(), base, depth + 1)?;
            }
            "server" | "server-ipv6" | "server-bridge" => {
                raw.server_role = true;
                raw.multi_client = true;
            }
            "tls-server" => raw.server_role = true,
            "mode" if w.get(1).map(String::as_str) == Some("server") => {
                raw.server_role = true;
                raw.multi_client = true;
            }
            "tls-crypt-v2-verify" => raw.v2_verify = Some(w[1..].join(" ")),
            "client" | "tls-client" | "pull" => {
                raw.client_role.get_or_insert((file.to_string(), line_no));
            }
            "ca" | "cert" | "extra-certs" | "tls-auth" | "tls-crypt" | "tls-crypt-v2"
            | "crl-verify" => {
                let f = arg(1)?;
                let direction = if directive == "tls-auth" {
                    w.get(2)
                        .map(|d| parse_direction(d))
                        .transpose()
                        .map_err(|m| err(line_no, m))?
                } else {
                    None
                };
                if directive == "crl-verify" && w.get(2).map(String::as_str) == Some("dir") {
                    raw.crl = Some(CrlSource::Dir(path(base, f)));
                    continue;
                }
                if f == "[inline]" {
                    raw.wants_inline
                        .push((directive.to_string(), line_no, file.to_string()));
                    set_source(raw, directive, None, direction);
                    continue;
                }
                let source = KeySource::File(path(base, f));
                set_source(raw, directive, Some(source), direction);
            }
            "key-direction" => {
                raw.key_direction = Some(parse_direction(arg(1)?).map_err(|m| err(line_no, m))?)
            }
            "auth" => raw.auth = Some(arg(1)?.to_string()),
            "proto" => raw.proto = Some(parse_server_proto(arg(1)?).map_err(|m| err(line_no, m))?),
            "port" | "lport" => {
                raw.port = Some(parse_port(arg(1)?).map_err(|(m, _)| err(line_no, m))?)
            }
            "local" => {
                let host = arg(1)?.to_string();
                let port = w
                    .get(2)
                    .map(|p| parse_port(p).map_err(|(m, _)| err(line_no, m)))
                    .transpose()?;
                let proto = w
                    .get(3)
                    .map(|p| parse_server_proto(p).map_err(|m| err(line_no, m)))
                    .transpose()?;
                raw.local = Some(host.clone());
                raw.locals.push((host, port, proto));
            }
            "management" => {
                let first = arg(1)?;
                let second = arg(2)?;
                raw.management = Some(if second == "unix" {
                    Management::Unix {
                        path: path(base, first),
                        password: w.get(3).map(|p| path(base, p)),
                    }
                } else {
                    Management::Tcp {
                        host: first.to_string(),
                        port: parse_port(second).map_err(|(m, _)| err(line_no, m))?,
                        password: w.get(3).map(|p| path(base, p)),
                    }
                });
            }
            "status" => {
                let interval_secs = match w.get(2) {
                    None => 60,
                    Some(s) => s.parse::<u64>().map_err(|_| {
                        err(line_no, format!("status interval '{s}' is not seconds"))
                    })?,
                };
                raw.status = Some(StatusFile {
                    path: path(base, arg(1)?),
                    interval_secs,
                });
            }
            "status-version" => {
                let v = arg(1)?;
                raw.status_version = Some(match v {
                    "1" => 1,
                    "2" => 2,
                    "3" => 3,
                    _ => {
                        return Err(err(
                            line_no,
                            format!("status-version '{v}' is not 1, 2 or 3"),
                        ))
                    }
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Records a file directive; `None` marks an `[inline]` one, filled in by [`Raw::finish`].
fn set_source(
    raw: &mut Raw,
    directive: &str,
    source: Option<KeySource>,
    direction: Option<KeyDirection>,
) {
    let placeholder = || KeySource::File(PathBuf::new());
    let s = source.unwrap_or_else(placeholder);
    match directive {
        "ca" => raw.ca = Some(s),
        "cert" => raw.cert = Some(s),
        "extra-certs" => raw.extra_certs = Some(s),
        "crl-verify" => raw.crl = Some(CrlSource::File(s)),
        _ => raw.wrap = Some((directive.to_string(), s, direction)),
    }
}

fn is_placeholder(s: &KeySource) -> bool {
    matches!(s, KeySource::File(p) if p.as_os_str().is_empty())
}

impl Raw {
    fn finish(mut self) -> Result<ServerConfig, ServerConfigError> {
        // A block stands for its directive, with or without an "[inline]" line.
        let inline = std::mem::take(&mut self.inline);
        let block = |name: &str| {
            inline
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, text, label)| KeySource::Inline {
                    text: text.clone(),
                    name: label.clone(),
                })
        };
        for (name, line, in_file) in &self.wants_inline {
            if block(name).is_none() {
                return Err(ServerConfigError::Line {
                    file: in_file.clone(),
                    line: *line,
                    message: format!("'{name} [inline]' but no <{name}> block"),
                });
            }
        }
        let fill = |slot: &mut Option<KeySource>, name: &str| {
            if slot.as_ref().is_none_or(is_placeholder) {
                if let Some(b) = block(name) {
                    *slot = Some(b);
                }
            }
        };
        fill(&mut self.ca, "ca");
        fill(&mut self.cert, "cert");
        fill(&mut self.extra_certs, "extra-certs");
        match &mut self.crl {
            Some(CrlSource::File(s)) if is_placeholder(s) => {
                if let Some(b) = block("crl-verify") {
                    *s = b;
                }
            }
            None => {
                if let Some(b) = block("crl-verify") {
                    self.crl = Some(CrlSource::File(b));
                }
            }
            _ => {}
        }
        match &mut self.wrap {
            Some((name, s, _)) if is_placeholder(s) => {
                if let Some(b) = block(name) {
                    *s = b;
                }
            }
            None => {
                for name in ["tls-auth", "tls-crypt", "tls-crypt-v2"] {
                    if let Some(b) = block(name) {
                        self.wrap = Some((name.to_string(), b, None));
                    }
                }
            }
            _ => {}
        }
        let wrap = self.wrap.map(|(name, key, direction)| match name.as_str() {
            "tls-auth" => ServerWrap::TlsAuth {
                key,
                direction: direction
                    .or(self.key_direction)
                    .unwrap_or(KeyDirection::Bidirectional),
            },
            "tls-crypt" => ServerWrap::TlsCrypt(key),
            _ => ServerWrap::TlsCryptV2(key),
        });
        let (proto, family) = self.proto.unwrap_or((Proto::Udp, None));
        let port = self.port.unwrap_or(1194);
        let mut sockets: Vec<Socket> = self
            .locals
            .iter()
            .map(|(host, p, pr)| {
                let (proto, family) = pr.unwrap_or((proto, family));
                Socket {
                    local: (host != "*").then(|| host.clone()),
                    port: p.unwrap_or(port),
                    proto,
                    family,
                }
            })
            .collect();
        if sockets.is_empty() {
            sockets.push(Socket {
                local: None,
                port,
                proto,
                family,
            });
        }
        Ok(ServerConfig {
            ca: self.ca,
            cert: self.cert,
            extra_certs: self.extra_certs,
            crl: self.crl,
            wrap,
            auth: self.auth,
            proto,
            family,
            port,
            local: self.local,
            sockets,
            management: self.management,
            status: self.status,
            status_version: self.status_version,
            multi_client: self.multi_client,
            v2_verify: self.v2_verify.filter(|c| !c.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_local_line_is_a_socket_with_its_own_port_and_protocol() {
        let c = ServerConfig::parse(
            "mode server\nport 1300\nproto udp6\nlocal 127.0.0.1 1195 tcp-server\nlocal ::1\n",
            "s.conf",
            Path::new("/"),
        )
        .unwrap();
        let got: Vec<_> = c
            .sockets
            .iter()
            .map(|s| (s.local.as_deref(), s.port, s.proto, s.family))
            .collect();
        assert_eq!(
            got,
            [
                (Some("127.0.0.1"), 1195, Proto::Tcp, None),
                (Some("::1"), 1300, Proto::Udp, Some(Family::V6)),
            ]
        );
        assert_eq!(c.local.as_deref(), Some("::1"));
        let one = ServerConfig::parse("mode server\n", "s.conf", Path::new("/")).unwrap();
        assert_eq!(one.sockets.len(), 1);
        assert_eq!(
            (one.sockets[0].port, one.sockets[0].local.as_deref()),
            (1194, None)
        );
    }

    use super::*;

    fn parse(text: &str) -> ServerConfig {
        ServerConfig::parse(text, "server.conf", Path::new("/etc/openvpn/server")).unwrap()
    }

    #[test]
    fn verify_script_and_multi_client_mode() {
        let c = parse("mode server\ntls-crypt-v2 s.key\ntls-crypt-v2-verify /usr/local/bin/verify.sh --strict\n");
        assert!(c.multi_client);
        assert_eq!(
            c.v2_verify.as_deref(),
            Some("/usr/local/bin/verify.sh --strict")
        );
        let c = parse("server 10.8.0.0 255.255.255.0\n");
        assert!(c.multi_client);
        assert_eq!(c.v2_verify, None);
        assert!(!parse("tls-server\n").multi_client);
    }

    #[test]
    fn typical_server_config() {
        let c = parse(
            "port 1194\nproto udp\ndev tun\nca ca.crt\ncert issued/server.crt\nkey server.key\n\
             crl-verify /etc/openvpn/crl.pem\ntls-auth ta.key 0\nauth SHA256\n\
             management 127.0.0.1 7505 mgmt.pw\nstatus /run/openvpn/status.log 10\nstatus-version 2\n",
        );
        assert_eq!(
            c.ca,
            Some(KeySource::File("/etc/openvpn/server/ca.crt".into()))
        );
        assert_eq!(
            c.cert,
            Some(KeySource::File(
                "/etc/openvpn/server/issued/server.crt".into()
            ))
        );
        assert_eq!(
            c.crl,
            Some(CrlSource::File(KeySource::File(
                "/etc/openvpn/crl.pem".into()
            )))
        );
        assert_eq!(
            c.wrap,
            Some(ServerWrap::TlsAuth {
                key: KeySource::File("/etc/openvpn/server/ta.key".into()),
                direction: KeyDirection::Zero
            })
        );
        assert_eq!(
            c.management,
            Some(Management::Tcp {
                host: "127.0.0.1".into(),
                port: 7505,
                password: Some("/etc/openvpn/server/mgmt.pw".into())
            })
        );
        assert_eq!(
            c.status,
            Some(StatusFile {
                path: "/run/openvpn/status.log".into(),
                interval_secs: 10
            })
        );
        assert_eq!(c.status_version, Some(2));
        assert_eq!(c.proto, Proto::Udp);
    }

    #[test]
    fn cd_changes_where_later_paths_start_and_last_line_wins() {
        let c = parse("ca a.crt\ncd /srv/vpn\nca b.crt\ncert c.crt\ncd keys\ntls-crypt tc.key\n");
        assert_eq!(c.ca, Some(KeySource::File("/srv/vpn/b.crt".into())));
        assert_eq!(c.cert, Some(KeySource::File("/srv/vpn/c.crt".into())));
        assert_eq!(
            c.wrap,
            Some(ServerWrap::TlsCrypt(KeySource::File(
                "/srv/vpn/keys/tc.key".into()
            )))
        );
    }

    #[test]
    fn crl_dir_unix_management_and_inline_blocks() {
        let c = parse(
            "crl-verify crls dir\nmanagement /run/mgmt.sock unix\nproto tcp6-server\n\
             <ca>\nCA TEXT\n</ca>\n<tls-crypt-v2>\nV2\n</tls-crypt-v2>\n",
        );
        assert_eq!(
            c.crl,
            Some(CrlSource::Dir("/etc/openvpn/server/crls".into()))
        );
        assert_eq!(
            c.management,
            Some(Management::Unix {
                path: "/run/mgmt.sock".into(),
                password: None
            })
        );
        assert_eq!((c.proto, c.family), (Proto::Tcp, Some(Family::V6)));
        assert!(matches!(c.ca, Some(KeySource::Inline { .. })));
        assert!(matches!(
            c.wrap,
            Some(ServerWrap::TlsCryptV2(KeySource::Inline { .. }))
        ));
        let c = parse("tls-auth [inline]\nkey-direction 0\n<tls-auth>\nK\n</tls-auth>\n");
        assert!(matches!(
            c.wrap,
            Some(ServerWrap::TlsAuth {
                key: KeySource::Inline { .. },
                direction: KeyDirection::Zero
            })
        ));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = ServerConfig::parse("port 1194\nproto tcp-client\n", "s.conf", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.conf, line 2: "), "{e}");
        let e = ServerConfig::parse("ca [inline]\n", "s.conf", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no <ca> block"), "{e}");
        let e = ServerConfig::parse("config /nonexistent/x.conf\n", "s.conf", Path::new("/"))
            .unwrap_err();
        assert!(e.unreadable().is_some(), "{e}");
    }
}
