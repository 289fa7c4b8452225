//! Where a session's random bytes come from. The session never asks the system itself: the
//! caller gives it one [`Randomness`], drawn from a [`RandomSource`] before the session
//! starts (the system's in production, a seedable one in simulations). Drawing fails as a
//! whole when the source fails: a session never runs on zeros.

use crate::wire::SessionId;
use zeroize::Zeroizing;

/// Why a source gave no bytes (the system's own error, or one a test source chose).
pub use getrandom::Error as RandomError;

/// A source of random bytes. [`OsRandom`] in production; a simulation brings its own,
/// seeded, so that a run can be replayed.
pub trait RandomSource {
    /// Fills all of `buf`, or fails.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's random number generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf)
    }
}

/// A seeded source (SplitMix64) for simulations and fuzzing: every run with one seed draws
/// the same bytes. Never for a real check.
#[cfg(any(test, feature = "testing"))]
pub struct Seeded(pub u64);

#[cfg(any(test, feature = "testing"))]
impl RandomSource for Seeded {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// Every random byte one session uses: its session id, the probing hello's random, session
/// id and key share, the ICMP echo identifier, and the key-method 2 randoms (pre-master secret and both randoms, from
/// which the data channel's keys come; wiped on drop, never in a `Debug` output).
pub struct Randomness {
    pub(super) session_id: SessionId,
    pub(super) probe_hello: [u8; 96],
    pub(super) key_method_2: Zeroizing<[u8; 112]>,
    /// The identifier of the ICMP echoes sent through the tunnel.
    pub(super) icmp_id: u16,
    /// The MAC of our end of a tap tunnel (made locally administered where used).
    pub(super) mac: [u8; 6],
    /// The id of a DNS question through the tunnel, and the seed of its UDP port; then
    /// the same for the lookup of a name in `--http`'s URL.
    pub(super) dns: [u8; 8],
}

impl Randomness {
    /// Draws everything from `source`. OpenVPN's session ids are never all zero: an all-zero
    /// id is drawn again.
    pub fn draw(source: &mut dyn RandomSource) -> Result<Self, RandomError> {
        let mut session_id = [0u8; 8];
        while session_id == [0u8; 8] {
            source.fill(&mut session_id)?;
        }
        let mut probe_hello = [0u8; 96];
        source.fill(&mut probe_hello)?;
        let mut key_method_2 = Zeroizing::new([0u8; 112]);
        source.fill(&mut key_method_2[..])?;
        let mut icmp_id = [0u8; 2];
        source.fill(&mut icmp_id)?;
        let mut mac = [0u8; 6];
        source.fill(&mut mac)?;
        let mut dns = [0u8; 8];
        source.fill(&mut dns)?;
        Ok(Randomness {
            session_id,
            probe_hello,
            key_method_2,
            icmp_id: u16::from_be_bytes(icmp_id),
            mac,
            dns,
        })
    }

    /// The same, with a session id the caller chose (simulations and fuzzing pin it to
    /// read the packets they expect).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_session_id(mut self, session_id: SessionId) -> Self {
        self.session_id = session_id;
        self
    }

    pub fn session_id(&self) -> SessionId {
        self.session_id
    }
}

impl std::fmt::Debug for Randomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Randomness")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;
    impl RandomSource for Failing {
        fn fill(&mut self, _: &mut [u8]) -> Result<(), RandomError> {
            Err(RandomError::UNSUPPORTED)
        }
    }

    /// Gives zeros first, then counts up: the all-zero session id is drawn again.
    struct ZerosFirst(u8, bool);
    impl RandomSource for ZerosFirst {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
            if !self.1 {
                self.1 = true;
                buf.fill(0);
                return Ok(());
            }
            for b in buf {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }

    #[test]
    fn a_failing_source_gives_nothing() {
        assert!(Randomness::draw(&mut Failing).is_err());
    }

    #[test]
    fn no_all_zero_session_id_and_no_secret_in_debug() {
        let r = Randomness::draw(&mut ZerosFirst(0, false)).unwrap();
        assert_eq!(r.session_id(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(r.probe_hello[0], 9);
        assert_eq!(r.key_method_2[0], 105);
        let debug = format!("{r:?}");
        assert!(
            !debug.contains("105") && !debug.contains("key_method_2"),
            "{debug}"
        );
    }

    #[test]
    fn the_os_gives_bytes() {
        let a = Randomness::draw(&mut OsRandom).unwrap();
        let b = Randomness::draw(&mut OsRandom).unwrap();
        assert_ne!(a.key_method_2[..], b.key_method_2[..]);
    }
}
