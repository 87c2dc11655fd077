//! `encrypt --sign` and the signature `decrypt` finds inside: openssl reads what sealmail signs
//! and encrypts (`openssl cms -decrypt`, then `openssl cms -verify`), sealmail reads what openssl
//! signs and encrypts, an invalid inner signature is 65 and an untrusted signer with
//! `--require-trusted` 77, with nothing on stdout and no output file, and `decrypt --import`
//! makes the next encrypt to the signer an AEAD one.
//!
//! Alice (a certificate from a test root, made by openssl for each test so it never expires)
//! signs; Bob (fixtures/keys/bob.*) reads. openssl is the interop peer `.ci/run` installs;
//! without it these tests are skipped with a message.

mod common;
mod signing_pki;

use common::{assert_fails, fixture, has_tool, run, sealmail};
use signing_pki::Pki;
use std::path::Path;
use std::process::Output;

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: lunch\nDate: Wed, 02 Dec 2026 10:00:00 +0000\nMessage-ID: <1@example.org>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nLet's meet at noon.\nGr\xc3\xbc\xc3\x9fe\n-- \nAlice\n";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// openssl encrypts the file `input` to Bob with `cipher` (`-aes256`, `-aes-256-gcm`); the
/// sealed message, also left in sealed.eml.
fn openssl_encrypts_to_bob(pki: &Pki, cipher: &str, input: &str) -> Vec<u8> {
    let bob_crt = fixture("keys/bob.crt").display().to_string();
    pki.openssl(&[
        "cms",
        "-encrypt",
        cipher,
        "-in",
        input,
        "-out",
        "sealed.eml",
        &bob_crt,
    ]);
    std::fs::read(pki.path("sealed.eml")).unwrap()
}

/// `sealmail decrypt EXTRA... -i bob.key -o TARGET sealed.eml`: decrypt writing to a file.
fn decrypt_to_file(pki: &Pki, extra: &[&str], target: &Path) -> Output {
    let mut cmd = sealmail();
    cmd.arg("decrypt")
        .args(extra)
        .arg("-i")
        .arg(fixture("keys/bob.key"))
        .arg("-o")
        .arg(target)
        .arg(pki.path("sealed.eml"));
    run(cmd, b"")
}

/// `decrypt --import` into `keyring`, with Alice's root as an anchor when `trust_root`.
fn decrypt_importing(pki: &Pki, keyring: &Path, trust_root: bool, sealed: &[u8]) -> Output {
    let keyring = keyring.display().to_string();
    let root = pki.arg("root.crt");
    let mut args = vec!["--import", "--keyring", &keyring];
    if trust_root {
        args.extend(["--ca", &root]);
    }
    pki.decrypt(&args, sealed)
}

#[test]
fn a_signed_and_encrypted_message_comes_back_verified_with_its_signer_named() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    for cipher in ["auto", "chacha20-poly1305", "aes-256-gcm"] {
        let sealed = pki.sign_and_encrypt(&["--cipher", cipher], MESSAGE);
        let text = String::from_utf8_lossy(&sealed);
        assert!(text.contains("Subject: [...]"), "{text}");
        assert!(!text.contains("noon"), "{text}");

        let out = pki.decrypt(&["--ca", &pki.arg("root.crt")], &sealed);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{cipher}: {err}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(MESSAGE),
            "{cipher}"
        );
        assert!(
            err.contains("signed by alice@example.org (CN=Alice), issued by CN=Test Root"),
            "{err}"
        );
        assert!(err.contains("trusted: chains to CN=Test Root"), "{err}");
        assert!(!err.contains("warning"), "{cipher}: {err}");
    }
}

