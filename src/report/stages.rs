//! The TLS and login stages graded: how far a handshake got and what that probably
//! means, the verdict on the chain, and the server's answer to a login; and, apart, the
//! words for those verdicts.

use super::dates::{date, validity_words};
use super::names::{role_name, suite_name, target_name, version_name, wrap_name};
use super::state::{human, State, Thresholds};
use super::verdict::{words, Slow, Verdict};
use super::words::{ending_words, incompatible_words, protocol_words};
use crate::chain::{CertInfo, Judgement, Problem};
use crate::check::{Exit, LoginEnd, LoginOutcome, Outcome, Target, TlsOutcome};
use crate::net::Ending;
use crate::proto::data::AllowCompression;
use crate::proto::push::{PushReply, PushedAddress};
use crate::proto::{probe, Incompatible, Progress, ProtocolFailure, TlsFailure};
use crate::wire::WrapKind;
use std::time::Duration;

/// What the probing hello showed, when our own hello was dropped without a word: UNKNOWN
/// when the server speaks what this check does not, or CRITICAL when the check lacks
/// none of what it chose. `None` when the probe got no choice either.
fn probe_verdict(tls: &TlsOutcome) -> Option<(State, TlsStop)> {
    let Some(probe::Answer::Chose(c)) = &tls.probe else {
        return None;
    };
    let lacks = c.lacks();
    let choice = c.clone();
    if lacks.is_empty() && c.version == rustls::ProtocolVersion::TLSv1_3 {
        // What TLS 1.3 leaves to guess is the certificate and its signature scheme; the
        // probe offered more of those than the check verifies.
        return Some((State::Unknown, TlsStop::ProbeHidden { choice }));
    }
    if lacks.is_empty() {
        return Some((State::Critical, TlsStop::ProbeSpeakable { choice }));
    }
    Some((State::Unknown, TlsStop::ProbeLacks { choice, lacks }))
}

/// `TLSv1.2 ECDHE-... on secp521r1, signed ..., EC certificate`: what the probe was given.
fn chosen_words(c: &probe::ServerChoice) -> String {
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
    chosen
}

fn lack_words(l: &probe::Lack) -> String {
    match l {
        probe::Lack::Version(v) => version_name(*v),
        probe::Lack::Suite(s) => suite_name(*s),
        probe::Lack::Group(g) => format!("key exchange on {}", group_name(*g)),
        probe::Lack::Scheme(s) => format!("signatures {}", scheme_name(*s)),
        probe::Lack::Key(k) => format!("a certificate key of type {k}"),
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// tls-crypt-v2: the reset answered, our ClientHello not: our client key refused.
    ClientKeyRefused,
    /// The reset answered, our ClientHello not.
    HelloUnanswered,
    /// Our ClientHello acknowledged, but no TLS answer.
    TlsSilent,
}

impl Stall {
    fn at(reached: Progress, wrap: WrapKind) -> Option<Stall> {
        match reached {
            Progress::HelloSent if wrap == WrapKind::TlsCryptV2 => Some(Stall::ClientKeyRefused),
            Progress::HelloSent => Some(Stall::HelloUnanswered),
            Progress::HelloAcked => Some(Stall::TlsSilent),
            _ => None,
        }
    }
}

fn stall_words(stall: Option<Stall>) -> &'static str {
    match stall {
        Some(Stall::ClientKeyRefused) => {
            " (the server answered the reset but not our ClientHello: it probably refused our tls-crypt-v2 client key, e.g. its tls-crypt-v2-verify script said no)"
        }
        Some(Stall::HelloUnanswered) => {
            " (the server answered the reset but not our ClientHello: its TLS side is stuck, or it dropped our session)"
        }
        Some(Stall::TlsSilent) => {
            " (the server took our ClientHello but its TLS side never answered: it is stuck, or its TLS refused us without a word; its log says which)"
        }
        None => "",
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
fn address_words(a: PushedAddress) -> String {
    match a {
        PushedAddress::Subnet { local, bits } => format!("{local}/{bits}"),
        PushedAddress::Peer { local, remote } => format!("{local} peer {remote}"),
    }
}

/// The TLS stage: how far the handshake got, and what of the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Tls {
    /// The reset was answered, the handshake did not finish.
    Broken {
        target: Target,
        why: TlsStop,
        /// The server certificate's name, when its chain was seen.
        server_cert: Option<String>,
    },
    /// Established without a certificate.
    NoCertificate {
        target: Target,
        version: Option<rustls::ProtocolVersion>,
    },
    Established(Box<Established>),
}

/// Why a handshake stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsStop {
    /// Our hello dropped; the probing hello got TLS 1.3 and a choice this check speaks:
    /// its certificate key is probably one the check does not verify.
    ProbeHidden {
        choice: probe::ServerChoice,
    },
    /// Our hello dropped; the probing hello got a choice this check speaks.
    ProbeSpeakable {
        choice: probe::ServerChoice,
    },
    /// Our hello dropped; the server speaks only what the check lacks.
    ProbeLacks {
        choice: probe::ServerChoice,
        lacks: Vec<probe::Lack>,
    },
    /// An alert before any ServerHello: no version or suite in common.
    HelloRefused {
        description: rustls::AlertDescription,
    },
    Incompatible(Incompatible),
    Alert {
        description: rustls::AlertDescription,
        step: Progress,
    },
    BadSignature(rustls::CertificateError),
    Protocol {
        failure: ProtocolFailure,
        step: Progress,
    },
    Closed {
        step: Progress,
        stall: Option<Stall>,
    },
    Reset {
        step: Progress,
        stall: Option<Stall>,
    },
    TimedOut {
        elapsed: Duration,
        step: Progress,
        stall: Option<Stall>,
    },
    Ended {
        step: Progress,
        ending: Ending,
    },
    /// The hello the config's lines narrowed was refused; without suites this check
    /// cannot speak, so OpenVPN's client may still connect.
    NarrowedHelloRefused {
        lines: Vec<String>,
        unoffered: Vec<String>,
    },
    /// The hello the config's lines narrowed was refused, as OpenVPN's client's would be.
    ConfigHelloRefused {
        lines: Vec<String>,
    },
}

