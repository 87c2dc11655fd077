//! `-i FILE.p12`: decrypting with the PKCS#12 files openssl (default and legacy PBEs) and NSS's
//! pk12util write, found by their content whatever their name, and the refusals: a wrong
//! passphrase (77, nothing written), a file without a MAC (78).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const MESSAGE: &str = "messages/lf/plain.eml";

/// A message sealed to alice's certificate (issuerAndSerialNumber), and what it decrypts to.
fn sealed_to_alice(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let sealed = dir.join("sealed.eml");
    let out = sealmail()
        .args(["encrypt", "-r"])
        .arg(fixture("keys/alice.crt"))
        .arg("-o")
        .arg(&sealed)
        .arg(fixture(MESSAGE))
        .output()
        .unwrap();
    assert_ok(&out, "");
    let plain = sealmail()
        .args(["decrypt", "-i"])
        .arg(fixture("keys/alice.key"))
        .arg(&sealed)
        .output()
        .unwrap();
    assert!(plain.status.success());
    (sealed, plain.stdout)
}

/// `sealmail decrypt --passphrase-file PASS -i P12`, both files in fixtures/pkcs12/; the caller
/// adds the rest.
fn decrypt_with_p12(pass: &str, p12: &str) -> Command {
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--passphrase-file"])
        .arg(fixture(&format!("pkcs12/{pass}")))
        .arg("-i")
        .arg(fixture(&format!("pkcs12/{p12}")));
    cmd
}

#[test]
fn openssl_and_nss_pkcs12_files_decrypt() {
    let dir = tempdir();
    let (sealed, expected) = sealed_to_alice(dir.path());
    for name in [
        "openssl-default.p12",
        "openssl-legacy.pfx",
        "openssl-3des-rc2-40.bin",
        "openssl-rc2-128.p12",
        "nss.p12",
    ] {
        let out = decrypt_with_p12("right.pass", name)
            .arg(&sealed)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == expected, "{name}");
    }
}

/// The passphrase also comes from the environment, and the key answers to the certificate's
/// issuerAndSerialNumber that openssl put in the message.
#[test]
fn openssl_cms_mail_decrypts_with_the_p12_and_the_environment_passphrase() {
    let dir = tempdir();
    let plain = fixture(MESSAGE);
    let sealed = dir.path().join("openssl.p7m");
    let status = openssl()
        .args(["cms", "-encrypt", "-aes-256-gcm", "-in"])
        .arg(&plain)
        .arg("-out")
        .arg(&sealed)
        .arg("-recip")
        .arg(fixture("keys/alice.crt"))
        .args(["-keyopt", "rsa_padding_mode:oaep"])
        .status();
    let Ok(status) = status else {
        eprintln!("skipping: openssl is not installed");
        return;
    };
    assert!(status.success());
    let out = sealmail()
        .env("SEALMAIL_PASSPHRASE", "correct horse battery staple")
        .args(["decrypt", "--entity", "-i"])
        .arg(fixture("pkcs12/openssl-default.p12"))
        .arg(&sealed)
        .output()
        .unwrap();
    assert_ok(&out, "");
    let body = String::from_utf8_lossy(&out.stdout);
    let original = String::from_utf8_lossy(&read_fixture(MESSAGE)).into_owned();
    let last_line = original.trim_end().lines().last().unwrap().to_string();
    assert!(body.contains(&last_line), "{body}");
}

#[test]
fn a_wrong_passphrase_is_77_names_the_passphrase_and_writes_nothing() {
    let dir = tempdir();
    let (sealed, _) = sealed_to_alice(dir.path());
    for name in ["openssl-default.p12", "openssl-legacy.pfx", "nss.p12"] {
        let target = dir.path().join("out.eml");
        let out = decrypt_with_p12("wrong.pass", name)
            .arg("-o")
            .arg(&target)
            .arg(&sealed)
            .output()
            .unwrap();
        assert_fails(&out, 77, "wrong passphrase for");
        assert!(!target.exists(), "{name}");
        // The same to stdout: nothing there either.
        let out = decrypt_with_p12("wrong.pass", name)
            .arg(&sealed)
            .output()
            .unwrap();
        assert_fails(&out, 77, name);
    }
}

#[test]
fn a_p12_without_a_passphrase_source_asks_for_one() {
    let dir = tempdir();
    let (sealed, _) = sealed_to_alice(dir.path());
    let out = sealmail()
        .args(["decrypt", "-i"])
        .arg(fixture("pkcs12/openssl-default.p12"))
        .arg(&sealed)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_fails(&out, 78, "passphrase");
}

#[test]
fn a_p12_without_a_mac_is_refused_with_78() {
    let dir = tempdir();
    let (sealed, _) = sealed_to_alice(dir.path());
    let out = decrypt_with_p12("right.pass", "openssl-nomac.p12")
        .arg(&sealed)
        .output()
        .unwrap();
    assert_fails(&out, 78, "without a MAC");
}
