//! One probe, from a [`CheckSpec`] to an [`Outcome`]: resolve, build the hard reset, run the
//! exchange over the transport, and record what came back. No printing, no exit codes.
//! [`diagnose`] runs many probes at once, one per way of using a key.

use crate::transport::{self, Ending, Exchange, Family, Plan, Proto, Verdict};
use crate::wire::{self, Auth, Rejection, Replay, ServerReset, SessionId, Wrap};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Everything one check needs, already validated.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub host: String,
    pub port: u16,
    pub proto: Proto,
    pub family: Option<Family>,
    pub timeout: Duration,
    pub attempts: u32,
    pub wrap: Wrap,
    /// Lines describing where settings and keys came from (never key bytes), for `-v`.
    pub notes: Vec<String>,
    /// `false` (`--no-validation`): any packet from the server counts as an answer.
    pub validate: bool,
    pub verbosity: u8,
}

impl CheckSpec {
    /// UDP makes `attempts` attempts; TCP one.
    pub fn max_attempts(&self) -> u32 {
        match self.proto {
            Proto::Udp => self.attempts,
            Proto::Tcp => 1,
        }
    }

    pub fn budget(&self) -> Duration {
        self.timeout * self.max_attempts()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    /// A valid server hard reset for our session.
    Answered(Auth),
    /// `--no-validation`: something came back, unexamined.
    Responded,
    /// A server reset for our session whose HMAC did not verify.
    BadAuth,
    /// Nothing valid before the deadline, or the connection failed.
    Failed(Ending),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// `127.0.0.1:1194/udp`, or `vpn.example.org (192.0.2.7):1194/udp` for a name.
    pub target: String,
    pub addr: SocketAddr,
    pub wrap: String,
    pub result: Result,
    pub elapsed: Duration,
    pub attempts: u32,
    pub max_attempts: u32,
    pub budget: Duration,
    /// Packets that were not the answer, by reason.
    pub ignored: BTreeMap<Rejection, u32>,
    /// Long-output lines, by verbosity.
    pub details: Vec<String>,
}

impl Outcome {
    pub fn ignored_total(&self) -> u32 {
        self.ignored.values().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Resolve(#[from] transport::ResolveError),
    #[error("cannot get random bytes for a session id: {0}")]
    Random(String),
}

/// Trace lines about received packets at `-vv`/`-vvv`; later packets are only counted.
const MAX_PACKET_TRACES: usize = 100;

/// The probe as an [`Exchange`]: builds our reset for each attempt and judges answers.
struct Probe<'a> {
    packet_traces: usize,
    wrap: &'a Wrap,
    validate: bool,
    verbosity: u8,
    session_id: SessionId,
    net_time: u32,
    result: Option<Result>,
    ignored: BTreeMap<Rejection, u32>,
    details: Vec<String>,
}

impl<'a> Probe<'a> {
    fn new(wrap: &'a Wrap, validate: bool, verbosity: u8) -> std::result::Result<Self, CheckError> {
        let mut session_id = [0u8; 8];
        getrandom::fill(&mut session_id).map_err(|e| CheckError::Random(e.to_string()))?;
        // OpenVPN's packet-id time field is 32-bit Unix seconds.
        let net_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        Ok(Probe {
            packet_traces: 0,
            wrap,
            validate,
            verbosity,
            session_id,
            net_time,
            result: None,
            ignored: BTreeMap::new(),
            details: Vec::new(),
        })
    }

    fn trace(&mut self, level: u8, line: impl FnOnce() -> String) {
        if self.verbosity >= level {
            self.details.push(line());
        }
    }

    /// Traces a received packet, up to [`MAX_PACKET_TRACES`] lines: a flooding peer must not
    /// grow the long output (and memory) without bound.
    fn trace_packet(&mut self, level: u8, line: impl FnOnce() -> String) {
        if self.verbosity < level {
            return;
        }
        self.packet_traces += 1;
        match self.packet_traces.cmp(&MAX_PACKET_TRACES) {
            std::cmp::Ordering::Less => self.details.push(line()),
            std::cmp::Ordering::Equal => self.details.push(format!(
                "(more packets arrived; the trace stops after {MAX_PACKET_TRACES} lines)"
            )),
            std::cmp::Ordering::Greater => {}
        }
    }

