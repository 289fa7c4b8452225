//! The words for the data stage: the data channel as agreed, the echoes through the tunnel
//! (`--ping`) and their verdict, and the `rta`/`pl` perfdata.

use super::state::{PingLimits, State, Thresholds};
use super::verdict::Verdict;
use crate::check::{DataOutcome, DataReady};
use crate::proto::data::{Compression, DataError};
use crate::proto::push::{KeyDerivation, NoPath, Unsupported};
use crate::proto::{DataKind, Event};
use std::net::IpAddr;

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "no compression",
        Compression::Lzo => "comp-lzo framing",
        Compression::Swap => "compress (stub) framing",
        Compression::V2 => "compress stub-v2 framing",
    }
}

/// What a first byte that starts no IP packet says about the server's framing.
fn framing_words(first: u8) -> &'static str {
    match first {
        0xFA | 0x66 => "the header of comp-lzo (or compress lzo)",
        0xFB | 0x69 => "the header of compress (stub or lz4)",
        0x50 => "the header of compress stub-v2 or lz4-v2",
        _ => "a framing this check does not know",
    }
}

fn mac_words(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn dev_type_words(tap: bool, server_tap: bool) -> &'static str {
    match (tap, server_tap) {
        (true, true) => "the server is dev tap",
        (false, false) => "the server is dev tun",
        (true, false) => "the config says dev tap, the server is dev tun",
        (false, true) => "the config says dev tun, the server is dev tap",
    }
}

/// Why nothing came back from a target when the link layer says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// The config's device type is not the server's: the real client connects and gets
    /// no connectivity.
    DevMismatch { tap: bool, server_tap: bool },
    /// On tap, `target` never answered the questions for its MAC (so nothing went to it).
    NoNeighbour {
        target: IpAddr,
        asked: u16,
        decrypted: u32,
    },
}

/// What the link layer says about `target` answering nothing, if anything. Shared by the
/// echoes, `--dns`, `--tcp-connect` and `--http`.
pub(super) fn link_problem(data: &DataOutcome, target: IpAddr) -> Option<LinkProblem> {
    let (tap, server_tap) = data.link?;
    if tap != server_tap {
        return Some(LinkProblem::DevMismatch { tap, server_tap });
    }
    let n = data.neighbour(target).filter(|n| n.mac.is_none())?;
    if !tap || n.asked == 0 {
        return None;
    }
    Some(LinkProblem::NoNeighbour {
        target,
        asked: n.asked,
        decrypted: data.decrypted,
    })
}

pub(super) fn link_words(p: &LinkProblem) -> String {
    match *p {
        LinkProblem::DevMismatch { tap, server_tap } => format!(
            "{}: OpenVPN's client connects with this config but gets no connectivity; make the config's dev match the server's",
            dev_type_words(tap, server_tap)
        ),
        LinkProblem::NoNeighbour {
            target,
            asked,
            decrypted,
        } => format!(
            "{target} did not answer {asked} {} on the tap link ({decrypted} data packets of the server's decrypted)",
            match (target.is_ipv6(), asked) {
                (true, 1) => "neighbour solicitation",
                (true, _) => "neighbour solicitations",
                (false, 1) => "ARP request",
                (false, _) => "ARP requests",
            }
        ),
    }
}

fn unsupported_words(what: &Unsupported) -> String {
    match what {
        Unsupported::DefaultCipher => "no data cipher, so OpenVPN's default BF-CBC, which this check cannot speak (give the client config's cipher, or let the server negotiate with data-ciphers)".into(),
        Unsupported::Cipher(c) => format!("the data cipher {c}, which this check cannot speak"),
        Unsupported::Epoch => "the epoch data format (aead-epoch), which this check cannot speak".into(),
        Unsupported::Compression(c) => format!("compression '{c}', which this check cannot frame"),
        Unsupported::Compressed(a) => format!("{a} compression: it sent a compressed packet, which this check cannot decompress"),
    }
}

/// What the push routes into the tunnel, for words about a target it does not cover.
pub(super) fn pushed_words(routes: &[String]) -> String {
    if routes.is_empty() {
        "no address or route".into()
    } else {
        routes.join(", ")
    }
}

/// How many data packets of the server's decrypted: proof that the tunnel works.
pub(super) fn decrypted_words(decrypted: u32) -> String {
    if decrypted == 0 {
        "nothing came back through the tunnel at all".into()
    } else {
        format!(
            "{decrypted} data {} of the server's decrypted",
            if decrypted == 1 { "packet" } else { "packets" }
        )
    }
}

