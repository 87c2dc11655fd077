//! End to end through the binary: every recipient and identity format, recipient lists, the
//! keyring and its three locations, refusals (exit 78 naming the file and the reason), keygen
//! with openssl both ways, passphrases from every source, default identities, and stdin used
//! for one purpose only (issue 2 points 4-5, issue 3 points 2, 5, 6, 7).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSPHRASE: &str = "correct horse battery staple";

fn key(name: &str) -> PathBuf {
    fixture(&format!("keys/{name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn message() -> Vec<u8> {
    read_fixture("interop/plain.eml")
}

fn sm(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = sealmail();
    cmd.args(args);
    run(cmd, stdin)
}

fn encrypt_to(recipients: &[&Path]) -> Vec<u8> {
    let mut args = vec!["encrypt"];
    for r in recipients {
        args.extend(["-r", s(r)]);
    }
    stdout_ok(sm(&args, &message()), "")
}

/// Decrypt with `identity` and check the message came back (same body, same fields).
fn assert_decrypts(identity: &Path, extra: &[&str], sealed: &[u8]) {
    let mut args = vec!["decrypt", "-i", s(identity)];
    args.extend(extra);
    let restored = stdout_ok(sm(&args, sealed), "");
    assert_same_message(&restored);
}

fn assert_same_message(restored: &[u8]) {
    let original = message();
    let mut a: Vec<&[u8]> = restored.split(|&b| b == b'\n').collect();
    let mut b: Vec<&[u8]> = original.split(|&b| b == b'\n').collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "{}", String::from_utf8_lossy(restored));
}

#[test]
fn every_recipient_format_round_trips_with_every_identity_format() {
    let pass = tempdir();
    let pass_file = pass.path().join("pass");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    for recipient in [
        "alice.crt",
        "alice.crt.der",
        "alice.pub.pem",
        "alice.pub.der",
        "alice.rsapub.pem",
    ] {
        let sealed = encrypt_to(&[&key(recipient)]);
        for identity in [
            "alice.key",
            "alice.pkcs8.der",
            "alice.pkcs1.pem",
            "alice.pkcs1.der",
            "alice.key-and-cert.pem",
        ] {
            assert_decrypts(&key(identity), &[], &sealed);
        }
        for identity in ["alice.pbkdf2.pem", "alice.scrypt.pem"] {
            assert_decrypts(
                &key(identity),
                &["--passphrase-file", s(&pass_file)],
                &sealed,
            );
        }
        // Someone else's key cannot.
        let out = sm(&["decrypt", "-i", s(&key("bob.key"))], &sealed);
        assert_fails(&out, 77, "");
    }
}

#[test]
fn a_bundle_is_alice_bob_and_carol_without_its_ca() {
    let sealed = encrypt_to(&[&key("bundle.pem")]);
    let info = String::from_utf8(stdout_ok(sm(&["inspect"], &sealed), "")).unwrap();
    assert!(info.contains("recipients: 3"), "{info}");
    for serial in ["0x123456789abcdef", "0x2;", "0x3;"] {
        assert!(info.contains(serial), "{serial} in {info}");
    }
    assert!(
        !info.contains("serial 0x1;"),
        "the CA is not a recipient: {info}"
    );
    for who in ["alice", "bob", "carol"] {
        assert_decrypts(&key(&format!("{who}.key")), &[], &sealed);
    }
}

#[test]
fn a_recipients_list_has_comments_blank_lines_relative_paths_and_addresses() {
    let dir = tempdir();
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    std::fs::copy(key("alice.crt"), lists.join("alice.crt")).unwrap();
    let ring = dir.path().join("ring");
    std::fs::create_dir(&ring).unwrap();
    std::fs::copy(key("carol.crt"), ring.join("carol.pem")).unwrap();
    let list = lists.join("team.txt");
    std::fs::write(
        &list,
        format!(
            "# the team\n\nalice.crt\n   \n# bob, absolute\n{}\ncarol@example.org\n",
            s(&key("bob.crt"))
        ),
    )
    .unwrap();
    // Run from elsewhere: alice.crt is relative to the list's folder, not to the cwd.
    let mut cmd = sealmail();
    cmd.current_dir(dir.path())
        .args(["encrypt", "-R", s(&list), "--keyring", s(&ring)]);
    let out = run(cmd, &message());
    let sealed = stdout_ok(out, "");
    for who in ["alice", "bob", "carol"] {
        assert_decrypts(&key(&format!("{who}.key")), &[], &sealed);
    }
}

#[test]
fn unusable_recipients_are_78_naming_the_file_and_the_reason() {
    for (file, reason) in [
        ("weak1024.crt", "1024 bits"),
        ("weak1024.pub.pem", "1024 bits"),
        ("expired.crt", "expired"),
        ("notyet.crt", "not valid before"),
        ("sigonly.crt", "keyUsage"),
        ("serverauth.crt", "emailProtection"),
        // P-256 is read, but this certificate's keyUsage (keyEncipherment) does not allow ECDH.
        ("ec.crt", "keyAgreement"),
        ("garbage.pem", "not a certificate or public key"),
    ] {
        let path = key(file);
        let out = sm(&["encrypt", "-r", s(&path)], &message());
        assert_fails(&out, 78, s(&path));
        assert_fails(&out, 78, reason);
    }
}

#[test]
fn addresses_are_found_in_every_keyring_location_case_insensitively() {
    let home = tempdir();
    let xdg_ring = home.path().join("sealmail").join("certs");
    std::fs::create_dir_all(&xdg_ring).unwrap();
    std::fs::copy(key("alice.crt"), xdg_ring.join("alice.crt")).unwrap();
    let env_ring = tempdir();
    std::fs::copy(key("bob.crt"), env_ring.path().join("bob.pem")).unwrap();

    // --keyring
    let out = sm(
        &[
            "encrypt",
            "-r",
            "Alice@Example.ORG",
            "--keyring",
            s(&fixture("keys/keyring")),
        ],
        &message(),
    );
    assert_decrypts(&key("alice.key"), &[], &stdout_ok(out, ""));

    // $SEALMAIL_KEYRING beats $XDG_CONFIG_HOME
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_KEYRING", env_ring.path())
        .env("XDG_CONFIG_HOME", home.path())
        .args(["encrypt", "-r", "bob@example.org"]);
    assert_decrypts(&key("bob.key"), &[], &stdout_ok(run(cmd, &message()), ""));
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_KEYRING", env_ring.path())
        .env("XDG_CONFIG_HOME", home.path())
        .args(["encrypt", "-r", "alice@example.org"]);
    assert_fails(&run(cmd, &message()), 67, "alice@example.org");

    // $XDG_CONFIG_HOME/sealmail/certs
    let mut cmd = sealmail();
    cmd.env("XDG_CONFIG_HOME", home.path())
        .args(["encrypt", "-r", "alice@example.org"]);
    assert_decrypts(&key("alice.key"), &[], &stdout_ok(run(cmd, &message()), ""));

    // An unknown address names itself; --keyring beats the environment.
    let mut cmd = sealmail();
    cmd.env("XDG_CONFIG_HOME", home.path()).args([
        "encrypt",
        "-r",
        "nobody@example.org",
        "--keyring",
        s(env_ring.path()),
    ]);
    assert_fails(&run(cmd, &message()), 67, "nobody@example.org");
}

#[test]
fn of_several_trusted_certificates_for_an_address_the_one_valid_longest_is_used() {
    // All three are from 2025-01-01 and trusted through the test CA; without --ca they are
    // three untrusted keys for one address, which is refused (tests/keyring_trust.rs).
    let out = sm(
        &[
            "encrypt",
            "-r",
            "dave@example.org",
            "--keyring",
            s(&fixture("keys/keyring")),
            "--ca",
            s(&fixture("keys/ca.crt")),
        ],
        &message(),
    );
    let sealed = stdout_ok(out, "");
    let info = String::from_utf8(stdout_ok(sm(&["inspect"], &sealed), "")).unwrap();
    // dave-b-long.cer has serial 0x1003 (valid until 2125); the others 0x1002 and 0x1004.
    assert!(info.contains("serial 0x1003"), "{info}");
    assert!(info.contains("recipients: 1"), "{info}");
}

/// `sealmail keygen` into `dir` with PREFIX `name`; extra flags appended.
fn keygen(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let mut args = vec![
        "keygen",
        "--email",
        "kim@example.org",
        "--bits",
        "2048",
        "-o",
        s(&prefix),
    ];
    args.extend(extra);
    let out = sm(&args, b"");
    assert!(out.stdout.is_empty());
    stdout_ok(out, "");
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    )
}

