//! The words and states of a `--server-config` check: one status line naming the worst
//! finding first, every finding with `-v`, perfdata `crl_days`, `cert_days`, `clients`,
//! `bytes_in`, `bytes_out`.

use super::dates::date;
use super::names::{target_name, wrap_name};
use super::stages::{problem_state, problem_words};
use super::state::{State, Thresholds};
use super::verdict::{assess, words};
use crate::chain::{CertInfo, Problem, Role};
use crate::range::Range;
use crate::server::clients::{ClientSource, Clients, ClientsError, ManagementFault, TlsLibrary};
use crate::server::config::ServerConfigError;
use crate::server::files::{CrlDamage, CrlFacts, CrlFinding, CrlSignature};
use crate::server::probe::{Probe, ScriptFirst, Skipped};
use crate::server::process::Processes;
use crate::server::{FileKind, ServerError, ServerFacts, Unreadable};

use super::state::{CertDays, Report};

/// The thresholds of a server check.
#[derive(Debug, Clone)]
pub struct ServerThresholds {
    pub cert_days: CertDays,
    pub clients_warning: Option<Range>,
    pub clients_critical: Option<Range>,
}

struct Finding {
    state: State,
    /// For the status line.
    short: String,
    /// For `-v`, after the short words.
    detail: Option<String>,
}

fn finding(state: State, short: impl Into<String>) -> Finding {
    Finding {
        state,
        short: short.into(),
        detail: None,
    }
}

/// How the monitoring user gets to read what the check needs, both ways.
const ACCESS_ADVICE: &str = "fix: let the monitoring user's group read the files without secrets (chgrp GROUP FILE; chmod g+r FILE; the check never needs the server's private key; the control-channel key is needed only for the probe, or check with --no-probe); where a file holds a secret (a config with an inline private key), run the check with sudo: one sudoers line, see the README";

fn kind_words(k: FileKind) -> &'static str {
    match k {
        FileKind::Ca => "CA file",
        FileKind::Cert => "server certificate",
        FileKind::ExtraCerts => "extra-certs file",
        FileKind::Crl => "CRL",
        FileKind::CrlDir => "CRL directory",
        FileKind::ControlKey => "control-channel key",
        FileKind::ManagementPassword => "management password file",
        FileKind::ManagementSocket => "management socket",
        FileKind::Status => "status file",
    }
}

/// `advise`: point to the fix (said once per report, with the first file denied).
fn unreadable_finding(u: &Unreadable, advise: bool) -> Finding {
    let fix = if u.denied {
        if advise {
            " (fix below)"
        } else {
            ""
        }
    } else {
        " (check the path in the config)"
    };
    finding(
        State::Unknown,
        format!(
            "cannot read {} {}: {}{fix}",
            kind_words(u.kind),
            u.path,
            u.reason
        ),
    )
}

/// Whether the server runs, as far as the check saw: the live probe answered or not,
/// else its management interface answered or refused the connection, else whether a
/// process runs its config.
fn server_runs(f: &ServerFacts) -> Option<bool> {
    if f.probe.outcome().is_some() {
        return Some(f.probe.answered());
    }
    match &f.clients {
        Some(Ok(c)) if matches!(c.source, ClientSource::Management { .. }) => Some(true),
        Some(Err(ClientsError::Connect { refused: true, .. })) => Some(false),
        _ if matches!(f.probe, Probe::Skipped(Skipped::Elsewhere(_))) => None,
        _ => f.processes.runs(),
    }
}

/// What `/proc` said: no process runs the config (a verdict by what else was seen), or
/// processes that could not be matched (said, the file alone read).
fn process_findings(f: &ServerFacts) -> Vec<Finding> {
    let live = f.probe.outcome().map(|_| f.probe.answered());
    // A server of another host: no process of this one runs it.
    if matches!(f.probe, Probe::Skipped(Skipped::Elsewhere(_))) {
        return Vec::new();
    }
    match &f.processes {
        Processes::Found(_) => Vec::new(),
        Processes::NotFound { hidden: 0, .. } => vec![match live {
            Some(true) => finding(
                State::Warning,
                "no OpenVPN process on this host runs this config, yet a server answers at its address: it runs from another file or host",
            ),
            _ => finding(State::Critical, "no OpenVPN process runs this config"),
        }],
        Processes::NotFound { hidden, .. } => vec![Finding {
            state: State::Ok,
            short: String::new(),
            detail: Some(format!(
                "{hidden} OpenVPN process(es) could not be matched to this config: their working directory is not readable to this user (run the check as root or with sudo to read the server's command-line options); the file alone was read"
            )),
        }],
        Processes::Unavailable(why) => vec![Finding {
            state: State::Ok,
            short: String::new(),
            detail: Some(format!(
                "the running processes cannot be read (/proc: {why}); the file alone was read"
            )),
        }],
    }
}

