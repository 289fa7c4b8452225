//! A line conversation over a stream socket (TCP or unix), as with a server's management
//! interface: a non-blocking connect, then what the conversation wants sent written and
//! what arrives fed to it, all under a deadline of its own. It rides along in the
//! driver's `poll(2)` loop beside the sessions ([`super::drive_beside`]), so that it
//! overlaps a probe instead of adding to its time; [`Exchange::finish`] drives what is
//! left of it alone. No thread and no sleeping.

use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;
use zeroize::Zeroizing;

/// Bytes taken from the socket per read.
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// Where the stream goes.
#[derive(Debug, Clone, Copy)]
pub enum StreamTarget<'a> {
    Tcp(SocketAddr),
    Unix(&'a Path),
}

/// The protocol side of a conversation, which owns no socket (e.g.
/// `server::management::Talk`). The [`Exchange`] calls `poll_transmit` until it gives
/// `None` before every wait, and stops once `is_done`.
pub trait Conversation {
    /// Bytes that arrived, in any pieces.
    fn feed(&mut self, bytes: &[u8]);
    /// The next bytes to write.
    fn poll_transmit(&mut self) -> Option<Zeroizing<Vec<u8>>>;
    /// The conversation has what it wants (or gave up): no more reads.
    fn is_done(&self) -> bool;
}

/// How a conversation stopped before it was done.
#[derive(Debug)]
pub enum StreamError {
    /// The connection could not be made (refused, missing socket file, permission denied,
    /// or the deadline passed while connecting): the system's error, for the caller to
    /// judge.
    Connect(io::Error),
    /// The deadline passed.
    TimedOut,
    /// The peer closed the connection.
    Closed,
    /// Reading or writing failed.
    Io(io::Error),
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}

fn would_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// A conversation over a non-blocking stream, with its deadline and, once it ended, how.
pub struct Exchange<'a> {
    sock: Option<Socket>,
    connected: bool,
    /// A unix connect that was refused for now: only the deadline is waited for.
    stalled: bool,
    out: Zeroizing<Vec<u8>>,
    conversation: &'a mut (dyn Conversation + Send),
    deadline: Instant,
    result: Option<Result<(), StreamError>>,
}