fn openssl_ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut cmd = openssl();
    cmd.args(args);
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn keygen_output_works_with_openssl_both_ways_and_is_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let (k, c) = keygen(dir.path(), "kim", &[]);
    assert_eq!(
        std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // openssl encrypts to the certificate, sealmail decrypts with the key.
    let entity = b"Content-Type: text/plain\r\n\r\nfrom openssl to sealmail\r\n";
    let smime = openssl_ok(
        &[
            "cms",
            "-encrypt",
            "-aes-256-gcm",
            "-recip",
            s(&c),
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
        ],
        entity,
    );
    let out = stdout_ok(sm(&["decrypt", "--entity", "-i", s(&k)], &smime), "");
    assert_eq!(
        out,
        b"Content-Type: text/plain\n\nfrom openssl to sealmail\n"
    );

    // sealmail encrypts to the certificate, openssl decrypts with the key.
    let sealed = stdout_ok(
        sm(
            &["encrypt", "--cipher", "aes-256-gcm", "-r", s(&c)],
            &message(),
        ),
        "",
    );
    let plain = openssl_ok(&["cms", "-decrypt", "-inkey", s(&k)], &sealed);
    assert!(
        String::from_utf8_lossy(&plain).contains("Alice"),
        "{}",
        String::from_utf8_lossy(&plain)
    );

    // A second keygen onto the same prefix: 73, nothing changed.
    let before = (std::fs::read(&k).unwrap(), std::fs::read(&c).unwrap());
    let out = sm(
        &[
            "keygen",
            "--email",
            "kim@example.org",
            "--bits",
            "2048",
            "-o",
            s(&dir.path().join("kim")),
        ],
        b"",
    );
    assert_fails(&out, 73, "already exists");
    assert_eq!(
        (std::fs::read(&k).unwrap(), std::fs::read(&c).unwrap()),
        before
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn keygen_with_a_passphrase_writes_an_encrypted_key_that_decrypt_opens() {
    let dir = tempdir();
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "s3cret words\n").unwrap();
    let (k, c) = keygen(dir.path(), "kim", &["--passphrase-file", s(&pass)]);
    let pem = std::fs::read_to_string(&k).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    let sealed = encrypt_to(&[&c]);
    assert_decrypts(&k, &["--passphrase-file", s(&pass)], &sealed);
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_PASSPHRASE", "s3cret words")
        .args(["decrypt", "-i", s(&k)]);
    assert_same_message(&stdout_ok(run(cmd, &sealed), ""));
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_PASSPHRASE", "other words")
        .args(["decrypt", "-i", s(&k)]);
    assert_fails(&run(cmd, &sealed), 78, "wrong passphrase");
}

#[test]
fn passphrases_come_from_a_file_a_descriptor_or_the_environment() {
    let dir = tempdir();
    let sealed_path = dir.path().join("sealed.eml");
    std::fs::write(&sealed_path, encrypt_to(&[&key("alice.crt")])).unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\r\nsecond line ignored\n")).unwrap();
    let enc_key = key("alice.pbkdf2.pem");

    // --passphrase-file (first line, CRLF trimmed)
    assert_same_message(&stdout_ok(
        sm(
            &[
                "decrypt",
                "-i",
                s(&enc_key),
                "--passphrase-file",
                s(&pass),
                s(&sealed_path),
            ],
            b"",
        ),
        "",
    ));

    // --passphrase-fd 3, the descriptor opened by the shell
    let mut cmd = Command::new("sh");
    cmd.env_remove("SEALMAIL_PASSPHRASE").arg("-c").arg(format!(
        "exec '{}' decrypt -i '{}' --passphrase-fd 3 '{}' 3< '{}'",
        env!("CARGO_BIN_EXE_sealmail"),
        s(&enc_key),
        s(&sealed_path),
        s(&pass)
    ));
    assert_same_message(&stdout_ok(run(cmd, b""), ""));

    // --passphrase-fd 0 with the message as a file (neomutt's way)
    assert_same_message(&stdout_ok(
        sm(
            &[
                "decrypt",
                "-i",
                s(&key("alice.scrypt.pem")),
                "--passphrase-fd",
                "0",
                s(&sealed_path),
            ],
            format!("{PASSPHRASE}\n").as_bytes(),
        ),
        "",
    ));

    // $SEALMAIL_PASSPHRASE
    let mut cmd = sealmail();
    cmd.env("SEALMAIL_PASSPHRASE", PASSPHRASE).args([
        "decrypt",
        "-i",
        s(&enc_key),
        s(&sealed_path),
    ]);
    assert_same_message(&stdout_ok(run(cmd, b""), ""));

    // A descriptor that is not open is a clear error.
    let out = sm(
        &[
            "decrypt",
            "-i",
            s(&enc_key),
            "--passphrase-fd",
            "9",
            s(&sealed_path),
        ],
        b"",
    );
    assert_fails(&out, 66, "file descriptor 9");
}

#[test]
fn a_wrong_or_missing_passphrase_is_78_with_nothing_on_stdout_and_no_prompt() {
    let dir = tempdir();
    let sealed = encrypt_to(&[&key("alice.crt")]);
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();
    for enc_key in ["alice.pbkdf2.pem", "alice.scrypt.pem"] {
        let path = key(enc_key);
        let out = sm(
            &["decrypt", "-i", s(&path), "--passphrase-file", s(&wrong)],
            &sealed,
        );
        assert_fails(&out, 78, "wrong passphrase");
        assert_fails(&out, 78, s(&path));
    }
    // No passphrase and no terminal (setsid: no controlling terminal even when the tests run
    // from one): a clear error instead of a prompt, never reading the message stream.
    let mut cmd = Command::new("setsid");
    cmd.arg(env!("CARGO_BIN_EXE_sealmail"))
        .args(["decrypt", "-i", s(&key("alice.pbkdf2.pem"))])
        .env_remove("SEALMAIL_PASSPHRASE")
        .env_remove("SEALMAIL_IDENTITY");
    let out = run(cmd, &sealed);
    assert_fails(&out, 78, "passphrase-protected");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--passphrase-file"));
}

#[test]
fn default_identities_come_from_the_environment_or_the_keys_directory() {
    let dir = tempdir();
    let sealed_path = dir.path().join("sealed.eml");
    std::fs::write(&sealed_path, encrypt_to(&[&key("bob.crt")])).unwrap();

    // $SEALMAIL_IDENTITY: a list like $PATH
    let mut cmd = sealmail();
    cmd.env(
        "SEALMAIL_IDENTITY",
        format!("{}:{}", s(&key("alice.key")), s(&key("bob.key"))),
    )
    .args(["decrypt", s(&sealed_path)]);
    assert_same_message(&stdout_ok(run(cmd, b""), ""));

    // $XDG_CONFIG_HOME/sealmail/keys/: keys with their certificates beside them, an encrypted
    // key unlocked by $SEALMAIL_PASSPHRASE, a broken file skipped with a warning.
    let home = tempdir();
    let keys = home.path().join("sealmail").join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(key("alice.key"), keys.join("alice.key")).unwrap();
    std::fs::copy(key("alice.crt"), keys.join("alice.crt")).unwrap();
    std::fs::copy(key("carol.key"), keys.join("carol.key")).unwrap();
    std::fs::write(keys.join("broken.key"), "nothing here\n").unwrap();
    let mut cmd = sealmail();
    cmd.env("XDG_CONFIG_HOME", home.path())
        .args(["decrypt", s(&sealed_path)]);
    let out = run(cmd, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.starts_with("sealmail: warning: skipping"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.key"), "{stderr}");
    assert!(
        stderr.contains("sealmail: error: none of the identities"),
        "{stderr}"
    );

    std::fs::copy(key("bob.key"), keys.join("bob.key")).unwrap();
    std::fs::copy(key("bob.crt"), keys.join("bob.crt")).unwrap();
    let mut cmd = sealmail();
    cmd.env("XDG_CONFIG_HOME", home.path())
        .args(["decrypt", s(&sealed_path)]);
    assert_same_message(&stdout_ok(run(cmd, b""), ""));

    // No identity anywhere: 77 with a hint.
    let out = sm(&["decrypt", s(&sealed_path)], b"");
    assert_fails(&out, 77, "no identity");
}

#[test]
fn stdin_serves_one_purpose_only() {
    let dir = tempdir();
    let sealed = encrypt_to(&[&key("alice.crt")]);
    let sealed_path = dir.path().join("sealed.eml");
    std::fs::write(&sealed_path, &sealed).unwrap();

    // `-i -` with the message on stdin, or `--passphrase-fd 0` with it there: usage errors.
    assert_fails(&sm(&["decrypt", "-i", "-"], &sealed), 64, "stdin");
    assert_fails(&sm(&["decrypt", "-i", "-", "-"], &sealed), 64, "stdin");
    assert_fails(
        &sm(
            &[
                "decrypt",
                "-i",
                s(&key("alice.pbkdf2.pem")),
                "--passphrase-fd",
                "0",
            ],
            &sealed,
        ),
        64,
        "stdin",
    );
    assert_fails(&sm(&["encrypt", "-R", "-"], &message()), 64, "stdin");

    // The key on stdin is fine when the message is a file (with its certificate after it:
    // the default output for a certificate without capabilities is PKCS#1 v1.5, matched by
    // certificate only).
    let mut key_and_cert = read_fixture("keys/alice.key");
    key_and_cert.extend(read_fixture("keys/alice.crt"));
    let out = sm(&["decrypt", "-i", "-", s(&sealed_path)], &key_and_cert);
    assert_same_message(&stdout_ok(out, ""));
    // So is a recipients list.
    let msg = dir.path().join("m.eml");
    std::fs::write(&msg, message()).unwrap();
    let list = format!("# from stdin\n{}\n", s(&key("bob.crt")));
    let sealed = stdout_ok(sm(&["encrypt", "-R", "-", s(&msg)], list.as_bytes()), "");
    assert_decrypts(&key("bob.key"), &[], &sealed);
}

#[test]
fn der_is_never_written_to_a_terminal_without_force() {
    // `script` (util-linux; .ci/run installs it) gives the child a terminal for stdout.
    let msg = fixture("interop/plain.eml");
    let cmd = format!(
        "'{}' encrypt --outform der -r '{}' '{}'",
        env!("CARGO_BIN_EXE_sealmail"),
        s(&key("alice.crt")),
        s(&msg)
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(64), "{text}");
    assert!(
        text.contains("refusing to write DER to a terminal"),
        "{text}"
    );
}

#[test]
fn key_and_certificate_errors_are_in_words_without_library_text_or_debug_quoting() {
    // keygen's address check used Rust's debug quoting ("--email \"not an address\"").
    let out = sm(&["keygen", "--email", "not an address"], b"");
    assert_fails(&out, 64, "--email 'not an address': not an email address");
    // A damaged PEM block used to end in the PEM decoder's own error text.
    let dir = tempdir();
    let bad = dir.path().join("damaged.crt");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = sm(&["encrypt", "-r", s(&bad)], &message());
    assert_fails(&out, 78, "damaged.crt");
    assert_fails(&out, 78, "its base64 is damaged or cut short");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Base64") && !stderr.contains("Error"),
        "{stderr}"
    );
}