/// A handshake that finished: the chain and what was found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Established {
    pub target: Target,
    pub version: Option<rustls::ProtocolVersion>,
    pub suite: Option<rustls::CipherSuite>,
    pub elapsed: Duration,
    pub wrap: WrapKind,
    pub chain: Judgement,
    /// When the chain was judged (for days left).
    pub now: i64,
    /// `-C` on the certificate that expires first.
    pub days: Option<Days>,
    pub slow: Option<Slow>,
}

/// `-C` on the certificate that expires first, when it raises the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Days {
    /// Expired but unjudged (pinned by peer-fingerprint alone).
    ExpiredUnjudged(CertInfo),
    Critical {
        cert: CertInfo,
        left: i64,
        under: i64,
    },
    Warning {
        cert: CertInfo,
        left: i64,
        under: i64,
    },
}

/// How a login ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Login {
    /// The chain failed the policy: no credentials were sent.
    Withheld {
        chain: Box<Verdict>,
    },
    LoggedIn(Box<LoggedIn>),
    /// Logged in, but a point-to-point server pushes no tunnel address to test from.
    NoTunnelAddress(Box<LoggedIn>),
    /// Logged in, and the verdicts of what went through the tunnel.
    Through {
        found: Vec<Verdict>,
        login: Box<LoggedIn>,
    },
    /// The push carries compression the client's allow-compression forbids.
    CompressionRefused {
        target: Target,
        who: String,
        pushed: String,
        allow: Option<AllowCompression>,
        chain: Option<Box<Verdict>>,
    },
    AuthFailed {
        target: Target,
        who: String,
        reason: Option<String>,
        chain: Option<Box<Verdict>>,
    },
    /// `RESTART` (or `HALT`), with the server's message.
    Restart {
        target: Target,
        who: String,
        halt: bool,
        message: Option<String>,
    },
    /// `AUTH_PENDING`: the server waits for a second factor.
    Pending {
        target: Target,
        who: String,
        method: Option<String>,
        timeout: Option<u32>,
        elapsed: Duration,
    },
    /// The server went away after our credentials.
    GoneAfterCredentials {
        target: Target,
        who: String,
        ending: Ending,
        chain: Option<Box<Verdict>>,
    },
    /// The key exchange, then no push, refusal or pending notice.
    NoAnswerAfterKeys {
        target: Target,
        who: String,
        elapsed: Duration,
        chain: Option<Box<Verdict>>,
    },
    BrokeOff {
        target: Target,
        who: String,
        chain: Option<Box<Verdict>>,
    },
}

/// A login the server accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedIn {
    pub target: Target,
    pub who: String,
    pub elapsed: Duration,
    pub address: Option<PushedAddress>,
    pub cipher: Option<String>,
    pub point_to_point: bool,
    pub wrap: WrapKind,
    /// The chain's verdict, when it is not OK.
    pub chain: Option<Box<Verdict>>,
    pub slow: Option<Slow>,
    /// Our EXIT went unacknowledged before the deadline.
    pub exit_unacked: bool,
}

/// The login stage, once TLS was established: the server's verdict on our credentials.
pub(super) fn assess_login(
    outcome: &Outcome,
    tls: &TlsOutcome,
    login: &LoginOutcome,
    thresholds: &Thresholds,
) -> Verdict {
    let target = outcome.target.clone();
    let chain = assess_tls(outcome, tls, thresholds);
    let who = login.who.clone();
    let elapsed = outcome.elapsed;
    let chain_state = chain.state;
    let note = || (chain_state > State::Ok).then(|| Box::new(chain.clone()));
    let (state, reason) = match &login.end {
        LoginEnd::Withheld => (
            chain_state.max(State::Critical),
            Login::Withheld {
                chain: Box::new(chain.clone()),
            },
        ),
        LoginEnd::Pushed(_) | LoginEnd::PointToPoint if login.compression_refused.is_some() => {
            let (pushed, allow) = login.compression_refused.clone().unwrap_or_default();
            (
                State::Critical,
                Login::CompressionRefused {
                    target,
                    who,
                    pushed,
                    allow,
                    chain: note(),
                },
            )
        }
        LoginEnd::Pushed(_) | LoginEnd::PointToPoint => {
            return logged_in(outcome, login, chain, thresholds);
        }
        LoginEnd::AuthFailed { reason } => (
            State::Critical,
            Login::AuthFailed {
                target,
                who,
                reason: reason.clone(),
                chain: note(),
            },
        ),
        LoginEnd::Restart { halt, message } => (
            State::Critical,
            Login::Restart {
                target,
                who,
                halt: *halt,
                message: message.clone(),
            },
        ),
        LoginEnd::Pending { timeout, method } => (
            State::Warning,
            Login::Pending {
                target,
                who,
                method: method.clone(),
                timeout: *timeout,
                elapsed,
            },
        ),
        LoginEnd::KeySent => (
            State::Critical,
            Login::GoneAfterCredentials {
                target,
                who,
                ending: outcome.end.ending(),
                chain: note(),
            },
        ),
        LoginEnd::KeyExchanged => (
            State::Critical,
            Login::NoAnswerAfterKeys {
                target,
                who,
                elapsed,
                chain: note(),
            },
        ),
        LoginEnd::NotSent => (
            State::Critical,
            Login::BrokeOff {
                target,
                who,
                chain: note(),
            },
        ),
    };
    Verdict::new(state, reason)
}

