//! Name resolution under a deadline, in the resolver's order, filtered by address family.

use super::link::Family;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve '{host}': {reason}")]
    Failed { host: String, reason: String },
    #[error("'{host}' has no {family} address")]
    NoAddress { host: String, family: &'static str },
    #[error("resolving '{host}' took longer than {secs:.1} s")]
    TimedOut { host: String, secs: f64 },
}

fn family_name(family: Option<Family>) -> &'static str {
    match family {
        Some(Family::V4) => "IPv4",
        Some(Family::V6) => "IPv6",
        None => "IPv4 or IPv6",
    }
}

fn matches(addr: &SocketAddr, family: Option<Family>) -> bool {
    match family {
        None => true,
        Some(Family::V4) => addr.is_ipv4(),
        Some(Family::V6) => addr.is_ipv6(),
    }
}

/// Resolves `host` to addresses of `family` (any when `None`), in the resolver's order.
/// IP literals (with or without `[]`) are used as they are; names are looked up on a
/// helper thread so that a stuck resolver cannot hold the check past `limit`.
pub fn resolve(
    host: &str,
    port: u16,
    family: Option<Family>,
    limit: Duration,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let addrs: Vec<SocketAddr> = if let Ok(ip) = literal.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        let (tx, rx) = mpsc::channel();
        let name = host.to_string();
        std::thread::spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>());
            let _ = tx.send(result);
        });
        match rx.recv_timeout(limit) {
            Ok(Ok(addrs)) => addrs,
            Ok(Err(e)) => {
                return Err(ResolveError::Failed {
                    host: host.into(),
                    reason: e.to_string(),
                })
            }
            Err(_) => {
                return Err(ResolveError::TimedOut {
                    host: host.into(),
                    secs: limit.as_secs_f64(),
                })
            }
        }
    };
    let mut chosen: Vec<SocketAddr> = Vec::new();
    for a in addrs.into_iter().filter(|a| matches(a, family)) {
        if !chosen.contains(&a) {
            chosen.push(a);
        }
    }
    if chosen.is_empty() {
        return Err(ResolveError::NoAddress {
            host: host.into(),
            family: family_name(family),
        });
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_families() {
        let t = Duration::from_secs(1);
        assert_eq!(
            resolve("127.0.0.1", 1194, None, t).unwrap(),
            vec!["127.0.0.1:1194".parse().unwrap()]
        );
        assert_eq!(
            resolve("[::1]", 5, Some(Family::V6), t).unwrap(),
            vec!["[::1]:5".parse().unwrap()]
        );
        assert!(matches!(
            resolve("127.0.0.1", 1, Some(Family::V6), t),
            Err(ResolveError::NoAddress { .. })
        ));
        assert!(resolve("name.invalid", 1, None, t).is_err());
    }
}