impl<'a> Exchange<'a> {
    /// Starts connecting to `target`; the connection completes while the exchange is
    /// driven. The error is one the system gave at once (a unix socket connects at once
    /// or not at all), or the deadline already passed.
    pub fn open(
        target: StreamTarget<'_>,
        deadline: Instant,
        conversation: &'a mut (dyn Conversation + Send),
    ) -> io::Result<Exchange<'a>> {
        if Instant::now() >= deadline {
            return Err(timed_out());
        }
        let (domain, protocol, addr) = match target {
            StreamTarget::Tcp(addr) => (
                Domain::for_address(addr),
                Some(socket2::Protocol::TCP),
                SockAddr::from(addr),
            ),
            StreamTarget::Unix(path) => (Domain::UNIX, None, SockAddr::unix(path)?),
        };
        let sock = Socket::new(domain, Type::STREAM, protocol)?;
        sock.set_nonblocking(true)?;
        let unix = matches!(target, StreamTarget::Unix(_));
        let (connected, stalled) = match sock.connect(&addr) {
            Ok(()) => (true, false),
            // A TCP connect completes in the loop.
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) && !unix => (false, false),
            // A unix socket whose backlog is full (a server that does not accept): no
            // connect is pending and the socket has nothing to wait for. It times out at
            // the deadline, as a TCP connect to such a server does.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && unix => (false, true),
            Err(e) => return Err(e),
        };
        Ok(Exchange {
            sock: Some(sock),
            connected,
            stalled,
            out: Zeroizing::new(Vec::new()),
            conversation,
            deadline,
            result: None,
        })
    }

    /// The conversation's own deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the exchange ended, whatever the reason.
    pub fn ended(&self) -> bool {
        self.result.is_some()
    }

    /// Drives what is left of the exchange alone, until it ends or its deadline passes,
    /// and says how it ended. Bytes the conversation wants sent once it is done (a
    /// goodbye) are sent if the socket takes them; their failure is no failure of the
    /// conversation.
    pub fn finish(mut self) -> Result<(), StreamError> {
        let deadline = self.deadline;
        super::drive_beside(&mut [], Some(&mut self), deadline);
        // The loop ends only with the exchange (its deadline ends it at the latest).
        self.result.take().unwrap_or(Err(StreamError::TimedOut))
    }

    fn end(&mut self, result: Result<(), StreamError>) {
        if self.result.is_none() {
            self.result = Some(result);
        }
        // Dropping the socket closes it.
        self.sock = None;
    }

    pub(super) fn fd(&self) -> Option<i32> {
        match self.stalled {
            true => None,
            false => self.sock.as_ref().map(|s| s.as_raw_fd()),
        }
    }

    /// The `poll(2)` events the exchange waits for.
    pub(super) fn interest(&self) -> i16 {
        if !self.connected || !self.out.is_empty() {
            libc::POLLIN | libc::POLLOUT
        } else {
            libc::POLLIN
        }
    }

    /// Writes what the conversation wants sent, ends the exchange once the conversation
    /// is done, or once the deadline passed.
    pub(super) fn step(&mut self, now: Instant) {
        if self.ended() {
            return;
        }
        if self.connected {
            while let Some(bytes) = self.conversation.poll_transmit() {
                self.out.extend_from_slice(&bytes);
            }
            if let Some(sock) = self.sock.as_mut() {
                while !self.out.is_empty() {
                    match sock.write(&self.out) {
                        Ok(n) => {
                            self.out.drain(..n);
                        }
                        Err(e) if would_wait(&e) => break,
                        Err(_) if self.conversation.is_done() => return self.end(Ok(())),
                        Err(e) => return self.end(Err(StreamError::Io(e))),
                    }
                }
            }
            if self.conversation.is_done() {
                return self.end(Ok(()));
            }
        }
        if now >= self.deadline {
            let why = match self.connected {
                true => StreamError::TimedOut,
                false => StreamError::Connect(timed_out()),
            };
            self.end(Err(why));
        }
    }

    /// The socket is readable, writable or in error: finish connecting, or take what it
    /// has.
    pub(super) fn on_ready(&mut self, now: Instant, buf: &mut [u8]) {
        let Some(sock) = self.sock.as_mut() else {
            return;
        };
        if !self.connected {
            match sock.take_error() {
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => self.connected = true,
                    Err(_) => return, // still connecting
                },
                Ok(Some(e)) | Err(e) => return self.end(Err(StreamError::Connect(e))),
            }
            return self.step(now);
        }
        loop {
            match sock.read(buf) {
                Ok(0) => return self.end(Err(StreamError::Closed)),
                Ok(n) => {
                    self.conversation.feed(&buf[..n]);
                    if self.conversation.is_done() {
                        break;
                    }
                }
                Err(e) if would_wait(&e) => break,
                Err(e) => return self.end(Err(StreamError::Io(e))),
            }
        }
        self.step(now);
    }

    /// `poll(2)` itself failed.
    pub(super) fn fail(&mut self, e: io::Error) {
        self.end(Err(StreamError::Io(e)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    /// Says `hello`, waits for one line back, then is done.
    struct Echo {
        greeted: bool,
        got: Vec<u8>,
    }

    fn echo() -> Echo {
        Echo {
            greeted: false,
            got: Vec::new(),
        }
    }

    impl Conversation for Echo {
        fn feed(&mut self, bytes: &[u8]) {
            self.got.extend_from_slice(bytes);
        }
        fn poll_transmit(&mut self) -> Option<Zeroizing<Vec<u8>>> {
            (!std::mem::replace(&mut self.greeted, true))
                .then(|| Zeroizing::new(b"hello\n".to_vec()))
        }
        fn is_done(&self) -> bool {
            self.got.ends_with(b"\n")
        }
    }

    #[test]
    fn a_conversation_and_a_silent_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = [0u8; 6];
            s.read_exact(&mut line).unwrap();
            s.write_all(b"hel").unwrap();
            s.flush().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            s.write_all(b"lo back\n").unwrap();
            // The second connection: accepted, never answered, held open until joined.
            listener.accept().unwrap().0
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut e = echo();
        let x = Exchange::open(StreamTarget::Tcp(addr), deadline, &mut e).unwrap();
        x.finish().unwrap();
        assert_eq!(e.got, b"hello back\n");

        let started = Instant::now();
        let deadline = started + Duration::from_millis(200);
        let mut e = echo();
        let x = Exchange::open(StreamTarget::Tcp(addr), deadline, &mut e).unwrap();
        let r = x.finish();
        assert!(matches!(r, Err(StreamError::TimedOut)), "{r:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        peer.join().unwrap();
    }

    #[test]
    fn a_refused_connection_and_a_missing_unix_socket() {
        // A port just freed: nothing listens there.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut e = echo();
        let r = Exchange::open(StreamTarget::Tcp(addr), deadline, &mut e).map(Exchange::finish);
        let refused = match r {
            Err(e) | Ok(Err(StreamError::Connect(e))) => e.kind(),
            other => panic!("{other:?}"),
        };
        assert_eq!(refused, io::ErrorKind::ConnectionRefused);

        let path = Path::new("/nonexistent-dir/management.sock");
        let mut e = echo();
        let r = Exchange::open(StreamTarget::Unix(path), deadline, &mut e);
        assert_eq!(r.err().map(|e| e.kind()), Some(io::ErrorKind::NotFound));
    }

    #[test]
    fn a_unix_socket_conversation() {
        let dir = std::env::temp_dir().join(format!("exchange-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = [0u8; 6];
            s.read_exact(&mut line).unwrap();
            s.write_all(b"hi\n").unwrap();
        });
        let mut e = echo();
        let deadline = Instant::now() + Duration::from_secs(5);
        let x = Exchange::open(StreamTarget::Unix(&path), deadline, &mut e).unwrap();
        x.finish().unwrap();
        assert_eq!(e.got, b"hi\n");
        peer.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_drivers_deadline_leaves_the_exchange_to_finish() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let started = Instant::now();
        let mut e = echo();
        let mut x = Exchange::open(
            StreamTarget::Tcp(addr),
            started + Duration::from_millis(300),
            &mut e,
        )
        .unwrap();
        // No flows and an earlier deadline of the driver's: it returns then, the exchange
        // still open; finishing it waits for the exchange's own deadline only.
        crate::net::drive_beside(&mut [], Some(&mut x), started + Duration::from_millis(100));
        assert!(!x.ended());
        let at = started.elapsed();
        assert!(at >= Duration::from_millis(100), "{at:?}");
        let (s, _) = listener.accept().unwrap();
        let r = x.finish();
        assert!(matches!(r, Err(StreamError::TimedOut)), "{r:?}");
        let at = started.elapsed();
        assert!(at >= Duration::from_millis(300), "{at:?}");
        drop(s);
    }

    #[test]
    fn the_exchange_rides_along_a_probe_of_a_silent_server() {
        use crate::check::{run_beside, CheckSpec};
        // A UDP server that never answers, and a management peer that answers late.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = [0u8; 6];
            s.read_exact(&mut line).unwrap();
            std::thread::sleep(Duration::from_millis(150));
            s.write_all(b"late\n").unwrap();
            s
        });
        let timeout = Duration::from_secs(3);
        let spec = CheckSpec::reset(
            "127.0.0.1",
            port,
            super::super::Proto::Udp,
            timeout,
            1,
            crate::wire::Wrap::None,
        );
        let started = Instant::now();
        let mut e = echo();
        let mut x = Exchange::open(StreamTarget::Tcp(addr), started + timeout, &mut e).unwrap();
        let outcome = run_beside(&spec, Some(&mut x));
        let took = started.elapsed();
        assert!(outcome.is_ok(), "{:?}", outcome.err());
        // The talk ended inside the probe's loop, and the probe took its one timeout.
        assert!(x.ended());
        assert!(x.finish().is_ok());
        assert_eq!(e.got, b"late\n");
        assert!(took >= timeout, "{took:?}");
        drop(peer.join().unwrap());
    }

    #[test]
    fn a_unix_socket_that_accepts_nothing_times_out_at_the_deadline() {
        let dir = std::env::temp_dir().join(format!("exchange-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        listener.bind(&SockAddr::unix(&path).unwrap()).unwrap();
        listener.listen(0).unwrap();
        // Fill the backlog: connections nobody accepts.
        let mut held = Vec::new();
        let probe = |held: &mut Vec<Socket>| {
            let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            let r = s.connect(&SockAddr::unix(&path).unwrap());
            held.push(s);
            r.is_ok()
        };
        while probe(&mut held) {
            assert!(held.len() < 64);
        }
        let started = Instant::now();
        let mut e = echo();
        let deadline = started + Duration::from_millis(200);
        let x = Exchange::open(StreamTarget::Unix(&path), deadline, &mut e).unwrap();
        let r = x.finish();
        assert!(
            matches!(&r, Err(StreamError::Connect(e)) if e.kind() == io::ErrorKind::TimedOut),
            "{r:?}"
        );
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        drop(held);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
