//! The states of a `--server-config` check and, apart, their words: one status line
//! naming the worst finding first, every finding with `-v`, perfdata `crl_days`,
//! `cert_days`, `clients`, `bytes_in`, `bytes_out`.

use super::dates::date;
use super::names::{target_name, wrap_name};
use super::stages::{problem_state, problem_words};
use super::state::{State, Thresholds};
use super::verdict::{assess, words, Verdict};
use crate::chain::{CertInfo, Judgement, Problem, Role};
use crate::check::Outcome;
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

/// One finding: how bad it is, and why, borrowing the facts it was found in.
struct Finding<'a> {
    state: State,
    /// The socket it concerns, when the server listens on several.
    socket: Option<String>,
    reason: Found<'a>,
}

fn finding(state: State, reason: Found<'_>) -> Finding<'_> {
    Finding {
        state,
        socket: None,
        reason,
    }
}

/// What a server check found, one variant per finding, with the facts its words need.
enum Found<'a> {
    /// A file the check cannot read; `advise`: point to the fix (said once per report).
    Unreadable {
        file: &'a Unreadable,
        advise: bool,
    },
    /// How the monitoring user gets to read what the check needs.
    AccessAdvice,
    /// A file the server needs is not there; `running`: whether the server runs.
    Missing {
        file: &'a Unreadable,
        running: Option<bool>,
    },
    NoProcessButAnswers,
    NoProcess,
    ProcessesHidden {
        hidden: usize,
    },
    ProcessesUnreadable {
        why: &'a str,
    },
    /// A DER CRL an OpenSSL build cannot read; `library_known`: the build was seen.
    CrlDer {
        name: &'a str,
        library_known: bool,
    },
    CrlOtherIssuer {
        issuer: &'a str,
    },
    CrlBadSignature {
        issuer: &'a str,
    },
    CrlUnsupported {
        algorithm: &'a str,
    },
    CrlFuture {
        last_update: i64,
    },
    CrlRevokesServer {
        serial: &'a str,
    },
    CrlExpired {
        next: i64,
        now: i64,
    },
    /// The CRL's days until nextUpdate; `expiring`: under -C.
    CrlDays {
        crl: &'a CrlFacts,
        next: i64,
        left: i64,
        expiring: bool,
    },
    CrlNoNextUpdate,
    CrlDamaged {
        name: &'a str,
        damage: &'a CrlDamage,
    },
    CrlDir {
        path: &'a str,
        entries: usize,
    },
    CrlDirMissing {
        path: &'a str,
    },
    /// A certificate file that does not parse.
    Unloadable {
        kind: FileKind,
        file: &'a str,
        why: &'a str,
    },
    ServerUntrusted {
        reason: &'a str,
    },
    Chain {
        problem: &'a Problem,
        judgement: &'a Judgement,
        now: i64,
    },
    CaExpired {
        cert: &'a CertInfo,
    },
    Expiring {
        cert: &'a CertInfo,
        left: i64,
    },
    ServerCertificate {
        leaf: &'a CertInfo,
        now: i64,
        verified: bool,
    },
    Ca {
        ca: &'a CertInfo,
    },
    NotProbed(&'a Skipped),
    ProbeError {
        why: &'a str,
    },
    /// Stopped before the `tls-crypt-v2-verify` script, answered.
    BeforeScript {
        outcome: &'a Outcome,
        version: &'a str,
    },
    /// The live probe's own verdict.
    Live(Verdict),
    SameCertificate {
        outcome: &'a Outcome,
    },
    OlderCertificate {
        cert: &'a CertInfo,
        now: i64,
    },
    Presents {
        cert: &'a CertInfo,
    },
    /// The server's management refuses connections and no live server answered.
    NotRunning {
        address: &'a str,
        reason: &'a str,
    },
    CannotCount(&'a ClientsError),
    StatusEmpty {
        path: &'a str,
        age: u64,
        interval: u64,
    },
    StatusHung {
        age: u64,
        every: u64,
    },
    StatusStale {
        age: u64,
        every: u64,
    },
    Clients {
        clients: &'a Clients,
        range: Option<ClientsRange<'a>>,
    },
    NoClientSource,
}

/// The `--clients-critical` or `--clients-warning` range the count fell outside.
enum ClientsRange<'a> {
    Critical(&'a Range),
    Warning(&'a Range),
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
fn process_findings(f: &ServerFacts) -> Vec<Finding<'_>> {
    let live = f.probe.outcome().map(|_| f.probe.answered());
    // A server of another host: no process of this one runs it.
    if matches!(f.probe, Probe::Skipped(Skipped::Elsewhere(_))) {
        return Vec::new();
    }
    match &f.processes {
        Processes::Found(_) => Vec::new(),
        Processes::NotFound { hidden: 0, .. } => vec![match live {
            Some(true) => finding(State::Warning, Found::NoProcessButAnswers),
            _ => finding(State::Critical, Found::NoProcess),
        }],
        Processes::NotFound { hidden, .. } => vec![finding(
            State::Ok,
            Found::ProcessesHidden { hidden: *hidden },
        )],
        Processes::Unavailable(why) => vec![finding(State::Ok, Found::ProcessesUnreadable { why })],
    }
}

/// A file the server needs that is not there: a fault with a verdict, by whether the
/// server runs. OpenVPN reads them at start (the CRL also at each client's connect) and
/// keeps what it loaded: a running server goes on, a stopped one cannot start.
fn missing_finding(u: &Unreadable, running: Option<bool>) -> Option<Finding<'_>> {
    if !u.missing {
        return None;
    }
    let state = match (u.kind, running) {
        (FileKind::Crl, Some(false)) => State::Critical,
        (FileKind::Crl, _) => State::Warning,
        (
            FileKind::Ca | FileKind::Cert | FileKind::ExtraCerts | FileKind::ControlKey,
            Some(true),
        ) => State::Warning,
        (FileKind::Ca | FileKind::Cert | FileKind::ExtraCerts | FileKind::ControlKey, _) => {
            State::Critical
        }
        _ => return None,
    };
    Some(finding(state, Found::Missing { file: u, running }))
}

/// One CRL file's findings.
fn crl_findings<'a>(
    c: &'a CrlFacts,
    now: i64,
    days: &CertDays,
    library: Option<TlsLibrary>,
) -> Vec<Finding<'a>> {
    let mut out = Vec::new();
    if c.der && library != Some(TlsLibrary::MbedTls) {
        out.push(finding(
            State::Critical,
            Found::CrlDer {
                name: &c.name,
                library_known: library.is_some(),
            },
        ));
    }
    match &c.signature {
        CrlSignature::Verified | CrlSignature::NoCa => {}
        CrlSignature::OtherIssuer => out.push(finding(
            State::Critical,
            Found::CrlOtherIssuer { issuer: &c.issuer },
        )),
        CrlSignature::BadSignature => out.push(finding(
            State::Critical,
            Found::CrlBadSignature { issuer: &c.issuer },
        )),
        CrlSignature::Unsupported(alg) => out.push(finding(
            State::Unknown,
            Found::CrlUnsupported { algorithm: alg },
        )),
    }
    if c.last_update > now {
        out.push(finding(
            State::Critical,
            Found::CrlFuture {
                last_update: c.last_update,
            },
        ));
    }
    if let Some(s) = &c.revokes_server {
        out.push(finding(
            State::Critical,
            Found::CrlRevokesServer { serial: s },
        ));
    }
    match (c.next_update, c.days_left(now)) {
        (Some(next), _) if next < now => {
            out.push(finding(State::Critical, Found::CrlExpired { next, now }))
        }
        (Some(next), Some(d)) => {
            let state = if d < days.critical_days() {
                State::Critical
            } else if d < days.warning {
                State::Warning
            } else {
                State::Ok
            };
            out.push(finding(
                state,
                Found::CrlDays {
                    crl: c,
                    next,
                    left: d,
                    expiring: state != State::Ok,
                },
            ));
        }
        _ => out.push(finding(State::Ok, Found::CrlNoNextUpdate)),
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

fn cert_findings<'a>(f: &'a ServerFacts, days: &CertDays) -> Vec<Finding<'a>> {
    let mut out = Vec::new();
    for (kind, file, why) in &f.broken {
        out.push(finding(
            State::Critical,
            Found::Unloadable {
                kind: *kind,
                file,
                why,
            },
        ));
    }
    let now = f.now;
    if let Some(j) = &f.certs.judgement {
        for p in &j.problems {
            out.push(match p {
                Problem::Untrusted { reason } => {
                    finding(State::Critical, Found::ServerUntrusted { reason })
                }
                other => finding(
                    problem_state(other),
                    Found::Chain {
                        problem: other,
                        judgement: j,
                        now,
                    },
                ),
            });
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
                out.push(finding(State::Critical, Found::CaExpired { cert: c }));
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
            out.push(finding(state, Found::Expiring { cert: c, left }));
        }
        if worst.is_none_or(|w| c.not_after < w.not_after) {
            worst = Some(c);
        }
    }
    if let Some(leaf) = f.certs.judgement.as_ref().and_then(|j| j.certs.first()) {
        out.push(finding(
            State::Ok,
            Found::ServerCertificate {
                leaf,
                now,
                verified: f.certs.judgement.as_ref().is_some_and(|j| j.verified),
            },
        ));
    }
    for ca in &f.certs.cas {
        out.push(finding(State::Ok, Found::Ca { ca }));
    }
    out
}

