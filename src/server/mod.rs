//! `--server-config FILE`: a check of a server from its own config, on the server host.
//! The CRL and the certificates on disk (what locks every client out when a date
//! passes), the live server probed with its own settings (does it present the
//! certificate on disk?), and its clients (management interface or status file).
//!
//! This module gathers facts; `report::server` grades and words them.

pub mod clients;
pub mod config;
pub mod files;
pub mod management;
pub mod probe;
pub mod process;
pub mod v2;

use clients::{Clients, ClientsError};
use config::{CrlSource, ServerConfig, ServerConfigError};
use files::{CrlFinding, DiskCerts, PemCerts};
use probe::{Gate, Probe, ProbeRun, Skipped};
use std::path::PathBuf;

/// How long a status file may take to be rewritten after the probe woke the server
/// (it took under 0.3 s on a loaded test machine).
const STATUS_REWRITE_WAIT: Duration = Duration::from_secs(2);
use crate::net::watch::FileWatch;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the server check runs with.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub config: PathBuf,
    /// `--no-probe`: files and clients only.
    pub probe: bool,
    pub timeout: Duration,
    pub attempts: u32,
    /// `--clients-warning`/`--clients-critical`: a count from a status file that one of
    /// them alerts on is read again once the server's next write is due, if that is
    /// within the check's budget.
    pub clients_ranges: Vec<crate::range::Range>,
    /// `--tls-crypt-v2 CLIENTKEY`: a client key of the server's for the probe (one its
    /// `tls-crypt-v2-verify` script allows), instead of one made from the server key.
    pub v2_client_key: Option<PathBuf>,
}

/// Which file a finding is about, for the words of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Ca,
    Cert,
    ExtraCerts,
    Crl,
    CrlDir,
    /// The tls-auth, tls-crypt or tls-crypt-v2 server key.
    ControlKey,
    ManagementPassword,
    ManagementSocket,
    Status,
}

/// A file the check needs and cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub kind: FileKind,
    pub path: String,
    pub reason: String,
    /// Permission denied (as opposed to missing or not a file).
    pub denied: bool,
    /// No such file: a fault of the server's, judged by whether it runs.
    pub missing: bool,
}

/// Everything found out about the server.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// The config as given.
    pub config: String,
    pub now: i64,
    pub unreadable: Vec<Unreadable>,
    /// Files read but not understood: (which, file, why).
    pub broken: Vec<(FileKind, String, String)>,
    /// `None` without `crl-verify`.
    pub crl: Option<CrlFinding>,
    pub certs: DiskCerts,
    pub probe: Probe,
    /// The sockets the server listens on, as its config says (the probe goes to the first).
    pub sockets: Vec<config::Socket>,
    /// The probes of the server's other sockets (OpenVPN 2.7's several `local` lines).
    pub more_probes: Vec<(config::Socket, Probe)>,
    /// `None` without `management` and `status`.
    pub clients: Option<Result<Clients, ClientsError>>,
    /// The OpenVPN processes that run this config: their command line is read with it.
    pub processes: process::Processes,
}

/// `std::io::Error` without the "(os error N)" tail, for messages.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

/// Why the server check could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ServerConfigError),
}

impl ServerError {
    pub fn config_error(&self) -> &ServerConfigError {
        match self {
            ServerError::Config(c) => c,
        }
    }
}

/// Reads one PEM certificate file of the config, recording what goes wrong.
fn load_pem(
    source: Option<&crate::keys::KeySource>,
    kind: FileKind,
    facts: &mut ServerFacts,
) -> Option<PemCerts> {
    let source = source?;
    match files::read_source(source, kind) {
        Ok(bytes) => match files::pem_certs(&bytes, &source.to_string()) {
            Ok(c) => Some(c),
            Err(why) => {
                facts.broken.push((kind, source.to_string(), why));
                None
            }
        },
        Err(u) => {
            facts.unreadable.push(u);
            None
        }
    }
}

