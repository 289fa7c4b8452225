//! Property tests for the data-channel codec: no datagram makes `decapsulate` panic or
//! accept a packet the peer did not seal, and whatever the peer seals comes back intact.
//! Raise `PROPTEST_CASES` locally for a longer run.

use check_openvpn::digest::Digest;
use check_openvpn::proto::data::icmp::parse_echo_reply;
use check_openvpn::proto::data::{
    Compression, DataChannel, DataCipher, DataConfig, Decapsulated, KeyBlock, Side, OCC_MAGIC,
    PING_MAGIC,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

fn cases(n: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn config() -> impl Strategy<Value = DataConfig> {
    (
        select(DataCipher::ALL.to_vec()),
        select(vec![Digest::Sha1, Digest::Sha256, Digest::Sha512]),
        prop_oneof![Just(None), (0u32..0x0100_0000).prop_map(Some)],
        0u8..8,
        select(vec![
            Compression::None,
            Compression::Lzo,
            Compression::Swap,
            Compression::V2,
        ]),
    )
        .prop_map(|(cipher, auth, peer_id, key_id, compression)| DataConfig {
            cipher,
            auth,
            peer_id,
            key_id,
            compression,
        })
}

fn pair(config: DataConfig, key: &[u8]) -> (DataChannel, DataChannel) {
    let block = KeyBlock::from_ekm(key).unwrap();
    (
        DataChannel::new(config, &block, Side::Client),
        DataChannel::new(config, &block, Side::Server),
    )
}

/// What the receiver must report for a payload the peer sealed.
fn expected(payload: &[u8]) -> Option<Decapsulated<'_>> {
    if payload == PING_MAGIC {
        Some(Decapsulated::Ping)
    } else if payload.starts_with(&OCC_MAGIC) {
        None
    } else {
        Some(Decapsulated::Data(payload))
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn arbitrary_datagrams_are_refused_without_panic(
        config in config(),
        key in proptest::collection::vec(any::<u8>(), 256),
        datagram in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (mut client, _) = pair(config, &key);
        let mut out = Vec::new();
        prop_assert!(client.decapsulate(&datagram, &mut out).is_err());
        prop_assert_eq!(client.highest_received_packet_id(), 0);
    }

    #[test]
    fn sealed_payloads_come_back_and_any_change_is_refused(
        config in config(),
        key in proptest::collection::vec(any::<u8>(), 256),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut client, mut server) = pair(config, &key);
        let (mut wire, mut out) = (Vec::new(), Vec::new());
        server.encapsulate(&payload, &mut wire).unwrap();
        let mut bad = wire.clone();
        bad[at.index(wire.len())] ^= flip;
        prop_assert!(client.decapsulate(&bad, &mut out).is_err());
        prop_assert!(client.decapsulate(&wire[..cut.index(wire.len())], &mut out).is_err());
        let got = client.decapsulate(&wire, &mut out).unwrap();
        if let Some(want) = expected(&payload) {
            prop_assert_eq!(got, want);
        }
        // The same datagram again is a replay.
        prop_assert!(client.decapsulate(&wire, &mut out).is_err());
    }

    #[test]
    fn echo_reply_parse_never_panics(packet in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = parse_echo_reply(&packet);
    }
}
