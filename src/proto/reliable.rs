//! OpenVPN's reliable layer over an unreliable link: message ids, acks, OpenVPN's send and
//! receive windows, in-order delivery and retransmission with backoff.
//!
//! It knows nothing of wraps or session ids: it takes message ids and payloads in, and
//! hands out what to send next ([`Transmit`]). Every buffer in it is bounded, so a peer
//! cannot make it grow: at most [`SEND_WINDOW`] messages in flight, [`RECV_WINDOW`]
//! buffered out of order, [`MAX_PENDING_ACKS`] acks owed.

use super::packet::{MAX_ACKS, MAX_PIGGYBACK_ACKS};
use crate::wire::P_ACK_V1;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Unacknowledged messages a sender may have out (`TLS_RELIABLE_N_SEND_BUFFERS`).
pub const SEND_WINDOW: usize = 6;
/// Message ids a receiver buffers ahead of the next expected one (`TLS_RELIABLE_N_REC_BUFFERS`).
pub const RECV_WINDOW: u32 = 12;
/// Acks we owe and have not sent yet; more distinct ids than the receive window can only
/// come from duplicates, and those are acked again when they come again.
pub const MAX_PENDING_ACKS: usize = 2 * RECV_WINDOW as usize;
/// Retransmission backoff stops doubling here.
const MAX_RTO: Duration = Duration::from_secs(4);

/// What to put on the wire next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// `P_CONTROL_V1`, `P_CONTROL_WKC_V1`, or `P_ACK_V1` for an ack-only packet.
    pub opcode: u8,
    /// `None` for `P_ACK_V1`.
    pub message_id: Option<u32>,
    pub acks: Vec<u32>,
    pub payload: Vec<u8>,
    /// How many times this message was sent before (0 for the first send).
    pub resend: u32,
}

/// What became of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// New and inside the window: buffered, and acked.
    Accepted,
    /// Seen before: acked again (the peer missed our ack), payload dropped.
    Duplicate,
    /// Beyond the receive window: dropped without an ack, as OpenVPN does.
    OutOfWindow,
}

#[derive(Debug)]
struct Outgoing {
    id: u32,
    opcode: u8,
    payload: Vec<u8>,
    /// When to (re)send; `None` once sent over a link that never loses (TCP).
    due: Option<Instant>,
    rto: Duration,
    sends: u32,
}

#[derive(Debug)]
pub struct Reliable {
    next_id: u32,
    in_flight: VecDeque<Outgoing>,
    waiting: VecDeque<(u8, Vec<u8>)>,
    retransmit: bool,
    initial_rto: Duration,
    expected: u32,
    buffered: BTreeMap<u32, Vec<u8>>,
    pending_acks: VecDeque<u32>,
    delivered: VecDeque<Vec<u8>>,
}

impl Reliable {
    /// `first_send_id`/`first_recv_id`: the ids after the hard resets (1 and 1).
    /// `retransmit` is false over TCP, where the stream never loses a packet.
    pub fn new(
        first_send_id: u32,
        first_recv_id: u32,
        retransmit: bool,
        initial_rto: Duration,
    ) -> Self {
        Reliable {
            next_id: first_send_id,
            in_flight: VecDeque::new(),
            waiting: VecDeque::new(),
            retransmit,
            initial_rto,
            expected: first_recv_id,
            buffered: BTreeMap::new(),
            pending_acks: VecDeque::new(),
            delivered: VecDeque::new(),
        }
    }

    /// Queues a message; it gets its id when the send window has room.
    pub fn push(&mut self, opcode: u8, payload: Vec<u8>) {
        self.waiting.push_back((opcode, payload));
    }

    /// Owes the peer an ack for `id` (its hard reset, taken outside this layer).
    pub fn ack_later(&mut self, id: u32) {
        if self.pending_acks.contains(&id) {
            return;
        }
        if self.pending_acks.len() == MAX_PENDING_ACKS {
            self.pending_acks.pop_front();
        }
        self.pending_acks.push_back(id);
    }

