//! Every tls-auth digest against HMAC known answers computed by the openssl CLI
//! (`scripts/gen-hmac-vectors`), not by this crate.

use check_openvpn::digest::Digest;

#[test]
fn hmac_matches_openssl_for_every_digest() {
    let text = include_str!("../data/hmac-vectors.txt");
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 4, "bad vector line: {line}");
        let digest: Digest = f[0].parse().expect("digest name");
        let key = hex::decode(f[1]).unwrap();
        let msg = if f[2] == "-" {
            vec![]
        } else {
            hex::decode(f[2]).unwrap()
        };
        let expected = hex::decode(f[3]).unwrap();
        // Split the message to exercise the multi-part input too.
        let (a, b) = msg.split_at(msg.len() / 3);
        assert_eq!(
            digest.hmac(&key, &[a, b]),
            expected,
            "{digest} key {} bytes, message {} bytes",
            key.len(),
            msg.len()
        );
        seen.insert(digest);
        count += 1;
    }
    assert_eq!(seen.len(), Digest::ALL.len(), "a digest has no vectors");
    assert!(count >= 16 * 9);
}
