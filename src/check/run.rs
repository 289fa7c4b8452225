//! Runs a check: resolve, one session per address, the driver under one deadline, and
//! another hello when our own was dropped.

use crate::net::{self, Ending, Family, Flow, Proto};
use crate::proto::probe;
use crate::proto::{
    DnsConfig, Event, HelloWait, HttpConfig, HttpTarget, OsRandom, PingConfig, Progress,
    Randomness, Session, SessionConfig, Stage, TcpConfig, TlsFailure,
};
use crate::wire::{Rejection, Wrap};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::end::FlowEnd;
use super::outcome::{
    Answer, CheckError, DataOutcome, Detail, LoginOutcome, Outcome, Target, TlsOutcome,
};
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
        // Silence after our hello ends the session early: the probing hello then says at
        // once whether the server cannot speak our TLS or was only slow.
        hello_wait: HelloWait::Quick {
            at_least: Duration::ZERO,
        },
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
        dns: spec
            .dns
            .as_ref()
            .filter(|_| stage == Stage::Login)
            .and_then(|d| {
                Some(DnsConfig {
                    query: d.query(0).ok()?,
                    server: d.server,
                    resend: DNS_RESEND,
                    until: PingSpec::until(spec.budget()),
                })
            }),
        tcp: tcp_config(spec, stage),
        http: spec
            .http
            .as_ref()
            .filter(|_| stage == Stage::Login)
            .and_then(|h| {
                let target = match (h.target, &h.name) {
                    (Some(address), _) => HttpTarget::Address(address),
                    (None, Some(name)) => HttpTarget::Name {
                        name: name.clone(),
                        port: h.port,
                        server: h.dns_server,
                        resend: DNS_RESEND,
                    },
                    (None, None) => return None,
                };
                Some(HttpConfig {
                    target,
                    request: h.request(),
                    limit: super::http::RESPONSE_LIMIT,
                    tls: if h.tls { Some(h.tls_client()?) } else { None },
                    until: PingSpec::until(spec.budget()),
                })
            }),
    }
}

/// A TCP connection through the tunnel, within the echoes' deadline.
fn tcp_config(spec: &CheckSpec, stage: Stage) -> Option<TcpConfig> {
    spec.tcp_connect
        .filter(|_| stage == Stage::Login)
        .map(|target| TcpConfig {
            target,
            until: PingSpec::until(spec.budget()),
        })
}

/// A DNS question without a reply goes again after this long (a lost datagram).
const DNS_RESEND: Duration = Duration::from_secs(1);

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
    run_beside(spec, None)
}

/// [`run`], with a stream conversation riding along in the driver's loop while the
/// probe runs (see [`net::drive_beside`]).
pub fn run_beside(spec: &CheckSpec, beside: Beside<'_, '_>) -> Result<Outcome, CheckError> {
    let origin = Instant::now();
    let (addrs, notes) = resolve(spec, spec.budget())?;
    run_resolved(spec, origin, &addrs, notes, beside)
}

/// A conversation driven beside the probe, if any.
pub type Beside<'x, 'a> = Option<&'x mut net::stream::Exchange<'a>>;

/// [`run`] after the name resolution: the first of `addrs` probed.
fn run_resolved(
    spec: &CheckSpec,
    origin: Instant,
    addrs: &[SocketAddr],
    mut notes: Vec<Note>,
    beside: Beside<'_, '_>,
) -> Result<Outcome, CheckError> {
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut outcomes = probe(spec, &addrs[..1], origin, vec![notes], beside)?;
    Ok(outcomes.remove(0))
}

/// A host's addresses, and the lines `-v` shows about them.
type Resolved = Result<(Vec<SocketAddr>, Vec<Note>), CheckError>;

/// A config's several remotes, each checked with its own spec, all at once and within one
/// budget from the same start. `None` for a remote that is not checked. Remotes that
/// reach the same address, port and protocol are one server: it is checked once (two
/// logins with one certificate at once would make the server drop the first).
pub fn run_remotes(remotes: &[super::RemoteRun]) -> Vec<Option<Result<Outcome, CheckError>>> {
    run_remotes_beside(remotes, None)
}

