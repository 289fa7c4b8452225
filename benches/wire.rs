//! Build + wrap + validate of one hard-reset exchange per wrap mode, without I/O:
//! the client's packet is built and wrapped, the server's answer (prepared once) is
//! unwrapped and validated. `cargo bench --bench wire`.

use check_openvpn::digest::Digest;
use check_openvpn::key::{KeyDirection, StaticKey};
use check_openvpn::wire::{self, Replay, TlsAuth, TlsCrypt, Wrap};
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
    let (c_send, c_recv) = k.directional(KeyDirection::One);
    let (s_send, s_recv) = k.directional(KeyDirection::Zero);
    let mut modes = vec![("none".to_string(), Wrap::None, Wrap::None)];
    for digest in [
        Digest::Sha1,
        Digest::Sha256,
        Digest::Sha512,
        Digest::Blake2b512,
    ] {
        modes.push((
            format!("tls-auth {digest}"),
            Wrap::TlsAuth(TlsAuth::new(digest, &c_send.hmac, Some(&c_recv.hmac), None).unwrap()),
            Wrap::TlsAuth(TlsAuth::new(digest, &s_send.hmac, Some(&s_recv.hmac), None).unwrap()),
        ));
    }
    modes.push((
        "tls-crypt".into(),
        Wrap::TlsCrypt(TlsCrypt::new(&c_send, &c_recv)),
        Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
    ));
    modes.push((
        "tls-crypt-v2".into(),
        Wrap::TlsCrypt(TlsCrypt::v2(&c_send, &c_recv, vec![0x42; 299])),
        Wrap::TlsCrypt(TlsCrypt::new(&s_send, &s_recv)),
    ));
    modes
}

fn exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("build+wrap+validate");
    for (name, client, server) in modes() {
        let answer = wire::build_packet(
            &server,
            0x40,
            [9; 8],
            REPLAY,
            &wire::server_reset_body(&OURS),
        );
        assert!(wire::validate_server_reset(&client, &answer, &OURS).is_ok());
        group.bench_function(name, |b| {
            b.iter(|| {
                let packet = wire::client_reset(black_box(&client), OURS, REPLAY);
                let verdict = wire::validate_server_reset(&client, black_box(&answer), &OURS);
                black_box((packet, verdict))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, exchange);
criterion_main!(benches);
