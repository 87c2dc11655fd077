//! Loading recipients (`-r`) and identities (`-i`) from every supported format, the rules that
//! refuse unusable recipients, and RSA-OAEP wrap/unwrap between them.

mod keys_common;

use keys_common::*;
use sealmail::Kind;
use sealmail::keys::{
    FixedPassphrase, Identity, NoPassphrase, OaepHash, OaepParams, Recipient, RecipientIdentifier,
    describe_recipient_id, load_identity_file, load_recipient_file, read_recipients_list,
    subject_key_identifier,
};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// What `openssl x509 -in alice.crt -noout -ext subjectKeyIdentifier` prints: openssl's
/// `subjectKeyIdentifier = hash` is RFC 5280 method (1), so it must equal ours.
const ALICE_SKI: &str = "B9:62:EB:9F:C6:E7:B4:06:0D:C7:13:E4:C3:49:ED:58:11:6E:22:7D";

const SHA256: OaepParams = OaepParams {
    hash: OaepHash::Sha256,
    mgf_hash: OaepHash::Sha256,
};

fn now() -> SystemTime {
    SystemTime::now()
}

fn one_recipient(name: &str) -> Recipient {
    let mut recipients = load_recipient_file(&fixture(name), now()).unwrap();
    assert_eq!(recipients.len(), 1, "{name}");
    recipients.remove(0)
}

fn one_identity(name: &str) -> Identity {
    let mut identities = load_identity_file(&fixture(name), &mut Never).unwrap();
    assert_eq!(identities.len(), 1, "{name}");
    identities.remove(0)
}

fn alice_cert_id() -> RecipientIdentifier {
    one_recipient("alice.crt").id
}

#[test]
fn certificate_pem_and_der_give_issuer_and_serial() {
    for name in ["alice.crt", "alice.crt.der"] {
        let r = one_recipient(name);
        assert_eq!(
            describe_recipient_id(&r.id),
            "issuer CN=Sealmail Test CA,O=Sealmail Test serial 0x123456789abcdef",
            "{name}"
        );
        assert!(r.source.ends_with(name));
    }
}

#[test]
fn bare_public_keys_give_the_method_1_subject_key_identifier() {
    let expected = hex(ALICE_SKI);
    for name in ["alice.pub.pem", "alice.pub.der", "alice.rsapub.pem"] {
        let r = one_recipient(name);
        assert_eq!(ski_of(&r.id), Some(expected.clone()), "{name}");
        assert_eq!(
            subject_key_identifier(r.rsa_public_key().unwrap()).unwrap(),
            expected
        );
    }
    assert_eq!(
        describe_recipient_id(&one_recipient("alice.pub.pem").id),
        format!("subject key identifier {}", ALICE_SKI.to_lowercase())
    );
}

#[test]
fn ski_equals_what_openssl_prints_for_its_certificate() {
    let printed = openssl(&[
        "x509",
        "-in",
        fixture("alice.crt").to_str().unwrap(),
        "-noout",
        "-ext",
        "subjectKeyIdentifier",
    ]);
    let printed = String::from_utf8(printed).unwrap();
    let line = printed.lines().nth(1).unwrap().trim();
    let key = one_recipient("alice.crt").rsa_public_key().unwrap().clone();
    assert_eq!(subject_key_identifier(&key).unwrap(), hex(line));
}

#[test]
fn a_bundle_means_every_certificate_except_its_ca() {
    let recipients = load_recipient_file(&fixture("bundle.pem"), now()).unwrap();
    let serials: Vec<String> = recipients
        .iter()
        .map(|r| describe_recipient_id(&r.id))
        .collect();
    assert_eq!(recipients.len(), 3, "{serials:?}");
    assert!(serials[0].ends_with("serial 0x123456789abcdef"));
    assert!(serials[1].ends_with("serial 0x2"));
    assert!(serials[2].ends_with("serial 0x3"));
    use rsa::traits::PublicKeyParts;
    let bits: Vec<usize> = recipients
        .iter()
        .map(|r| r.rsa_public_key().unwrap().size() * 8)
        .collect();
    assert_eq!(bits, [2048, 3072, 4096]);
}

#[test]
fn a_ca_certificate_alone_is_refused() {
    let err = load_recipient_file(&fixture("ca.crt"), now()).unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    assert!(
        err.message().contains("keyEncipherment"),
        "{}",
        err.message()
    );
}

fn refused(name: &str, reason: &str) {
    let err = load_recipient_file(&fixture(name), now()).unwrap_err();
    assert_eq!(err.kind(), Kind::Config, "{name}: {}", err.message());
    assert_eq!(err.exit_code(), 78);
    assert!(err.message().contains(name), "{name}: {}", err.message());
    assert!(err.message().contains(reason), "{name}: {}", err.message());
}

#[test]
fn unusable_recipients_are_refused_with_78_naming_file_and_reason() {
    refused("weak1024.crt", "1024 bits");
    refused("weak1024.pub.pem", "1024 bits");
    refused("expired.crt", "expired on 2002-01-01");
    refused("notyet.crt", "not valid before 2100-01-01");
    refused("sigonly.crt", "keyEncipherment");
    refused("serverauth.crt", "emailProtection");
    refused("ec.crt", "does not allow keyAgreement");
    refused("garbage.pem", "not a certificate or public key");
    // A private key is not a recipient.
    refused("alice.pkcs8.der", "not a certificate or public key");
}

