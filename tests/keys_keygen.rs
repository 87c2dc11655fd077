//! `keygen`: the key and certificate parse back, carry the S/MIME extensions, and openssl cms
//! can encrypt to the certificate and decrypt with the key.

mod keys_common;

use der::DecodePem;
use keys_common::*;
use sealmail::Kind;
use sealmail::keys::{
    FixedPassphrase, GeneratedKey, KeygenRequest, OaepHash, OaepParams, keygen, load_identity_file,
    load_recipient_file, subject_key_identifier,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};
use zeroize::Zeroizing;

fn request(bits: usize, passphrase: Option<&str>) -> KeygenRequest {
    KeygenRequest {
        email: "gen@example.org".into(),
        name: Some("Gen Erated, Jr.".into()),
        bits,
        days: 30,
        passphrase: passphrase.map(|p| Zeroizing::new(p.to_string())),
    }
}

/// Write the PEMs to `dir` as gen.key / gen.crt.
fn write(dir: &Path, generated: &GeneratedKey) -> (PathBuf, PathBuf) {
    let key = dir.join("gen.key");
    let crt = dir.join("gen.crt");
    std::fs::write(&key, generated.key_pem.as_bytes()).unwrap();
    std::fs::write(&crt, &generated.cert_pem).unwrap();
    (key, crt)
}

