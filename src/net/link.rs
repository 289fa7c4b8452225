//! The link's vocabulary: protocol, address family, how a flow ended, TCP's frame limit.

/// No legitimate control packet comes near this; a longer TCP frame means we are not
/// talking to OpenVPN (or are being fed garbage), and the stream cannot be trusted after it.
pub const MAX_FRAME: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// How a flow's link failed, or its deadline passed. A session that finished by itself has
/// no `Ending`.
pub enum Ending {
    /// The deadline passed without an accepted packet.
    TimedOut,
    /// TCP RST on connect, or ICMP port unreachable over UDP.
    Refused,
    /// The TCP connection was reset after it was established.
    Reset,
    /// The TCP peer closed the connection before answering.
    Closed,
    /// A TCP frame longer than [`MAX_FRAME`].
    FrameTooLong(usize),
    /// Any other network error (no route, host unreachable, …).
    Failed(String),
}