/// What to do about a `tls-crypt-v2-verify` script that the check's own key cannot pass.
const GIVE_V2_KEY: &str =
    "give --tls-crypt-v2 with a client key the script allows to check the TLS stage";

fn probe_finding<'a>(f: &'a ServerFacts, days: &CertDays) -> Finding<'a> {
    probe_finding_of(&f.probe, f, days)
}

/// The probes of the server's other sockets (OpenVPN 2.7's several `local` lines), each
/// judged as the first, and named by its socket.
fn more_probe_findings<'a>(f: &'a ServerFacts, days: &CertDays) -> Vec<Finding<'a>> {
    f.more_probes
        .iter()
        .map(|(socket, probe)| Finding {
            socket: Some(socket_name(socket)),
            ..probe_finding_of(probe, f, days)
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

fn probe_finding_of<'a>(probe: &'a Probe, f: &'a ServerFacts, days: &CertDays) -> Finding<'a> {
    match probe {
        Probe::Skipped(s) => {
            let state = match s {
                Skipped::BadKey(_) => State::Unknown,
                Skipped::VerifyScript(_) => State::Warning,
                _ => State::Ok,
            };
            finding(state, Found::NotProbed(s))
        }
        Probe::Error(e) => finding(State::Unknown, Found::ProbeError { why: e }),
        Probe::BeforeScript { outcome, version } if probe.answered() => {
            finding(State::Ok, Found::BeforeScript { outcome, version })
        }
        Probe::BeforeScript { outcome, .. } => live(outcome),
        Probe::Ran(outcome) => {
            let presented = outcome
                .tls
                .as_ref()
                .and_then(|t| t.judgement.as_ref())
                .and_then(|j| j.certs.first());
            match (presented, &f.certs.server_sha256) {
                (Some(p), Some(disk)) if p.sha256 == *disk => {
                    finding(State::Ok, Found::SameCertificate { outcome })
                }
                (Some(p), Some(_)) => {
                    let left = p.days_left(f.now);
                    let state = if p.not_after < f.now || left < days.critical_days() {
                        State::Critical
                    } else {
                        State::Warning
                    };
                    finding(
                        state,
                        Found::OlderCertificate {
                            cert: p,
                            now: f.now,
                        },
                    )
                }
                (Some(p), None) => finding(State::Ok, Found::Presents { cert: p }),
                (None, _) => live(outcome),
            }
        }
    }
}

/// The live probe's own verdict, at least a WARNING: the server did not show what the
/// files say.
fn live(outcome: &Outcome) -> Finding<'_> {
    let v = assess(outcome, &Thresholds::default());
    finding(v.state.max(State::Warning), Found::Live(v))
}

/// `live_answered`: the live probe ran and the server answered it.
fn clients_findings<'a>(
    c: &'a Result<Clients, ClientsError>,
    t: &'a ServerThresholds,
    live_answered: bool,
) -> Vec<Finding<'a>> {
    let c = match c {
        Ok(c) => c,
        Err(e) => {
            return match e {
                // Nothing listens on the server's own management: a stopped server (its
                // port or socket goes with it), unless the live server answered.
                ClientsError::Connect {
                    address,
                    reason,
                    refused: true,
                } if !live_answered => {
                    vec![finding(
                        State::Critical,
                        Found::NotRunning { address, reason },
                    )]
                }
                ClientsError::StatusEmpty {
                    path,
                    age,
                    interval,
                } => {
                    let age = age.unwrap_or(0);
                    // An idle server writes it when a packet first wakes it: under
                    // --no-probe a fresh one has not yet.
                    let state = if age <= 3 * interval.max(&1) {
                        State::Ok
                    } else {
                        State::Warning
                    };
                    vec![finding(
                        state,
                        Found::StatusEmpty {
                            path,
                            age,
                            interval: *interval,
                        },
                    )]
                }
                // Already among the unreadable files.
                ClientsError::Unreadable(_) => Vec::new(),
                other => vec![finding(State::Unknown, Found::CannotCount(other))],
            };
        }
    };
    let mut out = Vec::new();
    if c.stale() {
        if let Some((age, every)) = c.age {
            out.push(if c.woken {
                finding(State::Critical, Found::StatusHung { age, every })
            } else {
                finding(State::Warning, Found::StatusStale { age, every })
            });
        }
    }
    let n = c.count as f64;
    let (state, range) = if let Some(r) = t.clients_critical.as_ref().filter(|r| r.alerts(n)) {
        (State::Critical, Some(ClientsRange::Critical(r)))
    } else if let Some(r) = t.clients_warning.as_ref().filter(|r| r.alerts(n)) {
        (State::Warning, Some(ClientsRange::Warning(r)))
    } else {
        (State::Ok, None)
    };
    out.push(finding(state, Found::Clients { clients: c, range }));
    out
}

