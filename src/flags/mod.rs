//! The command line: [`Cli`] defines the flags (clap), [`settings`] turns them and an
//! optional client config into the [`Settings`] of one check, and [`diagnose`] lists the
//! ways `--diagnose` tries.

pub mod definition;
pub mod diagnose;
pub mod server;
pub mod settings;

pub use definition::Cli;
pub use settings::{Mode, Settings, UsageError};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::CommandFactory;
use std::ffi::{OsStr, OsString};

/// A clap error (other than `--help` and `--version`) as the text of the status line and
/// the long output under it: clap's first line, the rest below. A flag given without one
/// it needs is said as "--key needs --cert", so the status line names both; `argv` (the
/// whole command line) tells which given flag needs the missing one.
pub fn usage_error(e: &clap::Error, argv: &[OsString]) -> (String, Vec<String>) {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    let long: Vec<String> = lines
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if e.kind() != ErrorKind::MissingRequiredArgument {
        return (first, long);
    }
    if let Some(needs) = needs(e, argv) {
        return (needs, long);
    }
    // Whoever needs it, the missing flags (and the usage naming the given ones) go on the
    // status line, which the report cuts at its limit.
    let mut joined = first.trim_end_matches(':').to_string();
    for l in &long {
        joined.push(' ');
        joined.push_str(l.trim());
    }
    (joined, long)
}

/// "--given needs --missing": each flag given on the command line that needs a flag of
/// the error's missing ones, found by asking clap about that flag alone.
fn needs(e: &clap::Error, argv: &[OsString]) -> Option<String> {
    let Some(ContextValue::Strings(missing)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let cmd = Cli::command();
    let matches = cmd
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(argv)
        .ok()?;
    let mut given = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else {
            continue;
        };
        if arg.is_positional() || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let mut alone = vec![OsString::from("check_openvpn"), format!("--{long}").into()];
        if arg.get_action().takes_values() {
            let value = matches.get_raw(id).and_then(|mut v| v.next());
            alone.push(value.map_or_else(OsString::new, OsStr::to_os_string));
        }
        let Err(alone) = cmd.clone().try_get_matches_from(alone) else {
            continue;
        };
        if alone.kind() != ErrorKind::MissingRequiredArgument {
            continue;
        }
        if let Some(ContextValue::Strings(m)) = alone.get(ContextKind::InvalidArg) {
            if m.iter().any(|m| missing.contains(m)) {
                given.push(format!("--{long}"));
            }
        }
    }
    if given.is_empty() {
        return None;
    }
    let missing: Vec<String> = missing.iter().map(|m| plain(m)).collect();
    Some(format!(
        "{} {} {}",
        given.join(", "),
        if given.len() == 1 { "needs" } else { "need" },
        missing.join(", ")
    ))
}

/// A flag as clap's usage writes it, without its value's placeholder: `--key <FILE>` is
/// `--key`, and a group `<--dns <NAME>|--http <URL>>` is `one of --dns, --http`.
fn plain(usage: &str) -> String {
    let mut out = String::new();
    let mut rest = usage;
    while let Some(at) = rest.find(" <") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        rest = match rest.find('>') {
            Some(end) if !rest[..end].contains('|') => &rest[end + 1..],
            _ => {
                out.push_str(" <");
                rest
            }
        };
    }
    out.push_str(rest);
    match out.strip_prefix('<').and_then(|o| o.strip_suffix('>')) {
        Some(group) => format!("one of {}", group.split('|').collect::<Vec<_>>().join(", ")),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn line(args: &[&str]) -> String {
        let mut argv = vec!["check_openvpn"];
        argv.extend_from_slice(args);
        let e = Cli::try_parse_from(&argv).expect_err("a usage error");
        let argv: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
        let (line, _) = usage_error(&e, &argv);
        assert!(line.chars().count() <= 300, "{line}");
        line
    }

    #[test]
    fn a_flag_without_one_it_needs_names_both() {
        for (args, words) in [
            (&["h", "--key", "k"][..], "--key needs --cert"),
            (&["-H", "h", "--cert", "c", "-t"], "--cert needs --key"),
            (
                &["h", "--digest-key-server", "00"],
                "--digest-key-server needs --digest-key-client",
            ),
            (
                &["h", "--dns-server", "10.8.0.1"],
                "--dns-server needs one of --dns, --http",
            ),
            (&["h", "--dns-type", "MX"], "--dns-type needs --dns"),
            (
                &["h", "--totp-secret", "s", "--tls"],
                "--totp-secret needs one of --login, --cert, --key, --auth-user-pass",
            ),
            (
                &["h", "--wait-for-close", "--tcp"],
                "--wait-for-close needs one of --login",
            ),
            (
                &["h", "--totp-secret", "s", "--diagnose"],
                "--totp-secret needs one of --login",
            ),
        ] {
            let line = line(args);
            assert!(line.contains(words), "{args:?}: {line}");
        }
    }

    #[test]
    fn two_wraps_name_both() {
        for (args, a, b) in [
            (
                &["h", "--tls-auth", "k", "--tls-crypt", "k"][..],
                "--tls-auth",
                "--tls-crypt",
            ),
            (
                &["h", "--tls-crypt", "k", "--digest-key-client", "00"],
                "--tls-crypt",
                "--digest-key-client",
            ),
            (
                &["h", "--tls-auth", "k", "--digest-key-server", "00"],
                "--tls-auth",
                "--digest-key-server",
            ),
            (
                &["h", "--tls-crypt-v2", "v", "--tls-crypt", "k"],
                "--tls-crypt-v2",
                "--tls-crypt",
            ),
        ] {
            let line = line(args);
            assert!(line.contains(a) && line.contains(b), "{args:?}: {line}");
        }
    }

    #[test]
    fn placeholders_drop() {
        assert_eq!(plain("--key <FILE>"), "--key");
        assert_eq!(
            plain("<--dns <NAME>|--http <URL>|--ping>"),
            "one of --dns, --http, --ping"
        );
    }
}
