//! The command line with the modern recipient kinds: `keygen --kind`, a message to RSA + X25519 +
//! ML-KEM (+ P-256) recipients that each decrypt, `inspect` naming each kind, openssl 3 encrypting
//! to an EC certificate for sealmail and the reverse, and the errors on the way.

mod common;
use common::*;
use std::path::Path;

const MESSAGE: &[u8] =
    b"From: alice@example.org\nTo: bob@example.org\nSubject: pq\n\nhello, post-quantum world\n";

/// id-ori-kem, 1.2.840.113549.1.9.16.13.3, as DER.
const ID_ORI_KEM_DER: &[u8] = &[
    0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x0d, 0x03,
];

fn keygen(dir: &Path, args: &[&str]) {
    let mut cmd = sealmail();
    cmd.current_dir(dir).arg("keygen").args(args);
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "keygen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn decrypt(dir: &Path, key: &str, sealed: &str) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.current_dir(dir).args(["decrypt", "-i", key, sealed]);
    run(cmd, b"")
}

#[test]
fn a_message_to_rsa_x25519_ml_kem_and_p256_decrypts_for_each() {
    let dir = tempdir();
    let d = dir.path();
    keygen(
        d,
        &["--email", "rsa@example.org", "--bits", "2048", "-o", "rsa"],
    );
    keygen(d, &["--kind", "x25519", "-o", "x"]);
    keygen(d, &["--kind", "ml-kem-768", "-o", "k"]);
    keygen(d, &["--kind", "ml-kem-1024", "-o", "k5"]);
    keygen(d, &["--kind", "p256", "-o", "e"]);
    for name in ["x", "k", "k5", "e"] {
        let key = std::fs::read_to_string(d.join(format!("{name}.key"))).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{name}");
        let public = std::fs::read_to_string(d.join(format!("{name}.pub"))).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{name}");
    }

    let mut cmd = sealmail();
    cmd.current_dir(d).args([
        "encrypt",
        "--outform",
        "der",
        "-r",
        "rsa.crt",
        "-r",
        "x.pub",
        "-r",
        "k.pub",
        "-r",
        "k5.pub",
        "-r",
        "e.pub",
        "-o",
        "sealed.der",
    ]);
    let out = run(cmd, MESSAGE);
    assert_ok(&out, "");
    let der = std::fs::read(d.join("sealed.der")).unwrap();
    assert!(
        der.windows(ID_ORI_KEM_DER.len())
            .any(|w| w == ID_ORI_KEM_DER),
        "no id-ori-kem in the message"
    );

    let mut cmd = sealmail();
    cmd.current_dir(d)
        .args(["inspect", "--inform", "der", "sealed.der"]);
    let out = run(cmd, b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("recipients: 5"), "{text}");
    assert!(text.contains("RSAES-OAEP"), "{text}");
    assert!(
        text.contains("key agreement (kari): X25519 (HKDF-SHA256, AES-256 key wrap)"),
        "{text}"
    );
    assert!(
        text.contains("key agreement (kari): ECDH P-256 (X9.63 KDF with SHA-256"),
        "{text}"
    );
    assert!(
        text.contains("KEM (ori id-ori-kem): ML-KEM-768 (HKDF-SHA256, AES-256 key wrap)"),
        "{text}"
    );
    assert!(text.contains("KEM (ori id-ori-kem): ML-KEM-1024"), "{text}");

    let mut plain = None;
    for key in ["rsa.key", "x.key", "k.key", "k5.key", "e.key"] {
        let mut cmd = sealmail();
        cmd.current_dir(d)
            .args(["decrypt", "--inform", "der", "-i", key, "sealed.der"]);
        let out = run(cmd, b"");
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("hello, post-quantum world"),
            "{key}"
        );
        // Every identity gets exactly the same message.
        match &plain {
            None => plain = Some(out.stdout),
            Some(p) => assert_eq!(p, &out.stdout, "{key}"),
        }
    }
}

#[test]
fn a_key_of_the_right_kind_but_not_a_recipient_gets_77() {
    let dir = tempdir();
    let d = dir.path();
    for (kind, prefix) in [
        ("x25519", "x"),
        ("x25519", "x2"),
        ("ml-kem-768", "k"),
        ("ml-kem-768", "k2"),
    ] {
        keygen(d, &["--kind", kind, "-o", prefix]);
    }
    let mut cmd = sealmail();
    cmd.current_dir(d)
        .args(["encrypt", "-r", "x.pub", "-r", "k.pub", "-o", "sealed.eml"]);
    assert!(run(cmd, MESSAGE).status.success());
    for stranger in ["x2.key", "k2.key"] {
        assert_fails(&decrypt(d, stranger, "sealed.eml"), 77, "decrypt");
    }
}

