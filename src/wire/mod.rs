//! The OpenVPN control channel's wraps, as pure functions over bytes: no sockets, no
//! clock, no randomness (the caller passes session id and time in).
//!
//! A control packet is `byte0 | session_id[8]`, then — after whatever the wrap mode adds —
//! the *body*. [`Wrap`] puts a body on the wire and takes it off again; the body's layout
//! (acks, message id, payload) is read and written in [`crate::proto::packet`]. The
//! opcodes of every packet kind are here, once.

pub mod material;
mod tls_auth;
mod tls_crypt;

use crate::digest::Digest;
#[cfg(any(test, feature = "testing"))]
use crate::keys::static_keys::{KeyDirection, StaticKey, V2ClientKey};
pub use tls_auth::{BadTagLen, TlsAuth};
pub use tls_crypt::TlsCrypt;

/// The opcodes (`byte0 >> 3`), as `ssl_pkt.h` numbers them.
pub const P_CONTROL_HARD_RESET_CLIENT_V1: u8 = 1;
pub const P_CONTROL_HARD_RESET_SERVER_V1: u8 = 2;
/// A renegotiation request, not for a short session.
pub const P_CONTROL_SOFT_RESET_V1: u8 = 3;
pub const P_CONTROL_V1: u8 = 4;
pub const P_ACK_V1: u8 = 5;
pub const P_DATA_V1: u8 = 6;
pub const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
pub const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
pub const P_DATA_V2: u8 = 9;
pub const P_CONTROL_HARD_RESET_CLIENT_V3: u8 = 10;
/// `P_CONTROL_V1` with the tls-crypt-v2 wrapped key appended.
pub const P_CONTROL_WKC_V1: u8 = 11;

/// OpenVPN 2.6 starts a tls-crypt-v2 client's packet ids here; the high byte tells the
/// server that the client supports early negotiation (and so a stateless answer).
pub const EARLY_NEG_START: u32 = 0x0f00_0000;

/// Length of `byte0 | session_id`.
pub const HEADER_LEN: usize = 9;

pub type SessionId = [u8; 8];

pub fn byte0(opcode: u8, key_id: u8) -> u8 {
    opcode << 3 | (key_id & 0x07)
}

/// Why a received packet is not the answer we wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    /// Too short, or its lengths do not add up.
    Malformed,
    /// A well-formed packet of another kind (opcode or key id).
    NotServerReset,
    /// Our own hard reset, sent back: a service that echoes what it receives.
    Echo,
    /// A server reset that is not about our session (or does not ack our packet 0).
    OtherSession,
    /// A server reset for our session whose HMAC or tag did not verify.
    BadAuth,
    /// After the reset: a packet of a kind the session does not expect (data channel,
    /// renegotiation, another key id).
    Unexpected,
    /// After the reset: a message beyond the receive window (dropped unacknowledged).
    OutOfWindow,
}

/// Whether the answer's authenticity was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No wrap: nothing to verify.
    None,
    /// HMAC (or tag) verified with the server-to-client key.
    Verified,
    /// Signed, but no server key was given to check it with.
    NotChecked,
}

/// How the control channel is protected.
#[derive(Debug, Clone)]
pub enum Wrap {
    None,
    TlsAuth(TlsAuth),
    /// tls-crypt, or tls-crypt-v2 when it carries a wrapped client key.
    TlsCrypt(TlsCrypt),
}

/// Which wrap a probe used, without its keys: what a report needs to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapKind {
    None,
    TlsAuth(Digest),
    TlsCrypt,
    TlsCryptV2,
}

impl Wrap {
    pub fn kind(&self) -> WrapKind {
        match self {
            Wrap::None => WrapKind::None,
            Wrap::TlsAuth(t) => WrapKind::TlsAuth(t.digest()),
            Wrap::TlsCrypt(t) if t.is_v2() => WrapKind::TlsCryptV2,
            Wrap::TlsCrypt(_) => WrapKind::TlsCrypt,
        }
    }

    /// The opcode of the client's first packet.
    pub fn reset_opcode(&self) -> u8 {
        match self {
            Wrap::TlsCrypt(t) if t.is_v2() => P_CONTROL_HARD_RESET_CLIENT_V3,
            _ => P_CONTROL_HARD_RESET_CLIENT_V2,
        }
    }

    /// The packet id of the `attempt`-th (1-based) retransmission of our first packet.
    pub fn packet_id(&self, attempt: u32) -> u32 {
        match self {
            Wrap::TlsCrypt(t) if t.is_v2() => EARLY_NEG_START + attempt,
            _ => attempt,
        }
    }

