//! What the flags mean together: flags over the config file (precedence), key material
//! and credentials loaded with their limits, usage errors, and the [`Settings`] a check
//! runs with.

use super::definition::Cli;
use super::diagnose::{hex_candidates, no_wrap_candidate, static_candidates};
use crate::chain::{NameType, Policy};
use crate::check::http::{HttpSpec, HttpSpecError};
use crate::check::{
    Bind, Candidate, CheckSpec, KeyOrigin, LoginSpec, Note, PingSpec, RemoteRun, Unchecked,
};
use crate::config::{ChallengeFormat, ClientConfig, ConfigError, ConfigWrap, OpenVpnTakes};
use crate::digest::{Digest, UnknownDigest};
use crate::keys::credentials::{CredentialError, USER_PASS_LEN};
use crate::keys::static_keys::{loose_permissions, parse_hex_key, KeyDirection, KeyError};
use crate::keys::wrap::{self, TlsAuthUse, WrapKind};
use crate::keys::KeySource;
use crate::net::{Family, Proto};
use crate::proto::login::DataSettings;
use crate::proto::Stage;
use crate::range::Range;
use crate::report::{CertDays, Thresholds};
use crate::wire::material::{tls_crypt_v2, Material};
use crate::wire::{BadTagLen, Wrap};
use rustls::pki_types::CertificateDer;
use std::time::Duration;