#[test]
fn the_certificate_carries_the_smime_profile() {
    let before = SystemTime::now() - Duration::from_secs(2);
    let generated = keygen(&request(2048, None)).unwrap();
    let cert = Certificate::from_pem(generated.cert_pem.as_bytes()).unwrap();
    let tbs = cert.tbs_certificate();

    assert_eq!(tbs.version(), x509_cert::certificate::Version::V3);
    assert_eq!(tbs.subject(), tbs.issuer(), "self-signed");
    assert_eq!(
        tbs.subject().to_string(),
        "EMAIL=gen@example.org,CN=Gen Erated\\, Jr."
    );
    let serial = tbs.serial_number().as_bytes();
    assert_eq!(serial.len(), 16);
    assert!(
        serial[0] & 0x80 == 0 && serial[0] != 0,
        "positive, 16 octets"
    );

    let not_before = tbs.validity().not_before.to_system_time();
    let not_after = tbs.validity().not_after.to_system_time();
    assert!(not_before >= before && not_before <= SystemTime::now());
    assert_eq!(
        not_after.duration_since(not_before).unwrap(),
        Duration::from_secs(30 * 86_400)
    );

    let (critical, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca);
    let (critical, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
    assert!(critical && ku.key_encipherment() && ku.digital_signature());
    let (_, eku) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
    assert_eq!(eku.0, ["1.3.6.1.5.5.7.3.4".parse().unwrap()]);
    let (critical, san) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
    assert!(!critical);
    match &san.0[..] {
        [GeneralName::Rfc822Name(addr)] => assert_eq!(addr.as_str(), "gen@example.org"),
        other => panic!("SAN {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let (key_path, crt_path) = write(dir.path(), &generated);
    let recipient = load_recipient_file(&crt_path, SystemTime::now())
        .unwrap()
        .remove(0);
    let (_, ski) = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .unwrap()
        .unwrap();
    assert_eq!(
        ski.0.as_bytes(),
        subject_key_identifier(recipient.rsa_public_key().unwrap()).unwrap()
    );

    // The key and the certificate belong together, and wrap/unwrap works between them.
    let mut identity = load_identity_file(&key_path, &mut Never).unwrap().remove(0);
    assert!(identity.add_certificate(&cert));
    assert!(identity.matches(&recipient.id));
    let wrapped = recipient.wrap(&[1u8; 32]).unwrap();
    let sha256 = OaepParams {
        hash: OaepHash::Sha256,
        mgf_hash: OaepHash::Sha256,
    };
    assert_eq!(
        &identity.unwrap_key(&wrapped, sha256).unwrap()[..],
        &[1u8; 32]
    );

    // openssl sees the same extensions.
    let text = String::from_utf8(openssl(&[
        "x509",
        "-in",
        crt_path.to_str().unwrap(),
        "-noout",
        "-text",
    ]))
    .unwrap();
    for needle in [
        "Version: 3 (0x2)",
        "sha256WithRSAEncryption",
        "X509v3 Basic Constraints: critical",
        "CA:FALSE",
        "X509v3 Key Usage: critical",
        "Key Encipherment",
        "E-mail Protection",
        "email:gen@example.org",
        "X509v3 Subject Key Identifier",
        "Public-Key: (2048 bit)",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // And the self-signature verifies.
    openssl(&[
        "verify",
        "-CAfile",
        crt_path.to_str().unwrap(),
        crt_path.to_str().unwrap(),
    ]);
}

#[test]
fn openssl_cms_encrypts_to_the_certificate_and_decrypts_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for passphrase in [None, Some(PASSPHRASE)] {
        let generated = keygen(&request(2048, passphrase)).unwrap();
        let (key_path, crt_path) = write(dir.path(), &generated);
        let plain = dir.path().join("plain.txt");
        let sealed = dir.path().join("sealed.p7m");
        std::fs::write(&plain, "Subject: hi\r\n\r\nsecret body\r\n").unwrap();
        openssl(&[
            "cms",
            "-encrypt",
            "-aes-256-gcm",
            "-in",
            plain.to_str().unwrap(),
            "-out",
            sealed.to_str().unwrap(),
            "-recip",
            crt_path.to_str().unwrap(),
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
        ]);
        let pass_arg = format!("pass:{}", passphrase.unwrap_or(""));
        let mut args = vec![
            "cms",
            "-decrypt",
            "-in",
            sealed.to_str().unwrap(),
            "-inkey",
            key_path.to_str().unwrap(),
            "-recip",
            crt_path.to_str().unwrap(),
        ];
        if passphrase.is_some() {
            args.extend(["-passin", &pass_arg]);
        }
        let opened = openssl(&args);
        assert_eq!(
            opened,
            std::fs::read(&plain).unwrap(),
            "passphrase {passphrase:?}"
        );
    }
}

#[test]
fn an_encrypted_key_is_pbes2_and_needs_the_passphrase() {
    let generated = keygen(&request(2048, Some(PASSPHRASE))).unwrap();
    assert!(
        generated
            .key_pem
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let (key_path, crt_path) = write(dir.path(), &generated);

    let parsed =
        String::from_utf8(openssl(&["asn1parse", "-in", key_path.to_str().unwrap()])).unwrap();
    for needle in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
        assert!(parsed.contains(needle), "{needle} missing from:\n{parsed}");
    }

    let mut right = FixedPassphrase(Zeroizing::new(PASSPHRASE.into()));
    let identity = load_identity_file(&key_path, &mut right).unwrap().remove(0);
    let recipient = load_recipient_file(&crt_path, SystemTime::now())
        .unwrap()
        .remove(0);
    assert_eq!(identity.public_key(), recipient.rsa_public_key());

    let mut wrong = FixedPassphrase(Zeroizing::new("wrong".into()));
    let err = load_identity_file(&key_path, &mut wrong).unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    assert!(err.message().contains("wrong passphrase"));
}

#[test]
fn an_unencrypted_key_is_plain_pkcs8() {
    let generated = keygen(&request(3072, None)).unwrap();
    assert!(
        generated
            .key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let (key_path, _) = write(dir.path(), &generated);
    let text = String::from_utf8(openssl(&[
        "pkey",
        "-in",
        key_path.to_str().unwrap(),
        "-noout",
        "-text",
    ]))
    .unwrap();
    assert!(text.contains("Private-Key: (3072 bit, 2 primes)"), "{text}");
}

#[test]
fn the_name_defaults_to_the_address() {
    let mut req = request(2048, None);
    req.name = None;
    let cert = Certificate::from_pem(keygen(&req).unwrap().cert_pem.as_bytes()).unwrap();
    assert_eq!(
        cert.tbs_certificate().subject().to_string(),
        "EMAIL=gen@example.org,CN=gen@example.org"
    );
}

#[test]
fn bad_requests_are_usage_errors() {
    let mut cases = Vec::new();
    for bits in [1024, 2047, 8192] {
        cases.push(KeygenRequest {
            bits,
            ..request(2048, None)
        });
    }
    cases.push(KeygenRequest {
        days: 0,
        ..request(2048, None)
    });
    for email in [
        "",
        "no-at-sign",
        "a@b@c",
        "@example.org",
        "user@",
        "us er@example.org",
        "jürgen@example.org",
    ] {
        cases.push(KeygenRequest {
            email: email.into(),
            ..request(2048, None)
        });
    }
    cases.push(KeygenRequest {
        name: Some("x".repeat(65)),
        ..request(2048, None)
    });
    cases.push(KeygenRequest {
        name: Some("two\nlines".into()),
        ..request(2048, None)
    });
    for req in cases {
        let err = keygen(&req).err().unwrap();
        assert_eq!(
            err.kind(),
            Kind::Usage,
            "{} / {:?}: {}",
            req.bits,
            req.email,
            err.message()
        );
    }
}