#[test]
fn keygen_kind_errors_are_usage_errors_and_write_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let mut cmd = sealmail();
    cmd.current_dir(d).args(["keygen", "--kind", "x25519"]);
    assert_fails(&run(cmd, b""), 64, "-o PREFIX");
    let mut cmd = sealmail();
    cmd.current_dir(d).args(["keygen", "-o", "r"]);
    assert_fails(&run(cmd, b""), 64, "--email");
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);

    keygen(d, &["--kind", "ml-kem-1024", "-o", "k"]);
    let mut cmd = sealmail();
    cmd.current_dir(d)
        .args(["keygen", "--kind", "x25519", "-o", "k"]);
    assert_fails(&run(cmd, b""), 73, "already exists");
}

#[test]
fn an_unsupported_private_key_algorithm_is_named() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    let mut cmd = openssl();
    cmd.current_dir(d)
        .args(["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    assert!(run(cmd, b"").status.success());
    keygen(d, &["--kind", "x25519", "-o", "x"]);
    let mut cmd = sealmail();
    cmd.current_dir(d)
        .args(["encrypt", "-r", "x.pub", "-o", "sealed.eml"]);
    assert!(run(cmd, MESSAGE).status.success());
    assert_fails(
        &decrypt(d, "ed.key", "sealed.eml"),
        78,
        "an Ed25519 key, which sealmail does not use",
    );
}

/// An EC P-256 key and an S/MIME certificate for it (keyAgreement, emailProtection), by openssl.
fn openssl_ec_identity(d: &Path) {
    openssl_ec_certificate(
        d,
        "/CN=bob/emailAddress=bob@example.org",
        &[
            "basicConstraints=CA:FALSE",
            "keyUsage=keyAgreement",
            "extendedKeyUsage=emailProtection",
        ],
    );
}

/// `ec.key` and a self-signed `ec.crt` for it with `subject` and `extensions`, by openssl.
fn openssl_ec_certificate(d: &Path, subject: &str, extensions: &[&str]) {
    let mut cmd = openssl();
    cmd.current_dir(d).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ec.key",
        "-out",
        "ec.crt",
        "-days",
        "2",
        "-subj",
        subject,
    ]);
    for extension in extensions {
        cmd.args(["-addext", extension]);
    }
    let out = run(cmd, b"");
    assert_ok(&out, "");
}

#[test]
fn openssl_encrypts_to_an_ec_certificate_and_sealmail_decrypts() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    openssl_ec_identity(d);
    std::fs::write(d.join("m.eml"), MESSAGE).unwrap();
    let mut cmd = openssl();
    cmd.current_dir(d).args([
        "cms",
        "-encrypt",
        "-aes-256-gcm",
        "-recip",
        "ec.crt",
        "-in",
        "m.eml",
        "-out",
        "o.smime",
    ]);
    let out = run(cmd, b"");
    assert_ok(&out, "");
    let out = decrypt(d, "ec.key", "o.smime");
    assert_ok(&out, "");
    assert_eq!(out.stdout, MESSAGE);
}

#[test]
fn sealmail_encrypts_to_an_ec_certificate_and_openssl_decrypts() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    openssl_ec_identity(d);
    let mut cmd = sealmail();
    cmd.current_dir(d).args([
        "encrypt",
        "--cipher",
        "aes-256-gcm",
        "-r",
        "ec.crt",
        "-o",
        "sealed.eml",
    ]);
    let out = run(cmd, MESSAGE);
    assert_ok(&out, "");
    let mut cmd = openssl();
    cmd.current_dir(d).args([
        "cms",
        "-decrypt",
        "-in",
        "sealed.eml",
        "-inkey",
        "ec.key",
        "-recip",
        "ec.crt",
    ]);
    let out = run(cmd, b"");
    assert_ok(&out, "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hello, post-quantum world"), "{text}");
    assert!(text.contains("Subject: pq"), "{text}");
}

#[test]
fn an_ec_certificate_without_key_agreement_is_refused() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let d = dir.path();
    openssl_ec_certificate(d, "/CN=bob", &["keyUsage=digitalSignature"]);
    let mut cmd = sealmail();
    cmd.current_dir(d)
        .args(["encrypt", "-r", "ec.crt", "-o", "sealed.eml"]);
    assert_fails(&run(cmd, MESSAGE), 78, "keyAgreement");
    assert!(!d.join("sealed.eml").exists());
}
