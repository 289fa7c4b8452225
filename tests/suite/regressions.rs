//! Replays every input in `tests/data/fuzz-regressions/` through the check of the fuzz
//! target it belongs to (the file name up to its first `-`: `response-3.bin` goes to the
//! `response` target). The checks are the fuzz targets' own, shared through
//! `fuzz/fuzz_targets/common.rs`, so an input that crashed a target fails here until the
//! bug is fixed, without nightly or cargo-fuzz.
//!
//! Files named `<target>-<n>.bin` are crashes found by fuzzing (copied from
//! `fuzz/artifacts/<target>/`); `<target>-hand-<what>.bin` are hand-picked nasty inputs.

#[path = "../../fuzz/fuzz_targets/common.rs"]
mod common;

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 17] = [
    ("response", common::response),
    ("unwrap", common::unwrap),
    ("static_key", common::static_key),
    ("v2_key", common::v2_key),
    ("config", common::config),
    ("range", common::range),
    ("control_packet", common::control_packet),
    ("reliable", common::reliable),
    ("session", common::session),
    ("login_messages", common::login_messages),
    ("server_files", common::server_files),
    ("data_channel", common::data_channel),
    ("push_options", common::push_options),
    ("http_response", common::http_response),
    ("dns_reply", common::dns_reply),
    ("udp_datagram", common::udp_datagram),
    ("tcp_stack", common::tcp_stack),
];

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    files
}

fn check_for(path: &Path) -> (&'static str, Check) {
    let name = path.file_name().unwrap().to_string_lossy();
    let target = name.split('-').next().unwrap_or_default();
    TARGETS
        .iter()
        .copied()
        .find(|(t, _)| *t == target)
        .unwrap_or_else(|| panic!("{name}: no fuzz target '{target}'"))
}

#[test]
fn every_stored_input_passes_its_target_check() {
    let files = inputs();
    assert!(!files.is_empty(), "no regression inputs found");
    let mut failures = Vec::new();
    for path in &files {
        let (target, check) = check_for(path);
        let data = fs::read(path).unwrap();
        // Catch each panic so that one report names every failing file.
        if let Err(e) = panic::catch_unwind(|| check(&data)) {
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
                .to_string();
            failures.push(format!("{} ({target}): {msg}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_stored_inputs() {
    let files = inputs();
    for (target, _) in TARGETS {
        assert!(
            files.iter().any(|p| check_for(p).0 == target),
            "no input for {target}"
        );
    }
}

/// The hand-picked inputs reach the code they were picked for.
#[test]
fn hand_picked_inputs_mean_what_they_say() {
    use check_openvpn::keys::static_keys::V2ClientKey;
    use check_openvpn::proto::packet::validate_server_reset;
    use check_openvpn::wire::{Rejection, Wrap};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let read = |name: &str| fs::read(dir.join(name)).unwrap();

    let p = read("response-hand-ack255-short.bin");
    assert_eq!(
        validate_server_reset(&Wrap::None, &p[1..], &common::OURS),
        Err(Rejection::Malformed)
    );
    let p = read("response-hand-65507-plain.bin");
    assert_eq!(p.len() - 1, 65507);
    let reset = validate_server_reset(&Wrap::None, &p[1..], &common::OURS).unwrap();
    assert_eq!(reset.session_id, [0xa5; 8]);

    for name in [
        "v2_key-hand-wkc-length-past-end.bin",
        "v2_key-hand-wkc-length-one-past-end.bin",
        "v2_key-hand-wkc-1025.bin",
        "v2_key-hand-wkc-289.bin",
        "v2_key-hand-kc-only.bin",
        "v2_key-hand-zero-length-field.bin",
    ] {
        let text = String::from_utf8(read(name)).unwrap();
        assert!(V2ClientKey::parse(&text, name).is_err(), "{name} accepted");
    }
    let text = String::from_utf8(read("v2_key-hand-valid.bin")).unwrap();
    assert_eq!(V2ClientKey::parse(&text, "valid").unwrap().wkc.len(), 290);
}

/// The hand-picked TLS-stage inputs reach the code they were picked for.
#[test]
fn hand_picked_tls_stage_inputs_mean_what_they_say() {
    use check_openvpn::proto::packet::{early_negotiation_flags, ControlPacket};
    use check_openvpn::wire::Rejection;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let read = |name: &str| fs::read(dir.join(name)).unwrap();
    let parse = |name: &str| {
        let p = read(name);
        assert_eq!(p[0], 0, "{name}: mode 0");
        ControlPacket::parse(&p[1..p.len().min(10)], &p[p.len().min(10)..]).map(|c| c.acks.len())
    };
    assert_eq!(parse("control_packet-hand-eight-acks.bin"), Ok(8));
    for name in [
        "control_packet-hand-nine-acks.bin",
        "control_packet-hand-ack-without-acks.bin",
        "control_packet-hand-ack-without-sid.bin",
        "control_packet-hand-short-header.bin",
    ] {
        assert_eq!(parse(name), Err(Rejection::Malformed), "{name}");
    }
    let tlv = read("control_packet-hand-tlv-length-past-end.bin");
    assert_eq!(early_negotiation_flags(&tlv[1..]), 0);
}

/// The hand-picked login-stage inputs reach the code they were picked for.
#[test]
fn hand_picked_login_inputs_mean_what_they_say() {
    use check_openvpn::proto::login::{
        parse_control_message, parse_server_key_method_2, take_messages, ControlMessage, Km2Error,
    };

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let read = |name: &str| fs::read(dir.join(name)).unwrap();

    let p = read("login_messages-hand-km2-peer-info-past-end.bin");
    assert_eq!(p[0] % 5, 0);
    assert_eq!(
        parse_server_key_method_2(&p[1..]).map(|_| ()),
        Err(Km2Error::Incomplete)
    );

    let p = read("login_messages-hand-km2-then-messages.bin");
    assert_eq!((p[0] % 5, p[1] % 3), (1, 2), "built, four fields");
    assert!(p.ends_with(b"\0partial"));

    let p = read("login_messages-hand-stream-split-everywhere.bin");
    assert_eq!((p[0] % 5, p[1] % 16), (2, 15));
    let mut stream = p[17..].to_vec();
    let msgs = take_messages(&mut stream);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(stream, b"par");

    let p = read("login_messages-hand-push-continuation-lookalikes.bin");
    assert_eq!(p[0] % 5, 3);
    let text = format!("PUSH_REPLY,{}", std::str::from_utf8(&p[2..]).unwrap());
    let ControlMessage::PushReply { options, more } = parse_control_message(&text) else {
        panic!("not a push reply");
    };
    assert!(more);
    assert_eq!(options, ["route 10.0.0.0 255.0.0.0"]);

    let p = read("login_messages-hand-client-127-byte-credentials.bin");
    assert_eq!((p[0] % 5, p[1] & 3, p[2], p[130]), (4, 3, 127, 127));
}
