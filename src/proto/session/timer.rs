//! The session's own deadlines in one table, as in quinn-proto's `timer.rs`: each is an
//! entry, [`TimerTable::next`] (the earliest) is what `poll_timeout` returns, and
//! `handle_timeout` is the one place that acts on the expired ones. The reliable layer's
//! retransmission timer is its own: `poll_timeout` merges it, and `poll_transmit` hands
//! out the packets it made due.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// A reset with a bad HMAC came: the end of its attempt, unless a valid one comes.
    BadAuthStop,
    /// The next hard reset attempt; after the last one, the end of its wait.
    Attempt,
    /// The server must acknowledge or answer our hello by then.
    Hello,
    /// Send (another) `PUSH_REQUEST`.
    PushRequest,
    /// Data stage: send the next echo request.
    Echo,
    /// Data stage: the echoes not answered by then never will be.
    EchoDeadline,
    /// Data stage: send the DNS query again.
    Dns,
    /// Data stage: the TCP stack's next poll (a retransmission).
    Stack,
    /// Data stage: send the lookup of `--http`'s name again.
    Lookup,
    /// Data stage, tap: ask again for the MACs still unknown.
    Neighbour,
}

impl Timer {
    /// Every timer, in the order `handle_timeout` looks at the expired ones.
    pub(super) const ALL: [Timer; 10] = [
        Timer::BadAuthStop,
        Timer::Attempt,
        Timer::Hello,
        Timer::PushRequest,
        Timer::Echo,
        Timer::EchoDeadline,
        Timer::Dns,
        Timer::Stack,
        Timer::Lookup,
        Timer::Neighbour,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
pub(super) struct TimerTable {
    at: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub(super) fn stop_all(&mut self) {
        self.at = [None; Timer::ALL.len()];
    }

    pub(super) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.at[timer.index()].is_some_and(|at| at <= now)
    }

    /// The earliest entry.
    pub(super) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_earliest_entry_and_what_expired() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Hello, t0 + Duration::from_secs(2));
        table.set(Timer::PushRequest, t0 + Duration::from_secs(1));
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(1)));
        assert!(table.is_expired(Timer::PushRequest, t0 + Duration::from_secs(1)));
        assert!(!table.is_expired(Timer::Hello, t0 + Duration::from_secs(1)));
        assert!(!table.is_expired(Timer::Attempt, t0 + Duration::from_secs(9)));
        table.stop(Timer::PushRequest);
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(2)));
        table.stop_all();
        assert_eq!(table.next(), None);
    }
}
