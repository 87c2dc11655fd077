//! PKCS#12 files with keys other than RSA: the key in the file goes through the same PKCS#8
//! reader as a PEM key, so a P-256 or X25519 key that openssl put in a `.p12` decrypts, and
//! `export` writes such a key for openssl to read back. Also: `sign -i FILE.p12` signs with the
//! certificate inside the file, and `keygen --kind --p12` without an issuer is refused (no
//! certificate to put in; tests/keygen_issuer.rs has it with one).
//!
//! The keys and certificates are made here with openssl, so these tests skip (saying why) only
//! when openssl is absent.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASS: &str = "correct horse battery staple";
const MESSAGE: &str = "messages/lf/plain.eml";

fn ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An extension file for `openssl x509 -req -extfile`: a mail certificate for key agreement.
fn agreement_extensions(dir: &Path, email: &str) -> PathBuf {
    let path = dir.join("ext.cnf");
    std::fs::write(
        &path,
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n\
             extendedKeyUsage=emailProtection\nsubjectAltName=email:{email}\n"
        ),
    )
    .unwrap();
    path
}

/// A P-256 CA (key, certificate) in `dir`.
fn make_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("ca.key");
    let cert = dir.join("ca.crt");
    ok(openssl()
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=Kinds Test CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (key, cert)
}

/// A key of `algorithm` (`EC` P-256 or `X25519`), its certificate from the CA in `dir` (openssl
/// puts any public key into a certificate with -force_pubkey), and the two in a PKCS#12 file
/// protected with [`PASS`]: returns (key, certificate, p12).
fn key_cert_p12(dir: &Path, algorithm: &str, email: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (ca_key, ca_cert) = make_ca(dir);
    let key = dir.join("user.key");
    let public = dir.join("user.pub");
    let csr = dir.join("user.csr");
    let cert = dir.join("user.crt");
    let p12 = dir.join("user.p12");
    let mut genpkey = openssl();
    genpkey.args(["genpkey", "-algorithm", algorithm]);
    if algorithm == "EC" {
        genpkey.args(["-pkeyopt", "ec_paramgen_curve:P-256"]);
    }
    ok(genpkey.arg("-out").arg(&key));
    ok(openssl()
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public));
    // X25519 cannot sign a request: the CA's key signs it, and -force_pubkey puts the user's in.
    ok(openssl()
        .args(["req", "-new", "-subj", &format!("/CN={email}"), "-key"])
        .arg(&ca_key)
        .arg("-out")
        .arg(&csr));
    ok(openssl()
        .args(["x509", "-req", "-days", "30", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca_cert)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-CAcreateserial")
        .arg("-force_pubkey")
        .arg(&public)
        .arg("-extfile")
        .arg(agreement_extensions(dir, email))
        .arg("-out")
        .arg(&cert));
    ok(openssl()
        .args(["pkcs12", "-export", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&cert)
        .arg("-certfile")
        .arg(&ca_cert)
        .args(["-passout", &format!("pass:{PASS}"), "-out"])
        .arg(&p12));
    (key, cert, p12)
}

/// Encrypt the test message to `cert`, decrypt it with `key` (a PEM file) and with `p12`: both
/// must give the same message.
fn decrypts_alike(dir: &Path, cert: &Path, key: &Path, p12: &Path) {
    let sealed = dir.join("sealed.eml");
    ok(sealmail()
        .args(["encrypt", "-r"])
        .arg(cert)
        .arg("-o")
        .arg(&sealed)
        .arg(fixture(MESSAGE)));
    let with_pem = ok(sealmail().args(["decrypt", "-i"]).arg(key).arg(&sealed));
    let with_p12 = ok(sealmail()
        .env("SEALMAIL_PASSPHRASE", PASS)
        .args(["decrypt", "-i"])
        .arg(p12)
        .arg(&sealed));
    assert!(!with_pem.is_empty());
    assert!(with_p12 == with_pem, "{}", p12.display());
}

#[test]
fn a_p256_key_in_an_openssl_p12_decrypts() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let (key, cert, p12) = key_cert_p12(dir.path(), "EC", "ec@example.org");
    decrypts_alike(dir.path(), &cert, &key, &p12);
}

#[test]
fn an_x25519_key_in_an_openssl_p12_decrypts() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let (key, cert, p12) = key_cert_p12(dir.path(), "X25519", "x@example.org");
    decrypts_alike(dir.path(), &cert, &key, &p12);
}

