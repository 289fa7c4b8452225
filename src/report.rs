//! From an [`Outcome`] to what a monitoring engine reads: a state, one status line with
//! perfdata, and optional long output.

use crate::chain::{CertInfo, Judgement, Problem};
use crate::check::{Answer, Detail, Diagnosis, KeyOrigin, LoginOutcome, Note, Outcome, TlsOutcome};
use crate::proto::login::ControlMessage;
use crate::proto::{Progress, TlsFailure};
use crate::range::Range;
use crate::transport::Ending;
use crate::wire;
use crate::wire::Auth;
use std::fmt;
use std::time::Duration;

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
fn human(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

fn opt(r: &Option<Range>) -> String {
    r.as_ref().map(|r| r.to_string()).unwrap_or_default()
}

/// The state of one outcome and the words for it, without prefix or perfdata.
fn assess(outcome: &Outcome, thresholds: &Thresholds) -> (State, String) {
    let secs = outcome.elapsed.as_secs_f64();
    let on_attempt = if outcome.attempts > 1 {
        format!(
            " on attempt {} of {}",
            outcome.attempts, outcome.max_attempts
        )
    } else {
        String::new()
    };
    let target = &outcome.target;
    if let (Some(tls), Answer::Answered(_)) = (&outcome.tls, &outcome.result) {
        if let (Some(login), true) = (&tls.login, tls.established()) {
            return assess_login(outcome, tls, login, thresholds);
        }
        return assess_tls(outcome, tls, thresholds);
    }
    match &outcome.result {
        Answer::Answered(_) | Answer::Responded => {
            let how = match &outcome.result {
                Answer::Answered(Auth::Verified) => format!("{} verified", outcome.wrap),
                Answer::Answered(Auth::NotChecked) => {
                    format!("{}, server HMAC not checked", outcome.wrap)
                }
                Answer::Answered(Auth::None) => outcome.wrap.clone(),
                _ => "answer not validated".to_string(),
            };
            let verb = if outcome.result == Answer::Responded {
                "responded"
            } else {
                "answered"
            };
            let mut text = format!("{target} {verb} in {}{on_attempt} ({how})", human(secs));
            let state = if thresholds.critical.as_ref().is_some_and(|r| r.alerts(secs)) {
                text.push_str(&format!(
                    ", response time outside critical range {}",
                    opt(&thresholds.critical)
                ));
                State::Critical
            } else if thresholds.warning.as_ref().is_some_and(|r| r.alerts(secs)) {
                text.push_str(&format!(
                    ", response time outside warning range {}",
                    opt(&thresholds.warning)
                ));
                State::Warning
            } else {
                State::Ok
            };
            (state, text)
        }
        Answer::BadAuth => {
            let advice = match outcome.key_origin {
                KeyOrigin::Hex => "check --digest-key-server and the key direction",
                KeyOrigin::File | KeyOrigin::Inline => {
                    "check the key direction (--key-direction, or the config's key-direction) and that the key is the server's"
                }
                KeyOrigin::None => "check the server's key",
            };
            (
                State::Warning,
                format!(
                    "{target} answered our session in {}, but its {} HMAC did not verify: \
                     the server is up; {advice}",
                    human(secs),
                    outcome.wrap
                ),
            )
        }
        Answer::Failed(ending) => {
            let why = match ending {
                Ending::TimedOut => {
                    let tries = if outcome.max_attempts > 1 {
                        format!(" after {} attempts", outcome.attempts)
                    } else {
                        String::new()
                    };
                    format!("no answer within {}{tries} ({})", human(secs), outcome.wrap)
                }
                Ending::Refused => "connection refused".to_string(),
                Ending::Reset => "connection reset by the server before it answered".to_string(),
                Ending::Closed => "connection closed by the server before it answered".to_string(),
                Ending::FrameTooLong(n) => {
                    format!("sent a {n}-byte frame, longer than any OpenVPN control packet")
                }
                Ending::Failed(e) => format!("network error: {e}"),
            };
            let mut text = format!("{target}: {why}");
            if outcome.ignored_total() > 0 {
                let parts: Vec<String> = outcome
                    .ignored
                    .iter()
                    .map(|(r, n)| format!("{n} {}", r.describe()))
                    .collect();
                text.push_str(&format!("; ignored {}", parts.join(", ")));
            }
            (State::Critical, text)
        }
    }
}

/// What a silent or closing server probably means at the step the handshake reached.
fn stall_hint(tls: &TlsOutcome, wrap: &str) -> &'static str {
    match tls.reached {
        Progress::HelloSent if wrap == "tls-crypt-v2" => {
            " (the server answered the reset but not our ClientHello: it probably refused our tls-crypt-v2 client key, e.g. its tls-crypt-v2-verify script said no)"
        }
        Progress::HelloSent => {
            " (the server answered the reset but not our ClientHello: its TLS side is stuck, or it dropped our session)"
        }
        _ => "",
    }
}

