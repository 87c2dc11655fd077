//! `keygen --issuer-key/--issuer-cert`: a certificate for a key that cannot sign its own
//! (X25519, ML-KEM, P-256 key agreement), issued by a CA key, so that the keyring can hold it and
//! senders can name it by issuer and serial number. The CAs are made by openssl here; openssl
//! checks the chains sealmail writes.

mod common;

use common::{assert_fails, assert_ok, openssl, run, sealmail, tempdir};
use std::path::{Path, PathBuf};
use std::process::Output;

const MESSAGE: &[u8] =
    b"From: ci@example.org\nTo: bob@example.org\nSubject: issued\n\nthe build is green\n";

/// A CA certificate and key made by openssl: `rsa:2048` or `ec` (P-256).
fn openssl_ca(dir: &Path, name: &str, key_type: &[&str]) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let mut cmd = openssl();
    cmd.args(["req", "-x509", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .args(["-newkey"])
        .args(key_type)
        .args([
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert);
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}

/// A P-256 CA.
fn ec_ca(dir: &Path) -> (PathBuf, PathBuf) {
    openssl_ca(dir, "ec-ca", &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
}

fn keygen(args: &[&str], issuer: (&Path, &Path), prefix: &Path) -> Output {
    let mut cmd = sealmail();
    cmd.arg("keygen")
        .args(args)
        .arg("--issuer-key")
        .arg(issuer.0)
        .arg("--issuer-cert")
        .arg(issuer.1)
        .arg("-o")
        .arg(prefix);
    run(cmd, b"")
}

fn text_of(cert: &Path) -> String {
    let mut cmd = openssl();
    cmd.args(["x509", "-noout", "-text", "-in"]).arg(cert);
    let out = run(cmd, b"");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl_verifies(ca: &Path, cert: &Path) {
    let mut cmd = openssl();
    cmd.args(["verify", "-CAfile"]).arg(ca).arg(cert);
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "openssl verify {}: {}{}",
        cert.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issued_certificates_chain_to_the_ca_and_each_key_decrypts_by_issuer_and_serial() {
    let dir = tempdir();
    let (rsa_ca_key, rsa_ca) = openssl_ca(dir.path(), "rsa-ca", &["rsa:2048"]);
    let (ec_ca_key, ec_ca) = ec_ca(dir.path());
    // (kind, issuer, key usage openssl prints, public key algorithm openssl prints)
    let cases = [
        ("x25519", (&rsa_ca_key, &rsa_ca), "Key Agreement", "X25519"),
        (
            "ml-kem-768",
            (&rsa_ca_key, &rsa_ca),
            "Key Encipherment",
            "2.16.840.1.101.3.4.4.2",
        ),
        (
            "p256",
            (&ec_ca_key, &ec_ca),
            "Key Agreement",
            "id-ecPublicKey",
        ),
    ];
    let mut recipients = Vec::new();
    for (kind, (ca_key, ca), usage, algorithm) in cases {
        let prefix = dir.path().join(format!("bob-{kind}"));
        let out = keygen(
            &["--kind", kind, "--email", "bob@example.org"],
            (ca_key, ca),
            &prefix,
        );
        assert_ok(&out, kind);
        let cert = prefix.with_extension("crt");
        for ext in ["key", "pub", "crt"] {
            assert!(prefix.with_extension(ext).is_file(), "{kind}: no .{ext}");
        }
        let text = text_of(&cert);
        assert!(
            text.contains(&format!("Public Key Algorithm: {algorithm}")),
            "{kind}: {text}"
        );
        assert!(text.contains(usage), "{kind}: keyUsage: {text}");
        assert!(
            text.contains("email:bob@example.org"),
            "{kind}: SAN: {text}"
        );
        assert!(text.contains("E-mail Protection"), "{kind}: EKU: {text}");
        // ML-KEM is newer than openssl 3.0, which cannot check a signature over a key it
        // cannot load; the other two chain to their CA.
        if kind != "ml-kem-768" {
            openssl_verifies(ca, &cert);
        }
        recipients.push((kind, prefix));
    }

    // One message to the three certificates: each is named by issuer and serial number, and
    // each key (with its certificate beside it) decrypts it.
    let mut cmd = sealmail();
    cmd.arg("encrypt");
    for (_, prefix) in &recipients {
        cmd.arg("-r").arg(prefix.with_extension("crt"));
    }
    let sealed = run(cmd, MESSAGE);
    assert_ok(&sealed, "");
    let mut cmd = sealmail();
    cmd.arg("inspect");
    let inspected = String::from_utf8_lossy(&run(cmd, &sealed.stdout).stdout).into_owned();
    assert_eq!(
        inspected.matches("issuer CN=").count(),
        3,
        "every recipient by issuer and serial: {inspected}"
    );
    for (kind, prefix) in &recipients {
        let mut cmd = sealmail();
        cmd.args(["decrypt", "--entity", "-i"])
            .arg(prefix.with_extension("key"));
        let out = run(cmd, &sealed.stdout);
        assert_ok(&out, kind);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("the build is green"),
            "{kind}"
        );
    }
}

/// openssl encrypts to the issued P-256 certificate (ECDH, its own defaults) and sealmail
/// decrypts with the key keygen wrote.
#[test]
fn openssl_encrypts_to_an_issued_p256_certificate() {
    let dir = tempdir();
    let (ca_key, ca) = ec_ca(dir.path());
    let prefix = dir.path().join("bob");
    let out = keygen(
        &["--kind", "p256", "--email", "bob@example.org"],
        (&ca_key, &ca),
        &prefix,
    );
    assert_ok(&out, "");
    let mut cmd = openssl();
    cmd.args(["cms", "-encrypt", "-aes-256-cbc", "-outform", "DER"])
        .arg(prefix.with_extension("crt"));
    let sealed = run(cmd, MESSAGE);
    assert_ok(&sealed, "openssl");
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--inform", "der", "-i"])
        .arg(prefix.with_extension("key"));
    let out = run(cmd, &sealed.stdout);
    assert_ok(&out, "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the build is green"));
}

/// `--kind p256 --p12` with an issuer: PREFIX.p12 holds the key and its issued certificate,
/// openssl reads it with the passphrase, and it decrypts what openssl encrypted to the
/// certificate, as the PEM key does.
#[test]
fn an_issued_p256_key_is_also_written_as_pkcs12() {
    let dir = tempdir();
    let (ca_key, ca) = ec_ca(dir.path());
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "issued p12 passphrase\n").unwrap();
    let prefix = dir.path().join("bob");
    let out = keygen(
        &[
            "--kind",
            "p256",
            "--email",
            "bob@example.org",
            "--p12",
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
        (&ca_key, &ca),
        &prefix,
    );
    assert_ok(&out, "keygen --p12");
    let p12 = prefix.with_extension("p12");
    let mut cmd = openssl();
    cmd.args(["pkcs12", "-nokeys", "-passin"])
        .arg(format!("file:{}", pass.display()))
        .arg("-in")
        .arg(&p12);
    let certs = run(cmd, b"");
    assert_ok(&certs, "openssl pkcs12");
    assert!(
        String::from_utf8_lossy(&certs.stdout).contains("bob@example.org"),
        "the issued certificate is in the file"
    );
    let mut cmd = openssl();
    cmd.args(["cms", "-encrypt", "-aes-256-cbc", "-outform", "DER"])
        .arg(prefix.with_extension("crt"));
    let sealed = run(cmd, MESSAGE);
    assert_ok(&sealed, "openssl cms -encrypt");
    let mut cmd = sealmail();
    cmd.args(["decrypt", "--inform", "der", "--passphrase-file"])
        .arg(&pass)
        .arg("-i")
        .arg(&p12);
    let out = run(cmd, &sealed.stdout);
    assert_ok(&out, "decrypt -i bob.p12");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the build is green"));
}

/// An RSA key can be issued too, by an EC CA: the chain checks with openssl's S/MIME purpose.
#[test]
fn an_rsa_key_issued_by_an_ec_ca_is_valid_for_smime() {
    let dir = tempdir();
    let (ca_key, ca) = ec_ca(dir.path());
    let prefix = dir.path().join("carol");
    let out = keygen(
        &["--email", "carol@example.org", "--bits", "2048"],
        (&ca_key, &ca),
        &prefix,
    );
    assert_ok(&out, "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate issued by"));
    let mut cmd = openssl();
    cmd.args(["verify", "-purpose", "smimeencrypt", "-CAfile"])
        .arg(&ca)
        .arg(prefix.with_extension("crt"));
    let verified = run(cmd, b"");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

/// keygen's arguments, the issuer (key, certificate), the exit code and what the error names.
type Refusal<'a> = (&'a [&'a str], (&'a Path, &'a Path), i32, &'a str);

/// Refusals: exit code, one line naming the problem, and not one file written.
#[test]
fn bad_issuers_are_refused_and_nothing_is_written() {
    let dir = tempdir();
    let (rsa_key, rsa_ca) = openssl_ca(dir.path(), "rsa-ca", &["rsa:2048"]);
    let (_, ec_ca) = ec_ca(dir.path());
    let x = dir.path().join("x");
    let out = keygen(
        &["--kind", "x25519", "--email", "x@example.org"],
        (&rsa_key, &rsa_ca),
        &x,
    );
    assert_ok(&out, "");

    let ed = dir.path().join("ed.key");
    let mut cmd = openssl();
    cmd.args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&ed);
    assert_ok(&run(cmd, b""), "openssl genpkey ed25519");

    let new = dir.path().join("new");
    let cases: [Refusal<'_>; 6] = [
        // The key is not the certificate's.
        (
            &["--kind", "x25519", "--email", "n@example.org"],
            (&rsa_key, &ec_ca),
            78,
            "is not the key of the issuer certificate",
        ),
        // A key-agreement key cannot sign.
        (
            &["--kind", "ml-kem-768", "--email", "n@example.org"],
            (&x.with_extension("key"), &x.with_extension("crt")),
            78,
            "cannot sign certificates",
        ),
        // ... whatever certificate comes with it: that it cannot sign is what is said.
        (
            &["--email", "n@example.org", "--bits", "2048"],
            (&x.with_extension("key"), &rsa_ca),
            78,
            "(X25519) cannot sign certificates",
        ),
        // Ed25519 is a key sealmail does not use, named as such.
        (
            &["--kind", "p256", "--email", "n@example.org"],
            (&ed, &rsa_ca),
            78,
            "an Ed25519 key, which sealmail does not use",
        ),
        // A certificate is for an address.
        (&["--kind", "x25519"], (&rsa_key, &rsa_ca), 64, "--email"),
        // An issuer key that is not there.
        (
            &["--kind", "x25519", "--email", "n@example.org"],
            (&dir.path().join("missing.key"), &rsa_ca),
            66,
            "missing.key",
        ),
    ];
    for (args, issuer, code, needle) in cases {
        let out = keygen(args, issuer, &new);
        assert_fails(&out, code, needle);
        for ext in ["key", "pub", "crt"] {
            assert!(
                !new.with_extension(ext).exists(),
                "{args:?}: new.{ext} written"
            );
        }
    }

    // An encrypted issuer key opens with --issuer-passphrase-file; a wrong one is 78, and
    // nothing is written.
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "issuer pass\n").unwrap();
    let enc = dir.path().join("enc");
    let mut cmd = sealmail();
    cmd.args([
        "keygen",
        "--email",
        "ca@example.org",
        "--bits",
        "2048",
        "--passphrase-file",
    ])
    .arg(&pass)
    .arg("-o")
    .arg(&enc);
    assert_ok(&run(cmd, b""), "encrypted issuer");
    let issuer = (enc.with_extension("key"), enc.with_extension("crt"));
    let with_pass = |file: &Path, prefix: &Path| {
        let mut cmd = sealmail();
        cmd.args(["keygen", "--kind", "x25519", "--email", "n@example.org"])
            .arg("--issuer-key")
            .arg(&issuer.0)
            .arg("--issuer-cert")
            .arg(&issuer.1)
            .arg("--issuer-passphrase-file")
            .arg(file)
            .arg("-o")
            .arg(prefix);
        run(cmd, b"")
    };
    let wrong = dir.path().join("wrong.txt");
    std::fs::write(&wrong, "not it\n").unwrap();
    assert_fails(&with_pass(&wrong, &new), 78, "passphrase");
    assert!(!new.with_extension("key").exists());
    let issued = dir.path().join("issued");
    assert_ok(&with_pass(&pass, &issued), "right issuer passphrase");
    assert!(issued.with_extension("crt").is_file());

    // --issuer-key without --issuer-cert is a usage error.
    let mut cmd = sealmail();
    cmd.args([
        "keygen",
        "--kind",
        "x25519",
        "--email",
        "n@example.org",
        "--issuer-key",
    ])
    .arg(&rsa_key)
    .arg("-o")
    .arg(&new);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(64));
    assert!(!new.with_extension("key").exists());
}