/// The status line's words of a finding; empty for those said only in the long output.
fn short_words(x: &Finding) -> String {
    let short = match &x.reason {
        Found::Unreadable { file: u, advise } => {
            let fix = if u.denied {
                if *advise {
                    " (fix below)"
                } else {
                    ""
                }
            } else {
                " (check the path in the config)"
            };
            format!(
                "cannot read {} {}: {}{fix}",
                kind_words(u.kind),
                u.path,
                u.reason
            )
        }
        Found::AccessAdvice | Found::ProcessesHidden { .. } | Found::ProcessesUnreadable { .. } => {
            String::new()
        }
        Found::Missing { file: u, running } => {
            let what = kind_words(u.kind);
            let path = &u.path;
            match (u.kind, running) {
                (FileKind::Crl, Some(false)) => format!("{what} {path} is missing, and the server is not running: OpenVPN will not start without it"),
                (FileKind::Crl, _) => format!("{what} {path} is missing: the server keeps the CRL it loaded, but it will not start again until the file is back"),
                (_, Some(true)) => format!("{what} {path} is missing: the server runs on what it loaded, but it will not start again until the file is back"),
                _ => format!("{what} {path} is missing: the server cannot start with this config"),
            }
        }
        Found::NoProcessButAnswers => "no OpenVPN process on this host runs this config, yet a server answers at its address: it runs from another file or host".into(),
        Found::NoProcess => "no OpenVPN process runs this config".into(),
        Found::CrlDer { name, library_known } => {
            let build = if *library_known {
                "this OpenVPN is built with OpenSSL, which"
            } else {
                "an OpenVPN built with OpenSSL (the usual build; mbed TLS builds read DER)"
            };
            format!(
                "CRL {name} is DER, not PEM: {build} cannot read it: OpenVPN refuses every client now (convert it: openssl crl -inform DER -in FILE -out FILE.pem)"
            )
        }
        Found::CrlOtherIssuer { issuer } => format!(
            "CRL is signed by another CA ({issuer}): OpenVPN accepts clients without enforcing its revocations"
        ),
        Found::CrlBadSignature { issuer } => format!(
            "CRL signature does not verify with the CA's key (issuer {issuer}): signed by another CA of that name, OpenVPN refuses every client now"
        ),
        Found::CrlUnsupported { algorithm } => {
            format!("CRL signature algorithm {algorithm} cannot be verified here")
        }
        Found::CrlFuture { last_update } => format!(
            "CRL lastUpdate {} is in the future: OpenVPN refuses every client now",
            date(*last_update)
        ),
        Found::CrlRevokesServer { serial } => {
            format!("the CRL revokes the server's own certificate (serial {serial})")
        }
        Found::CrlExpired { next, now } => format!(
            "CRL expired {} ({}): OpenVPN refuses every client now",
            ago(*next, *now),
            date(*next)
        ),
        Found::CrlDays {
            next,
            left,
            expiring,
            ..
        } => {
            if *expiring {
                format!("CRL expires in {left} days ({})", day(*next))
            } else {
                format!("CRL valid {left} more days ({})", day(*next))
            }
        }
        Found::CrlNoNextUpdate => "CRL without nextUpdate".into(),
        Found::CrlDamaged { name, damage } => {
            let reason = match damage {
                CrlDamage::BadPem(e) => format!("its PEM does not decode ({e})"),
                CrlDamage::NeitherPemNorDer => {
                    "it is neither PEM (-----BEGIN X509 CRL-----) nor DER".to_string()
                }
                CrlDamage::Unparsable(e) => format!("it does not parse as a CRL ({e})"),
            };
            format!("CRL {name} is not a CRL OpenVPN can load: {reason}")
        }
        Found::CrlDir { path, entries } => {
            format!("CRL directory {path} readable ({entries} revoked)")
        }
        Found::CrlDirMissing { path } => {
            format!("CRL directory {path} does not exist: no revocation is enforced")
        }
        Found::Unloadable { kind, file, why } => format!(
            "{} {file} cannot be read as certificates: {why}",
            kind_words(*kind)
        ),
        Found::ServerUntrusted { reason } => {
            format!("server certificate does not chain to the config's CA: {reason}")
        }
        Found::Chain {
            problem,
            judgement,
            now,
        } => problem_words(problem, judgement, *now),
        Found::CaExpired { cert } => {
            format!("{} expired {}", role_words(cert), date(cert.not_after))
        }
        Found::Expiring { cert, left } => format!(
            "{} expires in {left} days ({})",
            role_words(cert),
            day(cert.not_after)
        ),
        Found::ServerCertificate { leaf, now, .. } => {
            format!("server certificate {} days", leaf.days_left(*now))
        }
        Found::Ca { .. } => String::new(),
        Found::NotProbed(s) => match s {
            Skipped::NoProbe => "live server not probed (--no-probe)".into(),
            Skipped::Elsewhere(a) => {
                format!("live server not probed: it listens on {a}, not an address of this host")
            }
            Skipped::LocalName(n) => {
                format!("live server not probed: local '{n}' is a name, not an address")
            }
            Skipped::KeyUnreadable => "live server not probed".into(),
            Skipped::BadKey(why) => format!("live server not probed: {why}"),
            Skipped::VerifyScript(_) => format!("live server not probed: its tls-crypt-v2-verify script would refuse the check's own client key; {GIVE_V2_KEY}"),
        },
        Found::ProbeError { why } => format!("live server not probed: {why}"),
        Found::BeforeScript { .. } => format!(
            "live server answered, stopped before its tls-crypt-v2-verify script (certificate not compared; {GIVE_V2_KEY})"
        ),
        Found::Live(v) => format!("live server: {}", words(v)),
        Found::SameCertificate { .. } => "live server presents the same certificate".into(),
        Found::OlderCertificate { cert: p, now } => format!(
            "the running server presents an older certificate: restart it ({} {}, {})",
            p.short_name(),
            super::dates::validity_words(p, *now),
            day(p.not_after)
        ),
        Found::Presents { cert: p } => format!(
            "live server presents {} ({})",
            p.short_name(),
            day(p.not_after)
        ),
        Found::NotRunning { address, reason } => format!(
            "the server is not running: its management {address} refuses connections ({reason})"
        ),
        Found::CannotCount(e) => cannot_count_words(e),
        Found::StatusEmpty {
            path,
            age,
            interval,
        } => format!(
            "clients not counted: status file {path} still empty after {age} s (written every {interval} s)"
        ),
        Found::StatusHung { age, every } => format!(
            "the server stopped updating its status: hung or stopped (status file not rewritten for {age} s; every {every} s expected)"
        ),
        Found::StatusStale { age, every } => format!(
            "status file not rewritten for {age} s (every {every} s expected): the server is stopped or hung, or idle (an idle server rewrites it only when a packet arrives; without --no-probe the check wakes it)"
        ),
        Found::Clients { clients: c, range } => {
            let range_words = match range {
                Some(ClientsRange::Critical(r)) => format!(" (outside critical range {r})"),
                Some(ClientsRange::Warning(r)) => format!(" (outside warning range {r})"),
                None => String::new(),
            };
            format!(
                "{} client{}{range_words}",
                c.count,
                if c.count == 1 { "" } else { "s" }
            )
        }
        Found::NoClientSource => "--clients-warning/--clients-critical: the config has no 'management' and no \
             'status' line to count clients from; add 'status FILE' (or 'management \
             127.0.0.1 PORT') to the server's config"
            .to_string(),
    };
    match &x.socket {
        Some(socket) => format!("socket {socket}: {short}"),
        None => short,
    }
}

