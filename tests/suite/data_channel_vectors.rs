//! The data-channel codec against known answers computed by Python's `cryptography` and the
//! openssl CLI's TLS1-PRF (`scripts/gen-data-channel-vectors`), not by this crate.

use check_openvpn::digest::Digest;
use check_openvpn::proto::data::icmp::{parse_echo_reply, EchoReply, EchoRequest};
use check_openvpn::proto::data::{
    Compression, DataChannel, DataCipher, DataConfig, Decapsulated, KeyBlock, Side,
};
use std::collections::HashSet;
use std::net::IpAddr;

fn vectors(kind: &str) -> Vec<Vec<&'static str>> {
    include_str!("../data/data-channel-vectors.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f[0] == kind)
        .collect()
}

fn bytes(field: &str) -> Vec<u8> {
    if field == "-" {
        vec![]
    } else {
        hex::decode(field).unwrap()
    }
}

#[test]
fn prf_matches_openssl_tls1_prf() {
    let v = vectors("prf");
    assert!(v.len() >= 4);
    for f in v {
        let client: [u8; 112] = bytes(f[1]).try_into().unwrap();
        let server: [u8; 64] = bytes(f[2]).try_into().unwrap();
        let csid: [u8; 8] = bytes(f[3]).try_into().unwrap();
        let ssid: [u8; 8] = bytes(f[4]).try_into().unwrap();
        let block = KeyBlock::from_prf(&client, &server, &csid, &ssid);
        assert_eq!(hex::encode(block.as_bytes()), f[5]);
    }
}

#[derive(Default)]
struct Seen {
    ciphers: HashSet<DataCipher>,
    digests: HashSet<Digest>,
    framings: HashSet<(bool, String)>,
}

/// Builds the sender and the receiver of a vector's packet.
fn codecs(f: &[&str]) -> (DataChannel, DataChannel, DataConfig) {
    let sender = match f[1] {
        "client" => Side::Client,
        "server" => Side::Server,
        other => panic!("side {other}"),
    };
    let receiver = match sender {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    };
    let config = DataConfig {
        cipher: f[2].parse().unwrap(),
        auth: f[3].parse().unwrap(),
        peer_id: (f[4] != "-").then(|| f[4].parse().unwrap()),
        key_id: f[5].parse().unwrap(),
        compression: match f[6] {
            "none" => Compression::None,
            "lzo" => Compression::Lzo,
            "swap" => Compression::Swap,
            "v2" => Compression::V2,
            other => panic!("compression {other}"),
        },
    };
    let block = KeyBlock::from_ekm(&bytes(f[9])).unwrap();
    (
        DataChannel::new(config, &block, sender),
        DataChannel::new(config, &block, receiver),
        config,
    )
}

#[test]
fn packets_match_python_cryptography_both_ways() {
    let mut seen = Seen::default();
    let mut pair: Option<(String, DataChannel, DataChannel)> = None;
    let (mut wire, mut out) = (Vec::new(), Vec::new());
    let mut count = 0;
    for f in vectors("packet") {
        // Consecutive lines with the same sender, settings and key are one packet sequence.
        let id = [f[1], f[2], f[3], f[4], f[5], f[6], f[9]].join(" ");
        if pair.as_ref().is_none_or(|(k, _, _)| *k != id) {
            let (s, r, _) = codecs(&f);
            pair = Some((id, s, r));
        }
        let (_, sender, receiver) = pair.as_mut().unwrap();
        let packet_id: u32 = f[7].parse().unwrap();
        let payload = bytes(f[10]);
        let expected = bytes(f[11]);
        let config = *sender.config();
        assert_eq!(sender.last_sent_packet_id() + 1, packet_id);
        let iv: [u8; 16] = if f[8] == "-" {
            [0; 16]
        } else {
            bytes(f[8]).try_into().unwrap()
        };
        let built = sender
            .encapsulate_with_iv(&payload, &iv, &mut wire)
            .unwrap();
        assert_eq!(
            hex::encode(built),
            f[11],
            "encapsulate: {}",
            f[..8].join(" ")
        );
        assert_eq!(
            receiver.decapsulate(&expected, &mut out).unwrap(),
            Decapsulated::Data(&payload),
            "decapsulate: {}",
            f[..8].join(" ")
        );
        seen.ciphers.insert(config.cipher);
        if !config.cipher.is_aead() {
            seen.digests.insert(config.auth);
        }
        seen.framings
            .insert((config.peer_id.is_some(), f[6].to_string()));
        count += 1;
    }
    assert_eq!(
        seen.ciphers.len(),
        DataCipher::ALL.len(),
        "a cipher has no vectors"
    );
    assert_eq!(seen.digests.len(), 3, "SHA1, SHA256, SHA512 for CBC");
    assert_eq!(
        seen.framings.len(),
        8,
        "every framing with and without peer-id"
    );
    assert!(count >= 100);
}

#[test]
fn icmp_matches_python() {
    let (mut requests, mut replies) = (0, 0);
    for f in vectors("icmp") {
        let source: IpAddr = f[2].parse().unwrap();
        let destination: IpAddr = f[3].parse().unwrap();
        let identifier: u16 = f[4].parse().unwrap();
        let sequence: u16 = f[5].parse().unwrap();
        let payload = bytes(f[6]);
        let packet = bytes(f[7]);
        match f[1] {
            "request" => {
                let mut out = Vec::new();
                EchoRequest {
                    source,
                    destination,
                    identifier,
                    sequence,
                    payload: &payload,
                }
                .encode(&mut out)
                .unwrap();
                assert_eq!(hex::encode(&out), f[7], "request {}", f[1..6].join(" "));
                requests += 1;
            }
            "reply" => {
                assert_eq!(
                    parse_echo_reply(&packet).unwrap(),
                    EchoReply {
                        source,
                        destination,
                        identifier,
                        sequence,
                        payload: &payload,
                    }
                );
                replies += 1;
            }
            other => panic!("icmp kind {other}"),
        }
    }
    assert!(requests >= 16 && replies >= 16);
}
