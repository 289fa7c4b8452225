//! Writes seed corpora for every fuzz target into `corpus/<target>/` (relative to the
//! current directory: run it from `fuzz/`). Corpora are not kept in git; this and the
//! `openvpn --genkey` commands in README.md recreate them.

#[path = "../fuzz_targets/common.rs"]
mod common;

use check_openvpn::keys::static_keys::StaticKey;
use check_openvpn::proto::packet::{client_reset, encode_body, seal, server_reset_body};
use check_openvpn::wire::{byte0, Replay};
use common::{fixed_key, key_from_seed, wkc, wraps, Kind, OURS, SERVER_RESET, THEIRS};
use std::fs;
use std::path::Path;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("create corpus folder");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

const REPLAY: Replay = Replay {
    packet_id: 1,
    net_time: 0x6650_0000,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn static_key_text(bytes: &[u8]) -> String {
    let mut t = String::from(
        "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n",
    );
    for chunk in bytes.chunks(16) {
        t.push_str(&hex(chunk));
        t.push('\n');
    }
    t.push_str("-----END OpenVPN Static key V1-----\n");
    t
}

fn v2_key_text(bytes: &[u8]) -> String {
    let mut t = String::from("-----BEGIN OpenVPN tls-crypt-v2 client key-----\n");
    for line in base64(bytes).as_bytes().chunks(64) {
        t.push_str(std::str::from_utf8(line).unwrap());
        t.push('\n');
    }
    t.push_str("-----END OpenVPN tls-crypt-v2 client key-----\n");
    t
}

fn main() {
    let key = fixed_key();
    let key_bytes: Vec<u8> = (0..=255u8)
        .map(|i| i.wrapping_mul(167).wrapping_add(0x3c))
        .collect();

    // response: selector byte + packet.
    let selectors: &[(u8, &str)] = &[
        (0x00, "none"),
        (0x05, "tls-auth-sha1"),
        (0x0d, "tls-auth-sha256"),
        (0x15, "tls-auth-sha512"),
        (0x4d, "tls-auth-sha256-half"),
        (0x81, "tls-auth-md5-1byte"),
        (0xc5, "tls-auth-sha1-unchecked"),
        (0x02, "tls-crypt"),
        (0x03, "tls-crypt-v2"),
    ];
    for &(sel, name) in selectors {
        let kind = Kind::any_from_byte(sel);
        let (client, server) = wraps(kind, &key);
        let answer = seal(
            &server,
            SERVER_RESET,
            [0xa5; 8],
            REPLAY,
            &server_reset_body(&OURS),
            true,
        );
        write(
            "response",
            &format!("{name}-answer"),
            &[&[sel][..], &answer].concat(),
        );
        let mut with_payload = server_reset_body(&OURS);
        with_payload[0] = 2;
        with_payload.splice(1..1, [0, 0, 0, 9]);
        with_payload.extend_from_slice(&[0, 1, 0, 2, 0, 0]);
        let answer2 = seal(&server, SERVER_RESET, [0x5a; 8], REPLAY, &with_payload, true);
        write(
            "response",
            &format!("{name}-answer-2acks-tlv"),
            &[&[sel][..], &answer2].concat(),
        );
        let own = client_reset(&client, OURS, REPLAY);
        write(
            "response",
            &format!("{name}-client-reset"),
            &[&[sel][..], &own].concat(),
        );
        let ack = seal(
            &server,
            5 << 3,
            [0xa5; 8],
            REPLAY,
            &server_reset_body(&OURS)[..13],
            true,
        );
        write(
            "response",
            &format!("{name}-ack"),
            &[&[sel][..], &ack].concat(),
        );
        write(
            "response",
            &format!("{name}-truncated"),
            &[&[sel][..], &answer[..answer.len() - 3]].concat(),
        );
    }

    // unwrap: 53 fixed bytes (see fuzz_targets/unwrap.rs) + packet or body.
    let seed = [0x11u8; 32];
    for (sel, name) in [
        (0x06u8, "tls-auth-sha1"),
        (0x0c, "tls-auth-sha256"),
        (0x01, "tls-crypt"),
        (0x02, "tls-crypt-v2"),
        (0x84, "tls-auth-sha1-1byte"),
        (0xc3, "tls-auth-md5-bidir"),
    ] {
        let kind = Kind::signed_from_byte(sel);
        let fixed = |mode: u8| -> Vec<u8> {
            let mut f = vec![sel, mode, 0x01, 0x23, SERVER_RESET];
            f.extend_from_slice(&seed);
            f.extend_from_slice(&[0xa5; 8]);
            f.extend_from_slice(&[0, 0, 0, 1, 0x66, 0x50, 0, 0]);
            f
        };
        let body = server_reset_body(&OURS);
        for mode in [1u8, 2] {
            write(
                "unwrap",
                &format!("{name}-mode{mode}"),
                &[fixed(mode), body.clone()].concat(),
            );
        }
        let (_, server) = wraps(kind, &key_from_seed(&seed));
        let packet = seal(&server, SERVER_RESET, [0xa5; 8], REPLAY, &body, true);
        write(
            "unwrap",
            &format!("{name}-mode0"),
            &[fixed(0), packet].concat(),
        );
    }

    // static_key
    write(
        "static_key",
        "genkey",
        static_key_text(&key_bytes).as_bytes(),
    );
    write(
        "static_key",
        "crlf-junk",
        format!(
            "junk\r\n{}trailing\r\n",
            static_key_text(&key_bytes).replace('\n', "\r\n")
        )
        .as_bytes(),
    );
    write(
        "static_key",
        "short",
        static_key_text(&key_bytes[..240]).as_bytes(),
    );

    // v2_key
    let v2 = [&key_bytes[..], &wkc()].concat();
    write("v2_key", "client", v2_key_text(&v2).as_bytes());
    let mut bad_len = v2.clone();
    let n = bad_len.len();
    bad_len[n - 2..].copy_from_slice(&0xffffu16.to_be_bytes());
    write(
        "v2_key",
        "wkc-length-past-end",
        v2_key_text(&bad_len).as_bytes(),
    );

    // config
    let configs = [
        ("typical", "client\ndev tun\nproto udp\nremote vpn.example.org 1194\nremote vpn2.example.org 443 tcp\nresolv-retry infinite\nauth SHA512\ntls-auth ta.key 1\ncipher AES-256-GCM\n".to_string()),
        ("inline-tls-auth", format!("client\nremote h 1194 udp\nkey-direction 1\n<tls-auth>\n{}</tls-auth>\n", static_key_text(&key_bytes))),
        ("inline-tls-crypt", format!("remote h\n<tls-crypt>\n{}</tls-crypt>\n", static_key_text(&key_bytes))),
        ("inline-v2", format!("remote h\ntls-crypt-v2 [inline]\n<tls-crypt-v2>\n{}</tls-crypt-v2>\n", v2_key_text(&v2))),
        ("connections", "<connection>\nremote a 1194\nproto tcp-client\n</connection>\n<connection>\nremote b\n</connection>\n".to_string()),
        ("quotes", "tls-auth \"my keys/ta.key\" 1\nremote 'a b' 1194 # c\nport 443\n; x\n--proto udp6\n".to_string()),
    ];
    for (name, text) in configs {
        write("config", name, text.as_bytes());
    }

    // range: 8 bytes of f64 + text
    for (i, text) in [
        "10", "10:", "~:10", "10:20", "@10:20", "0.5", "~:0.25", "@~:", "-1:1e3",
    ]
    .iter()
    .enumerate()
    {
        let v = [5.0f64, -1.0, 10.5, 20.0, 15.0, 0.51, 0.3, 0.0, 7.0][i];
        write(
            "range",
            &format!("r{i}"),
            &[&v.to_le_bytes()[..], text.as_bytes()].concat(),
        );
    }
    control_packet_seeds(&key);
    reliable_seeds();
    session_seeds();
    println!("seeds written under corpus/");
}

/// control_packet: selector byte (bits 0-1 the mode, see `common::control_packet`) + data.
fn control_packet_seeds(key: &StaticKey) {
    let header = |opcode: u8| [&[byte0(opcode, 0)][..], &THEIRS].concat();
    let bodies: [(&str, u8, Vec<u8>); 6] = [
        (
            "control",
            4,
            encode_body(&[0], &OURS, Some(1), b"\x16\x03\x03\x00\x02hi"),
        ),
        (
            "control-4acks",
            4,
            encode_body(&[1, 2, 3, 4], &OURS, Some(2), b"x"),
        ),
        ("ack", 5, encode_body(&[1, 2], &OURS, None, &[])),
        (
            "server-reset-tlv",
            8,
            [&server_reset_body(&OURS)[..], &[0, 1, 0, 2, 0, 1]].concat(),
        ),
        ("wkc", 11, encode_body(&[], &OURS, Some(1), &wkc())),
        ("data-v2", 9, vec![0, 0, 0, 1, 2, 3]),
    ];
    for (name, opcode, body) in &bodies {
        let packet = [header(*opcode), body.clone()].concat();
        write(
            "control_packet",
            &format!("plain-{name}"),
            &[&[0u8][..], &packet].concat(),
        );
        // Mode 2: the same packet raw, opened with every wrap (tls-auth SHA256).
        write(
            "control_packet",
            &format!("open-{name}"),
            &[&[0x0eu8][..], &packet].concat(),
        );
        // Mode 3: sealed and opened by tls-auth, tls-crypt, tls-crypt-v2.
        for (sel, wrap) in [
            (0x03u8, "tls-auth"),
            (0x07, "tls-crypt"),
            (0x0b, "tls-crypt-v2"),
        ] {
            write(
                "control_packet",
                &format!("sealed-{wrap}-{name}"),
                &[&[sel][..], &packet].concat(),
            );
        }
    }
    for (name, tlv) in [
        ("flags", &[0u8, 1, 0, 2, 0, 1][..]),
        ("unknown-then-flags", &[0, 9, 0, 1, 0xff, 0, 1, 0, 2, 0, 1]),
        ("truncated", &[0, 1, 0, 2, 0]),
        ("flags-wrong-length", &[0, 1, 0, 3, 0, 1, 2]),
    ] {
        write(
            "control_packet",
            &format!("tlv-{name}"),
            &[&[1u8][..], tlv].concat(),
        );
    }
    // Mode 2 with a packet the server side really sealed (tls-auth SHA256, tls-crypt).
    for (sel, kind, name) in [
        (0x0eu8, Kind::any_from_byte(0x0d), "tls-auth"),
        (0x02, Kind::TlsCrypt, "tls-crypt"),
    ] {
        let (_, server) = wraps(kind, key);
        let body = encode_body(&[1], &OURS, Some(1), b"\x16\x03\x03\x00\x00");
        let packet = seal(&server, byte0(4, 0), THEIRS, REPLAY, &body, true);
        write(
            "control_packet",
            &format!("open-sealed-{name}"),
            &[&[sel][..], &packet].concat(),
        );
    }
}

/// reliable: 2 setup bytes + operations (see `common::reliable`).
fn reliable_seeds() {
    const PUSH: u8 = 0;
    const ACKS: u8 = 1;
    const MESSAGE: u8 = 2;
    const POLL: u8 = 3;
    const DRAIN: u8 = 4;
    const READ: u8 = 5;
    const ACK_LATER: u8 = 6;
    let push = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| [PUSH, 3, b'a' + i as u8, b'b', b'c'])
            .collect()
    };
    let mut window = vec![1u8, 5, ACK_LATER, 0];
    window.extend(push(8));
    window.extend([
        DRAIN, 0, ACKS, 2, 1, 2, DRAIN, 0, DRAIN, 2, DRAIN, 4, DRAIN, 8,
    ]);
    window.extend([
        MESSAGE, 2, 1, b'b', MESSAGE, 1, 1, b'a', READ, READ, READ, DRAIN, 0,
    ]);
    window.extend([ACKS, 6, 3, 4, 5, 6, 7, 8, DRAIN, 0]);
    write("reliable", "window", &window);

    let mut stream = vec![0u8, 50];
    stream.extend(push(3));
    stream.extend([DRAIN, 0, POLL, 255, DRAIN, 255, ACKS, 3, 1, 2, 3, DRAIN, 0]);
    write("reliable", "stream", &stream);

    let mut receive = vec![1u8, 1];
    for id in [12u8, 13, 2, 1, 1, 3, 0x7f] {
        receive.extend([MESSAGE, id, 2, id, id]);
    }
    receive.extend([MESSAGE, 0x80, 0xff, 0xff, 0xff, 0xff, 0]);
    receive.extend([POLL, 0, READ, READ, READ, READ, DRAIN, 0]);
    for id in 1..40u8 {
        receive.extend([MESSAGE, id, 0]);
    }
    receive.extend([DRAIN, 0, READ]);
    write("reliable", "receive", &receive);

    let mut backoff = vec![1u8, 255];
    backoff.extend(push(1));
    for _ in 0..8 {
        backoff.extend([DRAIN, 255, 7, 0xff, 0xff]);
    }
    write("reliable", "backoff", &backoff);
}