/// [`run_remotes`], with a stream conversation riding along in the first checked
/// remote's driver loop.
pub fn run_remotes_beside(
    remotes: &[super::RemoteRun],
    mut beside: Beside<'_, '_>,
) -> Vec<Option<Result<Outcome, CheckError>>> {
    let origin = Instant::now();
    let resolved: Vec<Option<Resolved>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = remotes
            .iter()
            .map(|r| {
                r.check
                    .as_ref()
                    .ok()
                    .map(|spec| scope.spawn(move || resolve(spec, spec.budget())))
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.map(|j| j.join().unwrap_or_else(|e| std::panic::resume_unwind(e))))
            .collect()
    });
    // The first remote of each endpoint is checked; the others share its outcome.
    let mut first_of: Vec<((SocketAddr, Proto), usize)> = Vec::new();
    let mut same_as: Vec<Option<usize>> = vec![None; remotes.len()];
    for (i, (r, res)) in remotes.iter().zip(&resolved).enumerate() {
        if let (Ok(spec), Some(Ok((addrs, _)))) = (&r.check, res) {
            let key = (addrs[0], spec.proto);
            match first_of.iter().find(|(k, _)| *k == key) {
                Some(&(_, j)) => same_as[i] = Some(j),
                None => first_of.push((key, i)),
            }
        }
    }
    let mut results: Vec<Option<Result<Outcome, CheckError>>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = remotes
            .iter()
            .zip(resolved)
            .zip(&same_as)
            .map(|((r, res), same)| match (&r.check, res, same) {
                (Ok(spec), Some(Ok((addrs, notes))), None) => {
                    let beside = beside.take();
                    Some(Ok(scope.spawn(move || {
                        run_resolved(spec, origin, &addrs, notes, beside)
                    })))
                }
                (_, Some(Err(e)), _) => Some(Err(e)),
                _ => None,
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.map(|j| j.and_then(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))))
            })
            .collect()
    });
    for (i, same) in same_as.iter().enumerate() {
        if let (Some(j), Ok(spec)) = (same, &remotes[i].check) {
            results[i] = results[*j].as_ref().map(|r| match r {
                Ok(o) => {
                    let mut o = o.clone();
                    o.target.host = spec.host.clone();
                    Ok(o)
                }
                Err(e) => Err(CheckError::Shared(e.to_string())),
            });
        }
    }
    results
}

/// `--all-addresses`: resolves the host and probes every address it has, at once.
pub fn run_all(spec: &CheckSpec) -> Result<Vec<Outcome>, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    let spec = &resolve_bind(spec, addrs[0], origin + spec.budget(), &mut notes)?;
    notes.extend(spec.notes.iter().cloned());
    let mut lead = vec![notes];
    lead.resize(addrs.len(), Vec::new());
    probe(spec, &addrs, origin, lead, None)
}

/// Probes each of `addrs` at once, each with its own session and the spec's retries, all
/// within one budget. Apart from name resolution so that tests can give the list.
pub fn probe_addresses(spec: &CheckSpec, addrs: &[SocketAddr]) -> Result<Vec<Outcome>, CheckError> {
    probe(
        spec,
        addrs,
        Instant::now(),
        vec![Vec::new(); addrs.len()],
        None,
    )
}