/// The longest `--timeout` accepted; a monitoring engine kills a check long before this.
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// The shortest: below a millisecond a timeout would round to nothing and turn the
/// retries into a flood.
const MIN_TIMEOUT_SECS: f64 = 0.001;

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("no host given (use HOST, -H/--hostname, or a config with a 'remote' line)")]
    NoHost,
    #[error("--remote '{given}': the config has no such remote (its remotes: {list})")]
    NoSuchRemote { given: String, list: String },
    #[error("remote {number} of the config: its <connection> block sets its own {directive} (line {line}), which this check does not read; give that key as --{directive} FILE")]
    OwnWrap {
        number: usize,
        directive: String,
        line: usize,
    },
    #[error("{0}")]
    Through(String),
    #[error("--all-addresses probes the addresses of one host, and the config has {0} remotes: choose one with --remote N")]
    AllAddressesRemotes(usize),
    #[error("two different hosts given: '{0}' and -H '{1}'")]
    TwoHosts(String, String),
    #[error(
        "--timeout '{0}' is not a number of seconds from {MIN_TIMEOUT_SECS} to {MAX_TIMEOUT_SECS}"
    )]
    Timeout(String),
    #[error("--retrycount must be at least 1")]
    RetryCount,
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
    #[error("--ping-warning: {0}")]
    PingWarning(crate::report::BadPingLimits),
    #[error("--ping-critical: {0}")]
    PingCritical(crate::report::BadPingLimits),
    #[error("--clients-warning: {0}")]
    ClientsWarning(crate::range::RangeError),
    #[error("--clients-critical: {0}")]
    ClientsCritical(crate::range::RangeError),
    #[error("{0} belongs to --server-config FILE, the check of a server on its own host")]
    ServerOnly(&'static str),
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
    #[error("--peer-fingerprint: {0}")]
    PeerFingerprint(String),
    #[error(transparent)]
    Ca(#[from] crate::chain::CaError),
    #[error(transparent)]
    Credential(#[from] crate::keys::credentials::CredentialError),
    #[error("--wait-for-close applies to the login stage over TCP (--tcp with --login, --cert or --auth-user-pass)")]
    WaitForCloseAlone,
    #[error("--login needs something to log in with: a client certificate (--cert and --key, or the config's cert and key) and/or --auth-user-pass (or the config's auth-user-pass FILE)")]
    NothingToLogInWith,
    #[error("{file}, line {line}, 'auth-user-pass': no file, so OpenVPN would prompt for the password, which a check cannot answer: give the file on that line, or --auth-user-pass FILE (OpenVPN itself accepts this line)")]
    PromptForPassword { file: String, line: usize },
    #[error("{file}, line {line}, '{directive}': {reason} ({openvpn})")]
    InConfig {
        file: String,
        line: usize,
        directive: &'static str,
        reason: String,
        openvpn: OpenVpnTakes,
    },
    #[error("{file}, line {line}, 'static-challenge': the account asks for a second factor (\"{prompt}\") with its password, which a check cannot type. For monitoring, use an account without OTP, or log in with a certificate only (--cert and --key, without auth-user-pass); or give the account's TOTP secret with --totp-secret FILE (OpenVPN itself accepts this line, and prompts for the code)")]
    StaticChallenge {
        file: String,
        line: usize,
        prompt: String,
    },
    #[error("{file}, line {line}, '{directive}': the client's key is held where a check cannot reach it (a token, the system's certificate store or a management client); give the check a certificate and key of its own with --cert and --key (OpenVPN itself accepts this line)")]
    ExternalKey {
        file: String,
        line: usize,
        directive: String,
    },
    #[error("{file}, line {line}, '{directive}': this client reaches its server through a proxy, which check_openvpn cannot do; check the server directly: give its address with -H (and -p) besides --config (OpenVPN itself accepts this line)")]
    Proxy {
        file: String,
        line: usize,
        directive: String,
    },
    #[error("--totp-secret answers the second factor of a password: it needs --login with --auth-user-pass (or the config's auth-user-pass)")]
    TotpWithoutPassword,
    #[error("'{0}': no compression OpenVPN knows (--comp-lzo [yes|no|adaptive], --compress [stub|stub-v2|lzo|lz4|lz4-v2|migrate])")]
    Compression(String),
    #[error("{0} (OpenVPN itself refuses this too)")]
    AllowCompression(String),
    #[error("the password with its TOTP answer takes {0} bytes, more than OpenVPN accepts (127)")]
    ChallengeTooLong(usize),
}

/// What `main` needs beyond the spec.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spec: CheckSpec,
    pub thresholds: Thresholds,
    pub mode: Mode,
}

/// Which check runs.
#[derive(Debug, Clone)]
pub enum Mode {
    /// One check of the host's first address.
    Single,
    /// `--all-addresses`: every address of the host, the worst state wins.
    EveryAddress,
    /// `--diagnose`: these ways of using the key, instead of the one in the spec.
    Diagnose(Vec<Candidate>),
    /// A config with several remotes, no host and no `--remote`: each remote checked at
    /// once, each with its own spec.
    Remotes(Vec<RemoteRun>),
}

pub(super) fn parse_timeout(text: &str) -> Result<Duration, UsageError> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::Timeout(text.into()))?;
    if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(UsageError::Timeout(text.into()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// What [`Cli::load`] read from disk.
pub struct Loaded {
    /// The client config of `--config`.
    pub config: Option<ClientConfig>,
    /// The control channel's key, or why it could not be had.
    pub key: Result<LoadedKey, UsageError>,
    /// The TLS stage's files, when a flag runs the stage.
    pub tls: Option<LoadedTls>,
    /// The login stage's credentials, when a flag runs the stage.
    pub credentials: Option<Result<Credentials, UsageError>>,
    /// `--http`'s request with the CA roots of an https URL, when the flag is given.
    pub http: Option<Result<HttpSpec, HttpSpecError>>,
}

/// What the login stage logs in with ([`Cli::load_credentials`]).
pub struct Credentials {
    pub client: Option<crate::keys::credentials::ClientCert>,
    pub user_pass: Option<crate::keys::credentials::UserPass>,
    /// `-v`'s notes about them.
    pub notes: Vec<Note>,
}

/// The config's `capath`: the folder, its CA certificates and its CRLs (DER).
pub struct Capath {
    pub dir: std::path::PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
    pub crls: Vec<Vec<u8>>,
}

/// The TLS stage's files ([`Cli::load_tls`]), each read or why not.
pub struct LoadedTls {
    pub ca: Result<Option<Vec<CertificateDer<'static>>>, UsageError>,
    pub capath: Result<Option<Capath>, UsageError>,
    pub crl: Result<Option<crate::chain::ClientCrl>, UsageError>,
}

/// The control channel's key material, and `-v`'s warning when others can read its file.
pub struct LoadedKey {
    pub material: Material,
    pub loose: Option<Note>,
}

/// A remote of the config: its number (from 0), host, port, protocol and family.
type Target = (usize, String, u16, Proto, Option<Family>);

/// Where a check goes ([`Cli::aim`]).
struct Aim {
    /// Several remotes and none chosen: each is checked.
    every_remote: bool,
    /// Every remote of the config.
    targets: Vec<Target>,
    host: String,
    port: u16,
    proto: Proto,
    family: Option<Family>,
}

/// The control channel's protection ([`Cli::protection`]).
struct Protection {
    wrap: Wrap,
    /// What `--diagnose` tries.
    candidates: Vec<Candidate>,
    key_origin: KeyOrigin,
    /// tls-auth: the key direction the options string says (`keydir`).
    tls_auth_direction: Option<KeyDirection>,
}

impl Cli {
    /// The index of the config's remote that `--remote` names (a number from 1, or a
    /// host), else the first.
    fn chosen_remote(&self, config: Option<&ClientConfig>) -> Result<usize, UsageError> {
        let (Some(given), Some(cfg)) = (&self.remote, config) else {
            return Ok(0);
        };
        let found = match given.trim().parse::<usize>() {
            Ok(n) => (1..=cfg.remotes.len()).contains(&n).then(|| n - 1),
            Err(_) => cfg
                .remotes
                .iter()
                .position(|r| r.host.eq_ignore_ascii_case(given.trim())),
        };
        found.ok_or_else(|| UsageError::NoSuchRemote {
            given: given.clone(),
            list: if cfg.remotes.is_empty() {
                "none".into()
            } else {
                cfg.remotes
                    .iter()
                    .enumerate()
                    .map(|(i, r)| format!("{} {}", i + 1, r.host))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
    }

    /// Reads what the login stage logs in with, flags first, then the config's: the
    /// client certificate and key (or the pkcs12 bundle), the auth-user-pass file, and
    /// the TOTP secret whose current code goes with the password. `-v`'s notes about
    /// them come along.
    fn load_credentials(&self, config: Option<&ClientConfig>) -> Result<Credentials, UsageError> {
        let mut said = Vec::new();
        let notes = &mut said;
        let from_cfg = |f: fn(&ClientConfig) -> Option<KeySource>| config.and_then(f);
        // clap gives --cert and --key together or neither.
        let (cert, key, extra, cfg_pair) = match self.cert.as_ref().zip(self.key.as_ref()) {
            Some((c, k)) => (
                Some(KeySource::File(c.clone())),
                Some(KeySource::File(k.clone())),
                None,
                None,
            ),
            None => (
                from_cfg(|c| c.cert.clone()),
                from_cfg(|c| c.key.clone()),
                from_cfg(|c| c.extra_certs.clone()),
                config,
            ),
        };
        let p12 = match (&self.cert, config) {
            (None, Some(cfg)) => cfg.pkcs12.clone().map(|p| (cfg, p)),
            _ => None,
        };
        let client = if let Some((cfg, source)) = p12 {
            if cfg.cert.is_some() || cfg.key.is_some() {
                return Err(in_config(
                    cfg,
                    "pkcs12",
                    "'pkcs12' and 'cert'/'key' both: a client takes its certificate and key from one of them".into(),
                    OpenVpnTakes::No,
                ));
            }
            let loaded = crate::keys::credentials::load_pkcs12(&source)
                .map_err(|e| credential_in_config_as(cfg, e, Some("pkcs12")))?
                .client;
            self.client_notes(&loaded, &source, &source, notes);
            Some(loaded)
        } else {
            match (cert, key) {
                (Some(c), Some(k)) => {
                    let loaded = crate::keys::credentials::load_client_cert(&c, &k, extra.as_ref())
                        .map_err(|e| match cfg_pair {
                            Some(cfg) => credential_in_config(cfg, e),
                            None => e.into(),
                        })?;
                    self.client_notes(&loaded, &c, &k, notes);
                    Some(loaded)
                }
                (Some(_), None) => {
                    return Err(CredentialError::Pair("the config's cert", "a key").into())
                }
                (None, Some(_)) => {
                    return Err(CredentialError::Pair("the config's key", "a cert").into())
                }
                (None, None) => {
                    // Logging in without the certificate the server expects would read as a
                    // refusal: say so before sending.
                    if let Some((directive, file, line)) =
                        config.and_then(|c| c.external_key.clone())
                    {
                        return Err(UsageError::ExternalKey {
                            file,
                            line,
                            directive,
                        });
                    }
                    None
                }
            }
        };
        let (user_pass, pass_in_cfg) = match (
            &self.auth_user_pass,
            config.and_then(|c| c.auth_user_pass.clone()),
        ) {
            (Some(p), _) => (Some(KeySource::File(p.clone())), None),
            (None, Some(Some(source))) => (Some(source), config),
            (None, Some(None)) => {
                let (file, line) = config
                    .and_then(|c| c.at("auth-user-pass"))
                    .unwrap_or_default();
                return Err(UsageError::PromptForPassword { file, line });
            }
            (None, None) => (None, None),
        };
        let user_pass = match user_pass {
            Some(source) => {
                let mut up =
                    crate::keys::credentials::read_user_pass(&source).map_err(
                        |e| match pass_in_cfg {
                            Some(cfg) => credential_in_config(cfg, e),
                            None => e.into(),
                        },
                    )?;
                notes.push(Note::AuthUserPass {
                    source: source.clone(),
                    user: up.user.to_string(),
                });
                if let Some(w) = key_path_warning(&source) {
                    notes.push(w);
                }
                self.answer_challenge(config, &mut up, notes)?;
                Some(up)
            }
            None if self.totp_secret.is_some() => return Err(UsageError::TotpWithoutPassword),
            None => None,
        };
        Ok(Credentials {
            client,
            user_pass,
            notes: said,
        })
    }

    /// The login stage from the `credentials` [`Cli::load`] read, and the data channel
    /// as the flags and the config set it. No I/O.
    fn login_spec(
        &self,
        config: Option<&ClientConfig>,
        credentials: Result<Credentials, UsageError>,
        notes: &mut Vec<Note>,
    ) -> Result<LoginSpec, UsageError> {
        let Credentials {
            client,
            user_pass,
            notes: said,
        } = credentials?;
        notes.extend(said);
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
                data: self.data_settings(config)?,
                tls_auth: None,
            },
            client_auth: client.map(|c| c.certified),
            who,
            wait_for_close: self.wait_for_close,
        })
    }

    /// The data channel as the flags and the config set it (flags win): `cipher`,
    /// `data-ciphers`, `auth` (`--auth`, else `--digest`, which names the server's `auth`
    /// too), compression and `tun-mtu`.
    fn data_settings(&self, config: Option<&ClientConfig>) -> Result<DataSettings, UsageError> {
        use crate::proto::data::Compression;
        let auth = match (
            &self.auth,
            &self.digest,
            config.and_then(|c| c.auth.as_deref()),
        ) {
            (Some(flag), _, _) => Some(flag.parse::<Digest>()?),
            (None, Some(digest), _) => Some(digest.parse::<Digest>()?),
            // `auth none`: no HMAC, which the AEAD ciphers never use anyway.
            (None, None, Some(a)) if a.eq_ignore_ascii_case("none") => None,
            (None, None, Some(a)) => Some(a.parse::<Digest>().map_err(|e| match config {
                Some(cfg) => in_config(cfg, "auth", e.to_string(), OpenVpnTakes::IfItsOpenSslKnows),
                None => e.into(),
            })?),
            (None, None, None) => None,
        };
        let flag_compression = |name: &'static str, value: &Option<String>| {
            value.as_deref().map(|v| {
                let arg = (!v.is_empty()).then_some(v);
                match Compression::from_option(name, arg) {
                    Some(Ok(c)) => Ok(c),
                    _ => Err(UsageError::Compression(
                        format!("--{name} {v}").trim().to_string(),
                    )),
                }
            })
        };
        let compression = match (
            flag_compression("comp-lzo", &self.comp_lzo).transpose()?,
            flag_compression("compress", &self.compress).transpose()?,
        ) {
            (Some(c), _) | (None, Some(c)) => Some(c),
            (None, None) => config.and_then(|c| c.compression),
        };
        // What a pushed compression meets: the config's lines, a flag in place of the
        // config's lines of its kind, as if written last.
        let mut lines: Vec<(String, Option<String>, usize)> = config
            .map(|c| c.compression_lines.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, ..)| {
                if name == "allow-compression" {
                    self.allow_compression.is_none()
                } else {
                    self.comp_lzo.is_none() && self.compress.is_none()
                }
            })
            .collect();
        for (name, value) in [
            ("comp-lzo", &self.comp_lzo),
            ("compress", &self.compress),
            ("allow-compression", &self.allow_compression),
        ] {
            if let Some(v) = value {
                lines.push((name.to_string(), (!v.is_empty()).then(|| v.clone()), 0));
            }
        }
        let compression_rules =
            crate::config::compression_rules(&lines).map_err(|(line, _, message)| {
                let at = match config {
                    Some(cfg) if line > 0 => format!("{}, line {line}: ", cfg.file),
                    _ => "--allow-compression: ".into(),
                };
                UsageError::AllowCompression(format!("{at}{message}"))
            })?;
        let allow_compression = match &self.allow_compression {
            Some(a) => Some(a.parse().map_err(UsageError::Compression)?),
            None => config.and_then(|c| c.allow_compression),
        };
        let list = |text: &str| -> Vec<String> {
            text.split(':')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        };
        Ok(DataSettings {
            cipher: self
                .cipher
                .clone()
                .or_else(|| config.and_then(|c| c.cipher.clone())),
            data_ciphers: match &self.data_ciphers {
                Some(text) => Some(list(text)),
                None => config.and_then(|c| c.data_ciphers.clone()),
            },
            auth,
            compression,
            tun_mtu: self.tun_mtu.or(config.and_then(|c| c.tun_mtu)),
            compression_rules,
            allow_compression,
            tap: config.and_then(|c| c.tap),
        })
    }

    /// `-v`'s notes about a client certificate and its key.
    fn client_notes(
        &self,
        loaded: &crate::keys::credentials::ClientCert,
        cert: &KeySource,
        key: &KeySource,
        notes: &mut Vec<Note>,
    ) {
        notes.push(Note::ClientCertificate {
            source: cert.clone(),
            common_name: loaded.common_name.clone(),
            fingerprint: loaded.fingerprint.clone(),
            key: key.clone(),
        });
        if let Some(bits) = loaded.rsa_bits.filter(|b| *b < 2048) {
            notes.push(Note::WeakClientKey {
                source: key.clone(),
                bits,
            });
        }
        if let Some(w) = key_path_warning(key) {
            notes.push(w);
        }
    }

    /// A config's `static-challenge`: without `--totp-secret` the check stops here, before
    /// anything is sent; with it the password carries the current code, as OpenVPN's
    /// clients send it.
    fn answer_challenge(
        &self,
        config: Option<&ClientConfig>,
        up: &mut crate::keys::credentials::UserPass,
        notes: &mut Vec<Note>,
    ) -> Result<(), UsageError> {
        let challenge = config.and_then(|c| c.static_challenge.as_ref().map(|s| (c, s)));
        let Some(path) = &self.totp_secret else {
            return match challenge {
                Some((_, sc)) => Err(UsageError::StaticChallenge {
                    file: sc.file.clone(),
                    line: sc.line,
                    prompt: sc.text.clone(),
                }),
                None => Ok(()),
            };
        };
        let secret = crate::keys::totp::TotpSecret::from_file(path)?;
        if let Some(w) = key_path_warning(&KeySource::File(path.clone())) {
            notes.push(w);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let code = secret.code(now);
        let format = challenge
            .map(|(_, sc)| sc.format)
            .unwrap_or(ChallengeFormat::Scrv1);
        let password = zeroize::Zeroizing::new(match format {
            ChallengeFormat::Scrv1 => {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD;
                format!(
                    "SCRV1:{}:{}",
                    zeroize::Zeroizing::new(b64.encode(up.password.as_bytes())).as_str(),
                    zeroize::Zeroizing::new(b64.encode(code.as_bytes())).as_str()
                )
            }
            ChallengeFormat::Concat => format!("{}{}", up.password.as_str(), code.as_str()),
        });
        if password.len() >= USER_PASS_LEN {
            return Err(UsageError::ChallengeTooLong(password.len()));
        }
        up.password = password;
        notes.push(Note::ChallengeAnswered {
            secret: path.display().to_string(),
            format: match format {
                ChallengeFormat::Scrv1 => "SCRV1",
                ChallengeFormat::Concat => "concat",
            },
        });
        Ok(())
    }

    /// The key material: from the wrap flag if one was given (clap's group `wrap` lets
    /// one through), else from the config.
    fn material(&self, config: Option<&ClientConfig>) -> Result<Material, UsageError> {
        for (path, kind) in [
            (&self.tls_auth, WrapKind::TlsAuth),
            (&self.tls_crypt, WrapKind::TlsCrypt),
            (&self.tls_crypt_v2, WrapKind::TlsCryptV2),
        ] {
            if let Some(path) = path {
                return Ok(wrap::load(kind, KeySource::File(path.clone()), None)?);
            }
        }
        // clap gives --digest-key-server only with --digest-key-client.
        if let Some(client) = &self.digest_key_client {
            return Ok(Material::Hex {
                client: parse_hex_key(client, "--digest-key-client")?,
                server: self
                    .digest_key_server
                    .as_deref()
                    .map(|s| parse_hex_key(s, "--digest-key-server"))
                    .transpose()?,
            });
        }
        let Some(cfg) = config else {
            return Ok(Material::None);
        };
        let Some(config_wrap) = cfg.wrap.clone() else {
            return Ok(Material::None);
        };
        // A key the config names that cannot be read stops OpenVPN too.
        let directive = config_wrap.directive();
        let ctx = |e: KeyError| in_config(cfg, directive, e.to_string(), OpenVpnTakes::No);
        let (kind, source) = match config_wrap {
            ConfigWrap::TlsAuth { key, .. } => (WrapKind::TlsAuth, key),
            ConfigWrap::TlsCrypt(source) => (WrapKind::TlsCrypt, source),
            ConfigWrap::TlsCryptV2(source) => (WrapKind::TlsCryptV2, source),
        };
        wrap::load(kind, source, cfg.tls_auth_direction()).map_err(ctx)
    }

    /// The deepest stage a flag asks for: the login for a credential or a question
    /// through the tunnel, TLS for a certificate flag, else the reset. (clap's group
    /// `stage` keeps these flags from `--diagnose` and `--no-validation`.) Pure: flags
    /// only.
    fn stage(&self) -> Stage {
        let login = self.login
            || self.cert.is_some()
            || self.key.is_some()
            || self.auth_user_pass.is_some()
            || self.ping
            || self.ping_address.is_some()
            || self.ping_count.is_some()
            || self.ping_warning.is_some()
            || self.ping_critical.is_some()
            || self.dns.is_some()
            || self.tcp_connect.is_some()
            || self.http.is_some();
        let tls = self.tls
            || self.ca.is_some()
            || self.certificate.is_some()
            || self.verify_x509_name.is_some()
            || self.remote_cert_tls.is_some()
            || !self.peer_fingerprint.is_empty();
        if login {
            Stage::Login
        } else if tls {
            Stage::Tls
        } else {
            Stage::Reset
        }
    }

    /// Where the check goes, from the flags over the config: every remote of the config
    /// with the port and protocol it gets (said in `notes`), whether each is checked, and
    /// the one host, port, protocol and family of a single check. No I/O.
    fn aim(&self, config: Option<&ClientConfig>, notes: &mut Vec<Note>) -> Result<Aim, UsageError> {
        let chosen = self.chosen_remote(config)?;
        // Several remotes, none chosen: each is checked, as clients fall back from one to
        // the next.
        let every_remote = config.is_some_and(|c| c.remotes.len() > 1)
            && self.remote.is_none()
            && self.host.is_none()
            && self.hostname.is_none()
            && !self.diagnose;
        if every_remote && self.all_addresses {
            return Err(UsageError::AllAddressesRemotes(
                config.map_or(0, |c| c.remotes.len()),
            ));
        }
        let remote = config.and_then(|c| c.remotes.get(chosen));
        let wrap_flag = self.tls_auth.is_some()
            || self.tls_crypt.is_some()
            || self.tls_crypt_v2.is_some()
            || self.digest_key_client.is_some();
        if let Some((directive, line)) = remote.and_then(|r| r.own_wrap.clone()) {
            if !every_remote && !wrap_flag {
                return Err(UsageError::OwnWrap {
                    number: chosen + 1,
                    directive,
                    line,
                });
            }
        }
        let targets: Vec<(usize, String, u16, Proto, Option<Family>)> = match config {
            Some(cfg) => cfg
                .remotes
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let p = r.proto.as_ref().or(cfg.proto.as_ref());
                    (
                        i,
                        r.host.clone(),
                        self.port.or(r.port).or(cfg.port).unwrap_or(1194),
                        if self.tcp {
                            Proto::Tcp
                        } else {
                            p.map(|p| p.proto).unwrap_or(Proto::Udp)
                        },
                        p.and_then(|p| p.family),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        if let (Some(cfg), Some(path)) = (config, &self.config) {
            // Each remote with the port and protocol it gets (OpenVPN's defaults: the
            // config's port or 1194, its proto or UDP; the flags' when given).
            for (i, host, port, proto, _) in &targets {
                let r = &cfg.remotes[*i];
                let checkable = cfg.proxy_of(r).is_none() && r.own_wrap.is_none();
                let used = (every_remote && checkable) || *i == chosen;
                let config_port = r.port.or(cfg.port).unwrap_or(1194);
                notes.push(Note::ConfigRemote {
                    config: path.display().to_string(),
                    host: host.clone(),
                    port: Some(if used { *port } else { config_port }),
                    proto: Some(*proto),
                    used,
                });
            }
        }

        let host = match (&self.host, &self.hostname) {
            (Some(a), Some(b)) if a != b => return Err(UsageError::TwoHosts(a.clone(), b.clone())),
            (Some(h), _) | (None, Some(h)) => h.clone(),
            (None, None) => {
                let cfg_remote = config.zip(remote);
                // A remote behind a proxy is not checked; with several, the others are.
                let all_proxied = config.is_some_and(|c| {
                    every_remote && c.remotes.iter().all(|r| c.proxy_of(r).is_some())
                });
                if !every_remote || all_proxied {
                    if let Some((directive, file, line)) =
                        cfg_remote.and_then(|(c, r)| c.proxy_of(r))
                    {
                        return Err(UsageError::Proxy {
                            file,
                            line,
                            directive,
                        });
                    }
                }
                remote.map(|r| r.host.clone()).ok_or(UsageError::NoHost)?
            }
        };
        if host.trim().is_empty() {
            return Err(UsageError::NoHost);
        }
        let port = self
            .port
            .or(remote.and_then(|r| r.port))
            .or(config.and_then(|c| c.port))
            .unwrap_or(1194);
        let config_proto = remote
            .and_then(|r| r.proto.clone())
            .or(config.and_then(|c| c.proto.clone()));
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
        Ok(Aim {
            every_remote,
            targets,
            host,
            port,
            proto,
            family,
        })
    }

    /// The control channel's protection, from the flags over the config: the wrap made
    /// from the `key` [`Cli::load`] read, the other wraps `--diagnose` tries, the key's
    /// origin, and the tls-auth direction the options string tells the server; what was
    /// loaded is said in `notes`. No I/O.
    fn protection(
        &self,
        config: Option<&ClientConfig>,
        key: Result<LoadedKey, UsageError>,
        notes: &mut Vec<Note>,
    ) -> Result<Protection, UsageError> {
        // `--auth` names the server's `auth` as OpenVPN does: the tls-auth digest too,
        // unless `--digest` (the original flag) says otherwise.
        let cli_digest = self
            .digest
            .as_deref()
            .or(self.auth.as_deref())
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
        let LoadedKey { material, loose } = key?;
        notes.extend(loose);
        // The config's `auth` names the tls-auth digest; for other wraps it is a data
        // channel setting this check does not use, so it is only parsed when needed.
        let digest = |material_uses_it: bool| -> Result<Digest, UsageError> {
            match (cli_digest, config.and_then(|c| c.auth.as_deref())) {
                (Some(d), _) => Ok(d),
                // As OpenVPN: "tls-auth enabled, but no valid --auth algorithm".
                (None, Some(auth)) if material_uses_it && auth.eq_ignore_ascii_case("none") => {
                    Err(match config {
                        Some(cfg) => in_config(
                            cfg,
                            "auth",
                            "tls-auth needs an HMAC digest, and 'none' names none".into(),
                            OpenVpnTakes::No,
                        ),
                        None => UnknownDigest(auth.to_string()).into(),
                    })
                }
                (None, Some(auth)) if material_uses_it => {
                    auth.parse().map_err(|e: UnknownDigest| match config {
                        Some(cfg) => {
                            in_config(cfg, "auth", e.to_string(), OpenVpnTakes::IfItsOpenSslKnows)
                        }
                        None => e.into(),
                    })
                }
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

        // How tls-auth uses the key; the direction is the one the options string tells
        // the server (`keydir`).
        let mut tls_auth_use = None;
        let candidates = match &material {
            Material::None => {
                if direction_flag_given {
                    return Err(UsageError::DirectionWithoutKey);
                }
                vec![no_wrap_candidate()]
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
                    .or(config.and_then(ClientConfig::tls_auth_direction))
                    .unwrap_or(KeyDirection::One);
                notes.push(Note::StaticKey {
                    wrap: "tls-auth",
                    source: source.clone(),
                    fingerprint: key.fingerprint(),
                    tls_auth: Some((direction, digest)),
                });
                tls_auth_use = Some(TlsAuthUse {
                    direction,
                    digest,
                    size: self.digest_size,
                });
                static_candidates(key, source)
            }
            Material::TlsCrypt { key, source } => {
                notes.push(Note::StaticKey {
                    wrap: "tls-crypt",
                    source: source.clone(),
                    fingerprint: key.fingerprint(),
                    tls_auth: None,
                });
                static_candidates(key, source)
            }
            Material::V2 { key, source } => {
                notes.push(Note::V2Key {
                    source: source.clone(),
                    fingerprint: key.kc.fingerprint(),
                    wrapped_len: key.wkc.len(),
                });
                let advice = match source {
                    KeySource::File(p) => format!("--tls-crypt-v2 {}", p.display()),
                    KeySource::Inline { name, .. } => format!("the config's {name}"),
                };
                vec![
                    Candidate {
                        label: "tls-crypt-v2".into(),
                        advice,
                        wrap: tls_crypt_v2(key),
                    },
                    no_wrap_candidate(),
                ]
            }
            // (clap keeps --key-direction and --tls-auth-inverse from hex keys.)
            Material::Hex { client, server } => {
                let digest = digest(true)?;
                notes.push(Note::HexKeys {
                    client: client.fingerprint(),
                    server: server.as_ref().map(|r| r.fingerprint()),
                    digest,
                });
                tls_auth_use = Some(TlsAuthUse {
                    direction: KeyDirection::Bidirectional,
                    digest,
                    size: self.digest_size,
                });
                hex_candidates(client, server.as_ref())
            }
        };
        let (wrap, key_origin) = wrap::build(&material, tls_auth_use.unwrap_or_default())?;
        Ok(Protection {
            wrap,
            candidates,
            key_origin,
            tls_auth_direction: tls_auth_use.map(|t| t.direction),
        })
    }

    /// The settings of one check: the files read ([`Cli::load`]), then the flags weighed
    /// against the config ([`Cli::resolve`]).
    pub fn into_settings(self) -> Result<Settings, UsageError> {
        let loaded = self.load()?;
        self.resolve(loaded)
    }

    /// Reads what the flags and the config name: the config, then the control channel's
    /// key (flag first, else the config's) and whether others can read its file. A config
    /// that cannot be read stops here; the key's error waits for its turn in
    /// [`Cli::resolve`], so a check with several faults names the same one as always.
    pub fn load(&self) -> Result<Loaded, UsageError> {
        let config = self
            .config
            .as_deref()
            .map(ClientConfig::from_file)
            .transpose()?;
        let key = self.material(config.as_ref()).map(|material| {
            let key_file = match &material {
                Material::TlsAuth { source, .. }
                | Material::TlsCrypt { source, .. }
                | Material::V2 { source, .. } => match source {
                    KeySource::File(p) => Some(p.clone()),
                    KeySource::Inline { .. } => self.config.clone(),
                },
                Material::None | Material::Hex { .. } => None,
            };
            let loose = key_file.and_then(|path| {
                loose_permissions(&path).map(|mode| Note::LoosePermissions {
                    path: path.display().to_string(),
                    mode,
                })
            });
            LoadedKey { material, loose }
        });
        let tls = (self.stage() >= Stage::Tls).then(|| self.load_tls(config.as_ref()));
        let credentials =
            (self.stage() == Stage::Login).then(|| self.load_credentials(config.as_ref()));
        Ok(Loaded {
            config,
            key,
            tls,
            credentials,
            http: self.load_http(),
        })
    }

    /// `--http`'s request and, for an https URL, the roots its server must lead to
    /// (`--http-ca`, else the system's trust store). The error waits for its turn in
    /// [`Cli::resolve`].
    fn load_http(&self) -> Option<Result<HttpSpec, HttpSpecError>> {
        let url = self.http.as_deref()?;
        Some((|| {
            let mut spec = HttpSpec::parse(
                url.trim(),
                self.http_expect.as_deref(),
                self.http_ca.as_deref(),
            )?;
            spec.load_roots()?;
            Ok(spec)
        })())
    }

    /// Reads the TLS stage's files when a flag runs it: the CA certificates (`--ca`, else
    /// the config's `ca` file or block, else its pkcs12 bundle's), the config's `capath`
    /// (unless `--ca`) and its `crl-verify`. Each error waits for its turn in
    /// [`Cli::resolve`].
    fn load_tls(&self, config: Option<&ClientConfig>) -> LoadedTls {
        let stage = self.stage();
        let ca = (|| {
            Ok(match (&self.ca, config.and_then(|c| c.ca.as_ref())) {
                (Some(path), _) => Some(crate::chain::load_ca_file(path)?),
                (None, Some(KeySource::File(path))) => {
                    Some(crate::chain::load_ca_file(path).map_err(|e| {
                        let Some(cfg) = config else {
                            return UsageError::Ca(e);
                        };
                        let reason = match e {
                            crate::chain::CaError::Read { path, reason } => {
                                format!("cannot read {path}: {reason}")
                            }
                            other => other.to_string(),
                        };
                        in_config(cfg, "ca", reason, OpenVpnTakes::No)
                    })?)
                }
                (None, Some(KeySource::Inline { text, name })) => {
                    Some(crate::chain::parse_ca_pem(text.as_bytes(), name)?)
                }
                // Without a `ca`, OpenVPN takes the CA from the pkcs12 bundle. A bundle
                // that cannot be read stops the login stage (which needs its key); the
                // TLS stage goes on without a CA, as it would without the bundle.
                (None, None) => match config.and_then(|c| c.pkcs12.as_ref().map(|p| (c, p))) {
                    Some((cfg, source)) => match crate::keys::credentials::load_pkcs12(source) {
                        Ok(p12) => (!p12.others.is_empty()).then_some(p12.others),
                        Err(e) if stage == Stage::Login => {
                            return Err(credential_in_config_as(cfg, e, Some("pkcs12")))
                        }
                        Err(_) => None,
                    },
                    None => None,
                },
            })
        })();
        // capath DIR: the certificates OpenSSL's lookup finds there are CAs beside the
        // config's ca, and its CRLs are checked (--ca replaces both).
        let capath = match (&self.ca, config) {
            (None, Some(cfg)) => cfg.capath.as_ref().map(|dir| (cfg, dir)),
            _ => None,
        };
        let capath = capath
            .map(|(cfg, dir)| {
                let (certs, crls) = crate::chain::load_capath(dir)
                    .map_err(|reason| in_config(cfg, "capath", reason, OpenVpnTakes::No))?;
                Ok(Capath {
                    dir: dir.clone(),
                    certs,
                    crls,
                })
            })
            .transpose();
        let crl = config
            .and_then(|cfg| cfg.tls_rules.crl_verify.as_ref().map(|rule| (cfg, rule)))
            .map(|(cfg, rule)| {
                crate::chain::load_client_crl(rule)
                    .map_err(|reason| in_config(cfg, "crl-verify", reason, OpenVpnTakes::No))
            })
            .transpose();
        LoadedTls { ca, capath, crl }
    }

    /// How the TLS stage judges the server's chain, from the flags over the config and
    /// the files [`Cli::load`] read (`tls`): the CA certificates and capath, the name,
    /// remote-cert-tls, the config's rules, peer fingerprints and the CRL. No I/O.
    fn policy(
        &self,
        config: Option<&ClientConfig>,
        tls: Option<LoadedTls>,
        notes: &mut Vec<Note>,
    ) -> Result<Policy, UsageError> {
        let mut policy = Policy::default();
        // [`Cli::load`] reads them whenever the stage runs.
        let tls = tls.unwrap_or(LoadedTls {
            ca: Ok(None),
            capath: Ok(None),
            crl: Ok(None),
        });
        policy.ca = tls.ca?;
        if let Some(Capath { dir, certs, crls }) = tls.capath? {
            let mut all = policy.ca.take().unwrap_or_default();
            all.extend(certs);
            policy.ca = Some(all);
            policy.capath_crls = Some((format!("capath {}", dir.display()), crls));
        }
        if let Some(ca) = &policy.ca {
            let from = match (&self.ca, &self.config) {
                (Some(p), _) => p.display().to_string(),
                (None, Some(c)) => match config.map(|cfg| (cfg.ca.is_some(), cfg.capath.is_some()))
                {
                    Some((false, true)) => format!("{} (capath)", c.display()),
                    Some((false, false)) => format!("{} (pkcs12)", c.display()),
                    _ => format!("{} (ca)", c.display()),
                },
                (None, None) => String::new(),
            };
            notes.push(Note::CaCertificates {
                count: ca.len(),
                from,
            });
        }
        let kind = self
            .verify_x509_type
            .as_deref()
            .map(str::parse::<NameType>)
            .transpose()
            .map_err(UsageError::NameType)?;
        policy.verify_name = match &self.verify_x509_name {
            Some(name) => Some((name.clone(), kind.unwrap_or(NameType::Subject))),
            None => config.and_then(|c| c.verify_x509_name.clone()),
        };
        policy.remote_cert_tls_server =
            self.remote_cert_tls.is_some() || config.is_some_and(|c| c.remote_cert_tls_server);
        if let Some(cfg) = config {
            policy.rules = cfg.tls_rules.clone();
        }
        // --remote-cert-tls server replaces the config's key usage and EKU rules.
        if self.remote_cert_tls.is_some() {
            policy.rules.remote_cert_ku = None;
            policy.rules.remote_cert_eku = None;
        }
        // --peer-fingerprint replaces the config's peer-fingerprint or verify-hash.
        if !self.peer_fingerprint.is_empty() {
            policy.rules.pins = None;
            for fp in &self.peer_fingerprint {
                policy
                    .rules
                    .pin("peer-fingerprint", fp.trim(), None, false)
                    .map_err(|(m, _)| UsageError::PeerFingerprint(m))?;
            }
        }
        policy.crl = tls.crl?;
        Ok(policy)
    }

    /// The thresholds: -C's days (parsed before), -w/-c and the ping limits.
    fn thresholds(&self, cert_days: Option<CertDays>) -> Result<Thresholds, UsageError> {
        Ok(Thresholds {
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
            ping_warning: self
                .ping_warning
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(UsageError::PingWarning)?,
            ping_critical: self
                .ping_critical
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(UsageError::PingCritical)?,
        })
    }

    /// `Mode::Remotes`: each remote of the config with the spec it is checked with, or
    /// why it is not (a proxy, a wrap of its own).
    fn remote_runs(
        &self,
        cfg: &ClientConfig,
        targets: Vec<Target>,
        spec: &CheckSpec,
    ) -> Vec<RemoteRun> {
        targets
            .into_iter()
            .map(|(i, host, port, proto, remote_family)| {
                let r = &cfg.remotes[i];
                let check = if let Some((directive, file, line)) = cfg.proxy_of(r) {
                    Err(Unchecked::Proxy {
                        directive,
                        file,
                        line,
                    })
                } else if let Some((directive, line)) = r.own_wrap.clone() {
                    Err(Unchecked::OwnWrap { directive, line })
                } else {
                    let mut one = spec.clone();
                    one.host = host.trim().to_string();
                    one.port = port;
                    one.proto = proto;
                    one.family = match (self.ipv4, self.ipv6) {
                        (true, _) => Some(Family::V4),
                        (_, true) => Some(Family::V6),
                        _ => remote_family,
                    };
                    // Waiting for the server to close is a TCP matter.
                    if let Some(login) = one.login.as_mut() {
                        login.wait_for_close &= proto == Proto::Tcp;
                    }
                    // The settings' lines are said once, for all remotes.
                    one.notes.clear();
                    Ok(one)
                };
                RemoteRun {
                    number: i + 1,
                    host,
                    port,
                    proto,
                    check,
                }
            })
            .collect()
    }

    /// The settings from the flags over what [`Cli::load`] read: a flag beats the
    /// config, the config beats the default.
    pub fn resolve(&self, loaded: Loaded) -> Result<Settings, UsageError> {
        let Loaded {
            config,
            key,
            tls: tls_files,
            credentials,
            http,
        } = loaded;
        let mut notes = Vec::new();
        let Aim {
            every_remote,
            targets,
            host,
            port,
            proto,
            family,
        } = self.aim(config.as_ref(), &mut notes)?;
        let timeout = parse_timeout(&self.timeout)?;
        if self.retrycount < 1 {
            return Err(UsageError::RetryCount);
        }

        let Protection {
            wrap,
            candidates,
            key_origin,
            tls_auth_direction,
        } = self.protection(config.as_ref(), key, &mut notes)?;

        let stage = self.stage();
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
        let policy = if stage >= Stage::Tls {
            self.policy(config.as_ref(), tls_files, &mut notes)?
        } else {
            Policy::default()
        };

        // clap gives --wait-for-close only with a flag of the login stage; the protocol
        // may be the config's.
        if self.wait_for_close && proto != Proto::Tcp {
            return Err(UsageError::WaitForCloseAlone);
        }
        let login = if stage == Stage::Login {
            // [`Cli::load`] reads them whenever the stage runs.
            let credentials = credentials.unwrap_or(Err(UsageError::NothingToLogInWith));
            let mut spec = self.login_spec(config.as_ref(), credentials, &mut notes)?;
            spec.hello.tls_auth = tls_auth_direction;
            Some(spec)
        } else {
            // The data-channel flags are checked even where no login uses them.
            self.data_settings(None)?;
            None
        };

        let thresholds = self.thresholds(cert_days)?;
        // Any --ping* flag asks for echoes (and so the login stage).
        let dns = match &self.dns {
            Some(name) => {
                let d = crate::check::dns::DnsSpec {
                    name: name.trim().to_string(),
                    record_type: self.dns_type.clone().unwrap_or_else(|| "A".into()),
                    server: self.dns_server,
                    expect: self.dns_expect,
                };
                d.validate()
                    .map_err(|e| UsageError::Through(e.to_string()))?;
                Some(d)
            }
            None => None,
        };
        let ping = (self.ping
            || self.ping_address.is_some()
            || self.ping_count.is_some()
            || self.ping_warning.is_some()
            || self.ping_critical.is_some())
        .then_some(PingSpec {
            target: self.ping_address,
            count: self.ping_count.unwrap_or(3),
        });

        let spec = CheckSpec {
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
            bind: match (self.bind, config.as_ref().and_then(|c| c.local.clone())) {
                (Some(ip), _) => Some(Bind::Address(ip)),
                (None, Some(local)) => Some(match local.parse() {
                    Ok(ip) => Bind::Address(ip),
                    Err(_) => Bind::Name(local),
                }),
                (None, None) => None,
            },
            key_origin,
            ping,
            dns,
            tcp_connect: self.tcp_connect,
            http: http
                .transpose()
                .map_err(|e| UsageError::Through(e.to_string()))?
                .map(|spec| HttpSpec {
                    dns_server: self.dns_server,
                    ..spec
                }),
        };
        let mode = if self.diagnose {
            Mode::Diagnose(candidates)
        } else if let Some(cfg) = config.as_ref().filter(|_| every_remote) {
            Mode::Remotes(self.remote_runs(cfg, targets, &spec))
        } else if self.all_addresses {
            Mode::EveryAddress
        } else {
            Mode::Single
        };
        Ok(Settings {
            spec,
            thresholds,
            mode,
        })
    }
}

/// A credential error of a file or block the config names: said with the config's line
/// and directive, and whether OpenVPN itself would take it.
fn credential_in_config(cfg: &ClientConfig, e: CredentialError) -> UsageError {
    credential_in_config_as(cfg, e, None)
}

/// [`credential_in_config`], said of `directive` when given (a PKCS#12 bundle's key and
/// certificate are its own).
fn credential_in_config_as(
    cfg: &ClientConfig,
    e: CredentialError,
    directive: Option<&'static str>,
) -> UsageError {
    let (named, openvpn) = match &e {
        CredentialError::Read { what, .. } => (
            match *what {
                "certificate" => "cert",
                "private key" => "key",
                "extra-certs" => "extra-certs",
                "PKCS#12 bundle" => "pkcs12",
                _ => "auth-user-pass",
            },
            OpenVpnTakes::No,
        ),
        CredentialError::NoCertificate { .. } => ("cert", OpenVpnTakes::No),
        CredentialError::NoKey { .. } | CredentialError::Mismatch { .. } => {
            ("key", OpenVpnTakes::No)
        }
        CredentialError::EncryptedKey { .. } => ("key", OpenVpnTakes::Yes),
        CredentialError::UnusableKey { openvpn_takes, .. } => (
            "key",
            if *openvpn_takes {
                OpenVpnTakes::Yes
            } else {
                OpenVpnTakes::No
            },
        ),
        // OpenVPN prompts for a password its file lacks.
        CredentialError::UserPassLine { line: 2, .. } => ("auth-user-pass", OpenVpnTakes::Yes),
        CredentialError::UserPassLine { .. } | CredentialError::TooLong { .. } => {
            ("auth-user-pass", OpenVpnTakes::No)
        }
        CredentialError::BadPkcs12 { .. } => ("pkcs12", OpenVpnTakes::No),
        // OpenVPN prompts for the passphrase.
        CredentialError::Pkcs12Passphrase { .. } => ("pkcs12", OpenVpnTakes::Yes),
        CredentialError::Pair(..) | CredentialError::BadTotpSecret { .. } => return e.into(),
    };
    in_config(cfg, directive.unwrap_or(named), e.to_string(), openvpn)
}

fn in_config(
    cfg: &ClientConfig,
    directive: &'static str,
    reason: String,
    openvpn: OpenVpnTakes,
) -> UsageError {
    match cfg.at(directive) {
        Some((file, line)) => UsageError::InConfig {
            file,
            line,
            directive,
            reason,
            openvpn,
        },
        None => UsageError::Config(ConfigError::Read {
            path: cfg.file.clone().into(),
            reason,
        }),
    }
}

/// `-v`'s warning about a key or password file others can read.
fn key_path_warning(source: &KeySource) -> Option<Note> {
    match source {
        KeySource::File(p) => loose_permissions(p).map(|mode| Note::LoosePermissions {
            path: p.display().to_string(),
            mode,
        }),
        KeySource::Inline { .. } => None,
    }
}

/// `-C 30` or `-C 30,14`, as check_http and check_curl take it.
pub(super) fn parse_cert_days(text: &str) -> Result<CertDays, UsageError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> Result<Settings, UsageError> {
        let mut argv = vec!["check_openvpn"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("clap").into_settings()
    }

    /// Where the check goes, flags over a config, without reading a file.
    #[test]
    fn where_the_check_goes_flags_over_the_config() {
        let aim = |config: Option<&str>, args: &[&str]| {
            let mut argv = vec!["check_openvpn"];
            if config.is_some() {
                // Named for the notes; aim() reads no file.
                argv.extend(["--config", "c.ovpn"]);
            }
            argv.extend_from_slice(args);
            let cli = Cli::try_parse_from(argv).expect("clap");
            let cfg = config
                .map(|t| ClientConfig::parse(t, "c.ovpn", std::path::Path::new("/")).unwrap());
            cli.aim(cfg.as_ref(), &mut Vec::new()).map(|a| {
                (
                    a.host,
                    a.port,
                    a.proto,
                    a.family,
                    a.every_remote,
                    a.targets.len(),
                )
            })
        };
        let (udp, tcp) = (Proto::Udp, Proto::Tcp);
        type Row<'a> = (
            Option<&'a str>,
            &'a [&'a str],
            (&'a str, u16, Proto, Option<Family>, bool, usize),
        );
        let table: &[Row] = &[
            (None, &["-H", "h"], ("h", 1194, udp, None, false, 0)),
            (
                None,
                &["-H", "h", "-p", "443", "-t", "-6"],
                ("h", 443, tcp, Some(Family::V6), false, 0),
            ),
            (
                Some("remote a 1195 tcp\n"),
                &[],
                ("a", 1195, tcp, None, false, 1),
            ),
            (
                Some("proto udp6\nport 53\nremote a\n"),
                &[],
                ("a", 53, udp, Some(Family::V6), false, 1),
            ),
            (
                Some("remote a\n"),
                &["-p", "443", "-t"],
                ("a", 443, tcp, None, false, 1),
            ),
            (
                Some("remote a\n"),
                &["-H", "b"],
                ("b", 1194, udp, None, false, 1),
            ),
            (
                Some("remote a 1\nremote b 2\n"),
                &[],
                ("a", 1, udp, None, true, 2),
            ),
            (
                Some("remote a 1\nremote b 2\n"),
                &["--remote", "2"],
                ("b", 2, udp, None, false, 2),
            ),
            (
                Some("remote a 1\nremote b 2\n"),
                &["--remote", "b"],
                ("b", 2, udp, None, false, 2),
            ),
        ];
        for (config, args, want) in table {
            let got = aim(*config, args).unwrap_or_else(|e| panic!("{config:?} {args:?}: {e}"));
            let want = (want.0.to_string(), want.1, want.2, want.3, want.4, want.5);
            assert_eq!(got, want, "{config:?} {args:?}");
        }
        assert!(matches!(
            aim(None, &["a", "-H", "b"]),
            Err(UsageError::TwoHosts(..))
        ));
        assert!(matches!(aim(None, &[]), Err(UsageError::NoHost)));
        assert!(matches!(
            aim(Some("remote a\nhttp-proxy p 3128\n"), &[]),
            Err(UsageError::Proxy { .. })
        ));
        assert!(matches!(
            aim(Some("remote a\nremote b\n"), &["--all-addresses"]),
            Err(UsageError::AllAddressesRemotes(2))
        ));
    }

    /// The stage each flag asks for, without reading a file.
    #[test]
    fn the_deepest_stage_a_flag_asks_for() {
        let stage = |args: &[&str]| {
            let mut argv = vec!["check_openvpn", "-H", "h"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).map(|c| c.stage())
        };
        let table: &[(&[&str], Stage)] = &[
            (&[], Stage::Reset),
            (&["--tls-auth", "ta.key"], Stage::Reset),
            (&["--tls"], Stage::Tls),
            (&["--ca", "ca.crt"], Stage::Tls),
            (&["-C", "30,14"], Stage::Tls),
            (&["--verify-x509-name", "vpn"], Stage::Tls),
            (&["--remote-cert-tls", "server"], Stage::Tls),
            (&["--peer-fingerprint", "AA"], Stage::Tls),
            (&["--login"], Stage::Login),
            (
                &["--cert", "c.crt", "--key", "c.key", "--tls"],
                Stage::Login,
            ),
            (&["--auth-user-pass", "up"], Stage::Login),
            (&["--ping-count", "2"], Stage::Login),
            (&["--dns", "intranet.test"], Stage::Login),
            (&["--tcp-connect", "10.8.0.1:22"], Stage::Login),
            (&["--http", "https://intranet.test/"], Stage::Login),
        ];
        for (args, want) in table {
            assert_eq!(stage(args).ok(), Some(*want), "{args:?}");
        }
        // A stage flag beside --diagnose or --no-validation: clap names both.
        for (args, other) in [
            (&["--ping", "--no-validation"][..], "--no-validation"),
            (&["--ca", "ca.crt", "--diagnose"], "--diagnose"),
            (&["--peer-fingerprint", "AA", "--diagnose"], "--diagnose"),
            (
                &["--certificate", "30", "--no-validation"],
                "--no-validation",
            ),
        ] {
            let e = stage(args).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
            let text = e.to_string();
            assert!(text.contains(args[0]) && text.contains(other), "{text}");
        }
    }

    /// A static key's text, for configs held in memory.
    fn static_key_text() -> String {
        let mut text = String::from("-----BEGIN OpenVPN Static key V1-----\n");
        for i in 0..16 {
            text.push_str(&format!("{i:02x}").repeat(16));
            text.push('\n');
        }
        text + "-----END OpenVPN Static key V1-----\n"
    }

    /// [`Cli::resolve`] over a config held in memory: what it reads (`Loaded`) is made
    /// here, so the table weighs flags against the config and the defaults without a file.
    fn resolved(config: Option<&str>, args: &[&str]) -> Result<Settings, UsageError> {
        let mut argv = vec!["check_openvpn"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).expect("clap");
        let config =
            config.map(|t| ClientConfig::parse(t, "c.ovpn", std::path::Path::new("/")).unwrap());
        let key = cli.material(config.as_ref()).map(|material| LoadedKey {
            material,
            loose: None,
        });
        let tls = (cli.stage() >= Stage::Tls).then(|| cli.load_tls(config.as_ref()));
        let credentials =
            (cli.stage() == Stage::Login).then(|| cli.load_credentials(config.as_ref()));
        cli.resolve(Loaded {
            config,
            key,
            tls,
            credentials,
            http: cli.load_http(),
        })
    }

    #[test]
    fn resolve_weighs_flags_over_the_config_over_the_defaults() {
        let key = static_key_text();
        let auth_cfg = format!(
            "remote cfg.example 1195\nproto tcp\nauth SHA256\nkey-direction 0\n<tls-auth>\n{key}</tls-auth>\n"
        );
        let crypt_cfg = format!("remote cfg.example\n<tls-crypt>\n{key}</tls-crypt>\n");
        let (udp, tcp) = (Proto::Udp, Proto::Tcp);
        type Tls = Option<(KeyDirection, Digest)>;
        type Row<'a> = (
            Option<&'a str>,
            &'a [&'a str],
            (&'a str, u16, Proto, KeyOrigin, Tls),
        );
        let table: &[Row] = &[
            // Defaults.
            (None, &["-H", "h"], ("h", 1194, udp, KeyOrigin::None, None)),
            // The config beats the defaults.
            (
                Some(&auth_cfg),
                &[],
                (
                    "cfg.example",
                    1195,
                    tcp,
                    KeyOrigin::Inline,
                    Some((KeyDirection::Zero, Digest::Sha256)),
                ),
            ),
            // Flags beat the config.
            (
                Some(&auth_cfg),
                &[
                    "-H",
                    "x",
                    "-p",
                    "443",
                    "--digest",
                    "SHA512",
                    "--key-direction",
                    "1",
                ],
                (
                    "x",
                    443,
                    tcp,
                    KeyOrigin::Inline,
                    Some((KeyDirection::One, Digest::Sha512)),
                ),
            ),
            (
                Some(&auth_cfg),
                &["--tls-auth-inverse"],
                (
                    "cfg.example",
                    1195,
                    tcp,
                    KeyOrigin::Inline,
                    Some((KeyDirection::Zero, Digest::Sha256)),
                ),
            ),
            // Hex keys replace the config's key; its auth still names the digest.
            (
                Some(&auth_cfg),
                &["--digest-key-client", "00112233"],
                ("cfg.example", 1195, tcp, KeyOrigin::Hex, None),
            ),
            (
                Some(&crypt_cfg),
                &[],
                ("cfg.example", 1194, udp, KeyOrigin::Inline, None),
            ),
        ];
        for (config, args, want) in table {
            let s = resolved(*config, args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let tls_auth = s.spec.notes.iter().find_map(|n| match n {
                Note::StaticKey { tls_auth, .. } => *tls_auth,
                _ => None,
            });
            let got = (
                s.spec.host.as_str(),
                s.spec.port,
                s.spec.proto,
                s.spec.key_origin,
                tls_auth,
            );
            assert_eq!(got, *want, "{config:?} {args:?}");
        }
        let hex = resolved(Some(&auth_cfg), &["--digest-key-client", "00112233"]).unwrap();
        assert!(matches!(hex.spec.wrap, Wrap::TlsAuth(t) if t.digest() == Digest::Sha256));
        assert!(matches!(
            resolved(Some(&crypt_cfg), &[]).unwrap().spec.wrap,
            Wrap::TlsCrypt(_)
        ));

        // Conflicts only the config's content shows: clap cannot see them.
        let conflicts: &[(Option<&str>, &[&str], &str)] = &[
            (
                Some(&crypt_cfg),
                &["--key-direction", "1"],
                "applies to tls-auth only",
            ),
            (
                Some(&crypt_cfg),
                &["--digest-size", "10"],
                "applies to tls-auth only",
            ),
            (
                None,
                &["-H", "h", "--key-direction", "1"],
                "needs a tls-auth key",
            ),
            (
                Some("remote a\nremote b\n"),
                &["--all-addresses"],
                "choose one with --remote N",
            ),
        ];
        for (config, args, words) in conflicts {
            let e = resolved(*config, args).unwrap_err().to_string();
            assert!(e.contains(words), "{args:?}: {e}");
        }
    }

    #[test]
    fn several_remotes_are_each_checked_unless_one_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let ovpn = dir.path().join("c.ovpn");
        std::fs::write(
            &ovpn,
            "proto udp\nport 1195\nremote a.example\nremote b.example 443 tcp\n\
             <connection>\nremote c.example\nhttp-proxy p 3128\n</connection>\n\
             <connection>\nremote d.example\ntls-crypt other.key\n</connection>\n",
        )
        .unwrap();
        let cfg = ovpn.to_str().unwrap();
        let s = settings(&["--config", cfg]).unwrap();
        let Mode::Remotes(runs) = &s.mode else {
            panic!("{:?}", s.mode)
        };
        let seen: Vec<_> = runs
            .iter()
            .map(|r| (r.number, r.host.as_str(), r.port, r.proto))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "a.example", 1195, Proto::Udp),
                (2, "b.example", 443, Proto::Tcp),
                (3, "c.example", 1195, Proto::Udp),
                (4, "d.example", 1195, Proto::Udp),
            ]
        );
        assert_eq!(runs[1].check.as_ref().unwrap().proto, Proto::Tcp);
        assert_eq!(runs[1].check.as_ref().unwrap().host, "b.example");
        assert!(matches!(runs[2].check, Err(Unchecked::Proxy { .. })));
        assert!(matches!(
            &runs[3].check,
            Err(Unchecked::OwnWrap { directive, line: 11 }) if directive == "tls-crypt"
        ));
        // -p and --tcp apply to every remote.
        let s = settings(&["--config", cfg, "-p", "1300", "--tcp"]).unwrap();
        let Mode::Remotes(runs) = &s.mode else {
            panic!()
        };
        assert!(runs.iter().all(|r| r.port == 1300 && r.proto == Proto::Tcp));
        // One chosen by number or by host, or a host given: one check.
        let s = settings(&["--config", cfg, "--remote", "2"]).unwrap();
        assert!(matches!(s.mode, Mode::Single));
        assert_eq!((s.spec.host.as_str(), s.spec.port), ("b.example", 443));
        let s = settings(&["--config", cfg, "--remote", "B.example"]).unwrap();
        assert_eq!(s.spec.host, "b.example");
        let e = settings(&["--config", cfg, "--remote", "3"]).unwrap_err();
        assert!(matches!(e, UsageError::Proxy { line: 7, .. }), "{e}");
        let e = settings(&["--config", cfg, "--remote", "5"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1 a.example, 2 b.example, 3 c.example, 4 d.example"),
            "{e}"
        );
        let s = settings(&["--config", cfg, "-H", "x.example"]).unwrap();
        assert!(matches!(s.mode, Mode::Single));
        assert!(matches!(
            settings(&["--config", cfg, "--all-addresses"]),
            Err(UsageError::AllAddressesRemotes(4))
        ));
        assert!(matches!(
            settings(&["--config", cfg, "--remote", "1", "--all-addresses"])
                .unwrap()
                .mode,
            Mode::EveryAddress
        ));
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
        // Hex keys name each direction themselves.
        assert!(clap_rejects(&[
            "--digest-key-client",
            "00",
            "--key-direction",
            "1"
        ]));
        assert!(clap_rejects(&[
            "--digest-key-server",
            "00",
            "--tls-auth-inverse"
        ]));
        assert!(clap_rejects(&["--port", "0"]));
        assert!(clap_rejects(&["--port", "65536"]));
        // One wrap; a server key only beside a client key; a flag that needs another.
        for args in [
            &["--tls-auth", "k", "--digest-key-client", "00"][..],
            &["--tls-crypt", "k", "--tls-crypt-v2", "v"],
            &["--tls-auth", "k", "--tls-crypt", "k"],
            &["--tls-crypt", "k", "--digest-key-server", "00"],
            &["--digest-key-server", "00"],
            &["--cert", "c"],
            &["--key", "k"],
            &["--totp-secret", "s"],
            &["--totp-secret", "s", "--tls"],
            &["--wait-for-close", "--tcp"],
            &["--dns-server", "10.8.0.1", "--ping"],
        ] {
            assert!(clap_rejects(args), "{args:?}");
        }
        assert!(!clap_rejects(&[
            "--digest-key-client",
            "00",
            "--digest-key-server",
            "11"
        ]));
        assert!(!clap_rejects(&[
            "--dns-server",
            "10.8.0.1",
            "--http",
            "http://a/"
        ]));
        assert!(clap_rejects(&["--diagnose", "--no-validation"]));
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

    /// `--cipher` etc. over the config's lines; `--digest` names the data channel's `auth`
    /// too, `--auth` the tls-auth digest too.
    #[test]
    fn data_settings_from_flags_over_the_config() {
        use crate::proto::data::Compression;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let up = d.join("up");
        std::fs::write(&up, "u\np\n").unwrap();
        let cfg = d.join("c.ovpn");
        std::fs::write(
            &cfg,
            "remote h\ncipher AES-256-CBC\nauth SHA256\ndata-ciphers AES-256-GCM\ncomp-lzo no\ntun-mtu 1400\n",
        )
        .unwrap();
        let (cfg, up) = (cfg.to_str().unwrap(), up.to_str().unwrap());
        let data = |extra: &[&str]| {
            let mut args = vec!["--config", cfg, "--auth-user-pass", up];
            args.extend_from_slice(extra);
            settings(&args).map(|s| s.spec.login.unwrap().hello.data)
        };
        let from_config = data(&[]).unwrap();
        assert_eq!(from_config.cipher.as_deref(), Some("AES-256-CBC"));
        assert_eq!(from_config.data_ciphers, Some(vec!["AES-256-GCM".into()]));
        assert_eq!(from_config.auth, Some(Digest::Sha256));
        assert_eq!(from_config.compression, Some(Compression::Lzo));
        assert_eq!(from_config.tun_mtu, Some(1400));
        let flags = data(&[
            "--cipher",
            "AES-128-CBC",
            "--data-ciphers",
            "AES-128-GCM:CHACHA20-POLY1305",
            "--auth",
            "sha512",
            "--compress",
            "--tun-mtu",
            "1500",
        ])
        .unwrap();
        assert_eq!(flags.cipher.as_deref(), Some("AES-128-CBC"));
        assert_eq!(
            flags.data_ciphers,
            Some(vec!["AES-128-GCM".into(), "CHACHA20-POLY1305".into()])
        );
        assert_eq!(flags.auth, Some(Digest::Sha512));
        assert_eq!(flags.compression, Some(Compression::Swap));
        assert_eq!(flags.tun_mtu, Some(1500));
        assert_eq!(
            data(&["--digest", "SHA1"]).unwrap().auth,
            Some(Digest::Sha1)
        );
        assert_eq!(
            data(&["--comp-lzo"]).unwrap().compression,
            Some(Compression::Lzo)
        );
        assert_eq!(
            data(&["--compress", "stub-v2"]).unwrap().compression,
            Some(Compression::V2)
        );
        // The config's comp-lzo no keeps 2.6's stub-only default; a compressing flag
        // replaces it and lifts it; --allow-compression replaces the config's line.
        assert!(from_config.compression_rules.stub_only());
        assert_eq!(from_config.allow_compression, None);
        assert!(!data(&["--compress", "lz4-v2"])
            .unwrap()
            .compression_rules
            .stub_only());
        let asym = data(&["--allow-compression", "asym"]).unwrap();
        assert!(!asym.compression_rules.stub_only());
        assert_eq!(
            asym.allow_compression,
            Some(crate::proto::data::AllowCompression::Asym)
        );
        let e = data(&["--allow-compression", "no", "--comp-lzo", "yes"]).unwrap_err();
        assert!(matches!(e, UsageError::AllowCompression(_)), "{e}");
        // Values the check cannot use: usage errors (exit 3), named.
        let e = data(&["--auth", "whirlpool"]).unwrap_err();
        assert!(matches!(e, UsageError::Digest(_)), "{e}");
        let e = data(&["--compress", "snappy"]).unwrap_err().to_string();
        assert!(e.contains("--compress snappy"), "{e}");
        let e = data(&["--comp-lzo", "maybe"]).unwrap_err().to_string();
        assert!(e.contains("--comp-lzo maybe"), "{e}");
        // Checked without a login too.
        assert!(settings(&["h", "--compress", "snappy"]).is_err());
        // --auth is the tls-auth digest unless --digest says otherwise.
        let hex = ["h", "--digest-key-client", "00112233"];
        let digest_of = |extra: &[&str]| {
            let mut args = hex.to_vec();
            args.extend_from_slice(extra);
            match settings(&args).unwrap().spec.wrap {
                Wrap::TlsAuth(t) => t.digest(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(digest_of(&["--auth", "SHA256"]), Digest::Sha256);
        assert_eq!(
            digest_of(&["--auth", "SHA256", "--digest", "SHA512"]),
            Digest::Sha512
        );
        // A config's unknown `auth` stops a login; `auth none` means no HMAC.
        let bad = d.join("bad.ovpn");
        std::fs::write(&bad, "remote h\nauth whirlpool\n").unwrap();
        let e = settings(&["--config", bad.to_str().unwrap(), "--auth-user-pass", up])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, 'auth'") && e.contains("whirlpool"),
            "{e}"
        );
        std::fs::write(&bad, "remote h\nauth none\n").unwrap();
        let none = settings(&["--config", bad.to_str().unwrap(), "--auth-user-pass", up]).unwrap();
        assert_eq!(none.spec.login.unwrap().hello.data.auth, None);
    }

    #[test]
    fn totp_secret_only_with_a_login_password() {
        assert!(matches!(
            settings(&["h", "--login", "--totp-secret", "/nonexistent"]),
            Err(UsageError::TotpWithoutPassword)
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
        assert!(!format!("{:?}", s.spec.notes).contains("00112233"));
    }
}
