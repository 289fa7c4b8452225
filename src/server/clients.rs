//! The server's clients: from its management interface (`load-stats` for the totals,
//! `status 3` for the list and the server's version line), else from its status file
//! (versions 1, 2 and 3) and that file's age.

use super::config::{Management, StatusFile};
use super::management::{Answer, Event, Failure, Talk};
use super::{FileKind, Unreadable};
use crate::net::stream::{Conversation, Exchange, StreamError, StreamTarget};
use crate::net::watch::FileWatch;
use crate::net::{self, ResolveError};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Where the client count came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSource {
    Management { address: String, password: bool },
    StatusFile { path: String, version: u8 },
}

/// The TLS library the running server was built with, from its version line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsLibrary {
    OpenSsl,
    MbedTls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clients {
    pub source: ClientSource,
    pub count: u64,
    /// Bytes the server received and sent: its totals (management), or the sum over the
    /// connected clients (status file).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Common names of the connected clients.
    pub names: Vec<String>,
    /// The server's version line (`OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] ...`).
    pub title: Option<String>,
    /// Status file: its age and the interval the server rewrites it at.
    pub age: Option<(u64, u64)>,
    /// Status file: the probe went to the server just before the file was read. An idle
    /// server rewrites its status file only when a packet wakes it (measured with
    /// 2.6.14), so only a file still old after a probe shows a hung or stopped server.
    pub woken: bool,
    /// Status file: read again after waiting this many seconds for the server's next
    /// write, because a threshold alerted on the first reading.
    pub reread: Option<u64>,
}

impl Clients {
    pub fn library(&self) -> Option<TlsLibrary> {
        let t = self.title.as_deref()?;
        if t.contains("(OpenSSL)") {
            Some(TlsLibrary::OpenSsl)
        } else if t.contains("mbed TLS") {
            Some(TlsLibrary::MbedTls)
        } else {
            None
        }
    }

    /// A status file not rewritten for more than three intervals.
    pub fn stale(&self) -> bool {
        self.age.is_some_and(|(age, every)| age > 3 * every.max(1))
    }
}

/// What went wrong in a talk with the management interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagementFault {
    /// No (whole) answer before the deadline.
    Silent,
    /// It closed the connection.
    Closed,
    /// A line longer than any answer.
    LineTooLong,
    /// An answer longer than any status.
    AnswerTooLong,
    /// Its first line was not an OpenVPN management greeting.
    NotManagement,
    /// It answered a command with `ERROR: ...`.
    Refused(String),
    /// `load-stats` answered without the three numbers.
    BadLoadStats(String),
    /// The socket failed.
    Io(String),
    /// The query itself failed (a bug).
    Internal,
}

/// Why the clients could not be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientsError {
    /// Connecting to the management interface failed.
    Connect {
        address: String,
        reason: String,
        /// Nothing listens there: the port refused the connection, or the socket file
        /// is gone or refuses. A stopped server leaves its management like this.
        refused: bool,
    },
    /// The interface refused the password from the config's file.
    BadPassword {
        address: String,
    },
    /// It asked for a password and the config names no password file.
    PasswordNeeded {
        address: String,
    },
    /// It said something this check does not understand, or went silent.
    Protocol {
        address: String,
        fault: ManagementFault,
    },
    /// The status file is not an OpenVPN status file.
    StatusDamaged {
        path: String,
    },
    /// The status file is empty: OpenVPN creates it at start and first writes it when a
    /// packet wakes the server (measured with 2.6.14). Its age and the interval.
    StatusEmpty {
        path: String,
        age: Option<u64>,
        interval: u64,
    },
    Unreadable(Unreadable),
}

fn io_text(e: &std::io::Error) -> String {
    super::io_reason(e)
}

/// Reads the first line of a password file.
fn read_password(path: &Path) -> Result<zeroize::Zeroizing<String>, ClientsError> {
    let bytes = zeroize::Zeroizing::new(
        super::files::read_file(path, FileKind::ManagementPassword)
            .map_err(ClientsError::Unreadable)?,
    );
    let text = String::from_utf8_lossy(&bytes);
    Ok(zeroize::Zeroizing::new(
        text.lines()
            .next()
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_string(),
    ))
}

/// The management talk with what it needs from outside: the password file, read only
/// when the interface asks for a password.
struct Asking<'a> {
    talk: Talk,
    password: Option<&'a Path>,
    answer: Option<Result<Answer, Failure>>,
    /// The password file could not be read.
    unreadable: Option<ClientsError>,
}

