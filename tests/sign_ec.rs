//! ECDSA signing with P-256 keys (SHA-256, RFC 5753/5758): openssl and NSS verify what sealmail
//! signs with one, detached, opaque and inside `encrypt --sign`, and sealmail verifies it back.
//! Keys that cannot sign (P-384, X25519) and `--pss` with an EC key are refused before anything
//! is read. The P-256 certificate comes from the test PKI openssl makes (tests/signing_pki);
//! without openssl (or, for the NSS check, libnss3-tools) the tests are skipped with a message.

mod common;
mod peers;
mod signing_pki;

use common::{assert_fails, fixture, has_tool, run, sealmail};
use peers::Peer;
use signing_pki::Pki;

const MESSAGE: &[u8] =
    b"From: eve@example.org\r\nTo: bob@example.org\r\nSubject: ec\r\n\r\nSigned with P-256.\r\n";

fn sealmail_ok(pki: &Pki, args: &[&str]) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.args(args)
        .arg("-i")
        .arg(pki.path("eve.key"))
        .arg("--cert")
        .arg(pki.path("eve.crt"));
    let out = run(cmd, MESSAGE);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn openssl_verifies_p256_signatures_detached_opaque_and_inside_encryption() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.add_ec_signer("eve", "P-256");
    for (name, args) in [
        ("detached", &["sign"][..]),
        ("opaque", &["sign", "--opaque"][..]),
    ] {
        let signed = sealmail_ok(&pki, args);
        std::fs::write(pki.path("signed.eml"), &signed).unwrap();
        pki.openssl(&[
            "cms",
            "-verify",
            "-CAfile",
            "root.crt",
            "-in",
            "signed.eml",
            "-out",
            "content",
        ]);
        let content = std::fs::read(pki.path("content")).unwrap();
        assert!(
            String::from_utf8_lossy(&content).contains("Signed with P-256."),
            "{name}"
        );
        // The signature algorithm is ecdsa-with-SHA256.
        let printed = pki.openssl(&["cms", "-cmsout", "-print", "-in", "signed.eml"]);
        assert!(
            String::from_utf8_lossy(&printed.stdout).contains("ecdsa-with-SHA256"),
            "{name}"
        );
        let mut cmd = sealmail();
        cmd.arg("verify").arg("--ca").arg(pki.path("root.crt"));
        let out = run(cmd, &signed);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(stderr.contains("signed by eve@example.org"), "{stderr}");
    }

    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i"])
        .arg(pki.path("eve.key"))
        .arg("--cert")
        .arg(pki.path("eve.crt"))
        .arg("-r")
        .arg(fixture("keys/bob.crt"));
    let sealed = run(cmd, MESSAGE);
    assert_eq!(sealed.status.code(), Some(0));
    pki.openssl_decrypts_for_bob(&sealed.stdout, "inner.eml");
    pki.openssl(&[
        "cms",
        "-verify",
        "-CAfile",
        "root.crt",
        "-in",
        "inner.eml",
        "-out",
        "content",
    ]);
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--require-trusted", "-i"])
        .arg(fixture("keys/bob.key"))
        .arg("--ca")
        .arg(pki.path("root.crt"));
    let out = run(cmd, &sealed.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, MESSAGE);
}

#[test]
fn nss_verifies_a_p256_signature() {
    if !peers::has(Peer::Nss) || !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.add_ec_signer("eve", "P-256");
    let opaque = sealmail_ok(&pki, &["sign", "--opaque"]);
    let text = String::from_utf8_lossy(&opaque).into_owned();
    let body: String = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let (status, content) = peers::nss_verify(&der, None, &[&pki.path("root.crt")]);
    assert_eq!(status, "GoodSignature");
    assert!(String::from_utf8_lossy(&content).contains("Signed with P-256."));
}

#[test]
fn keys_that_cannot_sign_and_pss_with_ec_are_refused_before_reading() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.add_ec_signer("eve", "P-256");
    pki.add_ec_signer("paul", "P-384");
    let bob = fixture("keys/bob.crt");

    let mut cmd = sealmail();
    cmd.args(["sign", "-i"])
        .arg(pki.path("paul.key"))
        .arg("--cert")
        .arg(pki.path("paul.crt"));
    assert_fails(&run(cmd, MESSAGE), 78, "cannot sign");

    for args in [
        &["sign", "--pss"][..],
        &["encrypt", "--sign", "--pss", "-r"],
    ] {
        let mut cmd = sealmail();
        cmd.args(args);
        if args[0] == "encrypt" {
            cmd.arg(&bob);
        }
        cmd.arg("-i")
            .arg(pki.path("eve.key"))
            .arg("--cert")
            .arg(pki.path("eve.crt"));
        assert_fails(&run(cmd, MESSAGE), 64, "--pss is for RSA keys");
    }
}
