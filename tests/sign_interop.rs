//! `sign` and `verify` against openssl, both ways: openssl verifies what sealmail signs
//! (detached and opaque), sealmail verifies what openssl signs (`openssl cms -sign`,
//! `openssl smime -sign`), a changed body is refused with 65 and nothing out, an unknown signer
//! is 77, and `--import` records the signer in the keyring.
//!
//! The keys and certificates are the shared test PKI (tests/signing_pki), made by openssl in a
//! temporary folder for each test (so they never expire); openssl is the interop peer `.ci/run`
//! installs, and without it these tests are skipped with a message.

mod common;
mod signing_pki;

use common::{has_tool, run, sealmail};
use signing_pki::Pki;
use std::path::Path;
use std::process::Command;

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: lunch\nContent-Type: text/plain; charset=us-ascii\n\nLet's meet at noon.\n-- \nAlice\n";

fn openssl_verifies(pki: &Pki, signed: &[u8]) -> Vec<u8> {
    std::fs::write(pki.path("signed.eml"), signed).unwrap();
    pki.openssl(&[
        "cms",
        "-verify",
        "-in",
        "signed.eml",
        "-CAfile",
        "root.crt",
        "-out",
        "content.txt",
    ]);
    std::fs::read(pki.path("content.txt")).unwrap()
}

#[test]
fn openssl_verifies_a_detached_signature_and_sealmail_gives_the_message_back() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let signed = pki.sign(&[], MESSAGE);
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.contains("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256"),
        "{text}"
    );
    assert!(
        text.starts_with("From: Alice <alice@example.org>\n"),
        "{text}"
    );
    let content = openssl_verifies(&pki, &signed);
    assert!(String::from_utf8_lossy(&content).contains("Let's meet at noon."));

    let out = pki.verify(&["--ca", &pki.arg("root.crt")], &signed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(MESSAGE)
    );
    assert!(
        stderr.contains("signed by alice@example.org (CN=Alice), issued by CN=Test Root"),
        "{stderr}"
    );
    assert!(
        stderr.contains("trusted: chains to CN=Test Root"),
        "{stderr}"
    );
}

#[test]
fn openssl_verifies_an_opaque_signature_and_pss() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    for extra in [&["--opaque"][..], &["--opaque", "--pss"], &["--pss"]] {
        let signed = pki.sign(extra, MESSAGE);
        let content = openssl_verifies(&pki, &signed);
        assert!(
            String::from_utf8_lossy(&content).contains("Let's meet at noon."),
            "{extra:?}"
        );
        let out = pki.verify(&["--ca", &pki.arg("root.crt")], &signed);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Let's meet at noon.\n-- \nAlice\n"));
    }
}

#[test]
fn eight_bit_text_is_signed_as_quoted_printable() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let message = "From: alice@example.org\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße aus Köln\n";
    let signed = pki.sign(&[], message.as_bytes());
    assert!(
        signed.iter().all(|b| b.is_ascii()),
        "the signed message is 7-bit"
    );
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.contains("Content-Transfer-Encoding: quoted-printable"),
        "{text}"
    );
    assert!(text.contains("Gr=C3=BC=C3=9Fe aus K=C3=B6ln"), "{text}");
    openssl_verifies(&pki, &signed);
}

#[test]
fn sealmail_verifies_what_openssl_signs() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    for (tool, extra) in [
        ("cms", &[][..]),
        ("cms", &["-nodetach"][..]),
        ("smime", &[][..]),
        ("smime", &["-nodetach"][..]),
    ] {
        let signed = pki.openssl_signs(
            tool,
            b"Content-Type: text/plain\r\n\r\nSigned by openssl.\r\n",
            extra,
        );
        let out = pki.verify(&["--ca", &pki.arg("root.crt")], &signed);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{tool} {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        assert_eq!(
            text, "Content-Type: text/plain\n\nSigned by openssl.\n",
            "{tool} {extra:?}"
        );
    }
}

#[test]
fn a_changed_body_is_refused_with_65_and_nothing_out() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    for extra in [&[][..], &["--opaque"][..]] {
        let signed = pki.sign(extra, MESSAGE);
        let tampered = if extra.is_empty() {
            String::from_utf8(signed)
                .unwrap()
                .replace("noon", "nine")
                .into_bytes()
        } else {
            // Flip one base64 character inside the content (not the framing).
            let mut bytes = signed;
            let start = String::from_utf8_lossy(&bytes).find("\n\n").unwrap() + 200;
            bytes[start] = if bytes[start] == b'A' { b'B' } else { b'A' };
            bytes
        };
        let out = pki.verify(&["--ca", &pki.arg("root.crt")], &tampered);
        common::assert_fails(&out, 65, "");
    }
    // openssl agrees about the detached one.
    let signed = String::from_utf8(pki.sign(&[], MESSAGE))
        .unwrap()
        .replace("noon", "nine");
    std::fs::write(pki.path("tampered.eml"), signed).unwrap();
    let status = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-in",
            "tampered.eml",
            "-CAfile",
            "root.crt",
            "-out",
            "/dev/null",
        ])
        .current_dir(pki.dir())
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}