impl Asking<'_> {
    fn events(&mut self) {
        while let Some(event) = self.talk.poll_event() {
            match event {
                Event::PasswordAsked => match self.password.map(read_password) {
                    None => self.talk.password(None),
                    Some(Ok(pw)) => self.talk.password(Some(pw.as_bytes())),
                    Some(Err(e)) => self.unreadable = Some(e),
                },
                Event::Done(answer) => self.answer = Some(answer),
            }
        }
    }
}

impl Conversation for Asking<'_> {
    fn feed(&mut self, bytes: &[u8]) {
        self.talk.feed(bytes);
        self.events();
    }

    fn poll_transmit(&mut self) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        self.talk.poll_transmit()
    }

    fn is_done(&self) -> bool {
        self.answer.is_some() || self.unreadable.is_some()
    }
}

/// The management interface's address, for messages.
fn management_address(m: &Management) -> String {
    match m {
        Management::Tcp { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
        Management::Tcp { host, port, .. } => format!("{host}:{port}"),
        Management::Unix { path, .. } => path.display().to_string(),
    }
}

/// Why the management interface could not be reached, from the system's error.
fn connect_error(m: &Management, address: &str, e: &std::io::Error) -> ClientsError {
    let address = address.to_string();
    match m {
        Management::Tcp { .. } => ClientsError::Connect {
            address,
            reason: io_text(e),
            refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
        },
        Management::Unix { .. } if e.kind() == std::io::ErrorKind::PermissionDenied => {
            ClientsError::Unreadable(Unreadable {
                kind: FileKind::ManagementSocket,
                path: address,
                reason: io_text(e),
                denied: true,
                missing: false,
            })
        }
        Management::Unix { .. } => ClientsError::Connect {
            address,
            reason: io_text(e),
            refused: matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ),
        },
    }
}

/// Asking the management interface for its clients: [`ManagementAsk::start`] connects
/// and gives the exchange to drive (beside a probe, or alone with
/// [`Exchange::finish`]), [`ManagementAsk::conclude`] reads what came of it.
pub struct ManagementAsk<'a> {
    m: &'a Management,
    address: String,
    asking: Asking<'a>,
}

impl<'a> ManagementAsk<'a> {
    pub fn new(m: &'a Management) -> ManagementAsk<'a> {
        let password = match m {
            Management::Tcp { password, .. } | Management::Unix { password, .. } => password,
        };
        ManagementAsk {
            m,
            address: management_address(m),
            asking: Asking {
                talk: Talk::new(),
                password: password.as_deref(),
                answer: None,
                unreadable: None,
            },
        }
    }

    /// Starts connecting (a TCP host's name is resolved first), all before `deadline`.
    pub fn start(&mut self, deadline: Instant) -> Result<Exchange<'_>, ClientsError> {
        let target = match self.m {
            Management::Tcp { host, port, .. } => {
                let connect_err = |reason: String| ClientsError::Connect {
                    address: self.address.clone(),
                    reason,
                    refused: false,
                };
                let left = deadline.saturating_duration_since(Instant::now());
                match net::resolve(host, *port, None, left) {
                    Ok(addrs) => StreamTarget::Tcp(addrs[0]),
                    Err(ResolveError::Failed { reason, .. }) => return Err(connect_err(reason)),
                    Err(ResolveError::NoAddress { .. }) => {
                        return Err(connect_err("the name has no address".into()))
                    }
                    Err(e) => return Err(connect_err(e.to_string())),
                }
            }
            Management::Unix { path, .. } => StreamTarget::Unix(path),
        };
        Exchange::open(target, deadline, &mut self.asking)
            .map_err(|e| connect_error(self.m, &self.address, &e))
    }

    /// The clients, from how the exchange ended.
    pub fn conclude(self, talked: Result<(), StreamError>) -> Result<Clients, ClientsError> {
        let ManagementAsk { m, address, asking } = self;
        if let Some(e) = asking.unreadable {
            return Err(e);
        }
        let password = asking.password.is_some();
        let protocol = |fault| ClientsError::Protocol {
            address: address.clone(),
            fault,
        };
        let answer = match (asking.answer, talked) {
            (Some(Ok(answer)), _) => answer,
            (Some(Err(Failure::PasswordNeeded)), _) => {
                return Err(ClientsError::PasswordNeeded { address })
            }
            (Some(Err(Failure::BadPassword)), _) => {
                return Err(ClientsError::BadPassword { address })
            }
            (Some(Err(Failure::Fault(f))), _) => return Err(protocol(f)),
            (None, Err(StreamError::Connect(e))) => return Err(connect_error(m, &address, &e)),
            (None, Err(StreamError::TimedOut)) | (None, Ok(())) => {
                return Err(protocol(ManagementFault::Silent))
            }
            (None, Err(StreamError::Closed)) => return Err(protocol(ManagementFault::Closed)),
            (None, Err(StreamError::Io(e))) => {
                return Err(protocol(ManagementFault::Io(io_text(&e))))
            }
        };
        Ok(clients_from(answer, address, password))
    }
}

