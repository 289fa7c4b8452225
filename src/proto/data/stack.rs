//! A userspace TCP/IP stack behind the data channel: smoltcp on a device fed with the
//! tunnel's IP packets, our pushed `ifconfig` address as its own, one TCP connection.
//! Sans-IO like the session: packets in, packets out, a time to be polled again.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The tunnel as smoltcp's device: what came in, what goes out.
#[derive(Default)]
struct Pipe {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for Pipe {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((Rx(packet), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Self::TxToken<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps
    }
}

/// Where one TCP connection through the tunnel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// The SYN went out; nothing decided yet.
    Connecting,
    /// The handshake completed.
    Established,
    /// The peer answered the SYN with a reset.
    Refused,
}

/// One TCP connection through the tunnel.
pub struct TcpProbe {
    iface: Interface,
    device: Pipe,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    origin: Instant,
    target: SocketAddr,
    source: IpAddr,
    port: u16,
    state: Connection,
}

fn smol_time(origin: Instant, now: Instant) -> SmolInstant {
    SmolInstant::from_micros(now.saturating_duration_since(origin).as_micros() as i64)
}

fn smol_ip(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(a) => IpAddress::Ipv4(a),
        IpAddr::V6(a) => IpAddress::Ipv6(a),
    }
}

impl TcpProbe {
    /// A stack with our tunnel address `source` (every destination on the link: the
    /// tunnel is the only way out), connecting from `port` to `target`. `mtu`: the
    /// tunnel's (the pushed `tun-mtu`, 1500 by default).
    pub fn connect(
        source: IpAddr,
        target: SocketAddr,
        port: u16,
        mtu: usize,
        now: Instant,
    ) -> Option<TcpProbe> {
        let origin = now;
        let mut device = Pipe {
            mtu,
            ..Pipe::default()
        };
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, smol_time(origin, now));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(smol_ip(source), 0));
        });
        let rx = tcp::SocketBuffer::new(vec![0; 65536]);
        let tx = tcp::SocketBuffer::new(vec![0; 4096]);
        let mut socket = tcp::Socket::new(rx, tx);
        let remote = IpEndpoint::new(smol_ip(target.ip()), target.port());
        socket.connect(iface.context(), remote, port).ok()?;
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket);
        let mut probe = TcpProbe {
            iface,
            device,
            sockets,
            handle,
            origin,
            target,
            source,
            port,
            state: Connection::Connecting,
        };
        probe.poll(now);
        Some(probe)
    }

    /// Whether `ip` (a whole IP packet from the tunnel) is a TCP segment of our
    /// connection: from the target to our address and port.
    pub fn is_ours(&self, ip: &[u8]) -> bool {
        let Some(&first) = ip.first() else {
            return false;
        };
        let (src, dst, proto, l4) = match first >> 4 {
            4 if ip.len() >= 20 => {
                let ihl = usize::from(first & 0x0f) * 4;
                let src = IpAddr::from([ip[12], ip[13], ip[14], ip[15]]);
                let dst = IpAddr::from([ip[16], ip[17], ip[18], ip[19]]);
                (src, dst, ip[9], ip.get(ihl..))
            }
            6 if ip.len() >= 40 => {
                let mut s = [0u8; 16];
                s.copy_from_slice(&ip[8..24]);
                let mut d = [0u8; 16];
                d.copy_from_slice(&ip[24..40]);
                (IpAddr::from(s), IpAddr::from(d), ip[6], ip.get(40..))
            }
            _ => return false,
        };
        let Some(l4) = l4.filter(|l| l.len() >= 4) else {
            return false;
        };
        proto == 6
            && src == self.target.ip()
            && dst == self.source
            && u16::from_be_bytes([l4[0], l4[1]]) == self.target.port()
            && u16::from_be_bytes([l4[2], l4[3]]) == self.port
    }

    /// A segment of ours from the tunnel (see [`TcpProbe::is_ours`]).
    pub fn receive(&mut self, ip: &[u8], now: Instant) {
        self.device.rx.push_back(ip.to_vec());
        self.poll(now);
    }

    /// Runs the stack: what came in is processed, what is due goes out.
    pub fn poll(&mut self, now: Instant) {
        let t = smol_time(self.origin, now);
        self.iface.poll(t, &mut self.device, &mut self.sockets);
        let socket = self.sockets.get::<tcp::Socket>(self.handle);
        self.state = match (self.state, socket.state()) {
            (Connection::Connecting, tcp::State::Established) => Connection::Established,
            (Connection::Connecting, tcp::State::Closed) => Connection::Refused,
            (s, _) => s,
        };
    }

    /// The IP packets to seal and send, in order.
    pub fn take_output(&mut self) -> Vec<Vec<u8>> {
        self.device.tx.drain(..).collect()
    }

    /// When the stack wants to be polled again (a retransmission).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let t = smol_time(self.origin, now);
        let delay = self.iface.poll_delay(t, &self.sockets)?;
        Some(now + Duration::from_micros(delay.total_micros()))
    }

    pub fn state(&self) -> Connection {
        self.state
    }

    /// Queues `data` for sending (as much as the send buffer takes); returns how much.
    pub fn send(&mut self, data: &[u8], now: Instant) -> usize {
        let n = self
            .sockets
            .get_mut::<tcp::Socket>(self.handle)
            .send_slice(data)
            .unwrap_or(0);
        self.poll(now);
        n
    }

    /// Whatever came in since, appended to `out`.
    pub fn recv(&mut self, out: &mut Vec<u8>) {
        let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
        while socket.can_recv() {
            let got = socket.recv(|buf| {
                out.extend_from_slice(buf);
                (buf.len(), buf.len())
            });
            if !matches!(got, Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// The peer closed its side (FIN) or reset the connection after it was established.
    pub fn peer_done(&self) -> bool {
        let socket = self.sockets.get::<tcp::Socket>(self.handle);
        self.state == Connection::Established && !socket.may_recv()
    }

    /// Ends the connection at once with a reset (the peer frees it, nothing lingers).
    pub fn abort(&mut self, now: Instant) {
        self.sockets.get_mut::<tcp::Socket>(self.handle).abort();
        self.poll(now);
    }
}