    /// Runs the exchange and settles the result.
    fn run(&mut self, plan: &Plan) -> transport::Finished {
        let finished = transport::run(plan, self);
        let result = match (&finished.ending, self.result.take()) {
            (Ending::Answered, Some(r)) => r,
            // The server answered our session, with an HMAC that did not verify, and nothing
            // better came before the end (deadline, close or reset): the server is up.
            (_, Some(Result::BadAuth)) => Result::BadAuth,
            (ending, _) => Result::Failed(ending.clone()),
        };
        self.result = Some(result);
        finished
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl Exchange for Probe<'_> {
    fn packet(&mut self, attempt: u32) -> Vec<u8> {
        // A retry is a retransmission: same session, next packet id, as OpenVPN does it.
        let replay = Replay {
            packet_id: self.wrap.packet_id(attempt),
            net_time: self.net_time,
        };
        let packet = wire::client_reset(self.wrap, self.session_id, replay);
        self.trace(2, || {
            format!(
                "attempt {attempt}: sending {}, {} bytes",
                wire::opcode_name(packet[0] >> 3),
                packet.len()
            )
        });
        self.trace(3, || format!("  > {}", hex::encode(&packet)));
        packet
    }

    fn judge(&mut self, packet: &[u8], elapsed: Duration) -> Verdict {
        self.trace_packet(3, || format!("  < {}", hex::encode(packet)));
        if !self.validate {
            self.trace_packet(2, || {
                format!(
                    "{}: received {} bytes (not validated)",
                    ms(elapsed),
                    packet.len()
                )
            });
            self.result = Some(Result::Responded);
            return Verdict::Done;
        }
        match wire::validate_server_reset(self.wrap, packet, &self.session_id) {
            Ok(ServerReset { session_id, auth }) => {
                self.trace_packet(2, || {
                    format!(
                        "{}: received {} bytes: valid server reset",
                        ms(elapsed),
                        packet.len()
                    )
                });
                self.trace(1, || {
                    format!("server session id: {}", hex::encode(session_id))
                });
                self.result = Some(Result::Answered(auth));
                Verdict::Done
            }
            Err(Rejection::BadAuth) => {
                self.trace_packet(2, || {
                    format!(
                        "{}: received {} bytes: server reset for our session, HMAC does not verify",
                        ms(elapsed),
                        packet.len()
                    )
                });
                *self.ignored.entry(Rejection::BadAuth).or_default() += 1;
                self.result = Some(Result::BadAuth);
                Verdict::FinishAttempt
            }
            Err(reason) => {
                let opcode = packet.first().map(|b| b >> 3).unwrap_or(0);
                self.trace_packet(2, || {
                    format!(
                        "{}: ignored {} bytes ({}, opcode {} {})",
                        ms(elapsed),
                        packet.len(),
                        reason.describe(),
                        opcode,
                        wire::opcode_name(opcode)
                    )
                });
                *self.ignored.entry(reason).or_default() += 1;
                Verdict::Ignore
            }
        }
    }
}

fn describe_target(host: &str, addr: &SocketAddr, proto: Proto) -> String {
    let ip = addr.ip();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let shown_ip = match addr {
        SocketAddr::V4(_) => ip.to_string(),
        SocketAddr::V6(_) => format!("[{ip}]"),
    };
    if literal.parse::<std::net::IpAddr>().is_ok() {
        format!("{shown_ip}:{}/{}", addr.port(), proto.name())
    } else {
        format!("{host} ({ip}):{}/{}", addr.port(), proto.name())
    }
}

/// Resolves the host, and the lines `-v` shows about it.
fn resolve(
    spec: &CheckSpec,
    limit: Duration,
) -> std::result::Result<(Vec<SocketAddr>, Vec<String>), CheckError> {
    let addrs = transport::resolve(&spec.host, spec.port, spec.family, limit)?;
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    let notes = vec![format!(
        "addresses of {}: {} ({} resolved)",
        spec.host,
        shown.join(", "),
        addrs.len()
    )];
    Ok((addrs, notes))
}

fn ignored_line(ignored: &BTreeMap<Rejection, u32>) -> String {
    let parts: Vec<String> = ignored
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.describe()))
        .collect();
    parts.join(", ")
}

/// Runs one check against the first address of the host. `Err` is for problems that make
/// the check impossible to run (UNKNOWN); every network result is an `Ok(Outcome)`.
pub fn run(spec: &CheckSpec) -> std::result::Result<Outcome, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.budget())?;
    notes.extend(spec.notes.iter().cloned());
    probe_address(spec, addrs[0], origin, notes)
}