    /// Bytes the wrap adds to a packet (tls-crypt-v2's wrapped key not counted).
    pub fn overhead(&self) -> usize {
        match self {
            Wrap::None => 0,
            Wrap::TlsAuth(t) => t.tag_len() + 8,
            Wrap::TlsCrypt(_) => tls_crypt::OVERHEAD - HEADER_LEN,
        }
    }

    /// tls-crypt-v2's wrapped client key (WKc), which some packets carry after the wrap.
    pub fn wrapped_key(&self) -> Option<&[u8]> {
        match self {
            Wrap::TlsCrypt(t) => t.wrapped_key(),
            _ => None,
        }
    }

    /// Puts `body` on the wire behind `header`. With tls-crypt-v2 the wrapped client key
    /// follows when `with_wkc` is set (the V3 reset and `P_CONTROL_WKC_V1`).
    pub fn seal_packet(
        &self,
        header: [u8; HEADER_LEN],
        replay: Replay,
        body: &[u8],
        with_wkc: bool,
    ) -> Vec<u8> {
        match self {
            Wrap::None => [&header[..], body].concat(),
            Wrap::TlsAuth(t) => t.seal(header, replay, body),
            Wrap::TlsCrypt(t) => t.seal(header, replay, body, with_wkc),
        }
    }

    /// Splits a received packet into header and body, and verifies it where the wrap can.
    /// `Err` only for packets whose layout is wrong; a bad HMAC is reported in `Opened`.
    pub fn open<'a>(&self, packet: &'a [u8]) -> Result<Opened<'a>, Rejection> {
        match self {
            Wrap::None => {
                if packet.len() < HEADER_LEN {
                    return Err(Rejection::Malformed);
                }
                Ok(Opened {
                    header: &packet[..HEADER_LEN],
                    body: std::borrow::Cow::Borrowed(&packet[HEADER_LEN..]),
                    auth: Ok(Auth::None),
                })
            }
            Wrap::TlsAuth(t) => t.open(packet),
            Wrap::TlsCrypt(t) => t.open(packet),
        }
    }
}

/// The two ends of one wrap made from the same key: the probe's (a client) and a server's.
/// The probe only ever builds its own side ([`material`]); tests, fuzzing and benchmarks
/// play the server with `server`.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone)]
pub struct WrapPair {
    pub client: Wrap,
    pub server: Wrap,
}

#[cfg(any(test, feature = "testing"))]
impl WrapPair {
    /// tls-auth with `digest`: the client on `client_direction`, the server on the
    /// matching one (0 for a client's 1, and the reverse; both ways for bidirectional).
    pub fn tls_auth(
        key: &StaticKey,
        client_direction: KeyDirection,
        digest: Digest,
        tag_len: Option<usize>,
    ) -> Result<WrapPair, BadTagLen> {
        let server_direction = match client_direction {
            KeyDirection::One => KeyDirection::Zero,
            KeyDirection::Zero => KeyDirection::One,
            KeyDirection::Bidirectional => KeyDirection::Bidirectional,
        };
        Ok(WrapPair {
            client: material::tls_auth(key, client_direction, digest, tag_len)?,
            server: material::tls_auth(key, server_direction, digest, tag_len)?,
        })
    }

    /// tls-crypt: fixed directions, the client on 1 and the server on 0.
    pub fn tls_crypt(key: &StaticKey) -> WrapPair {
        WrapPair {
            client: material::tls_crypt(key),
            server: tls_crypt_server(key),
        }
    }

    /// tls-crypt-v2: Kc used as tls-crypt, the client appending its wrapped key (WKc).
    pub fn tls_crypt_v2(key: &V2ClientKey) -> WrapPair {
        WrapPair {
            client: material::tls_crypt_v2(key),
            server: tls_crypt_server(&key.kc),
        }
    }
}

/// A tls-crypt server's side of `key` (direction 0).
#[cfg(any(test, feature = "testing"))]
fn tls_crypt_server(key: &StaticKey) -> Wrap {
    let (send, recv) = key.directional(KeyDirection::Zero);
    Wrap::TlsCrypt(TlsCrypt::new(&send, &recv))
}

/// The replay-protection fields a wrap adds: packet id and Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub packet_id: u32,
    pub net_time: u32,
}

/// A received packet taken off the wire: its header, its body in clear, and whether its
/// HMAC or tag verified.
pub struct Opened<'a> {
    pub header: &'a [u8],
    pub body: std::borrow::Cow<'a, [u8]>,
    /// `Err(())` when the HMAC or tag did not verify.
    pub auth: Result<Auth, ()>,
}
