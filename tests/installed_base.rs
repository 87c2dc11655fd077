//! The installed base's dialect, read: EnvelopedData with AES-CBC or 3DES and RSA PKCS#1 v1.5 key
//! transport (what Thunderbird, Outlook, Apple Mail and gpgsm send), made by openssl
//! (fixtures/installed_base, with the commands beside them). Also what may not differ: a damaged
//! key-transport block and a damaged CBC padding get the same answer, word for word.

mod common;
use common::*;
use std::process::Output;

const WARNING: &str = "sealmail: warning: the message was not integrity-protected";

fn decrypt(args: &[&str], input: &[u8]) -> Output {
    let mut cmd = sealmail();
    cmd.arg("decrypt")
        .arg("-i")
        .arg(fixture("interop/alice.key"))
        .args(args)
        .env_remove("SEALMAIL_REQUIRE_AEAD");
    run(cmd, input)
}

#[test]
fn every_openssl_cbc_message_decrypts_with_a_warning() {
    let plain = read_fixture("installed_base/plain.eml");
    for name in [
        "aes256-cbc.smime",
        "aes128-cbc.smime",
        "aes192-cbc.smime",
        "des3-cbc.smime",
        "aes256-cbc.der",
        "aes256-cbc-stream.der",
        "aes256-cbc-stream.pem",
        "aes256-cbc-keyid.smime",
        "aes256-cbc-two.smime",
        "aes256-cbc-oaep.smime",
    ] {
        let out = decrypt(&[], &read_fixture(&format!("installed_base/{name}")));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert_eq!(out.stdout, plain, "{name}");
        assert!(stderr.starts_with(WARNING), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
}

#[test]
fn aes_gcm_with_pkcs1v15_key_transport_decrypts_without_a_warning() {
    let out = decrypt(&[], &read_fixture("installed_base/aes256-gcm-v15.der"));
    assert_ok(&out, "");
    assert_eq!(out.stdout, read_fixture("installed_base/plain.eml"));
    assert!(out.stderr.is_empty());
}

/// The offset of one byte inside the (2048-bit) PKCS#1 v1.5 encrypted key.
fn in_key_transport_block(der: &[u8]) -> usize {
    let at = der
        .windows(4)
        .position(|w| w == [0x04, 0x82, 0x01, 0x00])
        .expect("the 256-byte encryptedKey");
    at + 4 + 100
}

/// A damaged PKCS#1 v1.5 block (implicit rejection: decryption goes on with a synthetic key) and
/// a damaged last block (bad padding with the right key) end the same way: exit 65, the same
/// stderr, nothing on stdout, no output file.
#[test]
fn a_damaged_key_transport_block_and_a_damaged_padding_answer_alike() {
    let der = read_fixture("installed_base/aes256-cbc.der");
    let mut bad_block = der.clone();
    bad_block[in_key_transport_block(&der)] ^= 0x01;
    let mut bad_padding = der.clone();
    // The last octet of the last-but-one cipher block flips the last plaintext octet (the
    // padding length, 1..=16) by 0x80: never a valid padding.
    let at = der.len() - 17;
    bad_padding[at] ^= 0x80;

    let dir = tempdir();
    let mut answers = Vec::new();
    for (name, input) in [("block", &bad_block), ("padding", &bad_padding)] {
        let out = decrypt(&[], input);
        assert_fails(&out, 65, "does not decrypt");
        let file = dir.path().join(name);
        let to_file = decrypt(&["-o", file.to_str().unwrap()], input);
        assert_eq!(to_file.status.code(), Some(65));
        assert!(!file.exists(), "{name}: an output file was left");
        assert_eq!(to_file.stderr, out.stderr);
        answers.push(out.stderr);
    }
    assert_eq!(
        String::from_utf8_lossy(&answers[0]),
        String::from_utf8_lossy(&answers[1])
    );
}

/// AES-GCM with PKCS#1 v1.5: a damaged block gives a synthetic key, which the tag refuses just as
/// it refuses a damaged tag.
#[test]
fn with_aes_gcm_a_damaged_block_answers_like_a_damaged_tag() {
    let der = read_fixture("installed_base/aes256-gcm-v15.der");
    let mut bad_block = der.clone();
    bad_block[in_key_transport_block(&der)] ^= 0x01;
    let mut bad_tag = der.clone();
    let last = der.len() - 1;
    bad_tag[last] ^= 0x01;
    let a = decrypt(&[], &bad_block);
    let b = decrypt(&[], &bad_tag);
    assert_fails(&a, 65, "integrity check failed");
    assert_fails(&b, 65, "integrity check failed");
    assert_eq!(a.stderr, b.stderr);
}

/// Identities are never tried blind against a PKCS#1 v1.5 recipient: every try would "succeed"
/// with a synthetic key. A key that the message does not name gets 77, even the right key when
/// it is loaded without the certificate the message names it by.
#[test]
fn pkcs1v15_recipients_are_matched_by_identifier_only() {
    let der = read_fixture("installed_base/aes256-cbc.der");
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(fixture("interop/bob.key"));
    assert_fails(&run(cmd, &der), 77, "none of the identities");

    // alice's key alone (PKCS#8, no certificate): it answers to its subjectKeyIdentifier only,
    // and the message names alice by issuer and serial number.
    let dir = tempdir();
    let bare = dir.path().join("bare.key");
    let key = String::from_utf8(read_fixture("interop/alice.key")).unwrap();
    let end = "-----END PRIVATE KEY-----";
    let only_key = &key[..key.find(end).expect("a PKCS#8 key") + end.len()];
    std::fs::write(&bare, format!("{only_key}\n")).unwrap();
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(&bare);
    assert_fails(&run(cmd, &der), 77, "none of the identities");
    // The same key finds the subjectKeyIdentifier recipient (openssl -keyid).
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(&bare);
    let out = run(cmd, &read_fixture("installed_base/aes256-cbc-keyid.smime"));
    assert_ok(&out, "");
}

#[test]
fn require_aead_refuses_enveloped_data_and_writes_nothing() {
    let der = read_fixture("installed_base/aes256-cbc.der");
    assert_fails(
        &decrypt(&["--require-aead"], &der),
        65,
        "not integrity-protected",
    );
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"])
        .arg(fixture("interop/alice.key"))
        .env("SEALMAIL_REQUIRE_AEAD", "1");
    assert_fails(&run(cmd, &der), 65, "--require-aead");
    let dir = tempdir();
    let file = dir.path().join("out.eml");
    let out = decrypt(&["--require-aead", "-o", file.to_str().unwrap()], &der);
    assert_eq!(out.status.code(), Some(65));
    assert!(!file.exists());
    // AuthEnvelopedData passes, whatever its key transport.
    let gcm = read_fixture("installed_base/aes256-gcm-v15.der");
    let out = decrypt(&["--require-aead"], &gcm);
    assert!(out.status.success());
    assert_eq!(out.stdout, read_fixture("installed_base/plain.eml"));
}

#[test]
fn inspect_names_content_type_cipher_key_transport_and_integrity() {
    let inspect = |name: &str| {
        let mut cmd = sealmail();
        cmd.arg("inspect").arg(fixture(name));
        let out = run(cmd, b"");
        assert!(out.status.success(), "{name}");
        String::from_utf8(out.stdout).unwrap()
    };
    let cbc = inspect("installed_base/aes256-cbc.smime");
    for line in [
        "content type: envelopedData (RFC 5652)",
        "cipher: aes-256-cbc (16-byte IV)",
        "key transport: RSA PKCS#1 v1.5",
        "integrity protection: NO",
    ] {
        assert!(cbc.contains(line), "{line:?} in {cbc}");
    }
    let des = inspect("installed_base/des3-cbc.smime");
    assert!(des.contains("cipher: des-ede3-cbc (8-byte IV)"), "{des}");
    let gcm = inspect("installed_base/aes256-gcm-v15.der");
    for line in [
        "content type: authEnvelopedData (RFC 5083)",
        "key transport: RSA PKCS#1 v1.5",
        "integrity protection: yes",
    ] {
        assert!(gcm.contains(line), "{line:?} in {gcm}");
    }
    let oaep = inspect("installed_base/aes256-cbc-oaep.smime");
    assert!(
        oaep.contains("key transport: RSAES-OAEP (SHA-256, MGF1-SHA-256)"),
        "{oaep}"
    );
}

/// Every truncation of an EnvelopedData message is a data error with nothing on stdout.
#[test]
fn truncated_enveloped_data_is_a_data_error() {
    let der = read_fixture("installed_base/aes256-cbc.der");
    for cut in [10, der.len() / 2, der.len() - 1] {
        assert_fails(&decrypt(&[], &der[..cut]), 65, "");
    }
}
