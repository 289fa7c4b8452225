//! The command line: the clap definition, and its conversion into a [`CheckSpec`].
//!
//! Every flag of the original Python `check_openvpn` keeps its meaning here, so existing
//! check commands keep working; the rest are additions.

use crate::chain::{NameType, Policy};
use crate::check::{Candidate, CheckSpec, KeyOrigin, LoginSpec};
use crate::config::{ClientConfig, ConfigError, ConfigWrap, KeySource};
use crate::credentials::CredentialError;
use crate::digest::{Digest, UnknownDigest};
use crate::key::{
    loose_permissions, parse_hex_key, KeyDirection, KeyError, Secret, StaticKey, V2ClientKey,
};
use crate::proto::Stage;
use crate::range::Range;
use crate::report::{CertDays, Thresholds};
use crate::transport::{Family, Proto};
use crate::wire::{BadTagLen, TlsAuth, Wrap, WrapPair};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::time::Duration;

/// The longest `--timeout` accepted; a monitoring engine kills a check long before this.
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// The shortest: below a millisecond a timeout would round to nothing and turn the
/// retries into a flood.
const MIN_TIMEOUT_SECS: f64 = 0.001;

#[derive(Debug, Parser)]
#[command(
    name = "check_openvpn",
    version,
    about = "Checks that an OpenVPN server answers a control-channel hard reset (Nagios/Icinga plugin)",
    after_help = "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
                  Example: check_openvpn -H vpn.example.org --tls-auth /etc/openvpn/ta.key --digest SHA256"
)]
pub struct Cli {
    /// Server host name or IP address
    #[arg(value_name = "HOST")]
    pub host: Option<String>,

    /// Server host name or IP address (same as HOST)
    #[arg(short = 'H', long = "hostname", value_name = "HOST")]
    pub hostname: Option<String>,

    /// Server port [default: 1194, or the config's]
    #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Use TCP instead of UDP
    #[arg(short, long)]
    pub tcp: bool,

    /// Source address of the probe, as OpenVPN's `local` (a multi-homed host probes out of the interface the clients use) [default: the config's local, else the kernel's choice]
    #[arg(short = 'b', long = "bind", value_name = "ADDRESS")]
    pub bind: Option<std::net::IpAddr>,

    /// Use IPv4 only
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Use IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,

    /// Probe every address HOST resolves to (of the -4/-6 family), in parallel; the worst state wins
    #[arg(long, conflicts_with = "diagnose")]
    pub all_addresses: bool,

    /// Seconds to wait: per attempt over UDP, for connect and answer over TCP (fractions allowed)
    #[arg(
        long,
        default_value = "2",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub timeout: String,

    /// Number of UDP attempts
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retrycount: u32,

    /// HMAC digest of the server's `auth` option (MD5, SHA1, SHA256, SHA3-256, BLAKE2b512, ...) [default: SHA1, or the config's auth]
    #[arg(long, value_name = "NAME")]
    pub digest: Option<String>,

    /// Bytes of HMAC on the wire (default: the digest's full length)
    #[arg(long, value_name = "N")]
    pub digest_size: Option<usize>,

    /// HMAC key for packets to the server, in hex (tls-auth without a key file)
    #[arg(long, value_name = "HEX")]
    pub digest_key_client: Option<String>,

    /// HMAC key for packets from the server, in hex (verifies the answer)
    #[arg(long, value_name = "HEX")]
    pub digest_key_server: Option<String>,

    /// OpenVPN static key file used by the server's `tls-auth`
    #[arg(long, value_name = "FILE")]
    pub tls_auth: Option<PathBuf>,

    /// OpenVPN static key file used by the server's `tls-crypt`
    #[arg(long, value_name = "FILE")]
    pub tls_crypt: Option<PathBuf>,

    /// tls-crypt-v2 client key file (made by `openvpn --tls-crypt-v2 SERVERKEY --genkey tls-crypt-v2-client`)
    #[arg(long, value_name = "FILE")]
    pub tls_crypt_v2: Option<PathBuf>,

    /// Read remote, port, proto, auth, key-direction and the tls-auth/tls-crypt/tls-crypt-v2 key from an OpenVPN client config; flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Try every plausible way to use the given key at once and report which ones the server answers
    #[arg(long, conflicts_with = "no_validation")]
    pub diagnose: bool,

    /// Use the tls-auth key with key direction 0 instead of 1
    #[arg(long, conflicts_with = "key_direction")]
    pub tls_auth_inverse: bool,

    /// Key direction of the tls-auth key on this (client) side: 0, 1 or bidirectional [default: 1]
    #[arg(long, value_name = "DIR")]
    pub key_direction: Option<String>,