/// Why the clients could not be counted, where it is no verdict of its own.
fn cannot_count_words(e: &ClientsError) -> String {
    match e {
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
        } => format!(
            "clients not counted: status file {path} still empty after {} s (written every {interval} s)",
            age.unwrap_or(0)
        ),
        ClientsError::Unreadable(u) => format!(
            "cannot read {} {}: {}",
            kind_words(u.kind),
            u.path,
            u.reason
        ),
    }
}

/// The `-v` words of a finding, after its short words.
fn detail_words(x: &Finding) -> Option<String> {
    Some(match &x.reason {
        Found::AccessAdvice => ACCESS_ADVICE.to_string(),
        Found::ProcessesHidden { hidden } => format!(
            "{hidden} OpenVPN process(es) could not be matched to this config: their working directory is not readable to this user (run the check as root or with sudo to read the server's command-line options); the file alone was read"
        ),
        Found::ProcessesUnreadable { why } => format!(
            "the running processes cannot be read (/proc: {why}); the file alone was read"
        ),
        Found::CrlDays { crl: c, next, .. } => format!(
            "issuer {}, {} revoked, lastUpdate {}, nextUpdate {}",
            c.issuer,
            c.revoked,
            date(c.last_update),
            date(*next)
        ),
        Found::ServerCertificate {
            leaf,
            verified,
            ..
        } => {
            let mut detail = format!("expires {}, sha256 {}", date(leaf.not_after), leaf.sha256);
            if *verified {
                detail.push_str(", chains to the CA");
            }
            detail
        }
        Found::Ca { ca } => format!(
            "CA {} valid until {}",
            ca.short_name(),
            date(ca.not_after)
        ),
        Found::NotProbed(Skipped::VerifyScript(why)) => {
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
            format!("nothing sent, so that the script logs no error: {first}")
        }
        Found::BeforeScript { outcome, version } => format!(
            "{} ({}): {version} answers a reset before it runs the script, which would refuse the check's own client key",
            target_name(&outcome.target),
            wrap_name(outcome.wrap)
        ),
        Found::SameCertificate { outcome } => format!(
            "{} ({})",
            target_name(&outcome.target),
            wrap_name(outcome.wrap)
        ),
        Found::OlderCertificate { cert, .. } => format!("presented sha256 {}", cert.sha256),
        Found::Clients { clients: c, range } => {
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
                    None if range.is_some() => detail.push_str(&format!(
                        "; as of the file's last write {age} s ago (every {every} s): a client that connected since is not in it yet (a management interface counts at once)"
                    )),
                    None => {}
                }
            }
            if let Some(title) = &c.title {
                detail.push_str(&format!("; {title}"));
            }
            detail
        }
        _ => return None,
    })
}

