//! Runs a check: resolve, one session per address, the driver under one deadline, and
//! another hello when our own was dropped.

use crate::net::{self, Ending, Family, Flow, Proto};
use crate::proto::probe;
use crate::proto::{
    Event, OsRandom, PingConfig, Progress, Randomness, Session, SessionConfig, Stage, TlsFailure,
};
use crate::wire::Wrap;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::outcome::{Answer, CheckError, Detail, Outcome, Target, TlsOutcome};
use super::record::Recorder;
use super::spec::{Bind, CheckSpec, Note, PingSpec};

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Every random byte of one session, from the system; a failing system RNG stops the
/// check (UNKNOWN), never runs it on zeros.
pub(super) fn draw_randomness() -> Result<Randomness, CheckError> {
    Randomness::draw(&mut OsRandom).map_err(|e| CheckError::Random(e.to_string()))
}

/// The protocol as OpenVPN's options string names it.
pub(super) fn proto_name(proto: Proto, addr: SocketAddr) -> &'static str {
    match (proto, addr.is_ipv6()) {
        (Proto::Udp, false) => "UDPv4",
        (Proto::Udp, true) => "UDPv6",
        (Proto::Tcp, false) => "TCPv4_CLIENT",
        (Proto::Tcp, true) => "TCPv6_CLIENT",
    }
}

/// The one place a check's settings become a session's: what `stage` needs for `addr`.
pub(super) fn session_config(
    spec: &CheckSpec,
    wrap: &Wrap,
    addr: SocketAddr,
    stage: Stage,
    attempts: u32,
    trace: bool,
) -> SessionConfig {
    SessionConfig {
        wrap: wrap.clone(),
        stage,
        validate: spec.validate,
        stream: spec.proto == Proto::Tcp,
        attempt_timeout: spec.timeout,
        attempts,
        server_name: ServerName::IpAddress(addr.ip().into()),
        trace,
        compat_hello: false,
        login: spec.login.as_ref().map(|l| {
            let mut hello = l.hello.clone();
            hello.proto = proto_name(spec.proto, addr);
            hello
        }),
        client_auth: spec.login.as_ref().and_then(|l| l.client_auth.clone()),
        judge: (stage >= Stage::Tls).then(|| (spec.policy.clone(), unix_now())),
        wait_for_close: spec.login.as_ref().is_some_and(|l| l.wait_for_close),
        ping: spec
            .ping
            .filter(|_| stage == Stage::Login)
            .map(|p| PingConfig {
                target: p.target,
                count: p.count,
                interval: PingSpec::INTERVAL,
                until: PingSpec::until(spec.budget()),
            }),
    }
}

/// Starts one session, its attempt schedule starting at `origin`, with its random bytes
/// from the system.
pub(super) fn new_session(cfg: SessionConfig, origin: Instant) -> Result<Session, CheckError> {
    Ok(Session::new(
        cfg,
        draw_randomness()?,
        unix_now() as u32,
        origin,
    ))
}

/// Resolves the host, and the lines `-v` shows about it.
pub(super) fn resolve(
    spec: &CheckSpec,
    limit: Duration,
) -> Result<(Vec<SocketAddr>, Vec<Note>), CheckError> {
    let addrs = net::resolve(&spec.host, spec.port, spec.family, limit)?;
    let notes = vec![Note::Addresses {
        host: spec.host.clone(),
        addresses: addrs.iter().map(|a| a.ip()).collect(),
    }];
    Ok((addrs, notes))
}

/// The spec with `local NAME` resolved to an address of `server`'s family, within what is
/// left of the budget (OpenVPN resolves its `local` the same way).
pub(super) fn resolve_bind(
    spec: &CheckSpec,
    server: SocketAddr,
    deadline: Instant,
    notes: &mut Vec<Note>,
) -> Result<CheckSpec, CheckError> {
    let Some(Bind::Name(name)) = &spec.bind else {
        return Ok(spec.clone());
    };
    let family = if server.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let address = net::resolve(name, 0, Some(family), left).map_err(CheckError::Local)?[0].ip();
    notes.push(Note::LocalAddress {
        name: name.clone(),
        address,
    });
    Ok(CheckSpec {
        bind: Some(Bind::Address(address)),
        ..spec.clone()
    })
}