pub(super) fn probe(
    spec: &CheckSpec,
    addrs: &[SocketAddr],
    origin: Instant,
    notes: Vec<Vec<Note>>,
    beside: Beside<'_, '_>,
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
    net::drive_beside(&mut flows, beside, deadline);
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

/// Our hello went unanswered: no ack and no record came (the session ended, the server
/// closed the link, or it refused our hello with an alert before its ServerHello).
fn hello_unanswered(end: &FlowEnd, tls: &TlsOutcome) -> bool {
    matches!(end.reached(), Progress::HelloSent | Progress::HelloAcked)
        && matches!(
            tls.failure,
            None | Some(TlsFailure::Alert {
                before_server_hello: true,
                ..
            })
        )
}

/// A server that drops our ClientHello without a word may be down, or may speak only TLS
/// this check cannot (OpenVPN sends no alert when OpenSSL finds nothing in common; a
/// point-to-point server restarts, so the next packet meets a closed port). Ask again,
/// within what is left of the budget, with the probing hello: what the server chooses
/// for it says which. Our own session gave up on its hello quickly
/// ([`HelloWait::Quick`]); when the server chose for the probing hello what this check
/// speaks, ours was only slow or lost, so it runs once more ([`ask_again`]).
pub(super) fn ask_with_another_hello(
    spec: &CheckSpec,
    outcomes: &mut [Outcome],
    deadline: Instant,
) -> Result<(), CheckError> {
    let mut pending: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.tls.as_ref().is_some_and(|t| hello_unanswered(&o.end, t)))
        .map(|(i, _)| i)
        .collect();
    // Outcomes whose probe chose what we speak, with how long the probe waited for it.
    let mut speakable: Vec<(usize, Duration)> = Vec::new();
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
                hello_wait: HelloWait::Attempt,
                login: None,
                wait_for_close: false,
                ping: None,
                dns: None,
                tcp: None,
                http: None,
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
            let (mut answer, mut finished) = (None, None);
            for e in std::mem::take(&mut flow.events) {
                match e {
                    Event::ProbeAnswer { answer: a, after } => {
                        if matches!(&a, probe::Answer::Chose(c) if c.lacks().is_empty()) {
                            speakable.push((i, after));
                        }
                        answer = Some(a);
                    }
                    Event::Finished { reached, why } => finished = Some((reached, why)),
                    _ => {}
                }
            }
            let ended = FlowEnd::new(finished, flow.ending.take(), flow.session.progress());
            // Refused, closed or reset before any answer: a restarting server.
            let restarting = answer.is_none()
                && matches!(
                    ended.cut(),
                    Some(Ending::Refused | Ending::Closed | Ending::Reset)
                );
            if restarting {
                again.push(i);
            }
            if let Some(t) = outcomes[i].tls.as_mut() {
                t.probe = Some(answer.unwrap_or(probe::Answer::Silent));
            }
            // The check waited for this server until the probe's end.
            let end = flow.ended_at.unwrap_or_else(Instant::now);
            outcomes[i].elapsed = end.saturating_duration_since(deadline - spec.budget());
        }
        pending = again;
        if !pending.is_empty() {
            std::thread::sleep(PROBE_PAUSE.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
    ask_again(spec, outcomes, &speakable, deadline)
}

/// Runs our own session once more for each outcome in `speakable` (its index, and how long
/// the server took to answer the probing hello), within what is left of the budget. Its
/// hello now waits at least four times what the probing hello waited. Its outcome
/// replaces the first one's unless its hello went unanswered too (or it got no further):
/// then the server drops our hello indeed, and the probe's answer says what it speaks.
fn ask_again(
    spec: &CheckSpec,
    outcomes: &mut [Outcome],
    speakable: &[(usize, Duration)],
    deadline: Instant,
) -> Result<(), CheckError> {
    let start = Instant::now();
    if speakable.is_empty() || start >= deadline {
        return Ok(());
    }
    let origin = deadline - spec.budget();
    let spent = start.saturating_duration_since(origin);
    let mut flows = Vec::with_capacity(speakable.len());
    for &(i, after) in speakable {
        let addr = outcomes[i].addr;
        let base = session_config(
            spec,
            &spec.wrap,
            addr,
            spec.stage,
            spec.max_attempts(),
            spec.verbosity >= 2,
        );
        let cfg = SessionConfig {
            hello_wait: HelloWait::Quick {
                at_least: after * 4,
            },
            // The echoes' deadline counts from the session's start: keep it where the
            // first session had it.
            ping: base.ping.map(|p| PingConfig {
                until: p.until.saturating_sub(spent),
                ..p
            }),
            ..base
        };
        let session = new_session(cfg, start)?;
        flows.push(Flow::new(addr, spec.proto, session, spec.link()));
    }
    net::drive(&mut flows, deadline);
    let now_unix = unix_now();
    for (flow, &(i, after)) in flows.into_iter().zip(speakable) {
        let end = flow.ended_at.unwrap_or_else(Instant::now);
        let mut second = outcome(spec, flow, start, Vec::new(), now_unix);
        let further = matches!(second.result, Answer::Answered(_))
            && second
                .tls
                .as_ref()
                .is_some_and(|t| !hello_unanswered(&second.end, t));
        let first = &mut outcomes[i];
        if !further {
            first.elapsed = end.saturating_duration_since(origin);
            continue;
        }
        let mut details = std::mem::take(&mut first.details);
        if spec.verbosity >= 1 {
            details.push(Detail::AskedAgain { probe: after });
        }
        details.append(&mut second.details);
        second.details = details;
        // Measured from the check's start: the first session and the probe count too.
        second.elapsed += start.saturating_duration_since(origin);
        *first = second;
    }
    Ok(())
}

/// The outcome of one finished flow: its events folded, and its end ([`FlowEnd`]): as the
/// session said it ([`Event::Finished`]) or as the driver saw it (the link's failure, the
/// deadline).
pub(super) fn outcome(
    spec: &CheckSpec,
    mut flow: Flow,
    origin: Instant,
    notes: Vec<Note>,
    now_unix: i64,
) -> Outcome {
    let start = flow.started.unwrap_or(origin);
    let end = flow.ended_at.unwrap_or_else(Instant::now);
    let mut rec = Recorder::new(start, spec.verbosity, spec.wrap.reset_opcode(), notes);
    rec.login.data.dns = spec.dns.as_ref().map(|d| super::outcome::DnsOutcome {
        question: d.clone(),
        ..Default::default()
    });
    rec.login.data.http = spec.http.as_ref().map(|q| super::outcome::HttpOutcome {
        question: q.clone(),
        ..Default::default()
    });
    rec.login.data.tcp = spec.tcp_connect.map(|target| super::outcome::TcpOutcome {
        target: Some(target),
        ..Default::default()
    });
    let id = flow.session.session_id();
    let addr = flow.addr;
    rec.trace.line(1, || Detail::SessionId { addr, id });
    if let Some(local) = flow.info.local {
        rec.trace.line(1, || Detail::SentFrom { addr, local });
    }
    if let Some(granted) = flow.info.recv_buffer {
        rec.trace.line(1, || Detail::RecvBuffer {
            asked: net::UDP_RCVBUF,
            granted,
        });
    }
    for event in std::mem::take(&mut flow.events) {
        rec.take(event);
    }
    let ignored = flow.session.ignored().clone();
    if !ignored.is_empty() {
        let totals = ignored.clone();
        rec.trace.line(1, || Detail::IgnoredTotals(totals));
    }
    let bad_auth = ignored.contains_key(&Rejection::BadAuth);
    let ended = FlowEnd::new(rec.finished, flow.ending.take(), flow.session.progress());
    let result = ended.answer(rec.answered, bad_auth);
    let reached_stage_at = match spec.stage {
        Stage::Login => rec.answered_at,
        Stage::Tls => rec.established_at,
        Stage::Reset => rec.reset_at,
    };
    let elapsed = reached_stage_at
        .unwrap_or(end)
        .saturating_duration_since(start);
    let since =
        |from: Option<Instant>, to: Option<Instant>| Some(to?.saturating_duration_since(from?));
    let tls = (spec.stage >= Stage::Tls && matches!(result, Answer::Answered(_))).then(|| {
        let login = (spec.stage == Stage::Login).then(|| LoginOutcome {
            login_time: since(rec.established_at, rec.answered_at),
            who: spec
                .login
                .as_ref()
                .map(|s| s.who.clone())
                .unwrap_or_default(),
            data: DataOutcome {
                pinged: spec.ping.is_some(),
                ..rec.login.data
            },
            ..rec.login
        });
        TlsOutcome {
            tls_time: since(rec.reset_at, rec.established_at),
            login,
            offer_lines: spec.policy.rules.offer_lines.clone(),
            unoffered: spec.policy.rules.unoffered.clone(),
            ..rec.tls
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
        end: ended,
        elapsed,
        attempts: flow.session.attempts().max(1),
        max_attempts: spec.max_attempts(),
        budget: spec.budget(),
        ignored,
        tls,
        now_unix,
        key_origin: spec.key_origin,
        details: rec.trace.details,
    }
}