/// A file the server needs that is not there: a fault with a verdict, by whether the
/// server runs. OpenVPN reads them at start (the CRL also at each client's connect) and
/// keeps what it loaded: a running server goes on, a stopped one cannot start.
fn missing_finding(u: &Unreadable, running: Option<bool>) -> Option<Finding> {
    if !u.missing {
        return None;
    }
    let what = kind_words(u.kind);
    let path = &u.path;
    Some(match (u.kind, running) {
        (FileKind::Crl, Some(false)) => finding(
            State::Critical,
            format!("{what} {path} is missing, and the server is not running: OpenVPN will not start without it"),
        ),
        (FileKind::Crl, _) => finding(
            State::Warning,
            format!("{what} {path} is missing: the server keeps the CRL it loaded, but it will not start again until the file is back"),
        ),
        (FileKind::Ca | FileKind::Cert | FileKind::ExtraCerts | FileKind::ControlKey, Some(true)) => finding(
            State::Warning,
            format!("{what} {path} is missing: the server runs on what it loaded, but it will not start again until the file is back"),
        ),
        (FileKind::Ca | FileKind::Cert | FileKind::ExtraCerts | FileKind::ControlKey, _) => finding(
            State::Critical,
            format!("{what} {path} is missing: the server cannot start with this config"),
        ),
        _ => return None,
    })
}

/// One CRL file's findings.
fn crl_findings(
    c: &CrlFacts,
    now: i64,
    days: &CertDays,
    library: Option<TlsLibrary>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if c.der && library != Some(TlsLibrary::MbedTls) {
        let build = match library {
            Some(_) => "this OpenVPN is built with OpenSSL, which",
            None => "an OpenVPN built with OpenSSL (the usual build; mbed TLS builds read DER)",
        };
        out.push(finding(
            State::Critical,
            format!(
                "CRL {} is DER, not PEM: {build} cannot read it: OpenVPN refuses every client now (convert it: openssl crl -inform DER -in FILE -out FILE.pem)",
                c.name
            ),
        ));
    }
    match &c.signature {
        CrlSignature::Verified | CrlSignature::NoCa => {}
        CrlSignature::OtherIssuer => out.push(finding(
            State::Critical,
            format!(
                "CRL is signed by another CA ({}): OpenVPN accepts clients without enforcing its revocations",
                c.issuer
            ),
        )),
        CrlSignature::BadSignature => out.push(finding(
            State::Critical,
            format!(
                "CRL signature does not verify with the CA's key (issuer {}): signed by another CA of that name, OpenVPN refuses every client now",
                c.issuer
            ),
        )),
        CrlSignature::Unsupported(alg) => out.push(finding(
            State::Unknown,
            format!("CRL signature algorithm {alg} cannot be verified here"),
        )),
    }
    if c.last_update > now {
        out.push(finding(
            State::Critical,
            format!(
                "CRL lastUpdate {} is in the future: OpenVPN refuses every client now",
                date(c.last_update)
            ),
        ));
    }
    if let Some(s) = &c.revokes_server {
        out.push(finding(
            State::Critical,
            format!("the CRL revokes the server's own certificate (serial {s})"),
        ));
    }
    match (c.next_update, c.days_left(now)) {
        (Some(next), _) if next < now => out.push(finding(
            State::Critical,
            format!(
                "CRL expired {} ({}): OpenVPN refuses every client now",
                ago(next, now),
                date(next)
            ),
        )),
        (Some(next), Some(d)) => {
            let state = if d < days.critical_days() {
                State::Critical
            } else if d < days.warning {
                State::Warning
            } else {
                State::Ok
            };
            let words = if state == State::Ok {
                format!("CRL valid {d} more days ({})", day(next))
            } else {
                format!("CRL expires in {d} days ({})", day(next))
            };
            out.push(Finding {
                state,
                short: words,
                detail: Some(format!(
                    "issuer {}, {} revoked, lastUpdate {}, nextUpdate {}",
                    c.issuer,
                    c.revoked,
                    date(c.last_update),
                    date(next)
                )),
            });
        }
        _ => out.push(finding(State::Ok, "CRL without nextUpdate")),
    }
    out
}

