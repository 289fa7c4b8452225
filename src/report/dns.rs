//! `--dns`: the DNS question's verdict, in the words of someone whose names do not
//! resolve.

use super::ping::{decrypted_words, link_words, pushed_words};
use super::state::State;
use super::words::ms;
use crate::check::dns::DnsReply;
use crate::check::{DataOutcome, DnsOutcome};

/// The state and words of the DNS question (the data channel's own failures are the
/// echoes' to say when both ran).
pub(super) fn assess(dns: &DnsOutcome, data: &DataOutcome) -> (State, String) {
    let q = &dns.question;
    let asked = format!("{} {}", q.name, q.record_type.to_ascii_uppercase());
    if dns.no_server {
        return (
            State::Unknown,
            format!("no DNS server to ask for {asked}: the server pushes none (dhcp-option DNS, dns server) and no --dns-server was given"),
        );
    }
    if let Some(path) = &dns.no_path {
        let words = match path.target {
            Some(t) if path.no_address => format!(
                "the server pushed no {} tunnel address to ask the DNS server {t} from (pushed: {})",
                if t.is_ipv6() { "IPv6 (ifconfig-ipv6)" } else { "IPv4 (ifconfig)" },
                pushed_words(&path.routes)
            ),
            Some(t) => format!(
                "no pushed route or address covers the DNS server {t} (pushed: {})",
                pushed_words(&path.routes)
            ),
            None => format!("no route to a DNS server (pushed: {})", pushed_words(&path.routes)),
        };
        return (State::Unknown, format!("{words}; no DNS question was sent"));
    }
    let Some(path) = dns.path.filter(|_| dns.sent > 0) else {
        return (
            State::Critical,
            "the data channel was not set up, no DNS question was sent".into(),
        );
    };
    let whose = if dns.pushed {
        "the pushed DNS server"
    } else {
        "the DNS server"
    };
    let server = path.target;
    let Some((reply, rtt)) = &dns.reply else {
        if let Some(words) = link_words(data, server) {
            return (
                State::Critical,
                format!("the VPN is up, but {whose} {server} did not answer {asked}: {words}"),
            );
        }
        let tunnel = match data.decrypted {
            0 => decrypted_words(0),
            n => format!("the tunnel carries data ({})", decrypted_words(n)),
        };
        return (
            State::Critical,
            format!(
                "the VPN is up, but {whose} {server} did not answer {asked} ({} {} sent; {tunnel})",
                dns.sent,
                if dns.sent == 1 { "query" } else { "queries" }
            ),
        );
    };
    match reply {
        DnsReply::Malformed(why) => (
            State::Critical,
            format!("{whose} {server} sent a reply to {asked} that is no DNS response: {why}"),
        ),
        DnsReply::Answer {
            code,
            no_error: false,
            ..
        } => (
            State::Critical,
            format!(
                "{whose} {server} answered {code} for {asked} in {}",
                ms(*rtt)
            ),
        ),
        DnsReply::Answer { records, .. } if records.is_empty() => (
            State::Critical,
            format!(
                "{whose} {server} has no record for {asked} (NOERROR, empty answer) in {}",
                ms(*rtt)
            ),
        ),
        DnsReply::Answer {
            records, addresses, ..
        } => {
            let shown = records
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = records.len().saturating_sub(3);
            let list = if more > 0 {
                format!("{shown} and {more} more")
            } else {
                shown
            };
            match q.expect {
                Some(e) if !addresses.contains(&e) => (
                    State::Critical,
                    format!("{whose} {server} answered {asked} with {list}, not the expected {e}"),
                ),
                _ => (
                    State::Ok,
                    format!("DNS {server} answered {asked}: {list} in {}", ms(*rtt)),
                ),
            }
        }
    }
}

/// `dns_time` once a reply came.
pub(super) fn perfdata(dns: &DnsOutcome, label: impl Fn(&str) -> String) -> Option<String> {
    let (_, rtt) = dns.reply.as_ref()?;
    Some(format!(
        "{}={:.6}s;;;0;",
        label("dns_time"),
        rtt.as_secs_f64()
    ))
}
