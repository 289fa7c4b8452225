//! The driver: the only place with sockets and a clock. It runs any number of
//! [`Session`]s at once (one for a check, one per address for `--all-addresses`, dozens for
//! `--diagnose`) in one thread, with one `poll(2)` loop and one deadline for all of them.
//!
//! Per flow it owns a non-blocking socket (socket2): a connected UDP socket, so the kernel
//! drops datagrams from anyone but the server and reports ICMP port unreachable; or a TCP
//! stream with OpenVPN's 16-bit length framing, whose connect also runs under the deadline.
//!
//! [`stream`] holds the other kind of conversation the check has: a line protocol over a
//! TCP or unix stream (a server's management interface), under a deadline of its own,
//! driven in the same loop beside the flows ([`drive_beside`]); [`watch`] waits for a
//! file to change (a server's status file) and for time to pass, under a deadline too.

mod link;
mod resolve;
pub mod stream;
pub mod watch;

pub use link::{Ending, Family, Proto, MAX_FRAME};
pub use resolve::{resolve, ResolveError};

use crate::proto::{Event, Session};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Instant;

/// Large enough for any UDP datagram, so an oversized one is seen whole and judged.
const UDP_BUFFER: usize = 65536;
/// Datagrams taken from one socket per wake-up before the loop looks at the clock again.
const MAX_READS_PER_WAKE: usize = 256;
/// Bytes a TCP flow may hold unread: one largest frame and its prefix, twice over.
const TCP_INBUF_MAX: usize = 2 * (MAX_FRAME + 2);
/// The poll slot of the conversation beside the flows, in place of a flow's index.
const BESIDE: usize = usize::MAX;

/// How the driver opens a flow's socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkOptions {
    /// `--bind` / the config's `local`: the source address (port chosen by the kernel).
    pub bind: Option<IpAddr>,
}

/// What the kernel granted when the socket was opened, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    /// The source address and port the probe used.
    pub local: Option<SocketAddr>,
    /// UDP receive buffer: asked for [`UDP_RCVBUF`], granted this (Linux reports double
    /// the usable size, capped by `net.core.rmem_max`).
    pub recv_buffer: Option<usize>,
}

/// The UDP receive buffer asked for: room for a burst of junk ahead of the real answer.
/// An unprivileged process gets at most `net.core.rmem_max`.
pub const UDP_RCVBUF: usize = 1 << 20;

/// One session and the link it runs over.
pub struct Flow {
    pub addr: SocketAddr,
    pub proto: Proto,
    pub session: Session,
    pub options: LinkOptions,
    pub info: LinkInfo,
    /// True once the flow ended, whatever the reason.
    pub ended: bool,
    /// How the link failed, or the deadline that passed; `None` when the session finished
    /// by itself (or the flow still runs).
    pub ending: Option<Ending>,
    /// The session's events, oldest first, drained after every call into it.
    pub events: Vec<Event>,
    /// When the socket was opened.
    pub started: Option<Instant>,
    pub ended_at: Option<Instant>,
    link: Link,
}

enum Link {
    Unopened,
    Udp(Socket),
    Tcp {
        sock: Socket,
        connected: bool,
        out: Vec<u8>,
        inbuf: Vec<u8>,
    },
    Closed,
}

impl Flow {
    pub fn new(addr: SocketAddr, proto: Proto, session: Session, options: LinkOptions) -> Flow {
        Flow {
            addr,
            proto,
            session,
            options,
            info: LinkInfo {
                local: None,
                recv_buffer: None,
            },
            ended: false,
            ending: None,
            events: Vec::new(),
            started: None,
            ended_at: None,
            link: Link::Unopened,
        }
    }

    fn end(&mut self, ending: Ending, now: Instant) {
        self.close(Some(ending), now);
    }

    /// Ends the flow: `failure` is `None` when its session finished by itself.
    fn close(&mut self, failure: Option<Ending>, now: Instant) {
        drain(&mut self.session, &mut self.events);
        if !self.ended {
            self.ended = true;
            self.ending = failure;
            self.ended_at = Some(now);
        }
        // Dropping the socket closes it (a TCP FIN, or RST with unread data).
        self.link = Link::Closed;
    }

