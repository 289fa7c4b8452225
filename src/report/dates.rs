//! Dates and certificate validity in words: `2026-12-04 05:00 UTC`, `valid 12 more days`.

use crate::chain::CertInfo;

pub fn validity_words(c: &CertInfo, now: i64) -> String {
    match c.days_left(now) {
        _ if c.not_after < now && c.days_left(now) == 0 => "expired today".to_string(),
        d if d < 0 => format!("expired {} days ago", -d),
        0 => "expires within a day".to_string(),
        d => format!("valid {d} more days"),
    }
}

/// `2026-12-04 05:00 UTC` from Unix seconds (proleptic Gregorian, no time zones).
pub fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}
