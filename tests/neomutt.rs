//! neomutt drop-in: the exact command lines of the README's muttrc, driven the way neomutt runs
//! them — the entity in a file (%f), certificates as trailing arguments (%c), the DER read back
//! from stdout; on decrypt the passphrase and a newline on stdin, the message in a file.

mod common;
use common::*;

const PASSPHRASE: &[u8] = b"correct horse battery staple\n";
const ENTITY: &[u8] = b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe aus neomutt\n--b1\nContent-Type: application/octet-stream; name=\"x.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAw==\n--b1--\n";

/// `smime_encrypt_command = "sealmail encrypt --entity --outform der --cipher %a %f %c"`
fn neomutt_encrypt(dir: &std::path::Path, cipher: &str, certs: &[&str]) -> std::path::PathBuf {
    let f = dir.join("entity");
    std::fs::write(&f, ENTITY).unwrap();
    let mut cmd = sealmail();
    cmd.args([
        "encrypt",
        "--entity",
        "--outform",
        "der",
        "--cipher",
        cipher,
    ])
    .arg(&f);
    for c in certs {
        cmd.arg(fixture(c));
    }
    let out = run(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.first(), Some(&0x30), "not DER");
    let der = dir.join("smime.p7m");
    std::fs::write(&der, &out.stdout).unwrap();
    der
}

/// `smime_decrypt_command = "sealmail decrypt --entity --inform der --passphrase-fd 0 -i %k %f"`
fn neomutt_decrypt(key: &str, der: &std::path::Path, stdin: &[u8]) -> std::process::Output {
    let mut cmd = sealmail();
    cmd.args([
        "decrypt",
        "--entity",
        "--inform",
        "der",
        "--passphrase-fd",
        "0",
        "-i",
    ])
    .arg(fixture(key))
    .arg(der);
    run(cmd, stdin)
}

#[test]
fn neomutt_encrypt_and_decrypt_with_a_passphrase_on_stdin() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes256", &["keys/alice.crt", "keys/bob.crt"]);
    for key in ["keys/alice.pbkdf2.pem", "keys/alice.scrypt.pem"] {
        let out = neomutt_decrypt(key, &der, PASSPHRASE);
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, ENTITY, "{key}");
    }
    // bob, the second %c certificate, can read it too (his key is not encrypted: stdin unused).
    let out = neomutt_decrypt("keys/bob.key", &der, PASSPHRASE);
    assert_eq!(out.stdout, ENTITY);
}

#[test]
fn what_neomutt_sends_openssl_can_read() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes128", &["keys/alice.crt"]);
    let out = openssl()
        .args(["cms", "-decrypt", "-inform", "DER", "-in"])
        .arg(&der)
        .arg("-inkey")
        .arg(fixture("keys/alice.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, lf_to_crlf(ENTITY));
}

#[test]
fn every_cipher_name_neomutt_may_pass_is_accepted() {
    let dir = tempdir();
    for cipher in ["aes256", "aes128", "aes-256-gcm", "chacha20-poly1305"] {
        let der = neomutt_encrypt(dir.path(), cipher, &["keys/alice.crt"]);
        let out = neomutt_decrypt("keys/alice.key", &der, PASSPHRASE);
        assert_eq!(out.stdout, ENTITY, "{cipher}");
    }
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_with_nothing_on_stdout() {
    let dir = tempdir();
    let der = neomutt_encrypt(dir.path(), "aes256", &["keys/alice.crt"]);
    let out = neomutt_decrypt("keys/alice.pbkdf2.pem", &der, b"wrong horse\n");
    assert_fails(&out, 78, "wrong passphrase");
}
