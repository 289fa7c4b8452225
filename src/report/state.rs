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

    /// The order findings are said in, worst first: CRITICAL before UNKNOWN (a service
    /// that is down is news, not a mystery), then WARNING, then OK.
    pub fn severity(self) -> u8 {
        match self {
            State::Critical => 3,
            State::Unknown => 2,
            State::Warning => 1,
            State::Ok => 0,
        }
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
    /// `--ping-warning`.
    pub ping_warning: Option<PingLimits>,
    /// `--ping-critical`.
    pub ping_critical: Option<PingLimits>,
}

/// `RTA,PL%` as check_ping takes it: round trip average in milliseconds and packet loss
/// in percent; either at or above its limit raises the state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingLimits {
    pub rta_ms: f64,
    pub loss_percent: u32,
}

/// A `RTA,PL%` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not RTA,PL% (round trip average in ms, packet loss 0 to 100 percent), e.g. 100,20%"
)]
pub struct BadPingLimits(pub String);

impl std::str::FromStr for PingLimits {
    type Err = BadPingLimits;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPingLimits(s.to_string());
        let (rta, pl) = s.trim().split_once(',').ok_or_else(bad)?;
        let rta_ms: f64 = rta.trim().parse().map_err(|_| bad())?;
        let pl = pl.trim();
        let loss_percent: u32 = pl
            .strip_suffix('%')
            .unwrap_or(pl)
            .parse()
            .map_err(|_| bad())?;
        if !rta_ms.is_finite() || rta_ms < 0.0 || loss_percent > 100 {
            return Err(bad());
        }
        Ok(PingLimits {
            rta_ms,
            loss_percent,
        })
    }
}

impl PingLimits {
    /// At or above either limit, as check_ping judges.
    pub fn alerts(&self, rta_ms: Option<f64>, loss_percent: u32) -> bool {
        loss_percent >= self.loss_percent || rta_ms.is_some_and(|r| r >= self.rta_ms)
    }
}

impl fmt::Display for PingLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}%", self.rta_ms, self.loss_percent)
    }
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

    /// What the plugin prints: the status line, then the long output. A status line whose
    /// text (before the perfdata) is longer than [`MAX_STATUS`] is cut at a word boundary
    /// and ends in "(more below)"; its whole text then opens the long output, so nothing
    /// is lost and NRPE's and Nagios's first-line displays stay readable.
    pub fn text(&self) -> String {
        let (head, perf) = match self.line.split_once(" | ") {
            Some((head, perf)) => (head, Some(perf)),
            None => (self.line.as_str(), None),
        };
        let mut out = String::new();
        let mut whole = None;
        if head.chars().count() > MAX_STATUS {
            out.push_str(&shorten(head));
            whole = Some(head);
        } else {
            out.push_str(head);
        }
        if let Some(perf) = perf {
            out.push_str(" | ");
            out.push_str(perf);
        }
        out.push('\n');
        if let Some(whole) = whole {
            out.push_str(whole);
            out.push('\n');
        }
        for l in &self.long {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// The longest status text (before the perfdata) the plugin prints, as the Monitoring
/// Plugins guidelines ask: NRPE v2 cuts the whole output at 1 KiB, and lists show only
/// the first line.
pub const MAX_STATUS: usize = 300;
const MORE: &str = " \u{2026} (more below)";

/// `head` cut at the last word boundary that leaves room for [`MORE`].
fn shorten(head: &str) -> String {
    let room = MAX_STATUS - MORE.chars().count();
    let cut: String = head.chars().take(room).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > room / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    let cut = cut.trim_end_matches([',', ';', ':', ' ']);
    format!("{cut}{MORE}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_line_is_cut_and_given_whole_below() {
        let long_text = format!("OPENVPN CRITICAL - {}", "word; ".repeat(100));
        let r = Report {
            state: State::Critical,
            line: format!("{long_text} | time=1s;;;0;"),
            long: vec!["detail".into()],
        };
        let text = r.text();
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        let (head, perf) = first.split_once(" | ").unwrap();
        assert!(head.chars().count() <= MAX_STATUS, "{head}");
        assert!(head.ends_with("(more below)"), "{head}");
        assert!(head.starts_with("OPENVPN CRITICAL - word"), "{head}");
        assert_eq!(perf, "time=1s;;;0;");
        assert_eq!(lines.next(), Some(long_text.as_str()));
        assert_eq!(lines.next(), Some("detail"));
        // A short line is printed as it is.
        let short = Report {
            state: State::Ok,
            line: "OPENVPN OK - fine | time=1s".into(),
            long: vec![],
        };
        assert_eq!(short.text(), "OPENVPN OK - fine | time=1s\n");
        // Multibyte text is cut on a character boundary.
        let wide = Report {
            state: State::Warning,
            line: "\u{e9}".repeat(400),
            long: vec![],
        };
        let text = wide.text();
        let first = text.lines().next().unwrap();
        assert!(first.chars().count() <= MAX_STATUS, "{first}");
    }

    #[test]
    fn ping_limits_as_check_ping_takes_them() {
        let l: PingLimits = "100,20%".parse().unwrap();
        assert_eq!(
            l,
            PingLimits {
                rta_ms: 100.0,
                loss_percent: 20
            }
        );
        assert_eq!(
            " 0.5 , 0 ".parse::<PingLimits>().unwrap(),
            PingLimits {
                rta_ms: 0.5,
                loss_percent: 0
            }
        );
        for bad in [
            "", "100", "100,", ",20%", "x,20%", "100,101%", "-1,20%", "100,20%%", "inf,5%",
            "100,2.5%",
        ] {
            assert!(bad.parse::<PingLimits>().is_err(), "{bad}");
        }
        assert!(l.alerts(Some(100.0), 0));
        assert!(l.alerts(None, 20));
        assert!(!l.alerts(Some(99.9), 19));
        assert!(!l.alerts(None, 0));
        assert_eq!(l.to_string(), "100,20%");
    }
}
