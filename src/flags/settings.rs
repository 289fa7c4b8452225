//! What the flags mean together: flags over the config file (precedence), key material
//! and credentials loaded with their limits, usage errors, and the [`Settings`] a check
//! runs with.

use super::definition::Cli;
use super::diagnose::{hex_candidates, no_wrap_candidate, static_candidates};
use crate::chain::{NameType, Policy};
use crate::check::{Candidate, CheckSpec, KeyOrigin, LoginSpec, Note};
use crate::config::{ClientConfig, ConfigError, ConfigWrap, KeySource};
use crate::digest::{Digest, UnknownDigest};
use crate::keys::credentials::CredentialError;
use crate::keys::material::{read_static, read_v2, tls_auth, tls_crypt, tls_crypt_v2, Material};
use crate::keys::static_keys::{loose_permissions, parse_hex_key, KeyDirection, KeyError};
use crate::proto::Stage;
use crate::range::Range;
use crate::report::{CertDays, Thresholds};
use crate::transport::{Family, Proto};
use crate::wire::{BadTagLen, TlsAuth, Wrap};
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
    #[error("{0} runs the TLS stage, and {1} checks the reset only: drop one of them")]
    StageConflict(&'static str, &'static str),
    #[error(transparent)]
    Ca(#[from] crate::chain::CaError),
    #[error(transparent)]
    Credential(#[from] crate::keys::credentials::CredentialError),
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

impl Cli {
    /// What the login stage logs in with: flags first, then the config's.
    fn login_spec(
        &self,
        config: Option<&ClientConfig>,
        notes: &mut Vec<Note>,
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
                let loaded = crate::keys::credentials::load_client_cert(&c, &k)?;
                notes.push(Note::ClientCertificate {
                    source: c.describe(),
                    common_name: loaded.common_name.clone(),
                    fingerprint: loaded.fingerprint.clone(),
                    key: k.describe(),
                });
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
                let up = crate::keys::credentials::read_user_pass(&source)?;
                notes.push(Note::AuthUserPass {
                    source: source.describe(),
                    user: up.user.to_string(),
                });
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
                notes.push(Note::ConfigRemote {
                    config: path.display().to_string(),
                    host: r.host.clone(),
                    port: r.port,
                    proto: r.proto.as_ref().map(|p| p.proto.name()),
                    used: i == 0,
                });
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
        if let Some(path) = key_file {
            if let Some(mode) = loose_permissions(&path) {
                notes.push(Note::LoosePermissions {
                    path: path.display().to_string(),
                    mode,
                });
            }
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
                notes.push(Note::StaticKey {
                    wrap: "tls-auth",
                    source: source.describe(),
                    fingerprint: key.fingerprint(),
                    tls_auth: Some((direction, digest)),
                });
                (
                    tls_auth(key, direction, digest, self.digest_size)?,
                    static_candidates(key, source),
                )
            }
            Material::TlsCrypt { key, source } => {
                notes.push(Note::StaticKey {
                    wrap: "tls-crypt",
                    source: source.describe(),
                    fingerprint: key.fingerprint(),
                    tls_auth: None,
                });
                (tls_crypt(key), static_candidates(key, source))
            }
            Material::V2 { key, source } => {
                notes.push(Note::V2Key {
                    source: source.describe(),
                    fingerprint: key.kc.fingerprint(),
                    wrapped_len: key.wkc.len(),
                });
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
                notes.push(Note::HexKeys {
                    client: client.fingerprint(),
                    server: server.as_ref().map(|r| r.fingerprint()),
                    digest,
                });
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
            mode: if self.diagnose {
                Mode::Diagnose(candidates)
            } else if self.all_addresses {
                Mode::EveryAddress
            } else {
                Mode::Single
            },
        })
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
        assert!(!format!("{:?}", s.spec.notes).contains("00112233"));
    }
}
