//! The talk with a server's management interface, without a socket: bytes in
//! ([`Talk::feed`], [`Talk::closed`]), commands out ([`Talk::poll_transmit`]) and what was
//! learnt ([`Talk::poll_event`]). The socket, its deadline and the password file belong
//! to the caller (`net::stream` and `clients`), so every turn of the talk is testable
//! with byte slices.
//!
//! The talk: the greeting (`>INFO:...`), or `ENTER PASSWORD:` first when the interface
//! has a password; then `load-stats` for the totals and `status 3` for the list of
//! clients and the server's version line; then `quit`.

use super::clients::ManagementFault;
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Longest line or answer taken from a management interface.
pub const MAX_ANSWER: usize = 4 << 20;

/// The prompt of an interface with a password; it ends without a newline.
const PROMPT: &[u8] = b"ENTER PASSWORD:";

/// What the interface answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `load-stats`: `nclients`, `bytesin`, `bytesout`.
    pub count: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// `status 3`: its lines up to `END`, notifications left out.
    pub status: Vec<String>,
}

/// Why the talk ended without an [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It asked for a password and the caller has none ([`Talk::password`] with `None`).
    PasswordNeeded,
    /// It refused the password.
    BadPassword,
    Fault(ManagementFault),
}

/// What the talk learnt, for the caller to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The interface asks for a password: the caller answers with [`Talk::password`].
    /// No further line is read before that.
    PasswordAsked,
    /// The talk is over. Whatever [`Talk::poll_transmit`] still gives (`quit`) may be
    /// sent; its failure changes nothing.
    Done(Result<Answer, Failure>),
}

#[derive(Debug)]
enum State {
    Greeting,
    /// The prompt was seen; waiting for the caller's password.
    Prompted,
    /// The password was sent; waiting for `SUCCESS:`.
    PasswordSent,
    LoadStats,
    Status {
        count: u64,
        bytes_in: u64,
        bytes_out: u64,
        lines: Vec<String>,
        size: usize,
    },
    Done,
}

/// One talk with a management interface.
#[derive(Debug)]
pub struct Talk {
    state: State,
    /// Bytes fed and not yet taken as lines.
    input: Vec<u8>,
    output: VecDeque<Zeroizing<Vec<u8>>>,
    events: VecDeque<Event>,
}

impl Default for Talk {
    fn default() -> Self {
        Self::new()
    }
}

impl Talk {
    pub fn new() -> Talk {
        Talk {
            state: State::Greeting,
            input: Vec::new(),
            output: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// True once [`Event::Done`] was queued: nothing fed after it is read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// True while the talk waits for [`Talk::password`] rather than for bytes.
    pub fn wants_password(&self) -> bool {
        matches!(self.state, State::Prompted)
    }

    /// Bytes read from the interface, in any pieces. Call [`Talk::poll_transmit`] and
    /// [`Talk::poll_event`] after each call.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.is_done() {
            return;
        }
        self.input.extend_from_slice(bytes);
        self.take_lines();
    }

    /// The interface closed the connection (a read of 0 bytes).
    pub fn closed(&mut self) {
        self.fail(Failure::Fault(ManagementFault::Closed));
    }

    /// The deadline passed before the talk was over.
    pub fn timed_out(&mut self) {
        self.fail(Failure::Fault(ManagementFault::Silent));
    }

    /// The answer to [`Event::PasswordAsked`]: the password's first line, or `None` when
    /// there is no password to give. Ignored at any other time.
    pub fn password(&mut self, password: Option<&[u8]>) {
        if !self.wants_password() {
            return;
        }
        let Some(password) = password else {
            return self.fail(Failure::PasswordNeeded);
        };
        let mut line = Zeroizing::new(Vec::with_capacity(password.len() + 1));
        line.extend_from_slice(password);
        line.push(b'\n');
        self.output.push_back(line);
        self.state = State::PasswordSent;
        // The answer may have come in the same read as the prompt.
        self.take_lines();
    }

