//! Interop with GnuPG's `gpgsm` 2.2: like Thunderbird, it reads EnvelopedData with AES-CBC or
//! 3DES and PKCS#1 v1.5 key transport, and neither AuthEnvelopedData nor RSA-OAEP. Each test
//! runs gpgsm in a home of its own (its own gpg-agent, stopped afterwards).

mod common;
mod peers;

use peers::{ENTITY, Identity, Peer};

/// Harness check (no sealmail): gpgsm decrypts what openssl writes in the installed-base format.
#[test]
fn harness_gpgsm_reads_openssl_aes_cbc_with_pkcs1v15() {
    if !peers::has(Peer::Gpgsm) || !peers::has(Peer::Openssl) {
        return;
    }
    let rita = Identity::fixture("rita");
    for cipher in ["-aes256", "-des3"] {
        let message = peers::openssl_encrypt(&[cipher], &[&rita], b"through gpgsm\r\n");
        let got = Peer::Gpgsm
            .decrypt(&rita, &message)
            .unwrap_or_else(|e| panic!("{cipher}: {e}"));
        assert_eq!(got, b"through gpgsm\r\n", "{cipher}");
    }
}

/// Harness check (no sealmail): what gpgsm writes (AES-128-CBC by default, AES-256 and 3DES on
/// request), openssl reads with either recipient's key.
#[test]
fn harness_openssl_reads_what_gpgsm_writes() {
    if !peers::has(Peer::Gpgsm) || !peers::has(Peer::Openssl) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    let message = Peer::Gpgsm.encrypt(&[&rita, &sam], b"from gpgsm\r\n");
    for id in [&rita, &sam] {
        assert_eq!(
            Peer::Openssl.decrypt(id, &message).unwrap(),
            b"from gpgsm\r\n",
            "{}",
            id.email
        );
    }
    for algo in ["AES256", "3DES"] {
        let message = peers::gpgsm_encrypt(&["--cipher-algo", algo], &[&rita], b"3DES\r\n");
        assert_eq!(
            Peer::Openssl.decrypt(&rita, &message).unwrap(),
            b"3DES\r\n",
            "{algo}"
        );
    }
}

/// sealmail writes AuthEnvelopedData with RSA-OAEP to its own certificates; gpgsm 2.2 cannot
/// read that and must fail rather than produce content.
#[test]
fn gpgsm_refuses_sealmail_aead_output_for_a_keygen_certificate() {
    if !peers::has(Peer::Gpgsm) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    for args in [&[][..], &["--cipher", "aes-256-gcm"][..]] {
        let message = peers::smime_to_der(&peers::sealmail_encrypt(args, &[&kay]));
        let refused = Peer::Gpgsm.decrypt(&kay, &message);
        assert!(
            refused.is_err(),
            "{args:?}: gpgsm read sealmail's AEAD output"
        );
    }
    // The same key in a gpgsm home reads the installed-base format: the refusal above is about
    // the format, not the key.
    let message = peers::openssl_encrypt(&["-aes256"], &[&kay], ENTITY);
    assert_eq!(Peer::Gpgsm.decrypt(&kay, &message).unwrap(), ENTITY);
}

/// Every message gpgsm wrote (fixtures/peers/gpgsm-*) reads back as plain.eml, with a warning that
/// CBC content carries no integrity protection.
#[test]
fn sealmail_reads_every_gpgsm_fixture() {
    peers::assert_sealmail_reads_fixtures(Peer::Gpgsm);
}

/// What gpgsm writes now, with its defaults, to two recipients: either key reads it.
#[test]
fn sealmail_reads_what_gpgsm_writes_live() {
    if peers::has(Peer::Gpgsm) {
        peers::assert_sealmail_reads_peer_live(Peer::Gpgsm);
    }
}

/// sealmail's default output to recipients whose capabilities it does not know (no S/MIME
/// Capabilities extension) is what gpgsm reads: EnvelopedData AES-256-CBC, PKCS#1 v1.5.
#[test]
fn gpgsm_reads_sealmail_default_output_for_unknown_capabilities() {
    if !peers::has(Peer::Gpgsm) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    peers::assert_peer_reads_sealmail_default(Peer::Gpgsm, &[&rita, &sam]);
}

/// One recipient of unknown capabilities decides the format for all: a sealmail certificate
/// beside rita's gets the installed-base format too, and gpgsm reads it with either key.
#[test]
fn one_unknown_recipient_makes_the_message_readable_by_gpgsm_for_all() {
    if !peers::has(Peer::Gpgsm) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    let rita = Identity::fixture("rita");
    peers::assert_peer_reads_sealmail_default(Peer::Gpgsm, &[&kay, &rita]);
}