    /// The peer acknowledged these ids; returns how many in-flight messages that freed.
    pub fn on_acks(&mut self, ids: &[u32]) -> usize {
        let before = self.in_flight.len();
        self.in_flight.retain(|o| !ids.contains(&o.id));
        before - self.in_flight.len()
    }

    /// Takes a message the peer sent.
    pub fn on_message(&mut self, id: u32, payload: &[u8]) -> Incoming {
        if id < self.expected || self.buffered.contains_key(&id) {
            self.ack_later(id);
            return Incoming::Duplicate;
        }
        if id - self.expected >= RECV_WINDOW {
            return Incoming::OutOfWindow;
        }
        self.buffered.insert(id, payload.to_vec());
        self.ack_later(id);
        while let Some(p) = self.buffered.remove(&self.expected) {
            self.delivered.push_back(p);
            self.expected += 1;
        }
        Incoming::Accepted
    }

    /// The next in-order payload, if one arrived.
    pub fn read(&mut self) -> Option<Vec<u8>> {
        self.delivered.pop_front()
    }

    /// What to send now, or `None`. Call until `None` after anything happened: new
    /// messages first, then due retransmissions (each with up to 4 acks piggybacked), then
    /// an ack-only packet for acks still owed.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        while self.in_flight.len() < SEND_WINDOW {
            let Some((opcode, payload)) = self.waiting.pop_front() else {
                break;
            };
            self.in_flight.push_back(Outgoing {
                id: self.next_id,
                opcode,
                payload,
                due: Some(now),
                rto: self.initial_rto,
                sends: 0,
            });
            self.next_id += 1;
        }
        let retransmit = self.retransmit;
        if let Some(o) = self
            .in_flight
            .iter_mut()
            .find(|o| o.due.is_some_and(|d| d <= now))
        {
            let resend = o.sends;
            o.sends += 1;
            o.due = retransmit.then(|| now + o.rto);
            o.rto = (o.rto * 2).min(MAX_RTO);
            let (opcode, message_id, payload) = (o.opcode, o.id, o.payload.clone());
            let acks = self.take_acks(MAX_PIGGYBACK_ACKS);
            return Some(Transmit {
                opcode,
                message_id: Some(message_id),
                acks,
                payload,
                resend,
            });
        }
        if !self.pending_acks.is_empty() {
            let acks = self.take_acks(MAX_ACKS);
            return Some(Transmit {
                opcode: P_ACK_V1,
                message_id: None,
                acks,
                payload: Vec::new(),
                resend: 0,
            });
        }
        None
    }

    fn take_acks(&mut self, max: usize) -> Vec<u32> {
        let n = self.pending_acks.len().min(max);
        self.pending_acks.drain(..n).collect()
    }

    /// When [`Reliable::poll_transmit`] next has a retransmission to hand out. Changes
    /// after `push`, `on_acks`, `on_message` and every `poll_transmit` that returned `Some`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.iter().filter_map(|o| o.due).min()
    }

    /// Everything we sent has been acknowledged and nothing waits to be sent.
    pub fn all_acked(&self) -> bool {
        self.in_flight.is_empty() && self.waiting.is_empty()
    }

    /// Whether acks are owed.
    #[cfg(any(test, feature = "testing"))]
    pub fn owes_acks(&self) -> bool {
        !self.pending_acks.is_empty()
    }

    /// Messages handed out but not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::P_CONTROL_V1;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn ids_from_one_with_piggybacked_acks() {
        let now = t0();
        let mut r = Reliable::new(1, 1, true, Duration::from_millis(100));
        r.ack_later(0);
        r.push(P_CONTROL_V1, b"a".to_vec());
        r.push(P_CONTROL_V1, b"b".to_vec());
        let first = r.poll_transmit(now).unwrap();
        assert_eq!(first.message_id, Some(1));
        assert_eq!(first.acks, vec![0]);
        let second = r.poll_transmit(now).unwrap();
        assert_eq!(second.message_id, Some(2));
        assert!(second.acks.is_empty());
        assert_eq!(r.poll_transmit(now), None);
        assert_eq!(r.poll_timeout(), Some(now + Duration::from_millis(100)));
    }

    #[test]
    fn send_window_holds_six() {
        let now = t0();
        let mut r = Reliable::new(1, 1, true, Duration::from_millis(100));
        for i in 0..10u8 {
            r.push(P_CONTROL_V1, vec![i]);
        }
        let sent: Vec<_> = std::iter::from_fn(|| r.poll_transmit(now)).collect();
        assert_eq!(sent.len(), SEND_WINDOW);
        assert_eq!(r.on_acks(&[1, 2]), 2);
        let more: Vec<_> = std::iter::from_fn(|| r.poll_transmit(now)).collect();
        assert_eq!(
            more.iter().map(|t| t.message_id).collect::<Vec<_>>(),
            vec![Some(7), Some(8)]
        );
    }

    #[test]
    fn retransmits_with_backoff_until_acked() {
        let now = t0();
        let ms = Duration::from_millis;
        let mut r = Reliable::new(1, 1, true, ms(100));
        r.push(P_CONTROL_V1, b"x".to_vec());
        assert_eq!(r.poll_transmit(now).unwrap().resend, 0);
        assert_eq!(r.poll_transmit(now + ms(99)), None);
        assert_eq!(r.poll_transmit(now + ms(100)).unwrap().resend, 1);
        assert_eq!(r.poll_timeout(), Some(now + ms(300)));
        assert_eq!(r.poll_transmit(now + ms(300)).unwrap().resend, 2);
        assert_eq!(r.poll_timeout(), Some(now + ms(700)));
        r.on_acks(&[1]);
        assert!(r.all_acked());
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn no_retransmission_over_a_stream() {
        let now = t0();
        let mut r = Reliable::new(1, 1, false, Duration::from_millis(100));
        r.push(P_CONTROL_V1, b"x".to_vec());
        assert!(r.poll_transmit(now).is_some());
        assert_eq!(r.poll_timeout(), None);
        assert_eq!(r.poll_transmit(now + Duration::from_secs(60)), None);
    }

    #[test]
    fn in_order_delivery_reorder_and_duplicates() {
        let now = t0();
        let mut r = Reliable::new(1, 1, true, Duration::from_millis(100));
        assert_eq!(r.on_message(2, b"two"), Incoming::Accepted);
        assert_eq!(r.read(), None);
        assert_eq!(r.on_message(1, b"one"), Incoming::Accepted);
        assert_eq!(r.read().as_deref(), Some(&b"one"[..]));
        assert_eq!(r.read().as_deref(), Some(&b"two"[..]));
        assert_eq!(r.on_message(1, b"one"), Incoming::Duplicate);
        assert_eq!(r.read(), None);
        let ack = r.poll_transmit(now).unwrap();
        assert_eq!(ack.opcode, P_ACK_V1);
        assert_eq!(ack.acks, vec![2, 1]);
    }

    #[test]
    fn out_of_window_is_dropped_unacked() {
        let now = t0();
        let mut r = Reliable::new(1, 1, true, Duration::from_millis(100));
        assert_eq!(r.on_message(1 + RECV_WINDOW, b"far"), Incoming::OutOfWindow);
        assert_eq!(r.on_message(u32::MAX, b"far"), Incoming::OutOfWindow);
        assert_eq!(r.on_message(RECV_WINDOW, b"edge"), Incoming::Accepted);
        assert_eq!(r.poll_transmit(now).unwrap().acks, vec![RECV_WINDOW]);
        assert_eq!(r.poll_transmit(now), None);
    }

    #[test]
    fn owed_acks_are_bounded_and_split_into_packets_of_eight() {
        let now = t0();
        let mut r = Reliable::new(1, 1, true, Duration::from_millis(100));
        for id in 1..=RECV_WINDOW {
            r.on_message(id, b"");
        }
        let first = r.poll_transmit(now).unwrap();
        assert_eq!(first.acks.len(), MAX_ACKS);
        let second = r.poll_transmit(now).unwrap();
        assert_eq!(second.acks.len(), RECV_WINDOW as usize - MAX_ACKS);
        for _ in 0..1000 {
            r.on_message(1, b"");
        }
        assert!(r.pending_acks.len() <= MAX_PENDING_ACKS);
    }
}