/// Runs the whole server check.
pub fn run(spec: &ServerSpec) -> Result<ServerFacts, ServerError> {
    let started = Instant::now();
    let management_deadline = started + spec.timeout;
    // The file as the running server reads it: with its command line's options.
    let processes = process::find(&spec.config);
    let cfg = match &processes {
        process::Processes::Found(running) => {
            ServerConfig::from_process(&spec.config, &running[0])?
        }
        _ => ServerConfig::from_file(&spec.config)?,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut facts = ServerFacts {
        config: spec.config.display().to_string(),
        now,
        unreadable: Vec::new(),
        broken: Vec::new(),
        crl: None,
        certs: DiskCerts::default(),
        probe: Probe::Skipped(Skipped::NoProbe),
        sockets: cfg.sockets.clone(),
        more_probes: Vec::new(),
        clients: None,
        processes,
    };
    let ca = load_pem(cfg.ca.as_ref(), FileKind::Ca, &mut facts);
    // A tls-crypt-v2-verify script would refuse the check's own client key: the probe
    // goes only as far as the server answers before the script runs, which depends on
    // its version (from management or the status file, asked first then).
    let mut early_management = None;
    let user_key = spec.v2_client_key.as_deref();
    let before_script: Result<Option<String>, Skipped> = if !spec.probe {
        Ok(None)
    } else {
        match probe::verify_gate(&cfg, user_key.is_some()) {
            Gate::Open => Ok(None),
            Gate::Closed(why) => Err(Skipped::VerifyScript(why)),
            Gate::NeedsVersion => {
                let line = match (&cfg.management, &cfg.status) {
                    (Some(m), _) => {
                        let answer = clients::from_management(m, management_deadline);
                        let line = answer.as_ref().ok().and_then(|c| c.title.clone());
                        early_management = Some(answer);
                        line
                    }
                    (None, Some(s)) => clients::from_status_file(s, None)
                        .ok()
                        .and_then(|c| c.title),
                    (None, None) => None,
                };
                probe::version_gate(line.as_deref())
                    .map(Some)
                    .map_err(Skipped::VerifyScript)
            }
        }
    };
    // The files on disk first: quick reads.
    let cert = load_pem(cfg.cert.as_ref(), FileKind::Cert, &mut facts);
    let extra = load_pem(cfg.extra_certs.as_ref(), FileKind::ExtraCerts, &mut facts);
    facts.certs = files::disk_certs(ca.as_ref(), cert.as_ref(), extra.as_ref(), now);
    facts.crl = match &cfg.crl {
        None => None,
        Some(CrlSource::Dir(dir)) => match files::crl_dir(dir) {
            Ok(f) => Some(f),
            Err(u) => {
                facts.unreadable.push(u);
                None
            }
        },
        Some(CrlSource::File(source)) => match files::read_source(source, FileKind::Crl) {
            Ok(bytes) => Some(files::crl_facts(
                &bytes,
                &source.to_string(),
                ca.as_ref(),
                cert.as_ref(),
            )),
            Err(u) => {
                facts.unreadable.push(u);
                None
            }
        },
    };
    // The management interface is asked while the sockets are probed, in the same loop:
    // its round trip overlaps the probes' instead of adding to it.
    let mut ask = match early_management {
        Some(_) => None,
        None => cfg.management.as_ref().map(clients::ManagementAsk::new),
    };
    let mut talk = ask.as_mut().map(|a| a.start(management_deadline));
    let probed = spec.probe.then(|| {
        let mut all = match &before_script {
            Err(skipped) => cfg
                .sockets
                .iter()
                .map(|_| (Probe::Skipped(skipped.clone()), None))
                .collect(),
            Ok(before_script) => probe::probe_sockets(
                &cfg,
                &cfg.sockets,
                ca.as_ref().map(|c| c.certs.clone()),
                ProbeRun {
                    timeout: spec.timeout,
                    attempts: spec.attempts,
                    now,
                    user_key,
                    before_script: before_script.clone(),
                },
                talk.as_mut().and_then(|t| t.as_mut().ok()),
            ),
        };
        // The first socket's probe is the server's; the others' unreadable files are the
        // same ones again.
        let first = all.remove(0);
        facts.more_probes = cfg.sockets[1..]
            .iter()
            .cloned()
            .zip(all.into_iter().map(|(p, _)| p))
            .collect();
        first
    });
    // What is left of the talk (all of it without a probe), until its deadline.
    let talked = talk.map(|t| t.map(|exchange| exchange.finish()));
    let management = match early_management {
        Some(answer) => Some(answer),
        None => ask
            .zip(talked)
            .map(|(ask, talked)| talked.and_then(|t| ask.conclude(t))),
    };
    if let Some((p, unreadable)) = probed {
        facts.probe = p;
        facts.unreadable.extend(unreadable);
    }

    facts.clients = match (management, &cfg.status) {
        (Some(m), _) => Some(m),
        (None, Some(s)) => {
            let answered = facts.probe.answered();
            let wait = answered.then(|| spec.timeout.min(STATUS_REWRITE_WAIT));
            let probed = facts.probe.outcome().is_some();
            Some(clients::from_status_file(s, wait).map(|mut c| {
                c.woken = probed;
                c
            }))
        }
        (None, None) => None,
    };
    // A status file is a count as of its last write: a client that connected since is
    // not in it. When a threshold alerts on it and the next write is due within the
    // budget, wait for it, wake the server (it rewrites the file only when a packet
    // arrives) and read it again.
    if let (Some(Ok(c)), Some(status)) = (&facts.clients, &cfg.status) {
        let alerts = spec.clients_ranges.iter().any(|r| r.alerts(c.count as f64));
        let budget = (spec.timeout * spec.attempts).saturating_sub(started.elapsed());
        if let (true, Some((age, every))) = (alerts, c.age) {
            // Whole seconds: the next write comes at most a second after it is due.
            let due = Duration::from_secs(every.saturating_sub(age) + 1);
            if age < every && due + spec.timeout <= budget {
                // Until the write is due, or sooner when the server writes anyway (another
                // client's packet woke it).
                let waiting = Instant::now();
                let early = FileWatch::new(&status.path).changed(waiting + due);
                let waited = match early {
                    true => Duration::from_secs_f64(waiting.elapsed().as_secs_f64().ceil()),
                    false => due,
                };
                let ca_certs = ca.as_ref().map(|c| c.certs.clone());
                // The same probe as before (no further than a verify script allows).
                let woke = match (&before_script, spec.probe) {
                    (Ok(before_script), true) => {
                        let run = ProbeRun {
                            timeout: spec.timeout,
                            attempts: 1,
                            now,
                            user_key,
                            before_script: before_script.clone(),
                        };
                        probe::probe(&cfg, ca_certs, run).0.outcome().is_some()
                    }
                    _ => false,
                };
                let wait = woke.then(|| spec.timeout.min(STATUS_REWRITE_WAIT));
                if let Ok(mut again) = clients::from_status_file(status, wait) {
                    again.woken = woke;
                    again.reread = Some(waited.as_secs());
                    facts.clients = Some(Ok(again));
                }
            }
        }
    }
    if let Some(Err(ClientsError::Unreadable(u))) = &facts.clients {
        facts.unreadable.push(u.clone());
    }
    Ok(facts)
}