    fn open(&mut self, now: Instant) {
        self.started = Some(now);
        match open_link(self.addr, self.proto, &self.options) {
            Ok((link, info)) => {
                self.link = link;
                self.info = info;
            }
            Err(e) => self.end(classify(&e).unwrap_or(Ending::Failed(e.to_string())), now),
        }
    }

    /// Hands what the session wants sent to the socket.
    fn flush(&mut self, now: Instant) {
        loop {
            let ready = match &self.link {
                Link::Udp(_) => true,
                Link::Tcp { connected, .. } => *connected,
                _ => false,
            };
            if !ready {
                return;
            }
            let packet = self.session.poll_transmit(now);
            drain(&mut self.session, &mut self.events);
            let Some(packet) = packet else {
                break;
            };
            let result = match &mut self.link {
                Link::Udp(sock) => sock.send(&packet).map(|_| ()),
                Link::Tcp { out, .. } => match u16::try_from(packet.len()) {
                    Ok(len) => {
                        out.extend_from_slice(&len.to_be_bytes());
                        out.extend_from_slice(&packet);
                        Ok(())
                    }
                    Err(_) => Err(io::Error::other("packet too long for TCP framing")),
                },
                _ => Ok(()),
            };
            if let Err(e) = result {
                if let Some(ending) = classify(&e) {
                    return self.end(ending, now);
                }
            }
        }
        if let Link::Tcp { sock, out, .. } = &mut self.link {
            while !out.is_empty() {
                match sock.write(out) {
                    Ok(n) => {
                        out.drain(..n);
                    }
                    Err(e) => match classify(&e) {
                        None => break,
                        Some(ending) => return self.end(ending, now),
                    },
                }
            }
        }
    }

    /// Bytes queued on a connected stream. A session that is done while its TCP connect
    /// is still pending (it gave up waiting for it) has nothing left to send.
    fn has_output(&self) -> bool {
        matches!(&self.link, Link::Tcp { connected: true, out, .. } if !out.is_empty())
    }

    fn wants_write(&self) -> bool {
        matches!(
            &self.link,
            Link::Tcp {
                connected: false,
                ..
            }
        ) || matches!(&self.link, Link::Tcp { out, .. } if !out.is_empty())
    }

    fn fd(&self) -> Option<i32> {
        match &self.link {
            Link::Udp(s) | Link::Tcp { sock: s, .. } => Some(s.as_raw_fd()),
            _ => None,
        }
    }

    /// The socket is readable (or writable, or in error): take what it has.
    fn on_ready(&mut self, now: Instant, buf: &mut [u8]) {
        let mut budget = MAX_READS_PER_WAKE;
        match &mut self.link {
            Link::Udp(sock) => loop {
                // A flood must not keep the loop from its deadline.
                if budget == 0 {
                    return;
                }
                budget -= 1;
                match sock.read(buf) {
                    Ok(n) => {
                        self.session.handle_packet(now, &buf[..n]);
                        drain(&mut self.session, &mut self.events);
                    }
                    Err(e) => match classify(&e) {
                        None => return,
                        Some(ending) => return self.end(ending, now),
                    },
                }
                if self.session.is_done() {
                    return;
                }
            },
            Link::Tcp {
                sock,
                connected,
                inbuf,
                ..
            } => {
                if !*connected {
                    match sock.take_error() {
                        Ok(None) => match sock.peer_addr() {
                            Ok(_) => *connected = true,
                            Err(_) => return, // still connecting
                        },
                        Ok(Some(e)) | Err(e) => {
                            let ending = classify(&e).unwrap_or(Ending::Failed(e.to_string()));
                            return self.end(ending, now);
                        }
                    }
                    return;
                }
                let mut closed = false;
                loop {
                    let room = TCP_INBUF_MAX - inbuf.len();
                    if room == 0 {
                        break;
                    }
                    let take = room.min(buf.len());
                    match sock.read(&mut buf[..take]) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(n) => inbuf.extend_from_slice(&buf[..n]),
                        Err(e) => match classify(&e) {
                            None => break,
                            Some(ending) => {
                                // Frames that arrived before the reset still count.
                                if let Some(end) =
                                    take_frames(inbuf, &mut self.session, &mut self.events, now)
                                {
                                    return self.end(end, now);
                                }
                                return self.end(ending, now);
                            }
                        },
                    }
                }
                // Linux delays acks by up to 40 ms; a server that writes in small pieces
                // (Nagle) then waits for each one. Ack at once, as the exchange is short.
                #[cfg(target_os = "linux")]
                let _ = sock.set_tcp_quickack(true);
                if let Some(ending) = take_frames(inbuf, &mut self.session, &mut self.events, now) {
                    return self.end(ending, now);
                }
                if closed && !self.session.is_done() {
                    self.end(Ending::Closed, now);
                }
            }
            _ => {}
        }
    }
}