/// A finding in words: the status line's, and the long output's.
struct Said {
    state: State,
    short: String,
    detail: Option<String>,
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
                finding(
                    State::Unknown,
                    Found::Unreadable {
                        file: u,
                        advise: first,
                    },
                )
            })
        })
        .collect();
    if advised {
        // The advice, once, on a long-output line of its own.
        all.push(finding(State::Unknown, Found::AccessAdvice));
    }
    match &f.crl {
        None => {}
        Some(CrlFinding::File(c)) => all.extend(crl_findings(c, f.now, days, library)),
        Some(CrlFinding::Damaged { name, damage }) => {
            all.push(finding(State::Critical, Found::CrlDamaged { name, damage }))
        }
        Some(CrlFinding::Dir { path, entries }) => all.push(finding(
            State::Ok,
            Found::CrlDir {
                path,
                entries: *entries,
            },
        )),
        Some(CrlFinding::DirMissing { path }) => {
            all.push(finding(State::Critical, Found::CrlDirMissing { path }))
        }
    }
    all.extend(cert_findings(f, days));
    let mut first = probe_finding(f, days);
    if let (Some(socket), false) = (f.sockets.first(), f.more_probes.is_empty()) {
        first.socket = Some(socket_name(socket));
    }
    all.push(first);
    all.extend(more_probe_findings(f, days));
    all.extend(process_findings(f));
    if let Some(c) = &f.clients {
        let live_answered = f.probe.answered();
        all.extend(clients_findings(c, t, live_answered));
    } else if t.clients_warning.is_some() || t.clients_critical.is_some() {
        // A threshold that nothing can be counted against is never silently ignored.
        all.push(finding(State::Unknown, Found::NoClientSource));
    }

    let all: Vec<Said> = all
        .iter()
        .map(|x| Said {
            state: x.state,
            short: short_words(x),
            detail: detail_words(x),
        })
        .collect();
    // Worst first; CRITICAL before UNKNOWN: a server that is down is news, not a mystery.
    let rank = State::severity;
    let state = all
        .iter()
        .map(|x| x.state)
        .max_by_key(|s| rank(*s))
        .unwrap_or(State::Ok);
    let mut ordered: Vec<&Said> = all.iter().collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn missing(kind: FileKind) -> Unreadable {
        Unreadable {
            kind,
            path: "/etc/openvpn/x".into(),
            reason: "no such file".into(),
            denied: false,
            missing: true,
        }
    }

    #[test]
    fn a_missing_file_is_graded_by_whether_the_server_runs() {
        let crl = missing(FileKind::Crl);
        let state = |u: &Unreadable, running| missing_finding(u, running).map(|x| x.state);
        assert_eq!(state(&crl, Some(false)), Some(State::Critical));
        assert_eq!(state(&crl, Some(true)), Some(State::Warning));
        assert_eq!(state(&crl, None), Some(State::Warning));
        let ca = missing(FileKind::Ca);
        assert_eq!(state(&ca, Some(true)), Some(State::Warning));
        assert_eq!(state(&ca, None), Some(State::Critical));
        assert_eq!(state(&missing(FileKind::Status), Some(true)), None);
        let x = missing_finding(&crl, Some(false)).unwrap();
        assert!(matches!(
            x.reason,
            Found::Missing {
                running: Some(false),
                ..
            }
        ));
        assert_eq!(
            short_words(&x),
            "CRL /etc/openvpn/x is missing, and the server is not running: OpenVPN will not start without it"
        );
    }

    #[test]
    fn crl_findings_by_its_facts() {
        let now = 1_000 * DAY;
        let crl = CrlFacts {
            name: "crl.pem".into(),
            der: true,
            issuer: "CN=ca".into(),
            last_update: now - DAY,
            next_update: Some(now + 5 * DAY + 60),
            revoked: 2,
            signature: CrlSignature::OtherIssuer,
            revokes_server: None,
        };
        let days = CertDays {
            warning: 10,
            critical: Some(3),
        };
        let found = crl_findings(&crl, now, &days, Some(TlsLibrary::OpenSsl));
        let states: Vec<State> = found.iter().map(|x| x.state).collect();
        assert_eq!(
            states,
            vec![State::Critical, State::Critical, State::Warning]
        );
        assert!(matches!(
            found[0].reason,
            Found::CrlDer {
                library_known: true,
                ..
            }
        ));
        assert!(matches!(found[1].reason, Found::CrlOtherIssuer { .. }));
        assert!(matches!(
            found[2].reason,
            Found::CrlDays {
                left: 5,
                expiring: true,
                ..
            }
        ));
        // An mbed TLS build reads DER.
        let found = crl_findings(&crl, now, &days, Some(TlsLibrary::MbedTls));
        assert!(!found
            .iter()
            .any(|x| matches!(x.reason, Found::CrlDer { .. })));
        let last = crl_findings(&crl, now, &days, None).pop().unwrap();
        assert_eq!(short_words(&last), "CRL expires in 5 days (1972-10-02)");
        assert_eq!(
            detail_words(&last).as_deref(),
            Some("issuer CN=ca, 2 revoked, lastUpdate 1972-09-26 00:00 UTC, nextUpdate 1972-10-02 00:01 UTC")
        );
    }

    #[test]
    fn clients_findings_by_count_and_source() {
        let t = ServerThresholds {
            cert_days: CertDays {
                warning: 30,
                critical: None,
            },
            clients_warning: Some("1:".parse().unwrap()),
            clients_critical: None,
        };
        let none = Ok(Clients {
            source: ClientSource::Management {
                address: "127.0.0.1:7505".into(),
                password: false,
            },
            count: 0,
            bytes_in: 10,
            bytes_out: 20,
            names: vec![],
            title: None,
            age: None,
            woken: false,
            reread: None,
        });
        let found = clients_findings(&none, &t, true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].state, State::Warning);
        assert!(matches!(
            found[0].reason,
            Found::Clients {
                range: Some(ClientsRange::Warning(_)),
                ..
            }
        ));
        assert_eq!(
            short_words(&found[0]),
            "0 clients (outside warning range 1:)"
        );
        // A refused management with no live answer: the server is down.
        let refused = Err(ClientsError::Connect {
            address: "127.0.0.1:7505".into(),
            reason: "connection refused".into(),
            refused: true,
        });
        let found = clients_findings(&refused, &t, false);
        assert_eq!(found[0].state, State::Critical);
        assert!(matches!(found[0].reason, Found::NotRunning { .. }));
        // ... but only a failed count when the live server answered.
        let found = clients_findings(&refused, &t, true);
        assert_eq!(found[0].state, State::Unknown);
        assert_eq!(
            short_words(&found[0]),
            "cannot count clients: management 127.0.0.1:7505: connection refused"
        );
    }
}
