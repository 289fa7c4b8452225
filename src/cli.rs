//! The command line: the clap definition, and its conversion into a [`CheckSpec`].
//!
//! Every flag of the original Python `check_openvpn` keeps its meaning here, so existing
//! check commands keep working; the rest are additions.

use crate::check::CheckSpec;
use crate::digest::{Digest, UnknownDigest};
use crate::key::{parse_hex_key, KeyDirection, KeyError, StaticKey};
use crate::range::Range;
use crate::report::Thresholds;
use crate::transport::{Family, Proto};
use crate::wire::{BadTagLen, TlsAuth, Wrap};
use clap::{ArgAction, Parser};
use std::path::PathBuf;
use std::time::Duration;

/// The longest `--timeout` accepted; a monitoring engine kills a check long before this.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

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

    /// Server port
    #[arg(short, long, default_value_t = 1194, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// Use TCP instead of UDP
    #[arg(short, long)]
    pub tcp: bool,

    /// Use IPv4 only
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Use IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,

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

    /// HMAC digest of the server's `auth` option (MD5, SHA1, SHA256, SHA3-256, BLAKE2b512, ...)
    #[arg(long, default_value = "SHA1", value_name = "NAME")]
    pub digest: String,

    /// Bytes of HMAC on the wire (default: the digest's full length)
    #[arg(long, value_name = "N")]
    pub digest_size: Option<usize>,

    /// HMAC key for packets to the server, in hex
    #[arg(long, value_name = "HEX", conflicts_with = "tls_auth")]
    pub digest_key_client: Option<String>,

    /// HMAC key for packets from the server, in hex (verifies the answer)
    #[arg(long, value_name = "HEX", conflicts_with = "tls_auth")]
    pub digest_key_server: Option<String>,

    /// OpenVPN static key file used by the server's `tls-auth`
    #[arg(long, value_name = "FILE")]
    pub tls_auth: Option<PathBuf>,

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

    /// More output after the status line (-v details, -vv packet trace, -vvv packet hex)
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("no host given (use HOST or -H/--hostname)")]
    NoHost,
    #[error("two different hosts given: '{0}' and -H '{1}'")]
    TwoHosts(String, String),
    #[error(
        "--timeout '{0}' is not a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS}"
    )]
    Timeout(String),
    #[error("--retrycount must be at least 1")]
    RetryCount,
    #[error("--digest-key-server needs --digest-key-client: a server with tls-auth ignores unsigned packets")]
    ServerKeyAlone,
    #[error("--key-direction needs --tls-auth (the hex keys of --digest-key-* already name each direction)")]
    DirectionWithoutKey,
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
    #[error("--digest-size: {0}")]
    TagLen(#[from] BadTagLen),
}

/// What `main` needs beyond the spec.
#[derive(Debug, Clone)]
pub struct Settings {
    pub spec: CheckSpec,
    pub thresholds: Thresholds,
}

fn parse_timeout(text: &str) -> Result<Duration, UsageError> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| UsageError::Timeout(text.into()))?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT_SECS {
        return Err(UsageError::Timeout(text.into()));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Cli {
    pub fn into_settings(self) -> Result<Settings, UsageError> {
        let host = match (self.host, self.hostname) {
            (None, None) => return Err(UsageError::NoHost),
            (Some(a), Some(b)) if a != b => return Err(UsageError::TwoHosts(a, b)),
            (Some(h), _) | (None, Some(h)) => h,
        };
        if host.trim().is_empty() {
            return Err(UsageError::NoHost);
        }
        let timeout = parse_timeout(&self.timeout)?;
        if self.retrycount < 1 {
            return Err(UsageError::RetryCount);
        }
        let digest: Digest = self.digest.parse()?;
        let family = match (self.ipv4, self.ipv6) {
            (true, _) => Some(Family::V4),
            (_, true) => Some(Family::V6),
            _ => None,
        };
        let direction = match &self.key_direction {
            Some(text) => Some(
                text.parse::<KeyDirection>()
                    .map_err(UsageError::Direction)?,
            ),
            None if self.tls_auth_inverse => Some(KeyDirection::Zero),
            None => None,
        };

        let mut key_notes = Vec::new();
        let wrap = if let Some(path) = &self.tls_auth {
            let key = StaticKey::from_file(path)?;
            let direction = direction.unwrap_or(KeyDirection::One);
            let (send, recv) = key.directional(direction);
            key_notes.push(format!(
                "tls-auth key: {} (sha256 {}…), key direction {direction}, digest {digest}",
                path.display(),
                key.fingerprint()
            ));
            Wrap::TlsAuth(TlsAuth::new(
                digest,
                &send.hmac,
                Some(&recv.hmac),
                self.digest_size,
            )?)
        } else {
            if self.key_direction.is_some() {
                return Err(UsageError::DirectionWithoutKey);
            }
            match (&self.digest_key_client, &self.digest_key_server) {
                (None, None) => Wrap::None,
                (None, Some(_)) => return Err(UsageError::ServerKeyAlone),
                (Some(client), server) => {
                    let send = parse_hex_key(client, "--digest-key-client")?;
                    let recv = server
                        .as_deref()
                        .map(|s| parse_hex_key(s, "--digest-key-server"))
                        .transpose()?;
                    key_notes.push(format!(
                        "tls-auth hex keys: client sha256 {}…, server {}, digest {digest}",
                        send.fingerprint(),
                        recv.as_ref()
                            .map(|r| format!("sha256 {}…", r.fingerprint()))
                            .unwrap_or_else(|| "not given".into())
                    ));
                    Wrap::TlsAuth(TlsAuth::new(
                        digest,
                        &send,
                        recv.as_ref(),
                        self.digest_size,
                    )?)
                }
            }
        };

        let thresholds = Thresholds {
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
                port: self.port,
                proto: if self.tcp { Proto::Tcp } else { Proto::Udp },
                family,
                timeout,
                attempts: self.retrycount,
                wrap,
                key_notes,
                validate: !self.no_validation,
                verbosity: self.verbose,
            },
            thresholds,
        })
    }
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
            "--tls-auth",
            "k",
            "--digest-key-client",
            "00"
        ]));
        assert!(clap_rejects(&[
            "--tls-auth-inverse",
            "--key-direction",
            "0"
        ]));
        assert!(clap_rejects(&["--port", "0"]));
        assert!(clap_rejects(&["--port", "65536"]));
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
        assert!(!s.spec.key_notes.join(" ").contains("00112233"));
    }
}
