//! Writes seed corpora for every fuzz target into `corpus/<target>/` (relative to the
//! current directory: run it from `fuzz/`). Corpora are not kept in git; this and the
//! `openvpn --genkey` commands in README.md recreate them.

#[path = "../fuzz_targets/common.rs"]
mod common;

use check_openvpn::wire::{build_packet, client_reset, server_reset_body, Replay};
use common::{fixed_key, key_from_seed, wkc, wraps, Kind, OURS, SERVER_RESET};
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
        let answer = build_packet(
            &server,
            SERVER_RESET,
            [0xa5; 8],
            REPLAY,
            &server_reset_body(&OURS),
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
        let answer2 = build_packet(&server, SERVER_RESET, [0x5a; 8], REPLAY, &with_payload);
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
        let ack = build_packet(
            &server,
            5 << 3,
            [0xa5; 8],
            REPLAY,
            &server_reset_body(&OURS)[..13],
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
        let packet = build_packet(&server, SERVER_RESET, [0xa5; 8], REPLAY, &body);
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
    println!("seeds written under corpus/");
}