/// `import` of an X25519 p12 stores the key (encrypted, 0600) where `decrypt` finds it without
/// `-i`, beside its certificate.
#[test]
fn an_imported_x25519_p12_decrypts_without_i() {
    use std::os::unix::fs::PermissionsExt;
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let (_, cert, p12) = key_cert_p12(dir.path(), "X25519", "x@example.org");
    let config = dir.path().join("config");
    ok(sealmail()
        .env("XDG_CONFIG_HOME", &config)
        .env("SEALMAIL_PASSPHRASE", PASS)
        .arg("import")
        .arg(&p12));
    let key = config.join("sealmail/keys/x@example.org.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let sealed = dir.path().join("sealed.eml");
    ok(sealmail()
        .args(["encrypt", "-r"])
        .arg(&cert)
        .arg("-o")
        .arg(&sealed)
        .arg(fixture(MESSAGE)));
    let plain = ok(sealmail()
        .env("XDG_CONFIG_HOME", &config)
        .env("SEALMAIL_PASSPHRASE", PASS)
        .arg("decrypt")
        .arg(&sealed));
    let expected = String::from_utf8_lossy(&read_fixture(MESSAGE)).into_owned();
    let last_line = expected.trim_end().lines().last().unwrap().to_string();
    assert!(String::from_utf8_lossy(&plain).contains(&last_line));
}

/// `export` writes any kind sealmail reads: openssl finds the same P-256 key in the file, and
/// sealmail decrypts with it.
#[test]
fn an_exported_p256_key_is_the_same_key_for_openssl_and_decrypts() {
    if !has_tool("openssl") {
        return;
    }
    let dir = tempdir();
    let (key, cert, _) = key_cert_p12(dir.path(), "EC", "ec@example.org");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{PASS}\n")).unwrap();
    let exported = dir.path().join("exported.p12");
    ok(sealmail()
        .args(["export", "-i"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--passphrase-file")
        .arg(&pass)
        .arg("-o")
        .arg(&exported));
    let from_p12 = ok(openssl()
        .args(["pkcs12", "-nocerts", "-nodes", "-passin"])
        .arg(format!("file:{}", pass.display()))
        .arg("-in")
        .arg(&exported));
    let text = |pem: &[u8]| {
        let mut cmd = openssl();
        cmd.args(["pkey", "-noout", "-text"]);
        String::from_utf8(run(cmd, pem).stdout).unwrap()
    };
    let original = text(&std::fs::read(&key).unwrap());
    assert!(original.contains("priv:"), "{original}");
    assert_eq!(text(&from_p12), original);
    decrypts_alike(dir.path(), &cert, &key, &exported);
}

/// `sign -i FILE.p12` without `--cert` signs with the certificate inside the file (nothing sits
/// beside the fixture to find it otherwise) and sends the file's CA certificate along.
#[test]
fn sign_takes_the_certificate_and_chain_from_the_p12() {
    let dir = tempdir();
    let signed = dir.path().join("signed.eml");
    ok(sealmail()
        .env("SEALMAIL_PASSPHRASE", PASS)
        .args(["sign", "-i"])
        .arg(fixture("pkcs12/openssl-default.p12"))
        .arg("-o")
        .arg(&signed)
        .arg(fixture(MESSAGE)));
    let out = sealmail()
        .args(["verify", "--ca"])
        .arg(fixture("keys/ca.crt"))
        .arg(&signed)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("alice@example.org"), "{stderr}");
    if !has_tool("openssl") {
        return;
    }
    let pkcs7 = ok(openssl().args(["smime", "-pk7out", "-in"]).arg(&signed));
    let mut print = openssl();
    print.args(["pkcs7", "-print_certs", "-noout"]);
    let certs = String::from_utf8(run(print, &pkcs7).stdout).unwrap();
    assert!(certs.contains("CN = Sealmail Test CA"), "{certs}");
    assert!(certs.contains("alice@example.org"), "{certs}");
}

#[test]
fn keygen_p12_for_a_key_without_certificate_is_a_usage_error() {
    let dir = tempdir();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{PASS}\n")).unwrap();
    let prefix = dir.path().join("k");
    let out = sealmail()
        .args(["keygen", "--kind", "x25519", "--p12", "--passphrase-file"])
        .arg(&pass)
        .arg("-o")
        .arg(&prefix)
        .output()
        .unwrap();
    assert_fails(&out, 64, "--p12 needs a certificate");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
