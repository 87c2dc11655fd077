//! Interop with NSS, the CMS engine of Thunderbird (`cmsutil`, `certutil`, `pk12util` from
//! libnss3-tools 3.87): NSS reads EnvelopedData with AES-CBC and PKCS#1 v1.5 key transport and
//! nothing newer (no AuthEnvelopedData, no RSA-OAEP before NSS 3.101), so it must read what
//! sealmail writes to a recipient whose capabilities are unknown, and refuse the AEAD form.

mod common;
mod peers;

use peers::{ENTITY, Identity, Peer};

/// Harness check (no sealmail): NSS decrypts what openssl writes in the installed-base format,
/// so a failure in the tests below is not the harness's.
#[test]
fn harness_nss_reads_openssl_aes_cbc_with_pkcs1v15() {
    if !peers::has(Peer::Nss) || !peers::has(Peer::Openssl) {
        return;
    }
    let rita = Identity::fixture("rita");
    for cipher in ["-aes256", "-aes128", "-des3"] {
        let message = peers::openssl_encrypt(&[cipher], &[&rita], b"through NSS\r\n");
        let got = Peer::Nss
            .decrypt(&rita, &message)
            .unwrap_or_else(|e| panic!("{cipher}: {e}"));
        assert_eq!(got, b"through NSS\r\n", "{cipher}");
    }
}

/// Harness check (no sealmail): what NSS writes, openssl reads with either recipient's key.
#[test]
fn harness_openssl_reads_what_nss_writes() {
    if !peers::has(Peer::Nss) || !peers::has(Peer::Openssl) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    let message = Peer::Nss.encrypt(&[&rita, &sam], b"from NSS\r\n");
    for id in [&rita, &sam] {
        let got = Peer::Openssl.decrypt(id, &message).unwrap();
        assert_eq!(got, b"from NSS\r\n", "{}", id.email);
    }
}

/// A sealmail certificate advertises the AEADs, so sealmail writes AuthEnvelopedData with
/// RSA-OAEP to it; NSS 3.87 cannot read that and must say so rather than produce content.
#[test]
fn nss_refuses_sealmail_aead_output_for_a_keygen_certificate() {
    if !peers::has(Peer::Nss) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    for args in [&[][..], &["--cipher", "aes-256-gcm"][..]] {
        let message = peers::smime_to_der(&peers::sealmail_encrypt(args, &[&kay]));
        let refused = Peer::Nss.decrypt(&kay, &message);
        assert!(
            refused.is_err(),
            "{args:?}: NSS read sealmail's AEAD output"
        );
    }
    // The same database reads the installed-base format for the same key: the refusal above is
    // about the format, not the key.
    let message = peers::openssl_encrypt(&["-aes256"], &[&kay], ENTITY);
    assert_eq!(Peer::Nss.decrypt(&kay, &message).unwrap(), ENTITY);
}

/// Every message NSS wrote (fixtures/peers/nss-*) reads back as plain.eml, with a warning that
/// CBC content carries no integrity protection.
#[test]
fn sealmail_reads_every_nss_fixture() {
    peers::assert_sealmail_reads_fixtures(Peer::Nss);
}

/// What NSS writes now, with its defaults, to two recipients: either key reads it.
#[test]
fn sealmail_reads_what_nss_writes_live() {
    if peers::has(Peer::Nss) {
        peers::assert_sealmail_reads_peer_live(Peer::Nss);
    }
}

/// sealmail's default output to recipients whose capabilities it does not know (no S/MIME
/// Capabilities extension) is what Thunderbird reads: EnvelopedData AES-256-CBC, PKCS#1 v1.5.
#[test]
fn nss_reads_sealmail_default_output_for_unknown_capabilities() {
    if !peers::has(Peer::Nss) {
        return;
    }
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    peers::assert_peer_reads_sealmail_default(Peer::Nss, &[&rita, &sam]);
}

/// One recipient of unknown capabilities decides the format for all: a sealmail certificate
/// beside rita's gets the installed-base format too, and NSS reads it with either key.
#[test]
fn one_unknown_recipient_makes_the_message_readable_by_nss_for_all() {
    if !peers::has(Peer::Nss) {
        return;
    }
    let dir = common::tempdir();
    let kay = peers::sealmail_keygen(dir.path(), "kay");
    let rita = Identity::fixture("rita");
    peers::assert_peer_reads_sealmail_default(Peer::Nss, &[&kay, &rita]);
}