#[test]
fn validity_is_judged_at_the_given_time() {
    let in_2001 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    assert_eq!(
        load_recipient_file(&fixture("expired.crt"), in_2001)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_missing_recipient_file_is_66() {
    let err = load_recipient_file(&fixture("no-such-file.pem"), now()).unwrap_err();
    assert_eq!(err.kind(), Kind::NoInput);
    assert!(err.message().contains("no-such-file.pem"));
}

#[test]
fn recipients_list_skips_comments_and_blanks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list");
    std::fs::write(
        &path,
        "# team\n  alice@example.org  \n\n\t# old\nkeys/bob#1.pem\r\n   \n",
    )
    .unwrap();
    assert_eq!(
        read_recipients_list(&path).unwrap(),
        ["alice@example.org", "keys/bob#1.pem"]
    );
    let err = read_recipients_list(&dir.path().join("missing")).unwrap_err();
    assert_eq!(err.kind(), Kind::NoInput);
}

#[test]
fn every_private_key_format_loads_the_same_key() {
    let alice_ski = hex(ALICE_SKI);
    for name in [
        "alice.key",
        "alice.pkcs8.der",
        "alice.pkcs1.pem",
        "alice.pkcs1.der",
    ] {
        let identity = one_identity(name);
        assert_eq!(identity.ids.len(), 1, "{name}");
        assert_eq!(ski_of(&identity.ids[0]), Some(alice_ski.clone()), "{name}");
        assert_eq!(
            identity.public_key().unwrap(),
            one_recipient("alice.crt").rsa_public_key().unwrap()
        );
    }
}

#[test]
fn a_key_with_its_certificate_answers_to_both_identifiers() {
    let identity = one_identity("alice.key-and-cert.pem");
    // The certificate's SKI extension equals the computed one, so it is not listed twice.
    assert_eq!(identity.ids.len(), 2, "{identity:?}");
    assert!(identity.matches(&alice_cert_id()));
    assert!(identity.matches(&one_recipient("alice.pub.pem").id));
    assert!(!identity.matches(&one_recipient("bob.crt").id));
}

#[test]
fn a_certificate_of_another_key_is_not_added() {
    let mut identity = one_identity("bob.key");
    let alice = x509_cert_of("alice.crt");
    assert!(!identity.add_certificate(&alice));
    assert_eq!(identity.ids.len(), 1);
    assert!(identity.add_certificate(&x509_cert_of("bob.crt")));
    assert!(identity.matches(&one_recipient("bob.crt").id));
}

fn x509_cert_of(name: &str) -> x509_cert::Certificate {
    use der::DecodePem;
    x509_cert::Certificate::from_pem(std::fs::read(fixture(name)).unwrap()).unwrap()
}

#[test]
fn encrypted_pkcs8_asks_once_and_decrypts() {
    for name in ["alice.pbkdf2.pem", "alice.scrypt.pem"] {
        let mut source = Counting {
            passphrase: PASSPHRASE,
            asked: 0,
        };
        let identities = load_identity_file(&fixture(name), &mut source).unwrap();
        assert_eq!(source.asked, 1, "{name}");
        assert_eq!(
            ski_of(&identities[0].ids[0]),
            Some(hex(ALICE_SKI)),
            "{name}"
        );
    }
}

#[test]
fn a_plain_key_never_asks_for_a_passphrase() {
    let mut source = Counting {
        passphrase: PASSPHRASE,
        asked: 0,
    };
    load_identity_file(&fixture("alice.key-and-cert.pem"), &mut source).unwrap();
    assert_eq!(source.asked, 0);
}

#[test]
fn a_wrong_passphrase_is_a_clear_78() {
    for name in ["alice.pbkdf2.pem", "alice.scrypt.pem"] {
        let mut wrong = FixedPassphrase(Zeroizing::new("Tr0ub4dor&3".into()));
        let err = load_identity_file(&fixture(name), &mut wrong).unwrap_err();
        assert_eq!(err.kind(), Kind::Config, "{name}");
        assert!(
            err.message().starts_with("wrong passphrase for "),
            "{}",
            err.message()
        );
        assert!(err.message().contains(name));
    }
}

#[test]
fn no_passphrase_source_says_how_to_give_one() {
    let err = load_identity_file(&fixture("alice.pbkdf2.pem"), &mut NoPassphrase).unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    assert!(
        err.message()
            .contains("alice.pbkdf2.pem is passphrase-protected")
    );
    assert!(err.hint().unwrap().contains("--passphrase-file"));
}

#[test]
fn files_without_a_private_key_are_refused() {
    for name in ["alice.crt", "garbage.pem", "alice.pub.der"] {
        let err = load_identity_file(&fixture(name), &mut Never).unwrap_err();
        assert_eq!(err.kind(), Kind::Config, "{name}");
        assert!(
            err.message().contains("no private key"),
            "{}",
            err.message()
        );
    }
    let err = load_identity_file(&fixture("missing.key"), &mut Never).unwrap_err();
    assert_eq!(err.kind(), Kind::NoInput);
}

#[test]
fn expired_certificates_still_identify_their_key() {
    // Old mail must stay readable: an identity's certificate is not checked for dates.
    let mut identity = one_identity("dated.key");
    assert!(identity.add_certificate(&x509_cert_of("expired.crt")));
    assert_eq!(identity.ids.len(), 2);
}

#[test]
fn wrap_then_unwrap_gives_the_session_key_back() {
    let session_key: Vec<u8> = (0u8..32).collect();
    for (cert, key) in [
        ("alice.crt", "alice.key"),
        ("bob.crt", "bob.key"),
        ("carol.crt", "carol.key"),
    ] {
        let recipient = one_recipient(cert);
        let wrapped = recipient.wrap(&session_key).unwrap();
        let again = recipient.wrap(&session_key).unwrap();
        assert_ne!(wrapped, again, "OAEP is randomised");
        let identity = one_identity(key);
        assert_eq!(
            &identity.unwrap_key(&wrapped, SHA256).unwrap()[..],
            &session_key[..],
            "{key}"
        );
    }
}

#[test]
fn the_wrong_key_or_wrong_hash_is_no_permission() {
    let wrapped = one_recipient("alice.crt").wrap(&[7u8; 32]).unwrap();
    let err = one_identity("bob.key")
        .unwrap_key(&wrapped, SHA256)
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoPermission);
    assert!(err.message().contains("bob.key"));
    let sha1 = OaepParams {
        hash: OaepHash::Sha1,
        mgf_hash: OaepHash::Sha1,
    };
    let err = one_identity("alice.key")
        .unwrap_key(&wrapped, sha1)
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoPermission);
    let err = one_identity("alice.key")
        .unwrap_key(&wrapped[1..], SHA256)
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoPermission);
}

