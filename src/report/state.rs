//! The Nagios states, the thresholds they are judged against, and the finished report.

use crate::range::Range;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    /// `-C`: days a certificate must still be valid.
    pub cert_days: Option<CertDays>,
}

/// `-C WARN[,CRIT]` in days. Without CRIT, CRITICAL once a certificate expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertDays {
    pub warning: i64,
    pub critical: Option<i64>,
}

impl CertDays {
    pub fn critical_days(&self) -> i64 {
        self.critical.unwrap_or(0)
    }
}

/// What the plugin prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub state: State,
    /// The first line, perfdata included.
    pub line: String,
    pub long: Vec<String>,
}

impl Report {
    pub fn unknown(message: impl fmt::Display) -> Report {
        Report {
            state: State::Unknown,
            line: format!("OPENVPN UNKNOWN - {message}"),
            long: Vec::new(),
        }
    }

    pub fn text(&self) -> String {
        let mut out = self.line.clone();
        out.push('\n');
        for l in &self.long {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// Seconds for people: milliseconds below one second.
pub(super) fn human(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

pub(super) fn opt(r: &Option<Range>) -> String {
    r.as_ref().map(|r| r.to_string()).unwrap_or_default()
}
