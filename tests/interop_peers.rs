//! The peer fixtures themselves (fixtures/peers): every message there is listed, documented and
//! really holds `plain.crlf`, checked with openssl, so the per-peer tests (interop_nss.rs,
//! interop_gpgsm.rs, interop_bc.rs) test sealmail and not a stale file; and sealmail against
//! openssl in the installed-base format (the AEAD forms are tests/interop.rs's).

mod common;
mod peers;

use peers::{FIXTURES, Identity, Peer};

#[test]
fn every_peer_fixture_is_listed_and_documented() {
    let readme = String::from_utf8(common::read_fixture("peers/README.md")).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(peers::fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            [".der", ".ber", ".smime", ".pem"]
                .iter()
                .any(|x| n.ends_with(x))
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(n, _, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fixtures/peers and peers::FIXTURES differ");
    for name in listed {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md omits {name}"
        );
    }
    assert_eq!(
        common::read_fixture("peers/plain.crlf"),
        common::lf_to_crlf(&common::read_fixture("peers/plain.eml")),
        "plain.crlf is not plain.eml in CRLF form"
    );
}

/// openssl reads every peer fixture with each of its recipients' keys and gets `plain.crlf`.
#[test]
fn harness_openssl_reads_every_peer_fixture() {
    if !peers::has(Peer::Openssl) {
        return;
    }
    let plain = common::read_fixture("peers/plain.crlf");
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    for &(name, _, to_sam) in FIXTURES {
        let inform = match name.rsplit('.').next() {
            Some("smime") => "SMIME",
            Some("pem") => "PEM",
            _ => "DER",
        };
        for id in [&rita, &sam].into_iter().take(if to_sam { 2 } else { 1 }) {
            let out = common::openssl()
                .args(["cms", "-decrypt", "-binary", "-inform", inform, "-in"])
                .arg(peers::fixtures_dir().join(name))
                .arg("-inkey")
                .arg(&id.key)
                .arg("-recip")
                .arg(&id.cert)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} ({}): {}",
                id.email,
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, plain, "{name} ({})", id.email);
        }
    }
}

/// Every message openssl wrote (fixtures/peers/openssl-*) reads back as plain.eml.
#[test]
fn sealmail_reads_every_openssl_fixture() {
    peers::assert_sealmail_reads_fixtures(Peer::Openssl);
}

/// What openssl writes now, with its defaults, to two recipients: either key reads it.
#[test]
fn sealmail_reads_what_openssl_writes_live() {
    if peers::has(Peer::Openssl) {
        peers::assert_sealmail_reads_peer_live(Peer::Openssl);
    }
}

#[test]
fn openssl_reads_sealmail_default_output_for_unknown_capabilities() {
    if !peers::has(Peer::Openssl) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    peers::assert_peer_reads_sealmail_default(Peer::Openssl, &[&rita, &sam]);
}