    /// The next bytes to write to the interface, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        self.output.pop_front()
    }

    /// What happened, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn fail(&mut self, why: Failure) {
        if !self.is_done() {
            self.state = State::Done;
            self.input.clear();
            self.events.push_back(Event::Done(Err(why)));
        }
    }

    fn send(&mut self, command: &[u8]) {
        self.output.push_back(Zeroizing::new(command.to_vec()));
    }

    /// Takes every whole line (or the prompt, which has no end) from the input.
    fn take_lines(&mut self) {
        loop {
            if self.is_done() || self.wants_password() {
                return;
            }
            // The prompt ends without a newline: it is a line of its own whatever follows.
            let (line, used) = if self.input.starts_with(PROMPT) {
                (PROMPT, PROMPT.len())
            } else if let Some(at) = self.input.iter().position(|&b| b == b'\n') {
                (&self.input[..at], at + 1)
            } else {
                if self.input.len() > MAX_ANSWER {
                    self.fail(Failure::Fault(ManagementFault::LineTooLong));
                }
                return;
            };
            if line.len() > MAX_ANSWER {
                return self.fail(Failure::Fault(ManagementFault::LineTooLong));
            }
            let text = String::from_utf8_lossy(line)
                .trim_end_matches('\r')
                .to_string();
            self.input.drain(..used);
            self.line(text);
        }
    }

    fn line(&mut self, l: String) {
        match &mut self.state {
            State::Greeting => {
                if l == "ENTER PASSWORD:" {
                    self.state = State::Prompted;
                    self.events.push_back(Event::PasswordAsked);
                } else if l.starts_with(">INFO:") {
                    self.send(b"load-stats\n");
                    self.state = State::LoadStats;
                } else {
                    self.fail(Failure::Fault(ManagementFault::NotManagement));
                }
            }
            State::Prompted | State::Done => {}
            State::PasswordSent => {
                if l.starts_with("SUCCESS:") {
                    self.send(b"load-stats\n");
                    self.state = State::LoadStats;
                } else if l.starts_with("ERROR:") || l == "ENTER PASSWORD:" {
                    self.fail(Failure::BadPassword);
                }
            }
            State::LoadStats => {
                if l.starts_with('>') {
                    return;
                }
                if let Some(rest) = l.strip_prefix("ERROR: ") {
                    return self.fail(Failure::Fault(ManagementFault::Refused(rest.into())));
                }
                let Some(stats) = l.strip_prefix("SUCCESS: ") else {
                    return;
                };
                let field = |name: &str| -> Option<u64> {
                    stats
                        .split(',')
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
                };
                let (Some(count), Some(bytes_in), Some(bytes_out)) =
                    (field("nclients"), field("bytesin"), field("bytesout"))
                else {
                    let why = ManagementFault::BadLoadStats(stats.into());
                    return self.fail(Failure::Fault(why));
                };
                self.send(b"status 3\n");
                self.state = State::Status {
                    count,
                    bytes_in,
                    bytes_out,
                    lines: Vec::new(),
                    size: 0,
                };
            }
            State::Status {
                count,
                bytes_in,
                bytes_out,
                lines,
                size,
            } => {
                if l == "END" {
                    let answer = Answer {
                        count: *count,
                        bytes_in: *bytes_in,
                        bytes_out: *bytes_out,
                        status: std::mem::take(lines),
                    };
                    self.state = State::Done;
                    self.input.clear();
                    self.send(b"quit\n");
                    self.events.push_back(Event::Done(Ok(answer)));
                    return;
                }
                if let Some(rest) = l.strip_prefix("ERROR: ") {
                    return self.fail(Failure::Fault(ManagementFault::Refused(rest.into())));
                }
                if l.starts_with('>') {
                    return;
                }
                *size += l.len();
                if *size > MAX_ANSWER {
                    return self.fail(Failure::Fault(ManagementFault::AnswerTooLong));
                }
                lines.push(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREETING: &[u8] =
        b">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n";
    const STATS: &[u8] = b"SUCCESS: nclients=2,bytesin=300,bytesout=400\r\n";
    const STATUS: &[u8] = b"TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)]\r\n\
        HEADER\tCLIENT_LIST\tCommon Name\tBytes Received\tBytes Sent\r\n\
        CLIENT_LIST\talice\t1\t2\r\n\
        >BYTECOUNT:1,2\r\n\
        END\r\n";

    /// Everything sent, as text (no password in these tests' output is secret).
    fn sent(t: &mut Talk) -> Vec<String> {
        std::iter::from_fn(|| t.poll_transmit())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    fn events(t: &mut Talk) -> Vec<Event> {
        std::iter::from_fn(|| t.poll_event()).collect()
    }

    fn fault(f: ManagementFault) -> Vec<Event> {
        vec![Event::Done(Err(Failure::Fault(f)))]
    }

    #[test]
    fn the_whole_talk_without_a_password() {
        let mut t = Talk::new();
        assert!(sent(&mut t).is_empty());
        t.feed(GREETING);
        assert_eq!(sent(&mut t), ["load-stats\n"]);
        assert!(events(&mut t).is_empty());
        t.feed(b">HOLD:waiting\r\n");
        t.feed(STATS);
        assert_eq!(sent(&mut t), ["status 3\n"]);
        t.feed(STATUS);
        assert_eq!(sent(&mut t), ["quit\n"]);
        let ev = events(&mut t);
        let [Event::Done(Ok(a))] = &ev[..] else {
            panic!("{ev:?}")
        };
        assert_eq!((a.count, a.bytes_in, a.bytes_out), (2, 300, 400));
        assert_eq!(a.status.len(), 3);
        assert!(a.status[0].starts_with("TITLE\tOpenVPN 2.6.14"));
        assert!(t.is_done());
        // Whatever comes after is not read.
        t.feed(b"junk\n");
        t.closed();
        assert!(events(&mut t).is_empty());
    }

    #[test]
    fn the_talk_in_single_bytes_is_the_same() {
        let mut whole = Talk::new();
        let mut bytes = Talk::new();
        for part in [GREETING, STATS, STATUS] {
            whole.feed(part);
            for b in part {
                bytes.feed(std::slice::from_ref(b));
            }
        }
        assert_eq!(sent(&mut whole), sent(&mut bytes));
        assert_eq!(events(&mut whole), events(&mut bytes));
    }

    #[test]
    fn a_banner_split_across_reads() {
        let mut t = Talk::new();
        t.feed(b">INFO:OpenVPN Manage");
        assert!(sent(&mut t).is_empty());
        t.feed(b"ment Interface Version 5\r");
        assert!(sent(&mut t).is_empty());
        t.feed(b"\n");
        assert_eq!(sent(&mut t), ["load-stats\n"]);
    }

    #[test]
    fn the_password_prompt() {
        let mut t = Talk::new();
        t.feed(b"ENTER PASSWORD:");
        assert_eq!(events(&mut t), [Event::PasswordAsked]);
        assert!(t.wants_password());
        // Nothing is read before the password is given.
        t.feed(b"SUCCESS: password is correct\r\n");
        assert!(sent(&mut t).is_empty());
        t.password(Some(b"s3cret"));
        assert_eq!(sent(&mut t), ["s3cret\n", "load-stats\n"]);
        t.feed(GREETING);
        t.feed(STATS);
        assert_eq!(sent(&mut t), ["status 3\n"]);
        t.feed(b"END\n");
        assert!(matches!(&events(&mut t)[..], [Event::Done(Ok(a))] if a.status.is_empty()));
    }

    #[test]
    fn the_prompt_is_a_line_of_its_own() {
        // The prompt and a later line in one read, and the prompt in two pieces.
        let pieces: [&[&[u8]]; 2] = [&[b"ENTER PASSWORD:x\n"], &[b"ENTER PASS", b"WORD:"]];
        for parts in pieces {
            let mut t = Talk::new();
            for p in parts {
                t.feed(p);
            }
            assert_eq!(events(&mut t), [Event::PasswordAsked], "{parts:?}");
        }
        let mut t = Talk::new();
        t.feed(b"ENTER PASSWORD:\n");
        assert_eq!(events(&mut t), [Event::PasswordAsked]);
    }

    #[test]
    fn a_password_refused_or_missing() {
        for answer in [&b"ERROR: bad password\r\n"[..], b"ENTER PASSWORD:"] {
            let mut t = Talk::new();
            t.feed(b"ENTER PASSWORD:");
            t.password(Some(b"wrong"));
            t.feed(answer);
            assert_eq!(
                events(&mut t),
                [Event::PasswordAsked, Event::Done(Err(Failure::BadPassword))]
            );
        }
        let mut t = Talk::new();
        t.feed(b"ENTER PASSWORD:");
        t.password(None);
        assert_eq!(
            events(&mut t),
            [
                Event::PasswordAsked,
                Event::Done(Err(Failure::PasswordNeeded))
            ]
        );
        assert!(sent(&mut t).is_empty());
    }

    #[test]
    fn a_password_when_none_was_asked_is_not_sent() {
        let mut t = Talk::new();
        t.password(Some(b"s3cret"));
        t.feed(GREETING);
        assert_eq!(sent(&mut t), ["load-stats\n"]);
    }

    #[test]
    fn junk_first_is_no_management_interface() {
        for junk in [
            &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
            b"\x16\x03\x01\x00\xa5\x01\x00\n",
            b"\n",
        ] {
            let mut t = Talk::new();
            t.feed(junk);
            assert_eq!(
                events(&mut t),
                fault(ManagementFault::NotManagement),
                "{junk:?}"
            );
            assert!(sent(&mut t).is_empty());
        }
    }

    #[test]
    fn errors_and_bad_answers() {
        let mut t = Talk::new();
        t.feed(GREETING);
        t.feed(b"ERROR: unknown command\r\n");
        assert_eq!(
            events(&mut t),
            fault(ManagementFault::Refused("unknown command".into()))
        );

        let mut t = Talk::new();
        t.feed(GREETING);
        t.feed(b"SUCCESS: nclients=2,bytesin=x\r\n");
        assert_eq!(
            events(&mut t),
            fault(ManagementFault::BadLoadStats("nclients=2,bytesin=x".into()))
        );

        let mut t = Talk::new();
        t.feed(GREETING);
        t.feed(STATS);
        t.feed(b"TITLE\tx\nERROR: status: no such version\n");
        assert_eq!(
            events(&mut t),
            fault(ManagementFault::Refused("status: no such version".into()))
        );
        // Lines that answer nothing are passed over while waiting for load-stats.
        let mut t = Talk::new();
        t.feed(GREETING);
        t.feed(b"hello\n>LOG:x\n");
        t.feed(STATS);
        assert_eq!(sent(&mut t), ["load-stats\n", "status 3\n"]);
    }

    #[test]
    fn closed_and_silent() {
        let mut t = Talk::new();
        t.feed(GREETING);
        t.closed();
        assert_eq!(events(&mut t), fault(ManagementFault::Closed));
        let mut t = Talk::new();
        t.feed(b">INFO:half a line");
        t.timed_out();
        assert_eq!(events(&mut t), fault(ManagementFault::Silent));
    }

    #[test]
    fn too_long() {
        let mut t = Talk::new();
        t.feed(&vec![b'>'; MAX_ANSWER + 1]);
        assert_eq!(events(&mut t), fault(ManagementFault::LineTooLong));

        let mut t = Talk::new();
        t.feed(GREETING);
        t.feed(STATS);
        let line = vec![b'x'; 1 << 20];
        for _ in 0..4 {
            t.feed(&line);
            t.feed(b"\n");
        }
        assert!(events(&mut t).is_empty());
        t.feed(b"x\n");
        assert_eq!(events(&mut t), fault(ManagementFault::AnswerTooLong));
    }
}