/// Runs one check against the first address of the host. `Err` is for problems that make
/// the check impossible to run (UNKNOWN); every network result is an `Ok(Outcome)`.
pub fn run(spec: &CheckSpec) -> Result<Outcome, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut outcomes = probe(spec, &addrs[..1], origin, vec![notes])?;
    Ok(outcomes.remove(0))
}

/// `--all-addresses`: resolves the host and probes every address it has, at once.
pub fn run_all(spec: &CheckSpec) -> Result<Vec<Outcome>, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut lead = vec![notes];
    lead.resize(addrs.len(), Vec::new());
    probe(spec, &addrs, origin, lead)
}

/// Probes each of `addrs` at once, each with its own session and the spec's retries, all
/// within one budget. Apart from name resolution so that tests can give the list.
pub fn probe_addresses(spec: &CheckSpec, addrs: &[SocketAddr]) -> Result<Vec<Outcome>, CheckError> {
    probe(spec, addrs, Instant::now(), vec![Vec::new(); addrs.len()])
}

pub(super) fn probe(
    spec: &CheckSpec,
    addrs: &[SocketAddr],
    origin: Instant,
    notes: Vec<Vec<Note>>,
) -> Result<Vec<Outcome>, CheckError> {
    let trace = spec.verbosity >= 2;
    if let Some(Bind::Address(bind)) = spec.bind {
        for &addr in addrs {
            net::check_bind(bind, addr)?;
        }
    }
    let mut flows = Vec::with_capacity(addrs.len());
    for &addr in addrs {
        let cfg = session_config(
            spec,
            &spec.wrap,
            addr,
            spec.stage,
            spec.max_attempts(),
            trace,
        );
        let session = new_session(cfg, origin)?;
        flows.push(Flow::new(addr, spec.proto, session, spec.link()));
    }
    let deadline = origin + spec.budget();
    net::drive(&mut flows, deadline);
    let now_unix = unix_now();
    let mut outcomes: Vec<Outcome> = flows
        .into_iter()
        .zip(notes)
        .map(|(flow, notes)| outcome(spec, flow, origin, notes, now_unix))
        .collect();
    ask_with_another_hello(spec, &mut outcomes, deadline)?;
    Ok(outcomes)
}

/// How long to wait before asking again a server that refused or closed the link: a
/// point-to-point server restarts after a failed handshake and is back within a second.
pub(super) const PROBE_PAUSE: Duration = Duration::from_millis(200);