fn no_path_words(path: &NoPath) -> String {
    let pushed = pushed_words(&path.routes);
    match path.target {
        None => format!("the push names no tunnel address of the server's to ping (pushed: {pushed}); give --ping-address"),
        Some(t) if path.no_address => format!(
            "the server pushed no {} tunnel address to send an echo to {t} from (pushed: {pushed})",
            if t.is_ipv6() { "IPv6 (ifconfig-ipv6)" } else { "IPv4 (ifconfig)" }
        ),
        Some(t) => format!("no pushed route or address covers {t} (pushed: {pushed})"),
    }
}

/// `-v`/`-vv` lines of the data stage's events, `at` worded; `None` for any other event.
pub(super) fn event_line(at: &str, event: &Event) -> Option<String> {
    Some(match event {
        Event::DataReady {
            cipher,
            peer_id,
            keys,
            compression,
        } => ready_words(&DataReady {
            cipher: *cipher,
            peer_id: *peer_id,
            keys: *keys,
            compression: *compression,
        }),
        Event::EchoPlanned { path, count, .. } => format!(
            "echoes: {count} from {} to {} through the tunnel",
            path.source, path.target
        ),
        Event::EchoSent { seq, .. } => format!("{at}: echo request {seq} sent"),
        Event::EchoReply { seq, rtt, .. } => format!(
            "{at}: echo reply {seq}, round trip {:.3} ms",
            rtt.as_secs_f64() * 1000.0
        ),
        Event::DataReceived { kind, len, .. } => format!(
            "{at}: data packet of {len} bytes decrypted: {}",
            match kind {
                DataKind::Keepalive => "the server's keepalive ping".to_string(),
                DataKind::Occ(Some(op)) => format!("an OCC message (opcode {op})"),
                DataKind::Occ(None) => "an OCC message without opcode".to_string(),
                DataKind::NotIp { first } => format!(
                    "no IP packet (first byte {first:#04x}: {})",
                    framing_words(*first)
                ),
                DataKind::Other => "a tunnel packet that is no reply of ours".to_string(),
            }
        ),
        Event::DataIgnored { error, len, .. } => format!(
            "{at}: data packet of {len} bytes ignored: {}",
            data_error_words(error)
        ),
        Event::OccExitSent { .. } => format!("{at}: OCC_EXIT sent on the data channel"),
        Event::LinkLayer {
            tap,
            server_tap,
            mac,
        } => {
            let mut s = format!(
                "link layer: {} ({})",
                if *tap { "Ethernet (tap)" } else { "IP (tun)" },
                dev_type_words(*tap, *server_tap)
            );
            if let Some(m) = mac {
                s.push_str(&format!(", our MAC {}", mac_words(m)));
            }
            s
        }
        Event::NeighbourAsked { target, .. } => format!(
            "{at}: asked for the MAC of {target} ({})",
            if target.is_ipv6() {
                "neighbour solicitation"
            } else {
                "ARP request"
            }
        ),
        Event::NeighbourLearned { target, mac, .. } => {
            format!("{at}: {target} is at {}", mac_words(mac))
        }
        Event::NeighbourAnswered { .. } => {
            format!("{at}: answered the server's question for our MAC")
        }
        _ => return None,
    })
}

fn data_error_words(e: &DataError) -> String {
    match e {
        DataError::Truncated { .. } => "too short".into(),
        DataError::NotData { opcode } => format!("opcode {opcode} is no data packet"),
        DataError::WrongKeyId { got, .. } => format!("for key id {got}"),
        DataError::WrongPeerId { got, .. } => format!("for peer-id {got}, not ours"),
        DataError::Authentication => "its tag or HMAC does not verify".into(),
        DataError::Padding => "bad padding".into(),
        DataError::Length => "bad ciphertext length".into(),
        DataError::Replay { packet_id, .. } => format!("packet id {packet_id} replayed or too old"),
        DataError::PacketIdsExhausted => "no packet id left".into(),
        DataError::Compressed(a) => format!("compressed with {a}"),
        DataError::BadCompressionHeader { byte, .. } => {
            format!("compression header byte {byte:#04x} does not fit the framing")
        }
        DataError::Random => "the system random source failed".into(),
    }
}

