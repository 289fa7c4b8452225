//! The flags of `--server-config`: what the server check runs with and its thresholds.

use super::definition::Cli;
use super::settings::{parse_cert_days, parse_timeout, UsageError};
use crate::range::Range;
use crate::report::{CertDays, ServerThresholds};
use crate::server::ServerSpec;

/// `-C` when not given: a CRL or certificate is worth a WARNING a month ahead and a
/// CRITICAL a week ahead, the time a renewal takes.
pub const DEFAULT_SERVER_DAYS: CertDays = CertDays {
    warning: 30,
    critical: Some(7),
};

impl Cli {
    /// `Some` when `--server-config` was given.
    pub fn server_settings(&self) -> Option<Result<(ServerSpec, ServerThresholds), UsageError>> {
        let config = self.server_config.clone()?;
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
            },
            thresholds,
        ))
    }
}
