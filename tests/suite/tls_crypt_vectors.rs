//! tls-crypt wrap and unwrap against packets built by the openssl CLI
//! (`scripts/gen-tls-crypt-vectors`), not by this crate.

use check_openvpn::keys::static_keys::StaticKey;
use check_openvpn::proto::packet::{client_reset, validate_server_reset};
use check_openvpn::wire::{Auth, Replay, Wrap, WrapPair};

struct Vector {
    side: String,
    key: StaticKey,
    session_id: [u8; 8],
    replay: Replay,
    body: Vec<u8>,
    wire: Vec<u8>,
}

fn vectors() -> Vec<Vector> {
    include_str!("../data/tls-crypt-vectors.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 8, "{line}");
            let key: [u8; 256] = hex::decode(f[1]).unwrap().try_into().unwrap();
            Vector {
                side: f[0].to_string(),
                key: StaticKey::from_bytes(key),
                session_id: hex::decode(f[3]).unwrap().try_into().unwrap(),
                replay: Replay {
                    packet_id: u32::from_str_radix(f[4], 16).unwrap(),
                    net_time: u32::from_str_radix(f[5], 16).unwrap(),
                },
                body: hex::decode(f[6]).unwrap(),
                wire: hex::decode(f[7]).unwrap(),
            }
        })
        .collect()
}

fn client_wrap(key: &StaticKey) -> Wrap {
    WrapPair::tls_crypt(key).client
}

#[test]
fn client_reset_matches_openssl() {
    let mut n = 0;
    for v in vectors().iter().filter(|v| v.side == "client") {
        let ours = client_reset(&client_wrap(&v.key), v.session_id, v.replay);
        assert_eq!(hex::encode(&ours), hex::encode(&v.wire));
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn server_answers_from_openssl_verify() {
    let mut n = 0;
    for v in vectors().iter().filter(|v| v.side == "server") {
        let our_session: [u8; 8] = v.body[5..13].try_into().unwrap();
        let wrap = client_wrap(&v.key);
        let r = validate_server_reset(&wrap, &v.wire, &our_session).expect("valid answer");
        assert_eq!(r.session_id, v.session_id);
        assert_eq!(r.auth, Auth::Verified);
        // Any flipped bit, in header, tag or ciphertext, must be refused.
        for i in [0usize, 3, 12, 20, 48, v.wire.len() - 1] {
            let mut bad = v.wire.clone();
            bad[i] ^= 0x01;
            assert!(
                validate_server_reset(&wrap, &bad, &our_session).is_err(),
                "flipped byte {i} accepted"
            );
        }
        // The other direction's keys (the server's own) do not open it.
        let wrong = WrapPair::tls_crypt(&v.key).server;
        assert!(validate_server_reset(&wrong, &v.wire, &our_session).is_err());
        n += 1;
    }
    assert!(n >= 6);
}