#[test]
fn unwrap_reads_what_openssl_wraps_with_every_hash_pair() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("cek");
    std::fs::write(&plain, [0x5au8; 32]).unwrap();
    let identity = one_identity("alice.key");
    let hashes = [
        (OaepHash::Sha1, "sha1"),
        (OaepHash::Sha256, "sha256"),
        (OaepHash::Sha384, "sha384"),
        (OaepHash::Sha512, "sha512"),
    ];
    for (hash, hash_name) in hashes {
        for (mgf_hash, mgf_name) in hashes {
            let wrapped = openssl(&[
                "pkeyutl",
                "-encrypt",
                "-pubin",
                "-inkey",
                fixture("alice.pub.pem").to_str().unwrap(),
                "-in",
                plain.to_str().unwrap(),
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                &format!("rsa_oaep_md:{hash_name}"),
                "-pkeyopt",
                &format!("rsa_mgf1_md:{mgf_name}"),
            ]);
            let params = OaepParams { hash, mgf_hash };
            let key = identity.unwrap_key(&wrapped, params).unwrap();
            assert_eq!(&key[..], &[0x5au8; 32], "{hash_name}/{mgf_name}");
        }
    }
}

#[test]
fn openssl_unwraps_what_wrap_writes() {
    let dir = tempfile::tempdir().unwrap();
    let wrapped_path = dir.path().join("wrapped");
    let key: Vec<u8> = (100u8..132).collect();
    std::fs::write(&wrapped_path, one_recipient("bob.crt").wrap(&key).unwrap()).unwrap();
    let unwrapped = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        fixture("bob.key").to_str().unwrap(),
        "-in",
        wrapped_path.to_str().unwrap(),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    ]);
    assert_eq!(unwrapped, key);
}

#[test]
fn debug_output_shows_no_key_material() {
    let identity = one_identity("alice.key");
    let shown = format!("{identity:?}");
    assert!(shown.contains("subject key identifier"), "{shown}");
    assert!(
        !shown.contains("primes") && !shown.contains(" d:"),
        "{shown}"
    );
}

mod hostile_input {
    use super::*;
    use proptest::prelude::*;
    use sealmail::keys::{identities_from_bytes, recipients_from_bytes};

    fn check(bytes: &[u8]) {
        // Anything may be refused, but only with the kinds a bad file maps to, never a panic.
        if let Err(e) = recipients_from_bytes(bytes, "fuzz", SystemTime::now()) {
            assert_eq!(e.kind(), Kind::Config, "{}", e.message());
        }
        let mut pass = FixedPassphrase(Zeroizing::new("x".into()));
        if let Err(e) = identities_from_bytes(bytes, "fuzz", &mut pass) {
            assert_eq!(e.kind(), Kind::Config, "{}", e.message());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            check(&bytes);
        }

        #[test]
        fn damaged_certificates_and_keys_never_panic(
            which in 0usize..3,
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let name = ["alice.crt.der", "alice.crt", "alice.pkcs1.der"][which];
            let mut bytes = std::fs::read(fixture(name)).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(cut.index(bytes.len()) + 1);
            check(&bytes);
        }
    }
}