#[test]
fn openssl_decrypts_then_verifies_what_sealmail_signs_and_encrypts() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let sealed = pki.sign_and_encrypt(&["--cipher", "aes-256-cbc"], MESSAGE);
    let signed = pki.openssl_decrypts_for_bob(&sealed, "signed.eml");
    assert!(
        String::from_utf8_lossy(&signed).starts_with("Content-Type: multipart/signed;"),
        "{}",
        String::from_utf8_lossy(&signed)
    );
    pki.openssl(&[
        "cms",
        "-verify",
        "-CAfile",
        "root.crt",
        "-in",
        "signed.eml",
        "-signer",
        "signer.pem",
        "-out",
        "content.txt",
    ]);
    let content =
        String::from_utf8_lossy(&std::fs::read(pki.path("content.txt")).unwrap()).into_owned();
    assert!(content.contains("Let's meet at noon."), "{content}");
    // The signer's certificate travels in the signature.
    let signer = pki.openssl(&["x509", "-in", "signer.pem", "-noout", "-serial"]);
    assert_eq!(String::from_utf8_lossy(&signer.stdout).trim(), "serial=07");

    // SMIMECapabilities is a signed attribute, listing the AEADs sealmail reads.
    let text = String::from_utf8_lossy(&signed).into_owned();
    let b64: String = text
        .split("filename=\"smime.p7s\"")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    std::fs::write(pki.path("sig.b64"), b64.trim()).unwrap();
    pki.openssl(&["base64", "-d", "-A", "-in", "sig.b64", "-out", "sig.der"]);
    let printed = pki.openssl(&[
        "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der",
    ]);
    let printed = String::from_utf8_lossy(&printed.stdout);
    let capabilities = printed
        .split("S/MIME Capabilities (1.2.840.113549.1.9.15)")
        .nth(1)
        .unwrap_or_else(|| panic!("no SMIMECapabilities attribute: {printed}"));
    // id-alg-AEADChaCha20Poly1305 first, then AES-256-GCM.
    assert!(
        capabilities.contains(":1.2.840.113549.1.9.16.3.18"),
        "{capabilities}"
    );
    assert!(capabilities.contains(":aes-256-gcm"), "{capabilities}");
}

#[test]
fn sealmail_verifies_what_openssl_signs_then_encrypts() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    for detach in [&[][..], &["-nodetach"][..]] {
        pki.openssl_signs(
            "cms",
            b"Content-Type: text/plain\r\n\r\nSigned, then encrypted by openssl.\r\n",
            detach,
        );
        let sealed = openssl_encrypts_to_bob(&pki, "-aes256", "signed.eml");
        let out = pki.decrypt(&["--ca", &pki.arg("root.crt")], &sealed);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{detach:?}: {err}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Signed, then encrypted by openssl."),
            "{detach:?}"
        );
        assert!(err.contains("trusted: chains to CN=Test Root"), "{err}");
        if detach.is_empty() {
            // multipart/signed comes out as it was signed, so it can be checked again later.
            assert!(String::from_utf8_lossy(&out.stdout).contains("application/pkcs7-signature"));
            let mut cmd = sealmail();
            cmd.args(["verify", "--ca", &pki.arg("root.crt")]);
            let again = run(cmd, &out.stdout);
            assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
        } else {
            // signed-data's content is only readable taken out of it.
            assert!(!String::from_utf8_lossy(&out.stdout).contains("pkcs7"));
        }
    }
}

#[test]
fn an_invalid_inner_signature_is_65_with_nothing_written() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let signed = pki.openssl_signs(
        "cms",
        b"Content-Type: text/plain\r\n\r\nPay 10 euros.\r\n",
        &[],
    );
    let signed = String::from_utf8(signed).unwrap();
    assert!(signed.contains("Pay 10 euros."));
    std::fs::write(
        pki.path("forged.eml"),
        signed.replace("Pay 10 euros.", "Pay 99 euros."),
    )
    .unwrap();
    for cipher in ["-aes256", "-aes-256-gcm"] {
        let sealed = openssl_encrypts_to_bob(&pki, cipher, "forged.eml");
        let out = pki.decrypt(&["--ca", &pki.arg("root.crt")], &sealed);
        assert_fails(&out, 65, "is not valid");
        assert!(
            stderr(&out).contains("changed after signing"),
            "{}",
            stderr(&out)
        );

        let target = pki.path("out.eml");
        let out = decrypt_to_file(&pki, &[], &target);
        assert_fails(&out, 65, "is not valid");
        assert!(!target.exists(), "{cipher}: no output file");
    }
}

#[test]
fn an_untrusted_inner_signer_is_a_warning_and_77_with_require_trusted() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let sealed = pki.sign_and_encrypt(&[], MESSAGE);

    // No anchor for Alice's root: the content, and a warning naming her.
    let out = pki.decrypt(&[], &sealed);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(out.stdout, MESSAGE);
    assert!(err.contains("signed by alice@example.org"), "{err}");
    assert!(err.contains("not trusted"), "{err}");
    assert!(err.contains("sealmail: warning: "), "{err}");

    let out = pki.decrypt(&["--require-trusted"], &sealed);
    assert_fails(&out, 77, "valid but not trusted");

    std::fs::write(pki.path("sealed.eml"), &sealed).unwrap();
    let target = pki.path("out.eml");
    let out = decrypt_to_file(&pki, &["--require-trusted"], &target);
    assert_fails(&out, 77, "valid but not trusted");
    assert!(!target.exists());

    // Trusted with the root as an anchor.
    let out = pki.decrypt(
        &["--require-trusted", "--ca", &pki.arg("root.crt")],
        &sealed,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, MESSAGE);
}