/// `--all-addresses`: resolves the host and probes every address it has, in parallel.
pub fn run_all(spec: &CheckSpec) -> std::result::Result<Vec<Outcome>, CheckError> {
    let origin = Instant::now();
    let (addrs, notes) = resolve(spec, spec.budget())?;
    let mut outcomes = probe_addresses_from(spec, &addrs, origin)?;
    if let Some(first) = outcomes.first_mut() {
        let mut lead = notes;
        lead.extend(spec.notes.iter().cloned());
        if spec.verbosity >= 1 {
            first.details.splice(0..0, lead);
        }
    }
    Ok(outcomes)
}

/// Probes each of `addrs` in parallel, each with its own session and the spec's retries,
/// all within one budget. Apart from name resolution so that tests can give the list.
pub fn probe_addresses(
    spec: &CheckSpec,
    addrs: &[SocketAddr],
) -> std::result::Result<Vec<Outcome>, CheckError> {
    probe_addresses_from(spec, addrs, Instant::now())
}

fn probe_addresses_from(
    spec: &CheckSpec,
    addrs: &[SocketAddr],
    origin: Instant,
) -> std::result::Result<Vec<Outcome>, CheckError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = addrs
            .iter()
            .map(|&addr| scope.spawn(move || probe_address(spec, addr, origin, Vec::new())))
            .collect();
        // A panicking probe has already ended the process through the panic hook.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// One probe of one address; `notes` lead its `-v` lines.
fn probe_address(
    spec: &CheckSpec,
    addr: SocketAddr,
    origin: Instant,
    notes: Vec<String>,
) -> std::result::Result<Outcome, CheckError> {
    let plan = Plan {
        addr,
        proto: spec.proto,
        timeout: spec.timeout,
        attempts: spec.attempts,
        origin,
    };
    let mut probe = Probe::new(&spec.wrap, spec.validate, spec.verbosity)?;
    if spec.verbosity >= 1 {
        probe.details.extend(notes);
    }
    let session = hex::encode(probe.session_id);
    probe.trace(1, || format!("{addr}: our session id {session}"));
    let finished = probe.run(&plan);
    if !probe.ignored.is_empty() {
        let line = ignored_line(&probe.ignored);
        probe.trace(1, || format!("ignored packets: {line}"));
    }
    Ok(Outcome {
        target: describe_target(&spec.host, &addr, spec.proto),
        addr,
        wrap: spec.wrap.describe(),
        result: probe
            .result
            .take()
            .unwrap_or(Result::Failed(Ending::TimedOut)),
        elapsed: finished.elapsed,
        attempts: finished.attempts,
        max_attempts: plan.attempts(),
        budget: plan.budget(),
        ignored: probe.ignored,
        details: probe.details,
    })
}

/// One way of using the key material that `--diagnose` tries.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `tls-auth SHA512 key-direction 1`
    pub label: String,
    /// What to change to use it: flags, or config directives.
    pub advice: String,
    pub wrap: Wrap,
}

#[derive(Debug, Clone)]
pub struct Trial {
    pub label: String,
    pub advice: String,
    pub result: Result,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub target: String,
    /// In the order tried.
    pub trials: Vec<Trial>,
    pub timeout: Duration,
    pub details: Vec<String>,
}

/// Sends one probe per candidate, all at once, each with its own socket and session, and
/// waits at most one `spec.timeout` for all of them together.
pub fn diagnose(
    spec: &CheckSpec,
    candidates: &[Candidate],
) -> std::result::Result<Diagnosis, CheckError> {
    let origin = Instant::now();
    let (addrs, notes) = resolve(spec, spec.timeout)?;
    let plan = Plan {
        addr: addrs[0],
        proto: spec.proto,
        timeout: spec.timeout,
        attempts: 1,
        origin,
    };
    let mut probes = candidates
        .iter()
        .map(|c| Probe::new(&c.wrap, true, 0))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let finished: Vec<transport::Finished> = std::thread::scope(|scope| {
        let handles: Vec<_> = probes
            .iter_mut()
            .map(|probe| scope.spawn(move || probe.run(&plan)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let trials = candidates
        .iter()
        .zip(probes.iter_mut())
        .zip(finished)
        .map(|((c, probe), f)| Trial {
            label: c.label.clone(),
            advice: c.advice.clone(),
            result: probe.result.take().unwrap_or(Result::Failed(f.ending)),
            elapsed: f.elapsed,
        })
        .collect();
    Ok(Diagnosis {
        target: describe_target(&spec.host, &addrs[0], spec.proto),
        trials,
        timeout: spec.timeout,
        details: if spec.verbosity >= 1 {
            notes
                .into_iter()
                .chain(spec.notes.iter().cloned())
                .collect()
        } else {
            Vec::new()
        },
    })
}
