//! Sockets and time: name resolution under a deadline, and one exchange of packets over UDP
//! (with retries) or TCP (length-framed), ending at a deadline whatever the peer does.
//!
//! What to send and whether an arriving packet is the answer are decided by an
//! [`Exchange`], so this module knows nothing of OpenVPN beyond TCP's framing.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// No legitimate control packet comes near this; a longer TCP frame means we are not
/// talking to OpenVPN (or are being fed garbage), and the stream cannot be trusted after it.
pub const MAX_FRAME: usize = 4096;

/// Large enough for any UDP datagram, so an oversized one is seen whole and rejected.
const UDP_BUFFER: usize = 65536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// What the caller decides about a packet that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This is the answer: stop now.
    Done,
    /// Not the answer: keep waiting.
    Ignore,
    /// Not the answer, but no point retrying: wait out this attempt, then stop.
    FinishAttempt,
}

pub trait Exchange {
    /// The packet to send on `attempt` (1-based).
    fn packet(&mut self, attempt: u32) -> Vec<u8>;
    /// Judges one received packet (one datagram, or one TCP frame without its length).
    fn judge(&mut self, packet: &[u8], elapsed: Duration) -> Verdict;
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub addr: SocketAddr,
    pub proto: Proto,
    /// Per UDP attempt; the whole connect-and-answer budget over TCP.
    pub timeout: Duration,
    /// UDP attempts; TCP always makes one.
    pub attempts: u32,
    /// When the check began: attempt `n` ends at `origin + n × timeout`, so time spent
    /// before the first packet (name resolution) comes out of the budget, not on top of it.
    pub origin: Instant,
}

impl Plan {
    pub fn attempts(&self) -> u32 {
        match self.proto {
            Proto::Udp => self.attempts,
            Proto::Tcp => 1,
        }
    }

    /// The longest the exchange may take.
    pub fn budget(&self) -> Duration {
        self.timeout * self.attempts()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The exchange accepted a packet.
    Answered,
    /// The deadline passed without an accepted packet.
    TimedOut,
    /// TCP RST on connect, or ICMP port unreachable over UDP.
    Refused,
    /// The TCP connection was reset after it was established.
    Reset,
    /// The TCP peer closed the connection before answering.
    Closed,
    /// A TCP frame longer than [`MAX_FRAME`].
    FrameTooLong(usize),
    /// Any other network error (no route, host unreachable, …).
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub ending: Ending,
    /// From the first packet sent (or the TCP connect) to the answer, or to the end.
    pub elapsed: Duration,
    /// Attempts started.
    pub attempts: u32,
}

pub fn run(plan: &Plan, exchange: &mut dyn Exchange) -> Finished {
    match plan.proto {
        Proto::Udp => run_udp(plan, exchange),
        Proto::Tcp => run_tcp(plan, exchange),
    }
}

fn classify(e: &io::Error) -> Option<Ending> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => None,
        io::ErrorKind::ConnectionRefused => Some(Ending::Refused),
        io::ErrorKind::ConnectionReset => Some(Ending::Reset),
        io::ErrorKind::UnexpectedEof => Some(Ending::Closed),
        _ => Some(Ending::Failed(e.to_string())),
    }
}

fn unspecified(addr: &SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

fn run_udp(plan: &Plan, exchange: &mut dyn Exchange) -> Finished {
    let start = Instant::now();
    let origin = plan.origin.min(start);
    let done = |ending, attempts| Finished {
        ending,
        elapsed: start.elapsed(),
        attempts,
    };
    // A connected socket: the kernel drops datagrams from any other address or port, and
    // reports an ICMP port unreachable as ECONNREFUSED on the next receive.
    let socket = match UdpSocket::bind(unspecified(&plan.addr)).and_then(|s| {
        s.connect(plan.addr)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => return done(classify(&e).unwrap_or(Ending::Failed(e.to_string())), 0),
    };
    let mut buf = vec![0u8; UDP_BUFFER];
    let mut last_attempt = false;
    for attempt in 1..=plan.attempts() {
        let deadline = origin + plan.timeout * attempt;
        if let Err(e) = socket.send(&exchange.packet(attempt)) {
            if let Some(ending) = classify(&e) {
                return done(ending, attempt);
            }
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if socket.set_read_timeout(Some(deadline - now)).is_err() {
                break;
            }
            match socket.recv(&mut buf) {
                Ok(n) => match exchange.judge(&buf[..n], start.elapsed()) {
                    Verdict::Done => return done(Ending::Answered, attempt),
                    Verdict::Ignore => {}
                    Verdict::FinishAttempt => last_attempt = true,
                },
                Err(e) => {
                    if let Some(ending) = classify(&e) {
                        return done(ending, attempt);
                    }
                }
            }
        }
        if last_attempt {
            return done(Ending::TimedOut, attempt);
        }
    }
    done(Ending::TimedOut, plan.attempts())
}

/// Reads exactly `buf.len()` bytes or fails at the deadline, however slowly they trickle in.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<(), Ending> {
    let mut filled = 0;
    while filled < buf.len() {
        let now = Instant::now();
        if now >= deadline {
            return Err(Ending::TimedOut);
        }
        stream
            .set_read_timeout(Some(deadline - now))
            .map_err(|e| Ending::Failed(e.to_string()))?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(Ending::Closed),
            Ok(n) => filled += n,
            Err(e) => {
                if let Some(ending) = classify(&e) {
                    return Err(ending);
                }
            }
        }
    }
    Ok(())
}

fn run_tcp(plan: &Plan, exchange: &mut dyn Exchange) -> Finished {
    let start = Instant::now();
    let deadline = plan.origin.min(start) + plan.timeout;
    let done = |ending| Finished {
        ending,
        elapsed: start.elapsed(),
        attempts: 1,
    };
    let connect_limit = deadline.saturating_duration_since(start);
    if connect_limit.is_zero() {
        return done(Ending::TimedOut);
    }
    let mut stream = match TcpStream::connect_timeout(&plan.addr, connect_limit) {
        Ok(s) => s,
        Err(e) => return done(classify(&e).unwrap_or(Ending::TimedOut)),
    };
    let _ = stream.set_nodelay(true);
    let packet = exchange.packet(1);
    let Ok(len) = u16::try_from(packet.len()) else {
        return done(Ending::Failed("packet too long for TCP framing".into()));
    };
    let frame = [&len.to_be_bytes()[..], &packet].concat();
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return done(Ending::TimedOut);
    }
    let written = stream
        .set_write_timeout(Some(remaining))
        .and_then(|()| stream.write_all(&frame));
    if let Err(e) = written {
        return done(classify(&e).unwrap_or(Ending::TimedOut));
    }
    let mut body = vec![0u8; MAX_FRAME];
    loop {
        let mut header = [0u8; 2];
        if let Err(ending) = read_full(&mut stream, &mut header, deadline) {
            return done(ending);
        }
        let len = u16::from_be_bytes(header) as usize;
        if len > MAX_FRAME {
            return done(Ending::FrameTooLong(len));
        }
        if let Err(ending) = read_full(&mut stream, &mut body[..len], deadline) {
            return done(ending);
        }
        // Over TCP there is one attempt, lasting to the deadline: only Done ends it early.
        if exchange.judge(&body[..len], start.elapsed()) == Verdict::Done {
            return done(Ending::Answered);
        }
    }
}

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
