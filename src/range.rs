//! Nagios threshold ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`), as the Monitoring
//! Plugins guidelines define them: a value *alerts* when it lies outside `start..=end`,
//! or inside it when the range starts with `@`.
//!
//! ```
//! use check_openvpn::range::Range;
//! let warn: Range = "~:0.5".parse().unwrap();
//! assert!(warn.alerts(0.7));
//! assert!(!warn.alerts(0.2));
//! let inside: Range = "@1:2".parse().unwrap();
//! assert!(inside.alerts(1.5));
//! ```

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    start: f64,
    end: f64,
    inside: bool,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid range '{text}': {reason} (expected forms: 10, 10:, ~:10, 10:20, @10:20)")]
pub struct RangeError {
    pub text: String,
    pub reason: &'static str,
}

impl Range {
    /// True when `value` should raise this threshold's state.
    pub fn alerts(&self, value: f64) -> bool {
        let within = value >= self.start && value <= self.end;
        within == self.inside
    }
}

impl fmt::Display for Range {
    /// The range as the user wrote it, for perfdata.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn number(text: &str, whole: &str) -> Result<f64, RangeError> {
    let err = |reason| RangeError {
        text: whole.to_string(),
        reason,
    };
    if text.is_empty() {
        return Err(err("a number is missing"));
    }
    let v: f64 = text.parse().map_err(|_| err("not a number"))?;
    if !v.is_finite() {
        return Err(err("not a finite number"));
    }
    Ok(v)
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let err = |reason| RangeError {
            text: s.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (start, end) = match body.split_once(':') {
            None => (0.0, number(body, s)?),
            Some((lo, hi)) => {
                let start = if lo == "~" {
                    f64::NEG_INFINITY
                } else {
                    number(lo, s)?
                };
                let end = if hi.is_empty() {
                    f64::INFINITY
                } else {
                    number(hi, s)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(err("start is greater than end"));
        }
        Ok(Range {
            start,
            end,
            inside,
            text: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    #[test]
    fn guideline_examples() {
        // Monitoring Plugins guidelines, "Threshold and ranges".
        let t = r("10");
        assert!(t.alerts(-0.1) && t.alerts(10.1));
        assert!(!t.alerts(0.0) && !t.alerts(10.0) && !t.alerts(5.0));

        let t = r("10:");
        assert!(t.alerts(9.9) && !t.alerts(10.0) && !t.alerts(1e9));

        let t = r("~:10");
        assert!(!t.alerts(-1e9) && !t.alerts(10.0) && t.alerts(10.1));

        let t = r("10:20");
        assert!(t.alerts(9.9) && !t.alerts(10.0) && !t.alerts(20.0) && t.alerts(20.1));

        let t = r("@10:20");
        assert!(!t.alerts(9.9) && t.alerts(10.0) && t.alerts(20.0) && !t.alerts(20.1));

        let t = r("0.5");
        assert!(t.alerts(0.51) && !t.alerts(0.5));
    }

    #[test]
    fn keeps_the_text_for_perfdata() {
        assert_eq!(r("~:0.25").to_string(), "~:0.25");
        assert_eq!(r("@1:2").to_string(), "@1:2");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "", "abc", "1:x", "20:10", "@", ":", "~", "1:2:3", "nan", "inf", "-",
        ] {
            assert!(bad.parse::<Range>().is_err(), "{bad:?}");
        }
        let e = "20:10".parse::<Range>().unwrap_err().to_string();
        assert!(e.contains("20:10") && e.contains("greater"), "{e}");
    }
}
