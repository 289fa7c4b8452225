//! `--diagnose`: one session per way of using the key material, all at once.

use crate::net::{self, Flow};
use crate::proto::Stage;
use crate::wire::Wrap;
use std::time::{Duration, Instant};

use super::outcome::{Answer, CheckError, Detail, Target};
use super::run::{new_session, outcome, resolve, resolve_bind, session_config};
use super::spec::{Bind, CheckSpec};

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
    pub result: Answer,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub target: Target,
    /// In the order tried.
    pub trials: Vec<Trial>,
    pub timeout: Duration,
    pub details: Vec<Detail>,
}

/// Sends one reset per candidate, all at once, each with its own socket and session, and
/// waits at most one `spec.timeout` for all of them together.
pub fn diagnose(spec: &CheckSpec, candidates: &[Candidate]) -> Result<Diagnosis, CheckError> {
    let origin = Instant::now();
    let (addrs, mut notes) = resolve(spec, spec.timeout)?;
    let addr = addrs[0];
    let spec = &resolve_bind(spec, addr, origin + spec.timeout, &mut notes)?;
    if let Some(Bind::Address(bind)) = spec.bind {
        net::check_bind(bind, addr)?;
    }
    let mut flows = Vec::with_capacity(candidates.len());
    for c in candidates {
        let cfg = session_config(spec, &c.wrap, addr, Stage::Reset, 1, false);
        let session = new_session(cfg, origin)?;
        flows.push(Flow::new(addr, spec.proto, session, spec.link()));
    }
    net::drive(&mut flows, origin + spec.timeout);
    let quiet = CheckSpec {
        verbosity: 0,
        ..spec.clone()
    };
    let trials = candidates
        .iter()
        .zip(flows)
        .map(|(c, flow)| {
            let o = outcome(&quiet, flow, origin, Vec::new(), 0);
            Trial {
                label: c.label.clone(),
                advice: c.advice.clone(),
                result: o.result,
                elapsed: o.elapsed,
            }
        })
        .collect();
    Ok(Diagnosis {
        target: Target {
            host: spec.host.clone(),
            addr,
            proto: spec.proto,
        },
        trials,
        timeout: spec.timeout,
        details: if spec.verbosity >= 1 {
            notes
                .into_iter()
                .chain(spec.notes.iter().cloned())
                .map(Detail::Note)
                .collect()
        } else {
            Vec::new()
        },
    })
}