/// A server that drops our ClientHello without a word may be down, or may speak only TLS
/// this check cannot (OpenVPN sends no alert when OpenSSL finds nothing in common; a
/// point-to-point server restarts, so the next packet meets a closed port). Ask again,
/// within what is left of the budget, with the probing hello: what the server chooses
/// for it says which.
pub(super) fn ask_with_another_hello(
    spec: &CheckSpec,
    outcomes: &mut [Outcome],
    deadline: Instant,
) -> Result<(), CheckError> {
    let mut pending: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            o.tls.as_ref().is_some_and(|t| {
                matches!(t.reached, Progress::HelloSent | Progress::HelloAcked)
                    && matches!(
                        t.failure,
                        None | Some(TlsFailure::Alert {
                            before_server_hello: true,
                            ..
                        })
                    )
            })
        })
        .map(|(i, _)| i)
        .collect();
    while !pending.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let mut flows = Vec::new();
        for &i in &pending {
            let addr = outcomes[i].addr;
            // The TLS stage's session with the probing hello, within what is left.
            let cfg = SessionConfig {
                validate: true,
                attempt_timeout: spec.timeout.min(deadline.saturating_duration_since(now)),
                compat_hello: true,
                login: None,
                wait_for_close: false,
                ping: None,
                ..session_config(
                    spec,
                    &spec.wrap,
                    addr,
                    Stage::Tls,
                    spec.max_attempts(),
                    false,
                )
            };
            let session = new_session(cfg, now)?;
            flows.push(Flow::new(addr, spec.proto, session, spec.link()));
        }
        net::drive(&mut flows, deadline);
        let mut again = Vec::new();
        for (flow, &i) in flows.iter_mut().zip(&pending) {
            let mut answer = None;
            for e in std::mem::take(&mut flow.events) {
                if let Event::ProbeAnswer { answer: a, .. } = e {
                    answer = Some(a);
                }
            }
            // Refused, closed or reset before any answer: a restarting server.
            let restarting = answer.is_none()
                && matches!(
                    flow.ending,
                    Some(Ending::Refused | Ending::Closed | Ending::Reset)
                );
            if restarting {
                again.push(i);
            }
            if let Some(t) = outcomes[i].tls.as_mut() {
                t.probe = Some(answer.unwrap_or(probe::Answer::Silent));
            }
        }
        pending = again;
        if !pending.is_empty() {
            std::thread::sleep(PROBE_PAUSE.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
    Ok(())
}

pub(super) fn outcome(
    spec: &CheckSpec,
    mut flow: Flow,
    origin: Instant,
    notes: Vec<Note>,
    now_unix: i64,
) -> Outcome {
    let start = flow.started.unwrap_or(origin);
    let end = flow.ended_at.unwrap_or_else(Instant::now);
    let ending = flow.ending.clone();
    let mut rec = Recorder::new(spec, start, spec.verbosity, notes);
    let id = flow.session.session_id();
    let addr = flow.addr;
    rec.trace(1, || Detail::SessionId { addr, id });
    if let Some(local) = flow.info.local {
        rec.trace(1, || Detail::SentFrom { addr, local });
    }
    if let Some(granted) = flow.info.recv_buffer {
        rec.trace(1, || Detail::RecvBuffer {
            asked: net::UDP_RCVBUF,
            granted,
        });
    }
    for event in std::mem::take(&mut flow.events) {
        rec.take(event);
    }
    rec.ignored = flow.session.ignored().clone();
    if !rec.ignored.is_empty() {
        let totals = rec.ignored.clone();
        rec.trace(1, || Detail::IgnoredTotals(totals));
    }
    let result = match (&ending, rec.result.take(), rec.finished) {
        (_, Some(r @ (Answer::Answered(_) | Answer::Responded)), _) => r,
        // The server answered our session with an HMAC that did not verify, and nothing
        // better came before the end: the server is up.
        (_, Some(Answer::BadAuth), _) => Answer::BadAuth,
        (Some(e), _, _) => Answer::Failed(e.clone()),
        // No link ending and no answer: the session finished by itself without one
        // (`Why::Silence` after its last reset, `Why::HelloUnanswered`, `Why::BadAuth`).
        (None, _, _) => Answer::Failed(Ending::TimedOut),
    };
    let reached_stage_at = match (&rec.established, rec.reset_at) {
        _ if spec.stage == Stage::Login => rec.answered_at,
        (Some((_, _, at)), _) if spec.stage == Stage::Tls => Some(*at),
        (_, Some(at)) if spec.stage == Stage::Reset => Some(at),
        _ => None,
    };
    let elapsed = reached_stage_at
        .unwrap_or(end)
        .saturating_duration_since(start);
    let login = (spec.stage == Stage::Login).then(|| {
        let mut l = rec.login.clone();
        l.login_time = match (&rec.established, rec.answered_at) {
            (Some((_, _, tls)), Some(done)) => Some(done.saturating_duration_since(*tls)),
            _ => None,
        };
        l.data.pinged = spec.ping.is_some();
        l.who = spec
            .login
            .as_ref()
            .map(|s| s.who.clone())
            .unwrap_or_default();
        l
    });
    let tls = (spec.stage >= Stage::Tls && matches!(result, Answer::Answered(_))).then(|| {
        // Judged once, by the session, under the spec's policy.
        let judgement = rec.judgement.clone();
        TlsOutcome {
            reached: rec
                .finished
                .map_or(flow.session.progress(), |(reached, _)| reached),
            version: rec.established.and_then(|e| e.0),
            suite: rec.established.and_then(|e| e.1),
            failure: rec.failure.clone(),
            tls_time: match (&rec.established, rec.reset_at) {
                (Some((_, _, done)), Some(reset)) => Some(done.saturating_duration_since(reset)),
                _ => None,
            },
            judgement,
            ending: ending.clone(),
            resend_wkc: rec.resend_wkc,
            probe: None,
            login,
        }
    });
    Outcome {
        target: Target {
            host: spec.host.clone(),
            addr: flow.addr,
            proto: spec.proto,
        },
        addr: flow.addr,
        wrap: spec.wrap.kind(),
        result,
        elapsed,
        attempts: flow.session.attempts().max(1),
        max_attempts: spec.max_attempts(),
        budget: spec.budget(),
        ignored: rec.ignored,
        tls,
        now_unix,
        key_origin: spec.key_origin,
        details: rec.details,
    }
}