/// Hands every complete frame in `inbuf` to the session; `Some` when a frame is too long
/// for OpenVPN (the stream cannot be trusted after it).
/// Moves the session's new events to the flow's list: after every call into the session,
/// so its own queue never grows past what one call produces.
fn drain(session: &mut Session, events: &mut Vec<Event>) {
    while let Some(event) = session.poll_event() {
        events.push(event);
    }
}

fn take_frames(
    inbuf: &mut Vec<u8>,
    session: &mut Session,
    events: &mut Vec<Event>,
    now: Instant,
) -> Option<Ending> {
    let mut at = 0;
    while let Some(prefix) = inbuf.get(at..at + 2) {
        let len = u16::from_be_bytes([prefix[0], prefix[1]]) as usize;
        if len > MAX_FRAME {
            return Some(Ending::FrameTooLong(len));
        }
        let Some(frame) = inbuf.get(at + 2..at + 2 + len) else {
            break;
        };
        session.handle_packet(now, frame);
        drain(session, events);
        at += 2 + len;
        if session.is_done() {
            break;
        }
    }
    inbuf.drain(..at);
    None
}

fn unspecified(addr: &SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// Checks that this host can send from `bind` to `addr`: the same family, and an address
/// the host has (binding a throwaway UDP socket says so without sending anything).
pub fn check_bind(bind: IpAddr, addr: SocketAddr) -> Result<(), BindError> {
    if bind.is_ipv4() != addr.is_ipv4() {
        return Err(BindError::Family {
            bind,
            server: addr.ip(),
        });
    }
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| BindError::Other(bind, e.to_string()))?;
    if bind.is_ipv6() {
        let _ = sock.set_only_v6(true);
    }
    sock.bind(&SockAddr::from(SocketAddr::new(bind, 0)))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EADDRNOTAVAIL) => BindError::NotHere(bind),
            _ => BindError::Other(bind, e.to_string()),
        })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("--bind {bind} and the server's address {server} are of different families (IPv4 and IPv6): bind an address of the server's family, or pick the server's address with -4/-6")]
    Family { bind: IpAddr, server: IpAddr },
    #[error("--bind {0}: this host has no such address (ip address show lists the ones it has)")]
    NotHere(IpAddr),
    #[error("--bind {0}: {1}")]
    Other(IpAddr, String),
}

fn open_link(
    addr: SocketAddr,
    proto: Proto,
    options: &LinkOptions,
) -> io::Result<(Link, LinkInfo)> {
    let domain = Domain::for_address(addr);
    let (ty, protocol) = match proto {
        Proto::Udp => (Type::DGRAM, Protocol::UDP),
        Proto::Tcp => (Type::STREAM, Protocol::TCP),
    };
    let sock = Socket::new(domain, ty, Some(protocol))?;
    if addr.is_ipv6() {
        // A v6 probe stays v6: never a v4-mapped address in disguise.
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    let source = SocketAddr::new(options.bind.unwrap_or_else(|| unspecified(&addr).ip()), 0);
    let local = |sock: &Socket| sock.local_addr().ok().and_then(|a| a.as_socket());
    match proto {
        Proto::Udp => {
            // Ask for room for a burst ahead of the answer; the kernel caps it.
            let _ = sock.set_recv_buffer_size(UDP_RCVBUF);
            sock.bind(&SockAddr::from(source))?;
            sock.connect(&SockAddr::from(addr))?;
            let info = LinkInfo {
                local: local(&sock),
                recv_buffer: sock.recv_buffer_size().ok(),
            };
            Ok((Link::Udp(sock), info))
        }
        Proto::Tcp => {
            let _ = sock.set_tcp_nodelay(true);
            if options.bind.is_some() {
                sock.bind(&SockAddr::from(source))?;
            }
            match sock.connect(&SockAddr::from(addr)) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let info = LinkInfo {
                local: local(&sock),
                recv_buffer: None,
            };
            Ok((
                Link::Tcp {
                    sock,
                    connected: false,
                    out: Vec::new(),
                    inbuf: Vec::new(),
                },
                info,
            ))
        }
    }
}

fn classify(e: &io::Error) -> Option<Ending> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => None,
        io::ErrorKind::ConnectionRefused => Some(Ending::Refused),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => Some(Ending::Reset),
        io::ErrorKind::UnexpectedEof => Some(Ending::Closed),
        _ => Some(Ending::Failed(e.to_string())),
    }
}

