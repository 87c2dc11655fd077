//! Interop with Bouncy Castle 1.72 (the CMS library of most Java mail software), driven through
//! tests/peers/PeerTool.java: it reads EnvelopedData and AuthEnvelopedData (AES-GCM) with
//! PKCS#1 v1.5 or RSA-OAEP, DER or BER, by issuer and serial number or subjectKeyIdentifier,
//! but has no ChaCha20-Poly1305 in CMS.

mod common;
mod peers;

use peers::{Identity, Peer};

/// Harness check (no sealmail): Bouncy Castle decrypts every variant openssl writes.
#[test]
fn harness_bc_reads_what_openssl_writes() {
    if !peers::has(Peer::BouncyCastle) || !peers::has(Peer::Openssl) {
        return;
    }
    let rita = Identity::fixture("rita");
    let oaep = ["-keyopt", "rsa_padding_mode:oaep"];
    for (args, recip) in [
        (&["-aes256"][..], &[][..]),
        (&["-des3"][..], &[][..]),
        (&["-aes256", "-stream"][..], &[][..]),
        (&["-aes256", "-keyid"][..], &[][..]),
        (&["-aes256"][..], &oaep[..]),
        (&["-aes-256-gcm"][..], &[][..]),
        (&["-aes-256-gcm"][..], &oaep[..]),
    ] {
        let message = peers::openssl_encrypt_with(args, recip, &[&rita], b"through BC\r\n");
        let got = Peer::BouncyCastle
            .decrypt(&rita, &message)
            .unwrap_or_else(|e| panic!("{args:?} {recip:?}: {e}"));
        assert_eq!(got, b"through BC\r\n", "{args:?} {recip:?}");
    }
}

/// Harness check (no sealmail): every variant PeerTool writes, openssl reads.
#[test]
fn harness_openssl_reads_what_bc_writes() {
    if !peers::has(Peer::BouncyCastle) || !peers::has(Peer::Openssl) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    for args in [
        &["--cipher", "aes256-cbc"][..],
        &["--cipher", "aes128-cbc", "--stream"][..],
        &["--cipher", "des3"][..],
        &["--cipher", "aes256-cbc", "--keyid"][..],
        &["--cipher", "aes256-cbc", "--oaep", "sha256"][..],
        &["--cipher", "aes256-gcm"][..],
        &["--cipher", "aes128-gcm", "--oaep", "sha1"][..],
    ] {
        let message = peers::bc_encrypt(args, &[&sam, &rita], b"from BC\r\n");
        for id in [&rita, &sam] {
            let got = Peer::Openssl
                .decrypt(id, &message)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(got, b"from BC\r\n", "{args:?} {}", id.email);
        }
    }
}

/// To its own certificate sealmail may write AES-256-GCM with RSA-OAEP (SHA-256); Bouncy Castle
/// reads it, in all three output forms' CMS.
#[test]
fn bc_reads_sealmail_aes_gcm_with_oaep() {
    if !peers::has(Peer::BouncyCastle) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    let message = peers::smime_to_der(&peers::sealmail_encrypt(
        &["--cipher", "aes-256-gcm"],
        &[&kay],
    ));
    let got = Peer::BouncyCastle.decrypt(&kay, &message).unwrap();
    assert_eq!(got, common::lf_to_crlf(peers::ENTITY));
}

/// Every message Bouncy Castle wrote (fixtures/peers/bc-*) reads back as plain.eml, with a warning that
/// CBC content carries no integrity protection.
#[test]
fn sealmail_reads_every_bc_fixture() {
    peers::assert_sealmail_reads_fixtures(Peer::BouncyCastle);
}

/// What Bouncy Castle writes now, with its defaults, to two recipients: either key reads it.
#[test]
fn sealmail_reads_what_bc_writes_live() {
    if peers::has(Peer::BouncyCastle) {
        peers::assert_sealmail_reads_peer_live(Peer::BouncyCastle);
    }
}

/// sealmail's default output to recipients whose capabilities it does not know (no S/MIME
/// Capabilities extension) is what Bouncy Castle reads: EnvelopedData AES-256-CBC, PKCS#1 v1.5.
#[test]
fn bc_reads_sealmail_default_output_for_unknown_capabilities() {
    if !peers::has(Peer::BouncyCastle) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    peers::assert_peer_reads_sealmail_default(Peer::BouncyCastle, &[&rita, &sam]);
}

/// One recipient of unknown capabilities decides the format for all: a sealmail certificate
/// beside rita's gets the installed-base format too, and Bouncy Castle reads it with either key.
#[test]
fn one_unknown_recipient_makes_the_message_readable_by_bc_for_all() {
    if !peers::has(Peer::BouncyCastle) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    let rita = Identity::fixture("rita");
    peers::assert_peer_reads_sealmail_default(Peer::BouncyCastle, &[&kay, &rita]);
}