    /// Accept any answer from the server without validating it
    #[arg(long)]
    pub no_validation: bool,

    /// Response time (seconds) that raises WARNING, as a Nagios range
    #[arg(short, long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<String>,

    /// Response time (seconds) that raises CRITICAL, as a Nagios range
    #[arg(short, long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<String>,

    /// Go on after the reset: a TLS handshake over the control channel; report the TLS version, cipher suite and the server certificate (verifies nothing by itself). A server that demands a client certificate logs a failed handshake for each such check (fail2ban's openvpn filter counts it): log in with --cert/--key or --auth-user-pass instead to stay out of its log
    #[arg(long)]
    pub tls: bool,

    /// Verify the server's certificate chain against these PEM CA certificates, as an OpenVPN client does [default: the config's ca] (runs the TLS stage; without a client certificate a server that demands one logs a failed handshake: add --cert/--key for the login stage)
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Certificate days left: WARNING under the first number, CRITICAL under the second (one number: CRITICAL once expired); applies to every certificate of the chain (runs the TLS stage; a server that demands a client certificate logs a failed handshake unless --cert/--key log in)
    #[arg(short = 'C', long = "certificate", value_name = "DAYS[,DAYS]")]
    pub certificate: Option<String>,

    /// Require this server certificate name, as OpenVPN's verify-x509-name (runs the TLS stage)
    #[arg(long, value_name = "NAME")]
    pub verify_x509_name: Option<String>,

    /// How --verify-x509-name matches: subject (the whole DN, as OpenVPN prints it), name (the CN) or name-prefix [default: subject]
    #[arg(long, value_name = "TYPE", requires = "verify_x509_name")]
    pub verify_x509_type: Option<String>,

    /// Require the server certificate to carry key usage and TLS Web Server Authentication, as OpenVPN's `remote-cert-tls server` (runs the TLS stage)
    #[arg(long, value_name = "server")]
    pub remote_cert_tls: Option<String>,

    /// Log in like a real client with what the config provides (cert, key, auth-user-pass): key-method 2, PUSH_REPLY or the server's refusal, then EXIT
    #[arg(long)]
    pub login: bool,

    /// Client certificate (PEM) for the login stage [default: the config's cert] (runs the login stage)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key of --cert (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted) (runs the login stage)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// OpenVPN auth-user-pass file: user name on line 1, password on line 2 (runs the login stage; passwords are never taken on the command line)
    #[arg(long, value_name = "FILE")]
    pub auth_user_pass: Option<PathBuf>,

    /// Login stage over TCP: after EXIT, wait until the server closes the connection (its delayed exit, about 5 s; needs --timeout 7 or more), so its log shows a clean exit instead of a connection reset that fail2ban's openvpn filter bans
    #[arg(long)]
    pub wait_for_close: bool,