fn step_name(p: Progress) -> &'static str {
    match p {
        Progress::Idle | Progress::ResetSent | Progress::ResetAnswered => "before TLS began",
        Progress::HelloSent => "after our ClientHello",
        Progress::ServerSpoke => "after the server's first TLS bytes",
        Progress::ChainSeen => "after the server's certificate",
        Progress::Established => "after the handshake",
        Progress::KeySent => "after our key-method 2 message",
        Progress::KeyReceived => "after the server's key-method 2 message",
        Progress::Answered | Progress::Exited => "after the server's answer",
    }
}

/// `ifconfig 10.8.0.6 255.255.255.0` as `10.8.0.6/24`; net30's `ifconfig L R` as `L peer R`.
fn pushed_address(options: &[String]) -> Option<String> {
    let ifconfig = options.iter().find_map(|o| o.strip_prefix("ifconfig "))?;
    let mut words = ifconfig.split_whitespace();
    let local = words.next()?;
    match words.next() {
        Some(mask) => match mask.parse::<std::net::Ipv4Addr>() {
            Ok(m) if u32::from(m).leading_ones() + u32::from(m).trailing_zeros() == 32 => {
                Some(format!("{local}/{}", u32::from(m).leading_ones()))
            }
            _ => Some(format!("{local} peer {mask}")),
        },
        None => Some(local.to_string()),
    }
}

/// The login stage, once TLS was established: the server's verdict on our credentials.
fn assess_login(
    outcome: &Outcome,
    tls: &TlsOutcome,
    login: &LoginOutcome,
    thresholds: &Thresholds,
) -> (State, String) {
    let target = &outcome.target;
    let (chain_state, chain_text) = assess_tls(outcome, tls, thresholds);
    let who = if login.who.is_empty() {
        "?"
    } else {
        login.who.as_str()
    };
    if login.withheld {
        return (
            chain_state.max(State::Critical),
            format!("{chain_text}; credentials not sent"),
        );
    }
    let secs = outcome.elapsed.as_secs_f64();
    let chain_note = if chain_state > State::Ok {
        format!("; {chain_text}")
    } else {
        String::new()
    };
    let empty = Vec::new();
    let pushed = match (&login.pushed, login.point_to_point) {
        (Some(p), _) => Some(p),
        (None, true) => Some(&empty),
        (None, false) => None,
    };
    if let Some(options) = pushed {
        let mut parts = Vec::new();
        if let Some(a) = pushed_address(options) {
            parts.push(format!("pushed {a}"));
        }
        if let Some(c) = options.iter().find_map(|o| o.strip_prefix("cipher ")) {
            parts.push(format!("cipher {c}"));
        }
        if login.point_to_point {
            parts.push("point-to-point server (it pushes nothing)".into());
        }
        let what = if parts.is_empty() {
            String::new()
        } else {
            format!(", {}", parts.join(", "))
        };
        let mut state = chain_state;
        let mut text = format!(
            "{target} logged in as {who} in {}{what} ({}){chain_note}",
            human(secs),
            outcome.wrap
        );
        if thresholds.critical.as_ref().is_some_and(|r| r.alerts(secs)) {
            state = state.max(State::Critical);
            text.push_str(&format!(
                ", response time outside critical range {}",
                opt(&thresholds.critical)
            ));
        } else if thresholds.warning.as_ref().is_some_and(|r| r.alerts(secs)) {
            state = state.max(State::Warning);
            text.push_str(&format!(
                ", response time outside warning range {}",
                opt(&thresholds.warning)
            ));
        }
        if login.exit_sent
            && !login.exit_acked
            && !login.point_to_point
            && tls.ending == Some(Ending::TimedOut)
        {
            text.push_str(" (our EXIT was not acknowledged in time)");
        }
        return (state, text);
    }
    if let Some(reason) = &login.auth_failed {
        let why = reason
            .as_deref()
            .map(|r| format!(": '{r}'"))
            .unwrap_or_default();
        return (
            State::Critical,
            format!("{target}: login as {who} refused, AUTH_FAILED{why}{chain_note}"),
        );
    }
    if let Some((halt, message)) = &login.restart {
        let word = if *halt { "HALT" } else { "RESTART" };
        let m = message
            .as_deref()
            .map(|m| format!(": '{m}'"))
            .unwrap_or_default();
        return (
            State::Critical,
            format!("{target}: the server answered the login as {who} with {word}{m}"),
        );
    }
    if let Some((timeout, method)) = &login.pending {
        let method = method
            .as_deref()
            .map(|m| format!(" by {m}"))
            .unwrap_or_default();
        let timeout = timeout
            .map(|t| format!(" (the server allows {t} s)"))
            .unwrap_or_default();
        return (
            State::Warning,
            format!(
                "{target}: login as {who} still pending{method} after {}{timeout}: the server waits for a second factor this check cannot give",
                human(outcome.budget.as_secs_f64())
            ),
        );
    }
    let gone = match tls.ending.as_ref().unwrap_or(&Ending::TimedOut) {
        Ending::Closed => "closed the connection",
        Ending::Reset => "reset the connection",
        Ending::Refused => "stopped answering (port unreachable)",
        _ => "went silent",
    };
    if login.key_sent && login.server_key.is_none() {
        return (
            State::Critical,
            format!(
                "{target}: the server {gone} after our certificate and credentials as {who}: probably a revoked client certificate, an expired CRL on the server, a client CA it does not know, or a refused password (its log says which){chain_note}"
            ),
        );
    }
    if login.server_key.is_some() {
        return (
            State::Critical,
            format!(
                "{target}: the server took the key exchange of {who} but sent no push, refusal or pending notice within {} (a client-connect script or auth backend that hangs looks like this){chain_note}",
                human(outcome.budget.as_secs_f64())
            ),
        );
    }
    (
        State::Critical,
        format!("{target}: login as {who} broke off{chain_note}"),
    )
}