fn ago(t: i64, now: i64) -> String {
    match (now - t) / 86_400 {
        0 => "today".into(),
        1 => "1 day ago".into(),
        d => format!("{d} days ago"),
    }
}

/// `2027-01-03`.
fn day(t: i64) -> String {
    date(t).chars().take(10).collect()
}

fn role_words(c: &CertInfo) -> String {
    match c.role {
        Role::Leaf => format!("server certificate {}", c.short_name()),
        Role::Intermediate => format!("intermediate {}", c.short_name()),
        Role::Anchor => format!("CA {}", c.short_name()),
    }
}

fn cert_findings(f: &ServerFacts, days: &CertDays) -> Vec<Finding> {
    let mut out = Vec::new();
    for (kind, file, why) in &f.broken {
        out.push(finding(
            State::Critical,
            format!(
                "{} {file} cannot be read as certificates: {why}",
                kind_words(*kind)
            ),
        ));
    }
    let now = f.now;
    if let Some(j) = &f.certs.judgement {
        for p in &j.problems {
            let (state, words) = match p {
                Problem::Untrusted { reason } => (
                    State::Critical,
                    format!("server certificate does not chain to the config's CA: {reason}"),
                ),
                other => (problem_state(other), problem_words(other, j, now)),
            };
            out.push(finding(state, words));
        }
    }
    let mut worst: Option<&CertInfo> = None;
    for c in f.certs.all() {
        if c.not_after < now || c.not_before > now {
            // An expired CA is not in the judgement's problems when it is not the anchor.
            if c.role == Role::Anchor
                && !f
                    .certs
                    .judgement
                    .as_ref()
                    .is_some_and(|j| j.certs.iter().any(|x| x.sha256 == c.sha256))
            {
                out.push(finding(
                    State::Critical,
                    format!("{} expired {}", role_words(c), date(c.not_after)),
                ));
            }
            continue;
        }
        let left = c.days_left(now);
        let state = if left < days.critical_days() {
            State::Critical
        } else if left < days.warning {
            State::Warning
        } else {
            State::Ok
        };
        if state > State::Ok {
            out.push(finding(
                state,
                format!(
                    "{} expires in {left} days ({})",
                    role_words(c),
                    day(c.not_after)
                ),
            ));
        }
        if worst.is_none_or(|w| c.not_after < w.not_after) {
            worst = Some(c);
        }
    }
    if let Some(leaf) = f.certs.judgement.as_ref().and_then(|j| j.certs.first()) {
        let mut detail = format!("expires {}, sha256 {}", date(leaf.not_after), leaf.sha256);
        if f.certs.judgement.as_ref().is_some_and(|j| j.verified) {
            detail.push_str(", chains to the CA");
        }
        out.push(Finding {
            state: State::Ok,
            short: format!("server certificate {} days", leaf.days_left(now)),
            detail: Some(detail),
        });
    }
    for ca in &f.certs.cas {
        out.push(Finding {
            state: State::Ok,
            short: String::new(),
            detail: Some(format!(
                "CA {} valid until {}",
                ca.short_name(),
                date(ca.not_after)
            )),
        });
    }
    out
}

/// What to do about a `tls-crypt-v2-verify` script that the check's own key cannot pass.
const GIVE_V2_KEY: &str =
    "give --tls-crypt-v2 with a client key the script allows to check the TLS stage";

fn probe_finding(f: &ServerFacts, days: &CertDays) -> Finding {
    probe_finding_of(&f.probe, f, days)
}

