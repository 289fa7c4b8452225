//! tls-auth: an HMAC over every control packet, keyed per direction.
//!
//! On the wire: `byte0 | session_id | hmac | packet_id | net_time | body`. The HMAC covers
//! the same bytes with the 8 replay bytes moved to the front:
//! `packet_id | net_time | byte0 | session_id | body`.

use super::{Auth, Opened, Rejection, Replay, HEADER_LEN};
use crate::digest::Digest;
use crate::keys::static_keys::Secret;
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct TlsAuth {
    digest: Digest,
    /// HMAC key for what we send.
    send: Secret,
    /// HMAC key for what the server sends; `None` leaves its HMAC unchecked.
    recv: Option<Secret>,
    /// Bytes of HMAC on the wire: the digest length unless truncated on request.
    tag_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HMAC size {requested} is out of range for {digest} (1 to {max})")]
pub struct BadTagLen {
    pub requested: usize,
    pub digest: Digest,
    pub max: usize,
}

impl TlsAuth {
    /// `send`/`recv` are HMAC keys; OpenVPN uses the first `digest length` bytes of a key
    /// slot, so longer keys are cut to that length here.
    pub fn new(
        digest: Digest,
        send: &Secret,
        recv: Option<&Secret>,
        tag_len: Option<usize>,
    ) -> Result<Self, BadTagLen> {
        let max = digest.output_len();
        let tag_len = tag_len.unwrap_or(max);
        if tag_len == 0 || tag_len > max {
            return Err(BadTagLen {
                requested: tag_len,
                digest,
                max,
            });
        }
        let cut = |s: &Secret| Secret::new(s.expose()[..s.len().min(max)].to_vec());
        Ok(TlsAuth {
            digest,
            send: cut(send),
            recv: recv.map(cut),
            tag_len,
        })
    }

    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Bytes of HMAC on the wire.
    pub fn tag_len(&self) -> usize {
        self.tag_len
    }

    pub fn checks_server(&self) -> bool {
        self.recv.is_some()
    }

    fn tag(&self, key: &Secret, replay: &[u8], header: &[u8], body: &[u8]) -> Vec<u8> {
        let mut tag = self.digest.hmac(key.expose(), &[replay, header, body]);
        tag.truncate(self.tag_len);
        tag
    }

    pub(super) fn seal(&self, header: [u8; HEADER_LEN], replay: Replay, body: &[u8]) -> Vec<u8> {
        let mut replay_bytes = [0u8; 8];
        replay_bytes[..4].copy_from_slice(&replay.packet_id.to_be_bytes());
        replay_bytes[4..].copy_from_slice(&replay.net_time.to_be_bytes());
        let tag = self.tag(&self.send, &replay_bytes, &header, body);
        [&header[..], &tag, &replay_bytes, body].concat()
    }

    pub(super) fn open<'a>(&self, packet: &'a [u8]) -> Result<Opened<'a>, Rejection> {
        let replay_at = HEADER_LEN + self.tag_len;
        let body_at = replay_at + 8;
        if packet.len() < body_at {
            return Err(Rejection::Malformed);
        }
        let header = &packet[..HEADER_LEN];
        let body = &packet[body_at..];
        let auth = match &self.recv {
            None => Ok(Auth::NotChecked),
            Some(key) => {
                let expected = self.tag(key, &packet[replay_at..body_at], header, body);
                if constant_time_eq(&expected, &packet[HEADER_LEN..replay_at]) {
                    Ok(Auth::Verified)
                } else {
                    Err(())
                }
            }
        };
        Ok(Opened {
            header,
            body: Cow::Borrowed(body),
            auth,
        })
    }
}

/// Compares without an early exit, so the time taken says nothing about where a forged
/// HMAC first differs.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    // The packet layer is above this one: these tests read whole resets through it.
    use crate::proto::packet::{client_reset, validate_server_reset};

    const OURS: SessionId = [1, 2, 3, 4, 5, 6, 7, 8];

    fn keys() -> (Secret, Secret) {
        (Secret::new(vec![0x11; 64]), Secret::new(vec![0x22; 64]))
    }

    /// A server's answer signed with `key`, built field by field.
    fn server_answer(digest: Digest, key: &Secret, tag_len: usize) -> Vec<u8> {
        let header = [&[0x40u8][..], &[9u8; 8]].concat();
        let replay = [0, 0, 0, 1, 0x65, 0, 0, 0];
        let body = [&[1u8, 0, 0, 0, 0][..], &OURS, &[0, 0, 0, 0]].concat();
        let key = &key.expose()[..digest.output_len()];
        let mut tag = digest.hmac(key, &[&replay, &header, &body]);
        tag.truncate(tag_len);
        [&header[..], &tag, &replay, &body].concat()
    }

    #[test]
    fn seal_layout_and_hmac_input_order() {
        let (c, _) = keys();
        let t = TlsAuth::new(Digest::Sha1, &c, None, None).unwrap();
        let replay = Replay {
            packet_id: 1,
            net_time: 0x6543_2100,
        };
        let p = client_reset(&Wrap::TlsAuth(t), OURS, replay);
        assert_eq!(p.len(), 9 + 20 + 8 + 5);
        assert_eq!(p[0], 0x38);
        assert_eq!(&p[1..9], &OURS);
        assert_eq!(&p[29..37], &[0, 0, 0, 1, 0x65, 0x43, 0x21, 0]);
        assert_eq!(&p[37..], &[0, 0, 0, 0, 0]);
        let expected = Digest::Sha1.hmac(&c.expose()[..20], &[&p[29..37], &p[..9], &p[37..]]);
        assert_eq!(&p[9..29], &expected[..]);
    }

    #[test]
    fn verifies_the_server_hmac() {
        let (c, s) = keys();
        for digest in Digest::ALL {
            let t = TlsAuth::new(digest, &c, Some(&s), None).unwrap();
            let answer = server_answer(digest, &s, digest.output_len());
            let wrap = Wrap::TlsAuth(t);
            let r = validate_server_reset(&wrap, &answer, &OURS).unwrap();
            assert_eq!(r.auth, Auth::Verified, "{digest}");

            let mut forged = answer.clone();
            forged[12] ^= 1;
            assert_eq!(
                validate_server_reset(&wrap, &forged, &OURS),
                Err(Rejection::BadAuth),
                "{digest}"
            );
            let wrong_key = server_answer(digest, &c, digest.output_len());
            assert_eq!(
                validate_server_reset(&wrap, &wrong_key, &OURS),
                Err(Rejection::BadAuth)
            );
            assert_eq!(
                validate_server_reset(&wrap, &answer, &[0; 8]),
                Err(Rejection::OtherSession)
            );
        }
    }

    #[test]
    fn unchecked_without_server_key_and_truncated_tags() {
        let (c, s) = keys();
        let t = TlsAuth::new(Digest::Sha256, &c, None, None).unwrap();
        let answer = server_answer(Digest::Sha256, &s, 32);
        let r = validate_server_reset(&Wrap::TlsAuth(t), &answer, &OURS).unwrap();
        assert_eq!(r.auth, Auth::NotChecked);

        let t = TlsAuth::new(Digest::Sha256, &c, Some(&s), Some(16)).unwrap();
        let answer = server_answer(Digest::Sha256, &s, 16);
        let r = validate_server_reset(&Wrap::TlsAuth(t), &answer, &OURS).unwrap();
        assert_eq!(r.auth, Auth::Verified);

        assert!(TlsAuth::new(Digest::Sha1, &c, None, Some(21)).is_err());
        assert!(TlsAuth::new(Digest::Sha1, &c, None, Some(0)).is_err());
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