/// Asks the management interface, all before `deadline`.
pub fn from_management(m: &Management, deadline: Instant) -> Result<Clients, ClientsError> {
    let mut ask = ManagementAsk::new(m);
    let talked = ask.start(deadline)?.finish();
    ask.conclude(talked)
}

fn clients_from(answer: Answer, address: String, password: bool) -> Clients {
    let parsed = parse_status_lines(&answer.status, '\t');
    Clients {
        source: ClientSource::Management { address, password },
        count: answer.count,
        bytes_in: answer.bytes_in,
        bytes_out: answer.bytes_out,
        names: parsed.names,
        title: parsed.title,
        age: None,
        woken: false,
        reread: None,
    }
}

/// The common name OpenVPN lists for a session still in its handshake (the check's own
/// probe among them): not a connected client.
const UNDEF: &str = "UNDEF";

/// What a status file (or `status 3`) says about the clients.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// 1, 2 or 3.
    pub version: u8,
    pub title: Option<String>,
    /// Common names of the connected clients.
    pub names: Vec<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Parses the text of a status file of version 1, 2 or 3; `None` when it is none of them.
pub fn parse_status(text: &str) -> Option<Parsed> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    let first = lines.first().map(String::as_str).unwrap_or("");
    let (version, mut parsed) = if first.starts_with("TITLE\t") {
        (3, parse_status_lines(&lines, '\t'))
    } else if first.starts_with("TITLE,") {
        (2, parse_status_lines(&lines, ','))
    } else {
        (1, parse_status_v1(&lines)?)
    };
    parsed.version = version;
    Some(parsed)
}

/// Versions 2 and 3: `TITLE`, `HEADER,CLIENT_LIST,...` naming the columns, `CLIENT_LIST`
/// rows.
fn parse_status_lines(lines: &[String], sep: char) -> Parsed {
    let mut p = Parsed::default();
    let mut columns: Vec<String> = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split(sep).collect();
        match f.first().copied() {
            Some("TITLE") => p.title = f.get(1).map(|s| s.to_string()),
            Some("HEADER") if f.get(1) == Some(&"CLIENT_LIST") => {
                columns = f[1..].iter().map(|s| s.to_string()).collect()
            }
            Some("CLIENT_LIST") => {
                let col = |name: &str| {
                    columns
                        .iter()
                        .position(|c| c == name)
                        .and_then(|i| f.get(i))
                };
                if col("Common Name") == Some(&UNDEF) {
                    continue;
                }
                p.names.push(
                    col("Common Name")
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                );
                let n = |name: &str| col(name).and_then(|b| b.parse::<u64>().ok()).unwrap_or(0);
                p.bytes_in = p.bytes_in.saturating_add(n("Bytes Received"));
                p.bytes_out = p.bytes_out.saturating_add(n("Bytes Sent"));
            }
            _ => {}
        }
    }
    p
}

/// Version 1: `OpenVPN CLIENT LIST`, `Updated,...`, a header line, rows up to `ROUTING
/// TABLE`.
fn parse_status_v1(lines: &[String]) -> Option<Parsed> {
    let start = lines.iter().position(|l| l == "OpenVPN CLIENT LIST")?;
    let mut p = Parsed::default();
    let mut rows = lines[start + 1..].iter();
    let mut header: Vec<&str> = Vec::new();
    for l in rows.by_ref() {
        if l.starts_with("Common Name,") {
            header = l.split(',').collect();
            break;
        }
    }
    if header.is_empty() {
        return None;
    }
    let col = |name: &str| header.iter().position(|c| *c == name);
    let (cn, rx, tx) = (col("Common Name"), col("Bytes Received"), col("Bytes Sent"));
    for l in rows {
        if l == "ROUTING TABLE" || l == "END" {
            break;
        }
        let f: Vec<&str> = l.split(',').collect();
        if cn.and_then(|i| f.get(i)) == Some(&UNDEF) {
            continue;
        }
        p.names.push(
            cn.and_then(|i| f.get(i))
                .map(|s| s.to_string())
                .unwrap_or_default(),
        );
        let n = |at: Option<usize>| {
            at.and_then(|i| f.get(i))
                .and_then(|b| b.parse::<u64>().ok())
                .unwrap_or(0)
        };
        p.bytes_in = p.bytes_in.saturating_add(n(rx));
        p.bytes_out = p.bytes_out.saturating_add(n(tx));
    }
    Some(p)
}