fn ready_words(r: &DataReady) -> String {
    let keys = match r.keys {
        KeyDerivation::Ekm => "keys from TLS-EKM",
        KeyDerivation::Prf => "keys from OpenVPN's PRF",
    };
    let peer = match r.peer_id {
        Some(p) => format!("peer-id {p} (P_DATA_V2)"),
        None => "no peer-id (P_DATA_V1)".into(),
    };
    format!(
        "data channel: {}, {keys}, {peer}, {}",
        r.cipher,
        compression_name(r.compression)
    )
}

/// What became of `--ping`'s echoes, after a push.
#[derive(Debug, Clone, PartialEq)]
pub enum Echoes {
    /// The server chose what this check cannot speak: the tunnel was not tried.
    Unsupported(Unsupported),
    /// No pushed route or address to send from or to.
    NoPath(NoPath),
    /// None came back, and the link layer says why.
    LinkSilent {
        target: IpAddr,
        count: u16,
        link: LinkProblem,
    },
    /// No echo was sent.
    NotSetUp,
    /// None came back, and what did starts with a compression header.
    Framed {
        target: IpAddr,
        count: u16,
        first: u8,
    },
    /// None came back, yet the tunnel carries data.
    NoIcmp {
        target: IpAddr,
        count: u16,
        decrypted: u32,
        keepalives: bool,
    },
    /// Nothing at all came back through the tunnel.
    NothingBack {
        target: IpAddr,
        count: u16,
        ready: Option<DataReady>,
        undecrypted: u32,
    },
    /// Replies came: how many, their mean round trip, the loss, and the limit it reached.
    Replies {
        target: IpAddr,
        answered: usize,
        count: u16,
        rta_ms: Option<f64>,
        loss_percent: u32,
        limit: Option<PingLimit>,
    },
}

/// The `--ping-critical` or `--ping-warning` limit the echoes reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PingLimit {
    Critical(PingLimits),
    Warning(PingLimits),
}

/// The verdict of `--ping`, after a push.
pub(super) fn assess(data: &DataOutcome, thresholds: &Thresholds) -> Verdict {
    if let Some(what) = &data.unsupported {
        return Verdict::new(State::Unknown, Echoes::Unsupported(what.clone()));
    }
    if let Some(path) = &data.no_path {
        return Verdict::new(State::Unknown, Echoes::NoPath(path.clone()));
    }
    if let Some(path) = data.path.filter(|_| data.replies.is_empty()) {
        if let Some(link) = link_problem(data, path.target) {
            return Verdict::new(
                State::Critical,
                Echoes::LinkSilent {
                    target: path.target,
                    count: data.count,
                    link,
                },
            );
        }
    }
    let Some(path) = data.path.filter(|_| data.sent > 0) else {
        return Verdict::new(State::Critical, Echoes::NotSetUp);
    };
    let target = path.target;
    let answered = data.replies.len();
    let count = data.count;
    if answered == 0 {
        let echoes = if let Some(first) = data.not_ip {
            Echoes::Framed {
                target,
                count,
                first,
            }
        } else if data.decrypted > 0 {
            Echoes::NoIcmp {
                target,
                count,
                decrypted: data.decrypted,
                keepalives: data.keepalives > 0,
            }
        } else {
            Echoes::NothingBack {
                target,
                count,
                ready: data.ready,
                undecrypted: data.ignored,
            }
        };
        return Verdict::new(State::Critical, echoes);
    }
    let rta_ms = data.rta().map(|d| d.as_secs_f64() * 1000.0);
    let loss_percent = data.loss_percent();
    let reached = |l: &Option<PingLimits>| l.filter(|l| l.alerts(rta_ms, loss_percent));
    let (state, limit) = if let Some(l) = reached(&thresholds.ping_critical) {
        (State::Critical, Some(PingLimit::Critical(l)))
    } else if let Some(l) = reached(&thresholds.ping_warning) {
        (State::Warning, Some(PingLimit::Warning(l)))
    } else {
        (State::Ok, None)
    };
    Verdict::new(
        state,
        Echoes::Replies {
            target,
            answered,
            count,
            rta_ms,
            loss_percent,
            limit,
        },
    )
}