/// The TLS stage: the server's reset came; how far did TLS get, and what of the chain.
fn assess_tls(outcome: &Outcome, tls: &TlsOutcome, thresholds: &Thresholds) -> (State, String) {
    let target = &outcome.target;
    let secs = outcome.elapsed.as_secs_f64();
    if !tls.established() {
        let step = step_name(tls.reached);
        let ending = tls.ending.clone().unwrap_or(Ending::TimedOut);
        let (state, why) = match (&tls.failure, &ending) {
            (None, _) if tls.other_hello_answered == Some(true) => (
                State::Unknown,
                "the server dropped our TLS hello without a word, yet answered one that offers DHE and static-RSA suites: it accepts no TLS version or cipher suite this check speaks (TLS 1.3, or TLS 1.2 with ECDHE; e.g. a TLS 1.2 server limited to DHE suites); the server is up, but this check cannot judge it".to_string(),
            ),
            (Some(TlsFailure::Alert { description, before_server_hello: true }), _) => (
                State::Unknown,
                format!("the server refused our TLS hello with alert {description}: it accepts no TLS version or cipher suite this check speaks (TLS 1.3, or TLS 1.2 with ECDHE; e.g. a TLS 1.2 server limited to DHE suites); the server is up, but this check cannot judge it"),
            ),
            (Some(TlsFailure::Incompatible(d)), _) => (
                State::Unknown,
                format!("the server's TLS uses something this check cannot speak ({d}); the server is up, but this check cannot judge it"),
            ),
            (Some(TlsFailure::Alert { description, .. }), _) => (
                State::Critical,
                format!("TLS alert {description} from the server {step}"),
            ),
            (Some(TlsFailure::BadSignature(d)), _) => (
                State::Critical,
                format!("the server's handshake signature does not verify against its certificate ({d})"),
            ),
            (Some(TlsFailure::Protocol(d)), _) => (
                State::Critical,
                format!("TLS handshake failed {step}: {d}"),
            ),
            (None, Ending::Closed) => (
                State::Critical,
                format!("connection closed by the server during the TLS handshake, {step}{}", stall_hint(tls, &outcome.wrap)),
            ),
            (None, Ending::Reset) => (
                State::Critical,
                format!("connection reset by the server during the TLS handshake, {step}{}", stall_hint(tls, &outcome.wrap)),
            ),
            (None, Ending::TimedOut) => (
                State::Critical,
                format!(
                    "TLS handshake not finished within {}, {step}{}",
                    human(outcome.budget.as_secs_f64()),
                    stall_hint(tls, &outcome.wrap)
                ),
            ),
            (None, e) => (State::Critical, format!("TLS handshake broken off {step}: {}", ending_words(e))),
        };
        let mut text = format!("{target}: reset answered, but {why}");
        if let Some(j) = &tls.judgement {
            if let Some(leaf) = j.certs.first() {
                text.push_str(&format!(" (server certificate {})", leaf.short_name()));
            }
        }
        return (state, text);
    }
    let version = tls.version.as_deref().unwrap_or("TLS");
    let suite = tls.suite.as_deref().unwrap_or("");
    let mut state = State::Ok;
    let mut problems: Vec<String> = Vec::new();
    let raise = |s: State, state: &mut State| {
        if s > *state {
            *state = s;
        }
    };
    let Some(j) = &tls.judgement else {
        return (
            State::Critical,
            format!("{target}: {version} established, but the server sent no certificate"),
        );
    };
    for p in &j.problems {
        let (s, words) = problem_words(p, j, outcome.now_unix);
        raise(s, &mut state);
        problems.push(words);
    }
    let mut cert = String::new();
    if let Some(leaf) = j.certs.first() {
        cert = format!(
            "certificate {} {}",
            leaf.short_name(),
            validity_words(leaf, outcome.now_unix)
        );
        if let Some(first) = j.soonest() {
            if first != leaf {
                cert.push_str(&format!(
                    ", {} {} expires first: {}",
                    first.role.name(),
                    first.short_name(),
                    validity_words(first, outcome.now_unix)
                ));
            }
        }
    }
    if let (Some(days), Some(first)) = (&thresholds.cert_days, j.soonest()) {
        let left = first.days_left(outcome.now_unix);
        if left < days.critical_days() && first.not_after >= outcome.now_unix {
            raise(State::Critical, &mut state);
            problems.push(format!(
                "{} {} expires in {left} days (critical under {})",
                first.role.name(),
                first.short_name(),
                days.critical_days()
            ));
        } else if left < days.warning && first.not_after >= outcome.now_unix {
            raise(State::Warning, &mut state);
            problems.push(format!(
                "{} {} expires in {left} days (warning under {})",
                first.role.name(),
                first.short_name(),
                days.warning
            ));
        }
    }
    let verified = if j.verified {
        "chain verified"
    } else if j.problems.is_empty() {
        "chain not verified (no --ca)"
    } else {
        "chain not verified"
    };
    let mut text = format!(
        "{target} {version} {suite} in {}, {cert}, {verified} ({})",
        human(secs),
        outcome.wrap
    );
    if !problems.is_empty() {
        text = format!(
            "{target}: {}; {version} {suite} in {}, {cert}, {verified} ({})",
            problems.join("; "),
            human(secs),
            outcome.wrap
        );
    }
    if thresholds.critical.as_ref().is_some_and(|r| r.alerts(secs)) {
        raise(State::Critical, &mut state);
        text.push_str(&format!(
            ", response time outside critical range {}",
            opt(&thresholds.critical)
        ));
    } else if thresholds.warning.as_ref().is_some_and(|r| r.alerts(secs)) {
        raise(State::Warning, &mut state);
        text.push_str(&format!(
            ", response time outside warning range {}",
            opt(&thresholds.warning)
        ));
    }
    (state, text)
}