/// A login the server accepted, and what went through the tunnel after it.
fn logged_in(
    outcome: &Outcome,
    login: &LoginOutcome,
    chain: Verdict,
    thresholds: &Thresholds,
) -> Verdict {
    let empty = PushReply::default();
    let (reply, point_to_point) = match &login.end {
        LoginEnd::Pushed(reply) => (reply, false),
        _ => (&empty, true),
    };
    let slow = Slow::judge(outcome.elapsed, thresholds);
    let state = chain.state.max(Slow::state(&slow));
    let logged = Box::new(LoggedIn {
        target: outcome.target.clone(),
        who: login.who.clone(),
        elapsed: outcome.elapsed,
        address: reply.address(),
        cipher: reply.cipher().map(str::to_string),
        point_to_point,
        wrap: outcome.wrap,
        chain: (chain.state > State::Ok).then(|| Box::new(chain)),
        slow,
        exit_unacked: login.exit == Exit::Sent
            && !point_to_point
            && outcome.end.cut() == Some(&Ending::TimedOut),
    });
    let data = &login.data;
    let through = data.pinged || data.dns.is_some() || data.tcp.is_some() || data.http.is_some();
    if through && point_to_point {
        return Verdict::new(state.max(State::Unknown), Login::NoTunnelAddress(logged));
    }
    if !through {
        return Verdict::new(state, Login::LoggedIn(logged));
    }
    // The echoes' and the questions' verdicts, the worst first.
    let mut found: Vec<Verdict> = Vec::new();
    if data.pinged {
        found.push(super::ping::assess(data, thresholds));
    }
    if let Some(d) = &data.dns {
        // The data channel's own failure is said once, by the echoes.
        if !(data.pinged && data.unsupported.is_some()) {
            found.push(match &data.unsupported {
                Some(_) => super::ping::assess(data, thresholds),
                None => super::dns::assess(d, data),
            });
        }
    }
    if let Some(c) = &data.tcp {
        if data.unsupported.is_none() {
            found.push(super::tcp::assess(c, data));
        } else if !data.pinged && data.dns.is_none() {
            found.push(super::ping::assess(data, thresholds));
        }
    }
    if let Some(h) = &data.http {
        if data.unsupported.is_none() {
            found.push(super::http::assess(h, data, thresholds, outcome.now_unix));
        } else if found.is_empty() {
            found.push(super::ping::assess(data, thresholds));
        }
    }
    let rank = |v: &Verdict| v.state.severity();
    found.sort_by_key(|v| std::cmp::Reverse(rank(v)));
    let worst = found.iter().max_by_key(|v| rank(v)).map(|v| v.state);
    Verdict::new(
        state.max(worst.unwrap_or(State::Ok)),
        Login::Through {
            found,
            login: logged,
        },
    )
}

/// `who` for the status line: `?` when neither a user name nor a CN is known.
fn who_words(who: &str) -> &str {
    if who.is_empty() {
        "?"
    } else {
        who
    }
}

/// `; ` and the chain's words, when its verdict is not OK.
fn chain_note(chain: &Option<Box<Verdict>>) -> String {
    chain
        .as_ref()
        .map(|c| format!("; {}", words(c)))
        .unwrap_or_default()
}

/// What follows the target in a login's words: `logged in as alice in 12.0 ms, ...`.
fn logged_in_words(l: &LoggedIn) -> String {
    let mut parts = Vec::new();
    if let Some(a) = l.address {
        parts.push(format!("pushed {}", address_words(a)));
    }
    if let Some(c) = &l.cipher {
        parts.push(format!("cipher {c}"));
    }
    if l.point_to_point {
        parts.push("point-to-point server (it pushes nothing)".into());
    }
    let what = if parts.is_empty() {
        String::new()
    } else {
        format!(", {}", parts.join(", "))
    };
    let mut text = format!(
        "logged in as {} in {}{what} ({}){}{}",
        who_words(&l.who),
        human(l.elapsed.as_secs_f64()),
        wrap_name(l.wrap),
        chain_note(&l.chain),
        Slow::words(&l.slow)
    );
    if l.exit_unacked {
        text.push_str(" (our EXIT was not acknowledged in time)");
    }
    text
}

/// The words for a login's verdict.
pub(super) fn login_words(l: &Login) -> String {
    match l {
        Login::Withheld { chain } => format!("{}; credentials not sent", words(chain)),
        Login::LoggedIn(l) => format!("{} {}", target_name(&l.target), logged_in_words(l)),
        Login::NoTunnelAddress(l) => format!(
            "{} {}; nothing sent through the tunnel: a point-to-point server pushes no tunnel address",
            target_name(&l.target),
            logged_in_words(l)
        ),
        Login::Through { found, login } => format!(
            "{}: {}; {}",
            target_name(&login.target),
            found.iter().map(words).collect::<Vec<_>>().join("; "),
            logged_in_words(login)
        ),
        Login::CompressionRefused {
            target,
            who,
            pushed,
            allow,
            chain,
        } => {
            let rule = match allow {
                Some(a) => format!("allow-compression {}", a.name()),
                None => "allow-compression no (2.6's default)".into(),
            };
            format!(
                "{}: the server pushed '{pushed}', which {rule} forbids: OpenVPN 2.6+ clients with this config fail at the push; the login as {} itself worked{}",
                target_name(target),
                who_words(who),
                chain_note(chain)
            )
        }
        Login::AuthFailed {
            target,
            who,
            reason,
            chain,
        } => format!(
            "{}: login as {} refused, AUTH_FAILED{}{}",
            target_name(target),
            who_words(who),
            reason
                .as_deref()
                .map(|r| format!(": '{r}'"))
                .unwrap_or_default(),
            chain_note(chain)
        ),
        Login::Restart {
            target,
            who,
            halt,
            message,
        } => format!(
            "{}: the server answered the login as {} with {}{}",
            target_name(target),
            who_words(who),
            if *halt { "HALT" } else { "RESTART" },
            message
                .as_deref()
                .map(|m| format!(": '{m}'"))
                .unwrap_or_default()
        ),
        Login::Pending {
            target,
            who,
            method,
            timeout,
            elapsed,
        } => format!(
            "{}: login as {} still pending{} after {}{}: the server waits for a second factor this check cannot give",
            target_name(target),
            who_words(who),
            method
                .as_deref()
                .map(|m| format!(" by {m}"))
                .unwrap_or_default(),
            human(elapsed.as_secs_f64()),
            timeout
                .map(|t| format!(" (the server allows {t} s)"))
                .unwrap_or_default()
        ),
        Login::GoneAfterCredentials {
            target,
            who,
            ending,
            chain,
        } => {
            let gone = match ending {
                Ending::Closed => "closed the connection",
                Ending::Reset => "reset the connection",
                Ending::Refused => "stopped answering (port unreachable)",
                _ => "went silent",
            };
            format!(
                "{}: the server {gone} after our certificate and credentials as {}: probably a revoked client certificate, an expired CRL on the server, a client CA it does not know, or a refused password (its log says which){}",
                target_name(target),
                who_words(who),
                chain_note(chain)
            )
        }
        Login::NoAnswerAfterKeys {
            target,
            who,
            elapsed,
            chain,
        } => format!(
            "{}: the server took the key exchange of {} but sent no push, refusal or pending notice within {} (a client-connect script or auth backend that hangs looks like this){}",
            target_name(target),
            who_words(who),
            human(elapsed.as_secs_f64()),
            chain_note(chain)
        ),
        Login::BrokeOff { target, who, chain } => format!(
            "{}: login as {} broke off{}",
            target_name(target),
            who_words(who),
            chain_note(chain)
        ),
    }
}