/// The probes of the server's other sockets (OpenVPN 2.7's several `local` lines), each
/// judged as the first, and named by its socket.
fn more_probe_findings(f: &ServerFacts, days: &CertDays) -> Vec<Finding> {
    f.more_probes
        .iter()
        .map(|(socket, probe)| {
            let mut x = probe_finding_of(probe, f, days);
            x.short = format!("socket {}: {}", socket_name(socket), x.short);
            x
        })
        .collect()
}

fn socket_name(socket: &crate::server::config::Socket) -> String {
    format!(
        "{}:{}/{}",
        socket.local.as_deref().unwrap_or("*"),
        socket.port,
        super::names::proto_name(socket.proto)
    )
}

fn probe_finding_of(probe: &Probe, f: &ServerFacts, days: &CertDays) -> Finding {
    match probe {
        Probe::Skipped(s) => match s {
            Skipped::NoProbe => finding(State::Ok, "live server not probed (--no-probe)"),
            Skipped::Elsewhere(a) => finding(
                State::Ok,
                format!("live server not probed: it listens on {a}, not an address of this host"),
            ),
            Skipped::LocalName(n) => finding(
                State::Ok,
                format!("live server not probed: local '{n}' is a name, not an address"),
            ),
            Skipped::KeyUnreadable => finding(State::Ok, "live server not probed"),
            Skipped::BadKey(why) => {
                finding(State::Unknown, format!("live server not probed: {why}"))
            }
            Skipped::VerifyScript(why) => {
                let first = match why {
                    ScriptFirst::Tcp => "over TCP OpenVPN runs it on a client's first packet".to_string(),
                    ScriptFirst::PointToPoint => {
                        "a point-to-point server runs it on a client's first packet".to_string()
                    }
                    ScriptFirst::Old(v) => format!(
                        "{v} runs it on a client's first packet (2.6 and later answer a UDP reset first)"
                    ),
                    ScriptFirst::VersionUnknown => "the server's version is unknown (no management interface, no version line in the status file: status-version 2 or 3 has one), and OpenVPN 2.5 runs it on a client's first packet".to_string(),
                };
                Finding {
                    state: State::Warning,
                    short: format!("live server not probed: its tls-crypt-v2-verify script would refuse the check's own client key; {GIVE_V2_KEY}"),
                    detail: Some(format!("nothing sent, so that the script logs no error: {first}")),
                }
            }
        },
        Probe::Error(e) => finding(State::Unknown, format!("live server not probed: {e}")),
        Probe::BeforeScript { outcome, version } if probe.answered() => Finding {
            state: State::Ok,
            short: format!(
                "live server answered, stopped before its tls-crypt-v2-verify script (certificate not compared; {GIVE_V2_KEY})"
            ),
            detail: Some(format!(
                "{} ({}): {version} answers a reset before it runs the script, which would refuse the check's own client key",
                target_name(&outcome.target),
                wrap_name(outcome.wrap)
            )),
        },
        Probe::BeforeScript { outcome, .. } => {
            let v = assess(outcome, &Thresholds::default());
            let (state, text) = (v.state, words(&v));
            finding(state.max(State::Warning), format!("live server: {text}"))
        }
        Probe::Ran(outcome) => {
            let presented = outcome
                .tls
                .as_ref()
                .and_then(|t| t.judgement.as_ref())
                .and_then(|j| j.certs.first());
            match (presented, &f.certs.server_sha256) {
                (Some(p), Some(disk)) if p.sha256 == *disk => Finding {
                    state: State::Ok,
                    short: "live server presents the same certificate".into(),
                    detail: Some(format!(
                        "{} ({})",
                        target_name(&outcome.target),
                        wrap_name(outcome.wrap)
                    )),
                },
                (Some(p), Some(_)) => {
                    let left = p.days_left(f.now);
                    let state = if p.not_after < f.now || left < days.critical_days() {
                        State::Critical
                    } else {
                        State::Warning
                    };
                    Finding {
                        state,
                        short: format!(
                            "the running server presents an older certificate: restart it ({} {}, {})",
                            p.short_name(),
                            super::dates::validity_words(p, f.now),
                            day(p.not_after)
                        ),
                        detail: Some(format!("presented sha256 {}", p.sha256)),
                    }
                }
                (Some(p), None) => finding(
                    State::Ok,
                    format!(
                        "live server presents {} ({})",
                        p.short_name(),
                        day(p.not_after)
                    ),
                ),
                (None, _) => {
                    let v = assess(outcome, &Thresholds::default());
                    let (state, text) = (v.state, words(&v));
                    finding(state.max(State::Warning), format!("live server: {text}"))
                }
            }
        }
    }
}

