//! The words for the TLS and login stages: how far a handshake got and what that
//! probably means, the verdict on the chain, and the server's answer to a login.

use super::dates::{date, validity_words};
use super::names::{role_name, suite_name, target_name, version_name, wrap_name};
use super::state::{human, opt, State, Thresholds};
use super::words::{ending_words, incompatible_words, protocol_words};
use crate::chain::{Judgement, Problem};
use crate::check::{LoginOutcome, Outcome, TlsOutcome};
use crate::net::Ending;
use crate::proto::push::{PushReply, PushedAddress};
use crate::proto::{probe, Progress, TlsFailure};
use crate::wire::WrapKind;

/// What the probing hello showed, when our own hello was dropped without a word: UNKNOWN
/// naming what the server speaks that this check does not, or CRITICAL with what it chose
/// when the check lacks none of it. `None` when the probe got no choice either.
fn probe_verdict(tls: &TlsOutcome) -> Option<(State, String)> {
    let Some(probe::Answer::Chose(c)) = &tls.probe else {
        return None;
    };
    let lacks = c.lacks();
    let mut chosen = format!("{} {}", version_name(c.version), suite_name(c.suite));
    if let Some(g) = c.group {
        chosen.push_str(&format!(" on {}", group_name(g)));
    }
    if let Some(s) = c.scheme {
        chosen.push_str(&format!(", signed {}", scheme_name(s)));
    }
    if let Some(leaf) = &c.leaf {
        chosen.push_str(&format!(", {} certificate", crate::chain::key_kind(leaf)));
    }
    if lacks.is_empty() && c.version == rustls::ProtocolVersion::TLSv1_3 {
        // What TLS 1.3 leaves to guess is the certificate and its signature scheme; the
        // probe offered more of those than the check verifies.
        return Some((
            State::Unknown,
            format!("the server dropped our TLS hello without a word, yet chose {chosen} for a hello that offers everything OpenVPN's OpenSSL may pick, all of which this check speaks; TLS 1.3 hides the rest, so its certificate probably has a key this check does not verify (such as Ed448); the server is up, but this check cannot judge it"),
        ));
    }
    if lacks.is_empty() {
        return Some((
            State::Critical,
            format!("the server dropped our TLS hello without a word, yet chose {chosen} for a hello that offers everything OpenVPN's OpenSSL may pick, all of which this check speaks"),
        ));
    }
    let lacking: Vec<String> = lacks
        .iter()
        .map(|l| match l {
            probe::Lack::Version(v) => version_name(*v),
            probe::Lack::Suite(s) => suite_name(*s),
            probe::Lack::Group(g) => format!("key exchange on {}", group_name(*g)),
            probe::Lack::Scheme(s) => format!("signatures {}", scheme_name(*s)),
            probe::Lack::Key(k) => format!("a certificate key of type {k}"),
        })
        .collect();
    Some((
        State::Unknown,
        format!(
            "the server speaks only {}, which this check does not implement (it chose {chosen} for a hello that offers everything OpenVPN's OpenSSL may pick); the server is up, but this check cannot judge it",
            lacking.join(" with ")
        ),
    ))
}

/// `secp521r1`, `X25519`, `FFDHE2048`.
fn group_name(g: rustls::NamedGroup) -> String {
    match g {
        rustls::NamedGroup::Unknown(n) => format!("group 0x{n:04x}"),
        known => format!("{known:?}"),
    }
}

/// `ECDSA_NISTP521_SHA512`, or TLS's name for what rustls does not know.
fn scheme_name(s: rustls::SignatureScheme) -> String {
    match u16::from(s) {
        0x0809 => "rsa_pss_pss_sha256".into(),
        0x080a => "rsa_pss_pss_sha384".into(),
        0x080b => "rsa_pss_pss_sha512".into(),
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256".into(),
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384".into(),
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512".into(),
        0x0402 => "dsa_sha256".into(),
        0x0502 => "dsa_sha384".into(),
        0x0602 => "dsa_sha512".into(),
        0x0202 => "dsa_sha1".into(),
        n => match s {
            rustls::SignatureScheme::Unknown(_) => format!("scheme 0x{n:04x}"),
            known => format!("{known:?}"),
        },
    }
}

