use super::*;

fn block() -> KeyBlock {
    let mut b = [0u8; 256];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (i as u8).wrapping_mul(7).wrapping_add(3);
    }
    KeyBlock::from_ekm(&b).unwrap()
}

fn config(cipher: DataCipher, peer_id: Option<u32>, compression: Compression) -> DataConfig {
    DataConfig {
        cipher,
        auth: Digest::Sha256,
        peer_id,
        key_id: 0,
        compression,
    }
}

fn pair(c: DataConfig) -> (DataChannel, DataChannel) {
    let b = block();
    (
        DataChannel::new(c, &b, Side::Client),
        DataChannel::new(c, &b, Side::Server),
    )
}

const ALL_COMPRESSION: [Compression; 4] = [
    Compression::None,
    Compression::Lzo,
    Compression::Swap,
    Compression::V2,
];

#[test]
fn every_cipher_format_and_framing_round_trips_both_ways() {
    for cipher in DataCipher::ALL {
        for peer_id in [None, Some(0), Some(0x00ab_cdef)] {
            for comp in ALL_COMPRESSION {
                let (mut client, mut server) = pair(config(cipher, peer_id, comp));
                let mut wire = Vec::new();
                let mut out = Vec::new();
                for payload in [&b"\x45hello"[..], &[0x50; 40], &[], &[0x60; 1]] {
                    client.encapsulate(payload, &mut wire).unwrap();
                    assert_eq!(
                        server.decapsulate(&wire, &mut out).unwrap(),
                        Decapsulated::Data(payload),
                        "{cipher} {peer_id:?} {comp:?}"
                    );
                    server.encapsulate(payload, &mut wire).unwrap();
                    assert_eq!(
                        client.decapsulate(&wire, &mut out).unwrap(),
                        Decapsulated::Data(payload)
                    );
                }
                assert_eq!(client.last_sent_packet_id(), 4);
                assert_eq!(client.highest_received_packet_id(), 4);
            }
        }
    }
}

#[test]
fn ping_and_occ_are_recognised_under_every_framing() {
    for comp in ALL_COMPRESSION {
        let (mut client, mut server) = pair(config(DataCipher::Aes256Gcm, Some(3), comp));
        let (mut wire, mut out) = (Vec::new(), Vec::new());
        server.encapsulate(&PING_MAGIC, &mut wire).unwrap();
        assert_eq!(
            client.decapsulate(&wire, &mut out).unwrap(),
            Decapsulated::Ping
        );
        client.occ_exit(&mut wire).unwrap();
        assert_eq!(
            server.decapsulate(&wire, &mut out).unwrap(),
            Decapsulated::Occ(OccMessage {
                opcode: Some(OCC_EXIT),
                body: &[]
            })
        );
        server.encapsulate(&OCC_MAGIC, &mut wire).unwrap();
        assert_eq!(
            client.decapsulate(&wire, &mut out),
            Ok(Decapsulated::Occ(OccMessage {
                opcode: None,
                body: &[]
            }))
        );
        // A ping with one more byte is data.
        let mut longer = PING_MAGIC.to_vec();
        longer.push(0);
        server.encapsulate(&longer, &mut wire).unwrap();
        assert_eq!(
            client.decapsulate(&wire, &mut out).unwrap(),
            Decapsulated::Data(&longer[..])
        );
    }
}

#[test]
fn replays_are_refused_and_do_not_disturb() {
    for cipher in [DataCipher::Aes128Gcm, DataCipher::Aes256Cbc] {
        let (mut client, mut server) = pair(config(cipher, Some(1), Compression::None));
        let (mut w1, mut w2, mut out) = (Vec::new(), Vec::new(), Vec::new());
        server.encapsulate(b"one", &mut w1).unwrap();
        server.encapsulate(b"two", &mut w2).unwrap();
        assert_eq!(
            client.decapsulate(&w2, &mut out).unwrap(),
            Decapsulated::Data(b"two")
        );
        assert_eq!(
            client.decapsulate(&w1, &mut out).unwrap(),
            Decapsulated::Data(b"one")
        );
        for w in [&w1, &w2] {
            assert!(matches!(
                client.decapsulate(w, &mut out),
                Err(DataError::Replay {
                    reason: Replay::Repeated,
                    ..
                })
            ));
        }
    }
}