/// The words for the echoes' verdict.
pub(super) fn words(e: &Echoes) -> String {
    match e {
        Echoes::Unsupported(what) => format!(
            "the server chose {}; the login worked, the tunnel was not tried",
            unsupported_words(what)
        ),
        Echoes::NoPath(path) => format!("{}; no echo was sent", no_path_words(path)),
        Echoes::LinkSilent {
            target,
            count,
            link,
        } => format!("0/{count} echoes from {target}: {}", link_words(link)),
        Echoes::NotSetUp => "the data channel was not set up, no echo was sent".into(),
        Echoes::Framed {
            target,
            count,
            first,
        } => format!(
            "0/{count} echoes from {target}, and no data came back that this check can read: the server's packets start with {first:#04x}, {}: the server has compression configured that it does not push; give the check the client config's comp-lzo or compress line",
            framing_words(*first)
        ),
        Echoes::NoIcmp {
            target,
            count,
            decrypted,
            keepalives,
        } => format!(
            "0/{count} echoes from {target}: the tunnel is up but {target} does not answer ICMP ({decrypted} data packets of the server's decrypted{})",
            if *keepalives { ", keepalives among them" } else { "" }
        ),
        Echoes::NothingBack {
            target,
            count,
            ready,
            undecrypted,
        } => format!(
            "0/{count} echoes from {target}, and no data came back through the tunnel at all: look at the data cipher and compression ({}) and at the server's tun device, forwarding or firewall{}",
            ready
                .map(|r| format!("{} with {}", r.cipher, compression_name(r.compression)))
                .unwrap_or_default(),
            if *undecrypted > 0 {
                format!("; {undecrypted} data packets did not decrypt")
            } else {
                String::new()
            }
        ),
        Echoes::Replies {
            target,
            answered,
            count,
            rta_ms,
            loss_percent,
            limit,
        } => {
            let mut text = format!(
                "{answered}/{count} echoes from {target}, rta {:.2} ms",
                rta_ms.unwrap_or(0.0)
            );
            if *loss_percent > 0 {
                text.push_str(&format!(", {loss_percent}% lost"));
            }
            match limit {
                Some(PingLimit::Critical(l)) => {
                    text.push_str(&format!(", at or above the critical limit {l}"))
                }
                Some(PingLimit::Warning(l)) => {
                    text.push_str(&format!(", at or above the warning limit {l}"))
                }
                None => {}
            }
            text
        }
    }
}

