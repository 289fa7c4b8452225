//! `check_openvpn`: arguments in, one status line and a Nagios exit code out.

use check_openvpn::flags::server::Run;
use check_openvpn::flags::{Cli, Mode};
use check_openvpn::report::{self, Report, State};
use check_openvpn::{check, guard, server};
use clap::error::ErrorKind;
use clap::Parser;
use std::io::Write;

/// Writes the report; a closed or broken stdout must not change the exit code.
fn emit(report: &Report) -> ! {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(report.text().as_bytes());
    let _ = out.flush();
    std::process::exit(report.state.code())
}

fn main() {
    // Whatever goes wrong inside, the engine sees UNKNOWN and a reason, never exit 101.
    guard::install();
    #[cfg(debug_assertions)]
    guard::self_test();

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                let _ = e.print();
                std::process::exit(State::Ok.code());
            }
            _ => {
                let argv: Vec<_> = std::env::args_os().collect();
                let (first, long) = check_openvpn::flags::usage_error(&e, &argv);
                let mut r = Report::unknown(first);
                r.long = long;
                emit(&r)
            }
        },
    };
    let report = match cli.into_run() {
        Ok(run) => check_one(run),
        Err(e) => Report::unknown(e),
    };
    emit(&report)
}

/// Runs the check the arguments chose and words its outcome.
fn check_one(run: Run) -> Report {
    let settings = match run {
        Run::Server {
            spec,
            thresholds,
            verbose,
        } => {
            return match server::run(&spec) {
                Ok(facts) => report::render_server(&facts, &thresholds, verbose),
                Err(e) => report::render_server_error(&e),
            }
        }
        Run::Client(settings) => settings,
    };
    match &settings.mode {
        Mode::Diagnose(candidates) => match check::diagnose(&settings.spec, candidates) {
            Ok(d) => report::render_diagnosis(&d, settings.spec.verbosity),
            Err(e) => Report::unknown(e),
        },
        Mode::EveryAddress => match check::run_all(&settings.spec) {
            Ok(outcomes) => {
                report::render_all(&settings.spec.host, &outcomes, &settings.thresholds)
            }
            Err(e) => Report::unknown(e),
        },
        Mode::Remotes(remotes) => {
            let results = check::run_remotes(remotes);
            let notes = match settings.spec.verbosity {
                0 => &[][..],
                _ => &settings.spec.notes[..],
            };
            report::render_remotes(remotes, &results, &settings.thresholds, notes)
        }
        Mode::Single => match check::run(&settings.spec) {
            Ok(outcome) => report::render(&outcome, &settings.thresholds),
            Err(e) => Report::unknown(e),
        },
    }
}