fn validity_words(c: &CertInfo, now: i64) -> String {
    match c.days_left(now) {
        _ if c.not_after < now && c.days_left(now) == 0 => "expired today".to_string(),
        d if d < 0 => format!("expired {} days ago", -d),
        0 => "expires within a day".to_string(),
        d => format!("valid {d} more days"),
    }
}

fn problem_words(p: &Problem, j: &Judgement, now: i64) -> (State, String) {
    let cert = |i: &usize| j.certs.get(*i);
    match p {
        Problem::Expired { cert: i } => match cert(i) {
            Some(c) => (
                State::Critical,
                format!("{} {} {} ({})", c.role.name(), c.short_name(), validity_words(c, now), date(c.not_after)),
            ),
            None => (State::Critical, "a certificate expired".into()),
        },
        Problem::NotYetValid { cert: i } => match cert(i) {
            Some(c) => (
                State::Critical,
                format!("{} {} is not valid before {}", c.role.name(), c.short_name(), date(c.not_before)),
            ),
            None => (State::Critical, "a certificate is not yet valid".into()),
        },
        Problem::Untrusted { reason } => (State::Critical, format!("chain does not lead to --ca: {reason}")),
        Problem::BadSignature { reason } => (State::Critical, format!("a signature in the chain does not verify ({reason})")),
        Problem::Unsupported { reason } => (
            State::Unknown,
            format!("the chain uses an algorithm this check cannot verify ({reason}); an OpenVPN client may still accept it"),
        ),
        Problem::NameMismatch { expected, kind, actual } => (
            State::Critical,
            format!("verify-x509-name {} '{expected}' does not match '{actual}'", kind.keyword()),
        ),
        Problem::Eku { reason } => (State::Critical, format!("server certificate refused: {reason}")),
        Problem::NoKeyUsage => (
            State::Critical,
            "server certificate refused: it has no key usage, which remote-cert-tls server requires".into(),
        ),
        Problem::Unparsable { index, reason } => (
            State::Critical,
            format!("certificate {} of the chain cannot be read: {reason}", index + 1),
        ),
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

fn ending_words(e: &Ending) -> String {
    match e {
        Ending::TimedOut => "no answer".into(),
        Ending::Refused => "connection refused".into(),
        Ending::Reset => "connection reset".into(),
        Ending::Closed => "connection closed".into(),
        Ending::FrameTooLong(n) => {
            format!("a {n}-byte frame, longer than any OpenVPN control packet")
        }
        Ending::Failed(e) => format!("network error: {e}"),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn control_words(m: &ControlMessage) -> String {
    match m {
        ControlMessage::PushReply { options, more } => format!(
            "PUSH_REPLY with {} options{}",
            options.len(),
            if *more { ", more to come" } else { "" }
        ),
        ControlMessage::AuthFailed { reason } => match reason {
            Some(r) => format!("AUTH_FAILED: {r}"),
            None => "AUTH_FAILED".into(),
        },
        ControlMessage::AuthPending { timeout } => match timeout {
            Some(t) => format!("AUTH_PENDING, timeout {t} s"),
            None => "AUTH_PENDING".into(),
        },
        ControlMessage::InfoPre(i) => format!("INFO_PRE,{i}"),
        ControlMessage::Info(i) => format!("INFO,{i}"),
        ControlMessage::Restart(m) => format!(
            "RESTART{}",
            m.as_deref().map(|m| format!(",{m}")).unwrap_or_default()
        ),
        ControlMessage::Halt(m) => format!(
            "HALT{}",
            m.as_deref().map(|m| format!(",{m}")).unwrap_or_default()
        ),
        ControlMessage::Exit => "EXIT".into(),
        ControlMessage::Other(o) => format!("unknown message '{o}'"),
    }
}

fn failure_words(f: &TlsFailure) -> String {
    match f {
        TlsFailure::Alert { description, .. } => format!("TLS alert {description}"),
        TlsFailure::Incompatible(d) => format!("incompatible TLS: {d}"),
        TlsFailure::BadSignature(d) => format!("bad handshake signature: {d}"),
        TlsFailure::Protocol(d) => d.clone(),
    }
}

/// The long-output line of one [`Detail`].
pub fn detail_line(detail: &Detail) -> String {
    match detail {
        Detail::Note(n) => note_line(n),
        Detail::SessionId { addr, id } => format!("{addr}: our session id {}", hex::encode(id)),
        Detail::SentFrom { addr, local } => format!("{addr}: sent from {local}"),
        Detail::RecvBuffer { asked, granted } => format!(
            "UDP receive buffer: asked for {asked} bytes, the kernel granted {granted} (net.core.rmem_max caps it)"
        ),
        Detail::ResetSent {
            attempt,
            opcode,
            len,
        } => format!(
            "attempt {attempt}: sending {}, {len} bytes",
            wire::opcode_name(*opcode)
        ),
        Detail::PacketSent { at, opcode, len } => format!(
            "{}: sent {}, {len} bytes",
            ms(*at),
            wire::opcode_name(*opcode)
        ),
        Detail::Hex { outgoing, bytes } => format!(
            "  {} {}",
            if *outgoing { ">" } else { "<" },
            hex::encode(bytes)
        ),
        Detail::BadHmacReset { at, len } => format!(
            "{}: received {len} bytes: server reset for our session, HMAC does not verify",
            ms(*at)
        ),
        Detail::Ignored {
            at,
            len,
            reason,
            opcode,
        } => format!(
            "{}: ignored {len} bytes ({}, opcode {opcode} {})",
            ms(*at),
            reason.describe(),
            wire::opcode_name(*opcode)
        ),
        Detail::Responded { at, len } => {
            format!("{}: received {len} bytes (not validated)", ms(*at))
        }
        Detail::ResetAnswered { at } => format!("{}: received a valid server reset", ms(*at)),
        Detail::ServerSession { id } => format!("server session id: {}", hex::encode(id)),
        Detail::ResendWkc => {
            "the server answered statelessly and asked for the wrapped client key again".into()
        }
        Detail::TlsFailed { at, failure } => {
            format!("{}: TLS failed: {}", ms(*at), failure_words(failure))
        }
        Detail::KeySent { at } => format!("{}: sent our key-method 2 message", ms(*at)),
        Detail::ServerKeyMethod2 { at } => {
            format!("{}: received the server's key-method 2 message", ms(*at))
        }
        Detail::PushRequested { at } => format!("{}: sent PUSH_REQUEST", ms(*at)),
        Detail::Control { at, message } => {
            format!("{}: received {}", ms(*at), control_words(message))
        }
        Detail::ExitSent { at } => format!("{}: sent EXIT", ms(*at)),
        Detail::ExitAcked { at } => format!("{}: the server acknowledged our EXIT", ms(*at)),
        Detail::IgnoredTotals(totals) => format!(
            "ignored packets: {}",
            totals
                .iter()
                .map(|(reason, n)| format!("{n} {}", reason.describe()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Detail::TraceStopped { after } => {
            format!("(more packets arrived; the trace stops after {after} lines)")
        }
    }
}

/// The `-v` line for a fact about the check's settings.
pub fn note_line(note: &Note) -> String {
    match note {
        Note::ConfigRemote {
            config,
            host,
            port,
            proto,
            used,
        } => format!(
            "config {config}: remote {host} {} {}{}",
            port.map(|p| p.to_string()).unwrap_or_default(),
            proto.unwrap_or_default(),
            if *used { " (used)" } else { " (not used)" }
        ),
        Note::StaticKey {
            wrap,
            source,
            fingerprint,
            tls_auth,
        } => match tls_auth {
            Some((direction, digest)) => format!(
                "{wrap} key: {source} (sha256 {fingerprint}…), key direction {direction}, digest {digest}"
            ),
            None => format!("{wrap} key: {source} (sha256 {fingerprint}…)"),
        },
        Note::V2Key {
            source,
            fingerprint,
            wrapped_len,
        } => format!(
            "tls-crypt-v2 client key: {source} (sha256 {fingerprint}…, wrapped key {wrapped_len} bytes)"
        ),
        Note::HexKeys {
            client,
            server,
            digest,
        } => format!(
            "tls-auth hex keys: client sha256 {client}…, server {}, digest {digest}",
            server
                .as_ref()
                .map(|s| format!("sha256 {s}…"))
                .unwrap_or_else(|| "not given".into())
        ),
        Note::LoosePermissions { path, mode } => format!(
            "warning: {path} is accessible by group or others (mode {mode:04o}); keys should be private"
        ),
        Note::CaCertificates { count, from } => format!("CA certificates: {count} from {from}"),
        Note::ClientCertificate {
            source,
            common_name,
            fingerprint,
            key,
        } => format!(
            "client certificate: {source} (CN={}, sha256 {}…), key {key}",
            common_name.as_deref().unwrap_or("?"),
            &fingerprint[..fingerprint.len().min(16)]
        ),
        Note::AuthUserPass { source, user } => {
            format!("auth-user-pass: {source} (user {user})")
        }
        Note::Addresses { host, addresses } => format!(
            "addresses of {host}: {} ({} resolved)",
            addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            addresses.len()
        ),
    }
}

/// `-v` lines of the login stage: the server's key-method 2 details and what it pushed.
fn login_lines(login: &LoginOutcome) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) = &login.server_key {
        out.push(format!("server key-method 2 options: {}", k.options));
        if !k.peer_info.is_empty() {
            out.push(format!(
                "server peer info: {}",
                k.peer_info.trim_end().replace('\n', ", ")
            ));
        }
    }
    if login.push_requested {
        out.push("the server did not push unprompted: sent PUSH_REQUEST".into());
    }
    for o in login.pushed.iter().flatten() {
        out.push(format!("pushed: {o}"));
    }
    if login.exit_acked {
        out.push("EXIT sent and acknowledged: the server frees the session".into());
    }
    out
}

/// `-v` lines for each certificate of a judged chain.
fn chain_lines(tls: &TlsOutcome, now: i64) -> Vec<String> {
    let Some(j) = &tls.judgement else {
        return Vec::new();
    };
    j.certs
        .iter()
        .map(|c| {
            format!(
                "{}: {}; issuer {}; valid {} to {} ({}); {}; sha256 {}",
                c.role.name(),
                c.subject,
                c.issuer,
                date(c.not_before),
                date(c.not_after),
                validity_words(c, now),
                c.key,
                c.sha256
            )
        })
        .collect()
}

/// Perfdata of one outcome; `suffix` names the address when there are several.
/// `time` is left out when nothing answered: a made-up time would distort graphs.
fn perfdata(outcome: &Outcome, thresholds: &Thresholds, suffix: Option<&str>) -> String {
    let label = |name: &str| match suffix {
        None => name.to_string(),
        Some(s) => format!("'{name}_{s}'"),
    };
    let attempts = format!(
        "{}={};;;1;{}",
        label("attempts"),
        outcome.attempts,
        outcome.max_attempts
    );
    let time = format!(
        "{}={:.6}s;{};{};0;{:.6}",
        label("time"),
        outcome.elapsed.as_secs_f64(),
        opt(&thresholds.warning),
        opt(&thresholds.critical),
        outcome.budget.as_secs_f64()
    );
    match (&outcome.result, &outcome.tls) {
        (Answer::Failed(_), _) => attempts,
        (_, Some(tls)) => {
            let mut parts = Vec::new();
            let reached = match &tls.login {
                Some(l) => l.pushed.is_some() || l.auth_failed.is_some() || l.point_to_point,
                None => tls.established(),
            };
            if reached {
                parts.push(time);
            }
            if let Some(t) = tls.login.as_ref().and_then(|l| l.login_time) {
                parts.push(format!(
                    "{}={:.6}s;;;0;{:.6}",
                    label("login_time"),
                    t.as_secs_f64(),
                    outcome.budget.as_secs_f64()
                ));
            }
            if let Some(t) = tls.tls_time {
                parts.push(format!(
                    "{}={:.6}s;;;0;{:.6}",
                    label("tls_time"),
                    t.as_secs_f64(),
                    outcome.budget.as_secs_f64()
                ));
            }
            if let Some(first) = tls.judgement.as_ref().and_then(|j| j.soonest()) {
                let (w, c) = match &thresholds.cert_days {
                    Some(d) => (format!("{}:", d.warning), format!("{}:", d.critical_days())),
                    None => (String::new(), String::new()),
                };
                parts.push(format!(
                    "{}={};{w};{c};;",
                    label("cert_days"),
                    first.days_left(outcome.now_unix)
                ));
            }
            parts.push(attempts);
            parts.join(" ")
        }
        _ => format!("{time} {attempts}"),
    }
}

pub fn render(outcome: &Outcome, thresholds: &Thresholds) -> Report {
    let (state, text) = assess(outcome, thresholds);
    let mut long: Vec<String> = outcome.details.iter().map(detail_line).collect();
    if let Some(tls) = &outcome.tls {
        if !long.is_empty() {
            long.extend(chain_lines(tls, outcome.now_unix));
            if let Some(login) = &tls.login {
                long.extend(login_lines(login));
            }
        }
    }
    Report {
        state,
        line: format!(
            "OPENVPN {state} - {text} | {}",
            perfdata(outcome, thresholds, None)
        ),
        long,
    }
}

/// `--all-addresses`: the worst state of all addresses wins; each address gets a line of
/// long output and its own perfdata (`'time_192.0.2.7'`).
pub fn render_all(host: &str, outcomes: &[Outcome], thresholds: &Thresholds) -> Report {
    let assessed: Vec<(State, String)> = outcomes.iter().map(|o| assess(o, thresholds)).collect();
    let worst = assessed
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(State::Unknown);
    let total = outcomes.len();
    let bad: Vec<&String> = assessed
        .iter()
        .filter(|(s, _)| *s == worst)
        .map(|(_, t)| t)
        .collect();
    let summary = if worst == State::Ok {
        let times: Vec<String> = outcomes
            .iter()
            .map(|o| format!("{} in {}", o.addr.ip(), human(o.elapsed.as_secs_f64())))
            .collect();
        format!(
            "{host}: all {total} addresses answered ({})",
            times.join(", ")
        )
    } else {
        format!(
            "{host}: {} of {total} addresses {worst}: {}",
            bad.len(),
            bad.iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let perf: Vec<String> = outcomes
        .iter()
        .map(|o| perfdata(o, thresholds, Some(&o.addr.ip().to_string())))
        .collect();
    let mut long: Vec<String> = assessed
        .iter()
        .map(|(state, text)| format!("[{state}] {text}"))
        .collect();
    for o in outcomes {
        long.extend(o.details.iter().map(detail_line));
    }
    Report {
        state: worst,
        line: format!("OPENVPN {worst} - {summary} | {}", perf.join(" ")),
        long,
    }
}

/// `--diagnose`: which ways of using the key the server answered. OK when any did.
pub fn render_diagnosis(d: &Diagnosis, verbosity: u8) -> Report {
    let total = d.trials.len();
    let mut answered: Vec<&crate::check::Trial> = d
        .trials
        .iter()
        .filter(|t| matches!(t.result, Answer::Answered(_)))
        .collect();
    answered.sort_by_key(|t| t.elapsed);
    let bad_auth: Vec<_> = d
        .trials
        .iter()
        .filter(|t| t.result == Answer::BadAuth)
        .collect();
    let mut long: Vec<String> = d.details.iter().map(detail_line).collect();
    for t in &answered {
        long.push(format!(
            "{}: answered in {}",
            t.label,
            human(t.elapsed.as_secs_f64())
        ));
    }
    for t in &bad_auth {
        long.push(format!(
            "{}: answered our session, but its HMAC did not verify",
            t.label
        ));
    }
    if verbosity >= 1 {
        for t in d
            .trials
            .iter()
            .filter(|t| matches!(t.result, Answer::Failed(_)))
        {
            let why = match &t.result {
                Answer::Failed(e) => ending_words(e),
                _ => String::new(),
            };
            long.push(format!("{}: {why}", t.label));
        }
    }
    let perf_max = d.timeout.as_secs_f64();
    match answered.first() {
        Some(best) => {
            long.push(format!("use: {}", best.advice));
            let names: Vec<&str> = answered.iter().take(3).map(|t| t.label.as_str()).collect();
            let more = if answered.len() > 3 { ", …" } else { "" };
            Report {
                state: State::Ok,
                line: format!(
                    "OPENVPN OK - {}: {} of {total} ways answered: {}{more} | answered={};;;0;{total} time={:.6}s;;;0;{perf_max:.6}",
                    d.target,
                    answered.len(),
                    names.join(", "),
                    answered.len(),
                    best.elapsed.as_secs_f64()
                ),
                long,
            }
        }
        None => {
            let refused = !d.trials.is_empty()
                && d.trials
                    .iter()
                    .all(|t| t.result == Answer::Failed(Ending::Refused));
            let why = if refused {
                ": connection refused".to_string()
            } else if !bad_auth.is_empty() {
                format!(
                    " with a verified HMAC within {}; {} answered our session with an HMAC that did not verify",
                    human(d.timeout.as_secs_f64()),
                    bad_auth.len()
                )
            } else {
                format!(" within {}", human(d.timeout.as_secs_f64()))
            };
            Report {
                state: State::Critical,
                line: format!(
                    "OPENVPN CRITICAL - {}: none of {total} ways answered{why} | answered=0;;;0;{total}",
                    d.target
                ),
                long,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Rejection;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn outcome(result: Answer, ms: u64) -> Outcome {
        Outcome {
            target: "192.0.2.7:1194/udp".into(),
            addr: "192.0.2.7:1194".parse().unwrap(),
            wrap: "tls-auth SHA256".into(),
            result,
            elapsed: Duration::from_micros(ms * 1000 + 100),
            attempts: 1,
            max_attempts: 3,
            budget: Duration::from_secs(6),
            ignored: BTreeMap::new(),
            tls: None,
            now_unix: 0,
            key_origin: crate::check::KeyOrigin::None,
            details: vec![],
        }
    }

    fn th(w: &str, c: &str) -> Thresholds {
        Thresholds {
            warning: Some(w.parse().unwrap()),
            critical: Some(c.parse().unwrap()),
            cert_days: None,
        }
    }

    #[test]
    fn ok_line_and_perfdata() {
        let r = render(&outcome(Answer::Answered(Auth::Verified), 2), &th("1", "2"));
        assert_eq!(r.state, State::Ok);
        assert_eq!(
            r.line,
            "OPENVPN OK - 192.0.2.7:1194/udp answered in 2.1 ms (tls-auth SHA256 verified) \
             | time=0.002100s;1;2;0;6.000000 attempts=1;;;1;3"
        );
    }

    #[test]
    fn thresholds_raise_the_state() {
        let o = outcome(Answer::Answered(Auth::Verified), 1500);
        assert_eq!(render(&o, &th("1", "2")).state, State::Warning);
        let o = outcome(Answer::Answered(Auth::Verified), 2500);
        let r = render(&o, &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert!(r.line.contains("critical range 2"), "{}", r.line);
        assert_eq!(render(&o, &Thresholds::default()).state, State::Ok);
    }

    #[test]
    fn failures_are_critical_without_time_perfdata() {
        let mut o = outcome(Answer::Failed(Ending::TimedOut), 6000);
        o.attempts = 3;
        o.ignored.insert(Rejection::OtherSession, 2);
        let r = render(&o, &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert_eq!(
            r.line,
            "OPENVPN CRITICAL - 192.0.2.7:1194/udp: no answer within 6.00 s after 3 attempts \
             (tls-auth SHA256); ignored 2 for another session | attempts=3;;;1;3"
        );
        let r = render(&outcome(Answer::Failed(Ending::Refused), 0), &th("1", "2"));
        assert_eq!(r.state, State::Critical);
        assert!(r.line.contains("connection refused"));
    }

    #[test]
    fn all_addresses_worst_state_wins() {
        let good = outcome(Answer::Answered(Auth::Verified), 2);
        let mut down = outcome(Answer::Failed(Ending::Refused), 0);
        down.target = "[2001:db8::1]:1194/udp".into();
        down.addr = "[2001:db8::1]:1194".parse().unwrap();
        let r = render_all("vpn", &[good.clone(), down], &Thresholds::default());
        assert_eq!(r.state, State::Critical);
        assert_eq!(
            r.line,
            "OPENVPN CRITICAL - vpn: 1 of 2 addresses CRITICAL: [2001:db8::1]:1194/udp: connection refused \
             | 'time_192.0.2.7'=0.002100s;;;0;6.000000 'attempts_192.0.2.7'=1;;;1;3 'attempts_2001:db8::1'=1;;;1;3"
        );
        assert_eq!(
            r.long[0],
            "[OK] 192.0.2.7:1194/udp answered in 2.1 ms (tls-auth SHA256 verified)"
        );
        assert!(r.long[1].starts_with("[CRITICAL] [2001:db8::1]"));
        let mut good6 = good.clone();
        good6.addr = "[2001:db8::1]:1194".parse().unwrap();
        let r = render_all("vpn", &[good, good6], &Thresholds::default());
        assert_eq!(r.state, State::Ok);
        assert!(
            r.line.starts_with(
                "OPENVPN OK - vpn: all 2 addresses answered (192.0.2.7 in 2.1 ms, 2001:db8::1 in 2.1 ms) \
                 | 'time_192.0.2.7'="
            ),
            "{}",
            r.line
        );
    }

    #[test]
    fn bad_hmac_is_a_warning() {
        let r = render(&outcome(Answer::BadAuth, 2), &Thresholds::default());
        assert_eq!(r.state, State::Warning);
        assert!(r.line.contains("did not verify"), "{}", r.line);
    }

    #[test]
    fn diagnose_verbose_words_failures_for_people() {
        let trial = |label: &str, result| crate::check::Trial {
            label: label.into(),
            advice: String::new(),
            result,
            elapsed: Duration::from_millis(1),
        };
        let d = Diagnosis {
            target: "192.0.2.7:1194/tcp".into(),
            trials: vec![
                trial(
                    "a",
                    Answer::Failed(Ending::Failed("no route to host".into())),
                ),
                trial("b", Answer::Failed(Ending::FrameTooLong(5000))),
                trial("c", Answer::Failed(Ending::TimedOut)),
            ],
            timeout: Duration::from_secs(1),
            details: vec![],
        };
        let r = render_diagnosis(&d, 1);
        let long = r.long.join("\n");
        assert!(
            long.contains("a: network error: no route to host"),
            "{long}"
        );
        assert!(
            long.contains("b: a 5000-byte frame, longer than any OpenVPN control packet"),
            "{long}"
        );
        assert!(long.contains("c: no answer"), "{long}");
        assert!(
            !long.contains("failed(") && !long.contains("frametoolong"),
            "{long}"
        );
    }

    #[test]
    fn unknown_line() {
        let r = Report::unknown("no host given");
        assert_eq!(r.state.code(), 3);
        assert_eq!(r.line, "OPENVPN UNKNOWN - no host given");
    }
}