/// `rta` (ms) and `pl` (%) once an echo went out; `rta` only when a reply came.
pub(super) fn perfdata(
    data: &DataOutcome,
    thresholds: &Thresholds,
    label: impl Fn(&str) -> String,
) -> Vec<String> {
    if !data.pinged || data.sent == 0 {
        return Vec::new();
    }
    let w = thresholds.ping_warning;
    let c = thresholds.ping_critical;
    let mut out = Vec::new();
    if let Some(rta) = data.rta() {
        out.push(format!(
            "{}={:.6}ms;{};{};0;",
            label("rta"),
            rta.as_secs_f64() * 1000.0,
            w.map(|l| l.rta_ms.to_string()).unwrap_or_default(),
            c.map(|l| l.rta_ms.to_string()).unwrap_or_default(),
        ));
    }
    out.push(format!(
        "{}={}%;{};{};0;100",
        label("pl"),
        data.loss_percent(),
        w.map(|l| l.loss_percent.to_string()).unwrap_or_default(),
        c.map(|l| l.loss_percent.to_string()).unwrap_or_default(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::verdict::Reason;
    use super::*;
    use crate::proto::data::DataCipher;
    use crate::proto::push::EchoPath;
    use std::time::Duration;

    fn said(v: &Verdict) -> String {
        super::super::verdict::words(v)
    }

    fn pinged(replies: &[(u16, u64)], decrypted: u32) -> DataOutcome {
        DataOutcome {
            pinged: true,
            ready: Some(DataReady {
                cipher: DataCipher::Aes256Gcm,
                peer_id: Some(0),
                keys: KeyDerivation::Ekm,
                compression: Compression::None,
            }),
            path: Some(EchoPath {
                source: "10.8.0.2".parse().unwrap(),
                target: "10.8.0.1".parse().unwrap(),
            }),
            count: 3,
            sent: 3,
            replies: replies
                .iter()
                .map(|&(s, us)| (s, Duration::from_micros(us)))
                .collect(),
            decrypted,
            ..Default::default()
        }
    }

    #[test]
    fn tap_verdicts_name_the_link() {
        let none = Thresholds::default();
        let gw: IpAddr = "10.8.0.1".parse().unwrap();
        // ARP asked twice, never answered: no echo could go.
        let unanswered = DataOutcome {
            link: Some((true, true)),
            neighbours: vec![crate::check::NeighbourOutcome {
                ip: gw,
                asked: 2,
                mac: None,
            }],
            sent: 0,
            ..pinged(&[], 4)
        };
        assert_eq!(
            assess(&unanswered, &none),
            Verdict::new(
                State::Critical,
                Echoes::LinkSilent {
                    target: gw,
                    count: 3,
                    link: LinkProblem::NoNeighbour {
                        target: gw,
                        asked: 2,
                        decrypted: 4
                    },
                }
            )
        );
        // The config's dev tun against a tap server: the config's fault, named.
        let mismatch = DataOutcome {
            link: Some((false, true)),
            ..pinged(&[], 5)
        };
        assert_eq!(
            assess(&mismatch, &none),
            Verdict::new(
                State::Critical,
                Echoes::LinkSilent {
                    target: gw,
                    count: 3,
                    link: LinkProblem::DevMismatch {
                        tap: false,
                        server_tap: true
                    },
                }
            )
        );
        // Answered over tap: as over tun.
        let ok = DataOutcome {
            link: Some((true, true)),
            ..pinged(&[(1, 400), (2, 420), (3, 410)], 3)
        };
        assert_eq!(assess(&ok, &none).state, State::Ok);
    }

    #[test]
    fn link_problems_are_each_targets_own() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let n = |a: &str, asked: u16, mac: Option<[u8; 6]>| crate::check::NeighbourOutcome {
            ip: ip(a),
            asked,
            mac,
        };
        let data = DataOutcome {
            link: Some((true, true)),
            neighbours: vec![
                n("10.8.0.1", 1, Some([0x52, 0, 0, 0, 0, 1])),
                n("10.8.0.53", 3, None),
                n("fd00::53", 1, None),
            ],
            decrypted: 2,
            ..Default::default()
        };
        assert_eq!(link_problem(&data, ip("10.8.0.1")), None);
        assert_eq!(
            link_problem(&data, ip("10.8.0.53")),
            Some(LinkProblem::NoNeighbour {
                target: ip("10.8.0.53"),
                asked: 3,
                decrypted: 2
            })
        );
        assert_eq!(
            link_problem(&data, ip("fd00::53")),
            Some(LinkProblem::NoNeighbour {
                target: ip("fd00::53"),
                asked: 1,
                decrypted: 2
            })
        );
        // Never asked (a tun tunnel, or a target nothing went to): nothing to say.
        assert_eq!(link_problem(&data, ip("10.8.0.99")), None);
        let tun = DataOutcome {
            link: None,
            ..data.clone()
        };
        assert_eq!(link_problem(&tun, ip("10.8.0.53")), None);
        // A device type mismatch is said for every target.
        let mismatch = DataOutcome {
            link: Some((false, true)),
            ..data
        };
        assert_eq!(
            link_problem(&mismatch, ip("10.8.0.1")),
            Some(LinkProblem::DevMismatch {
                tap: false,
                server_tap: true
            })
        );
    }

    /// The link layer's words, pinned.
    #[test]
    fn link_words_golden() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let no_neighbour = |t: &str, asked| LinkProblem::NoNeighbour {
            target: ip(t),
            asked,
            decrypted: 2,
        };
        assert_eq!(
            link_words(&no_neighbour("10.8.0.53", 3)),
            "10.8.0.53 did not answer 3 ARP requests on the tap link (2 data packets of the server's decrypted)"
        );
        assert_eq!(
            link_words(&no_neighbour("fd00::53", 1)),
            "fd00::53 did not answer 1 neighbour solicitation on the tap link (2 data packets of the server's decrypted)"
        );
        assert_eq!(
            link_words(&LinkProblem::DevMismatch {
                tap: false,
                server_tap: true
            }),
            "the config says dev tun, the server is dev tap: OpenVPN's client connects with this config but gets no connectivity; make the config's dev match the server's"
        );
    }

    #[test]
    fn verdicts_of_the_echoes() {
        let none = Thresholds::default();
        let gw: IpAddr = "10.8.0.1".parse().unwrap();
        let ok = pinged(&[(1, 400), (2, 420), (3, 410)], 3);
        let v = assess(&ok, &none);
        assert_eq!(v.state, State::Ok);
        assert!(
            matches!(v.reason, Reason::Echoes(Echoes::Replies { target, answered: 3, count: 3, rta_ms: Some(rta), loss_percent: 0, limit: None })
                if target == gw && (rta - 0.41).abs() < 1e-9),
            "{v:?}"
        );
        assert_eq!(
            perfdata(&ok, &none, |l| l.to_string()),
            vec!["rta=0.410000ms;;;0;", "pl=0%;;;0;100"]
        );
        let limits = Thresholds {
            ping_warning: Some("0.3,50%".parse().unwrap()),
            ping_critical: Some("1,60%".parse().unwrap()),
            ..Default::default()
        };
        let lossy = pinged(&[(2, 200)], 1);
        let v = assess(&lossy, &limits);
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(v.reason, Reason::Echoes(Echoes::Replies { answered: 1, count: 3, loss_percent: 66, limit: Some(PingLimit::Critical(l)), .. })
                if l == limits.ping_critical.unwrap()),
            "{v:?}"
        );
        assert_eq!(
            perfdata(&lossy, &limits, |l| l.to_string()),
            vec!["rta=0.200000ms;0.3;1;0;", "pl=66%;50;60;0;100"]
        );
        let v = assess(&ok, &limits);
        assert_eq!(v.state, State::Warning);
        assert!(
            matches!(
                v.reason,
                Reason::Echoes(Echoes::Replies {
                    limit: Some(PingLimit::Warning(_)),
                    ..
                })
            ),
            "{v:?}"
        );
        assert_eq!(
            assess(&pinged(&[], 2), &none),
            Verdict::new(
                State::Critical,
                Echoes::NoIcmp {
                    target: gw,
                    count: 3,
                    decrypted: 2,
                    keepalives: false
                }
            )
        );
        let silent = pinged(&[], 0);
        let v = assess(&silent, &none);
        assert_eq!(v.state, State::Critical);
        assert!(
            matches!(v.reason, Reason::Echoes(Echoes::NothingBack { ready: Some(r), undecrypted: 0, .. }) if r.cipher == DataCipher::Aes256Gcm),
            "{v:?}"
        );
        assert_eq!(
            perfdata(&silent, &none, |l| l.to_string()),
            vec!["pl=100%;;;0;100"]
        );
        let framed = DataOutcome {
            not_ip: Some(0xFA),
            ..pinged(&[], 1)
        };
        assert_eq!(
            assess(&framed, &none),
            Verdict::new(
                State::Critical,
                Echoes::Framed {
                    target: gw,
                    count: 3,
                    first: 0xFA
                }
            )
        );
        let epoch = DataOutcome {
            unsupported: Some(Unsupported::Epoch),
            ..pinged(&[], 0)
        };
        assert_eq!(
            assess(&epoch, &none),
            Verdict::new(State::Unknown, Echoes::Unsupported(Unsupported::Epoch))
        );
        let bf = DataOutcome {
            unsupported: Some(Unsupported::DefaultCipher),
            ..Default::default()
        };
        assert_eq!(
            assess(&bf, &none),
            Verdict::new(
                State::Unknown,
                Echoes::Unsupported(Unsupported::DefaultCipher)
            )
        );
        let unplanned = DataOutcome {
            pinged: true,
            ..Default::default()
        };
        assert_eq!(
            assess(&unplanned, &none),
            Verdict::new(State::Critical, Echoes::NotSetUp)
        );
    }

    /// The echoes' words, pinned for a few verdicts.
    #[test]
    fn echo_words_golden() {
        let none = Thresholds::default();
        let limits = Thresholds {
            ping_critical: Some("1,60%".parse().unwrap()),
            ..Default::default()
        };
        let ok = pinged(&[(1, 400), (2, 420), (3, 410)], 3);
        assert_eq!(
            said(&assess(&ok, &none)),
            "3/3 echoes from 10.8.0.1, rta 0.41 ms"
        );
        assert_eq!(
            said(&assess(&pinged(&[(2, 200)], 1), &limits)),
            "1/3 echoes from 10.8.0.1, rta 0.20 ms, 66% lost, at or above the critical limit 1,60%"
        );
        assert_eq!(
            said(&assess(&pinged(&[], 0), &none)),
            "0/3 echoes from 10.8.0.1, and no data came back through the tunnel at all: look at the data cipher and compression (AES-256-GCM with no compression) and at the server's tun device, forwarding or firewall"
        );
        let framed = DataOutcome {
            not_ip: Some(0xFA),
            ..pinged(&[], 1)
        };
        assert_eq!(
            said(&assess(&framed, &none)),
            "0/3 echoes from 10.8.0.1, and no data came back that this check can read: the server's packets start with 0xfa, the header of comp-lzo (or compress lzo): the server has compression configured that it does not push; give the check the client config's comp-lzo or compress line"
        );
        let bf = DataOutcome {
            unsupported: Some(Unsupported::DefaultCipher),
            ..Default::default()
        };
        assert!(said(&assess(&bf, &none)).contains("BF-CBC"));
    }
}