#[test]
fn require_trusted_refuses_a_message_that_is_not_signed() {
    let plain = b"From: a@example.org\nSubject: x\n\nunsigned\n";
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r"]).arg(fixture("keys/bob.crt"));
    let sealed = run(cmd, plain);
    assert_eq!(sealed.status.code(), Some(0));
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--require-trusted", "-i"])
        .arg(fixture("keys/bob.key"));
    assert_fails(&run(cmd, &sealed.stdout), 77, "not signed");
}

/// A signed mail forwarded encrypted whose signature carries no certificate (openssl's
/// `-nocerts`, fixtures/messages/lf/signed.eml): the signature cannot be checked, which is not
/// the same as wrong. decrypt shows the message with a warning (and no CBC "not protected"
/// pass); `--require-trusted` refuses it with 77 and nothing out; `verify` answers 77.
#[test]
fn an_inner_signature_without_its_certificate_is_a_warning_not_a_failure() {
    let signed = std::fs::read(fixture("messages/lf/signed.eml")).unwrap();
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r"]).arg(fixture("keys/bob.crt"));
    let sealed = run(cmd, &signed);
    assert_eq!(sealed.status.code(), Some(0));
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(fixture("keys/bob.key"));
    let out = run(cmd, &sealed.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        out.stdout, signed,
        "the message comes back as it went in, signature included"
    );
    let said = stderr(&out);
    assert!(said.contains("sealmail: warning: the signer's certificate is not in the message, so the signature cannot be checked"), "{said}");
    assert!(said.contains("not integrity-protected"), "{said}");

    let mut cmd = sealmail();
    cmd.args(["decrypt", "--require-trusted", "-i"])
        .arg(fixture("keys/bob.key"));
    assert_fails(&run(cmd, &sealed.stdout), 77, "cannot be checked");

    let mut cmd = sealmail();
    cmd.arg("verify").arg(fixture("messages/lf/signed.eml"));
    assert_fails(&run(cmd, b""), 77, "cannot be checked");
}

/// A PGP/MIME signed message (multipart/signed, application/pgp-signature) is not an S/MIME
/// signature: decrypt gives it back untouched and says nothing about signers.
#[test]
fn a_pgp_signed_message_inside_is_not_taken_for_an_smime_signature() {
    let pgp = b"From: a@example.org\nTo: bob@example.org\nSubject: pgp\nMIME-Version: 1.0\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nsigned with PGP\n--b1\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n--b1--\n";
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--cipher", "chacha20-poly1305", "-r"])
        .arg(fixture("keys/bob.crt"));
    let sealed = run(cmd, pgp);
    assert_eq!(sealed.status.code(), Some(0));
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(fixture("keys/bob.key"));
    let out = run(cmd, &sealed.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, pgp);
    assert!(!stderr(&out).contains("sign"), "{}", stderr(&out));
}

#[test]
fn a_ca_file_that_does_not_exist_is_66_even_for_an_unsigned_message() {
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--ca", "/nonexistent/ca.pem", "-i"])
        .arg(fixture("keys/bob.key"));
    assert_fails(&run(cmd, b"whatever"), 66, "/nonexistent/ca.pem");
}

