//! One check, from a [`CheckSpec`] to an [`Outcome`]: resolve, make a [`Session`](crate::proto::Session) per
//! address (or per way of using a key, for [`diagnose`]), run them all in the driver under
//! one deadline, and fold the sessions' events into outcomes. No printing, no exit codes.

mod diagnose;
pub mod dns;
mod end;
pub mod http;
mod outcome;
mod record;
mod run;
mod spec;

pub use diagnose::{diagnose, Candidate, Diagnosis, Trial};
pub use end::FlowEnd;
pub use outcome::{
    Answer, CheckError, DataOutcome, DataReady, Detail, DnsOutcome, Exit, HttpOutcome, LoginEnd,
    LoginOutcome, NeighbourOutcome, Outcome, Target, TcpOutcome, TlsOutcome,
};
pub use run::{probe_addresses, run, run_all, run_beside, run_remotes, run_remotes_beside, Beside};
pub use spec::{Bind, CheckSpec, KeyOrigin, LoginSpec, Note, PingSpec, RemoteRun, Unchecked};
