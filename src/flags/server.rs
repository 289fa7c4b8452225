//! The flags of `--server-config`: what the server check runs with and its thresholds.

use super::definition::Cli;
use super::settings::{parse_cert_days, parse_timeout, Settings, UsageError};
use crate::range::Range;
use crate::report::{CertDays, ServerThresholds};
use crate::server::ServerSpec;

/// `-C` when not given: a CRL or certificate is worth a WARNING a month ahead and a
/// CRITICAL a week ahead, the time a renewal takes.
pub const DEFAULT_SERVER_DAYS: CertDays = CertDays {
    warning: 30,
    critical: Some(7),
};

/// Which check the arguments ask for: every mode is chosen here, so `main` only runs it.
// Made once per process and moved at most twice: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Run {
    /// `--server-config`: the server checked from its own config, on its host.
    Server {
        spec: ServerSpec,
        thresholds: ServerThresholds,
        verbose: u8,
    },
    /// A check from outside, as a client: its [`super::Mode`] says which.
    Client(Settings),
}

impl Cli {
    /// The check to run, or why the arguments do not make one.
    pub fn into_run(self) -> Result<Run, UsageError> {
        match self.server_settings() {
            Some(Ok((spec, thresholds))) => Ok(Run::Server {
                spec,
                thresholds,
                verbose: self.verbose,
            }),
            Some(Err(e)) => Err(e),
            None => self.into_settings().map(Run::Client),
        }
    }

    /// `Some` when `--server-config` was given.
    /// `Some(Err)` too when a flag of the server check comes without it. Their clap
    /// `requires = "server_config"` says so only when nothing else is given: clap lets a
    /// requirement pass when its target conflicts with a flag that is given (HOST,
    /// `--config` and the other client flags all conflict with `--server-config`), so
    /// `vpn --no-probe` gets past clap and is caught here. (`--tls-crypt-v2` with
    /// `--no-probe` is a clap conflict: both are flags that can be given.)
    pub fn server_settings(&self) -> Option<Result<(ServerSpec, ServerThresholds), UsageError>> {
        let Some(config) = self.server_config.clone() else {
            let alone = if self.no_probe {
                Some("--no-probe")
            } else if self.clients_warning.is_some() {
                Some("--clients-warning")
            } else if self.clients_critical.is_some() {
                Some("--clients-critical")
            } else {
                None
            };
            return alone.map(|flag| Err(UsageError::ServerOnly(flag)));
        };
        Some(self.server_settings_for(config))
    }

    fn server_settings_for(
        &self,
        config: std::path::PathBuf,
    ) -> Result<(ServerSpec, ServerThresholds), UsageError> {
        let timeout = parse_timeout(&self.timeout)?;
        if self.retrycount < 1 {
            return Err(UsageError::RetryCount);
        }
        let range = |text: &Option<String>, f: fn(crate::range::RangeError) -> UsageError| {
            text.as_deref()
                .map(str::parse::<Range>)
                .transpose()
                .map_err(f)
        };
        let thresholds = ServerThresholds {
            cert_days: self
                .certificate
                .as_deref()
                .map(parse_cert_days)
                .transpose()?
                .unwrap_or(DEFAULT_SERVER_DAYS),
            clients_warning: range(&self.clients_warning, UsageError::ClientsWarning)?,
            clients_critical: range(&self.clients_critical, UsageError::ClientsCritical)?,
        };
        Ok((
            ServerSpec {
                config,
                probe: !self.no_probe,
                timeout,
                attempts: self.retrycount,
                clients_ranges: thresholds
                    .clients_warning
                    .iter()
                    .chain(&thresholds.clients_critical)
                    .cloned()
                    .collect(),
                v2_client_key: self.tls_crypt_v2.clone(),
            },
            thresholds,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut argv = vec!["check_openvpn"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
    }

    #[test]
    fn server_flags() {
        assert!(cli(&["--server-config", "s.conf", "-H", "vpn"]).is_err());
        assert!(cli(&["--server-config", "s.conf", "--tls-auth", "ta.key"]).is_err());
        // A client key of the server's, for a server with a tls-crypt-v2-verify script.
        let c = cli(&["--server-config", "s.conf", "--tls-crypt-v2", "c.key"]).unwrap();
        let (spec, _) = c.server_settings().unwrap().unwrap();
        assert_eq!(spec.v2_client_key, Some("c.key".into()));
        // A client key for a probe that is not sent: clap names both flags.
        let e = cli(&[
            "--server-config",
            "s.conf",
            "--tls-crypt-v2",
            "c.key",
            "--no-probe",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let first = e.render().to_string();
        let first = first.lines().next().unwrap();
        assert!(
            first.contains("--no-probe") && first.contains("--tls-crypt-v2"),
            "{first}"
        );
        for flag in [&["--no-probe"][..], &["--clients-critical", "1:"]] {
            let mut args = vec!["vpn"];
            args.extend_from_slice(flag);
            let c = cli(&args).unwrap();
            assert!(matches!(
                c.server_settings(),
                Some(Err(UsageError::ServerOnly(_)))
            ));
        }
        assert!(cli(&["vpn"]).unwrap().server_settings().is_none());
        assert!(matches!(
            cli(&["vpn"]).unwrap().into_run(),
            Ok(Run::Client(_))
        ));
        assert!(matches!(
            cli(&["--server-config", "s.conf", "-v"])
                .unwrap()
                .into_run(),
            Ok(Run::Server { verbose: 1, .. })
        ));
        assert!(matches!(
            cli(&["vpn", "--no-probe"]).unwrap().into_run(),
            Err(UsageError::ServerOnly("--no-probe"))
        ));

        let c = cli(&["--server-config", "s.conf", "--clients-critical", "1:"]).unwrap();
        let (spec, t) = c.server_settings().unwrap().unwrap();
        assert!(spec.probe);
        assert_eq!(t.cert_days, DEFAULT_SERVER_DAYS);
        assert!(t.clients_critical.unwrap().alerts(0.0));
        assert!(t.clients_warning.is_none());

        let c = cli(&["--server-config", "s.conf", "--no-probe", "-C", "10,2"]).unwrap();
        let (spec, t) = c.server_settings().unwrap().unwrap();
        assert!(!spec.probe);
        assert_eq!(
            t.cert_days,
            CertDays {
                warning: 10,
                critical: Some(2)
            }
        );
        let c = cli(&["--server-config", "s.conf", "--clients-warning", "2:1"]).unwrap();
        assert!(matches!(
            c.server_settings(),
            Some(Err(UsageError::ClientsWarning(_)))
        ));
    }
}
