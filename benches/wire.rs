//! Build + wrap + validate of one hard-reset exchange per wrap mode, without I/O:
//! the client's packet is built and wrapped, the server's answer (prepared once) is
//! unwrapped and validated. `cargo bench --bench wire`.

use check_openvpn::digest::Digest;
use check_openvpn::keys::static_keys::{KeyDirection, StaticKey, V2ClientKey};
use check_openvpn::proto::packet;
use check_openvpn::wire::{Replay, Wrap, WrapPair};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const OURS: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const REPLAY: Replay = Replay {
    packet_id: 1,
    net_time: 0x6500_0000,
};

fn key() -> StaticKey {
    StaticKey::from_bytes(std::array::from_fn(|i| (i * 13 + 7) as u8))
}

/// (client wrap, server wrap) for each mode.
fn modes() -> Vec<(String, Wrap, Wrap)> {
    let k = key();
    let mut modes = vec![("none".to_string(), Wrap::None, Wrap::None)];
    for digest in [
        Digest::Sha1,
        Digest::Sha256,
        Digest::Sha512,
        Digest::Blake2b512,
    ] {
        let pair = WrapPair::tls_auth(&k, KeyDirection::One, digest, None).unwrap();
        modes.push((format!("tls-auth {digest}"), pair.client, pair.server));
    }
    let pair = WrapPair::tls_crypt(&k);
    modes.push(("tls-crypt".into(), pair.client, pair.server));
    let pair = WrapPair::tls_crypt_v2(&V2ClientKey {
        kc: k.clone(),
        wkc: vec![0x42; 299],
    });
    modes.push(("tls-crypt-v2".into(), pair.client, pair.server));
    modes
}

fn exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("build+wrap+validate");
    for (name, client, server) in modes() {
        let answer = packet::seal(
            &server,
            0x40,
            [9; 8],
            REPLAY,
            &packet::server_reset_body(&OURS),
            true,
        );
        assert!(packet::validate_server_reset(&client, &answer, &OURS).is_ok());
        group.bench_function(name, |b| {
            b.iter(|| {
                let packet = packet::client_reset(black_box(&client), OURS, REPLAY);
                let verdict = packet::validate_server_reset(&client, black_box(&answer), &OURS);
                black_box((packet, verdict))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, exchange);
criterion_main!(benches);