#[test]
fn decrypt_import_makes_the_next_encrypt_to_the_signer_an_aead_one() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let keyring = pki.path("keyring");
    std::fs::create_dir(&keyring).unwrap();
    let sealed = pki.sign_and_encrypt(&[], MESSAGE);

    // An untrusted signer is not imported.
    let out = decrypt_importing(&pki, &keyring, false, &sealed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not imported"), "{}", stderr(&out));
    assert!(!keyring.join("alice@example.org.caps").exists());

    let out = decrypt_importing(&pki, &keyring, true, &sealed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, MESSAGE);
    assert_pinned(&keyring, &pki.path("alice.crt"));
    let caps = std::fs::read_to_string(keyring.join("alice@example.org.caps")).unwrap();
    assert!(caps.contains("chacha20-poly1305"), "{caps}");

    let mut cmd = sealmail();
    cmd.args(["encrypt", "-v", "-r", "alice@example.org", "--keyring"])
        .arg(&keyring);
    let out = run(cmd, b"Subject: next\n\nhello\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("smime-type=authEnveloped-data"), "{text}");
}

fn assert_pinned(keyring: &Path, cert: &Path) {
    let pinned = std::fs::read_to_string(keyring.join("pinned/alice@example.org.crt")).unwrap();
    let original = std::fs::read_to_string(cert).unwrap();
    assert_eq!(
        pinned.split_whitespace().collect::<String>(),
        original.split_whitespace().collect::<String>()
    );
}

#[test]
fn the_signing_key_may_be_passphrase_protected() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    pki.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "alice.key",
        "-passout",
        "pass:lunch at noon",
        "-out",
        "alice-enc.key",
    ]);
    std::fs::write(pki.path("pass.txt"), "lunch at noon\n").unwrap();
    std::fs::write(pki.path("wrong.txt"), "dinner\n").unwrap();
    let encrypt = |pass: &str| {
        let mut cmd = sealmail();
        cmd.args(["encrypt", "--sign", "-i"])
            .arg(pki.path("alice-enc.key"))
            .arg("--cert")
            .arg(pki.path("alice.crt"))
            .arg("--passphrase-file")
            .arg(pki.path(pass))
            .arg("-r")
            .arg(fixture("keys/bob.crt"));
        run(cmd, MESSAGE)
    };
    let out = encrypt("pass.txt");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let back = pki.decrypt(&["--ca", &pki.arg("root.crt")], &out.stdout);
    assert_eq!(back.status.code(), Some(0), "{}", stderr(&back));
    assert_eq!(back.stdout, MESSAGE);

    let out = encrypt("wrong.txt");
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    // --passphrase-fd 0 with the message on stdin too: refused before anything is read.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i"])
        .arg(pki.path("alice-enc.key"))
        .args(["--passphrase-fd", "0", "-r"])
        .arg(fixture("keys/bob.crt"));
    assert_fails(&run(cmd, MESSAGE), 64, "stdin cannot carry both");

    // ... or with the recipients list on stdin.
    std::fs::write(pki.path("message.eml"), MESSAGE).unwrap();
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i"])
        .arg(pki.path("alice-enc.key"))
        .args(["--passphrase-fd", "0", "-R", "-"])
        .arg(pki.path("message.eml"));
    assert_fails(
        &run(
            cmd,
            fixture("keys/bob.crt").display().to_string().as_bytes(),
        ),
        64,
        "stdin cannot carry both the recipients list and the passphrase",
    );
}

#[test]
fn sign_flags_need_each_other_and_a_key_that_can_sign() {
    let bob = fixture("keys/bob.crt");
    // --sign without -i, and -i without --sign: usage errors.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-r"]).arg(&bob);
    let out = run(cmd, b"x");
    assert_eq!(out.status.code(), Some(64));
    assert!(out.stdout.is_empty());
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-i"])
        .arg(fixture("keys/alice.key"))
        .arg("-r")
        .arg(&bob);
    let out = run(cmd, b"x");
    assert_eq!(out.status.code(), Some(64));
    assert!(out.stdout.is_empty());

    // A key whose certificate cannot be found: 78, named.
    let dir = common::tempdir();
    std::fs::copy(fixture("keys/bob.key"), dir.path().join("lonely.key")).unwrap();
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i"])
        .arg(dir.path().join("lonely.key"))
        .arg("-r")
        .arg(&bob);
    assert_fails(&run(cmd, b"x"), 78, "no certificate for the key");

    // An X25519 key decrypts but cannot sign: 78, before any output.
    let x = dir.path().join("x");
    let mut cmd = sealmail();
    cmd.args(["keygen", "--kind", "x25519", "-o"]).arg(&x);
    assert_eq!(run(cmd, b"").status.code(), Some(0));
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i"])
        .arg(dir.path().join("x.key"))
        .arg("-r")
        .arg(&bob);
    assert_fails(&run(cmd, b"x"), 78, "cannot sign");

    // A key file that is not there: 66.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "--sign", "-i", "/nonexistent/me.key", "-r"])
        .arg(&bob);
    assert_fails(&run(cmd, b"x"), 66, "/nonexistent/me.key");
}

#[test]
fn a_large_body_streams_through_sign_and_encrypt() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    // Past the read-ahead and the output hold: the signing reader feeds the pipeline piece by
    // piece, and decrypt verifies from its spool.
    let mut message = b"From: alice@example.org\nSubject: big\n\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz 0123456789abcdefghijklmnopqrstuvwxyz\n";
    while message.len() < 10 << 20 {
        message.extend_from_slice(line);
    }
    let sealed = pki.sign_and_encrypt(&["--cipher", "chacha20-poly1305"], &message);
    let out = pki.decrypt(&["--ca", &pki.arg("root.crt")], &sealed);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout == message, "the body comes back byte for byte");
}

