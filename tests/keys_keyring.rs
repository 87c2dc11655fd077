//! Keyring lookups by email address.

mod keys_common;

use keys_common::*;
use sealmail::Kind;
use sealmail::keys::{Keyring, describe_recipient_id, load_recipient_file};
use std::time::SystemTime;

fn keyring() -> Keyring {
    Keyring::new(fixture("keyring"))
}

fn id_of_file(name: &str) -> String {
    let r = load_recipient_file(&fixture(name), SystemTime::now()).unwrap();
    describe_recipient_id(&r[0].id)
}

#[test]
fn addresses_match_case_insensitively_and_bad_files_are_warnings() {
    let (recipient, warnings) = keyring()
        .lookup("ALICE@Example.ORG", SystemTime::now())
        .unwrap();
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
    let (bob, _) = keyring()
        .lookup("bob@example.org", SystemTime::now())
        .unwrap();
    assert_eq!(describe_recipient_id(&bob.id), id_of_file("bob.crt"));
    // frank's certificate has no subjectAltName, only the subject emailAddress.
    let (frank, _) = keyring()
        .lookup("frank@example.org", SystemTime::now())
        .unwrap();
    assert!(frank.source.contains("frank.pem"));
}

#[test]
fn of_several_valid_certificates_the_one_valid_longest_wins() {
    // dave-a-short (2035), dave-b-long (2125), dave-c-mid (2040): the winner sorts in the middle.
    let (dave, _) = keyring()
        .lookup("dave@example.org", SystemTime::now())
        .unwrap();
    assert!(dave.source.contains("dave-b-long.cer"), "{}", dave.source);
    assert_eq!(
        describe_recipient_id(&dave.id),
        id_of_file("keyring/dave-b-long.cer")
    );
    // After 2035 the short one has expired and is skipped without an error.
    let in_2036 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_100_000_000);
    let (dave, _) = keyring().lookup("DAVE@example.org", in_2036).unwrap();
    assert!(dave.source.contains("dave-b-long.cer"), "{}", dave.source);
}

#[test]
fn an_expired_only_certificate_is_78_with_the_reason() {
    let err = keyring()
        .lookup("erin@example.org", SystemTime::now())
        .unwrap_err();
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
    let err = keyring()
        .lookup("nobody@example.org", SystemTime::now())
        .unwrap_err();
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
        .lookup("alice@example.org", SystemTime::now())
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
        .lookup("alice@example.org", SystemTime::now())
        .unwrap_err();
    assert_eq!(err.kind(), Kind::NoUser, "a .txt file is not looked at");
}
