//! Keyring lookups by email address.

mod keys_common;

use keys_common::*;
use sealmail::Kind;
use sealmail::keys::trust::TrustStore;
use sealmail::keys::{Choice, Keyring, describe_recipient_id, load_recipient_file};
use std::time::SystemTime;

fn keyring() -> Keyring {
    Keyring::new(fixture("keyring"))
}

/// A trust store with the test CA that issued alice's, bob's and dave's certificates.
fn trusting_the_test_ca() -> TrustStore {
    let mut store = TrustStore::new();
    let pem = std::fs::read(fixture("ca.crt")).unwrap();
    for cert in sealmail::keys::trust::certificates_from_bytes(&pem).unwrap() {
        store.add_anchor(cert);
    }
    store
}

/// A lookup trusting the test CA, as (recipient, warnings).
fn lookup(
    email: &str,
    now: SystemTime,
) -> sealmail::Result<(sealmail::keys::Recipient, Vec<String>)> {
    keyring().lookup(email, now, &trusting_the_test_ca()).map(
        |Choice {
             recipient,
             warnings,
             ..
         }| (recipient, warnings),
    )
}

fn id_of_file(name: &str) -> String {
    let r = load_recipient_file(&fixture(name), SystemTime::now()).unwrap();
    describe_recipient_id(&r[0].id)
}

#[test]
fn addresses_match_case_insensitively_and_bad_files_are_warnings() {
    let (recipient, warnings) = lookup("ALICE@Example.ORG", SystemTime::now()).unwrap();
    assert_eq!(
        describe_recipient_id(&recipient.id),
        id_of_file("alice.crt")
    );
    assert!(
        recipient.source.contains("alice.pem"),
        "{}",
        recipient.source
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("broken.pem"), "{warnings:?}");
    assert!(warnings[0].contains("not a certificate"), "{warnings:?}");
}

#[test]
fn der_files_and_subject_email_addresses_are_found() {
    let (bob, _) = lookup("bob@example.org", SystemTime::now()).unwrap();
    assert_eq!(describe_recipient_id(&bob.id), id_of_file("bob.crt"));
    // frank's certificate has no subjectAltName, only the subject emailAddress.
    let (frank, _) = lookup("frank@example.org", SystemTime::now()).unwrap();
    assert!(frank.source.contains("frank.pem"));
}

#[test]
fn of_several_trusted_certificates_from_the_same_day_the_one_valid_longest_wins() {
    // dave-a-short (2035), dave-b-long (2125), dave-c-mid (2040), all from 2025-01-01: the
    // winner sorts in the middle.
    let (dave, _) = lookup("dave@example.org", SystemTime::now()).unwrap();
    assert!(dave.source.contains("dave-b-long.cer"), "{}", dave.source);
    assert_eq!(
        describe_recipient_id(&dave.id),
        id_of_file("keyring/dave-b-long.cer")
    );
    // After 2035 the short one has expired and is skipped without an error.
    let in_2036 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_100_000_000);
    let (dave, _) = lookup("DAVE@example.org", in_2036).unwrap();
    assert!(dave.source.contains("dave-b-long.cer"), "{}", dave.source);
}

#[test]
fn an_expired_only_certificate_is_78_with_the_reason() {
    let err = lookup("erin@example.org", SystemTime::now()).unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    assert!(
        err.message().contains("erin-expired.pem"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("expired"), "{}", err.message());
}

#[test]
fn an_unknown_address_is_67_with_a_hint() {
    let err = lookup("nobody@example.org", SystemTime::now()).unwrap_err();
    assert_eq!(err.kind(), Kind::NoUser);
    assert_eq!(err.exit_code(), 67);
    assert!(err.message().contains("nobody@example.org"));
    assert!(err.message().contains("keyring"));
    assert!(err.hint().unwrap().contains("-r FILE"));
}

#[test]
fn a_missing_keyring_is_67_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("certs");
    let err = Keyring::new(&missing)
        .lookup("alice@example.org", SystemTime::now(), &TrustStore::new())
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoUser);
    assert!(err.message().contains("does not exist"));
    assert!(err.hint().unwrap().contains(missing.to_str().unwrap()));
}

#[test]
fn an_empty_keyring_finds_nothing_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("alice.crt"), dir.path().join("alice.txt")).unwrap();
    let err = Keyring::new(dir.path())
        .lookup("alice@example.org", SystemTime::now(), &TrustStore::new())
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoUser, "a .txt file is not looked at");
}

#[test]
fn without_trust_several_keys_for_one_address_are_78_naming_each() {
    let err = keyring()
        .lookup("dave@example.org", SystemTime::now(), &TrustStore::new())
        .unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    for file in ["dave-a-short.crt", "dave-b-long.cer", "dave-c-mid.pem"] {
        assert!(err.message().contains(file), "{}", err.message());
    }
    assert!(err.message().contains("untrusted"), "{}", err.message());
    assert!(err.hint().unwrap().contains("--ca"));
}

#[test]
fn an_untrusted_only_certificate_is_used_with_a_warning_naming_it() {
    // frank's certificate is self-signed: no anchor vouches for it.
    let choice = keyring()
        .lookup(
            "frank@example.org",
            SystemTime::now(),
            &trusting_the_test_ca(),
        )
        .unwrap();
    assert!(!choice.verdict.is_trusted());
    let warning = choice
        .warnings
        .iter()
        .find(|w| w.contains("untrusted"))
        .unwrap_or_else(|| panic!("{:?}", choice.warnings));
    assert!(warning.contains("frank.pem"), "{warning}");
    assert!(warning.contains("serial 0x"), "{warning}");
    assert!(
        choice.explanation.contains("frank.pem"),
        "{}",
        choice.explanation
    );
}

#[test]
fn a_trusted_choice_says_what_it_chains_to_and_warns_of_nothing_but_bad_files() {
    let choice = keyring()
        .lookup(
            "alice@example.org",
            SystemTime::now(),
            &trusting_the_test_ca(),
        )
        .unwrap();
    assert!(choice.verdict.is_trusted());
    assert!(
        choice.explanation.contains("chains to") && choice.explanation.contains("Sealmail Test CA"),
        "{}",
        choice.explanation
    );
    assert!(
        choice.warnings.iter().all(|w| w.contains("broken.pem")),
        "{:?}",
        choice.warnings
    );
}
