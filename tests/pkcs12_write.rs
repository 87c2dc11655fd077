//! `export` (openssl and NSS's pk12util must import what it writes), `import` (the key lands
//! 0600 in the keys directory so `decrypt` finds it without `-i`, the certificate in the
//! keyring) and `keygen --p12`.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASS: &str = "correct horse battery staple";

/// Run `cmd`, which must succeed (else the test fails showing its stderr); its output.
fn succeeded(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert_ok(&out, "");
    out
}

fn export(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out_path = dir.join(name);
    let out = succeeded(
        sealmail()
            .arg("export")
            .arg("-i")
            .arg(fixture("keys/alice.key"))
            .arg("--cert")
            .arg(fixture("keys/alice.crt"))
            .arg("--chain")
            .arg(fixture("keys/ca.crt"))
            .arg("--passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .args(extra)
            .arg("-o")
            .arg(&out_path),
    );
    assert!(out.stdout.is_empty());
    let mode = std::fs::metadata(&out_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    out_path
}

/// What openssl finds in a PKCS#12 file: its `-info` lines and the PEM it prints.
fn openssl_reads(p12: &Path, legacy: bool) -> String {
    let mut cmd = openssl();
    cmd.arg("pkcs12");
    if legacy {
        cmd.arg("-legacy");
    }
    let out = cmd
        .args(["-info", "-nodes", "-passin"])
        .arg(format!("file:{}", fixture("pkcs12/right.pass").display()))
        .arg("-in")
        .arg(p12)
        .output()
        .unwrap();
    assert_ok(&out, "");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn pem_body(text: &str, label: &str) -> Vec<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let tail = &rest[start..];
        let stop = tail.find(&end).unwrap() + end.len();
        blocks.push(tail[..stop].to_string());
        rest = &tail[stop..];
    }
    blocks
}

#[test]
fn openssl_reads_the_default_and_the_legacy_export() {
    if !has_tool("openssl") {
        eprintln!("skipping: openssl is not installed");
        return;
    }
    let dir = tempdir();
    let alice_key = String::from_utf8(read_fixture("keys/alice.key")).unwrap();
    let alice_crt = String::from_utf8(read_fixture("keys/alice.crt")).unwrap();
    let ca_crt = String::from_utf8(read_fixture("keys/ca.crt")).unwrap();
    for (name, legacy, expect) in [
        (
            "default.p12",
            false,
            [
                "MAC: sha256",
                "PBES2, PBKDF2, AES-256-CBC",
                "hmacWithSHA256",
            ],
        ),
        (
            "legacy.pfx",
            true,
            [
                "MAC: sha1",
                "pbeWithSHA1And3-KeyTripleDES-CBC",
                "friendlyName: alice@example.org",
            ],
        ),
    ] {
        let flag: &[&str] = if legacy { &["--legacy"] } else { &[] };
        let p12 = export(dir.path(), name, flag);
        let text = openssl_reads(&p12, legacy);
        for needle in expect {
            assert!(text.contains(needle), "{name}: {needle} in {text}");
        }
        assert_eq!(
            pem_body(&text, "PRIVATE KEY"),
            pem_body(&alice_key, "PRIVATE KEY"),
            "{name}"
        );
        let certs = pem_body(&text, "CERTIFICATE");
        assert_eq!(certs.len(), 2, "{name}");
        assert!(
            certs.contains(&pem_body(&alice_crt, "CERTIFICATE")[0]),
            "{name}"
        );
        assert!(
            certs.contains(&pem_body(&ca_crt, "CERTIFICATE")[0]),
            "{name}"
        );
    }
}

#[test]
fn nss_pk12util_imports_the_default_and_the_legacy_export() {
    if !has_tool("pk12util") || !has_tool("certutil") {
        eprintln!("skipping: NSS tools (pk12util, certutil from libnss3-tools) are not installed");
        return;
    }
    let dir = tempdir();
    for (name, flag) in [("default.p12", &[][..]), ("legacy.pfx", &["--legacy"][..])] {
        let p12 = export(dir.path(), name, flag);
        let db = dir.path().join(format!("db-{name}"));
        std::fs::create_dir(&db).unwrap();
        let db_arg = format!("sql:{}", db.display());
        let ok = Command::new("certutil")
            .args(["-N", "-d", &db_arg, "--empty-password"])
            .status()
            .unwrap();
        assert!(ok.success());
        let out = Command::new("pk12util")
            .args(["-i"])
            .arg(&p12)
            .args(["-d", &db_arg, "-w"])
            .arg(fixture("pkcs12/right.pass"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let keys = Command::new("certutil")
            .args(["-K", "-d", &db_arg])
            .output()
            .unwrap();
        let keys = String::from_utf8_lossy(&keys.stdout);
        assert!(
            keys.contains("rsa") && keys.contains("alice@example.org"),
            "{name}: {keys}"
        );
        let certs = Command::new("certutil")
            .args(["-L", "-d", &db_arg])
            .output()
            .unwrap();
        let certs = String::from_utf8_lossy(&certs.stdout);
        assert!(
            certs.contains("alice@example.org") && certs.contains("u,u,u"),
            "{name}: {certs}"
        );
    }
}

/// A message sealed to alice's certificate.
fn sealed_to_alice(dir: &Path) -> PathBuf {
    let sealed = dir.join("sealed.eml");
    let out = sealmail()
        .args(["encrypt", "-r"])
        .arg(fixture("keys/alice.crt"))
        .arg("-o")
        .arg(&sealed)
        .arg(fixture("messages/lf/plain.eml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    sealed
}

fn decrypted_with_alice_key(sealed: &Path) -> Vec<u8> {
    let out = sealmail()
        .args(["decrypt", "-i"])
        .arg(fixture("keys/alice.key"))
        .arg(sealed)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn an_exported_file_decrypts_and_export_refuses_a_foreign_or_missing_certificate() {
    let dir = tempdir();
    let p12 = export(dir.path(), "alice.p12", &[]);
    let sealed = sealed_to_alice(dir.path());
    let out = succeeded(
        sealmail()
            .env("SEALMAIL_PASSPHRASE", PASS)
            .args(["decrypt", "-i"])
            .arg(&p12)
            .arg(&sealed),
    );
    assert!(out.stdout == decrypted_with_alice_key(&sealed));

    let target = dir.path().join("never.p12");
    let run = |key: &str, cert: Option<&str>| {
        let mut cmd = sealmail();
        cmd.arg("export").arg("-i").arg(fixture(key));
        if let Some(cert) = cert {
            cmd.arg("--cert").arg(fixture(cert));
        }
        cmd.arg("--passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap()
    };
    assert_fails(
        &run("keys/alice.key", Some("keys/bob.crt")),
        78,
        "is not for the key",
    );
    assert_fails(
        &run("keys/alice.pkcs1.pem", None),
        78,
        "no certificate for the key",
    );
    // An encrypted key without its passphrase.
    assert_fails(
        &run("keys/alice.pbkdf2.pem", Some("keys/alice.crt")),
        78,
        "passphrase",
    );
    assert!(!target.exists());

    // With --key-passphrase-file it works; the output is protected by --passphrase-file.
    succeeded(
        sealmail()
            .arg("export")
            .arg("-i")
            .arg(fixture("keys/alice.pbkdf2.pem"))
            .arg("--cert")
            .arg(fixture("keys/alice.crt"))
            .arg("--key-passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .arg("--passphrase-file")
            .arg(fixture("pkcs12/wrong.pass"))
            .arg("-o")
            .arg(&target),
    );
    succeeded(
        sealmail()
            .args(["decrypt", "--passphrase-file"])
            .arg(fixture("pkcs12/wrong.pass"))
            .arg("-i")
            .arg(&target)
            .arg(&sealed),
    );
}

/// sealmail with its configuration in `home` (XDG_CONFIG_HOME = home/cfg).
fn sealmail_at(home: &Path) -> Command {
    let mut cmd = sealmail();
    cmd.env("XDG_CONFIG_HOME", home.join("cfg"))
        .env("HOME", home);
    cmd
}

#[test]
fn import_puts_the_key_where_decrypt_finds_it_and_the_certificate_in_the_keyring() {
    let home = tempdir();
    let sealed = sealed_to_alice(home.path());
    let expected = decrypted_with_alice_key(&sealed);
    let out = succeeded(
        sealmail_at(home.path())
            .arg("import")
            .arg("--passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .arg(fixture("pkcs12/openssl-legacy.pfx")),
    );
    assert!(out.stdout.is_empty());
    let keys = home.path().join("cfg/sealmail/keys");
    let key = keys.join("alice@example.org.key");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&keys), 0o700);
    // Stored encrypted, under the passphrase that opened the file.
    let stored = std::fs::read_to_string(&key).unwrap();
    assert!(
        stored.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{stored}"
    );

    // decrypt without -i.
    let out = succeeded(
        sealmail_at(home.path())
            .env("SEALMAIL_PASSPHRASE", PASS)
            .arg("decrypt")
            .arg(&sealed),
    );
    assert!(out.stdout == expected);

    // encrypt -r ADDRESS finds the certificate in the default keyring, pinned (the user holds
    // its key), so trusted without a CA and without a warning.
    let keyring_cert = home.path().join("cfg/sealmail/certs/alice@example.org.crt");
    assert!(keyring_cert.is_file());
    let pinned = home
        .path()
        .join("cfg/sealmail/certs/pinned/alice@example.org.crt");
    assert_eq!(
        std::fs::read(&pinned).unwrap(),
        std::fs::read(&keyring_cert).unwrap()
    );
    let out = sealmail_at(home.path())
        .args(["encrypt", "-v", "-r", "alice@example.org"])
        .arg(fixture("messages/lf/plain.eml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("trusted: pinned certificate"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // A second import never overwrites the key.
    let out = sealmail_at(home.path())
        .arg("import")
        .arg("--passphrase-file")
        .arg(fixture("pkcs12/right.pass"))
        .arg(fixture("pkcs12/nss.p12"))
        .output()
        .unwrap();
    assert_fails(&out, 73, "already exists");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), stored);
}

#[test]
fn import_of_a_key_and_certificate_and_with_a_new_passphrase() {
    let sealed_dir = tempdir();
    let sealed = sealed_to_alice(sealed_dir.path());
    let expected = decrypted_with_alice_key(&sealed);

    // A plain key stays plain (it had no passphrase); the certificate argument names it.
    let home = tempdir();
    succeeded(
        sealmail_at(home.path())
            .arg("import")
            .arg(fixture("keys/alice.pkcs1.pem"))
            .arg(fixture("keys/alice.crt")),
    );
    let key = home.path().join("cfg/sealmail/keys/alice@example.org.key");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let out = succeeded(sealmail_at(home.path()).arg("decrypt").arg(&sealed));
    assert!(out.stdout == expected);

    // --new-passphrase-file: the stored key opens with the new passphrase, not the old one.
    let home = tempdir();
    succeeded(
        sealmail_at(home.path())
            .arg("import")
            .arg("--passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .arg("--new-passphrase-file")
            .arg(fixture("pkcs12/wrong.pass"))
            .arg(fixture("pkcs12/openssl-default.p12")),
    );
    let key = home.path().join("cfg/sealmail/keys/alice@example.org.key");
    let with = |pass: &str| {
        sealmail()
            .args(["decrypt", "--passphrase-file"])
            .arg(fixture(pass))
            .arg("-i")
            .arg(&key)
            .arg(&sealed)
            .output()
            .unwrap()
    };
    assert!(with("pkcs12/wrong.pass").status.success());
    assert_fails(&with("pkcs12/right.pass"), 78, "wrong passphrase");
}

#[test]
fn import_with_a_wrong_passphrase_is_77_and_creates_nothing() {
    let home = tempdir();
    let out = sealmail_at(home.path())
        .arg("import")
        .arg("--passphrase-file")
        .arg(fixture("pkcs12/wrong.pass"))
        .arg(fixture("pkcs12/openssl-default.p12"))
        .output()
        .unwrap();
    assert_fails(&out, 77, "wrong passphrase");
    assert!(!home.path().join("cfg").exists());
}

#[test]
fn keygen_p12_writes_a_file_openssl_reads_and_needs_a_passphrase() {
    let dir = tempdir();
    let prefix = dir.path().join("carol");
    succeeded(
        sealmail()
            .args([
                "keygen",
                "--email",
                "carol@example.org",
                "--bits",
                "2048",
                "--p12",
            ])
            .arg("--passphrase-file")
            .arg(fixture("pkcs12/right.pass"))
            .arg("-o")
            .arg(&prefix),
    );
    let p12 = dir.path().join("carol.p12");
    assert_eq!(
        std::fs::metadata(&p12).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if has_tool("openssl") {
        let text = openssl_reads(&p12, false);
        let crt = std::fs::read_to_string(dir.path().join("carol.crt")).unwrap();
        assert_eq!(
            pem_body(&text, "CERTIFICATE"),
            pem_body(&crt, "CERTIFICATE")
        );
        assert_eq!(pem_body(&text, "PRIVATE KEY").len(), 1);
    }

    let other = dir.path().join("dave");
    let out = sealmail()
        .args(["keygen", "--email", "dave@example.org", "--p12", "-o"])
        .arg(&other)
        .output()
        .unwrap();
    assert_fails(&out, 64, "needs a passphrase");
    assert!(!dir.path().join("dave.key").exists());
}
