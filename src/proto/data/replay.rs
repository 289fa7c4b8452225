//! The receive-side replay window: a sliding bitmap over the highest packet id seen, as
//! OpenVPN's `packet_id.c` keeps it (its default `replay-window` is 64 packets). No clock:
//! OpenVPN's time-based part of the window is not kept.

/// How far behind the highest packet id seen a packet may still arrive.
pub const REPLAY_WINDOW: u32 = 64;

#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// Highest packet id accepted; 0 before the first.
    top: u32,
    /// Bit i set: packet id `top - i` was accepted.
    seen: u64,
}

/// Why a packet id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Packet id 0 is never sent.
    Zero,
    /// Already accepted once.
    Repeated,
    /// Older than the window.
    TooOld,
}

impl ReplayWindow {
    /// Whether `id` may be accepted; changes nothing (check before authenticating,
    /// [`accept`](Self::accept) after).
    pub fn check(&self, id: u32) -> Result<(), Replay> {
        if id == 0 {
            return Err(Replay::Zero);
        }
        if id > self.top {
            return Ok(());
        }
        let behind = self.top - id;
        if behind >= REPLAY_WINDOW {
            return Err(Replay::TooOld);
        }
        if self.seen >> behind & 1 == 1 {
            return Err(Replay::Repeated);
        }
        Ok(())
    }

    /// Records `id` as received (after [`check`](Self::check) passed and the packet
    /// authenticated).
    pub fn accept(&mut self, id: u32) {
        if id > self.top {
            let ahead = id - self.top;
            self.seen = if ahead >= REPLAY_WINDOW {
                0
            } else {
                self.seen << ahead
            };
            self.seen |= 1;
            self.top = id;
        } else {
            let behind = self.top - id;
            if behind < REPLAY_WINDOW {
                self.seen |= 1 << behind;
            }
        }
    }

    /// The highest packet id accepted so far (0: none yet).
    pub fn highest(&self) -> u32 {
        self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(w: &mut ReplayWindow, id: u32) -> Result<(), Replay> {
        w.check(id)?;
        w.accept(id);
        Ok(())
    }

    #[test]
    fn in_order_then_repeats() {
        let mut w = ReplayWindow::default();
        for id in 1..=10 {
            take(&mut w, id).unwrap();
        }
        for id in 1..=10 {
            assert_eq!(take(&mut w, id), Err(Replay::Repeated));
        }
        assert_eq!(take(&mut w, 0), Err(Replay::Zero));
    }

    #[test]
    fn reordering_inside_the_window() {
        let mut w = ReplayWindow::default();
        take(&mut w, 100).unwrap();
        take(&mut w, 37).unwrap(); // 63 behind: inside
        assert_eq!(take(&mut w, 36), Err(Replay::TooOld)); // 64 behind
        take(&mut w, 99).unwrap();
        assert_eq!(take(&mut w, 99), Err(Replay::Repeated));
        assert_eq!(take(&mut w, 37), Err(Replay::Repeated));
        take(&mut w, 101).unwrap();
        assert_eq!(take(&mut w, 100), Err(Replay::Repeated));
        take(&mut w, 98).unwrap();
    }

    #[test]
    fn big_jump_clears_the_bitmap() {
        let mut w = ReplayWindow::default();
        take(&mut w, 1).unwrap();
        take(&mut w, 1_000).unwrap();
        assert_eq!(take(&mut w, 1), Err(Replay::TooOld));
        take(&mut w, 999).unwrap();
        take(&mut w, u32::MAX).unwrap();
        assert_eq!(take(&mut w, u32::MAX), Err(Replay::Repeated));
        assert_eq!(w.highest(), u32::MAX);
    }
}