#[test]
fn every_flipped_bit_is_refused() {
    for cipher in DataCipher::ALL {
        let (mut client, mut server) = pair(config(cipher, Some(5), Compression::None));
        let (mut wire, mut out) = (Vec::new(), Vec::new());
        server
            .encapsulate(b"\x45 some tunnel packet", &mut wire)
            .unwrap();
        for byte in 0..wire.len() {
            for bit in 0..8 {
                let mut bad = wire.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    client.decapsulate(&bad, &mut out).is_err(),
                    "{cipher}: flipped bit {bit} of byte {byte} accepted"
                );
            }
        }
        // The genuine packet still passes: failures left the window alone.
        assert!(client.decapsulate(&wire, &mut out).is_ok());
    }
}

#[test]
fn truncations_are_refused() {
    for cipher in DataCipher::ALL {
        for peer_id in [None, Some(9)] {
            let (mut client, mut server) = pair(config(cipher, peer_id, Compression::Lzo));
            let (mut wire, mut out) = (Vec::new(), Vec::new());
            server
                .encapsulate(b"\x45abcdefghijklmnopqrstuvwxyz", &mut wire)
                .unwrap();
            for cut in 0..wire.len() {
                assert!(
                    client.decapsulate(&wire[..cut], &mut out).is_err(),
                    "{cipher} cut {cut}"
                );
            }
        }
    }
}

#[test]
fn wrong_peer_id_key_id_and_opcode() {
    let (mut client, _) = pair(config(DataCipher::Aes256Gcm, Some(7), Compression::None));
    let (mut server, _) = pair(config(DataCipher::Aes256Gcm, Some(8), Compression::None));
    let (mut wire, mut out) = (Vec::new(), Vec::new());
    server.encapsulate(b"x", &mut wire).unwrap();
    assert_eq!(
        client.decapsulate(&wire, &mut out),
        Err(DataError::WrongPeerId {
            got: 8,
            expected: Some(7)
        })
    );
    wire[0] = P_DATA_V2 << 3 | 1;
    assert_eq!(
        client.decapsulate(&wire, &mut out),
        Err(DataError::WrongKeyId {
            got: 1,
            expected: 0
        })
    );
    wire[0] = 4 << 3; // P_CONTROL_V1
    assert_eq!(
        client.decapsulate(&wire, &mut out),
        Err(DataError::NotData { opcode: 4 })
    );
    assert_eq!(
        client.decapsulate(&[], &mut out),
        Err(DataError::Truncated { len: 0 })
    );
}

#[test]
fn packet_ids_start_at_one_and_run_out() {
    let (mut client, mut server) = pair(config(
        DataCipher::ChaCha20Poly1305,
        None,
        Compression::None,
    ));
    let mut wire = Vec::new();
    client.encapsulate(b"a", &mut wire).unwrap();
    assert_eq!(wire[0], P_DATA_V1 << 3);
    assert_eq!(&wire[1..5], &[0, 0, 0, 1]);
    client.sent = u32::MAX - 1;
    client.encapsulate(b"a", &mut wire).unwrap();
    assert_eq!(&wire[1..5], &[0xff; 4]);
    let mut out = Vec::new();
    assert!(server.decapsulate(&wire, &mut out).is_ok());
    assert_eq!(
        client.encapsulate(b"a", &mut wire),
        Err(DataError::PacketIdsExhausted)
    );
}

#[test]
fn compressed_packets_are_typed_errors() {
    let (mut client, mut server) = pair(config(DataCipher::Aes128Gcm, Some(1), Compression::None));
    let (mut wire, mut out) = (Vec::new(), Vec::new());
    // The server frames nothing itself here: build the framed payloads by hand.
    for (comp, payload, algorithm) in [
        (Compression::Lzo, &[0x66, 1, 2][..], Algorithm::Lzo),
        (Compression::Swap, &[0x69, 1, 2][..], Algorithm::Lz4),
        (Compression::V2, &[0x50, 1, 2][..], Algorithm::Lz4),
    ] {
        client.config.compression = comp;
        server.encapsulate(payload, &mut wire).unwrap();
        assert_eq!(
            client.decapsulate(&wire, &mut out),
            Err(DataError::Compressed(algorithm))
        );
    }
}

#[test]
fn debug_output_has_no_key() {
    let (client, _) = pair(config(DataCipher::Aes256Cbc, None, Compression::None));
    let text = format!("{client:?}");
    assert!(text.contains("Cbc(AES-256, SHA256)"), "{text}");
    // The first bytes of either key slot, in Debug's decimal form, do not appear.
    assert!(!text.contains("[3, 10, 17"), "{text}");
}
