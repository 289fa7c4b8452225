//! A line conversation over a stream socket (TCP or unix), as with a server's management
//! interface: connect, then write what the conversation wants sent and feed it what
//! arrives, all under one deadline. No sleeping: each read blocks for at most the time
//! left.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Bytes taken from the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// Where the stream goes.
#[derive(Debug, Clone, Copy)]
pub enum StreamTarget<'a> {
    Tcp(SocketAddr),
    Unix(&'a Path),
}

/// The protocol side of a conversation, which owns no socket (e.g.
/// `server::management::Talk`). [`converse`] calls `poll_transmit` until it gives `None`
/// before every read, and stops once `is_done`.
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
    /// The deadline passed.
    TimedOut,
    /// The peer closed the connection.
    Closed,
    /// Reading or writing failed.
    Io(io::Error),
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn set_timeouts(&self, t: Duration) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => {
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))
            }
            Conn::Unix(s) => {
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))
            }
        }
    }

    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Conn::Tcp(s) => s,
            Conn::Unix(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A connected stream, ready for [`converse`].
pub struct Stream(Conn);

/// The time left before `deadline`, `None` once it passed.
fn left(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}

/// Connects to `target` before `deadline`. The error is the system's, for the caller to
/// judge (refused, missing socket file, permission denied, timed out).
pub fn connect(target: StreamTarget<'_>, deadline: Instant) -> io::Result<Stream> {
    let conn = match target {
        StreamTarget::Tcp(addr) => {
            let t = left(deadline).ok_or_else(timed_out)?;
            Conn::Tcp(TcpStream::connect_timeout(&addr, t)?)
        }
        // A unix socket connects at once or not at all.
        StreamTarget::Unix(path) => Conn::Unix(UnixStream::connect(path)?),
    };
    Ok(Stream(conn))
}

/// Runs `conversation` over `stream` until it is done or the deadline passes. Bytes it
/// wants sent once it is done (a goodbye) are sent if the socket takes them; their
/// failure is no failure of the conversation.
pub fn converse(
    stream: &mut Stream,
    deadline: Instant,
    conversation: &mut dyn Conversation,
) -> Result<(), StreamError> {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        while let Some(bytes) = conversation.poll_transmit() {
            let sent = match left(deadline) {
                None => Err(timed_out()),
                Some(t) => stream
                    .0
                    .set_timeouts(t)
                    .and_then(|()| stream.0.stream().write_all(&bytes)),
            };
            match sent {
                Ok(()) => {}
                Err(_) if conversation.is_done() => return Ok(()),
                Err(e) => return Err(StreamError::Io(e)),
            }
        }
        if conversation.is_done() {
            return Ok(());
        }
        let Some(t) = left(deadline) else {
            return Err(StreamError::TimedOut);
        };
        stream.0.set_timeouts(t).map_err(StreamError::Io)?;
        match stream.0.stream().read(&mut buf) {
            Ok(0) => return Err(StreamError::Closed),
            Ok(n) => conversation.feed(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(StreamError::TimedOut)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StreamError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// Says `hello`, waits for one line back, then is done.
    struct Echo {
        greeted: bool,
        got: Vec<u8>,
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

    /// A unix socket, not TCP on loopback: the package builds run these tests in a
    /// network namespace whose loopback is down.
    #[test]
    fn a_conversation_and_a_silent_peer() {
        let dir =
            std::env::temp_dir().join(format!("check_openvpn-stream-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("talk.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut line = [0u8; 6];
            s.read_exact(&mut line).unwrap();
            s.write_all(b"hel").unwrap();
            s.write_all(b"lo back\n").unwrap();
            // The second connection: accepted, never answered, held open until joined.
            listener.accept().unwrap().0
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut stream = connect(StreamTarget::Unix(&path), deadline).unwrap();
        let mut echo = Echo {
            greeted: false,
            got: Vec::new(),
        };
        converse(&mut stream, deadline, &mut echo).unwrap();
        assert_eq!(echo.got, b"hello back\n");

        // A silent peer: the conversation ends at its deadline, as timed out.
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut stream = connect(StreamTarget::Unix(&path), deadline).unwrap();
        let mut echo = Echo {
            greeted: false,
            got: Vec::new(),
        };
        let r = converse(&mut stream, deadline, &mut echo);
        assert!(matches!(r, Err(StreamError::TimedOut)), "{r:?}");
        drop(peer.join().unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