/// Reads the status file and its age. `wait`: the probe just woke the server, so a stale
/// or empty file is read again each time it changes, for up to that long, until the
/// server has rewritten it.
pub fn from_status_file(s: &StatusFile, wait: Option<Duration>) -> Result<Clients, ClientsError> {
    let Some(wait) = wait else {
        return read_status_file(s, SystemTime::now());
    };
    let deadline = Instant::now() + wait;
    // Watching before the first read: a write between the two is not missed.
    let mut watch = FileWatch::new(&s.path);
    loop {
        let read = read_status_file(s, SystemTime::now());
        let settled = match &read {
            Ok(c) => !c.stale(),
            Err(ClientsError::StatusDamaged { .. } | ClientsError::StatusEmpty { .. }) => false,
            Err(_) => true,
        };
        if settled {
            return read;
        }
        if !watch.changed(deadline) {
            // Not rewritten in time: its age as of now.
            return read_status_file(s, SystemTime::now());
        }
    }
}

fn read_status_file(s: &StatusFile, now: SystemTime) -> Result<Clients, ClientsError> {
    let bytes =
        super::files::read_file(&s.path, FileKind::Status).map_err(ClientsError::Unreadable)?;
    let path = s.path.display().to_string();
    let age = std::fs::metadata(&s.path)
        .and_then(|m| m.modified())
        .ok()
        .map(|m| now.duration_since(m).map(|d| d.as_secs()).unwrap_or(0));
    let text = String::from_utf8_lossy(&bytes);
    if text.trim().is_empty() {
        return Err(ClientsError::StatusEmpty {
            path,
            age,
            interval: s.interval_secs,
        });
    }
    let Some(parsed) = parse_status(&text) else {
        return Err(ClientsError::StatusDamaged { path });
    };
    let version = parsed.version;
    Ok(Clients {
        source: ClientSource::StatusFile { path, version },
        count: parsed.names.len() as u64,
        bytes_in: parsed.bytes_in,
        bytes_out: parsed.bytes_out,
        names: parsed.names,
        title: parsed.title,
        age: age.map(|a| (a, s.interval_secs)),
        woken: false,
        reread: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &str) -> Vec<String> {
        t.lines().map(str::to_string).collect()
    }

    #[test]
    fn version_2_rows_by_header() {
        let p = parse_status_lines(
            &lines(
                "TITLE,OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)]\nTIME,2026-11-30 04:00:00,1790000000\n\
                 HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,Bytes Sent,Connected Since\n\
                 CLIENT_LIST,alice,127.0.0.1:5000,10.8.0.2,,100,200,2026-11-30\n\
                 CLIENT_LIST,bob,127.0.0.1:5001,10.8.0.3,,1,2,2026-11-30\nCLIENT_LIST,UNDEF,127.0.0.1:5002,,,5,5,2026-11-30\nEND\n",
            ),
            ',',
        );
        assert_eq!(p.names, ["alice", "bob"]);
        assert_eq!((p.bytes_in, p.bytes_out), (101, 202));
        assert!(p.title.unwrap().contains("(OpenSSL)"));
    }

    #[test]
    fn version_1_rows() {
        let p = parse_status_v1(&lines(
            "OpenVPN CLIENT LIST\nUpdated,2026-11-30 04:00:00\nCommon Name,Real Address,Bytes Received,Bytes Sent,Connected Since\n\
             alice,127.0.0.1:5000,10,20,2026-11-30\nUNDEF,127.0.0.1:5002,5,5,2026-11-30\nROUTING TABLE\nVirtual Address,Common Name,Real Address,Last Ref\nGLOBAL STATS\nEND\n",
        ))
        .unwrap();
        assert_eq!(p.names, ["alice"]);
        assert_eq!((p.bytes_in, p.bytes_out), (10, 20));
        assert!(parse_status_v1(&lines("hello\n")).is_none());
    }
}