/// `live_answered`: the live probe ran and the server answered it.
fn clients_findings(
    c: &Result<Clients, ClientsError>,
    t: &ServerThresholds,
    live_answered: bool,
) -> Vec<Finding> {
    let c = match c {
        Ok(c) => c,
        Err(e) => {
            let words = match e {
                // Nothing listens on the server's own management: a stopped server (its
                // port or socket goes with it), unless the live server answered.
                ClientsError::Connect {
                    address,
                    reason,
                    refused: true,
                } if !live_answered => {
                    return vec![finding(
                        State::Critical,
                        format!(
                            "the server is not running: its management {address} refuses connections ({reason})"
                        ),
                    )];
                }
                ClientsError::Connect {
                    address, reason, ..
                } => format!("cannot count clients: management {address}: {reason}"),
                ClientsError::BadPassword { address } => format!(
                    "cannot count clients: management {address} refused the password of the config's password file"
                ),
                ClientsError::PasswordNeeded { address } => format!(
                    "cannot count clients: management {address} asks for a password and the config's management line names no password file"
                ),
                ClientsError::Protocol { address, fault } => {
                    let why = match fault {
                        ManagementFault::Silent => "no answer before the deadline".to_string(),
                        ManagementFault::Closed => "it closed the connection".into(),
                        ManagementFault::LineTooLong => "a line longer than any answer".into(),
                        ManagementFault::AnswerTooLong => "an answer longer than any status".into(),
                        ManagementFault::NotManagement => {
                            "it did not greet like an OpenVPN management interface".into()
                        }
                        ManagementFault::Refused(e) => format!("it answered ERROR: {e}"),
                        ManagementFault::BadLoadStats(a) => format!("load-stats answered '{a}'"),
                        ManagementFault::Io(e) => e.clone(),
                        ManagementFault::Internal => "internal error".into(),
                    };
                    format!("cannot count clients: management {address}: {why}")
                }
                ClientsError::StatusDamaged { path } => format!(
                    "cannot count clients: status file {path} is not an OpenVPN status file of version 1, 2 or 3"
                ),
                ClientsError::StatusEmpty {
                    path,
                    age,
                    interval,
                } => {
                    let age = age.unwrap_or(0);
                    let words = format!(
                        "clients not counted: status file {path} still empty after {age} s (written every {interval} s)"
                    );
                    // An idle server writes it when a packet first wakes it: under
                    // --no-probe a fresh one has not yet.
                    let state = if age <= 3 * interval.max(&1) {
                        State::Ok
                    } else {
                        State::Warning
                    };
                    return vec![finding(state, words)];
                }
                // Already among the unreadable files.
                ClientsError::Unreadable(_) => return Vec::new(),
            };
            return vec![finding(State::Unknown, words)];
        }
    };
    let mut out = Vec::new();
    if c.stale() {
        if let Some((age, every)) = c.age {
            out.push(if c.woken {
                finding(
                    State::Critical,
                    format!(
                        "the server stopped updating its status: hung or stopped (status file not rewritten for {age} s; every {every} s expected)"
                    ),
                )
            } else {
                finding(
                    State::Warning,
                    format!(
                        "status file not rewritten for {age} s (every {every} s expected): the server is stopped or hung, or idle (an idle server rewrites it only when a packet arrives; without --no-probe the check wakes it)"
                    ),
                )
            });
        }
    }
    let n = c.count as f64;
    let (state, range_words) = if let Some(r) = t.clients_critical.as_ref().filter(|r| r.alerts(n))
    {
        (State::Critical, format!(" (outside critical range {r})"))
    } else if let Some(r) = t.clients_warning.as_ref().filter(|r| r.alerts(n)) {
        (State::Warning, format!(" (outside warning range {r})"))
    } else {
        (State::Ok, String::new())
    };
    let from = match &c.source {
        ClientSource::Management { address, password } => format!(
            "management {address}{}",
            if *password { " (with password)" } else { "" }
        ),
        ClientSource::StatusFile { path, version } => {
            format!("status file {path} (version {version})")
        }
    };
    let mut detail = format!(
        "from {from}, {} bytes in, {} bytes out",
        c.bytes_in, c.bytes_out
    );
    if !c.names.is_empty() {
        detail.push_str(&format!(", clients: {}", c.names.join(", ")));
    }
    if let (ClientSource::StatusFile { .. }, Some((age, every))) = (&c.source, c.age) {
        match c.reread {
            Some(waited) => detail.push_str(&format!(
                "; read again after {waited} s, at the server's next write"
            )),
            None if state != State::Ok => detail.push_str(&format!(
                "; as of the file's last write {age} s ago (every {every} s): a client that connected since is not in it yet (a management interface counts at once)"
            )),
            None => {}
        }
    }
    if let Some(title) = &c.title {
        detail.push_str(&format!("; {title}"));
    }
    out.push(Finding {
        state,
        short: format!(
            "{} client{}{range_words}",
            c.count,
            if c.count == 1 { "" } else { "s" }
        ),
        detail: Some(detail),
    });
    out
}

