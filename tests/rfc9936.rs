//! The example message of RFC 9936 (ML-KEM in the CMS), Appendix C: AuthEnvelopedData with
//! AES-128-GCM, one KEMRecipientInfo for an ML-KEM-512 key (HKDF-SHA256, AES-128 key wrap),
//! made by another implementation. sealmail must open it with the published key, name it in
//! `inspect`, and refuse it damaged. The intermediate values are checked in
//! `cms::recipient::kemri`'s unit tests.

mod common;

use common::{assert_fails, assert_ok, fixture, read_fixture, run, sealmail};

fn decrypt(message: &[u8]) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"])
        .arg(fixture("rfc9936/bob-ml-kem-512.key"));
    run(cmd, message)
}

#[test]
fn the_rfc_example_decrypts_to_its_plaintext() {
    let out = decrypt(&read_fixture("rfc9936/example.cms"));
    assert_ok(&out, "");
    // Not a MIME entity: the content comes out exactly as it went in.
    assert_eq!(out.stdout, b"Hello, world!");
}

#[test]
fn inspect_names_the_kem_the_wrap_and_the_key_identifier() {
    let mut cmd = sealmail();
    cmd.arg("inspect").arg(fixture("rfc9936/example.cms"));
    let out = run(cmd, b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "authEnvelopedData",
        "aes-128-gcm",
        "ML-KEM-512 (HKDF-SHA256, AES-128 key wrap)",
        "59:97:88:c3:7a:ed:40:0e:e4:05:d1:b2:a3:36:6a:b1:7d:82:4a:51",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
}

/// sealmail names a bare public key by the SHA-1 of its key bits, as the RFC's sender did: mail
/// sealmail writes to the published public key carries the published key identifier, and the
/// published private key opens it.
#[test]
fn sealmail_encrypts_to_the_published_key_and_the_published_key_opens_it() {
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--entity", "-r"])
        .arg(fixture("rfc9936/bob-ml-kem-512.pub"));
    let entity = b"Content-Type: text/plain\n\nHello again\n";
    let sealed = run(cmd, entity);
    assert_ok(&sealed, "");
    let mut cmd = sealmail();
    cmd.arg("inspect");
    let info = run(cmd, &sealed.stdout);
    assert!(
        String::from_utf8_lossy(&info.stdout)
            .contains("59:97:88:c3:7a:ed:40:0e:e4:05:d1:b2:a3:36:6a:b1:7d:82:4a:51")
    );
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--entity", "-i"])
        .arg(fixture("rfc9936/bob-ml-kem-512.key"));
    let out = run(cmd, &sealed.stdout);
    assert_ok(&out, "");
    // Line endings come back as they went in.
    assert_eq!(out.stdout, entity);
}

/// A changed tag, ciphertext or KEM ciphertext: exit 65 or 77 with nothing released.
#[test]
fn the_example_damaged_is_refused_with_nothing_written() {
    use base64::Engine as _;
    let pem = String::from_utf8(read_fixture("rfc9936/example.cms")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let n = der.len();
    // The last byte is the GCM tag's, 17 from the end the ciphertext's; offset 200 is inside
    // the ML-KEM ciphertext (a forged one decapsulates to another secret, implicit rejection).
    for (what, at, code) in [
        ("tag", n - 1, 65),
        ("ciphertext", n - 20, 65),
        ("kem", 200, 77),
    ] {
        let mut damaged = der.clone();
        damaged[at] ^= 0x01;
        let out = decrypt(&damaged);
        assert_fails(
            &out,
            code,
            if code == 65 {
                "integrity"
            } else {
                "can decrypt"
            },
        );
        assert!(out.stdout.is_empty(), "{what}");
    }
}
