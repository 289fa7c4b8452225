//! The long output, line by line: each typed fact a check records, in words.

use super::dates::{date, validity_words};
use super::names::{opcode_name, rejection_name, role_name};
use crate::check::{Detail, Exit, LoginEnd, LoginOutcome, Note, TlsOutcome};
use crate::net::Ending;
use crate::proto::login::ControlMessage;
use crate::proto::{Event, Incompatible, ProtocolFailure, TlsFailure, Unreadable};
use std::time::Duration;

pub(super) fn ending_words(e: &Ending) -> String {
    match e {
        Ending::TimedOut => "no answer".into(),
        Ending::Refused => "connection refused".into(),
        Ending::Reset => "connection reset".into(),
        Ending::Closed => "connection closed".into(),
        Ending::FrameTooLong(n) => {
            format!("a {n}-byte frame, longer than any OpenVPN control packet")
        }
        Ending::Failed(e) => format!("network error: {e}"),
    }
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub(super) fn control_words(m: &ControlMessage) -> String {
    match m {
        ControlMessage::PushReply { options, more } => format!(
            "PUSH_REPLY with {} options{}",
            options.len(),
            if *more { ", more to come" } else { "" }
        ),
        ControlMessage::AuthFailed { reason } => match reason {
            Some(r) => format!("AUTH_FAILED: {r}"),
            None => "AUTH_FAILED".into(),
        },
        ControlMessage::AuthPending { timeout } => match timeout {
            Some(t) => format!("AUTH_PENDING, timeout {t} s"),
            None => "AUTH_PENDING".into(),
        },
        ControlMessage::InfoPre(i) => format!("INFO_PRE,{i}"),
        ControlMessage::Info(i) => format!("INFO,{i}"),
        ControlMessage::Restart(m) => format!(
            "RESTART{}",
            m.as_deref().map(|m| format!(",{m}")).unwrap_or_default()
        ),
        ControlMessage::Halt(m) => format!(
            "HALT{}",
            m.as_deref().map(|m| format!(",{m}")).unwrap_or_default()
        ),
        ControlMessage::Exit => "EXIT".into(),
        ControlMessage::Other(o) => format!("unknown message '{o}'"),
    }
}

pub(super) fn failure_words(f: &TlsFailure) -> String {
    match f {
        TlsFailure::Alert { description, .. } => format!("TLS alert {description:?}"),
        TlsFailure::Incompatible(i) => format!("incompatible TLS: {}", incompatible_words(i)),
        TlsFailure::BadSignature(e) => format!("bad handshake signature: {e:?}"),
        TlsFailure::Protocol(p) => protocol_words(p),
    }
}

/// What this check cannot speak: rustls's name for the server's choice, or why no TLS
/// client could be set up.
pub(super) fn incompatible_words(i: &Incompatible) -> String {
    match i {
        Incompatible::Peer(p) => format!("{p:?}"),
        Incompatible::Setup(e) => e.to_string(),
    }
}

/// How a TLS stream broke, or what it carried that OpenVPN does not send.
pub(super) fn protocol_words(p: &ProtocolFailure) -> String {
    match p {
        ProtocolFailure::Rustls(e) => e.to_string(),
        ProtocolFailure::Unreadable(Unreadable::MessageBuffer) => "message buffer full".into(),
        ProtocolFailure::Unreadable(Unreadable::PlaintextBuffer) => {
            "received plaintext buffer full".into()
        }
        ProtocolFailure::NoCertificate => "the server sent no certificate".into(),
        ProtocolFailure::OversizedPlaintext => {
            "the server sent more unparsable data than any OpenVPN message".into()
        }
        ProtocolFailure::NotKeyMethod2 => {
            "the server's first message after TLS is not key-method 2".into()
        }
        ProtocolFailure::NoDataKeys => "no keys for the data channel".into(),
    }
}

/// The long-output line of one [`Detail`].
pub fn detail_line(detail: &Detail) -> String {
    match detail {
        Detail::Note(n) => note_line(n),
        Detail::SessionId { addr, id } => format!("{addr}: our session id {}", hex::encode(id)),
        Detail::SentFrom { addr, local } => format!("{addr}: sent from {local}"),
        Detail::RecvBuffer { asked, granted } => format!(
            "UDP receive buffer: asked for {asked} bytes, the kernel granted {granted} (net.core.rmem_max caps it)"
        ),
        Detail::ResetSent {
            attempt,
            opcode,
            len,
        } => format!(
            "attempt {attempt}: sending {}, {len} bytes",
            opcode_name(*opcode)
        ),
        Detail::Hex { outgoing, bytes } => format!(
            "  {} {}",
            if *outgoing { ">" } else { "<" },
            hex::encode(bytes)
        ),
        Detail::BadHmacReset { at, len } => format!(
            "{}: received {len} bytes: server reset for our session, HMAC does not verify",
            ms(*at)
        ),
        Detail::ServerSession { id } => format!("server session id: {}", hex::encode(id)),
        Detail::AskedAgain { probe } => format!(
            "our ClientHello went unanswered, yet the server answered the probing hello in {} with a choice this check speaks: asking again with our own",
            ms(*probe)
        ),
        Detail::ResendWkc => {
            "the server answered statelessly and asked for the wrapped client key again".into()
        }
        Detail::IgnoredTotals(totals) => format!(
            "ignored packets: {}",
            totals
                .iter()
                .map(|(reason, n)| format!("{n} {}", rejection_name(*reason)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Detail::TraceStopped { after } => {
            format!("(more packets arrived; the trace stops after {after} lines)")
        }
        Detail::Event { at, event } => event_line(*at, event),
    }
}

/// The long-output line of one of the session's events, `at` after the flow opened.
fn event_line(at: Duration, event: &Event) -> String {
    let at = ms(at);
    match event {
        Event::Ignored {
            len,
            reason,
            opcode,
            ..
        } => format!(
            "{at}: ignored {len} bytes ({}, opcode {opcode} {})",
            rejection_name(*reason),
            opcode_name(*opcode)
        ),
        Event::Packet {
            outgoing: true,
            bytes,
            ..
        } => format!(
            "{at}: sent {}, {} bytes",
            opcode_name(bytes.first().map_or(0, |b| b >> 3)),
            bytes.len()
        ),
        Event::Responded { len, .. } => format!("{at}: received {len} bytes (not validated)"),
        Event::ResetAnswered { .. } => format!("{at}: received a valid server reset"),
        Event::TlsFailed { failure, .. } => {
            format!("{at}: TLS failed: {}", failure_words(failure))
        }
        Event::KeySent { .. } => format!("{at}: sent our key-method 2 message"),
        Event::ServerKeyMethod2 { .. } => {
            format!("{at}: received the server's key-method 2 message")
        }
        Event::PushRequested { .. } => format!("{at}: sent PUSH_REQUEST"),
        Event::Control { message, .. } => format!("{at}: received {}", control_words(message)),
        Event::ExitSent { .. } => format!("{at}: sent EXIT"),
        Event::ExitAcked { .. } => format!("{at}: the server acknowledged our EXIT"),
        data => super::ping::event_line(&at, data).unwrap_or_default(),
    }
}

/// The `-v` line for a fact about the check's settings.
pub fn note_line(note: &Note) -> String {
    match note {
        Note::ConfigRemote {
            config,
            host,
            port,
            proto,
            used,
        } => format!(
            "config {config}: remote {host} {} {}{}",
            port.map(|p| p.to_string()).unwrap_or_default(),
            proto.map(super::names::proto_name).unwrap_or_default(),
            if *used { " (used)" } else { " (not used)" }
        ),
        Note::StaticKey {
            wrap,
            source,
            fingerprint,
            tls_auth,
        } => match tls_auth {
            Some((direction, digest)) => format!(
                "{wrap} key: {source} (sha256 {fingerprint}…), key direction {direction}, digest {digest}"
            ),
            None => format!("{wrap} key: {source} (sha256 {fingerprint}…)"),
        },
        Note::V2Key {
            source,
            fingerprint,
            wrapped_len,
        } => format!(
            "tls-crypt-v2 client key: {source} (sha256 {fingerprint}…, wrapped key {wrapped_len} bytes)"
        ),
        Note::HexKeys {
            client,
            server,
            digest,
        } => format!(
            "tls-auth hex keys: client sha256 {client}…, server {}, digest {digest}",
            server
                .as_ref()
                .map(|s| format!("sha256 {s}…"))
                .unwrap_or_else(|| "not given".into())
        ),
        Note::LoosePermissions { path, mode } => format!(
            "warning: {path} is accessible by group or others (mode {mode:04o}); keys should be private"
        ),
        Note::CaCertificates { count, from } => format!("CA certificates: {count} from {from}"),
        Note::ClientCertificate {
            source,
            common_name,
            fingerprint,
            key,
        } => format!(
            "client certificate: {source} (CN={}, sha256 {}…), key {key}",
            common_name.as_deref().unwrap_or("?"),
            &fingerprint[..fingerprint.len().min(16)]
        ),
        Note::AuthUserPass { source, user } => {
            format!("auth-user-pass: {source} (user {user})")
        }
        Note::LocalAddress { name, address } => {
            format!("local {name}: the probe's source address is {address}")
        }
        Note::WeakClientKey { source, bits } => format!(
            "warning: the client key {source} is RSA with {bits} bits: OpenVPN 2.6 still accepts it, but under 2048 bits it is weak; make a new key of 2048 bits or more (or EC) on the next renewal"
        ),
        Note::ChallengeAnswered { secret, format } => format!(
            "static-challenge: answered with the TOTP code from {secret} ({format})"
        ),
        Note::Addresses { host, addresses } => format!(
            "addresses of {host}: {} ({} resolved)",
            addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            addresses.len()
        ),
    }
}

/// `-v` lines of the login stage: the server's key-method 2 details and what it pushed.
pub(super) fn login_lines(
    login: &LoginOutcome,
    thresholds: &super::state::Thresholds,
    now_unix: i64,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) = &login.server_key {
        out.push(format!("server key-method 2 options: {}", k.options));
        if !k.peer_info.is_empty() {
            out.push(format!(
                "server peer info: {}",
                k.peer_info.trim_end().replace('\n', ", ")
            ));
        }
    }
    if login.push_requested {
        out.push("the server did not push unprompted: sent PUSH_REQUEST".into());
    }
    if let LoginEnd::Pushed(reply) = &login.end {
        for o in reply.options() {
            out.push(format!("pushed: {o}"));
        }
    }
    if let Some((pushed, _)) = &login.compression_refused {
        out.push(format!(
            "compression: a 2.6+ client stops on the pushed '{pushed}' (\"server pushed compression settings that are not allowed\") and starts over, never connecting; allow it in the client config (allow-compression asym: decompress only) or stop pushing compression on the server"
        ));
    }
    if let Some(d) = &login.data.dns {
        let v = super::dns::assess(d, &login.data);
        out.push(format!("DNS [{}]: {}", v.state, super::verdict::words(&v)));
    }
    if let Some(t) = &login.data.tcp {
        let v = super::tcp::assess(t, &login.data);
        out.push(format!("TCP [{}]: {}", v.state, super::verdict::words(&v)));
    }
    if let Some(h) = &login.data.http {
        let v = super::http::assess(h, &login.data, thresholds, now_unix);
        out.push(format!("HTTP [{}]: {}", v.state, super::verdict::words(&v)));
        if let Some((name, (address, rtt))) = h
            .question
            .name
            .as_ref()
            .zip(h.lookup.as_ref().and_then(|l| l.resolved))
        {
            out.push(format!(
                "HTTP: {name} is {address} (looked up in {})",
                ms(rtt)
            ));
        }
        if let Some((version, chain)) = &h.tls {
            for c in chain {
                out.push(format!(
                    "HTTPS {version}: {} {}; issuer {}; {}",
                    if c.role == crate::chain::Role::Leaf {
                        "certificate"
                    } else {
                        "intermediate"
                    },
                    c.short_name(),
                    c.issuer,
                    validity_words(c, now_unix)
                ));
            }
        }
    }
    if login.exit == Exit::Acked {
        out.push("EXIT sent and acknowledged: the server frees the session".into());
    }
    if login.data.occ_exit {
        out.push(
            "OCC_EXIT sent on the data channel (no cc-exit pushed): the server frees the session"
                .into(),
        );
    }
    out
}

/// `-v` lines for each certificate of a judged chain.
pub(super) fn chain_lines(tls: &TlsOutcome, now: i64) -> Vec<String> {
    let Some(j) = &tls.judgement else {
        return Vec::new();
    };
    let mut lines: Vec<String> = j
        .certs
        .iter()
        .map(|c| {
            format!(
                "{}: {}; issuer {}; valid {} to {} ({}); {}; sha256 {}",
                role_name(c.role),
                c.subject,
                c.issuer,
                date(c.not_before),
                date(c.not_after),
                validity_words(c, now),
                c.key,
                c.sha256
            )
        })
        .collect();
    match (j.pinned, j.verified) {
        (Some("verify-hash"), _) => lines.push(
            "verify-hash: the CA certificate that issued the server's matches".into(),
        ),
        (Some(_), true) => lines.push(
            "peer-fingerprint: the server's certificate matches, and its chain leads to the ca"
                .into(),
        ),
        (Some(_), false) => lines.push(
            "peer-fingerprint: the server's certificate matches; with no ca nothing else of it is verified, its dates included, as OpenVPN's client does not verify them".into(),
        ),
        (None, _) => {}
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed failures read as the check has always worded them (rustls's own names
    /// and messages, and ours).
    #[test]
    fn tls_failures_keep_their_words() {
        let alert = TlsFailure::Alert {
            description: rustls::AlertDescription::HandshakeFailure,
            before_server_hello: true,
        };
        assert_eq!(failure_words(&alert), "TLS alert HandshakeFailure");
        let peer = TlsFailure::Incompatible(Incompatible::Peer(
            rustls::PeerIncompatible::NoCipherSuitesInCommon,
        ));
        assert_eq!(
            failure_words(&peer),
            "incompatible TLS: NoCipherSuitesInCommon"
        );
        let signature = TlsFailure::BadSignature(rustls::CertificateError::BadSignature);
        assert_eq!(
            failure_words(&signature),
            "bad handshake signature: BadSignature"
        );
        let garbage = TlsFailure::Protocol(ProtocolFailure::Rustls(rustls::Error::DecryptError));
        assert_eq!(failure_words(&garbage), "cannot decrypt peer's message");
        for (p, words) in [
            (
                ProtocolFailure::NotKeyMethod2,
                "the server's first message after TLS is not key-method 2",
            ),
            (
                ProtocolFailure::Unreadable(Unreadable::PlaintextBuffer),
                "received plaintext buffer full",
            ),
            (
                ProtocolFailure::NoCertificate,
                "the server sent no certificate",
            ),
        ] {
            assert_eq!(failure_words(&TlsFailure::Protocol(p)), words);
        }
    }
}