/// What a silent or closing server probably means at the step the handshake reached.
pub(super) fn stall_hint(tls: &TlsOutcome, wrap: WrapKind) -> &'static str {
    match tls.reached {
        Progress::HelloSent if wrap == WrapKind::TlsCryptV2 => {
            " (the server answered the reset but not our ClientHello: it probably refused our tls-crypt-v2 client key, e.g. its tls-crypt-v2-verify script said no)"
        }
        Progress::HelloSent => {
            " (the server answered the reset but not our ClientHello: its TLS side is stuck, or it dropped our session)"
        }
        Progress::HelloAcked => {
            " (the server took our ClientHello but its TLS side never answered: it is stuck, or its TLS refused us without a word; its log says which)"
        }
        _ => "",
    }
}

pub(super) fn step_name(p: Progress) -> &'static str {
    match p {
        Progress::Idle | Progress::ResetSent | Progress::ResetAnswered => "before TLS began",
        Progress::HelloSent => "after our ClientHello",
        Progress::HelloAcked => "after the server acknowledged our ClientHello",
        Progress::ServerSpoke => "after the server's first TLS bytes",
        Progress::ChainSeen => "after the server's certificate",
        Progress::Established => "after the handshake",
        Progress::KeySent => "after our key-method 2 message",
        Progress::KeyReceived => "after the server's key-method 2 message",
        Progress::Answered | Progress::Exited => "after the server's answer",
        Progress::DataReady => "after the data channel was set up",
        Progress::EchoSent => "after our echoes",
    }
}

/// `ifconfig 10.8.0.6 255.255.255.0` as `10.8.0.6/24`; net30's `ifconfig L R` as `L peer R`.
pub(super) fn pushed_address(reply: &PushReply) -> Option<String> {
    Some(match reply.address()? {
        PushedAddress::Subnet { local, bits } => format!("{local}/{bits}"),
        PushedAddress::Peer { local, remote } => format!("{local} peer {remote}"),
    })
}

/// The login stage, once TLS was established: the server's verdict on our credentials.
pub(super) fn assess_login(
    outcome: &Outcome,
    tls: &TlsOutcome,
    login: &LoginOutcome,
    thresholds: &Thresholds,
) -> (State, String) {
    let target = &target_name(&outcome.target);
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
    let empty = PushReply::default();
    let pushed = match (&login.pushed, login.point_to_point) {
        (Some(p), _) => Some(p),
        (None, true) => Some(&empty),
        (None, false) => None,
    };
    if let Some(reply) = pushed {
        let mut parts = Vec::new();
        if let Some(a) = pushed_address(reply) {
            parts.push(format!("pushed {a}"));
        }
        if let Some(c) = reply.cipher() {
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
            wrap_name(outcome.wrap)
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
        if let Some((pushed, allow)) = &login.compression_refused {
            let rule = match allow {
                Some(a) => format!("allow-compression {}", a.name()),
                None => "allow-compression no (2.6's default)".into(),
            };
            return (
                State::Critical,
                format!(
                    "{target}: the server pushed '{pushed}', which {rule} forbids: OpenVPN 2.6+ clients with this config fail at the push; the login as {who} itself worked{chain_note}"
                ),
            );
        }
        let through = login.data.pinged
            || login.data.dns.is_some()
            || login.data.tcp.is_some()
            || login.data.http.is_some();
        if through && login.point_to_point {
            return (
                state.max(State::Unknown),
                format!(
                    "{text}; nothing sent through the tunnel: a point-to-point server pushes no tunnel address"
                ),
            );
        }
        if through {
            // The echoes' and the DNS question's verdicts, the worst first.
            let mut found: Vec<(State, String)> = Vec::new();
            if login.data.pinged {
                found.push(super::ping::assess(&login.data, thresholds));
            }
            if let Some(d) = &login.data.dns {
                // The data channel's own failure is said once, by the echoes.
                if !(login.data.pinged && login.data.unsupported.is_some()) {
                    found.push(match &login.data.unsupported {
                        Some(_) => super::ping::assess(&login.data, thresholds),
                        None => super::dns::assess(d, &login.data),
                    });
                }
            }
            if let Some(c) = &login.data.tcp {
                if login.data.unsupported.is_none() {
                    found.push(super::tcp::assess(c, &login.data));
                } else if !login.data.pinged && login.data.dns.is_none() {
                    found.push(super::ping::assess(&login.data, thresholds));
                }
            }
            if let Some(h) = &login.data.http {
                if login.data.unsupported.is_none() {
                    found.push(super::http::assess(
                        h,
                        &login.data,
                        thresholds,
                        outcome.now_unix,
                    ));
                } else if found.is_empty() {
                    found.push(super::ping::assess(&login.data, thresholds));
                }
            }
            let rank = State::severity;
            found.sort_by_key(|(s, _)| std::cmp::Reverse(rank(*s)));
            let worst = found.iter().map(|(s, _)| *s).max_by_key(|s| rank(*s));
            let words: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
            let rest = text
                .strip_prefix(target.as_str())
                .unwrap_or(&text)
                .trim_start();
            return (
                state.max(worst.unwrap_or(State::Ok)),
                format!("{target}: {}; {rest}", words.join("; ")),
            );
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
                human(outcome.elapsed.as_secs_f64())
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
                human(outcome.elapsed.as_secs_f64())
            ),
        );
    }
    (
        State::Critical,
        format!("{target}: login as {who} broke off{chain_note}"),
    )
}