/// A TLS record of `content_type` holding `body`, as operation 6 of the `session` target
/// frames it (its header is added by the harness): type, u16 length, body, message id.
fn session_record_op(content_type: u8, body: &[u8], id: u8) -> Vec<u8> {
    [
        &[6u8, content_type][..],
        &(body.len() as u16).to_be_bytes(),
        body,
        &[id],
    ]
    .concat()
}

/// One handshake message: type, u24 length, body.
fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[kind][..], &(body.len() as u32).to_be_bytes()[1..], body].concat()
}

/// session: flags, our session id, operations (see `common::session`).
fn session_seeds() {
    let sid = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let start = |flags: u8| [&[flags][..], &sid].concat();

    // TLS 1.2: ServerHello (ECDHE-RSA-AES128-GCM-SHA256, extended master secret),
    // Certificate (one junk certificate), ServerKeyExchange (x25519, junk signature),
    // ServerHelloDone.
    let mut hello = vec![3u8, 3];
    hello.extend_from_slice(&[0x42; 32]);
    hello.push(0);
    hello.extend_from_slice(&[0xc0, 0x2f, 0]);
    hello.extend_from_slice(&[0, 4, 0x00, 0x17, 0, 0]);
    let cert = [0x30u8, 0x03, 0x02, 0x01, 0x01];
    let certs = [&(cert.len() as u32).to_be_bytes()[1..], &cert[..]].concat();
    let certificate = [&(certs.len() as u32).to_be_bytes()[1..], &certs[..]].concat();
    let mut kx = vec![3u8, 0x00, 0x1d, 32];
    kx.extend_from_slice(&[9; 32]);
    kx.extend_from_slice(&[0x08, 0x04, 0, 4, 1, 2, 3, 4]);
    let flight = [
        handshake(2, &hello),
        handshake(11, &certificate),
        handshake(12, &kx),
        handshake(14, &[]),
    ]
    .concat();
    for (flags, name) in [(0u8, "udp"), (1, "tcp"), (2, "trace"), (4, "compat")] {
        let mut s = start(flags);
        s.extend([2, 1, 1]); // ack our hello
        s.extend(session_record_op(22, &flight, 1));
        s.extend([4, 40]);
        write("session", &format!("tls12-flight-{name}"), &s);
    }
    // The same flight cut in two records, second first.
    let (a, b) = flight.split_at(60);
    let mut s = start(0);
    s.extend(session_record_op(22, b, 2));
    s.extend(session_record_op(22, a, 1));
    write("session", "tls12-flight-reordered", &s);

    // A ServerHello header announcing 16 MB, then filler.
    let mut s = start(0);
    let mut huge = vec![2u8, 0xff, 0xff, 0xff];
    huge.extend_from_slice(&[0x41; 200]);
    s.extend(session_record_op(22, &huge, 1));
    for id in 2..8u8 {
        s.extend(session_record_op(22, &[0x41; 300], id));
    }
    write("session", "endless-handshake", &s);

    // A fatal alert before any ServerHello.
    let mut s = start(0);
    s.extend(session_record_op(21, &[2, 40], 1));
    write("session", "alert", &s);

    // Junk in a control packet, out-of-window ids, a foreign session, the reset again,
    // a soft reset, an ack then silence until the deadlines.
    let mut s = start(0);
    s.extend([1, 1, 1, 1, 0, 16]);
    s.extend_from_slice(b"not tls at all!!");
    s.extend([1, 0x80, 0, 0, 3, 0xe8, 0, 0, 4, 0xff, 0xff]);
    s.extend([7, 1, 3, 5, 3 << 3, 1, 0, 0]);
    s.extend([2, 1, 1, 4, 255, 4, 255]);
    write("session", "junk-and-strays", &s);

    let mut s = start(0);
    s.extend([0, 0, 9]);
    s.extend_from_slice(&[0x20, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
    write("session", "raw-header-only", &s);
}