#[test]
fn an_untrusted_signer_is_77_unless_allowed() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let signed = pki.sign(&[], MESSAGE);
    let out = pki.verify(&[], &signed);
    common::assert_fails(
        &out,
        77,
        "the signature by alice@example.org (CN=Alice) is valid but not trusted",
    );
    let out = pki.verify(&["--allow-untrusted"], &signed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Let's meet at noon."));
}

#[test]
fn a_from_address_the_certificate_does_not_name_is_untrusted() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let forged = String::from_utf8_lossy(MESSAGE).replace(
        "From: Alice <alice@example.org>",
        "From: Mallory <mallory@example.org>",
    );
    let signed = pki.sign(&[], forged.as_bytes());
    let out = pki.verify(&["--ca", &pki.arg("root.crt")], &signed);
    common::assert_fails(&out, 77, "mallory@example.org");
    // The chain is fine: the hint says what is wrong, not to add a CA.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "sealmail: hint: the signer's certificate is for another address than the From field"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("--ca FILE"), "{stderr}");
    // Without the CA, the chain is what fails, and a CA is what the hint asks for.
    let out = pki.verify(&[], &signed);
    common::assert_fails(&out, 77, "not trusted");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("add the issuer's certificate with --ca FILE"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn import_pins_the_signer_and_records_its_capabilities() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let signed = pki.sign(&[], MESSAGE);
    let keyring = pki.path("keyring");
    let keyring_arg = keyring.display().to_string();
    // Untrusted signers are not imported.
    let out = pki.verify(&["--keyring", &keyring_arg, "--import"], &signed);
    assert_eq!(out.status.code(), Some(77));
    assert!(!keyring.join("pinned").exists());
    // On the user's word (--allow-untrusted) it goes in unpinned, under its own name: it
    // replaces nothing and stays untrusted (verify without --ca still answers 77).
    let out = pki.verify(
        &["--keyring", &keyring_arg, "--import", "--allow-untrusted"],
        &signed,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(!keyring.join("pinned").exists());
    assert!(!keyring.join("alice@example.org.crt").exists());
    assert!(!keyring.join("alice@example.org.caps").exists());
    let names: Vec<String> = std::fs::read_dir(&keyring)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("alice@example.org.")
            && n.ends_with(".crt")
            && n.len() == "alice@example.org.".len() + 16 + ".crt".len()),
        "{names:?}"
    );
    let out = pki.verify(&["--keyring", &keyring_arg], &signed);
    assert_eq!(out.status.code(), Some(77));
    for name in names {
        std::fs::remove_file(keyring.join(name)).unwrap();
    }

    let out = pki.verify(
        &[
            "--ca",
            &pki.arg("root.crt"),
            "--keyring",
            &keyring_arg,
            "--import",
        ],
        &signed,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let caps = std::fs::read_to_string(keyring.join("alice@example.org.caps")).unwrap();
    for token in [
        "chacha20-poly1305",
        "aes-256-gcm",
        "aes-128-gcm",
        "rsa-oaep",
    ] {
        assert!(caps.lines().any(|l| l.trim() == token), "{token} in {caps}");
    }
    assert_pinned(&keyring, &pki.path("alice.crt"));
    // Pinned, the signer is trusted without --ca.
    let out = pki.verify(&["--keyring", &keyring_arg], &signed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("trusted: pinned certificate CN=Alice"),
        "{stderr}"
    );
}

fn assert_pinned(keyring: &Path, cert: &Path) {
    let pinned = std::fs::read(keyring.join("pinned/alice@example.org.crt")).unwrap();
    let original = std::fs::read(cert).unwrap();
    let der = |pem: &[u8]| {
        let text = String::from_utf8_lossy(pem).to_string();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        body
    };
    assert_eq!(der(&pinned), der(&original));
}

#[test]
fn a_message_that_is_not_signed_is_65() {
    let out = {
        let mut cmd = sealmail();
        cmd.arg("verify");
        run(
            cmd,
            b"From: a@example.org\nContent-Type: text/plain\n\nhello\n",
        )
    };
    common::assert_fails(&out, 65, "not signed");
}

#[test]
fn sign_without_a_certificate_for_the_key_is_78() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let mut cmd = sealmail();
    cmd.arg("sign")
        .arg("-i")
        .arg(pki.path("alice.key"))
        .arg("--cert")
        .arg(pki.path("root.crt"));
    let out = run(cmd, MESSAGE);
    common::assert_fails(&out, 78, "no certificate for the key");
}