/// The TLS stage: the server's reset came; how far did TLS get, and what of the chain.
pub(super) fn assess_tls(
    outcome: &Outcome,
    tls: &TlsOutcome,
    thresholds: &Thresholds,
) -> (State, String) {
    let target = &target_name(&outcome.target);
    let secs = outcome.elapsed.as_secs_f64();
    if !tls.established() {
        let step = step_name(tls.reached);
        let ending = tls.ending.clone().unwrap_or(Ending::TimedOut);
        let (state, why) = match (&tls.failure, &ending) {
            (
                None
                | Some(TlsFailure::Alert {
                    before_server_hello: true,
                    ..
                }),
                _,
            ) if probe_verdict(tls).is_some() => {
                probe_verdict(tls).unwrap_or((State::Unknown, String::new()))
            }
            (Some(TlsFailure::Alert { description, before_server_hello: true }), _) => (
                State::Unknown,
                format!("the server refused our TLS hello with alert {description:?}: it accepts no TLS version or cipher suite this check speaks (TLS 1.3, or TLS 1.2 with ECDHE; e.g. a TLS 1.2 server limited to DHE suites); the server is up, but this check cannot judge it"),
            ),
            (Some(TlsFailure::Incompatible(i)), _) => (
                State::Unknown,
                format!("the server's TLS uses something this check cannot speak ({}); the server is up, but this check cannot judge it", incompatible_words(i)),
            ),
            (Some(TlsFailure::Alert { description, .. }), _) => (
                State::Critical,
                format!("TLS alert {description:?} from the server {step}"),
            ),
            (Some(TlsFailure::BadSignature(e)), _) => (
                State::Critical,
                format!("the server's handshake signature does not verify against its certificate ({e:?})"),
            ),
            (Some(TlsFailure::Protocol(d)), _) => (
                State::Critical,
                format!("TLS handshake failed {step}: {}", protocol_words(d)),
            ),
            (None, Ending::Closed) => (
                State::Critical,
                format!("connection closed by the server during the TLS handshake, {step}{}", stall_hint(tls, outcome.wrap)),
            ),
            (None, Ending::Reset) => (
                State::Critical,
                format!("connection reset by the server during the TLS handshake, {step}{}", stall_hint(tls, outcome.wrap)),
            ),
            (None, Ending::TimedOut) => (
                State::Critical,
                format!(
                    "TLS handshake not finished within {}, {step}{}",
                    human(outcome.elapsed.as_secs_f64()),
                    stall_hint(tls, outcome.wrap)
                ),
            ),
            (None, e) => (State::Critical, format!("TLS handshake broken off {step}: {}", ending_words(e))),
        };
        // A hello narrowed by the config's rules and refused: every client with that
        // config is refused the same way.
        let refused_hello = matches!(
            tls.failure,
            None | Some(TlsFailure::Alert {
                before_server_hello: true,
                ..
            })
        ) && (tls.probe.is_some() || tls.failure.is_some());
        let (state, why) = if refused_hello
            && !tls.offer_lines.is_empty()
            && !tls.unoffered.is_empty()
        {
            (
                State::Unknown,
                format!(
                    "the server refused the TLS hello that the client config's {} makes without {} (which this check cannot speak): OpenVPN's client may still connect",
                    tls.offer_lines.join(", "),
                    tls.unoffered.join(":")
                ),
            )
        } else if refused_hello && !tls.offer_lines.is_empty() {
            (
                State::Critical,
                format!(
                    "the server refused the TLS hello that the client config's {} makes, as it refuses OpenVPN's client with that config",
                    tls.offer_lines.join(", ")
                ),
            )
        } else {
            (state, why)
        };
        let mut text = format!("{target}: reset answered, but {why}");
        if let Some(j) = &tls.judgement {
            if let Some(leaf) = j.certs.first() {
                text.push_str(&format!(" (server certificate {})", leaf.short_name()));
            }
        }
        return (state, text);
    }
    let version = tls.version.map_or_else(|| "TLS".to_string(), version_name);
    let suite = tls.suite.map(suite_name).unwrap_or_default();
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
                    role_name(first.role),
                    first.short_name(),
                    validity_words(first, outcome.now_unix)
                ));
            }
        }
    }
    if let (Some(days), Some(first)) = (&thresholds.cert_days, j.soonest()) {
        let left = first.days_left(outcome.now_unix);
        // An expired certificate is its own problem, unless it went unjudged (pinned by
        // peer-fingerprint alone, as OpenVPN's client takes it): then -C says it.
        let expired_unjudged = first.not_after < outcome.now_unix
            && !j
                .problems
                .iter()
                .any(|p| matches!(p, Problem::Expired { .. }));
        if expired_unjudged {
            raise(State::Critical, &mut state);
            problems.push(format!(
                "{} {} {} (-C critical once expired; OpenVPN's client pinning it with peer-fingerprint still connects)",
                role_name(first.role),
                first.short_name(),
                validity_words(first, outcome.now_unix)
            ));
        } else if left < days.critical_days() && first.not_after >= outcome.now_unix {
            raise(State::Critical, &mut state);
            problems.push(format!(
                "{} {} expires in {left} days (critical under {})",
                role_name(first.role),
                first.short_name(),
                days.critical_days()
            ));
        } else if left < days.warning && first.not_after >= outcome.now_unix {
            raise(State::Warning, &mut state);
            problems.push(format!(
                "{} {} expires in {left} days (warning under {})",
                role_name(first.role),
                first.short_name(),
                days.warning
            ));
        }
    }
    let verified = if j.verified {
        match j.pinned {
            Some("verify-hash") => "chain verified, its CA matches verify-hash",
            Some(_) => "chain verified, certificate matches peer-fingerprint",
            None => "chain verified",
        }
    } else if j.pinned.is_some() && j.problems.is_empty() {
        "certificate matches peer-fingerprint (no ca)"
    } else if j.problems.is_empty() {
        "chain not verified (no --ca)"
    } else {
        "chain not verified"
    };
    let mut text = format!(
        "{target} {version} {suite} in {}, {cert}, {verified} ({})",
        human(secs),
        wrap_name(outcome.wrap)
    );
    if !problems.is_empty() {
        text = format!(
            "{target}: {}; {version} {suite} in {}, {cert}, {verified} ({})",
            problems.join("; "),
            human(secs),
            wrap_name(outcome.wrap)
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

pub(super) fn problem_words(p: &Problem, j: &Judgement, now: i64) -> (State, String) {
    let cert = |i: &usize| j.certs.get(*i);
    match p {
        Problem::Expired { cert: i } => match cert(i) {
            Some(c) => (
                State::Critical,
                format!("{} {} {} ({})", role_name(c.role), c.short_name(), validity_words(c, now), date(c.not_after)),
            ),
            None => (State::Critical, "a certificate expired".into()),
        },
        Problem::NotYetValid { cert: i } => match cert(i) {
            Some(c) => (
                State::Critical,
                format!("{} {} is not valid before {}", role_name(c.role), c.short_name(), date(c.not_before)),
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
        Problem::Rule { rule, found } => (
            State::Critical,
            format!("{rule} in the client config refuses the server: {found}"),
        ),
        Problem::Unchecked { rule, reason } => (
            State::Unknown,
            format!("{rule} in the client config: {reason}"),
        ),
    }
}