/// The report of a server check.
pub fn render_server(f: &ServerFacts, t: &ServerThresholds, verbosity: u8) -> Report {
    let days = &t.cert_days;
    let library = f
        .clients
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .and_then(Clients::library);
    let running = server_runs(f);
    let mut advised = false;
    let mut all: Vec<Finding> = f
        .unreadable
        .iter()
        .map(|u| {
            missing_finding(u, running).unwrap_or_else(|| {
                let first = u.denied && !advised;
                advised |= u.denied;
                unreadable_finding(u, first)
            })
        })
        .collect();
    if advised {
        // The advice, once, on a long-output line of its own.
        all.push(Finding {
            state: State::Unknown,
            short: String::new(),
            detail: Some(ACCESS_ADVICE.to_string()),
        });
    }
    match &f.crl {
        None => {}
        Some(CrlFinding::File(c)) => all.extend(crl_findings(c, f.now, days, library)),
        Some(CrlFinding::Damaged { name, damage }) => {
            let reason = match damage {
                CrlDamage::BadPem(e) => format!("its PEM does not decode ({e})"),
                CrlDamage::NeitherPemNorDer => {
                    "it is neither PEM (-----BEGIN X509 CRL-----) nor DER".to_string()
                }
                CrlDamage::Unparsable(e) => format!("it does not parse as a CRL ({e})"),
            };
            all.push(finding(
                State::Critical,
                format!("CRL {name} is not a CRL OpenVPN can load: {reason}"),
            ))
        }
        Some(CrlFinding::Dir { path, entries }) => all.push(finding(
            State::Ok,
            format!("CRL directory {path} readable ({entries} revoked)"),
        )),
        Some(CrlFinding::DirMissing { path }) => all.push(finding(
            State::Critical,
            format!("CRL directory {path} does not exist: no revocation is enforced"),
        )),
    }
    all.extend(cert_findings(f, days));
    let mut first = probe_finding(f, days);
    if let (Some(socket), false) = (f.sockets.first(), f.more_probes.is_empty()) {
        first.short = format!("socket {}: {}", socket_name(socket), first.short);
    }
    all.push(first);
    all.extend(more_probe_findings(f, days));
    all.extend(process_findings(f));
    if let Some(c) = &f.clients {
        let live_answered = f.probe.answered();
        all.extend(clients_findings(c, t, live_answered));
    } else if t.clients_warning.is_some() || t.clients_critical.is_some() {
        // A threshold that nothing can be counted against is never silently ignored.
        all.push(finding(
            State::Unknown,
            "--clients-warning/--clients-critical: the config has no 'management' and no \
             'status' line to count clients from; add 'status FILE' (or 'management \
             127.0.0.1 PORT') to the server's config"
                .to_string(),
        ));
    }

    // Worst first; CRITICAL before UNKNOWN: a server that is down is news, not a mystery.
    let rank = State::severity;
    let state = all
        .iter()
        .map(|x| x.state)
        .max_by_key(|s| rank(*s))
        .unwrap_or(State::Ok);
    let mut ordered: Vec<&Finding> = all.iter().collect();
    ordered.sort_by_key(|x| std::cmp::Reverse(rank(x.state)));
    let shorts: Vec<&str> = ordered
        .iter()
        .filter(|x| !x.short.is_empty())
        .map(|x| x.short.as_str())
        .collect();
    let name = std::path::Path::new(&f.config)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| f.config.clone());

    let mut perf = Vec::new();
    if let Some(CrlFinding::File(c)) = &f.crl {
        if let Some(d) = c.days_left(f.now) {
            perf.push(format!(
                "crl_days={d};{}:;{}:;;",
                days.warning,
                days.critical_days()
            ));
        }
    }
    if let Some(c) = f.certs.soonest() {
        perf.push(format!(
            "cert_days={};{}:;{}:;;",
            c.days_left(f.now),
            days.warning,
            days.critical_days()
        ));
    }
    if let Some(o) = f.probe.outcome() {
        if let Some(t) = o.tls.as_ref().and_then(|t| t.tls_time) {
            perf.push(format!("tls_time={:.6}s;;;0;", t.as_secs_f64()));
        }
    }
    if let Some(Ok(c)) = &f.clients {
        let r = |r: &Option<Range>| r.as_ref().map(|r| r.to_string()).unwrap_or_default();
        perf.push(format!(
            "clients={};{};{};0;",
            c.count,
            r(&t.clients_warning),
            r(&t.clients_critical)
        ));
        perf.push(format!("bytes_in={}c", c.bytes_in));
        perf.push(format!("bytes_out={}c", c.bytes_out));
    }
    // As many findings as fit in the status line, worst first; the rest as "and N more",
    // each then on a long-output line of its own, without -v.
    let prefix = format!("OPENVPN {state} - {name}: ");
    let room = super::state::MAX_STATUS.saturating_sub(prefix.chars().count() + 20);
    let mut shown: Vec<&str> = Vec::new();
    let mut used = 0;
    for (i, short) in shorts.iter().enumerate() {
        let len = short.chars().count() + if i == 0 { 0 } else { 2 };
        if i > 0 && used + len > room {
            break;
        }
        used += len;
        shown.push(short);
    }
    let left_out = shorts.len() - shown.len();
    let mut text = shown.join(", ");
    if left_out > 0 {
        text.push_str(&format!(", and {left_out} more"));
    }
    let long = all
        .iter()
        .filter(|x| verbosity > 0 || left_out > 0 || x.short.is_empty())
        .map(|x| {
            let mut l = format!("[{}] ", x.state);
            l.push_str(&x.short);
            if let Some(d) = &x.detail {
                if !x.short.is_empty() {
                    l.push_str(": ");
                }
                l.push_str(d);
            }
            l
        })
        .collect::<Vec<_>>();
    let mut long = long;
    if verbosity > 0 {
        if let Processes::Found(running) = &f.processes {
            for r in running {
                long.push(format!(
                    "process {} runs this config: {}",
                    r.pid,
                    process_words(&r.args)
                ));
            }
        }
    }
    Report {
        state,
        line: if perf.is_empty() {
            format!("{prefix}{text}")
        } else {
            format!("{prefix}{text} | {}", perf.join(" "))
        },
        long,
    }
}

/// The options a command line sets besides its config file.
fn process_words(args: &[String]) -> String {
    let mut others = Vec::new();
    let mut skip = false;
    for (i, a) in args.iter().enumerate() {
        if skip && !a.starts_with("--") {
            continue;
        }
        skip = a == "--config" || (args.len() == 1 && i == 0);
        if !skip {
            others.push(a.as_str());
        }
    }
    if others.is_empty() {
        "no command-line options besides the file".into()
    } else {
        format!(
            "its command line adds {} (read with the file)",
            others.join(" ")
        )
    }
}

/// The report when the server's config itself cannot be read or understood.
pub fn render_server_error(e: &ServerError) -> Report {
    match e.config_error() {
        ServerConfigError::Read { path, reason } if reason.contains("permission denied") => {
            Report::unknown(format!(
                "cannot read {}: {reason} (give the monitoring user's group read access: chgrp GROUP FILE; chmod g+r FILE; the check never needs the server's private key; a config with an inline private key needs the check run with sudo, see the README)",
                path.display()
            ))
        }
        other => Report::unknown(other),
    }
}