/// Runs every flow until its session is done, its link fails, or `deadline` passes.
/// Flows not yet opened are opened first; afterwards each flow has its `ending`.
pub fn drive(flows: &mut [Flow], deadline: Instant) {
    drive_beside(flows, None, deadline)
}

/// [`drive`], with a stream conversation riding along in the same `poll(2)` loop (a
/// server's management interface asked while its sockets are probed). It is driven while
/// the flows run, or, without flows, until it ends; it ends by itself at its own
/// deadline. Whatever is left of it when this returns, [`stream::Exchange::finish`] drives.
pub fn drive_beside(
    flows: &mut [Flow],
    mut beside: Option<&mut stream::Exchange<'_>>,
    deadline: Instant,
) {
    let mut buf = vec![0u8; UDP_BUFFER];
    let now = Instant::now();
    for f in flows.iter_mut() {
        if matches!(f.link, Link::Unopened) && !f.ended {
            f.open(now);
        }
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(flows.len());
    let mut index: Vec<usize> = Vec::with_capacity(flows.len());
    loop {
        let now = Instant::now();
        for f in flows.iter_mut().filter(|f| !f.ended) {
            if let Some(t) = f.session.poll_timeout() {
                if t <= now {
                    f.session.handle_timeout(now);
                    drain(&mut f.session, &mut f.events);
                }
            }
            f.flush(now);
            if !f.ended && f.session.is_done() && !f.has_output() {
                f.close(None, now);
            }
        }
        if let Some(x) = beside.as_deref_mut() {
            x.step(now);
        }
        let beside_live = beside.as_deref().is_some_and(|x| !x.ended());
        if flows.iter().all(|f| f.ended) && (!flows.is_empty() || !beside_live) {
            return;
        }
        if now >= deadline {
            for f in flows.iter_mut() {
                f.end(Ending::TimedOut, now);
            }
            return;
        }
        let wake = flows
            .iter()
            .filter(|f| !f.ended)
            .filter_map(|f| f.session.poll_timeout())
            .chain(
                beside
                    .as_deref()
                    .filter(|_| beside_live)
                    .map(|x| x.deadline()),
            )
            .fold(deadline, Instant::min);
        fds.clear();
        index.clear();
        for (i, f) in flows.iter().enumerate() {
            if f.ended {
                continue;
            }
            if let Some(fd) = f.fd() {
                let mut events = libc::POLLIN;
                if f.wants_write() {
                    events |= libc::POLLOUT;
                }
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                index.push(i);
            }
        }
        if let Some(fd) = beside
            .as_deref()
            .filter(|_| beside_live)
            .and_then(|x| x.fd())
        {
            fds.push(libc::pollfd {
                fd,
                events: beside.as_deref().map_or(libc::POLLIN, |x| x.interest()),
                revents: 0,
            });
            index.push(BESIDE);
        }
        let wait = wake.saturating_duration_since(now);
        // Round up: waking a little late is harmless, waking early spins.
        let ms = wait.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid, initialised array of `fds.len()` pollfd structs that
        // lives across the call; poll only writes their `revents`.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                let now = Instant::now();
                for f in flows.iter_mut() {
                    f.end(Ending::Failed(format!("poll: {e}")), now);
                }
                if let Some(x) = beside.as_deref_mut() {
                    x.fail(e);
                }
                return;
            }
            continue;
        }
        let now = Instant::now();
        for (slot, &i) in fds.iter().zip(&index) {
            if slot.revents == 0 {
                continue;
            }
            match beside.as_deref_mut() {
                Some(x) if i == BESIDE => x.on_ready(now, &mut buf[..stream::READ_CHUNK]),
                _ => flows[i].on_ready(now, &mut buf),
            }
        }
    }
}