#[test]
fn a_large_message_whose_inner_signature_fails_at_its_end_releases_nothing() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    // Larger than stdout's 8 MiB hold: the check must come before the output, not the hold.
    let mut entity = b"Content-Type: text/plain\r\n\r\n".to_vec();
    while entity.len() < 10 << 20 {
        entity.extend_from_slice(b"The quick brown fox jumps over the lazy dog.\r\n");
    }
    entity.extend_from_slice(b"Pay 10 euros.\r\n");
    let mut signed = pki.openssl_signs("cms", &entity, &["-binary"]);
    let at = signed
        .windows(13)
        .rposition(|w| w == b"Pay 10 euros.")
        .expect("the last line");
    signed[at + 4] = b'9';
    std::fs::write(pki.path("forged.eml"), &signed).unwrap();
    let sealed = openssl_encrypts_to_bob(&pki, "-aes-256-gcm", "forged.eml");
    let out = pki.decrypt(&["--ca", &pki.arg("root.crt")], &sealed);
    assert_fails(&out, 65, "changed after signing");
}

#[test]
fn decrypt_import_into_a_keyring_that_cannot_be_written_is_73_with_nothing_out() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let sealed = pki.sign_and_encrypt(&[], MESSAGE);
    // A file where the keyring's pinned/ folder would go.
    let keyring = pki.path("keyring");
    std::fs::create_dir(&keyring).unwrap();
    std::fs::write(keyring.join("pinned"), b"not a folder").unwrap();
    let out = decrypt_importing(&pki, &keyring, true, &sealed);
    assert_eq!(out.status.code(), Some(73), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("sealmail: error: cannot create"),
        "{}",
        stderr(&out)
    );

    // An unsigned message has no signer to import: a warning, and the message.
    let mut cmd = sealmail();
    cmd.args(["encrypt", "-r"]).arg(fixture("keys/bob.crt"));
    let unsigned = run(cmd, MESSAGE);
    let out = pki.decrypt(
        &["--import", "--keyring", &keyring.display().to_string()],
        &unsigned.stdout,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, MESSAGE);
    assert!(
        stderr(&out).contains("there is no signer to import"),
        "{}",
        stderr(&out)
    );
}

/// keygen's certificate names its address twice (subjectAltName and the subject's
/// emailAddress); `--import` records it once, and says so once.
#[test]
fn import_of_a_keygen_signer_records_its_address_once() {
    let dir = common::tempdir();
    let arg = |name: &str| dir.path().join(name).display().to_string();
    let mut cmd = sealmail();
    cmd.args([
        "keygen",
        "--bits",
        "2048",
        "--email",
        "alice@example.org",
        "-o",
    ])
    .arg(arg("alice"));
    assert_eq!(run(cmd, b"").status.code(), Some(0));
    let keyring = dir.path().join("keyring");
    std::fs::create_dir_all(keyring.join("pinned")).unwrap();
    std::fs::copy(
        dir.path().join("alice.crt"),
        keyring.join("pinned/alice.crt"),
    )
    .unwrap();

    let mut cmd = sealmail();
    cmd.args(["sign", "-i"]).arg(arg("alice.key"));
    let signed = run(cmd, MESSAGE);
    assert_eq!(signed.status.code(), Some(0), "{}", stderr(&signed));
    let mut cmd = sealmail();
    cmd.args(["verify", "--import", "--keyring"]).arg(&keyring);
    let out = run(cmd, &signed.stdout);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("noon"));
    for line in [
        "sealmail: imported alice@example.org: certificate pinned in",
        "sealmail: imported alice@example.org: capabilities in",
    ] {
        assert_eq!(err.matches(line).count(), 1, "{line} once in: {err}");
    }
    assert!(keyring.join("pinned/alice@example.org.crt").is_file());
}

/// A trusted chain whose certificate does not name the From address: 77 with
/// `--require-trusted`, and a hint about the address, not about a CA the user already gave.
#[test]
fn require_trusted_refuses_a_from_address_the_signer_does_not_own() {
    if !has_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let forged = String::from_utf8_lossy(MESSAGE).replace(
        "From: Alice <alice@example.org>",
        "From: Mallory <mallory@example.org>",
    );
    let sealed = pki.sign_and_encrypt(&[], forged.as_bytes());
    let out = pki.decrypt(
        &["--require-trusted", "--ca", &pki.arg("root.crt")],
        &sealed,
    );
    assert_fails(&out, 77, "mallory@example.org");
    let err = stderr(&out);
    assert!(
        err.contains("sealmail: hint: the signer's certificate is for another address than the From field: the message may not be from who it says; decrypt without --require-trusted to read it anyway"),
        "{err}"
    );
}