/// The TLS stage: the server's reset came; how far did TLS get, and what of the chain.
pub(super) fn assess_tls(outcome: &Outcome, tls: &TlsOutcome, thresholds: &Thresholds) -> Verdict {
    let target = outcome.target.clone();
    let elapsed = outcome.elapsed;
    if !outcome.end.established() {
        let step = outcome.end.reached();
        let stall = Stall::at(step, outcome.wrap);
        let ending = outcome.end.ending();
        let probed = match &tls.failure {
            None
            | Some(TlsFailure::Alert {
                before_server_hello: true,
                ..
            }) => probe_verdict(tls),
            _ => None,
        };
        let (state, why) = match (probed, &tls.failure, ending) {
            (Some(p), _, _) => p,
            (
                None,
                Some(TlsFailure::Alert {
                    description,
                    before_server_hello: true,
                }),
                _,
            ) => (
                State::Unknown,
                TlsStop::HelloRefused {
                    description: *description,
                },
            ),
            (None, Some(TlsFailure::Incompatible(i)), _) => {
                (State::Unknown, TlsStop::Incompatible(i.clone()))
            }
            (None, Some(TlsFailure::Alert { description, .. }), _) => (
                State::Critical,
                TlsStop::Alert {
                    description: *description,
                    step,
                },
            ),
            (None, Some(TlsFailure::BadSignature(e)), _) => {
                (State::Critical, TlsStop::BadSignature(e.clone()))
            }
            (None, Some(TlsFailure::Protocol(d)), _) => (
                State::Critical,
                TlsStop::Protocol {
                    failure: d.clone(),
                    step,
                },
            ),
            (None, None, Ending::Closed) => (State::Critical, TlsStop::Closed { step, stall }),
            (None, None, Ending::Reset) => (State::Critical, TlsStop::Reset { step, stall }),
            (None, None, Ending::TimedOut) => (
                State::Critical,
                TlsStop::TimedOut {
                    elapsed,
                    step,
                    stall,
                },
            ),
            (None, None, ending) => (State::Critical, TlsStop::Ended { step, ending }),
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
        let (state, why) =
            if refused_hello && !tls.offer_lines.is_empty() && !tls.unoffered.is_empty() {
                (
                    State::Unknown,
                    TlsStop::NarrowedHelloRefused {
                        lines: tls.offer_lines.clone(),
                        unoffered: tls.unoffered.clone(),
                    },
                )
            } else if refused_hello && !tls.offer_lines.is_empty() {
                (
                    State::Critical,
                    TlsStop::ConfigHelloRefused {
                        lines: tls.offer_lines.clone(),
                    },
                )
            } else {
                (state, why)
            };
        let server_cert = tls
            .judgement
            .as_ref()
            .and_then(|j| j.certs.first())
            .map(CertInfo::short_name);
        return Verdict::new(
            state,
            Tls::Broken {
                target,
                why,
                server_cert,
            },
        );
    }
    let Some(j) = &tls.judgement else {
        return Verdict::new(
            State::Critical,
            Tls::NoCertificate {
                target,
                version: tls.version,
            },
        );
    };
    let now = outcome.now_unix;
    let mut state = j
        .problems
        .iter()
        .map(problem_state)
        .max()
        .unwrap_or(State::Ok);
    let days = match (&thresholds.cert_days, j.soonest()) {
        (Some(days), Some(first)) => {
            let left = first.days_left(now);
            // An expired certificate is its own problem, unless it went unjudged (pinned
            // by peer-fingerprint alone, as OpenVPN's client takes it): then -C says it.
            let expired_unjudged = first.not_after < now
                && !j
                    .problems
                    .iter()
                    .any(|p| matches!(p, Problem::Expired { .. }));
            if expired_unjudged {
                Some(Days::ExpiredUnjudged(first.clone()))
            } else if left < days.critical_days() && first.not_after >= now {
                Some(Days::Critical {
                    cert: first.clone(),
                    left,
                    under: days.critical_days(),
                })
            } else if left < days.warning && first.not_after >= now {
                Some(Days::Warning {
                    cert: first.clone(),
                    left,
                    under: days.warning,
                })
            } else {
                None
            }
        }
        _ => None,
    };
    state = state.max(match days {
        Some(Days::Warning { .. }) => State::Warning,
        Some(_) => State::Critical,
        None => State::Ok,
    });
    let slow = Slow::judge(elapsed, thresholds);
    state = state.max(Slow::state(&slow));
    Verdict::new(
        state,
        Tls::Established(Box::new(Established {
            target,
            version: tls.version,
            suite: tls.suite,
            elapsed,
            wrap: outcome.wrap,
            chain: j.clone(),
            now,
            days,
            slow,
        })),
    )
}

/// The words for the TLS stage's verdict.
pub(super) fn tls_words(t: &Tls) -> String {
    match t {
        Tls::Broken {
            target,
            why,
            server_cert,
        } => {
            let mut text = format!(
                "{}: reset answered, but {}",
                target_name(target),
                stop_words(why)
            );
            if let Some(name) = server_cert {
                text.push_str(&format!(" (server certificate {name})"));
            }
            text
        }
        Tls::NoCertificate { target, version } => format!(
            "{}: {} established, but the server sent no certificate",
            target_name(target),
            version.map_or_else(|| "TLS".to_string(), version_name)
        ),
        Tls::Established(e) => established_words(e),
    }
}

fn stop_words(why: &TlsStop) -> String {
    match why {
        TlsStop::ProbeHidden { choice } => format!(
            "the server dropped our TLS hello without a word, yet chose {} for a hello that offers everything OpenVPN's OpenSSL may pick, all of which this check speaks; TLS 1.3 hides the rest, so its certificate probably has a key this check does not verify (such as Ed448); the server is up, but this check cannot judge it",
            chosen_words(choice)
        ),
        TlsStop::ProbeSpeakable { choice } => format!(
            "the server dropped our TLS hello without a word, yet chose {} for a hello that offers everything OpenVPN's OpenSSL may pick, all of which this check speaks",
            chosen_words(choice)
        ),
        TlsStop::ProbeLacks { choice, lacks } => format!(
            "the server speaks only {}, which this check does not implement (it chose {} for a hello that offers everything OpenVPN's OpenSSL may pick); the server is up, but this check cannot judge it",
            lacks.iter().map(lack_words).collect::<Vec<_>>().join(" with "),
            chosen_words(choice)
        ),
        TlsStop::HelloRefused { description } => format!(
            "the server refused our TLS hello with alert {description:?}: it accepts no TLS version or cipher suite this check speaks (TLS 1.3, or TLS 1.2 with ECDHE; e.g. a TLS 1.2 server limited to DHE suites); the server is up, but this check cannot judge it"
        ),
        TlsStop::Incompatible(i) => format!(
            "the server's TLS uses something this check cannot speak ({}); the server is up, but this check cannot judge it",
            incompatible_words(i)
        ),
        TlsStop::Alert { description, step } => {
            format!("TLS alert {description:?} from the server {}", step_name(*step))
        }
        TlsStop::BadSignature(e) => format!(
            "the server's handshake signature does not verify against its certificate ({e:?})"
        ),
        TlsStop::Protocol { failure, step } => format!(
            "TLS handshake failed {}: {}",
            step_name(*step),
            protocol_words(failure)
        ),
        TlsStop::Closed { step, stall } => format!(
            "connection closed by the server during the TLS handshake, {}{}",
            step_name(*step),
            stall_words(*stall)
        ),
        TlsStop::Reset { step, stall } => format!(
            "connection reset by the server during the TLS handshake, {}{}",
            step_name(*step),
            stall_words(*stall)
        ),
        TlsStop::TimedOut {
            elapsed,
            step,
            stall,
        } => format!(
            "TLS handshake not finished within {}, {}{}",
            human(elapsed.as_secs_f64()),
            step_name(*step),
            stall_words(*stall)
        ),
        TlsStop::Ended { step, ending } => format!(
            "TLS handshake broken off {}: {}",
            step_name(*step),
            ending_words(ending)
        ),
        TlsStop::NarrowedHelloRefused { lines, unoffered } => format!(
            "the server refused the TLS hello that the client config's {} makes without {} (which this check cannot speak): OpenVPN's client may still connect",
            lines.join(", "),
            unoffered.join(":")
        ),
        TlsStop::ConfigHelloRefused { lines } => format!(
            "the server refused the TLS hello that the client config's {} makes, as it refuses OpenVPN's client with that config",
            lines.join(", ")
        ),
    }
}

fn established_words(e: &Established) -> String {
    let target = target_name(&e.target);
    let version = e.version.map_or_else(|| "TLS".to_string(), version_name);
    let suite = e.suite.map(suite_name).unwrap_or_default();
    let (j, now) = (&e.chain, e.now);
    let mut problems: Vec<String> = j
        .problems
        .iter()
        .map(|p| problem_words(p, j, now))
        .collect();
    if let Some(d) = &e.days {
        problems.push(days_words(d, now));
    }
    let mut cert = String::new();
    if let Some(leaf) = j.certs.first() {
        cert = format!(
            "certificate {} {}",
            leaf.short_name(),
            validity_words(leaf, now)
        );
        if let Some(first) = j.soonest() {
            if first != leaf {
                cert.push_str(&format!(
                    ", {} {} expires first: {}",
                    role_name(first.role),
                    first.short_name(),
                    validity_words(first, now)
                ));
            }
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
    let handshake = format!(
        "{version} {suite} in {}, {cert}, {verified} ({})",
        human(e.elapsed.as_secs_f64()),
        wrap_name(e.wrap)
    );
    let text = if problems.is_empty() {
        format!("{target} {handshake}")
    } else {
        format!("{target}: {}; {handshake}", problems.join("; "))
    };
    format!("{text}{}", Slow::words(&e.slow))
}

fn days_words(d: &Days, now: i64) -> String {
    match d {
        Days::ExpiredUnjudged(c) => format!(
            "{} {} {} (-C critical once expired; OpenVPN's client pinning it with peer-fingerprint still connects)",
            role_name(c.role),
            c.short_name(),
            validity_words(c, now)
        ),
        Days::Critical { cert, left, under } => format!(
            "{} {} expires in {left} days (critical under {under})",
            role_name(cert.role),
            cert.short_name()
        ),
        Days::Warning { cert, left, under } => format!(
            "{} {} expires in {left} days (warning under {under})",
            role_name(cert.role),
            cert.short_name()
        ),
    }
}

/// How bad a problem of the chain is.
pub(super) fn problem_state(p: &Problem) -> State {
    match p {
        Problem::Unsupported { .. } | Problem::Unchecked { .. } => State::Unknown,
        _ => State::Critical,
    }
}

pub(super) fn problem_words(p: &Problem, j: &Judgement, now: i64) -> String {
    let cert = |i: &usize| j.certs.get(*i);
    match p {
        Problem::Expired { cert: i } => match cert(i) {
            Some(c) => format!(
                "{} {} {} ({})",
                role_name(c.role),
                c.short_name(),
                validity_words(c, now),
                date(c.not_after)
            ),
            None => "a certificate expired".into(),
        },
        Problem::NotYetValid { cert: i } => match cert(i) {
            Some(c) => format!(
                "{} {} is not valid before {}",
                role_name(c.role),
                c.short_name(),
                date(c.not_before)
            ),
            None => "a certificate is not yet valid".into(),
        },
        Problem::Untrusted { reason } => format!("chain does not lead to --ca: {reason}"),
        Problem::BadSignature { reason } => {
            format!("a signature in the chain does not verify ({reason})")
        }
        Problem::Unsupported { reason } => format!(
            "the chain uses an algorithm this check cannot verify ({reason}); an OpenVPN client may still accept it"
        ),
        Problem::NameMismatch {
            expected,
            kind,
            actual,
        } => format!(
            "verify-x509-name {} '{expected}' does not match '{actual}'",
            kind.keyword()
        ),
        Problem::Eku { reason } => format!("server certificate refused: {reason}"),
        Problem::NoKeyUsage => {
            "server certificate refused: it has no key usage, which remote-cert-tls server requires".into()
        }
        Problem::Unparsable { index, reason } => format!(
            "certificate {} of the chain cannot be read: {reason}",
            index + 1
        ),
        Problem::Rule { rule, found } => {
            format!("{rule} in the client config refuses the server: {found}")
        }
        Problem::Unchecked { rule, reason } => format!("{rule} in the client config: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::verdict::Reason;
    use super::*;
    use crate::chain::Role;
    use crate::check::{Answer, DataOutcome, DnsOutcome, FlowEnd, KeyOrigin};
    use crate::net::Proto;
    use crate::proto::login::ServerKeyMethod2;
    use crate::proto::Why;
    use crate::wire::Auth;

    const DAY: i64 = 86_400;

    fn leaf(days: i64) -> CertInfo {
        CertInfo {
            role: Role::Leaf,
            subject: "CN=vpn".into(),
            issuer: "CN=ca".into(),
            common_name: Some("vpn".into()),
            not_before: -DAY,
            not_after: days * DAY + 60,
            key: "EC P-256".into(),
            sha256: String::new(),
        }
    }

    fn established() -> TlsOutcome {
        TlsOutcome {
            version: Some(rustls::ProtocolVersion::TLSv1_3),
            suite: Some(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            judgement: Some(Judgement {
                certs: vec![leaf(100)],
                verified: true,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn outcome(tls: TlsOutcome) -> Outcome {
        let addr = "192.0.2.7:1194".parse().unwrap();
        Outcome {
            target: Target {
                host: "192.0.2.7".into(),
                addr,
                proto: Proto::Udp,
            },
            addr,
            wrap: WrapKind::TlsCrypt,
            result: Answer::Answered(Auth::Verified),
            end: FlowEnd::Finished {
                reached: Progress::Established,
                why: Why::Reached,
                then: None,
            },
            elapsed: Duration::from_millis(12),
            attempts: 1,
            max_attempts: 3,
            budget: Duration::from_secs(6),
            ignored: Default::default(),
            tls: Some(tls),
            now_unix: 0,
            key_origin: KeyOrigin::None,
            details: vec![],
        }
    }

    /// `tls`'s outcome, its flow ended at `reached`: cut by `ending`, or finished by the
    /// session when `None`.
    fn ended(tls: TlsOutcome, reached: Progress, ending: Option<Ending>) -> Outcome {
        let mut o = outcome(tls);
        o.end = match ending {
            Some(ending) => FlowEnd::Cut { reached, ending },
            None => FlowEnd::Finished {
                reached,
                why: Why::Failed,
                then: None,
            },
        };
        o
    }

    fn logged(login: LoginOutcome) -> Outcome {
        outcome(TlsOutcome {
            login: Some(login),
            ..established()
        })
    }

    fn pushed() -> LoginOutcome {
        LoginOutcome {
            who: "alice".into(),
            end: LoginEnd::Pushed(PushReply::new(vec![
                "ifconfig 10.8.0.6 255.255.255.0".into(),
                "cipher AES-256-GCM".into(),
            ])),
            ..Default::default()
        }
    }

    fn assess(o: &Outcome, t: &Thresholds) -> Verdict {
        super::super::verdict::assess(o, t)
    }

    fn login_of(v: &Verdict) -> &Login {
        match &v.reason {
            Reason::Login(l) => l,
            other => panic!("no login verdict: {other:?}"),
        }
    }

    fn days(warning: i64, critical: Option<i64>) -> Thresholds {
        Thresholds {
            cert_days: Some(super::super::state::CertDays { warning, critical }),
            ..Default::default()
        }
    }

    #[test]
    fn tls_verdicts_on_the_chain() {
        let o = outcome(established());
        let v = assess(&o, &Thresholds::default());
        assert_eq!(v.state, State::Ok);
        let Reason::Tls(Tls::Established(e)) = &v.reason else {
            panic!("{v:?}")
        };
        assert_eq!((&e.days, &e.slow, e.chain.verified), (&None, &None, true));
        // -C: the days left against both limits.
        let v = assess(&o, &days(200, Some(50)));
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(&v.reason, Reason::Tls(Tls::Established(e))
                if e.days == Some(Days::Warning { cert: leaf(100), left: 100, under: 200 })),
            "{v:?}"
        );
        let v = assess(&o, &days(200, Some(150)));
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(&v.reason, Reason::Tls(Tls::Established(e))
                if e.days == Some(Days::Critical { cert: leaf(100), left: 100, under: 150 })),
            "{v:?}"
        );
        // A chain problem grades as its kind: CRITICAL, or UNKNOWN where the check cannot tell.
        let mut tls = established();
        let j = tls.judgement.as_mut().unwrap();
        j.problems.push(Problem::Unchecked {
            rule: "tls-cert-profile".into(),
            reason: "unknown".into(),
        });
        let v = assess(&outcome(tls.clone()), &Thresholds::default());
        assert_eq!(v.state, State::Unknown);
        tls.judgement.as_mut().unwrap().problems = vec![Problem::NoKeyUsage];
        assert_eq!(
            assess(&outcome(tls), &Thresholds::default()).state,
            State::Critical
        );
        // An expired leaf pinned by fingerprint alone: -C says it.
        let mut pinned = established();
        let j = pinned.judgement.as_mut().unwrap();
        j.certs = vec![leaf(-3)];
        j.verified = false;
        j.pinned = Some("peer-fingerprint");
        let v = assess(&outcome(pinned), &days(30, None));
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(&v.reason, Reason::Tls(Tls::Established(e))
                if e.days == Some(Days::ExpiredUnjudged(leaf(-3)))),
            "{v:?}"
        );
        // No certificate at all.
        let bare = TlsOutcome {
            judgement: None,
            ..established()
        };
        assert!(matches!(
            assess(&outcome(bare), &Thresholds::default()),
            Verdict {
                state: State::Critical,
                reason: Reason::Tls(Tls::NoCertificate { .. })
            }
        ));
    }

    #[test]
    fn tls_verdicts_on_a_broken_handshake() {
        let broken = |mut o: Outcome, wrap: WrapKind| {
            o.wrap = wrap;
            let v = assess(&o, &Thresholds::default());
            match v.reason {
                Reason::Tls(Tls::Broken { why, .. }) => (v.state, why),
                other => panic!("{other:?}"),
            }
        };
        let closed = ended(
            TlsOutcome::default(),
            Progress::HelloSent,
            Some(Ending::Closed),
        );
        assert_eq!(
            broken(closed.clone(), WrapKind::TlsCryptV2),
            (
                State::Critical,
                TlsStop::Closed {
                    step: Progress::HelloSent,
                    stall: Some(Stall::ClientKeyRefused)
                }
            )
        );
        assert_eq!(
            broken(closed, WrapKind::TlsCrypt),
            (
                State::Critical,
                TlsStop::Closed {
                    step: Progress::HelloSent,
                    stall: Some(Stall::HelloUnanswered)
                }
            )
        );
        let silent = ended(TlsOutcome::default(), Progress::HelloAcked, None);
        assert_eq!(
            broken(silent, WrapKind::TlsCrypt),
            (
                State::Critical,
                TlsStop::TimedOut {
                    elapsed: Duration::from_millis(12),
                    step: Progress::HelloAcked,
                    stall: Some(Stall::TlsSilent)
                }
            )
        );
        let refused = TlsOutcome {
            failure: Some(TlsFailure::Alert {
                description: rustls::AlertDescription::HandshakeFailure,
                before_server_hello: true,
            }),
            ..Default::default()
        };
        assert_eq!(
            broken(
                ended(refused.clone(), Progress::HelloAcked, None),
                WrapKind::TlsCrypt
            ),
            (
                State::Unknown,
                TlsStop::HelloRefused {
                    description: rustls::AlertDescription::HandshakeFailure
                }
            )
        );
        // The config narrowed the hello: its clients are refused alike, unless the check
        // left out suites OpenVPN's client offers.
        let narrowed = TlsOutcome {
            offer_lines: vec!["tls-cipher X".into()],
            ..refused
        };
        assert_eq!(
            broken(
                ended(narrowed.clone(), Progress::HelloAcked, None),
                WrapKind::TlsCrypt
            ),
            (
                State::Critical,
                TlsStop::ConfigHelloRefused {
                    lines: vec!["tls-cipher X".into()]
                }
            )
        );
        let unoffered = TlsOutcome {
            unoffered: vec!["DHE-RSA-AES256-GCM-SHA384".into()],
            ..narrowed
        };
        assert!(matches!(
            broken(
                ended(unoffered, Progress::HelloAcked, None),
                WrapKind::TlsCrypt
            ),
            (State::Unknown, TlsStop::NarrowedHelloRefused { .. })
        ));
        let late = TlsOutcome {
            failure: Some(TlsFailure::Alert {
                description: rustls::AlertDescription::BadCertificate,
                before_server_hello: false,
            }),
            ..Default::default()
        };
        assert_eq!(
            broken(ended(late, Progress::ServerSpoke, None), WrapKind::TlsCrypt),
            (
                State::Critical,
                TlsStop::Alert {
                    description: rustls::AlertDescription::BadCertificate,
                    step: Progress::ServerSpoke
                }
            )
        );
    }

    #[test]
    fn login_verdicts() {
        let none = Thresholds::default();
        let v = assess(&logged(pushed()), &none);
        assert_eq!(v.state, State::Ok);
        let Login::LoggedIn(l) = login_of(&v) else {
            panic!("{v:?}")
        };
        assert_eq!(
            (l.who.as_str(), l.address, l.cipher.as_deref(), &l.chain),
            (
                "alice",
                Some(PushedAddress::Subnet {
                    local: "10.8.0.6".parse().unwrap(),
                    bits: 24
                }),
                Some("AES-256-GCM"),
                &None
            )
        );
        // Slow: the login's time against -w/-c.
        let slow = Thresholds {
            warning: Some("0.01".parse().unwrap()),
            ..Default::default()
        };
        let v = assess(&logged(pushed()), &slow);
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(login_of(&v), Login::LoggedIn(l) if matches!(l.slow, Some(Slow::Warning(_)))),
            "{v:?}"
        );
        let refused = LoginOutcome {
            who: "alice".into(),
            end: LoginEnd::AuthFailed {
                reason: Some("bad password".into()),
            },
            ..Default::default()
        };
        let v = assess(&logged(refused), &none);
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(login_of(&v), Login::AuthFailed { reason: Some(r), chain: None, .. } if r == "bad password"),
            "{v:?}"
        );
        let pending = LoginOutcome {
            end: LoginEnd::Pending {
                timeout: Some(60),
                method: Some("WEB_AUTH".into()),
            },
            ..Default::default()
        };
        let v = assess(&logged(pending), &none);
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(login_of(&v), Login::Pending { timeout: Some(60), method: Some(m), .. } if m == "WEB_AUTH"),
            "{v:?}"
        );
        let halt = LoginOutcome {
            end: LoginEnd::Restart {
                halt: true,
                message: None,
            },
            ..Default::default()
        };
        assert!(matches!(
            login_of(&assess(&logged(halt), &none)),
            Login::Restart {
                halt: true,
                message: None,
                ..
            }
        ));
        // Silence after our credentials: how the server went away.
        let mut gone = logged(LoginOutcome {
            end: LoginEnd::KeySent,
            ..Default::default()
        });
        gone.end = FlowEnd::Cut {
            reached: Progress::KeySent,
            ending: Ending::Closed,
        };
        assert!(matches!(
            login_of(&assess(&gone, &none)),
            Login::GoneAfterCredentials {
                ending: Ending::Closed,
                ..
            }
        ));
        let keys = LoginOutcome {
            end: LoginEnd::KeyExchanged,
            server_key: Some(ServerKeyMethod2 {
                options: "V4".into(),
                peer_info: String::new(),
            }),
            ..Default::default()
        };
        assert!(matches!(
            login_of(&assess(&logged(keys), &none)),
            Login::NoAnswerAfterKeys { .. }
        ));
        assert!(matches!(
            login_of(&assess(&logged(LoginOutcome::default()), &none)),
            Login::BrokeOff { .. }
        ));
        let compressed = LoginOutcome {
            compression_refused: Some(("comp-lzo".into(), None)),
            ..pushed()
        };
        let v = assess(&logged(compressed), &none);
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(login_of(&v), Login::CompressionRefused { pushed, allow: None, .. } if pushed == "comp-lzo"),
            "{v:?}"
        );
    }

    #[test]
    fn a_login_carries_the_chains_verdict() {
        let mut o = logged(LoginOutcome {
            end: LoginEnd::Withheld,
            ..Default::default()
        });
        let tls = o.tls.as_mut().unwrap();
        tls.judgement
            .as_mut()
            .unwrap()
            .problems
            .push(Problem::NoKeyUsage);
        let v = assess(&o, &Thresholds::default());
        assert_eq!(v.state, State::Critical);
        let Login::Withheld { chain } = login_of(&v) else {
            panic!("{v:?}")
        };
        assert_eq!(chain.state, State::Critical);
        assert!(matches!(chain.reason, Reason::Tls(Tls::Established(_))));
        // A warning on the chain rides along a login that worked.
        let v = assess(&logged(pushed()), &days(200, None));
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(login_of(&v), Login::LoggedIn(l) if l.chain.as_ref().is_some_and(|c| c.state == State::Warning)),
            "{v:?}"
        );
    }

    #[test]
    fn through_the_tunnel_the_worst_comes_first() {
        let none = Thresholds::default();
        let mut login = pushed();
        login.data = DataOutcome {
            pinged: true,
            dns: Some(DnsOutcome {
                no_server: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = assess(&logged(login.clone()), &none);
        assert_eq!(v.state, State::Critical);
        let Login::Through { found, .. } = login_of(&v) else {
            panic!("{v:?}")
        };
        let states: Vec<State> = found.iter().map(|f| f.state).collect();
        assert_eq!(states, vec![State::Critical, State::Unknown]);
        assert!(matches!(found[1].reason, Reason::Dns(_)));
        // A point-to-point server: nothing goes through the tunnel.
        login.end = LoginEnd::PointToPoint;
        let v = assess(&logged(login), &none);
        assert_eq!(v.state, State::Unknown);
        assert!(matches!(login_of(&v), Login::NoTunnelAddress(_)));
    }

    /// The words of a few verdicts, pinned.
    #[test]
    fn words_golden() {
        let none = Thresholds::default();
        let said = |o: &Outcome, t: &Thresholds| words(&assess(o, t));
        assert_eq!(
            said(&outcome(established()), &none),
            "192.0.2.7:1194/udp TLSv1.3 TLS_AES_256_GCM_SHA384 in 12.0 ms, certificate CN=vpn valid 100 more days, chain verified (tls-crypt)"
        );
        assert_eq!(
            said(&logged(pushed()), &days(200, None)),
            "192.0.2.7:1194/udp logged in as alice in 12.0 ms, pushed 10.8.0.6/24, cipher AES-256-GCM (tls-crypt); \
             192.0.2.7:1194/udp: certificate CN=vpn expires in 100 days (warning under 200); \
             TLSv1.3 TLS_AES_256_GCM_SHA384 in 12.0 ms, certificate CN=vpn valid 100 more days, chain verified (tls-crypt)"
        );
        let refused = LoginOutcome {
            end: LoginEnd::AuthFailed {
                reason: Some("bad password".into()),
            },
            ..Default::default()
        };
        assert_eq!(
            said(&logged(refused), &none),
            "192.0.2.7:1194/udp: login as ? refused, AUTH_FAILED: 'bad password'"
        );
        let mut through = pushed();
        through.data = DataOutcome {
            dns: Some(DnsOutcome {
                no_server: true,
                question: crate::check::dns::DnsSpec {
                    name: "intranet".into(),
                    record_type: "a".into(),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            said(&logged(through), &none),
            "192.0.2.7:1194/udp: no DNS server to ask for intranet A: the server pushes none (dhcp-option DNS, dns server) \
             and no --dns-server was given; logged in as alice in 12.0 ms, pushed 10.8.0.6/24, cipher AES-256-GCM (tls-crypt)"
        );
        let closed = ended(
            TlsOutcome::default(),
            Progress::HelloSent,
            Some(Ending::Closed),
        );
        assert_eq!(
            said(&closed, &none),
            "192.0.2.7:1194/udp: reset answered, but connection closed by the server during the TLS handshake, \
             after our ClientHello (the server answered the reset but not our ClientHello: its TLS side is stuck, \
             or it dropped our session)"
        );
    }
}