    /// More output after the status line (-v details, -vv packet trace, -vvv packet hex)
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("no host given (use HOST, -H/--hostname, or a config with a 'remote' line)")]
    NoHost,
    #[error("two different hosts given: '{0}' and -H '{1}'")]
    TwoHosts(String, String),
    #[error(
        "--timeout '{0}' is not a number of seconds from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}"
    )]
    Timeout(String),
    #[error("--retrycount must be at least 1")]
    RetryCount,
    #[error("{0} and {1} both given: a server uses one way to wrap its control channel; keep the one its config names ({2})")]
    TwoWraps(&'static str, &'static str, String),
    #[error("--digest-key-server needs --digest-key-client: a server with tls-auth ignores unsigned packets")]
    ServerKeyAlone,
    #[error("--key-direction needs a tls-auth key (--tls-auth, or a config with tls-auth); hex keys from --digest-key-* already name each direction")]
    DirectionWithoutKey,
    #[error("{0} applies to tls-auth only; {1} has fixed directions and always uses HMAC-SHA256")]
    NotForTlsCrypt(&'static str, &'static str),
    #[error("{0}")]
    Direction(String),
    #[error("--warning: {0}")]
    Warning(crate::range::RangeError),
    #[error("--critical: {0}")]
    Critical(crate::range::RangeError),
    #[error(transparent)]
    Digest(#[from] UnknownDigest),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("--digest-size: {0}")]
    TagLen(#[from] BadTagLen),
    #[error("-C/--certificate '{0}' is not DAYS or WARN_DAYS,CRIT_DAYS (whole days, the first not below the second), e.g. -C 30,14")]
    CertDays(String),
    #[error("--verify-x509-type: {0}")]
    NameType(String),
    #[error("--remote-cert-tls '{0}': a check of a server takes 'server'")]
    RemoteCertTls(String),
    #[error("{0} runs the TLS stage, and {1} checks the reset only: drop one of them")]
    StageConflict(&'static str, &'static str),
    #[error(transparent)]
    Ca(#[from] crate::chain::CaError),
    #[error(transparent)]
    Credential(#[from] crate::credentials::CredentialError),
    #[error("--wait-for-close applies to the login stage over TCP (--tcp with --login, --cert or --auth-user-pass)")]
    WaitForCloseAlone,
    #[error("--login needs something to log in with: a client certificate (--cert and --key, or the config's cert and key) and/or --auth-user-pass (or the config's auth-user-pass FILE)")]
    NothingToLogInWith,
    #[error("the config's 'auth-user-pass' has no file, so OpenVPN would prompt for the password, which a check cannot answer: give the file on that line, or --auth-user-pass FILE")]
    PromptForPassword,
    #[error("{0}, line {1}: 'pkcs12' bundles cannot be read here: split it with openssl pkcs12 -in FILE -clcerts -nokeys -out cert.pem and openssl pkcs12 -in FILE -nocerts -nodes -out key.pem, then use --cert and --key")]
    Pkcs12(String, usize),
}

/// What `main` needs beyond the spec.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spec: CheckSpec,
    pub thresholds: Thresholds,
    /// `--diagnose`: the ways to try instead of the one check in `spec`.
    pub diagnose: Option<Vec<Candidate>>,
    /// `--all-addresses`: probe every address of the host.
    pub all_addresses: bool,
}

fn parse_timeout(text: &str) -> Result<Duration, UsageError> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::Timeout(text.into()))?;
    if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(UsageError::Timeout(text.into()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Key material and where it came from, before it is turned into a [`Wrap`].
enum Material {
    None,
    /// A static key for tls-auth (with the direction the source asked for, if any).
    TlsAuth {
        key: StaticKey,
        source: KeySource,
        direction: Option<KeyDirection>,
    },
    TlsCrypt {
        key: StaticKey,
        source: KeySource,
    },
    V2 {
        key: V2ClientKey,
        source: KeySource,
    },
    Hex {
        client: Secret,
        server: Option<Secret>,
    },
}

fn read_static(source: &KeySource) -> Result<StaticKey, KeyError> {
    match source {
        KeySource::File(path) => StaticKey::from_file(path),
        KeySource::Inline { text, name } => StaticKey::parse(text, name),
    }
}

fn read_v2(source: &KeySource) -> Result<V2ClientKey, KeyError> {
    match source {
        KeySource::File(path) => V2ClientKey::from_file(path),
        KeySource::Inline { text, name } => V2ClientKey::parse(text, name),
    }
}

fn tls_auth(
    key: &StaticKey,
    direction: KeyDirection,
    digest: Digest,
    size: Option<usize>,
) -> Result<Wrap, BadTagLen> {
    Ok(WrapPair::tls_auth(key, direction, digest, size)?.client)
}

fn tls_crypt(key: &StaticKey) -> Wrap {
    WrapPair::tls_crypt(key).client
}

fn tls_crypt_v2(key: &V2ClientKey) -> Wrap {
    WrapPair::tls_crypt_v2(key).client
}

impl Cli {
    /// What the login stage logs in with: flags first, then the config's.
    fn login_spec(
        &self,
        config: Option<&ClientConfig>,
        notes: &mut Vec<String>,
    ) -> Result<LoginSpec, UsageError> {
        let from_cfg = |f: fn(&ClientConfig) -> Option<KeySource>| config.and_then(f);
        let (cert, key) = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => (
                Some(KeySource::File(c.clone())),
                Some(KeySource::File(k.clone())),
            ),
            (Some(_), None) => return Err(CredentialError::Pair("--cert", "--key").into()),
            (None, Some(_)) => return Err(CredentialError::Pair("--key", "--cert").into()),
            (None, None) => (from_cfg(|c| c.cert.clone()), from_cfg(|c| c.key.clone())),
        };
        let client = match (cert, key) {
            (Some(c), Some(k)) => {
                let loaded = crate::credentials::load_client_cert(&c, &k)?;
                notes.push(format!(
                    "client certificate: {} (CN={}, sha256 {}…), key {}",
                    c.describe(),
                    loaded.common_name.as_deref().unwrap_or("?"),
                    &loaded.fingerprint[..16],
                    k.describe()
                ));
                if let Some(w) = key_path_warning(&k) {
                    notes.push(w);
                }
                Some(loaded)
            }
            (Some(_), None) => {
                return Err(CredentialError::Pair("the config's cert", "a key").into())
            }
            (None, Some(_)) => {
                return Err(CredentialError::Pair("the config's key", "a cert").into())
            }
            (None, None) => {
                if let (Some(line), Some(path)) = (config.and_then(|c| c.pkcs12_line), &self.config)
                {
                    return Err(UsageError::Pkcs12(path.display().to_string(), line));
                }
                None
            }
        };
        let user_pass = match (
            &self.auth_user_pass,
            config.and_then(|c| c.auth_user_pass.clone()),
        ) {
            (Some(p), _) => Some(KeySource::File(p.clone())),
            (None, Some(Some(source))) => Some(source),
            (None, Some(None)) => return Err(UsageError::PromptForPassword),
            (None, None) => None,
        };
        let user_pass = match user_pass {
            Some(source) => {
                let up = crate::credentials::read_user_pass(&source)?;
                notes.push(format!(
                    "auth-user-pass: {} (user {})",
                    source.describe(),
                    up.user.as_str()
                ));
                if let Some(w) = key_path_warning(&source) {
                    notes.push(w);
                }
                Some(up)
            }
            None => None,
        };
        if client.is_none() && user_pass.is_none() {
            return Err(UsageError::NothingToLogInWith);
        }
        let who = match (&user_pass, &client) {
            (Some(up), _) => up.user.to_string(),
            (None, Some(c)) => c
                .common_name
                .clone()
                .map(|cn| format!("CN={cn}"))
                .unwrap_or_else(|| "the client certificate".into()),
            (None, None) => String::new(),
        };
        Ok(LoginSpec {
            hello: crate::proto::login::ClientHello {
                proto: "UDPv4",
                user: user_pass.as_ref().map(|u| u.user.clone()),
                password: user_pass.as_ref().map(|u| u.password.clone()),
            },
            client_auth: client.map(|c| c.certified),
            who,
            wait_for_close: self.wait_for_close,
        })
    }

    /// The wrap flags given on the command line, as (flag, config directive) pairs.
    fn wrap_flags(&self) -> Vec<(&'static str, &'static str)> {
        let mut given = Vec::new();
        if self.tls_auth.is_some() {
            given.push(("--tls-auth", "tls-auth"));
        }
        if self.tls_crypt.is_some() {
            given.push(("--tls-crypt", "tls-crypt"));
        }
        if self.tls_crypt_v2.is_some() {
            given.push(("--tls-crypt-v2", "tls-crypt-v2"));
        }
        if self.digest_key_client.is_some() || self.digest_key_server.is_some() {
            given.push(("--digest-key-client", "tls-auth"));
        }
        given
    }

    /// The key material: from the wrap flag if one was given, else from the config.
    fn material(&self, config: Option<&ClientConfig>) -> Result<Material, UsageError> {
        let given = self.wrap_flags();
        if let [(a, da), (b, db), ..] = given[..] {
            return Err(UsageError::TwoWraps(
                a,
                b,
                format!("{a} for '{da}', {b} for '{db}'"),
            ));
        }
        if let Some(path) = &self.tls_auth {
            let source = KeySource::File(path.clone());
            return Ok(Material::TlsAuth {
                key: read_static(&source)?,
                source,
                direction: None,
            });
        }
        if let Some(path) = &self.tls_crypt {
            let source = KeySource::File(path.clone());
            return Ok(Material::TlsCrypt {
                key: read_static(&source)?,
                source,
            });
        }
        if let Some(path) = &self.tls_crypt_v2 {
            let source = KeySource::File(path.clone());
            return Ok(Material::V2 {
                key: read_v2(&source)?,
                source,
            });
        }
        match (&self.digest_key_client, &self.digest_key_server) {
            (None, Some(_)) => return Err(UsageError::ServerKeyAlone),
            (Some(client), server) => {
                return Ok(Material::Hex {
                    client: parse_hex_key(client, "--digest-key-client")?,
                    server: server
                        .as_deref()
                        .map(|s| parse_hex_key(s, "--digest-key-server"))
                        .transpose()?,
                })
            }
            (None, None) => {}
        }
        Ok(match config.and_then(|c| c.wrap.clone()) {
            None => Material::None,
            Some(ConfigWrap::TlsAuth { key, .. }) => Material::TlsAuth {
                key: read_static(&key)?,
                direction: config.and_then(ClientConfig::tls_auth_direction),
                source: key,
            },
            Some(ConfigWrap::TlsCrypt(source)) => Material::TlsCrypt {
                key: read_static(&source)?,
                source,
            },
            Some(ConfigWrap::TlsCryptV2(source)) => Material::V2 {
                key: read_v2(&source)?,
                source,
            },
        })
    }

    pub fn into_settings(self) -> Result<Settings, UsageError> {
        let config = self
            .config
            .as_deref()
            .map(ClientConfig::from_file)
            .transpose()?;
        let mut notes = Vec::new();
        let remote = config.as_ref().and_then(|c| c.remotes.first());
        if let (Some(cfg), Some(path)) = (&config, &self.config) {
            for (i, r) in cfg.remotes.iter().enumerate() {
                notes.push(format!(
                    "config {}: remote {} {} {}{}",
                    path.display(),
                    r.host,
                    r.port.map(|p| p.to_string()).unwrap_or_default(),
                    r.proto.as_ref().map(|p| p.proto.name()).unwrap_or_default(),
                    if i == 0 { " (used)" } else { " (not used)" }
                ));
            }
        }

        let host = match (&self.host, &self.hostname) {
            (Some(a), Some(b)) if a != b => return Err(UsageError::TwoHosts(a.clone(), b.clone())),
            (Some(h), _) | (None, Some(h)) => h.clone(),
            (None, None) => remote.map(|r| r.host.clone()).ok_or(UsageError::NoHost)?,
        };
        if host.trim().is_empty() {
            return Err(UsageError::NoHost);
        }
        let port = self
            .port
            .or(remote.and_then(|r| r.port))
            .or(config.as_ref().and_then(|c| c.port))
            .unwrap_or(1194);
        let config_proto = remote
            .and_then(|r| r.proto.clone())
            .or(config.as_ref().and_then(|c| c.proto.clone()));
        let proto = if self.tcp {
            Proto::Tcp
        } else {
            config_proto.as_ref().map(|p| p.proto).unwrap_or(Proto::Udp)
        };
        let family = match (self.ipv4, self.ipv6) {
            (true, _) => Some(Family::V4),
            (_, true) => Some(Family::V6),
            _ => config_proto.and_then(|p| p.family),
        };
        let timeout = parse_timeout(&self.timeout)?;
        if self.retrycount < 1 {
            return Err(UsageError::RetryCount);
        }

        let cli_digest = self
            .digest
            .as_deref()
            .map(str::parse::<Digest>)
            .transpose()?;
        let cli_direction = match &self.key_direction {
            Some(text) => Some(
                text.parse::<KeyDirection>()
                    .map_err(UsageError::Direction)?,
            ),
            None if self.tls_auth_inverse => Some(KeyDirection::Zero),
            None => None,
        };
        let material = self.material(config.as_ref())?;
        let key_origin = match &material {
            Material::None => KeyOrigin::None,
            Material::Hex { .. } => KeyOrigin::Hex,
            Material::TlsAuth { source, .. }
            | Material::TlsCrypt { source, .. }
            | Material::V2 { source, .. } => match source {
                KeySource::File(_) => KeyOrigin::File,
                KeySource::Inline { .. } => KeyOrigin::Inline,
            },
        };
        let key_file = match &material {
            Material::TlsAuth { source, .. }
            | Material::TlsCrypt { source, .. }
            | Material::V2 { source, .. } => match source {
                KeySource::File(p) => Some(p.clone()),
                KeySource::Inline { .. } => self.config.clone(),
            },
            Material::None | Material::Hex { .. } => None,
        };
        if let Some(warning) = key_file.as_deref().and_then(loose_permissions) {
            notes.push(warning);
        }
        // The config's `auth` names the tls-auth digest; for other wraps it is a data
        // channel setting this check does not use, so it is only parsed when needed.
        let digest = |material_uses_it: bool| -> Result<Digest, UsageError> {
            match (cli_digest, config.as_ref().and_then(|c| c.auth.as_deref())) {
                (Some(d), _) => Ok(d),
                (None, Some(auth)) if material_uses_it => Ok(auth.parse()?),
                _ => Ok(Digest::Sha1),
            }
        };
        let direction_flag_given = self.key_direction.is_some() || self.tls_auth_inverse;
        let crypt = match material {
            Material::TlsCrypt { .. } => Some("tls-crypt"),
            Material::V2 { .. } => Some("tls-crypt-v2"),
            _ => None,
        };
        if let Some(crypt) = crypt {
            if direction_flag_given {
                return Err(UsageError::NotForTlsCrypt("--key-direction", crypt));
            }
            if self.digest_size.is_some() {
                return Err(UsageError::NotForTlsCrypt("--digest-size", crypt));
            }
        }

        let (wrap, candidates) = match &material {
            Material::None => {
                if direction_flag_given {
                    return Err(UsageError::DirectionWithoutKey);
                }
                (Wrap::None, vec![no_wrap_candidate()])
            }
            Material::TlsAuth {
                key,
                source,
                direction,
            } => {
                let digest = digest(true)?;
                // A flag wins; then the config's direction, also for a key given by flag
                // (which replaces only the key); then 1, the usual client side.
                let direction = cli_direction
                    .or(*direction)
                    .or(config.as_ref().and_then(ClientConfig::tls_auth_direction))
                    .unwrap_or(KeyDirection::One);
                notes.push(format!(
                    "tls-auth key: {} (sha256 {}…), key direction {direction}, digest {digest}",
                    source.describe(),
                    key.fingerprint()
                ));
                (
                    tls_auth(key, direction, digest, self.digest_size)?,
                    static_candidates(key, source),
                )
            }
            Material::TlsCrypt { key, source } => {
                notes.push(format!(
                    "tls-crypt key: {} (sha256 {}…)",
                    source.describe(),
                    key.fingerprint()
                ));
                (tls_crypt(key), static_candidates(key, source))
            }
            Material::V2 { key, source } => {
                notes.push(format!(
                    "tls-crypt-v2 client key: {} (sha256 {}…, wrapped key {} bytes)",
                    source.describe(),
                    key.kc.fingerprint(),
                    key.wkc.len()
                ));
                let advice = match source {
                    KeySource::File(p) => format!("--tls-crypt-v2 {}", p.display()),
                    KeySource::Inline { name, .. } => format!("the config's {name}"),
                };
                (
                    tls_crypt_v2(key),
                    vec![
                        Candidate {
                            label: "tls-crypt-v2".into(),
                            advice,
                            wrap: tls_crypt_v2(key),
                        },
                        no_wrap_candidate(),
                    ],
                )
            }
            Material::Hex { client, server } => {
                if direction_flag_given {
                    return Err(UsageError::DirectionWithoutKey);
                }
                let digest = digest(true)?;
                notes.push(format!(
                    "tls-auth hex keys: client sha256 {}…, server {}, digest {digest}",
                    client.fingerprint(),
                    server
                        .as_ref()
                        .map(|r| format!("sha256 {}…", r.fingerprint()))
                        .unwrap_or_else(|| "not given".into())
                ));
                let wrap = Wrap::TlsAuth(TlsAuth::new(
                    digest,
                    client,
                    server.as_ref(),
                    self.digest_size,
                )?);
                (wrap, hex_candidates(client, server.as_ref()))
            }
        };

        let login_flag = if self.login {
            Some("--login")
        } else if self.cert.is_some() {
            Some("--cert")
        } else if self.key.is_some() {
            Some("--key")
        } else if self.auth_user_pass.is_some() {
            Some("--auth-user-pass")
        } else {
            None
        };
        let stage_flag = if let Some(flag) = login_flag {
            Some(flag)
        } else if self.tls {
            Some("--tls")
        } else if self.ca.is_some() {
            Some("--ca")
        } else if self.certificate.is_some() {
            Some("-C/--certificate")
        } else if self.verify_x509_name.is_some() {
            Some("--verify-x509-name")
        } else if self.remote_cert_tls.is_some() {
            Some("--remote-cert-tls")
        } else {
            None
        };
        if let Some(flag) = stage_flag {
            if self.diagnose {
                return Err(UsageError::StageConflict(flag, "--diagnose"));
            }
            if self.no_validation {
                return Err(UsageError::StageConflict(flag, "--no-validation"));
            }
        }
        let stage = if login_flag.is_some() {
            Stage::Login
        } else if stage_flag.is_some() {
            Stage::Tls
        } else {
            Stage::Reset
        };
        let cert_days = self
            .certificate
            .as_deref()
            .map(parse_cert_days)
            .transpose()?;
        if let Some(r) = &self.remote_cert_tls {
            if r != "server" {
                return Err(UsageError::RemoteCertTls(r.clone()));
            }
        }
        // A config file alone never raises the stage; once it runs, it takes the
        // config's ca, verify-x509-name and remote-cert-tls too (flags win).
        let mut policy = Policy::default();
        if stage >= Stage::Tls {
            policy.ca = match (&self.ca, config.as_ref().and_then(|c| c.ca.as_ref())) {
                (Some(path), _) => Some(crate::chain::load_ca_file(path)?),
                (None, Some(KeySource::File(path))) => Some(crate::chain::load_ca_file(path)?),
                (None, Some(KeySource::Inline { text, name })) => {
                    Some(crate::chain::parse_ca_pem(text.as_bytes(), name)?)
                }
                (None, None) => None,
            };
            if let Some(ca) = &policy.ca {
                let from = match (&self.ca, &self.config) {
                    (Some(p), _) => p.display().to_string(),
                    (None, Some(c)) => format!("{} (ca)", c.display()),
                    (None, None) => String::new(),
                };
                notes.push(format!("CA certificates: {} from {from}", ca.len()));
            }
            let kind = self
                .verify_x509_type
                .as_deref()
                .map(str::parse::<NameType>)
                .transpose()
                .map_err(UsageError::NameType)?;
            policy.verify_name = match &self.verify_x509_name {
                Some(name) => Some((name.clone(), kind.unwrap_or(NameType::Subject))),
                None => config.as_ref().and_then(|c| c.verify_x509_name.clone()),
            };
            policy.remote_cert_tls_server = self.remote_cert_tls.is_some()
                || config.as_ref().is_some_and(|c| c.remote_cert_tls_server);
        }

        if self.wait_for_close && (stage != Stage::Login || proto != Proto::Tcp) {
            return Err(UsageError::WaitForCloseAlone);
        }
        let login = if stage == Stage::Login {
            Some(self.login_spec(config.as_ref(), &mut notes)?)
        } else {
            None
        };

        let thresholds = Thresholds {
            cert_days,
            warning: self
                .warning
                .as_deref()
                .map(str::parse::<Range>)
                .transpose()
                .map_err(UsageError::Warning)?,
            critical: self
                .critical
                .as_deref()
                .map(str::parse::<Range>)
                .transpose()
                .map_err(UsageError::Critical)?,
        };

        Ok(Settings {
            spec: CheckSpec {
                host: host.trim().to_string(),
                port,
                proto,
                family,
                timeout,
                attempts: self.retrycount,
                wrap,
                notes,
                validate: !self.no_validation,
                verbosity: self.verbose,
                stage,
                policy,
                login,
                bind: self.bind.or(config.as_ref().and_then(|c| c.local)),
                key_origin,
            },
            thresholds,
            diagnose: self.diagnose.then_some(candidates),
            all_addresses: self.all_addresses,
        })
    }
}

/// `-v`'s warning about a key or password file others can read.
fn key_path_warning(source: &KeySource) -> Option<String> {
    match source {
        KeySource::File(p) => loose_permissions(p),
        KeySource::Inline { .. } => None,
    }
}

/// `-C 30` or `-C 30,14`, as check_http and check_curl take it.
fn parse_cert_days(text: &str) -> Result<CertDays, UsageError> {
    let bad = || UsageError::CertDays(text.into());
    let number = |t: &str| t.trim().parse::<u32>().map_err(|_| bad());
    match text.split_once(',') {
        None => Ok(CertDays {
            warning: number(text)? as i64,
            critical: None,
        }),
        Some((w, c)) => {
            let (w, c) = (number(w)? as i64, number(c)? as i64);
            if w < c {
                return Err(bad());
            }
            Ok(CertDays {
                warning: w,
                critical: Some(c),
            })
        }
    }
}

fn no_wrap_candidate() -> Candidate {
    Candidate {
        label: "no tls-auth or tls-crypt".into(),
        advice: "no key flag: the server has neither tls-auth nor tls-crypt".into(),
        wrap: Wrap::None,
    }
}

const DIRECTIONS: [KeyDirection; 3] = [
    KeyDirection::One,
    KeyDirection::Zero,
    KeyDirection::Bidirectional,
];

/// Every way a static key can be used: tls-auth with each digest and direction,
/// tls-crypt, and, in case the server uses neither, no wrap.
fn static_candidates(key: &StaticKey, source: &KeySource) -> Vec<Candidate> {
    let mut out = Vec::new();
    for direction in DIRECTIONS {
        for digest in Digest::ALL {
            let advice = match source {
                KeySource::File(p) => format!(
                    "--tls-auth {} --digest {digest} --key-direction {direction}",
                    p.display()
                ),
                KeySource::Inline { name, .. } => format!(
                    "use the {name} as tls-auth with 'auth {digest}' and {}",
                    config_direction(direction)
                ),
            };
            if let Ok(wrap) = tls_auth(key, direction, digest, None) {
                out.push(Candidate {
                    label: format!("tls-auth {digest} key-direction {direction}"),
                    advice,
                    wrap,
                });
            }
        }
    }
    out.push(Candidate {
        label: "tls-crypt".into(),
        advice: match source {
            KeySource::File(p) => format!("--tls-crypt {}", p.display()),
            KeySource::Inline { name, .. } => format!("use the {name} as a <tls-crypt> block"),
        },
        wrap: tls_crypt(key),
    });
    out.push(no_wrap_candidate());
    out
}

fn config_direction(direction: KeyDirection) -> String {
    match direction {
        KeyDirection::Bidirectional => "no key-direction".into(),
        d => format!("'key-direction {d}'"),
    }
}

fn hex_candidates(client: &Secret, server: Option<&Secret>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Digest::ALL
        .iter()
        .filter_map(|&digest| {
            let wrap = TlsAuth::new(digest, client, server, None).ok()?;
            Some(Candidate {
                label: format!("tls-auth {digest}"),
                advice: format!("--digest {digest} with the same --digest-key-* flags"),
                wrap: Wrap::TlsAuth(wrap),
            })
        })
        .collect();
    out.push(no_wrap_candidate());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Result<Settings, UsageError> {
        let mut argv = vec!["check_openvpn"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("clap").into_settings()
    }

    #[test]
    fn python_defaults() {
        let s = settings(&["vpn.example.org"]).unwrap();
        assert_eq!(s.spec.port, 1194);
        assert_eq!(s.spec.proto, Proto::Udp);
        assert_eq!(s.spec.timeout, Duration::from_secs(2));
        assert_eq!(s.spec.attempts, 3);
        assert!(s.spec.validate);
        assert!(matches!(s.spec.wrap, Wrap::None));
    }

    #[test]
    fn hosts() {
        assert!(matches!(settings(&[]), Err(UsageError::NoHost)));
        assert_eq!(settings(&["-H", "a"]).unwrap().spec.host, "a");
        assert_eq!(settings(&["a", "-H", "a"]).unwrap().spec.host, "a");
        assert!(matches!(
            settings(&["a", "-H", "b"]),
            Err(UsageError::TwoHosts(..))
        ));
    }

    #[test]
    fn timeouts_and_counts() {
        assert_eq!(
            settings(&["h", "--timeout", "0.25"]).unwrap().spec.timeout,
            Duration::from_millis(250)
        );
        for bad in ["0", "-1", "x", "nan", "inf", "99999"] {
            assert!(
                matches!(
                    settings(&["h", "--timeout", bad]),
                    Err(UsageError::Timeout(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            settings(&["h", "--retrycount", "0"]),
            Err(UsageError::RetryCount)
        ));
    }

    #[test]
    fn flag_conflicts_are_usage_errors() {
        let clap_rejects = |args: &[&str]| {
            let mut argv = vec!["check_openvpn", "h"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).is_err()
        };
        assert!(clap_rejects(&["-4", "-6"]));
        assert!(clap_rejects(&[
            "--tls-auth-inverse",
            "--key-direction",
            "0"
        ]));
        assert!(clap_rejects(&["--port", "0"]));
        assert!(clap_rejects(&["--port", "65536"]));
        assert!(matches!(
            settings(&["h", "--tls-auth", "k", "--digest-key-client", "00"]),
            Err(UsageError::TwoWraps("--tls-auth", "--digest-key-client", _))
        ));
        assert!(matches!(
            settings(&["h", "--tls-crypt", "k", "--tls-crypt-v2", "v"]),
            Err(UsageError::TwoWraps("--tls-crypt", "--tls-crypt-v2", _))
        ));
        assert!(clap_rejects(&["--diagnose", "--no-validation"]));
        assert!(matches!(
            settings(&["h", "--digest-key-server", "00"]),
            Err(UsageError::ServerKeyAlone)
        ));
        assert!(matches!(
            settings(&["h", "--key-direction", "1"]),
            Err(UsageError::DirectionWithoutKey)
        ));
        assert!(matches!(
            settings(&["h", "--digest", "md4"]),
            Err(UsageError::Digest(_))
        ));
        assert!(matches!(
            settings(&["h", "-w", "2:1"]),
            Err(UsageError::Warning(_))
        ));
        assert!(matches!(
            settings(&["h", "--digest-key-client", "00", "--digest-size", "21"]),
            Err(UsageError::TagLen(_))
        ));
    }

    #[test]
    fn hex_keys_make_tls_auth() {
        let s = settings(&["h", "--digest", "sha256", "--digest-key-client", "00112233"]).unwrap();
        match s.spec.wrap {
            Wrap::TlsAuth(t) => {
                assert_eq!(t.digest(), Digest::Sha256);
                assert!(!t.checks_server());
            }
            other => panic!("{other:?}"),
        }
        assert!(!s.spec.notes.join(" ").contains("00112233"));
    }
}
